"""The whole FiftyOne workflow at COCO train2017 size: load, score, prune,
export.

Builds two COCO files by replicating the real COCO sample
(../shared/data/coco2017-sample, 128 images, 939 annotations) with unique
image ids, annotation ids and file names (benchmarks/make_coco_scale.py
asserts all three): a tenth of COCO train2017 (92 copies: 11,776 images,
86,388 instances) and its full size (915 copies: 117,120 images, 859,185
instances). The JPEG files need not exist: ``tfdp.load_coco_dataset`` and
FiftyOne's importer (given a manifest of paths as ``data_path``) read the
image sizes from the JSON and never open an image.

At each size, in a private database, each in its own process:

- the workflow, one process: ``tfdp.load_coco_dataset`` (polylines),
  ``tfdp.compute_scores``, ``tfdp.prune_samples(keep_ratio=0.7)``,
  ``tfdp.export_kept``; each step's time and the peak resident memory of
  the process and of mongod during it;
- FiftyOne's importer, ``fo.Dataset.from_dir`` (``COCODetectionDataset``,
  ``label_types="segmentations"``, ``use_polylines=True``, with COCO ids),
  at the small size only: at the full size, its time is the small size's
  rate (images per second) times the number of images, an extrapolation,
  marked as such;
- ``tfdp prune FILE -o OUT --keep-ratio 0.7`` on the same file, as the
  command runs by default;
- at the small size, ``compute_scores`` again in a fresh dataset with the
  cyclic garbage collector left running, to show what
  ``tfdp.jsonio.gc_paused`` buys.

The small size's workflow and command run once more after the full size:
this machine's speed drifts over minutes, and the growth from the small
size to the full one is given against both small runs.

Masks (``Detection.mask``, rasterised from polygons and RLE) cost far more
to load than polylines, in either loader: they are compared on a smaller
file, ``--mask-copies`` copies (1,280 images by default), each loader in
its own process.

Usage: python benchmarks/bench_fiftyone_workflow.py [--sizes 92,915]
[--mask-copies 10]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import make_coco_scale
from common import ROOT, load, python, run_process, tfdp

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from database import STATE_FILE, private_database  # noqa: E402

IMAGES_PER_COPY, INSTANCES_PER_COPY = 128, 939
TIME_GOAL = 300  # seconds, the whole workflow at COCO train2017 size

# one process: each step timed, with the peak memory of this process and
# of mongod while it runs (sampled every 50 ms)
WORKFLOW = r"""
import json, os, sys, threading, time
import psutil
import fiftyone as fo
import tfdp

path, out, mongod_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
me, mongod = psutil.Process(), psutil.Process(mongod_pid)
peaks = {}

def sample():
    while True:
        for key, process in (("rss", me), ("mongod", mongod)):
            peaks[key] = max(peaks.get(key, 0), process.memory_info().rss)
        time.sleep(0.05)

threading.Thread(target=sample, daemon=True).start()

def step(name, fn):
    peaks.clear()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    time.sleep(0.06)  # one more sample
    print("STEP " + json.dumps({
        "step": name, "seconds": seconds, "rss": peaks["rss"] / 2**20,
        "mongod": peaks["mongod"] / 2**20}), flush=True)
    return result

dataset = step("load", lambda: tfdp.load_coco_dataset(
    path, name="tfdp-bench-workflow", overwrite=True, progress=False))
try:
    step("compute_scores", lambda: tfdp.compute_scores(
        dataset, "segmentations", progress=False))
    step("prune_samples", lambda: tfdp.prune_samples(
        dataset, keep_ratio=0.7))
    report = step("export_kept", lambda: tfdp.export_kept(
        dataset, out, overwrite=True))
    assert report["num_samples"] == round(0.7 * len(dataset)), report
finally:
    dataset.delete()
"""

# compute_scores with the cyclic garbage collector left running, to show
# what tfdp.jsonio.gc_paused buys
GC_RUNNING = r"""
import contextlib, sys, time
import tfdp
from tfdp import jsonio

dataset = tfdp.load_coco_dataset(
    sys.argv[1], name="tfdp-bench-gc", overwrite=True, progress=False)
try:
    jsonio.gc_paused = contextlib.nullcontext
    start = time.perf_counter()
    tfdp.compute_scores(dataset, "segmentations", progress=False)
    print("SECONDS %f" % (time.perf_counter() - start))
finally:
    dataset.delete()
"""

MASK_LOAD = r"""
import sys, time
import fiftyone as fo
import tfdp

start = time.perf_counter()
dataset = tfdp.load_coco_dataset(
    sys.argv[1], name="tfdp-bench-masks", overwrite=True, progress=False,
    use_polylines=False)
print("SECONDS %f" % (time.perf_counter() - start))
assert dataset.count("segmentations.detections.mask") == int(sys.argv[2])
dataset.delete()
"""

IMPORTER = r"""
import json, sys, time
import fiftyone as fo

path, use_polylines = sys.argv[1], sys.argv[2] == "polylines"
with open(path) as f:
    images = json.load(f)["images"]
folder = "/nonexistent-images"  # a manifest: no image is opened
start = time.perf_counter()
dataset = fo.Dataset.from_dir(
    dataset_type=fo.types.COCODetectionDataset,
    labels_path=path,
    data_path={im["file_name"]: folder + "/" + im["file_name"]
               for im in images},
    label_types="segmentations",
    use_polylines=use_polylines,
    include_id=True,
    include_annotation_id=True,
    progress=False,
)
print("SECONDS %f" % (time.perf_counter() - start))
dataset.delete()
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes",
        default="92,915",
        help="copies of the COCO sample, comma-separated",
    )
    parser.add_argument(
        "--mask-copies",
        type=int,
        default=10,
        help="copies of the COCO sample for the masks' loads",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]

    folder = os.path.join(ROOT, ".fiftyone", "bench-workflow-db")
    with private_database(folder) as uri:
        with open(os.path.join(folder, STATE_FILE)) as f:
            mongod_pid = json.load(f)["pid"]
        env = dict(
            os.environ,
            FIFTYONE_DATABASE_URI=uri,
            FIFTYONE_DATABASE_DIR=folder,
            FIFTYONE_DO_NOT_TRACK="true",
            FIFTYONE_DATABASE_VALIDATION="false",
        )
        rows = [
            bench(copies, env, mongod_pid, importer=(i == 0))
            for i, copies in enumerate(sizes)
        ]
        again = None
        if len(sizes) > 1:
            print("the smallest size again:", flush=True)
            again = bench(sizes[0], env, mongod_pid, importer=False)
        masks = bench_masks(args.mask_copies, env)
    report(rows, again)
    report_masks(masks)


def bench_masks(copies, env):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "coco-x%d.json" % copies)
        images, instances = make_coco_scale.make(
            path, copies, unique_file_names=True
        )
        with open(path) as f:
            # FiftyOne makes a Detection with a mask of each annotation
            # with a box and a non-empty segmentation, crowds included
            masks = sum(
                1
                for ann in json.load(f)["annotations"]
                if ann.get("bbox") and ann.get("segmentation")
            )
        row = dict(images=images, masks=masks)
        print("masks: tfdp.load_coco_dataset ...", flush=True)
        row["tfdp"] = _timed_script(MASK_LOAD, path, env, str(masks))
        print("  %.1f s" % row["tfdp"], flush=True)
        print("masks: FiftyOne's importer ...", flush=True)
        row["importer"] = _timed_script(IMPORTER, path, env, "masks")
        print("  %.1f s" % row["importer"], flush=True)
    return row


def bench(copies, env, mongod_pid, importer):
    row = {"copies": copies}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "coco-x%d.json" % copies)
        print("building %d copies of the COCO sample ..." % copies, flush=True)
        images, instances = make_coco_scale.make(
            path, copies, unique_file_names=True
        )
        assert (images, instances) == (
            copies * IMAGES_PER_COPY,
            copies * INSTANCES_PER_COPY,
        )
        row.update(images=images, instances=instances)

        print("FiftyOne workflow ...", flush=True)
        out = subprocess.run(
            python(
                "-c",
                WORKFLOW,
                path,
                os.path.join(tmp, "kept.json"),
                str(mongod_pid),
            ),
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        row["steps"] = [
            json.loads(line[5:])
            for line in out.splitlines()
            if line.startswith("STEP ")
        ]
        for step in row["steps"]:
            print(
                "  {step}: {seconds:.1f} s, peak RSS {rss:.0f} MiB, "
                "mongod {mongod:.0f} MiB".format(**step),
                flush=True,
            )

        if importer:
            for key, what, script in (
                (
                    "gc_running",
                    "compute_scores, the collector running",
                    GC_RUNNING,
                ),
                ("importer", "FiftyOne's importer", IMPORTER),
            ):
                print("%s ..." % what, flush=True)
                row[key] = _timed_script(script, path, env, "polylines")
                print("  %.1f s" % row[key], flush=True)

        print("tfdp prune ...", flush=True)
        seconds, mb = run_process(
            tfdp(
                "prune",
                path,
                "-o",
                os.path.join(tmp, "pruned.json"),
                "--keep-ratio",
                "0.7",
            ),
            env=env,
            quiet=True,
        )
        row["cli"] = (seconds, mb)
        print("  %.1f s, peak RSS %.0f MiB" % row["cli"], flush=True)
    return row


def _timed_script(script, path, env, *args):
    # the seconds a script prints as "SECONDS <s>" about its own timed part
    out = subprocess.run(
        python("-c", script, path, *args),
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return float(out.split("SECONDS")[1])


def report(rows, again=None):
    rate = None
    print()
    print(load())
    print()
    print(
        "| images | instances | step | time (s) | peak RSS (MiB) | "
        "mongod peak RSS (MiB) |"
    )
    print("|---:|---:|---|---:|---:|---:|")
    for row in rows:
        total = sum(s["seconds"] for s in row["steps"])
        for s in row["steps"] + [
            {
                "step": "**workflow**",
                "seconds": total,
                "rss": max(s["rss"] for s in row["steps"]),
                "mongod": max(s["mongod"] for s in row["steps"]),
            }
        ]:
            print(
                "| {:,} | {:,} | {} | {:.1f} | {:.0f} | {:.0f} |".format(
                    row["images"],
                    row["instances"],
                    s["step"],
                    s["seconds"],
                    s["rss"],
                    s["mongod"],
                )
            )
        if "importer" in row:
            rate = row["importer"] / row["images"]
            importer = "{:.1f}".format(row["importer"])
        else:
            importer = "{:.1f} (extrapolated)".format(rate * row["images"])
        print(
            "| {:,} | {:,} | FiftyOne's importer alone | {} | | |".format(
                row["images"], row["instances"], importer
            )
        )
        print(
            "| {:,} | {:,} | `tfdp prune` (the command) | {:.1f} | {:.0f} "
            "| |".format(row["images"], row["instances"], *row["cli"])
        )
    print()
    for row in rows:
        load_s = row["steps"][0]["seconds"]
        importer = row.get("importer", rate * row["images"])
        print(
            "- {:,} images: load {:.1f}x faster than FiftyOne's importer"
            "{}".format(
                row["images"],
                importer / load_s,
                "" if "importer" in row else " (extrapolated)",
            )
        )
    for row in rows:
        if "gc_running" in row:
            print(
                "- {:,} images: compute_scores {:.1f} s with the garbage "
                "collector paused (jsonio.gc_paused), {:.1f} s with it "
                "running: {:.2f}x the time".format(
                    row["images"],
                    row["steps"][1]["seconds"],
                    row["gc_running"],
                    row["steps"][1]["seconds"] / row["gc_running"],
                )
            )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        t1 = sum(s["seconds"] for s in small["steps"])
        t2 = sum(s["seconds"] for s in large["steps"])
        print(
            "- {:,} images again, after the full size: workflow {:.1f} s "
            "({}), `tfdp prune` {:.1f} s".format(
                again["images"],
                sum(s["seconds"] for s in again["steps"]),
                ", ".join(
                    "{} {:.1f}".format(s["step"], s["seconds"])
                    for s in again["steps"]
                ),
                again["cli"][0],
            )
        )
        t1_again = sum(s["seconds"] for s in again["steps"])
        print(
            "- workflow from {:,} to {:,} images: time x{:.2f} against the "
            "first small run, x{:.2f} against the second (images "
            "x{:.2f})".format(
                small["images"],
                large["images"],
                t2 / t1,
                t2 / t1_again,
                large["images"] / small["images"],
            )
        )
        print(
            "- each step, against the second small run: {}".format(
                ", ".join(
                    "{} x{:.2f}".format(a["step"], b["seconds"] / a["seconds"])
                    for a, b in zip(again["steps"], large["steps"])
                )
            )
        )
        print(
            "- goal: the workflow at COCO train2017 size within {} s: "
            "{:.0f} s".format(TIME_GOAL, t2)
        )


def report_masks(row):
    print()
    print(
        "Masks (Detection.mask), {:,} images, {:,} masks:".format(
            row["images"], row["masks"]
        )
    )
    print()
    print("| loader | time (s) |")
    print("|---|---:|")
    print(
        "| tfdp.load_coco_dataset(use_polylines=False) | %.1f |" % row["tfdp"]
    )
    print("| FiftyOne's importer | %.1f |" % row["importer"])
    print()
    print(
        "- masks: load {:.1f}x faster than FiftyOne's importer (goal: "
        "8x)".format(row["importer"] / row["tfdp"])
    )


if __name__ == "__main__":
    sys.exit(main())
