"""COCO train2017 scale: ``tfdp prune`` against the floor of loading and
writing the same JSON.

Builds a file of 117,120 images and 859,185 annotations by replicating the
real COCO sample with new ids (benchmarks/make_coco_scale.py), then runs, each
in its own process:

- floor: ``json.load`` the file and ``json.dump`` it whole, as tfdp writes
  JSON;
- tfdp: ``tfdp prune FILE -o OUT --keep-ratio 0.7`` (load, validate, measure
  every instance, score CB-SCS, rank, write the pruned file).

Usage: python benchmarks/bench_coco_scale.py [--keep-file PATH]
"""

import argparse
import os
import tempfile

from common import HERE, python, run_process

FLOOR = (
    "import json, sys\n"
    "with open(sys.argv[1], 'rb') as f: data = json.load(f)\n"
    "with open(sys.argv[2], 'w', encoding='utf-8') as f:\n"
    "    json.dump(data, f, ensure_ascii=False, separators=(',', ':'))\n"
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--keep-file", help="write the big file here and keep it"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        big = args.keep_file or os.path.join(tmp, "train2017-sized.json")
        if not os.path.exists(big):
            print("building %s ..." % big, flush=True)
            run_process(python(os.path.join(HERE, "make_coco_scale.py"), big))
        size_mb = os.path.getsize(big) / 2**20

        print("floor: load + write the JSON ...", flush=True)
        floor_s, floor_mb = run_process(
            python("-c", FLOOR, big, os.path.join(tmp, "floor.json"))
        )
        print("tfdp prune --keep-ratio 0.7 ...", flush=True)
        ours_s, ours_mb = run_process(
            python("-m", "tfdp", "prune", big, "-o",
                   os.path.join(tmp, "pruned.json"), "--keep-ratio", "0.7"),
            quiet=True,
        )

    print()
    print("COCO train2017 size: 117,120 images, 859,185 annotations, "
          "%.0f MiB of JSON" % size_mb)
    print()
    print("| process | time (s) | peak memory (MiB) |")
    print("|---|---:|---:|")
    print("| floor: load + write JSON | %.1f | %.0f |" % (floor_s, floor_mb))
    print("| tfdp prune | %.1f | %.0f |" % (ours_s, ours_mb))
    print()
    print("time: %.2fx the floor (goal: within 2x)" % (ours_s / floor_s))
    print("memory: %.2fx the floor (goal: within 1.5x)" % (ours_mb / floor_mb))


if __name__ == "__main__":
    main()
