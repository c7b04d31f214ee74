"""FiftyOne at 100k instances: ``tfdp.compute_scores`` against the floor of
reading every mask and writing one float per label.

Builds a dataset of the real COCO sample replicated 106 times (13,568
samples, 99,534 instance masks as ``Detection.mask``) in the project's own
database folder, then runs, each in its own process:

- floor: read the masks in batches of 1,000 samples and write one float per
  label (``set_label_values``);
- tfdp: ``tfdp.compute_scores(dataset, "segmentations")``: read labels in
  batches, measure every mask, score CB-SCS, write perimeter, area, pixels
  and score per label and the image score per sample, record the run;

and then times the TFDP panel's preview of one keep ratio on that run.

Usage: python benchmarks/bench_fiftyone.py
"""

import os
import subprocess
import sys

from common import DATA, ROOT, python, require_data, run_process

NAME = "tfdp-bench-100k"
COPIES = 106
FIELD = "segmentations"

BUILD = """
import fiftyone as fo, tfdp
base = tfdp.load_coco_dataset(%r, data_path=%r, use_polylines=False,
                              name=%r + "-base", overwrite=True)
big = fo.Dataset(%r, overwrite=True)
big.persistent = True
for _ in range(%d):
    big.add_collection(base, new_ids=True)
base.delete()
print(len(big), "samples,", big.count(%r + ".detections"), "instances")
"""

FLOOR = """
import fiftyone as fo
dataset = fo.load_dataset(%r)
path = %r + ".detections"
ids = dataset.values("id")
values = {}
for start in range(0, len(ids), 1000):
    batch = dataset.select(ids[start:start + 1000], ordered=True)
    for label_ids, masks in zip(*batch.values([path + ".id", path + ".mask"])):
        for label_id, mask in zip(label_ids or [], masks or []):
            values[label_id] = float(mask.shape[0])
dataset.set_label_values(path + ".floor", values, dynamic=True)
"""

OURS = """
import fiftyone as fo, tfdp
dataset = fo.load_dataset(%r)
tfdp.compute_scores(dataset, %r, run_key="bench")
"""

PREVIEW = """
import time
import fiftyone as fo
from tfdp.fo_adapter.preview import preview_pruning
dataset = fo.load_dataset(%r)
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
fo.delete_dataset(%r)
"""


def main():
    sample = require_data(DATA + "/coco2017-sample/instances.json")
    env = dict(
        os.environ,
        FIFTYONE_DATABASE_DIR=os.path.join(ROOT, ".fiftyone", "bench-db"),
        FIFTYONE_DO_NOT_TRACK="true",
    )
    print("building %d copies of the COCO sample ..." % COPIES, flush=True)
    run_process(
        python("-c", BUILD % (sample, os.path.dirname(sample) + "/images",
                              NAME, NAME, COPIES, FIELD)),
        env=env,
    )
    try:
        # warm the database's cache the same way for both
        run_process(python("-c", FLOOR % (NAME, FIELD)), env=env)
        print("floor: read masks + write one float per label ...",
              flush=True)
        floor_s, floor_mb = run_process(
            python("-c", FLOOR % (NAME, FIELD)), env=env
        )
        print("tfdp.compute_scores ...", flush=True)
        ours_s, ours_mb = run_process(
            python("-c", OURS % (NAME, FIELD)), env=env
        )
        print("panel preview (keep ratios 0.5 to 0.9) ...", flush=True)
        preview = subprocess.run(
            python("-c", PREVIEW % NAME), env=env, capture_output=True,
            text=True, check=True,
        ).stdout
    finally:
        run_process(python("-c", CLEANUP % NAME), env=env)

    print()
    print("FiftyOne: %d samples, 99,534 instance masks" % (128 * COPIES))
    print()
    print("| process | time (s) | peak memory (MiB) |")
    print("|---|---:|---:|")
    print("| floor: read masks + write 1 float/label | %.1f | %.0f |"
          % (floor_s, floor_mb))
    print("| tfdp.compute_scores | %.1f | %.0f |" % (ours_s, ours_mb))
    print()
    print("time: %.2fx the floor (goal: within 1.5x)" % (ours_s / floor_s))
    print("memory: %.2fx the floor" % (ours_mb / floor_mb))
    print()
    print("TFDP panel preview, one keep ratio (mean / max of 5):")
    for line in preview.splitlines():
        if line.startswith("PREVIEW "):
            _, method, mean, worst = line.split()
            label = ("run's method, database aggregations" if method == "run"
                     else "second method (%s), from stored shapes" % method)
            print("- %s: %s s / %s s" % (label, mean, worst))


if __name__ == "__main__":
    sys.exit(main())
