"""JSON in and out: lossless, byte for byte what the standard library
writes, and clean refusals."""

import json

import pytest
from hand_made import dumped, stdlib_bytes
from shared_data import REAL_FILES, TACO, requires_shared_data

from tfdp import coco

pytestmark = requires_shared_data


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_read_and_write_as_the_standard_library(name):
    path = REAL_FILES[name]
    with open(path, "rb") as f:
        expected = json.load(f)
    data = coco.load_json(path)
    assert data == expected or name == "taco"  # NaN-free files compare equal
    assert dumped(data) == stdlib_bytes(expected)


def test_taco_infinity_is_read_and_written_back():
    # TACO's file has bboxes [Infinity, Infinity, -Infinity, -Infinity],
    # which is not JSON but what Python's json reads and writes
    data = coco.load_json(TACO)
    boxes = [a["bbox"] for a in data["annotations"] if not a["segmentation"]]
    assert len(boxes) == 15
    assert all(b[:2] == [float("inf")] * 2 for b in boxes)
    assert b"[Infinity,Infinity,-Infinity,-Infinity]" in dumped(data)
