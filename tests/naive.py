"""The naive TFDP computation, written straight from docs/method.md.

Every instance is rasterised on a full-size canvas of its image, as the
authors' code does (contours found, pixels never summed), and RLE is decoded
with pycocotools. It shares no code with ``tfdp`` and serves as the
reference in tests and as the baseline in benchmarks.
"""

import csv
import json
import math
from fractions import Fraction

import cv2
import numpy as np
from pycocotools import mask as mask_utils


def eligible(ann, width, height):
    """docs/method.md, section 1."""
    if ann.get("iscrowd") or ann.get("ignore"):
        return False
    seg = ann.get("segmentation")
    if not seg:
        return False
    if isinstance(seg, list) and not any(len(p) for p in seg):
        return False
    bbox = ann.get("bbox")
    if bbox is None or not all(math.isfinite(v) for v in bbox):
        return False
    x, y, w, h = bbox
    if w < 1 or h < 1:
        return False
    return x < width and y < height and x + w > 0 and y + h > 0


def full_mask(seg, width, height):
    """The instance on a full ``height x width`` canvas."""
    if isinstance(seg, list):
        canvas = np.zeros((height, width), dtype=np.uint8)
        for part in seg:
            if len(part) == 0:
                continue
            points = np.array(part).reshape(-1, 2).astype(np.int32)
            cv2.fillPoly(canvas, [points], 1)
        return canvas

    if isinstance(seg["counts"], list):
        rle = mask_utils.frPyObjects(seg, height, width)
    else:
        rle = dict(seg)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode("ascii")
    return mask_utils.decode(rle)


def mask_shape(mask):
    """``(perimeter, area)`` of the largest external contour, ``(0, 0)``
    without one."""
    contours, _ = cv2.findContours(
        np.ascontiguousarray(mask, dtype=np.uint8),
        cv2.RETR_EXTERNAL,
        cv2.CHAIN_APPROX_SIMPLE,
    )
    if not contours:
        return 0.0, 0.0
    areas = [cv2.contourArea(c) for c in contours]
    best = int(np.argmax(areas))  # argmax takes the first on a tie
    if areas[best] == 0:
        return 0.0, 0.0
    return cv2.arcLength(contours[best], True), areas[best]


def shapes(data):
    """One row ``(image id, annotation id, category id, perimeter, area)``
    per eligible annotation, in file order (annotation ids may repeat).

    As the authors' code: the full canvas is rasterised and its contours
    found; its pixels are never summed."""
    images = {im["id"]: im for im in data["images"]}
    rows = []
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        width, height = image["width"], image["height"]
        if not eligible(ann, width, height):
            continue
        perimeter, area = mask_shape(
            full_mask(ann["segmentation"], width, height)
        )
        rows.append(
            (ann["image_id"], ann["id"], ann["category_id"], perimeter, area)
        )
    return rows


def scores(rows):
    """``(scs, si_scs, cb_scs)`` of each row of :func:`shapes`."""
    si = []
    totals = {}
    for _, _, cat, p, a in rows:
        value = p / (2 * math.sqrt(math.pi * a)) if a > 0 else 0.0
        si.append(value)
        totals[cat] = totals.get(cat, 0.0) + value
    out = []
    for (_, _, cat, p, a), value in zip(rows, si):
        s = p / a if a > 0 else 0.0
        cb = value / totals[cat] if totals[cat] > 0 else 0.0
        out.append((s, value, cb))
    return out


METHOD_COLUMN = {"scs": 0, "si-scs": 1, "cb-scs": 2}


def image_scores(data, rows, method):
    """``{image id: score}`` for every image, in file order."""
    out = {im["id"]: 0.0 for im in data["images"]}
    for row, values in zip(rows, scores(rows)):
        out[row[0]] += values[METHOD_COLUMN[method]]
    return out


def prune(data, keep_ratio, method="cb-scs", rows=None):
    """The pruned dict, per docs/method.md, section 4."""
    if rows is None:
        rows = shapes(data)
    by_image = image_scores(data, rows, method)
    ids = list(by_image)
    ranked = sorted(range(len(ids)), key=lambda i: -by_image[ids[i]])
    n = len(ids)
    # round half up on exact decimals: keep_ratio is given as a string
    count = math.floor(Fraction(keep_ratio) * n + Fraction(1, 2))
    kept = {ids[i] for i in ranked[:count]}
    out = dict(data)
    out["images"] = [im for im in data["images"] if im["id"] in kept]
    out["annotations"] = [
        a for a in data["annotations"] if a["image_id"] in kept
    ]
    return out


SCORE_COLUMNS = (
    "image_id",
    "annotation_id",
    "category_id",
    "perimeter",
    "area",
    "scs",
    "si_scs",
    "cb_scs",
)


def score_file(input_path, output_path):
    """The whole naive scoring process: load, measure on full canvases,
    score, write one CSV row per eligible annotation."""
    with open(input_path) as f:
        data = json.load(f)
    rows = shapes(data)
    with open(output_path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SCORE_COLUMNS)
        for row, values in zip(rows, scores(rows)):
            writer.writerow(row + values)
    return rows


def prune_file(input_path, output_path, keep_ratio, method="cb-scs"):
    """The whole naive process: load, score, prune, write."""
    with open(input_path) as f:
        data = json.load(f)
    pruned = prune(data, keep_ratio, method)
    with open(output_path, "w", encoding="utf-8") as f:
        json.dump(pruned, f, ensure_ascii=False, separators=(",", ":"))
    return pruned
