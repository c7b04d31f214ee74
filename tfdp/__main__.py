import sys

from tfdp.cli import main

sys.exit(main())
