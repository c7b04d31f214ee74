"""Writes a COCO train2017-sized file by replicating the real COCO sample.

The 128 images and 939 annotations of ../shared/data/coco2017-sample are
copied with new image and annotation ids until the file has about 117k
images and 860k annotations, as COCO train2017 has.

Usage: python benchmarks/make_coco_scale.py OUTPUT.json [COPIES]
"""

import json
import sys

from common import DATA, require_data

SOURCE = require_data(DATA + "/coco2017-sample/instances.json")


def make(path, copies=915):
    with open(SOURCE) as f:
        data = json.load(f)
    images, annotations = [], []
    next_image, next_ann = 1, 1
    for _ in range(copies):
        new_ids = {}
        for image in data["images"]:
            new_ids[image["id"]] = next_image
            images.append(dict(image, id=next_image))
            next_image += 1
        for ann in data["annotations"]:
            annotations.append(
                dict(ann, id=next_ann, image_id=new_ids[ann["image_id"]])
            )
            next_ann += 1
    out = dict(data, images=images, annotations=annotations)
    with open(path, "w") as f:
        json.dump(out, f)
    return len(images), len(annotations)


if __name__ == "__main__":
    n_images, n_anns = make(
        sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 915
    )
    print("wrote %s: %d images, %d annotations" % (sys.argv[1], n_images,
                                                   n_anns))
