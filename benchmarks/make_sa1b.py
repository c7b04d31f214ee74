"""Writes SA-1B-style folders (one JSON file per image, RLE masks) from the
real masks of a shared COCO file.

Segment Anything's SA-1B stores every image as ``{"image": {"image_id",
"width", "height", "file_name"}, "annotations": [{"id", "segmentation":
{"size", "counts"}, "bbox", "area", ...}]}`` with compressed RLE counts.
Polygons are encoded with pycocotools, as SA-1B's masks were.

Two layouts:

- ``per_image``: one file per image of the source, with its own masks (and
  the same masks as one COCO RLE file, to compare with);
- ``replicated``: FILES files of MASKS masks each, every file drawing real
  masks of one image size of the source (so a file holds masks of many
  source images, as an SA-1B image holds ~100 masks), with unique image and
  mask ids.

Usage: python benchmarks/make_sa1b.py OUT_DIR FILES MASKS [SOURCE.json]
   or: python benchmarks/make_sa1b.py --per-image OUT_DIR [SOURCE.json]
(default source: TACO, whose images are up to 6000x5312)
"""

import collections
import json
import os
import sys

from common import DATA, require_data
from pycocotools import mask as mask_utils

TACO = DATA + "/taco-unofficial/annotations_unofficial.json"


def rle_annotations(data):
    """The annotations of a COCO dict with compressed RLE segmentations.

    Annotations without a segmentation are left out.

    Returns:
        a list of ``(image record, [annotation, ...])`` in image order
    """
    images = {image["id"]: image for image in data["images"]}
    by_image = collections.defaultdict(list)
    for ann in data["annotations"]:
        segmentation = ann.get("segmentation")
        if not segmentation:
            continue
        image = images[ann["image_id"]]
        height, width = image["height"], image["width"]
        if isinstance(segmentation, list):
            rles = mask_utils.frPyObjects(segmentation, height, width)
            rle = mask_utils.merge(rles)
        elif isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
        counts = rle["counts"]
        rle = {
            "size": [height, width],
            "counts": counts.decode("ascii")
            if isinstance(counts, bytes)
            else counts,
        }
        record = dict(ann, segmentation=rle)
        by_image[ann["image_id"]].append(record)
    return [(images[i["id"]], by_image[i["id"]]) for i in data["images"]]


def sa1b_record(image_id, width, height, file_name, annotations):
    return {
        "image": {
            "image_id": image_id,
            "width": width,
            "height": height,
            "file_name": file_name,
        },
        "annotations": annotations,
    }


def write_per_image(data, folder):
    """One SA-1B-style file per image of ``data``, with its RLE masks.

    Returns:
        a COCO dict with the same images and RLE masks, in the same order
        (one category), to compare with
    """
    os.makedirs(folder, exist_ok=True)
    images, annotations = [], []
    for image, anns in rle_annotations(data):
        name = "sa_%08d" % len(images)
        masks = [
            {
                key: ann[key]
                for key in ("id", "segmentation", "bbox", "area", "iscrowd")
                if key in ann
            }
            for ann in anns
        ]
        with open(os.path.join(folder, name + ".json"), "w") as f:
            json.dump(
                sa1b_record(
                    image["id"],
                    image["width"],
                    image["height"],
                    name + ".jpg",
                    masks,
                ),
                f,
            )
        images.append(
            {
                "id": image["id"],
                "width": image["width"],
                "height": image["height"],
                "file_name": name + ".jpg",
            }
        )
        annotations.extend(
            dict(mask, image_id=image["id"], category_id=1) for mask in masks
        )
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "mask"}],
    }


def write_replicated(data, folder, files, masks_per_file):
    """FILES files of MASKS real masks each, with unique ids.

    Returns:
        the number of masks written
    """
    os.makedirs(folder, exist_ok=True)
    by_size = collections.defaultdict(list)
    for image, anns in rle_annotations(data):
        by_size[(image["height"], image["width"])].extend(anns)
    # sizes with enough masks to fill a file without repeating one
    sizes = sorted(
        (s for s, anns in by_size.items() if len(anns) >= masks_per_file),
        key=lambda s: -len(by_size[s]),
    ) or [max(by_size, key=lambda s: len(by_size[s]))]
    cursor = collections.Counter()
    next_id = 1
    ids = set()
    for k in range(files):
        height, width = sizes[k % len(sizes)]
        pool = by_size[(height, width)]
        masks = []
        for _ in range(masks_per_file):
            ann = pool[cursor[(height, width)] % len(pool)]
            cursor[(height, width)] += 1
            masks.append(
                {
                    "id": next_id,
                    "segmentation": ann["segmentation"],
                    "bbox": ann["bbox"],
                    "area": ann["area"],
                    "predicted_iou": 0.9,
                    "stability_score": 0.95,
                }
            )
            ids.add(next_id)
            next_id += 1
        name = "sa_%08d" % (k + 1)
        with open(os.path.join(folder, name + ".json"), "w") as f:
            json.dump(
                sa1b_record(k + 1, width, height, name + ".jpg", masks), f
            )
    assert len(ids) == next_id - 1 == files * masks_per_file
    return len(ids)


def main():
    if sys.argv[1:2] == ["--per-image"]:
        # one file per image of a COCO file, its masks as they are
        folder = sys.argv[2]
        with open(
            require_data(sys.argv[3] if len(sys.argv) > 3 else TACO)
        ) as f:
            data = write_per_image(json.load(f), folder)
        print(
            "wrote %d files, %d masks to %s"
            % (len(data["images"]), len(data["annotations"]), folder)
        )
        return
    folder, files, masks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    source = require_data(sys.argv[4] if len(sys.argv) > 4 else TACO)
    with open(source) as f:
        data = json.load(f)
    written = write_replicated(data, folder, files, masks)
    print(
        "wrote %d files, %d masks (unique ids) to %s"
        % (files, written, folder)
    )


if __name__ == "__main__":
    main()
