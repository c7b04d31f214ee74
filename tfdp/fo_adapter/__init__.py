"""TFDP on FiftyOne collections, one module per stage.

These are the only modules of :mod:`tfdp` that import FiftyOne:

-   :mod:`.fields`: names of the fields, tag and saved view of a run
-   :mod:`.labels`: reading labels and measuring their shapes
-   :mod:`.write`: writing a run's values, one update per sample
-   :mod:`.runs`: run records (recorded first, finished last), scoring,
    pruning and deleting
-   :mod:`.views`: the tags and saved views of kept samples
-   :mod:`.io`: loading COCO files and exporting kept samples
-   :mod:`.preview`: what keeping a fraction would keep, for the panel

The public functions are in :mod:`tfdp`.
"""
