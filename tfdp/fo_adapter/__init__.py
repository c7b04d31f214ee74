"""TFDP on FiftyOne collections, one module per stage.

These are the only modules of :mod:`tfdp` that import FiftyOne:

-   :mod:`.fields`: names of the fields, tag and saved view of a run
-   :mod:`.labels`: reading labels and measuring their shapes
-   :mod:`.write`: writing a run's values, one update per sample
-   :mod:`.records`: run records: which runs are TFDP's, their configs
    and statuses
-   :mod:`.runs`: scoring, pruning and deleting (recorded first, finished
    last)
-   :mod:`.views`: the tags and saved views of kept samples
-   :mod:`.coco_files`: loading COCO files and exporting kept samples
-   :mod:`.preview`: what keeping a fraction would keep, for the panel

The public functions are in :mod:`tfdp`.
"""
