"""The naive TFDP computation, written straight from TFDP.md.

Every instance is rasterised on a full-size canvas of its image, as the
authors' code does, and RLE is decoded with pycocotools. It shares no code
with ``tfdp`` and serves as the reference in tests and as the baseline in
benchmarks.
"""

import json
import math
from fractions import Fraction

import cv2
import numpy as np
from pycocotools import mask as mask_utils


def eligible(ann, width, height):
    """TFDP.md section 1."""
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
    """``{annotation id: (image id, category id, perimeter, area, pixels)}``
    for the eligible annotations, in file order."""
    images = {im["id"]: im for im in data["images"]}
    out = {}
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        width, height = image["width"], image["height"]
        if not eligible(ann, width, height):
            continue
        mask = full_mask(ann["segmentation"], width, height)
        perimeter, area = mask_shape(mask)
        out[ann["id"]] = (
            ann["image_id"],
            ann["category_id"],
            perimeter,
            area,
            int(mask.sum()),
        )
    return out


def scores(shape_by_ann):
    """``{annotation id: (scs, si_scs, cb_scs)}``."""
    si = {}
    totals = {}
    for ann_id, (_, cat, p, a, _) in shape_by_ann.items():
        si[ann_id] = p / (2 * math.sqrt(math.pi * a)) if a > 0 else 0.0
        totals[cat] = totals.get(cat, 0.0) + si[ann_id]
    out = {}
    for ann_id, (_, cat, p, a, _) in shape_by_ann.items():
        s = p / a if a > 0 else 0.0
        cb = si[ann_id] / totals[cat] if totals[cat] > 0 else 0.0
        out[ann_id] = (s, si[ann_id], cb)
    return out


METHOD_COLUMN = {"scs": 0, "si-scs": 1, "cb-scs": 2}


def image_scores(data, shape_by_ann, method):
    """``{image id: score}`` for every image, in file order."""
    per_ann = scores(shape_by_ann)
    out = {im["id"]: 0.0 for im in data["images"]}
    for ann_id, (image_id, *_rest) in shape_by_ann.items():
        out[image_id] += per_ann[ann_id][METHOD_COLUMN[method]]
    return out


def prune(data, keep_ratio, method="cb-scs", shape_by_ann=None):
    """The pruned dict, per TFDP.md section 4."""
    if shape_by_ann is None:
        shape_by_ann = shapes(data)
    by_image = image_scores(data, shape_by_ann, method)
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


def prune_file(input_path, output_path, keep_ratio, method="cb-scs"):
    """The whole naive process: load, score, prune, write."""
    with open(input_path) as f:
        data = json.load(f)
    pruned = prune(data, keep_ratio, method)
    with open(output_path, "w", encoding="utf-8") as f:
        json.dump(pruned, f, ensure_ascii=False, separators=(",", ":"))
    return pruned
