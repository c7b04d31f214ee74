"""Hand-made inputs for the tests: COCO records, SA-1B-style per-image
files and folders, and the command run in-process."""

import csv
import io
import json
import os

import numpy as np
import pytest

from tfdp import jsonio
from tfdp.cli import main


def image(image_id, width=20, height=20):
    return {
        "id": image_id,
        "width": width,
        "height": height,
        "file_name": "%s.jpg" % image_id,
    }


def run(*argv):
    return main([str(a) for a in argv])


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def sa1b_record(image_id, annotations, width=20, height=10):
    return {
        "image": {
            "image_id": image_id,
            "width": width,
            "height": height,
            "file_name": "%s.jpg" % image_id,
        },
        "annotations": annotations,
    }


def square_counts():
    # a 5x5 square at x=0, y=2 of a 10x20 image, as SA-1B encodes it
    from pycocotools import mask as mask_utils

    mask = np.zeros((10, 20), dtype=np.uint8)
    mask[2:7, 0:5] = 1
    return mask_utils.encode(np.asfortranarray(mask))["counts"].decode()


def sa1b_mask(ann_id, counts=None, bbox=(0, 2, 5, 5)):
    return {
        "id": ann_id,
        "segmentation": {
            "size": [10, 20],
            "counts": counts or square_counts(),
        },
        "bbox": list(bbox),
        "area": 25,
    }


def sa1b_folder(tmp_path, records, name="sa1b"):
    folder = tmp_path / name
    folder.mkdir()
    for i, record in enumerate(records):
        (folder / ("sa_%d.json" % i)).write_text(json.dumps(record))
    return folder


def not_utf8_path(folder, name):
    # a file name made of bytes, as Linux allows: Python holds its byte
    # 0xe9 as the lone surrogate U+DCE9 (surrogateescape)
    path = os.fsdecode(os.path.join(os.fsencode(str(folder)), name))
    try:
        open(path, "w").close()
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    os.remove(path)
    return path


def stdlib_bytes(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def dumped(value):
    f = io.BytesIO()
    jsonio.dump(value, f)
    return f.getvalue()
