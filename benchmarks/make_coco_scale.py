"""Writes a COCO train2017-sized file by replicating the real COCO sample.

The 128 images and 939 annotations of ../shared/data/coco2017-sample are
copied with new, unique image and annotation ids until the file has about
117k images and 860k annotations, as COCO train2017 has. Every annotation
keeps its real mask (polygons, or RLE for the crowd regions).

Usage: python benchmarks/make_coco_scale.py OUTPUT.json [COPIES]
"""

import json
import sys

from common import DATA, require_data

SOURCE = require_data(DATA + "/coco2017-sample/instances.json")


def make(path, copies=915, unique_file_names=False):
    """Writes the file; returns its numbers of images and annotations.

    With ``unique_file_names``, each copy's images get file names of their
    own (``c0001-000000000009.jpg``), as FiftyOne needs one sample per file.
    """
    with open(SOURCE) as f:
        data = json.load(f)
    images, annotations = [], []
    next_image, next_ann = 1, 1
    for copy in range(copies):
        new_ids = {}
        for image in data["images"]:
            new_ids[image["id"]] = next_image
            image = dict(image, id=next_image)
            if unique_file_names:
                image["file_name"] = "c%04d-%s" % (copy, image["file_name"])
            images.append(image)
            next_image += 1
        for ann in data["annotations"]:
            annotations.append(
                dict(ann, id=next_ann, image_id=new_ids[ann["image_id"]])
            )
            next_ann += 1

    # what the benchmark relies on: unique ids, and every mask a real one
    assert len({im["id"] for im in images}) == len(images)
    assert len({a["id"] for a in annotations}) == len(annotations)
    if unique_file_names:
        assert len({im["file_name"] for im in images}) == len(images)
    masks = [a["segmentation"] for a in data["annotations"]]
    assert all(masks) and all(
        a["segmentation"] is masks[i % len(masks)]
        for i, a in enumerate(annotations)
    )

    out = dict(data, images=images, annotations=annotations)
    with open(path, "w") as f:
        json.dump(out, f)
    return len(images), len(annotations)


if __name__ == "__main__":
    n_images, n_anns = make(
        sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 915
    )
    print(
        "wrote %s: %d images, %d annotations" % (sys.argv[1], n_images, n_anns)
    )
