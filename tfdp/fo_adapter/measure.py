"""Reading the labels of a collection and measuring their shapes.

A label is identified by its sample and its position in the sample's label
list, never by its id: merged and cloned datasets repeat label ids.
Positions are those of the dataset's documents, also when a view filters
the labels, so that values are written back where they were read.
"""

import collections
import math

import cv2
import numpy as np

import fiftyone.core.view as fov

from tfdp import coco, geometry, scoring
from tfdp.errors import InvalidDataError, Problem, TFDPError
from tfdp.fo_adapter.fields import collection_name, label_list_path

#: Samples read per batch: one batch of masks is in memory at a time
BATCH_SIZE = 1000

NOT_FILLED = "polyline not filled"

SKIP_HINT = "pass skip_invalid=True to skip them and record them in the run"


class MeasuredLabels(object):
    """Shapes of the labels of a collection.

    Attributes:
        sample_ids: the collection's sample ids, in collection order
        table: a :class:`tfdp.scoring.ShapeTable` of the eligible labels
            (``instance_ids`` are label ids, ``category`` label strings)
        positions: per eligible label, its position in its sample's label
            list in the database
        list_sizes: per sample, the length of its label list in the
            database (0 when it has none)
        ineligible: a Counter of reasons why labels were not scored
        invalid: the skipped :class:`tfdp.errors.Problem` records
    """

    def __init__(
        self, sample_ids, table, positions, list_sizes, ineligible, invalid
    ):
        self.sample_ids = sample_ids
        self.table = table
        self.positions = np.asarray(positions, dtype=np.int64)
        self.list_sizes = np.asarray(list_sizes, dtype=np.int64)
        self.ineligible = ineligible
        self.invalid = invalid


def label_table(ids, image_index, category, perimeter, area, pixels):
    """A :class:`tfdp.scoring.ShapeTable` of labels: class totals are per
    label string."""
    return scoring.ShapeTable(
        ids,
        image_index,
        np.asarray(category, dtype=str),
        perimeter,
        area,
        pixels,
    )


def measure_labels(samples, label_field, skip_invalid=False, progress=None):
    """Measures every eligible label of a collection, in batches.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: a ``Detections`` field whose labels have masks, or a
            ``Polylines`` field of filled polylines
        skip_invalid (False): skip malformed labels rather than raise
        progress (None): a callable ``progress(done, total)``

    Returns:
        a :class:`MeasuredLabels`

    Raises:
        ValueError: if the field cannot be scored
        TFDPError: if samples have no image size
        InvalidDataError: if labels are malformed and ``skip_invalid`` is
            False
    """
    path = label_list_path(samples, label_field)
    is_polylines = path.endswith(".polylines")
    check_metadata(samples)

    attrs = ["label", "iscrowd", "ignore"]
    attrs += ["points", "filled"] if is_polylines else [
        "bounding_box", "mask", "mask_path"
    ]
    fields = ["metadata.width", "metadata.height"]
    fields += ["%s.%s" % (path, a) for a in attrs]

    problems = []
    ineligible = collections.Counter()
    ids, image_index, category, perimeter, area, pixels = [], [], [], [], [], []
    positions = []
    list_sizes = []

    sample_ids = samples.values("id")
    total = len(sample_ids)
    for start, label_ids, db_positions, sizes, columns in read_batches(
        samples, path, sample_ids, fields
    ):
        if progress is not None:
            progress(start, total)
        list_sizes.extend(sizes)
        for offset, row in enumerate(zip(label_ids, db_positions, *columns)):
            sample_labels, sample_positions, width, height = row[:4]
            if not sample_labels:
                continue
            sample_id = sample_ids[start + offset]
            for label_id, position, *values in zip(
                sample_labels, sample_positions, *row[4:]
            ):
                record = dict(zip(attrs, values))
                try:
                    reason = _ineligible_reason(
                        record, width, height, is_polylines
                    )
                    if reason is not None:
                        ineligible[reason] += 1
                        continue
                    shape = _measure_label(record, width, height, is_polylines)
                except geometry.GeometryError as e:
                    problems.append(
                        Problem(
                            "label",
                            label_id,
                            sample_id,
                            "position %d of %s: %s" % (position, path, e),
                        )
                    )
                    continue
                ids.append(label_id)
                image_index.append(start + offset)
                positions.append(position)
                category.append(
                    "" if record["label"] is None else str(record["label"])
                )
                perimeter.append(shape.perimeter)
                area.append(shape.area)
                pixels.append(shape.pixels)

    if progress is not None:
        progress(total, total)

    if problems and not skip_invalid:
        raise InvalidDataError(
            "%s field %r" % (collection_name(samples), label_field),
            problems,
            hint=SKIP_HINT,
        )

    table = label_table(ids, image_index, category, perimeter, area, pixels)
    return MeasuredLabels(
        sample_ids, table, positions, list_sizes, ineligible, problems
    )


def read_batches(samples, path, sample_ids, fields):
    """Reads fields of a collection in batches of samples.

    Yields:
        tuples ``(start, label_ids, positions, list_sizes, columns)``: the
        index of the batch's first sample; per sample, the ids of its labels
        in the collection and their positions in the database's list, and
        the length of that list; and the values of ``fields``
    """
    dataset = samples._root_dataset
    filtered = isinstance(samples, fov.DatasetView) and path in (
        samples._get_filtered_fields() or ()
    )
    for start in range(0, len(sample_ids), BATCH_SIZE):
        batch_ids = sample_ids[start : start + BATCH_SIZE]
        batch = samples.select(batch_ids, ordered=True)
        label_ids, *columns = batch.values([path + ".id"] + fields)
        if filtered:
            stored_ids = dataset.select(batch_ids, ordered=True).values(
                path + ".id"
            )
            positions = [
                _match_positions(view_ids, db_ids)
                for view_ids, db_ids in zip(label_ids, stored_ids)
            ]
            sizes = [len(ids or ()) for ids in stored_ids]
        else:
            positions = [range(len(ids or ())) for ids in label_ids]
            sizes = [len(ids or ()) for ids in label_ids]
        yield start, label_ids, positions, sizes, columns


def _match_positions(view_ids, db_ids):
    # A filter keeps labels in order: match each to the next equal id
    positions = []
    db_ids = db_ids or []
    cursor = 0
    for label_id in view_ids or []:
        while db_ids[cursor] != label_id:
            cursor += 1
        positions.append(cursor)
        cursor += 1
    return positions


def check_metadata(samples):
    """Computes missing image sizes, and checks that every sample has one.

    Raises:
        TFDPError: if image sizes are missing and cannot be computed
    """
    missing = samples.exists("metadata.width", False)
    if len(missing):
        missing.compute_metadata()
    missing = samples.exists("metadata.width", False)
    if len(missing):
        raise TFDPError(
            "%s: %d samples have no image size and it cannot be computed, "
            "e.g. %s"
            % (collection_name(samples), len(missing), missing.first().filepath)
        )


def _flag(record, name):
    # iscrowd and ignore: 0, 1 or booleans as in COCO files (TFDP.md
    # section 1); a label without the attribute reads as None, which is 0
    value = record[name]
    if value is None or value is False or value is True:
        return bool(value)
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise geometry.GeometryError(
        "%s %r is not 0, 1, true or false" % (name, value)
    )


def _ineligible_reason(record, width, height, is_polylines):
    if _flag(record, "iscrowd"):
        return coco.CROWD
    if _flag(record, "ignore"):
        return coco.IGNORE

    if is_polylines:
        points = record["points"]
        if not points or not any(len(part) for part in points):
            return coco.EMPTY_SEGMENTATION
        if not record["filled"]:
            return NOT_FILLED
        box = _points_box(points, width, height)
    else:
        if record["mask"] is None and not record["mask_path"]:
            return coco.EMPTY_SEGMENTATION
        box = _relative_box(record["bounding_box"], width, height)

    if box is None:
        return coco.NO_BBOX
    x, y, w, h = box
    isfinite = math.isfinite
    if not (isfinite(x) and isfinite(y) and isfinite(w) and isfinite(h)):
        return coco.BBOX_NOT_FINITE
    if w < 1 or h < 1:
        return coco.BBOX_UNDER_ONE_PIXEL
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        return coco.BBOX_OUTSIDE_IMAGE
    return None


def _relative_box(box, width, height):
    if box is None:
        return None
    if (
        not isinstance(box, (list, tuple))
        or len(box) != 4
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for v in box
        )
    ):
        raise geometry.GeometryError(
            "bounding_box %r is not 4 numbers [x, y, w, h]" % (box,)
        )
    x, y, w, h = box
    return [x * width, y * height, w * width, h * height]


def _points_box(points, width, height):
    try:
        coords = np.concatenate(
            [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in points
             if len(p)]
        )
    except (TypeError, ValueError):
        raise geometry.GeometryError(
            "polyline points are not [x, y] pairs"
        ) from None
    if not np.isfinite(coords).all():
        raise geometry.GeometryError("polyline has non-finite points")
    x0, y0 = coords.min(axis=0) * (width, height)
    x1, y1 = coords.max(axis=0) * (width, height)
    return [x0, y0, x1 - x0, y1 - y0]


def absolute_parts(points, width, height):
    """Polyline parts in pixels, as flat COCO coordinate lists.

    Relative coordinates are scaled by the image size and rounded to 1e-6,
    so that coordinates that were integers in the source (321.0 stored as
    0.50156...) truncate to the same pixel as the source does.

    Args:
        points: a list of parts, each a list of relative ``[x, y]``
        width: the image width
        height: the image height

    Returns:
        a list of flat ``[x1, y1, x2, y2, ...]`` lists
    """
    parts = []
    for part in points:
        coords = np.asarray(part, dtype=np.float64).reshape(-1, 2)
        parts.append(np.round(coords * (width, height), 6).ravel().tolist())
    return parts


def _measure_label(record, width, height, is_polylines):
    if is_polylines:
        try:
            parts = absolute_parts(record["points"], width, height)
        except (TypeError, ValueError):
            raise geometry.GeometryError(
                "polyline points are not [x, y] pairs"
            ) from None
        return geometry.polygon_shape(
            geometry.polygon_parts(parts), width, height
        )

    mask = record["mask"]
    if mask is None:
        mask = cv2.imread(record["mask_path"], cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise geometry.GeometryError(
                "cannot read mask_path %s" % record["mask_path"]
            )
    return geometry.bitmap_shape(_binary_mask(mask))


def _binary_mask(mask):
    # A mask marks the instance where it is non-zero (True, 1, 255, 0.5...);
    # a float mask must be finite: NaN is not "non-zero"
    mask = np.asarray(mask)
    if mask.dtype.kind == "f" and mask.size and not np.isfinite(mask).all():
        raise geometry.GeometryError("mask has non-finite values")
    if mask.dtype.kind not in "biuf":
        raise geometry.GeometryError(
            "mask has dtype %s, expected booleans or numbers" % mask.dtype
        )
    return mask


def stored_table(samples, label_field, label_paths):
    """The shapes that a run stored on the labels of a collection.

    Args:
        samples: the run's :class:`fiftyone.core.collections.SampleCollection`
        label_field: the scored field
        label_paths: the run's label attribute paths (perimeter, area,
            pixels, score)

    Returns:
        a :class:`MeasuredLabels` (without ineligible and invalid records)
    """
    path = label_list_path(samples, label_field)
    perimeter_path, area_path, pixels_path, _ = label_paths
    fields = [path + ".label", perimeter_path, area_path, pixels_path]
    sample_ids = samples.values("id")

    ids, image_index, category, perimeter, area, pixels = [], [], [], [], [], []
    positions, list_sizes = [], []
    for start, label_ids, db_positions, sizes, columns in read_batches(
        samples, path, sample_ids, fields
    ):
        list_sizes.extend(sizes)
        for offset, row in enumerate(zip(label_ids, db_positions, *columns)):
            if not row[0]:
                continue
            for label_id, position, label, p, a, n in zip(*row):
                if p is None:
                    continue  # not scored
                ids.append(label_id)
                image_index.append(start + offset)
                positions.append(position)
                category.append("" if label is None else str(label))
                perimeter.append(p)
                area.append(a)
                pixels.append(n)
    table = label_table(ids, image_index, category, perimeter, area, pixels)
    return MeasuredLabels(
        sample_ids, table, positions, list_sizes, collections.Counter(), []
    )


def progress_bar(label):
    """A callable ``progress(done, total)`` drawing FiftyOne's progress bar."""
    import fiftyone.core.utils as fou

    bar = {}

    def update(done, total):
        if "bar" not in bar:
            bar["bar"] = fou.ProgressBar(total=total, start_msg=label + " ")
            bar["bar"].start()
        bar["bar"].set_iteration(done)
        if done >= total:
            bar["bar"].close()

    return update
