"""A TFDP run in a process of its own, for the crash and concurrency tests.

Usage: python fiftyone_child.py DATASET RUN_KEY KILL_POINT

Runs ``apply_tfdp(FIELD, keep_ratio=0.7, run_key=RUN_KEY)`` on the dataset
and, unless KILL_POINT is ``none``, kills itself with SIGKILL at that point:

- ``measuring``: after the first batch of labels is read
- ``declaring``: after the first two fields of the run are declared
- ``writing``: after the first bulk write of values
- ``deleting``: after the previous run's tag and view and one field are gone
- ``tagging``: after half of the kept samples are tagged
- ``saving``: after the kept samples are tagged, before the view is saved
"""

import os
import signal
import sys

import fiftyone as fo
import pymongo.collection

from tfdp.fo_adapter import labels, runs, views, write

FIELD = "segmentations"


def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point):
    if point == "measuring":
        labels.BATCH_SIZE = 16
        return lambda bar: die() if bar.iteration >= 16 else None

    if point == "declaring":
        declare = write.declare_fields

        def declare_two(dataset, types):
            declare(dataset, dict(list(types.items())[:2]))
            die()

        write.declare_fields = declare_two

    if point == "writing":
        write.BATCH_SIZE = 16
        bulk_write = pymongo.collection.Collection.bulk_write

        def bulk_write_once(self, *args, **kwargs):
            result = bulk_write(self, *args, **kwargs)
            if args and len(args[0]) and "$set" in str(args[0][0]):
                die()
            return result

        pymongo.collection.Collection.bulk_write = bulk_write_once

    if point == "deleting":

        def delete_some(dataset, config, keep=()):
            views.remove_kept(dataset, config)
            dataset.delete_sample_field(config.fields[0])
            die()

        runs._delete_outputs = delete_some

    if point == "tagging":

        def tag_half(dataset, sample_ids, tag):
            dataset.select(sample_ids[: len(sample_ids) // 2]).tag_samples(tag)
            die()

        views.tag_kept = tag_half

    if point == "saving":

        def kill_before_saving(*args, **kwargs):
            die()

        views.save_kept_view = kill_before_saving

    return None


def main(name, run_key, point):
    dataset = fo.load_dataset(name)
    progress = arm(point)
    kept = dataset.apply_tfdp(
        FIELD, keep_ratio=0.7, run_key=run_key, progress=progress
    )
    print(len(kept))


if __name__ == "__main__":
    main(*sys.argv[1:])
