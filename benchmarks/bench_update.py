"""``compute_scores(update=True)`` after 10 % more samples, against a full
run on the same grown collection.

Builds, in a database of its own (``.fiftyone/bench-update-db``), the real
COCO sample's masks (``Detection.mask``) replicated COPIES times with new
sample and label ids, scores it, adds a tenth as many copies (10 % more
samples, at least one copy), and times the update; then times a full run
on an identical dataset of the grown size, and checks that both wrote the
same values and records. Also prints where each run's time goes: reading
stored shapes, measuring, writing.

Usage: python benchmarks/bench_update.py [COPIES]
"""

import collections
import os
import sys
import time

from common import DATA, ROOT, require_data

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from database import private_database  # noqa: E402

SAMPLE = require_data(DATA + "/coco2017-sample/instances.json")
IMAGES = DATA + "/coco2017-sample/images"
FIELD = "segmentations"
RECORD = ("num_samples", "num_instances", "ineligible", "invalid", "fields")


def rows_of_sample():
    import tfdp

    base = tfdp.load_coco_dataset(
        SAMPLE,
        data_path=IMAGES,
        use_polylines=False,
        name="bench-base",
        overwrite=True,
    )
    rows = []
    for sample in base.select_fields(FIELD):
        labels = sample[FIELD]
        dets = []
        for det in labels.detections if labels is not None else []:
            d = det.to_dict()
            d.pop("_id")  # a new label id per copy
            dets.append(d)
        rows.append(
            (
                sample.filepath,
                sample.metadata.width,
                sample.metadata.height,
                dets,
            )
        )
    base.delete()
    return rows


def add_copies(dataset, rows, copies):
    import fiftyone as fo

    for _ in range(copies):
        dataset.add_samples(
            [
                fo.Sample(
                    filepath=path,
                    metadata=fo.ImageMetadata(width=w, height=h),
                    **{
                        FIELD: fo.Detections(
                            detections=[
                                fo.Detection.from_dict(d) for d in dets
                            ]
                        )
                    },
                )
                for path, w, h, dets in rows
            ],
            progress=False,
        )


def timed_parts():
    # wraps the run's steps to say where its time goes
    from tfdp.fo_adapter import runs, write

    spent = collections.Counter()

    def wrap(owner, name, label):
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - start

        setattr(owner, name, timed)

    wrap(runs, "measure_labels", "measure")
    wrap(runs, "stored_table", "read stored")
    wrap(write, "write_values", "write")
    return spent


def main(copies):
    import fiftyone as fo

    import tfdp
    from tfdp.fo_adapter.records import run_config

    for name in fo.list_datasets():
        if name.startswith("bench-"):
            fo.delete_dataset(name)
    rows = rows_of_sample()
    grown = fo.Dataset("bench-grown")
    add_copies(grown, rows, copies)
    tfdp.compute_scores(grown, FIELD, progress=False)
    added = max(1, copies // 10)
    add_copies(grown, rows, added)
    full = fo.Dataset("bench-full")
    add_copies(full, rows, copies + added)
    print("%d samples, then %d" % (copies * len(rows), len(grown)))

    spent = timed_parts()
    start = time.perf_counter()
    tfdp.compute_scores(grown, FIELD, update=True, progress=False)
    update = time.perf_counter() - start
    update_parts = dict(spent)
    spent.clear()
    start = time.perf_counter()
    tfdp.compute_scores(full, FIELD, progress=False)
    whole = time.perf_counter() - start

    assert values(grown, FIELD) == values(full, FIELD), "values differ"
    for name in RECORD:
        assert getattr(run_config(grown, "tfdp"), name) == getattr(
            run_config(full, "tfdp"), name
        ), name
    print("full run %.2f s: %s" % (whole, _parts(spent)))
    print("update   %.2f s: %s" % (update, _parts(update_parts)))
    print("update / full = %.2f" % (update / whole))
    grown.delete()
    full.delete()


def values(dataset, field):
    path = field + ".detections.tfdp_"
    return dataset.values(
        [path + n for n in ("perimeter", "area", "pixels", "score")]
        + ["tfdp_score"]
    )


def _parts(spent):
    return ", ".join("%s %.2f s" % item for item in sorted(spent.items()))


if __name__ == "__main__":
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with private_database(
        os.path.join(ROOT, ".fiftyone", "bench-update-db")
    ) as uri:
        os.environ["FIFTYONE_DATABASE_URI"] = uri
        os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
        os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
        main(copies)
