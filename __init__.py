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

# pytest imports this file alone, as "__init__", when the repository's folder
# name is not a Python identifier: there is no plugin package to register then
if __package__:
    from .operators import register  # noqa: E402,F401
