"""The labels of a collection: reading them and measuring their shapes.

A label is identified by its sample and its position in the sample's label
list, never by its id: merged and cloned datasets repeat label ids.
Positions are those of the dataset's documents, also when a view filters
the labels, so that values are written back where they were read.

- :func:`measure_labels`: every eligible label's shape, in this process or
  on Dask workers, as a :class:`MeasuredLabels`
- :func:`stored_table`: the shapes a run stored on the labels
- :func:`label_instance`: what the eligibility rules look at in a label
- :func:`absolute_parts`: polyline points in pixels
"""

import collections
import contextlib
import itertools

import cv2
import fiftyone.core.view as fov
import numpy as np

from tfdp import geometry, jsonio, scoring
from tfdp.eligibility import NO_BBOX, Instance, ineligible_reason
from tfdp.errors import InvalidDataError, Problem, TFDPError
from tfdp.fo_adapter import coco_documents
from tfdp.fo_adapter.fields import collection_name, label_list_path
from tfdp.runner import RESULTS_PER_REQUEST

#: Samples read per batch: one batch of masks is in memory at a time
BATCH_SIZE = 1000

#: Samples per task on Dask workers
SHARD_SIZE = 1000

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


def measure_labels(
    samples,
    label_field,
    skip_invalid=False,
    num_workers=1,
    scheduler=None,
    progress=None,
):
    """Measures every eligible label of a collection, in batches.

    With one worker, the labels are measured in this process. With more, or
    with a scheduler, shards of :data:`SHARD_SIZE` samples are measured on
    Dask workers (see :mod:`tfdp.engine.cluster`): each reads its shard from
    the same database and returns columns, which are joined in sample
    order, so the result is the same whatever the workers.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: a ``Detections`` field whose labels have masks, or a
            ``Polylines`` field of filled polylines
        skip_invalid (False): skip malformed labels rather than raise
        num_workers (1): the number of worker processes of a local Dask
            cluster started for the run; 1 measures in this process
        scheduler (None): the address of a running Dask scheduler whose
            workers measure instead
        progress (None): a callable ``progress(done, total)`` counting
            samples

    Returns:
        a :class:`MeasuredLabels`

    Raises:
        ValueError: if the field cannot be scored
        TFDPError: if samples have no image size, or the workers cannot
            reach the dataset
        InvalidDataError: if labels are malformed and ``skip_invalid`` is
            False
    """
    path = label_list_path(samples, label_field)
    engine = None
    if num_workers > 1 or scheduler is not None:
        # the cluster first: one that cannot start or be reached fails the
        # run before anything is read or written
        from tfdp.engine import make_engine

        engine = make_engine(
            "cluster", workers=num_workers, scheduler=scheduler
        )
    with engine or contextlib.nullcontext():
        check_metadata(samples)
        sample_ids = samples.values("id")
        if engine is None:
            shards = [measure_shard(samples, path, sample_ids, 0, progress)]
        else:
            shards = _measure_on_cluster(
                engine, samples, path, sample_ids, progress
            )

    problems = [p for shard in shards for p in shard["problems"]]
    if problems and not skip_invalid:
        raise InvalidDataError(
            "%s field %r" % (collection_name(samples), label_field),
            problems,
            hint=SKIP_HINT,
        )

    def joined(name, dtype):
        return np.concatenate(
            [np.asarray([], dtype=dtype)] + [s[name] for s in shards]
        )

    table = label_table(
        joined("ids", str).tolist(),
        joined("image_index", np.int64),
        joined("category", str),
        joined("perimeter", np.float64),
        joined("area", np.float64),
        joined("pixels", np.int64),
    )
    return MeasuredLabels(
        sample_ids,
        table,
        joined("positions", np.int64),
        joined("list_sizes", np.int64),
        sum((s["ineligible"] for s in shards), collections.Counter()),
        problems,
    )


def measure_shard(samples, path, sample_ids, start, progress=None):
    """Measures the labels of some samples of a collection.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        path: the label list path, e.g. ``"ground_truth.detections"``
        sample_ids: the ids of the samples to measure, in collection order
        start: the index of the first of them in the collection
        progress (None): a callable ``progress(done, total)`` counting
            samples of the shard

    Returns:
        a dict of numpy columns, one value per eligible label (``ids``,
        ``image_index``, ``category``, ``perimeter``, ``area``, ``pixels``,
        ``positions``) or per sample (``list_sizes``), plus ``ineligible``
        (a Counter of reasons) and ``problems`` (a list of
        :class:`tfdp.errors.Problem`)
    """
    is_polylines = path.endswith(".polylines")
    attrs = ["label", "iscrowd", "ignore"]
    attrs += (
        ["points", "filled"]
        if is_polylines
        else ["bounding_box", "mask", "mask_path"]
    )
    fields = ["metadata.width", "metadata.height"]
    fields += ["%s.%s" % (path, a) for a in attrs]

    problems = []
    ineligible = collections.Counter()
    ids, image_index, category, perimeter, area, pixels = (
        [],
        [],
        [],
        [],
        [],
        [],
    )
    positions = []
    list_sizes = []

    total = len(sample_ids)
    # the decoded batches are many small lists: see jsonio.gc_paused
    with jsonio.gc_paused():
        for first, label_ids, db_positions, sizes, columns in read_batches(
            samples, path, sample_ids, fields
        ):
            if progress is not None:
                progress(first, total)
            list_sizes.extend(sizes)
            # every label of the batch: (sample index in the shard, label id,
            # position, record), and its image's (width, height)
            labels, image_sizes = [], []
            for index, row in enumerate(
                zip(label_ids, db_positions, *columns), first
            ):
                sample_labels, sample_positions, width, height = row[:4]
                if not sample_labels:
                    continue
                for label_id, position, *values in zip(
                    sample_labels, sample_positions, *row[4:]
                ):
                    labels.append(
                        (index, label_id, position, dict(zip(attrs, values)))
                    )
                    image_sizes.append((width, height))
            measured = (
                _measure_polylines(labels, image_sizes)
                if is_polylines
                else None
            )
            if measured is None:
                measured = _measure_each(labels, image_sizes, is_polylines)
            for (index, label_id, position, record), result in zip(
                labels, measured
            ):
                if isinstance(result, str):
                    ineligible[result] += 1
                    continue
                if isinstance(result, geometry.GeometryError):
                    if str(result) == geometry.OUT_OF_MEMORY:
                        # not malformed: skipping it would change the result
                        raise TFDPError(
                            "out of memory measuring label %s of sample %s"
                            % (label_id, sample_ids[index])
                        )
                    problems.append(
                        Problem(
                            "label",
                            label_id,
                            sample_ids[index],
                            "position %d of %s: %s" % (position, path, result),
                        )
                    )
                    continue
                ids.append(label_id)
                image_index.append(start + index)
                positions.append(position)
                category.append(
                    "" if record["label"] is None else str(record["label"])
                )
                perimeter.append(result.perimeter)
                area.append(result.area)
                pixels.append(result.pixels)

    if progress is not None:
        progress(total, total)
    return dict(
        ids=np.asarray(ids, dtype=str),
        image_index=np.asarray(image_index, dtype=np.int64),
        category=np.asarray(category, dtype=str),
        perimeter=np.asarray(perimeter, dtype=np.float64),
        area=np.asarray(area, dtype=np.float64),
        pixels=np.asarray(pixels, dtype=np.int64),
        positions=np.asarray(positions, dtype=np.int64),
        list_sizes=np.asarray(list_sizes, dtype=np.int64),
        ineligible=ineligible,
        problems=problems,
    )


def _measure_on_cluster(engine, samples, path, sample_ids, progress):
    import fiftyone as fo

    dataset = samples._root_dataset
    stages = (
        samples._serialize() if isinstance(samples, fov.DatasetView) else None
    )
    source = (
        database_uri(),
        fo.config.database_validation,
        dataset.name,
        str(dataset._doc.id),
        stages,
    )
    starts = range(0, len(sample_ids), SHARD_SIZE)
    tasks = ((source, path, sample_ids[s : s + SHARD_SIZE], s) for s in starts)
    weights = [min(SHARD_SIZE, len(sample_ids) - s) for s in starts]
    handles = engine.map(
        measure_task, tasks, weights=weights, progress=progress
    )
    # every shard's result is kept: fetching several per request costs no
    # memory and saves round trips
    return list(engine.results(handles, batch=RESULTS_PER_REQUEST))


def database_uri():
    """The URI of the database this process is connected to."""
    import fiftyone as fo
    import fiftyone.core.odm.database as fod

    if fo.config.database_uri:
        return fo.config.database_uri
    return "mongodb://%s:%d" % fod.get_db_client().address


def measure_task(task):
    """Measures one shard on a Dask worker.

    Args:
        task: a tuple ``((database_uri, database_validation, dataset_name,
            dataset_id, stages), path, sample_ids, start)``; ``stages`` are
            the view's serialized stages, or None for the whole dataset

    Returns:
        the shard's columns, as :func:`measure_shard` returns them

    Raises:
        TFDPError: if the worker cannot find the dataset in that database
    """
    source, path, sample_ids, start = task
    samples = _open_collection(*source)
    return measure_shard(samples, path, sample_ids, start)


def _open_collection(uri, validation, name, dataset_id, stages):
    import fiftyone as fo
    import fiftyone.core.odm.database as fod

    # the caller's database, checked as the caller checks it
    fo.config.database_validation = validation
    if fo.config.database_uri != uri:
        # a worker may outlive a run, and serve a run on another database
        fod._disconnect()
        fo.config.database_uri = uri
    try:
        dataset = fo.load_dataset(name)
    except ValueError:
        dataset = None
    if dataset is None or str(dataset._doc.id) != dataset_id:
        raise TFDPError(
            "a Dask worker connected to the database at %s cannot find the "
            "dataset %r being scored: the workers must reach the database "
            "of the process that starts the run" % (uri, name)
        )
    dataset.reload()  # a field may have been added since the worker saw it
    if stages is None:
        return dataset
    return fov.DatasetView._build(dataset, stages)


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
        try:
            label_ids, *columns = _values(batch, [path + ".id"] + fields)
        except Exception as e:  # a stored value FiftyOne cannot decode
            _raise_unreadable(samples, path, batch_ids, fields, e)
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


def _values(collection, paths):
    # A polyline's points are stored as FiftyOne reads them, but values()
    # converts them one float at a time: most of the reading. Within the
    # FiftyOne releases whose documents tfdp writes, they are read as stored
    if not coco_documents.supported():
        return collection.values(paths)
    raw = [p for p in paths if p.endswith(".points")]
    if not raw:
        return collection.values(paths)
    read = dict(zip(raw, collection.values(raw, _raw=True)))
    others = [p for p in paths if p not in read]
    read.update(zip(others, collection.values(others)))
    return [read[p] for p in paths]


def _raise_unreadable(samples, path, sample_ids, fields, error):
    # names the first sample, in collection order, whose values cannot be
    # read: the same one whatever the batches or the workers
    for sample_id in sample_ids:
        try:
            samples.select(sample_id).values([path + ".id"] + fields)
        except Exception as e:
            raise TFDPError(
                "%s: the labels %s of sample %s cannot be read: %s: %s"
                % (
                    collection_name(samples),
                    path,
                    sample_id,
                    type(e).__name__,
                    e,
                )
            ) from None
    raise error


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
            % (
                collection_name(samples),
                len(missing),
                missing.first().filepath,
            )
        )


def _flag(record, name):
    # iscrowd and ignore: 0, 1 or booleans as in COCO files (docs/method.md
    # section 1); a label without the attribute reads as None, which is 0
    value = record[name]
    if value is None or value is False or value is True:
        return bool(value)
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise geometry.GeometryError(
        "%s %r is not 0, 1, true or false" % (name, value)
    )


def label_instance(record, width, height, is_polylines):
    """What the eligibility rules look at in a label, but its box.

    Args:
        record: the label's ``iscrowd``, ``ignore`` and ``points`` and
            ``filled`` (polylines) or ``mask`` and ``mask_path``
            (detections), by name
        width: its image's width
        height: its image's height
        is_polylines: whether the label is a polyline

    Returns:
        a :class:`tfdp.eligibility.Instance` whose ``bbox`` is None (see
        :func:`label_box`)

    Raises:
        tfdp.geometry.GeometryError: if ``iscrowd`` or ``ignore`` is not 0,
            1, true, false or None
    """
    if is_polylines:
        points = record["points"]
        empty = not points or not any(len(part) for part in points)
        filled = bool(record["filled"])
    else:
        empty = record["mask"] is None and not record["mask_path"]
        filled = True
    return Instance(
        _flag(record, "iscrowd"),
        _flag(record, "ignore"),
        empty,
        None,
        width,
        height,
        filled,
    )


def label_box(record, width, height, is_polylines):
    """A label's box in pixels, ``[x, y, w, h]``, or None when it has none.

    Args:
        record: the label's ``bounding_box`` (detections) or ``points``
            (polylines), by name
        width: its image's width
        height: its image's height
        is_polylines: whether the label is a polyline

    Returns:
        a list of 4 floats, or None

    Raises:
        tfdp.geometry.GeometryError: if the box or the points are malformed
    """
    if is_polylines:
        return _points_box(record["points"], width, height)
    return _relative_box(record["bounding_box"], width, height)


def _label_reason(record, width, height, is_polylines):
    instance = label_instance(record, width, height, is_polylines)
    reason = ineligible_reason(instance)
    if reason != NO_BBOX:
        return reason
    # the rules test the box last: a label that they exclude for another
    # reason is not refused for a malformed box, which is read only now
    box = label_box(record, width, height, is_polylines)
    return ineligible_reason(instance._replace(bbox=box))


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
    # floats, whose infinities subtract to NaN quietly (numpy's warn)
    return [
        float(x * width),
        float(y * height),
        float(w * width),
        float(h * height),
    ]


def _points_box(points, width, height):
    try:
        coords = np.concatenate(
            [
                np.asarray(p, dtype=np.float64).reshape(-1, 2)
                for p in points
                if len(p)
            ]
        )
    except (TypeError, ValueError):
        raise geometry.GeometryError(
            "polyline points are not [x, y] pairs"
        ) from None
    if not np.isfinite(coords).all():
        raise geometry.GeometryError("polyline has non-finite points")
    x0, y0 = coords.min(axis=0) * (width, height)
    x1, y1 = coords.max(axis=0) * (width, height)
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


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


def _measure_each(labels, image_sizes, is_polylines):
    # per label: its ineligibility reason, its Shape or the GeometryError
    # that says why it cannot be measured
    results = []
    for (_, _, _, record), (width, height) in zip(labels, image_sizes):
        try:
            reason = _label_reason(record, width, height, is_polylines)
            results.append(
                reason
                if reason is not None
                else _measure_label(record, width, height, is_polylines)
            )
        except geometry.GeometryError as e:
            results.append(e)
        except MemoryError:
            results.append(geometry.GeometryError(geometry.OUT_OF_MEMORY))
    return results


def _measure_polylines(labels, image_sizes):
    """What :func:`_measure_each` returns for polylines, computed over the
    flat arrays of the batch's points: the same boxes, rules, pixel
    coordinates and OpenCV calls, without numpy's work per label.

    Returns None when any label's points are not lists of ``[x, y]``
    numbers, all finite and within range once in pixels:
    :func:`_measure_each` then names the label.
    """
    results = []
    candidates = []  # (index in labels, instance) of those with points
    for i, ((_, _, _, record), (width, height)) in enumerate(
        zip(labels, image_sizes)
    ):
        try:
            instance = label_instance(record, width, height, True)
        except geometry.GeometryError as e:
            results.append(e)
            continue
        reason = ineligible_reason(instance)
        results.append(reason)
        if reason == NO_BBOX:
            candidates.append((i, instance))
    if not candidates:
        return results

    arrays = _relative_point_arrays(
        [labels[i][3]["points"] for i, _ in candidates]
    )
    if arrays is None:
        return None
    coords, part_count, part_length = arrays
    points_per_label = np.add.reduceat(
        part_length // 2, np.cumsum(part_count) - part_count
    )
    if not np.isfinite(coords).all() or not (points_per_label > 0).all():
        return None
    scale = np.array([image_sizes[i] for i, _ in candidates], dtype=np.float64)
    first_point = np.cumsum(points_per_label) - points_per_label
    points = coords.reshape(-1, 2)
    # as _points_box: the relative bounds, then scaled
    low = np.minimum.reduceat(points, first_point) * scale
    high = np.maximum.reduceat(points, first_point) * scale
    eligible = np.zeros(len(candidates), dtype=bool)
    for k, ((i, instance), (x0, y0), (x1, y1)) in enumerate(
        zip(candidates, low.tolist(), high.tolist())
    ):
        box = [x0, y0, x1 - x0, y1 - y0]
        results[i] = ineligible_reason(instance._replace(bbox=box))
        eligible[k] = results[i] is None
    if not eligible.any():
        return results

    # as absolute_parts and polygon_parts: scaled, rounded to 1e-6 and
    # truncated toward zero
    pixels = np.round(points * np.repeat(scale, points_per_label, axis=0), 6)[
        np.repeat(eligible, points_per_label)
    ]
    if not geometry.coords_in_range(pixels):
        return None
    measured = [i for (i, _), keep in zip(candidates, eligible) if keep]
    shapes = geometry.polygon_array_shapes(
        pixels.astype(np.int32).ravel(),
        part_count[eligible],
        part_length[np.repeat(eligible, part_count)],
        [image_sizes[i][0] for i in measured],
        [image_sizes[i][1] for i in measured],
    )
    for i, shape in zip(measured, shapes):
        results[i] = shape
    return results


def _relative_point_arrays(points_list):
    # (coords, part_count, part_length) of polylines' points, as
    # geometry.polygon_arrays gives them for COCO polygons; None unless
    # every label's points are lists of lists of [x, y] numbers
    if not _LIST_TYPE.issuperset(map(type, points_list)):
        return None
    parts = list(itertools.chain.from_iterable(points_list))
    if not _LIST_TYPE.issuperset(map(type, parts)):
        return None
    pairs = list(itertools.chain.from_iterable(parts))
    if not _LIST_TYPE.issuperset(map(type, pairs)) or any(
        len(pair) != 2 for pair in pairs
    ):
        return None
    if not jsonio.NUMBER_TYPES.issuperset(
        map(type, itertools.chain.from_iterable(pairs))
    ):
        return None
    try:
        coords = np.fromiter(
            itertools.chain.from_iterable(pairs), np.float64, 2 * len(pairs)
        )
    except OverflowError:
        return None
    part_count = np.fromiter(map(len, points_list), np.int64, len(points_list))
    part_length = 2 * np.fromiter(map(len, parts), np.int64, len(parts))
    return coords, part_count, part_length


_LIST_TYPE = frozenset((list,))


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

    ids, image_index, category, perimeter, area, pixels = (
        [],
        [],
        [],
        [],
        [],
        [],
    )
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


def merge_measured(stored, new):
    """Joins a run's stored shapes and newly measured labels of the same
    collection, in collection order.

    Args:
        stored: the :class:`MeasuredLabels` of :func:`stored_table`, over
            every sample of the collection
        new: the :class:`MeasuredLabels` of :func:`measure_labels` over
            some of its samples, with their other labels filtered out

    Returns:
        a :class:`MeasuredLabels` over the samples of ``stored``, with the
        ineligible and invalid records of ``new``: what measuring every
        label of the collection returns
    """
    index = {sample_id: i for i, sample_id in enumerate(stored.sample_ids)}
    new_images = np.asarray(
        [index[new.sample_ids[i]] for i in new.table.image_index],
        dtype=np.int64,
    )
    image_index = np.concatenate([stored.table.image_index, new_images])
    positions = np.concatenate([stored.positions, new.positions])
    # sample order, then label position, as a full measurement reads them:
    # image scores are then summed in the same order, to the same floats
    order = np.lexsort((positions, image_index))

    def joined(name, dtype):
        return np.concatenate(
            [
                np.asarray(getattr(stored.table, name), dtype=dtype),
                np.asarray(getattr(new.table, name), dtype=dtype),
            ]
        )[order]

    table = label_table(
        joined("instance_ids", str).tolist(),
        image_index[order],
        joined("category", str),
        joined("perimeter", np.float64),
        joined("area", np.float64),
        joined("pixels", np.int64),
    )
    return MeasuredLabels(
        stored.sample_ids,
        table,
        positions[order],
        stored.list_sizes,
        new.ineligible,
        new.invalid,
    )
