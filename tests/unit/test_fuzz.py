"""Property-based tests: generated COCO documents, valid and corrupted.

Every document is scored and pruned by the command, in process. Valid ones
must score exactly as the naive full-canvas implementation and prune as it
does; corrupted ones (in type, structure and value) must either go through
or be refused with a ``tfdp: error:`` and exit status 1, never with a
traceback, and never leave a partial output or a temporary file.

The default run is short, for CI; set ``TFDP_FUZZ_EXAMPLES`` for a longer
one. Failures found are kept below as regular tests (:data:`FOUND`).
"""

import copy
import csv
import json
import os
import tempfile

import naive
import pytest
from fuzz_documents import (
    FUZZ,
    corrupted_documents,
    corrupted_texts,
    documents,
    run_cli,
)
from hypothesis import given
from hypothesis import strategies as st

from tfdp import coco
from tfdp.errors import TFDPError

# ---------------------------------------------------------------------------
# Running the command


def check_run(folder, argv, outputs):
    """Runs the command; checks it went through whole or was refused
    cleanly, leaving no partial output."""
    status, out, err = run_cli(argv)
    left = sorted(set(os.listdir(folder)) - {"in.json"})
    assert status in (0, 1), (status, err)
    assert "Traceback" not in err
    if status == 1:  # after any warnings
        assert "\ntfdp: error: " in "\n" + err, err
        assert left == [], left
    else:
        assert left == sorted(outputs), left
    return status, out, err


def commands(folder, skip):
    extra = ["--skip-invalid"] if skip else []
    path = os.path.join(folder, "in.json")
    return [
        (
            ["score", path, "-o", os.path.join(folder, "s.csv")] + extra,
            ["s.csv"],
        ),
        (
            [
                "prune",
                path,
                "-o",
                os.path.join(folder, "p.json"),
                "--keep-ratio",
                "0.5,1",
                "--report",
                os.path.join(folder, "r.json"),
            ]
            + extra,
            [
                "p.keep-0.5.json",
                "p.keep-1.json",
                "r.keep-0.5.json",
                "r.keep-1.json",
            ],
        ),
    ]


def check_pruned(path):
    with open(path) as f:
        pruned = json.load(f)
    ids = [im["id"] for im in pruned["images"]]
    assert len(ids) == len(set(ids))  # never a duplicate image id
    kept = set(ids)
    assert all(a["image_id"] in kept for a in pruned["annotations"])


def check_document(doc_bytes, skip):
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "in.json"), "wb") as f:
            f.write(doc_bytes)
        for argv, outputs in commands(folder, skip):
            status, _, _ = check_run(folder, argv, outputs)
            if status == 0 and argv[0] == "prune":
                check_pruned(os.path.join(folder, "p.keep-0.5.json"))
            for name in outputs:
                if os.path.exists(os.path.join(folder, name)):
                    os.unlink(os.path.join(folder, name))


def check_valid(doc):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "in.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        scores = os.path.join(folder, "s.csv")
        assert run_cli(["score", path, "-o", scores])[0] == 0
        with open(scores) as f:
            rows = list(csv.reader(f))[1:]
        reference = naive.shapes(doc)
        assert len(rows) == len(reference)
        for row, shape, values in zip(
            rows, reference, naive.scores(reference)
        ):
            assert row[:3] == [str(v) for v in shape[:3]]
            assert [float(v) for v in row[3:5]] == list(shape[3:])
            assert [float(v) for v in row[5:]] == pytest.approx(
                values, rel=1e-12
            )

        for ratio in ("0.5", "0.7"):
            out = os.path.join(folder, "p%s.json" % ratio)
            argv = ["prune", path, "-o", out, "--keep-ratio", ratio]
            status, _, err = run_cli(argv)
            if not reference:  # a pruning would choose by nothing
                assert status == 1 and "no annotation can be scored" in err
                assert not os.path.exists(out)
                continue
            assert status == 0, err
            expected = naive.prune(doc, ratio, rows=reference)
            with open(out, "rb") as f:
                assert (
                    f.read()
                    == json.dumps(
                        expected, ensure_ascii=False, separators=(",", ":")
                    ).encode()
                )


@FUZZ
@given(doc=documents())
def test_valid_documents_score_as_the_full_canvas(doc):
    check_valid(doc)


@FUZZ
@given(doc=corrupted_documents(), skip=st.booleans())
def test_corrupted_documents_go_through_or_are_refused_cleanly(doc, skip):
    check_document(json.dumps(doc).encode(), skip)


@FUZZ
@given(text=corrupted_texts(), skip=st.booleans())
def test_corrupted_texts_are_refused_cleanly(text, skip):
    check_document(text, skip)


def validation_outcome(check, doc, skip):
    """What a check makes of a document: its error, or every record it
    keeps, skips or warns about, with the instances it would score."""
    try:
        shapes = check(copy.deepcopy(doc), "in.json", skip)
    except TFDPError as e:
        return type(e).__name__, str(e)
    table = shapes.table
    return (
        shapes.image_ids,
        shapes.categories,
        dict(shapes.ineligible),
        [tuple(problem) for problem in shapes.invalid],
        shapes.skipped_annotations,
        shapes.warnings,
        table.instance_ids,
        table.image_index.tolist(),
        table.category.tolist(),
    )


@FUZZ
@given(doc=corrupted_documents(), skip=st.booleans())
def test_validation_without_drawing_decides_as_measuring(doc, skip):
    """coco.validate (the loaders' check) accepts, skips and refuses the
    same records as coco.measure (the command's), with the same words."""
    assert validation_outcome(coco.validate, doc, skip) == (
        validation_outcome(coco.measure, doc, skip)
    )


def _images(n):
    return [
        {"id": i, "width": 1, "height": 1, "file_name": "%d.jpg" % i}
        for i in range(n)
    ]


CATEGORY = [{"id": 1, "name": "class 1 é"}]

#: Documents the fuzzing found failing, kept as regular tests
FOUND = {
    # an annotation that is not an object: its problem was not positioned
    "annotation is a list": {
        "images": _images(3),
        "annotations": [[]],
        "categories": CATEGORY,
    },
    "annotation is null, then a good one": {
        "info": None,
        "images": [None],
        "annotations": [
            None,
            {
                "id": 0,
                "image_id": 0,
                "category_id": 1,
                "segmentation": [[]],
                "bbox": [0, 0, 0, 0],
            },
        ],
        "categories": CATEGORY,
    },
}


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_by_fuzzing(name, skip):
    check_document(json.dumps(FOUND[name]).encode(), skip)
