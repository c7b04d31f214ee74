"""Property-based tests: generated COCO documents, valid and corrupted.

Every document is scored and pruned by the command, in process. Valid ones
must score exactly as the naive full-canvas implementation and prune as it
does; corrupted ones (in type, structure and value) must either go through
or be refused with a ``tfdp: error:`` and exit status 1, never with a
traceback, and never leave a partial output or a temporary file.

The default run is short, for CI; set ``TFDP_FUZZ_EXAMPLES`` for a longer
one. Failures found are kept below as regular tests (:data:`FOUND`).
"""

import contextlib
import csv
import io
import json
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

import naive
from tfdp.cli import main

FUZZ = settings(
    max_examples=int(os.environ.get("TFDP_FUZZ_EXAMPLES", "30")),
    # the default run is the same every time (a CI run cannot fail on a
    # new example by chance); asking for a number of examples explores
    derandomize="TFDP_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------
# Valid documents

coordinates = st.one_of(
    st.integers(-6, 30),
    st.floats(-6, 30, allow_nan=False).map(lambda v: round(v, 2)),
)


@st.composite
def polygons(draw, width, height):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 6))
        parts.append([draw(coordinates) for _ in range(2 * n)])
    return parts


def column_major_runs(mask):
    flat = mask.ravel(order="F")
    runs, value, length = [], 0, 0
    for pixel in flat.tolist():
        if pixel == value:
            length += 1
        else:
            runs.append(length)
            value, length = pixel, 1
    runs.append(length)
    return runs


@st.composite
def rles(draw, width, height, compressed):
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    mask = (np.random.default_rng(seed).random((height, width)) < density)
    mask = mask.astype(np.uint8)
    if compressed:
        rle = mask_utils.encode(np.asfortranarray(mask))
        return {"size": [height, width], "counts": rle["counts"].decode()}
    return {"size": [height, width], "counts": column_major_runs(mask)}


def extent_box(segmentation, width, height):
    if isinstance(segmentation, dict):
        return [0, 0, width, height]
    xs = [v for part in segmentation for v in part[0::2]]
    ys = [v for part in segmentation for v in part[1::2]]
    if not xs:
        return [0, 0, 0, 0]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


@st.composite
def annotations(draw, images, categories):
    image = draw(st.sampled_from(images))
    width, height = image["width"], image["height"]
    kind = draw(st.sampled_from(["polygon", "polygon", "rle", "rle-string",
                                 "empty"]))
    if kind == "polygon":
        segmentation = draw(polygons(width, height))
    elif kind == "empty":
        segmentation = draw(st.sampled_from([[], [[]], None]))
    else:
        segmentation = draw(rles(width, height, kind == "rle-string"))
    record = {
        "id": draw(st.one_of(st.integers(0, 12), st.sampled_from(["a", "b"]))),
        "image_id": image["id"],
        "category_id": draw(st.sampled_from(categories))["id"],
        "segmentation": segmentation,
    }
    box = draw(st.sampled_from(["extent", "extent", "random", "none"]))
    if box == "extent":
        record["bbox"] = extent_box(segmentation or [], width, height)
    elif box == "random":
        record["bbox"] = [draw(coordinates) for _ in range(4)]
    for flag in ("iscrowd", "ignore"):
        value = draw(st.sampled_from([None, None, 0, 1, True, False]))
        if value is not None:
            record[flag] = value
    if draw(st.booleans()):
        record["area"] = draw(coordinates)
    return record


@st.composite
def documents(draw):
    ids = draw(st.lists(st.integers(0, 40), min_size=1, max_size=4,
                        unique=True))
    if draw(st.booleans()):
        ids = ["img-%d" % i for i in ids]
    images = [
        {"id": i, "width": draw(st.integers(1, 24)),
         "height": draw(st.integers(1, 24)), "file_name": "%s.jpg" % i}
        for i in ids
    ]
    categories = [{"id": c, "name": "class %d é" % c}
                  for c in range(1, draw(st.integers(1, 3)) + 1)]
    anns = draw(st.lists(annotations(images, categories), max_size=8))
    return {"info": {"description": "fuzz"}, "images": images,
            "annotations": anns, "categories": categories}


# ---------------------------------------------------------------------------
# Corruptions: in type, structure and value

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(2**63 - 2, 2**70),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), 10**9, 1e9, -1e9, 1e308,
                     2**53, 10**400, 1e-7, 0.5]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0", "1", "false", "true", "", "NaN", "12", "x"]),
    st.text(max_size=4),
    st.lists(st.one_of(st.integers(-2, 40), st.sampled_from(["1", True])),
             max_size=6),
    st.dictionaries(st.sampled_from(["size", "counts", "id", "width"]),
                    st.one_of(st.integers(0, 5), st.just([2, 3])),
                    max_size=2),
    st.integers(1, 1500).map(lambda depth: _nested(depth)),
)


def _nested(depth):
    value = [1]
    for _ in range(depth):
        value = [value]
    return value


def _places(value, found, path=()):
    found.append(path)
    if isinstance(value, dict):
        for key in list(value):
            _places(value[key], found, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value[:12]):
            _places(item, found, path + (i,))
    return found


def _get(value, path):
    for key in path:
        value = value[key]
    return value


@st.composite
def corrupted_documents(draw):
    doc = draw(documents())
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p in _places(doc, []) if p]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, key = _get(doc, path[:-1]), path[-1]
        action = draw(st.sampled_from(
            ["replace", "replace", "replace", "delete", "repeat", "wrap"]))
        if action == "replace":
            parent[key] = draw(odd_values)
        elif action == "delete":
            del parent[key]
        elif action == "repeat" and isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[key])))
        elif action == "wrap":
            parent[key] = [parent[key]]
    return doc


@st.composite
def corrupted_texts(draw):
    text = json.dumps(draw(documents()))
    how = draw(st.sampled_from(["truncate", "garbage", "nest", "bytes"]))
    if how == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))].encode()
    if how == "garbage":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(["NaN", "}", ",", "\\u", "'", "\x00",
                                     "Infinity", "1e400", "\ud800"]))
        return (text[:at] + junk + text[at:]).encode("utf-8", "surrogatepass")
    if how == "nest":
        depth = draw(st.sampled_from([200, 1023, 1024, 1025, 5000, 200_000]))
        return ('{"images": [], "annotations": %s%s}'
                % ("[" * depth, "]" * depth)).encode()
    return draw(st.binary(max_size=40))


# ---------------------------------------------------------------------------
# Running the command


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


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
        (["score", path, "-o", os.path.join(folder, "s.csv")] + extra,
         ["s.csv"]),
        (["prune", path, "-o", os.path.join(folder, "p.json"),
          "--keep-ratio", "0.5,1", "--report", os.path.join(folder, "r.json")]
         + extra,
         ["p.keep-0.5.json", "p.keep-1.json", "r.keep-0.5.json",
          "r.keep-1.json"]),
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
        for row, shape, values in zip(rows, reference, naive.scores(reference)):
            assert row[:3] == [str(v) for v in shape[:3]]
            assert [float(v) for v in row[3:5]] == list(shape[3:])
            assert [float(v) for v in row[5:]] == pytest.approx(values,
                                                                 rel=1e-12)

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
                assert f.read() == json.dumps(
                    expected, ensure_ascii=False, separators=(",", ":")
                ).encode()


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


def _images(n):
    return [{"id": i, "width": 1, "height": 1, "file_name": "%d.jpg" % i}
            for i in range(n)]


CATEGORY = [{"id": 1, "name": "class 1 é"}]

#: Documents the fuzzing found failing, kept as regular tests
FOUND = {
    # an annotation that is not an object: its problem was not positioned
    "annotation is a list": {
        "images": _images(3), "annotations": [[]], "categories": CATEGORY,
    },
    "annotation is null, then a good one": {
        "info": None, "images": [None],
        "annotations": [None, {"id": 0, "image_id": 0, "category_id": 1,
                               "segmentation": [[]], "bbox": [0, 0, 0, 0]}],
        "categories": CATEGORY,
    },
}


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_by_fuzzing(name, skip):
    check_document(json.dumps(FOUND[name]).encode(), skip)
