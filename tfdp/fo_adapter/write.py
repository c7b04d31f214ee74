"""Writing a run's values: every label value and the sample score of a
sample in one update, by the label's position in its list.

FiftyOne's public setters write one value per label and per field
(``set_values`` on ``field.detections.attr`` issues one update per label, and
matches labels by id, which merged datasets repeat). A run writes four
values per label and one per sample, so it issues one update per sample
instead, through the dataset's sample collection.
"""

import datetime

import fiftyone.core.fields as fof
import numpy as np
from bson import ObjectId
from pymongo import UpdateOne

from tfdp import jsonio
from tfdp.errors import TFDPError

#: Samples per bulk write
BATCH_SIZE = 1000

#: The type of each label attribute of a run
LABEL_FIELD_TYPES = {
    "perimeter": fof.FloatField,
    "area": fof.FloatField,
    "pixels": fof.IntField,
    "score": fof.FloatField,
}


def field_types(label_paths, sample_field):
    """The FiftyOne field type of each path a run writes.

    Args:
        label_paths: the label attribute paths (perimeter, area, pixels,
            score)
        sample_field: the sample score field, or None

    Returns:
        a dict mapping paths to field classes
    """
    types = {
        path: LABEL_FIELD_TYPES[path.rsplit("_", 1)[-1]]
        for path in label_paths
    }
    if sample_field is not None:
        types[sample_field] = fof.FloatField
    return types


def declare_fields(dataset, types):
    """Declares the fields a run writes (the caller holds the dataset lock,
    so that no concurrent declaration is lost).

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset`
        types: a dict mapping paths to field classes
    """
    for path, ftype in types.items():
        if not dataset.has_field(path):
            dataset.add_sample_field(path, ftype)


def write_values(
    dataset, measured, label_columns, sample_field, sample_scores
):
    """Writes label values and sample scores, one update per sample.

    Args:
        dataset: the :class:`fiftyone.core.dataset.Dataset` of the samples
        measured: a :class:`tfdp.fo_adapter.labels.MeasuredLabels`
        label_columns: a dict mapping label attribute paths to per-label
            values aligned with ``measured.table``
        sample_field: the sample score field, or None
        sample_scores: per-sample scores aligned with
            ``measured.sample_ids``, or None

    Raises:
        TFDPError: if a sample's labels changed since they were read
    """
    table = measured.table
    list_path = None
    attrs = []
    columns = []
    for path, values in label_columns.items():
        list_path, attr = path.rsplit(".", 1)
        attrs.append(attr)
        columns.append(np.asarray(values).tolist())
    num_samples = len(measured.sample_ids)
    bounds = np.searchsorted(table.image_index, np.arange(num_samples + 1))
    positions = measured.positions.tolist()
    sample_scores = (
        np.asarray(sample_scores).tolist()
        if sample_scores is not None
        else None
    )
    collection = dataset._sample_collection
    now = datetime.datetime.utcnow()

    changed = 0
    with jsonio.gc_paused():  # one update document per sample
        for start in range(0, num_samples, BATCH_SIZE):
            ops = []
            for index in range(start, min(start + BATCH_SIZE, num_samples)):
                update = {}
                query = {"_id": ObjectId(measured.sample_ids[index])}
                first, last = bounds[index], bounds[index + 1]
                if last > first and list_path is not None:
                    # positions are only valid for the list that was read
                    query[list_path] = {
                        "$size": int(measured.list_sizes[index])
                    }
                    for i in range(first, last):
                        prefix = "%s.%d." % (list_path, positions[i])
                        for attr, column in zip(attrs, columns):
                            update[prefix + attr] = column[i]
                if sample_scores is not None:
                    update[sample_field] = sample_scores[index]
                if update:
                    update["last_modified_at"] = now
                    ops.append(UpdateOne(query, {"$set": update}))
            if ops:
                result = collection.bulk_write(ops, ordered=False)
                changed += len(ops) - result.matched_count

    dataset.reload()  # in-memory samples see the new values
    if changed:
        raise TFDPError(
            "the labels of %d samples of dataset %r changed while they were "
            "scored; run again" % (changed, dataset.name)
        )
