"""Every annotation of every real file against the naive full-canvas
computation, the VOC golden ratios, and pruned outputs."""

import json
import math

import cv2
import naive
import numpy as np
import pytest
from pycocotools.coco import COCO
from shared_data import REAL_FILES, TACO, VOC, requires_shared_data

from tfdp import coco, eligibility, outputs, scoring

pytestmark = requires_shared_data


def full_canvas(data):
    """The rows of ``naive.shapes`` and, from the same full-canvas masks, a
    naive pixel count of each (the baseline itself never sums pixels)."""
    images = {im["id"]: im for im in data["images"]}
    rows, pixels = [], []
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        width, height = image["width"], image["height"]
        if not naive.eligible(ann, width, height):
            continue
        mask = naive.full_mask(ann["segmentation"], width, height)
        rows.append(
            (ann["image_id"], ann["id"], ann["category_id"])
            + naive.mask_shape(mask)
        )
        pixels.append(int(mask.sum()))
    return rows, pixels


@pytest.fixture(scope="module", params=sorted(REAL_FILES))
def real(request):
    path = REAL_FILES[request.param]
    data = coco.load_json(path)
    rows, pixels = full_canvas(data)
    return path, data, coco.measure(data, source=path), rows, pixels


def rows_of(shapes):
    """Our table as rows of ``naive.shapes``."""
    table = shapes.table
    return list(
        zip(
            [shapes.image_ids[i] for i in table.image_index.tolist()],
            table.instance_ids,
            [shapes.categories[c][0] for c in table.category.tolist()],
            table.perimeter.tolist(),
            table.area.tolist(),
        )
    )


def test_every_shape_equals_the_full_canvas(real):
    _, data, shapes, reference, pixels = real
    assert rows_of(shapes) == reference  # exact: same contours, same floats
    assert shapes.table.pixels.tolist() == pixels


def test_shapes_without_pixel_counts_equal_the_full_canvas(real):
    # as `tfdp score` measures: polygons inside their image are traced from
    # their outlines, and no pixel is counted
    from tfdp.runner import Runner

    path, data, _, reference, _ = real
    with Runner(local_cluster=False, count_pixels=False) as runner:
        shapes = coco.measure(
            data, source=path, measure_jobs=runner.measure_coco_jobs
        )
    assert rows_of(shapes) == reference
    assert set(shapes.table.pixels.tolist()) == {-1}


def test_every_score_equals_the_full_canvas(real):
    _, data, shapes, reference, _ = real
    expected = naive.scores(reference)
    table = shapes.table
    for method, column in naive.METHOD_COLUMN.items():
        got = table.scores(method).tolist()
        assert got == pytest.approx([v[column] for v in expected], rel=1e-12)
        # image scores, every image included
        order, image_scores = scoring.rank(table, shapes.num_images, method)
        by_image = naive.image_scores(data, reference, method)
        assert list(by_image) == shapes.image_ids
        assert image_scores.tolist() == pytest.approx(
            list(by_image.values()), rel=1e-12
        )


def test_class_totals_are_one(real):
    _, _, shapes, _, _ = real
    table = shapes.table
    cb = table.scores("cb-scs")
    si = table.scores("si-scs")
    for category in np.unique(table.category):
        in_class = table.category == category
        total = cb[in_class].sum()
        if si[in_class].sum() > 0:
            assert total == pytest.approx(1.0)
        else:
            assert total == 0


def test_voc_ratio_is_our_scs_for_single_contour_masks():
    data = coco.load_json(VOC)
    shapes = coco.measure(data, source=VOC)
    assert len(set(shapes.table.instance_ids)) == len(shapes.table)
    scs = dict(zip(shapes.table.instance_ids, shapes.table.scores("scs")))
    images = {im["id"]: im for im in data["images"]}
    checked = 0
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        mask = naive.full_mask(
            ann["segmentation"], image["width"], image["height"]
        )
        contours, _ = cv2.findContours(
            mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        if len(contours) != 1:
            continue
        checked += 1
        assert scs[ann["id"]] == pytest.approx(ann["ratio"], rel=1e-12), ann[
            "id"
        ]
    assert checked == 2008  # as the data README says


def test_taco_not_scored_records_are_counted():
    shapes = coco.measure(coco.load_json(TACO), source=TACO)
    # 15 empty segmentations (with non-finite boxes), 8 boxes far outside
    # their image
    assert dict(shapes.ineligible) == {
        eligibility.EMPTY_SEGMENTATION: 15,
        eligibility.BBOX_OUTSIDE_IMAGE: 8,
    }
    assert shapes.invalid == []


@pytest.mark.parametrize("method", ["cb-scs", "scs"])
@pytest.mark.parametrize("ratio", ["0.5", "0.7"])
def test_pruned_file_equals_naive_and_loads(real, tmp_path, method, ratio):
    path, data, shapes, reference, _ = real
    order, _ = scoring.rank(shapes.table, shapes.num_images, method)
    kept = scoring.select(
        order, scoring.keep_count(shapes.num_images, keep_ratio=ratio)
    )
    kept_ids = [i for i, k in zip(shapes.image_ids, kept) if k]
    ours = tmp_path / "ours.json"
    outputs.write_json(coco.prune(data, kept_ids), str(ours))

    expected = tmp_path / "naive.json"
    with open(expected, "w", encoding="utf-8") as f:
        json.dump(
            naive.prune(data, ratio, method, rows=reference),
            f,
            ensure_ascii=False,
            separators=(",", ":"),
        )
    assert ours.read_bytes() == expected.read_bytes()

    loaded = COCO(str(ours))
    kept_set = set(kept_ids)
    assert set(loaded.getImgIds()) == kept_set
    expected = [a for a in data["annotations"] if a["image_id"] in kept_set]
    assert json.loads(ours.read_text())["annotations"] == expected
    assert len(kept_ids) == math.floor(
        float(ratio) * len(data["images"]) + 0.5
    )
