"""Generated COCO documents for property-based tests (Hypothesis), valid
and corrupted, shared by the command's and FiftyOne's fuzz tests."""

import contextlib
import io
import json
import os

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

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
    mask = np.random.default_rng(seed).random((height, width)) < density
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
    kind = draw(
        st.sampled_from(["polygon", "polygon", "rle", "rle-string", "empty"])
    )
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
    ids = draw(
        st.lists(st.integers(0, 40), min_size=1, max_size=4, unique=True)
    )
    if draw(st.booleans()):
        ids = ["img-%d" % i for i in ids]
    images = [
        {
            "id": i,
            "width": draw(st.integers(1, 24)),
            "height": draw(st.integers(1, 24)),
            "file_name": "%s.jpg" % i,
        }
        for i in ids
    ]
    categories = [
        {"id": c, "name": "class %d é" % c}
        for c in range(1, draw(st.integers(1, 3)) + 1)
    ]
    anns = draw(st.lists(annotations(images, categories), max_size=8))
    return {
        "info": {"description": "fuzz"},
        "images": images,
        "annotations": anns,
        "categories": categories,
    }


# ---------------------------------------------------------------------------
# Corruptions: in type, structure and value

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(2**63 - 2, 2**70),
    st.sampled_from(
        [
            2**31 - 1,
            2**31,
            -(2**31),
            10**9,
            1e9,
            -1e9,
            1e308,
            2**53,
            10**400,
            1e-7,
            0.5,
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0", "1", "false", "true", "", "NaN", "12", "x"]),
    st.text(max_size=4),
    st.lists(
        st.one_of(st.integers(-2, 40), st.sampled_from(["1", True])),
        max_size=6,
    ),
    st.dictionaries(
        st.sampled_from(["size", "counts", "id", "width"]),
        st.one_of(st.integers(0, 5), st.just([2, 3])),
        max_size=2,
    ),
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
        action = draw(
            st.sampled_from(
                ["replace", "replace", "replace", "delete", "repeat", "wrap"]
            )
        )
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
        junk = draw(
            st.sampled_from(
                [
                    "NaN",
                    "}",
                    ",",
                    "\\u",
                    "'",
                    "\x00",
                    "Infinity",
                    "1e400",
                    "\ud800",
                ]
            )
        )
        return (text[:at] + junk + text[at:]).encode("utf-8", "surrogatepass")
    if how == "nest":
        depth = draw(st.sampled_from([200, 1023, 1024, 1025, 5000, 200_000]))
        return (
            '{"images": [], "annotations": %s%s}' % ("[" * depth, "]" * depth)
        ).encode()
    return draw(st.binary(max_size=40))


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()
