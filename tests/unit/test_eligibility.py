"""One eligibility rule set: COCO files and SA-1B-style folders give the
reasons of tfdp.eligibility for the same instances (the FiftyOne tier
checks FiftyOne labels against the same cases)."""

import json

import pytest
from eligibility_cases import CASES, HEIGHT, WIDTH, coco_annotation

from tfdp import coco, sa1b
from tfdp.eligibility import INELIGIBLE_REASONS, ineligible_reason


def _only_reason(counter):
    assert sum(counter.values()) <= 1
    return next(iter(counter), None)


def coco_reason(instance):
    data = {
        "images": [{"id": 1, "width": WIDTH, "height": HEIGHT}],
        "annotations": [coco_annotation(instance)],
        "categories": [{"id": 1, "name": "thing"}],
    }
    shapes = coco.measure(data)
    assert len(shapes.table) == (0 if shapes.ineligible else 1)
    return _only_reason(shapes.ineligible)


def sa1b_reason(instance, folder):
    path = folder / "sa_1.json"
    record = {
        "image": {
            "image_id": 1,
            "width": WIDTH,
            "height": HEIGHT,
            "file_name": "sa_1.jpg",
        },
        "annotations": [coco_annotation(instance)],
    }
    path.write_text(json.dumps(record))  # NaN and Infinity as Python writes
    chunk = sa1b.measure_files([str(path)])
    assert chunk.invalid == []
    return _only_reason(chunk.ineligible)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_source_gives_the_same_reason(case, tmp_path):
    instance = CASES[case]
    expected = ineligible_reason(instance)
    assert expected is None or expected in INELIGIBLE_REASONS
    assert coco_reason(instance) == expected
    assert sa1b_reason(instance, tmp_path) == expected


def test_the_cases_cover_every_reason_of_coco_records():
    reasons = {ineligible_reason(i) for i in CASES.values()}
    assert reasons == set(INELIGIBLE_REASONS) - {"polyline not filled"} | {
        None
    }


def test_a_huge_integer_box_is_finite():
    # box sides beyond floats are numbers all the same (math.isfinite
    # would overflow on them)
    instance = CASES["scored"]._replace(bbox=[16, 16, 10**400, 32])
    assert ineligible_reason(instance) is None
