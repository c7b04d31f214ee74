"""The same instances for every source of records (COCO files, SA-1B-style
folders, FiftyOne labels), to check that each gives the reasons of
:func:`tfdp.eligibility.ineligible_reason`."""

from tfdp.eligibility import Instance

#: The image of every case: sides that are powers of two, so that a box in
#: pixels survives FiftyOne's relative coordinates exactly
WIDTH, HEIGHT = 128, 64

#: A square in the image, as COCO polygons
SQUARE = [[16.0, 16.0, 48.0, 16.0, 48.0, 48.0, 16.0, 48.0]]

BOX = [16.0, 16.0, 32.0, 32.0]
NAN = float("nan")
INF = float("inf")

CASES = {
    "scored": Instance(False, False, False, BOX, WIDTH, HEIGHT),
    "crowd": Instance(True, False, False, BOX, WIDTH, HEIGHT),
    "crowd and ignore": Instance(True, True, False, BOX, WIDTH, HEIGHT),
    "ignore": Instance(False, True, False, BOX, WIDTH, HEIGHT),
    "ignore and empty": Instance(False, True, True, None, WIDTH, HEIGHT),
    "empty": Instance(False, False, True, BOX, WIDTH, HEIGHT),
    "no box": Instance(False, False, False, None, WIDTH, HEIGHT),
    "box NaN": Instance(
        False, False, False, [NAN, 16.0, 32.0, 32.0], WIDTH, HEIGHT
    ),
    "box infinite": Instance(
        False, False, False, [16.0, 16.0, INF, 32.0], WIDTH, HEIGHT
    ),
    "box thin": Instance(
        False, False, False, [16.0, 16.0, 0.5, 32.0], WIDTH, HEIGHT
    ),
    "box right of image": Instance(
        False, False, False, [128.0, 16.0, 8.0, 8.0], WIDTH, HEIGHT
    ),
    "box above image": Instance(
        False, False, False, [16.0, -8.0, 8.0, 8.0], WIDTH, HEIGHT
    ),
}


def coco_annotation(instance, ann_id=1):
    """The instance as a COCO annotation of image 1, category 1."""
    ann = {
        "id": ann_id,
        "image_id": 1,
        "category_id": 1,
        "iscrowd": int(instance.crowd),
        "ignore": int(instance.ignore),
        "segmentation": [] if instance.segmentation_empty else SQUARE,
    }
    if instance.bbox is not None:
        ann["bbox"] = list(instance.bbox)
    return ann
