"""TFDP plugin for FiftyOne: training-free dataset pruning for instance
segmentation.

The operators live in ``operators/`` and are thin wrappers over the
``tfdp`` package. When the plugin was downloaded without installing the
package, the package is loaded from this folder.
"""

import os
import sys

_PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))

try:
    import tfdp  # noqa: F401
except ImportError:
    sys.path.append(_PLUGIN_DIR)
    import tfdp  # noqa: F401

from .operators import register  # noqa: E402,F401
