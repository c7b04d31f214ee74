"""FiftyOne labels follow the one eligibility rule set: the cases that the
unit tier checks for COCO files and SA-1B-style folders
(tests/unit/test_eligibility.py) give the same reasons as detections, and
a polyline that is not filled is excluded in its turn."""

import uuid

import fiftyone as fo
import numpy as np
import pytest
from eligibility_cases import CASES, HEIGHT, SQUARE, WIDTH

from tfdp.eligibility import NOT_FILLED, ineligible_reason
from tfdp.fo_adapter import labels


def _relative(box):
    if box is None:
        return None
    x, y, w, h = box
    return [x / WIDTH, y / HEIGHT, w / WIDTH, h / HEIGHT]


def _detection(instance):
    return fo.Detection(
        label="thing",
        bounding_box=_relative(instance.bbox),
        mask=None if instance.segmentation_empty else np.ones((4, 4), bool),
        iscrowd=int(instance.crowd),
        ignore=int(instance.ignore),
    )


def _polyline(instance, filled=True):
    coords = SQUARE[0]
    points = (
        []
        if instance.segmentation_empty
        else [
            [
                (coords[i] / WIDTH, coords[i + 1] / HEIGHT)
                for i in range(0, len(coords), 2)
            ]
        ]
    )
    return fo.Polyline(
        label="thing",
        points=points,
        filled=filled,
        closed=True,
        iscrowd=int(instance.crowd),
        ignore=int(instance.ignore),
    )


@pytest.fixture(scope="module")
def dataset():
    dataset = fo.Dataset("tfdp-test-eligibility-%s" % uuid.uuid4().hex)
    metadata = fo.ImageMetadata(width=WIDTH, height=HEIGHT)
    samples = []
    for i, case in enumerate(sorted(CASES)):
        instance = CASES[case]
        samples.append(
            fo.Sample(
                filepath="/nowhere/%d.jpg" % i,
                metadata=metadata,
                case=case,
                detections=fo.Detections(detections=[_detection(instance)]),
                polylines=fo.Polylines(polylines=[_polyline(instance)]),
            )
        )
    for filled in (True, False):
        samples.append(
            fo.Sample(
                filepath="/nowhere/%s.jpg" % filled,
                metadata=metadata,
                case="filled" if filled else "not filled",
                polylines=fo.Polylines(
                    polylines=[_polyline(CASES["scored"], filled)]
                ),
            )
        )
    dataset.add_samples(samples)
    yield dataset
    dataset.delete()


def _reason(dataset, case, path):
    sample = dataset.match(fo.ViewField("case") == case).first()
    shard = labels.measure_shard(dataset, path, [sample.id], 0)
    assert shard["problems"] == []
    counted = shard["ineligible"]
    assert sum(counted.values()) + len(shard["ids"]) == 1
    return next(iter(counted), None)


@pytest.mark.parametrize("case", sorted(set(CASES) - {"no box"}))
def test_detections_give_the_reasons_of_coco_records(dataset, case):
    # "no box" has no FiftyOne twin: a Detection stores a missing box as
    # [], which is refused as malformed
    expected = ineligible_reason(CASES[case])
    assert _reason(dataset, case, "detections.detections") == expected


@pytest.mark.parametrize(
    "case", ["scored", "crowd", "ignore", "empty", "ignore and empty"]
)
def test_polylines_give_the_reasons_of_coco_records(dataset, case):
    # a polyline's box is its points': only the cases whose box is the
    # square's
    expected = ineligible_reason(CASES[case])
    assert _reason(dataset, case, "polylines.polylines") == expected


def test_a_polyline_that_is_not_filled_is_not_scored(dataset):
    assert _reason(dataset, "filled", "polylines.polylines") is None
    assert _reason(dataset, "not filled", "polylines.polylines") == NOT_FILLED
