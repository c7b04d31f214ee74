"""Training-free dataset pruning for instance segmentation.

Scores instance masks by shape complexity (SCS, SI-SCS, CB-SCS) and keeps
the images with the most complex instances, as in "Training-Free Dataset
Pruning for Instance Segmentation" (ICLR 2025).

The core (:mod:`tfdp.geometry`, :mod:`tfdp.scoring`, :mod:`tfdp.coco`,
:mod:`tfdp.report`) needs only numpy, OpenCV and pycocotools.
"""

__version__ = "0.1.0"

from tfdp.errors import InvalidDataError, OutputExistsError, TFDPError
from tfdp.geometry import Shape
from tfdp.scoring import METHODS, ShapeTable, keep_count, rank
from tfdp.report import format_report, retention_report
