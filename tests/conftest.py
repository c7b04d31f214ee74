"""Test setup: paths to the shared data and a private FiftyOne database."""

import atexit
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Before anything imports fiftyone: the tests run in a mongod of their own,
# on their own folder, never in the user's database (FiftyOne's service
# would attach to one already running); processes the tests start inherit it
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import database  # noqa: E402

TEST_DB = os.path.join(ROOT, ".fiftyone", "test-db")
_database = database.private_database(TEST_DB)
os.environ["FIFTYONE_DATABASE_URI"] = _database.__enter__()
atexit.register(_database.__exit__, None, None, None)
os.environ["FIFTYONE_DATABASE_DIR"] = TEST_DB
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
if not os.path.isdir(DATA):
    raise RuntimeError(
        "the tests need the real annotation files in %s" % DATA
    )

COCO_SAMPLE = os.path.join(DATA, "coco2017-sample", "instances.json")
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

# The plugin, as a user would install it: a plugins folder linking to the
# repository (hidden folders are not searched, so the link cannot loop)
PLUGINS_DIR = os.path.join(ROOT, ".fiftyone", "plugins")
os.makedirs(PLUGINS_DIR, exist_ok=True)
_LINK = os.path.join(PLUGINS_DIR, "tfdp")
if not os.path.islink(_LINK):
    os.symlink(ROOT, _LINK)
os.environ["FIFTYONE_PLUGINS_DIR"] = PLUGINS_DIR
