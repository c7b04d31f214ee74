"""COCO train2017 scale: ``tfdp prune`` against the floor of loading and
writing the same JSON with the standard library.

Builds a file of 117,120 images and 859,185 annotations by replicating the
real COCO sample with new, unique ids (benchmarks/make_coco_scale.py), then
runs, each in its own process:

- floor: ``json.load`` the file and ``json.dump`` it whole, compact, as
  tfdp writes JSON;
- tfdp: ``tfdp prune FILE -o OUT --keep-ratio 0.7 --report R`` (load,
  validate, measure every instance, score CB-SCS, rank, write the pruned
  file), in a single process (``--workers 1``: the goal's row), then as
  the default runs it (a local cluster on all cores; its peak memory is
  that of its largest process), and by default again with the workers'
  glibc allocator left as Dask sets it (it trims the heap after every
  task), to show what ``tfdp.engine.cluster.WORKER_ENVIRON`` buys.

The report must show every real mask measured: 850,035 eligible instances,
9,150 crowd regions, no warning and nothing skipped.

Usage: python benchmarks/bench_coco_scale.py [--keep-file PATH]
"""

import argparse
import json
import os
import tempfile

from common import HERE, load, python, run_process, tfdp

FLOOR = (
    "import json, sys\n"
    "with open(sys.argv[1], 'rb') as f: data = json.load(f)\n"
    "with open(sys.argv[2], 'w', encoding='utf-8') as f:\n"
    "    json.dump(data, f, ensure_ascii=False, separators=(',', ':'))\n"
)

IMAGES, ANNOTATIONS, ELIGIBLE, CROWD = 117_120, 859_185, 850_035, 9_150
TIME_GOAL, MEMORY_GOAL = 0.8, 1.3


# the command, its workers' glibc allocator left as Dask sets it
DASK_ALLOCATOR = """
import sys
from tfdp import cli
from tfdp.engine import cluster
cluster.WORKER_ENVIRON.clear()
sys.argv[0] = "tfdp"
cli.run()
"""


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
        floor_s, floor_mb, floor_cpu = run_process(
            python("-c", FLOOR, big, os.path.join(tmp, "floor.json")),
            cpu=True,
        )
        runs = {}
        report_path = os.path.join(tmp, "report.json")
        arguments = [
            "prune",
            big,
            "-o",
            os.path.join(tmp, "pruned.json"),
            "--keep-ratio",
            "0.7",
            "--report",
            report_path,
            "--overwrite",
        ]
        for label, command in (
            ("--workers 1", tfdp(*arguments, "--workers", "1")),
            ("default", tfdp(*arguments)),
            (
                "default, Dask's allocator setting",
                python("-c", DASK_ALLOCATOR, *arguments),
            ),
        ):
            print("tfdp prune --keep-ratio 0.7 %s ..." % label, flush=True)
            runs[label] = run_process(command, quiet=True, cpu=True)
            with open(report_path) as f:
                report = json.load(f)
            assert report["images"]["before"] == IMAGES, report["images"]
            assert report["instances"]["before"] == ELIGIBLE, report[
                "instances"
            ]
            assert report["ineligible"] == {"crowd": CROWD}, report[
                "ineligible"
            ]
            assert report["warnings"] == [] and report["invalid"] == []
        ours_s, ours_mb, ours_cpu = runs["--workers 1"]

    print()
    print(
        "COCO train2017 size: %d images, %d annotations, %.0f MiB of JSON"
        % (IMAGES, ANNOTATIONS, size_mb)
    )
    print("(%s)" % load())
    print()
    print("| process | time (s) | CPU time (s) | peak memory (MiB) |")
    print("|---|---:|---:|---:|")
    print(
        "| floor: json.load + json.dump | %.1f | %.1f | %.0f |"
        % (floor_s, floor_cpu, floor_mb)
    )
    print(
        "| tfdp prune --keep-ratio 0.7 --workers 1 (one process) | %.1f "
        "| %.1f | %.0f |" % (ours_s, ours_cpu, ours_mb)
    )
    print(
        "| tfdp prune --keep-ratio 0.7 (default: all cores) | %.1f | %.1f "
        "| %.0f |"
        % (runs["default"][0], runs["default"][2], runs["default"][1])
    )
    print(
        "| the same, workers with Dask's allocator setting | %.1f | %.1f "
        "| %.0f |"
        % tuple(
            runs["default, Dask's allocator setting"][i] for i in (0, 2, 1)
        )
    )
    print()
    print(
        "workers' allocator setting (tfdp.engine.cluster.WORKER_ENVIRON): "
        "%.2fx the time with Dask's"
        % (runs["default"][0] / runs["default, Dask's allocator setting"][0])
    )
    time_ratio, memory_ratio = ours_s / floor_s, ours_mb / floor_mb
    print(
        "time: %.2fx the floor (goal: at most %.1fx) %s"
        % (
            time_ratio,
            TIME_GOAL,
            "met" if time_ratio <= TIME_GOAL else "NOT MET",
        )
    )
    print("CPU time: %.2fx the floor's" % (ours_cpu / floor_cpu))
    print(
        "memory: %.2fx the floor (goal: at most %.1fx) %s"
        % (
            memory_ratio,
            MEMORY_GOAL,
            "met" if memory_ratio <= MEMORY_GOAL else "NOT MET",
        )
    )


if __name__ == "__main__":
    main()
