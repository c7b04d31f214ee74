"""FiftyOne at 100k and 300k instance masks: ``tfdp.compute_scores``
against the floor of reading every mask and writing one float per label.

Builds a dataset of the real COCO sample's masks (``Detection.mask``)
replicated with new sample AND label ids, as a real dataset has them
(checked: every label id is unique), in the project's own database folder,
first at about 100k labels, then grown to about 300k. At each size, each in
its own process:

- floor: read every mask in batches of 1,000 samples, and write one float
  per label the fastest public way, one nested list per sample
  (``set_values("segmentations.detections.floor", [[...], ...])``);
- tfdp: ``tfdp.compute_scores(dataset, "segmentations")``: read labels in
  batches, measure every mask, score CB-SCS, write perimeter, area, pixels
  and score per label and the image score per sample, record the run;

- tfdp with ``num_workers=2``: the same on a local Dask cluster of two
  worker processes, each reading and measuring its shards of samples
  (checked: the fields written are the same);

and then times the TFDP panel's preview of one keep ratio on the run.

Usage: python benchmarks/bench_fiftyone.py
"""

import os
import subprocess
import sys

from common import DATA, ROOT, python, require_data, run_process

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from database import private_database  # noqa: E402

NAME = "tfdp-bench-fiftyone"
FIELD = "segmentations"
SIZES = (107, 320)  # copies of the 939 masks: 100,473 and 300,480 labels

BUILD = """
import fiftyone as fo, tfdp
base = tfdp.load_coco_dataset(%(sample)r, data_path=%(images)r,
                              use_polylines=False, name=%(name)r + "-base",
                              overwrite=True)
rows = []
for sample in base.select_fields(%(field)r):
    dets = []
    labels = sample[%(field)r]
    for det in labels.detections if labels is not None else []:
        d = det.to_dict()
        d.pop("_id")  # a new label id per copy
        dets.append(d)
    rows.append((sample.filepath, sample.metadata.width,
                 sample.metadata.height, dets))
base.delete()
if fo.dataset_exists(%(name)r):
    big = fo.load_dataset(%(name)r)
else:
    big = fo.Dataset(%(name)r)
    big.persistent = True
copies = len(big) // len(rows)
for _ in range(%(copies)d - copies):
    big.add_samples(
        [
            fo.Sample(
                filepath=path,
                metadata=fo.ImageMetadata(width=w, height=h),
                **{%(field)r: fo.Detections(detections=[
                    fo.Detection.from_dict(d) for d in dets])},
            )
            for path, w, h, dets in rows
        ],
        progress=False,
    )
ids = [i for ids in big.values(%(field)r + ".detections.id") if ids
       for i in ids]
assert len(ids) == len(set(ids)) == 939 * %(copies)d, "label ids repeat"
masks = big.count(%(field)r + ".detections.mask")
assert masks == len(ids), "every label has a real mask"
print(len(big), "samples,", len(ids), "labels with unique ids")
"""

FLOOR = """
import fiftyone as fo
dataset = fo.load_dataset(%(name)r)
path = %(field)r + ".detections"
ids = dataset.values("id")
values = []
for start in range(0, len(ids), 1000):
    batch = dataset.select(ids[start:start + 1000], ordered=True)
    for masks in batch.values(path + ".mask"):
        values.append([float(m.shape[0]) for m in masks or []])
dataset.set_values(path + ".floor", values, dynamic=True)
"""

OURS = """
import fiftyone as fo, tfdp
dataset = fo.load_dataset(%(name)r)
tfdp.compute_scores(dataset, %(field)r, run_key=%(key)r,
                    num_workers=%(workers)d)
"""

SAME = """
import fiftyone as fo
dataset = fo.load_dataset(%(name)r)
path = %(field)r + ".detections."
fields = lambda key: dataset.values(
    [path + key + "_" + n for n in ("perimeter", "area", "pixels", "score")]
    + [key + "_score"])
assert fields("bench") == fields("bench_workers"), "workers differ"
"""

RESET = """
import fiftyone as fo, tfdp
dataset = fo.load_dataset(%(name)r)
for key in ("bench", "bench_workers"):
    if key in dataset.list_runs():
        tfdp.delete_run(dataset, key)
if dataset.has_field(%(field)r + ".detections.floor"):
    dataset.delete_sample_field(%(field)r + ".detections.floor")
"""

PREVIEW = """
import time
import fiftyone as fo
from tfdp.fo_adapter.preview import preview_pruning
dataset = fo.load_dataset(%(name)r)
start = time.perf_counter()
preview_pruning(dataset, "bench", 0.7)
print("PREVIEW first %%.3f %%.3f" %% ((time.perf_counter() - start,) * 2))
for method in (None, "scs"):
    times = []
    for ratio in (0.5, 0.6, 0.7, 0.8, 0.9):
        start = time.perf_counter()
        preview_pruning(dataset, "bench", ratio, method=method)
        times.append(time.perf_counter() - start)
    print("PREVIEW %%s %%.3f %%.3f" %% (method or "run", sum(times) / 5,
                                     max(times)))
"""

CLEANUP = """
import fiftyone as fo
if fo.dataset_exists(%(name)r):
    fo.delete_dataset(%(name)r)
"""


def main():
    folder = os.path.join(ROOT, ".fiftyone", "bench-db")
    with private_database(folder) as uri:
        bench(
            dict(
                os.environ,
                FIFTYONE_DATABASE_URI=uri,
                FIFTYONE_DATABASE_DIR=folder,
                FIFTYONE_DO_NOT_TRACK="true",
                FIFTYONE_DATABASE_VALIDATION="false",
            )
        )


def bench(env):
    sample = require_data(DATA + "/coco2017-sample/instances.json")
    args = dict(
        sample=sample,
        images=os.path.dirname(sample) + "/images",
        name=NAME,
        field=FIELD,
    )

    def step(code, **extra):
        return run_process(python("-c", code % dict(args, **extra)), env=env)

    rows = []
    step(CLEANUP)
    try:
        for copies in SIZES:
            print(
                "building %d copies of the COCO sample's masks ..." % copies,
                flush=True,
            )
            step(BUILD, copies=copies)
            step(FLOOR)  # warm the database's cache the same way for both
            step(RESET)
            print("floor ...", flush=True)
            floor = step(FLOOR)
            print("tfdp.compute_scores ...", flush=True)
            ours = step(OURS, key="bench", workers=1)
            print("tfdp.compute_scores, num_workers=2 ...", flush=True)
            workers = step(OURS, key="bench_workers", workers=2)
            step(SAME)
            rows.append((copies * 939, copies * 128, floor, ours, workers))
            preview = subprocess.run(
                python("-c", PREVIEW % args),
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            step(RESET)
    finally:
        step(CLEANUP)

    print()
    print(
        "| labels | samples | floor (s) | tfdp (s) | time ratio | "
        "floor memory (MiB) | tfdp memory (MiB) | memory ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for labels, samples, (floor_s, floor_mb), (ours_s, ours_mb), _ in rows:
        print(
            "| {:,} | {:,} | {:.1f} | {:.1f} | {:.2f}x | {:.0f} | {:.0f} | "
            "{:.2f}x |".format(
                labels,
                samples,
                floor_s,
                ours_s,
                ours_s / floor_s,
                floor_mb,
                ours_mb,
                ours_mb / floor_mb,
            )
        )
    print()
    (small, _, _, (t1, m1), _), (large, _, _, (t2, m2), _) = rows
    print(
        "tfdp from %s to %s labels: time x%.2f (labels x%.2f), "
        "memory x%.2f"
        % (f"{small:,}", f"{large:,}", t2 / t1, large / small, m2 / m1)
    )
    print("goal: within 1.5x of the floor, time linear, memory flat")
    print()
    print(
        "num_workers=2 (a local Dask cluster, started in the time "
        "shown; same fields, checked):"
    )
    for labels, _, _, (ours_s, _), (workers_s, workers_mb) in rows:
        print(
            "- {:,} labels: {:.1f} s, {:.2f}x the speed of num_workers=1; "
            "peak memory {:.0f} MiB".format(
                labels, workers_s, ours_s / workers_s, workers_mb
            )
        )
    print()
    print(
        "TFDP panel preview at %s labels, one keep ratio (mean / max of "
        "5 ratios):" % f"{large:,}"
    )
    for line in preview.splitlines():
        if line.startswith("PREVIEW "):
            _, method, mean, worst = line.split()
            label = {
                "first": "first preview of the run (reads its stored shapes)",
                "run": "then, the run's method",
            }.get(method, "then, a second method (%s)" % method)
            print("- %s: %s s / %s s" % (label, mean, worst))


if __name__ == "__main__":
    sys.exit(main())
