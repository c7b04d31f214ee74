"""Property-based tests: ``tfdp.load_coco_dataset`` accepts and refuses
exactly the documents that the command accepts and refuses, with the same
records named, and never leaves a dataset behind when it refuses.

The documents come from the strategies of ``test_fuzz.py``. Loading a
dataset costs about a second, so the default run is short; set
``TFDP_FUZZ_EXAMPLES`` for a longer one.
"""

import csv
import json
import os
import tempfile
import uuid

import fiftyone as fo
import fiftyone.core.media as fom
import pytest
from fuzz_documents import corrupted_documents, documents, run_cli
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tfdp
from tfdp.errors import NothingToScoreError

FUZZ = settings(
    max_examples=max(1, int(os.environ.get("TFDP_FUZZ_EXAMPLES", "30")) // 2),
    # the default run is the same every time (a CI run cannot fail on a
    # new example by chance); asking for a number of examples explores
    derandomize="TFDP_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _file_names_are_usable(doc):
    # FiftyOne makes one sample per file name, of the media type the name
    # says: the loader alone needs them
    images = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(images, list):
        return True
    names = [im.get("file_name") for im in images if isinstance(im, dict)]
    return all(
        isinstance(n, str) and n and fom.get_media_type(n) == fom.IMAGE
        for n in names
    ) and len(set(names)) == len(names)


def _ints_fit_in_64_bits(doc):
    # MongoDB stores 64-bit integers: the loader alone needs that, of every
    # value it stores (ids, and also a category's name or any other field);
    # test_found_by_fuzzing_ids_beyond_64_bits checks what it says then
    stack = [doc]
    while stack:
        value = stack.pop()
        if type(value) is int and not -(2**63) <= value < 2**63:
            return False
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def check_same_decision(doc):
    before = set(fo.list_datasets())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "in.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        status, _, err = run_cli(
            ["score", path, "-o", os.path.join(folder, "s.csv")]
        )
        name = "tfdp-fuzz-%s" % uuid.uuid4().hex[:8]
        try:
            dataset = tfdp.load_coco_dataset(path, name=name)
        except tfdp.TFDPError as e:
            assert status == 1, (str(e), err)
            records = [
                line.strip()
                for line in str(e).splitlines()
                if line.startswith("  ")
            ]
            for record in records:
                assert record in err, (record, err)
            assert set(fo.list_datasets()) == before
            return
        try:
            assert status == 0, err
            assert len(dataset) == len(doc["images"])
            with open(os.path.join(folder, "s.csv")) as f:
                # instances of some area: FiftyOne holds a mask without a
                # pixel as no mask
                scored = sum(
                    float(row["area"]) > 0 for row in csv.DictReader(f)
                )
            fields = tfdp.fo_adapter.fields.compatible_label_fields(dataset)
            for field in fields:
                try:
                    tfdp.compute_scores(dataset, field)
                except NothingToScoreError:
                    # as the command's table has no row, nothing is scored
                    assert scored == 0
        finally:
            dataset.delete()


@FUZZ
@given(doc=st.one_of(documents(), corrupted_documents()))
def test_the_loader_decides_as_the_command(doc):
    assume(_file_names_are_usable(doc) and _ints_fit_in_64_bits(doc))
    check_same_decision(doc)


def test_found_by_fuzzing_categories_not_a_list():
    check_same_decision(
        {
            "images": [
                {"id": 0, "width": 1, "height": 1, "file_name": "0.jpg"}
            ],
            "annotations": [],
            "categories": 1,
        }
    )


def test_found_by_fuzzing_ids_beyond_64_bits(tmp_path):
    # the command keeps such ids exactly; MongoDB cannot store them
    doc = {
        "images": [
            {"id": 2**63, "width": 1, "height": 1, "file_name": "0.jpg"}
        ],
        "annotations": [],
        "categories": [{"id": 1, "name": "a", "note": 2**70}],
    }
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    assert run_cli(["score", str(path), "-o", str(tmp_path / "s.csv")])[0] == 0
    before = set(fo.list_datasets())
    with pytest.raises(
        tfdp.TFDPError, match="image id 9223372036854775808 does not fit"
    ):
        tfdp.load_coco_dataset(str(path))
    # any other number MongoDB cannot store: a clear error too
    doc["images"][0]["id"] = 1
    path.write_text(json.dumps(doc))
    with pytest.raises(
        tfdp.TFDPError, match="does not fit in the 64-bit integers"
    ):
        tfdp.load_coco_dataset(str(path))
    assert set(fo.list_datasets()) == before
