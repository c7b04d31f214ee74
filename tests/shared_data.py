"""Where the real annotation files are: ``../shared/data`` beside the
repository (see its README). Modules that read them set
``pytestmark = requires_shared_data``, so that without the folder they are
skipped with a reason that names it."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))

requires_shared_data = pytest.mark.skipif(
    not os.path.isdir(DATA),
    reason="needs the real annotation files in %s, which is missing" % DATA,
)

COCO_SAMPLE = os.path.join(DATA, "coco2017-sample", "instances.json")
COCO_SAMPLE_IMAGES = os.path.join(DATA, "coco2017-sample", "images")
VOC = os.path.join(DATA, "voc2012-instances", "instances_train.json")
LVIS = os.path.join(DATA, "lvis-v0.5-val100", "lvis_val_100.json")
TACO = os.path.join(DATA, "taco-unofficial", "annotations_unofficial.json")
PANOPTIC = os.path.join(
    DATA, "coco-panoptic-sample", "panoptic_coco_detection_format.json"
)
REAL_FILES = {
    "coco2017-sample": COCO_SAMPLE,
    "voc2012": VOC,
    "lvis": LVIS,
    "taco": TACO,
    "panoptic": PANOPTIC,
}


def tracked_files():
    """The paths, relative to the repository, of the files git tracks."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]
