"""TFDP on FiftyOne collections: scores as fields, runs, kept views, export.

This is the only module of :mod:`tfdp` that imports FiftyOne. It reads
labels in batches (masks are never all in memory), measures them with
:mod:`tfdp.geometry`, and writes one float per label and per sample.

Fields written by a run with key ``run_key`` on label field ``field``:

-   ``field.<detections|polylines>.<run_key>_perimeter``, ``..._area``,
    ``..._score`` on each scored label (None on labels that are not scored)
-   ``<run_key>_score`` on each sample of the scored collection (the image
    score: the sum of its labels' scores)
-   the tag ``<run_key>:keep`` (or the one given) on the kept samples, and a
    saved view ``<run_key>-kept`` matching it
"""

import collections
import math
import os

import cv2
import numpy as np

import fiftyone as fo
import fiftyone.core.labels as fol
import fiftyone.core.utils as fou
import fiftyone.core.view as fov

import tfdp
from tfdp import coco, geometry, scoring
from tfdp.errors import InvalidDataError, Problem, TFDPError
from tfdp.report import SIZE_BUCKETS, retention_counts, retention_report

#: Label types that can be scored: the list attribute holding the labels
LABEL_LISTS = {fol.Detections: "detections", fol.Polylines: "polylines"}

#: Key of ``dataset.info`` where :func:`load_coco_dataset` records the source
SOURCE_INFO_KEY = "tfdp_source"

#: what an OutputExistsError says to callers of the Python API
OVERWRITE_HINT = "pass overwrite=True to replace it"

#: Samples read per batch
BATCH_SIZE = 1000

NOT_FILLED = "polyline not filled"
NO_METADATA = "no image size"


def validate_run_key(run_key):
    """Checks that a run key can name runs and fields.

    Raises:
        ValueError: if it is not a valid Python identifier
    """
    if not isinstance(run_key, str) or not run_key.isidentifier():
        raise ValueError(
            "invalid run key %r: use letters, digits and underscores, not "
            "starting with a digit" % (run_key,)
        )
    return run_key


def compatible_label_fields(samples):
    """The label fields of a collection that TFDP can score.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`

    Returns:
        a sorted list of field names holding ``Detections`` or ``Polylines``
    """
    schema = samples.get_field_schema(
        embedded_doc_type=tuple(LABEL_LISTS), flat=False
    )
    return sorted(schema)


def label_list_path(samples, label_field):
    """The path to the labels of a field, e.g. ``ground_truth.detections``.

    Raises:
        ValueError: if the field is missing or of another type
    """
    field = samples.get_field(label_field)
    if field is None:
        raise ValueError(
            "%s has no field %r; compatible fields: %s"
            % (
                _name(samples),
                label_field,
                ", ".join(compatible_label_fields(samples)) or "none",
            )
        )
    doc_type = getattr(field, "document_type", None)
    if doc_type not in LABEL_LISTS:
        raise ValueError(
            "field %r is a %s; TFDP scores Detections with instance masks "
            "or filled Polylines"
            % (
                label_field,
                doc_type.__name__ if doc_type else type(field).__name__,
            )
        )
    return "%s.%s" % (label_field, LABEL_LISTS[doc_type])


def run_fields(samples, run_key, label_field):
    """The fields that a run writes.

    Returns:
        a tuple ``(label_paths, sample_field)``: the label attribute paths
        (perimeter, area, pixels, score) and the sample score field
    """
    path = label_list_path(samples, label_field)
    labels = tuple(
        "%s.%s_%s" % (path, run_key, name)
        for name in ("perimeter", "area", "pixels", "score")
    )
    return labels, "%s_score" % run_key


def kept_view_name(run_key):
    """The name of the saved view of a run's kept samples."""
    return "%s-kept" % run_key.replace("_", "-")


def default_tag(run_key):
    """The default tag of a run's kept samples."""
    return "%s:keep" % run_key


# ---------------------------------------------------------------------------
# Reading and measuring


class MeasuredLabels(object):
    """Shapes of the labels of a collection.

    Attributes:
        sample_ids: the collection's sample ids, in collection order
        table: a :class:`tfdp.scoring.ShapeTable` of the eligible labels
            (``instance_ids`` are label ids, ``category`` label strings)
        ineligible: a Counter of reasons why labels were not scored
        invalid: the skipped :class:`tfdp.errors.Problem` records
    """

    def __init__(self, sample_ids, table, ineligible, invalid):
        self.sample_ids = sample_ids
        self.table = table
        self.ineligible = ineligible
        self.invalid = invalid


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
        InvalidDataError: if labels are malformed and ``skip_invalid`` is
            False
    """
    path = label_list_path(samples, label_field)
    is_polylines = path.endswith(".polylines")
    _ensure_metadata(samples)

    attrs = ["id", "label", "iscrowd", "ignore"]
    if is_polylines:
        attrs += ["points", "filled"]
    else:
        attrs += ["bounding_box", "mask", "mask_path"]
    fields = ["id", "metadata.width", "metadata.height"]
    fields += ["%s.%s" % (path, a) for a in attrs]

    sample_ids = samples.values("id")
    total = len(sample_ids)
    problems = []
    ineligible = collections.Counter()
    ids, image_index, category, perimeter, area, pixels = [], [], [], [], [], []

    for start, columns in _read_batches(samples, sample_ids, fields):
        if progress is not None:
            progress(start, total)
        for offset, row in enumerate(zip(*columns)):
            sample_id, width, height = row[:3]
            labels = row[3:]
            if labels[0] is None:
                continue  # no labels on this sample
            for label in zip(*labels):
                record = dict(zip(attrs, label))
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
                        Problem("label", record["id"], sample_id, str(e))
                    )
                    continue
                ids.append(record["id"])
                image_index.append(start + offset)
                category.append("" if record["label"] is None
                                else str(record["label"]))
                perimeter.append(shape.perimeter)
                area.append(shape.area)
                pixels.append(shape.pixels)

    if progress is not None:
        progress(total, total)

    if problems and not skip_invalid:
        raise InvalidDataError(
            "%s field %r" % (_name(samples), label_field),
            problems,
            hint="pass skip_invalid=True to skip them",
        )

    table = _label_table(ids, image_index, category, perimeter, area, pixels)
    return MeasuredLabels(sample_ids, table, ineligible, problems)


def _label_table(ids, image_index, category, perimeter, area, pixels):
    # class totals are per label string
    return scoring.ShapeTable(
        ids,
        image_index,
        np.asarray(category, dtype=str),
        perimeter,
        area,
        pixels,
    )


def _read_batches(samples, sample_ids, fields):
    # One batch of masks in memory at a time
    for start in range(0, len(sample_ids), BATCH_SIZE):
        batch = samples.select(
            sample_ids[start : start + BATCH_SIZE], ordered=True
        )
        # attributes that no label declares read as None
        yield start, batch.values(fields)


def _ensure_metadata(samples):
    missing = samples.exists("metadata", False)
    if len(missing):
        missing.compute_metadata()
    missing = samples.exists("metadata.width", False)
    if len(missing):
        raise TFDPError(
            "%s: %d samples have no image size and it cannot be computed, "
            "e.g. %s" % (_name(samples), len(missing), missing.first().filepath)
        )


def _ineligible_reason(record, width, height, is_polylines):
    if record["iscrowd"]:
        return coco.CROWD
    if record["ignore"]:
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
        box = record["bounding_box"]
        if box is not None:
            x, y, w, h = box
            box = [x * width, y * height, w * width, h * height]

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
    return geometry.bitmap_shape(mask)


# ---------------------------------------------------------------------------
# Runs


def compute_scores(
    samples,
    label_field,
    method="cb-scs",
    run_key="tfdp",
    skip_invalid=False,
    overwrite=True,
    progress=None,
):
    """Measures and scores the labels of a collection and records a run.

    See :func:`tfdp.compute_scores`.
    """
    scoring.validate_method(method)
    validate_run_key(run_key)
    dataset = samples._root_dataset
    _check_key_is_ours(dataset, run_key, overwrite)
    label_paths, sample_field = run_fields(samples, run_key, label_field)
    _check_fields_are_free(dataset, run_key, label_paths + (sample_field,))

    measured = measure_labels(
        samples,
        label_field,
        skip_invalid=skip_invalid,
        progress=_progress_fn(progress, "measuring"),
    )

    if run_key in dataset.list_runs():
        _delete_run_outputs(dataset, run_key)

    _write_scores(samples, measured, method, label_paths, sample_field)

    config = samples.init_run(
        method=method,
        label_field=label_field,
        fields=list(label_paths) + [sample_field],
        ineligible=dict(measured.ineligible),
        invalid=[_problem_dict(p) for p in measured.invalid],
        num_samples=len(measured.sample_ids),
        num_instances=len(measured.table),
        tfdp_version=tfdp.__version__,
    )
    samples.register_run(run_key, config, overwrite=True, cleanup=False)
    return measured


def _write_scores(samples, measured, method, label_paths, sample_field):
    table = measured.table
    if method == "random":
        label_scores = [None] * len(table)
        sample_scores = [None] * len(measured.sample_ids)
    else:
        instance = table.scores(method)
        label_scores = instance.tolist()
        sample_scores = scoring.image_scores(
            table.image_index, instance, len(measured.sample_ids)
        ).tolist()

    dataset = samples._root_dataset
    for path, values in zip(
        label_paths,
        (
            table.perimeter.tolist(),
            table.area.tolist(),
            table.pixels.tolist(),
            label_scores,
        ),
    ):
        if values and (values[0] is not None or dataset.has_field(path)):
            # dynamic: declare the attribute, so it shows in the App and
            # in the schema, and so that deleting the run finds it
            samples.set_label_values(
                path,
                dict(zip(table.instance_ids, values)),
                dynamic=True,
                validate=False,  # plain floats and ints
            )
    if sample_scores and (
        sample_scores[0] is not None or dataset.has_field(sample_field)
    ):
        samples.set_values(
            sample_field,
            dict(zip(measured.sample_ids, sample_scores)),
            key_field="id",
        )


def prune_samples(
    samples,
    run_key="tfdp",
    keep_ratio=None,
    prune_ratio=None,
    keep=None,
    method=None,
    tag=None,
    seed=0,
):
    """Selects the kept samples of a run from its stored shapes.

    See :func:`tfdp.prune_samples`.
    """
    dataset = samples._root_dataset
    info = _run_info(dataset, run_key)
    config = info.config
    method = scoring.validate_method(method or config.method)
    tag = tag or default_tag(run_key)
    scored = dataset.load_run_view(run_key)
    label_paths, sample_field = run_fields(
        scored, run_key, config.label_field
    )

    sample_ids, table = _stored_table(scored, config.label_field, label_paths)
    num = len(sample_ids)
    count = scoring.keep_count(
        num, keep_ratio=keep_ratio, prune_ratio=prune_ratio, keep=keep
    )

    if method != config.method:
        measured = MeasuredLabels(sample_ids, table, None, None)
        _write_scores(scored, measured, method, label_paths, sample_field)

    order, _ = scoring.rank(table, num, method, seed=seed)
    kept = scoring.select(order, count)
    kept_ids = [i for i, k in zip(sample_ids, kept) if k]

    _untag(dataset, config)
    dataset.select(kept_ids).tag_samples(tag)
    view_name = kept_view_name(run_key)
    dataset.save_view(
        view_name,
        dataset.match_tags(tag).sort_by(sample_field, reverse=True)
        if method != "random"
        else dataset.match_tags(tag),
        description="TFDP run %r: the %d of %d samples kept by %s"
        % (run_key, count, num, method),
        overwrite=True,
    )

    report = retention_report(
        table,
        kept,
        lambda name: (name, name),
        method,
        ineligible=config.ineligible,
        invalid=[Problem(**p) for p in config.invalid],
    )

    config.method = method
    config.tag = tag
    config.saved_view = view_name
    config.keep_ratio = keep_ratio
    config.prune_ratio = prune_ratio
    config.keep = keep
    config.num_kept = count
    config.seed = seed
    dataset.update_run_config(run_key, config)
    results = dataset.init_run_results(run_key, report=report)
    dataset.save_run_results(run_key, results, overwrite=True)

    return dataset.load_saved_view(view_name)


def _stored_table(samples, label_field, label_paths):
    path = label_list_path(samples, label_field)
    perimeter_path, area_path, pixels_path, _ = label_paths
    sample_ids, label_ids, labels, perimeters, areas, pixel_counts = (
        samples.values(
            [
                "id",
                path + ".id",
                path + ".label",
                perimeter_path,
                area_path,
                pixels_path,
            ]
        )
    )
    ids, image_index, category, perimeter, area, pixels = (
        [], [], [], [], [], []
    )
    rows = zip(label_ids, labels, perimeters, areas, pixel_counts)
    for index, row in enumerate(rows):
        if row[0] is None:
            continue
        for label_id, label, p, a, n in zip(*row):
            if p is None:
                continue  # not scored
            ids.append(label_id)
            image_index.append(index)
            category.append("" if label is None else str(label))
            perimeter.append(p)
            area.append(a)
            pixels.append(n)
    table = _label_table(ids, image_index, category, perimeter, area, pixels)
    return sample_ids, table


def load_kept_view(samples, run_key="tfdp"):
    """The saved view of a run's kept samples. See
    :func:`tfdp.load_kept_view`."""
    dataset = samples._root_dataset
    config = _run_info(dataset, run_key).config
    name = getattr(config, "saved_view", None)
    if not name or not dataset.has_saved_view(name):
        raise TFDPError(
            "TFDP run %r of dataset %r has no kept samples yet; prune it "
            "first" % (run_key, dataset.name)
        )
    return dataset.load_saved_view(name)


def get_run_info(samples, run_key="tfdp"):
    """A run's record and retention report. See :func:`tfdp.get_run_info`."""
    dataset = samples._root_dataset
    info = _run_info(dataset, run_key)
    out = {
        "run_key": run_key,
        "timestamp": str(info.timestamp),
        "config": {
            k: v
            for k, v in info.config.serialize().items()
            if k not in ("cls", "type")
        },
    }
    out["config"]["method"] = info.config.method
    try:
        results = dataset.load_run_results(run_key, cache=False)
    except Exception:
        results = None
    out["report"] = getattr(results, "report", None)
    return out


def list_tfdp_runs(samples):
    """The keys of the TFDP runs of a collection's dataset."""
    dataset = samples._root_dataset
    return [k for k in dataset.list_runs() if _is_tfdp_run(dataset, k)]


def delete_run(samples, run_key="tfdp"):
    """Deletes a run and all it created. See :func:`tfdp.delete_run`."""
    dataset = samples._root_dataset
    _run_info(dataset, run_key)
    _delete_run_outputs(dataset, run_key)
    dataset.delete_run(run_key)


def _delete_run_outputs(dataset, run_key):
    config = dataset.get_run_info(run_key).config
    _untag(dataset, config)
    view_name = getattr(config, "saved_view", None)
    if view_name and dataset.has_saved_view(view_name):
        dataset.delete_saved_view(view_name)
    for path in getattr(config, "fields", []):
        if dataset.has_field(path):
            dataset.delete_sample_field(path)


def _untag(dataset, config):
    tag = getattr(config, "tag", None)
    if tag:
        dataset.untag_samples(tag)


def _is_tfdp_run(dataset, run_key):
    try:
        config = dataset.get_run_info(run_key).config
    except Exception:
        return False
    return getattr(config, "tfdp_version", None) is not None


def _run_info(dataset, run_key):
    if run_key not in dataset.list_runs():
        raise TFDPError(
            "dataset %r has no run %r; its TFDP runs: %s"
            % (
                dataset.name,
                run_key,
                ", ".join(list_tfdp_runs(dataset)) or "none",
            )
        )
    if not _is_tfdp_run(dataset, run_key):
        raise TFDPError(
            "run %r of dataset %r is not a TFDP run" % (run_key, dataset.name)
        )
    return dataset.get_run_info(run_key)


def _check_key_is_ours(dataset, run_key, overwrite):
    if run_key not in dataset.list_runs():
        return
    if not _is_tfdp_run(dataset, run_key):
        raise TFDPError(
            "run key %r is taken by another kind of run on dataset %r; "
            "choose another key" % (run_key, dataset.name)
        )
    if not overwrite:
        raise TFDPError(
            "dataset %r already has a TFDP run %r; delete it or allow "
            "overwriting" % (dataset.name, run_key)
        )


def _check_fields_are_free(dataset, run_key, paths):
    ours = set()
    if run_key in dataset.list_runs():
        ours = set(getattr(dataset.get_run_info(run_key).config, "fields", []))
    taken = [p for p in paths if p not in ours and dataset.has_field(p)]
    if taken:
        raise TFDPError(
            "dataset %r already has field(s) %s that no TFDP run %r created; "
            "choose another run key" % (dataset.name, ", ".join(taken), run_key)
        )


def _problem_dict(problem):
    return dict(problem._asdict())


def _name(samples):
    if isinstance(samples, fov.DatasetView):
        return "view of dataset %r" % samples._root_dataset.name
    return "dataset %r" % samples.name


def _fiftyone_progress(progress):
    # FiftyOne's progress: None/True/False, or a callable given the bar
    if progress is None or isinstance(progress, bool):
        return progress
    return lambda bar: progress(bar.iteration, bar.total or bar.iteration)


def _progress_fn(progress, label):
    # progress: None, True/False (a FiftyOne progress bar), or a callable
    # progress(done, total)
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    bar = {}

    def update(done, total):
        if "bar" not in bar:
            bar["bar"] = fou.ProgressBar(total=total, start_msg=label + " ")
            bar["bar"].start()
        bar["bar"].set_iteration(done)
        if done >= total:
            bar["bar"].close()

    return update


# ---------------------------------------------------------------------------
# COCO import and export


def load_coco_dataset(
    labels_path,
    data_path=None,
    name=None,
    label_field=None,
    use_polylines=True,
    overwrite=False,
    progress=None,
):
    """Loads a COCO instance-segmentation dataset, recording its source.

    See :func:`tfdp.load_coco_dataset`.
    """
    labels_path = os.path.abspath(labels_path)
    dataset = fo.Dataset.from_dir(
        dataset_type=fo.types.COCODetectionDataset,
        data_path=data_path,
        labels_path=labels_path,
        label_types=["segmentations"],
        label_field=label_field,
        include_id=True,
        include_annotation_id=True,
        use_polylines=use_polylines,
        name=name,
        overwrite=overwrite,
        progress=_fiftyone_progress(progress),
    )
    schema = dataset.get_field_schema()
    id_field = next(
        f for f in ("coco_id", "%s_coco_id" % label_field) if f in schema
    )
    fields = compatible_label_fields(dataset)
    dataset.info[SOURCE_INFO_KEY] = {
        "labels_path": labels_path,
        "id_field": id_field,
        "label_field": fields[0] if len(fields) == 1 else None,
    }
    dataset.save()
    return dataset


def export_kept(
    samples,
    labels_path,
    run_key="tfdp",
    source_path=None,
    overwrite=False,
    progress=None,
):
    """Exports a run's kept samples as a COCO file.

    See :func:`tfdp.export_kept`.
    """
    dataset = samples._root_dataset
    config = _run_info(dataset, run_key).config
    kept = load_kept_view(dataset, run_key)
    coco.check_writable(labels_path, overwrite=overwrite, hint=OVERWRITE_HINT)

    source = dataset.info.get(SOURCE_INFO_KEY) or {}
    source_path = source_path or source.get("labels_path")
    id_field = source.get("id_field") or (
        "coco_id" if dataset.has_field("coco_id") else None
    )
    if source_path and id_field:
        data = coco.load_json(source_path)
        kept_ids = kept.values(id_field)
        if None in kept_ids:
            raise TFDPError(
                "%d kept samples have no %r; cannot export them from %s"
                % (kept_ids.count(None), id_field, source_path)
            )
        missing = set(kept_ids) - {
            im.get("id") for im in data["images"] if isinstance(im, dict)
        }
        if missing:
            raise TFDPError(
                "%s has no image with id %s, which kept samples carry in %r"
                % (source_path, sorted(missing)[:5], id_field)
            )
        coco.write_json(
            coco.prune(data, kept_ids), labels_path, overwrite=overwrite,
            hint=OVERWRITE_HINT,
        )
        return {"mode": "lossless", "source": source_path,
                "labels_path": labels_path, "num_samples": len(kept_ids)}

    label_paths, sample_field = run_fields(dataset, run_key, config.label_field)
    view = kept.exclude_fields(list(label_paths) + [sample_field])
    coco.write_path_atomic(
        labels_path,
        lambda tmp: view.export(
            dataset_type=fo.types.COCODetectionDataset,
            labels_path=tmp,
            label_field=config.label_field,
            export_media=False,
            categories=dataset.info.get("categories"),
            coco_id=id_field,
            progress=_fiftyone_progress(progress),
        ),
        overwrite=overwrite,
        hint=OVERWRITE_HINT,
    )
    return {"mode": "fiftyone", "source": None, "labels_path": labels_path,
            "num_samples": len(kept)}


# ---------------------------------------------------------------------------
# SampleCollection.apply_tfdp


def apply_tfdp(
    samples,
    label_field,
    method="cb-scs",
    keep_ratio=None,
    prune_ratio=None,
    keep=None,
    run_key="tfdp",
    tag=None,
    seed=0,
    skip_invalid=False,
    progress=None,
):
    """Scores, prunes, tags and records a run. See :func:`tfdp.apply_tfdp`."""
    # fail before scoring, not after
    scoring.keep_count(
        0, keep_ratio=keep_ratio, prune_ratio=prune_ratio, keep=keep
    )
    compute_scores(
        samples,
        label_field,
        method=method,
        run_key=run_key,
        skip_invalid=skip_invalid,
        progress=progress,
    )
    return prune_samples(
        samples,
        run_key=run_key,
        keep_ratio=keep_ratio,
        prune_ratio=prune_ratio,
        keep=keep,
        tag=tag,
        seed=seed,
    )


# ---------------------------------------------------------------------------
# Previews, from stored scores, aggregated in the database


def preview_pruning(
    samples, run_key="tfdp", keep_ratio=0.7, method=None, bins=30
):
    """What keeping a fraction of a run's samples would keep, computed from
    its stored fields, without writing anything.

    For the run's own method, samples are ranked by the stored image scores
    in the database, ties broken by sample id (insertion order), and all
    counts are database aggregations. Another method (or the random one,
    with the run's seed) is ranked from the stored perimeters and areas, as
    :func:`prune_samples` ranks.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run
        keep_ratio (0.7): the fraction of samples to keep
        method (None): the ranking method, the run's by default
        bins (30): the number of bins of the score histogram

    Returns:
        a dict with ``images``, ``instances`` and ``sizes`` counts (as in
        :func:`tfdp.report.retention_report`), ``classes`` (worst retention
        first), ``histogram`` (``counts``, ``edges``), ``cutoff`` (the
        lowest kept score), ``method``, and the ``kept_view`` and
        ``removed_view`` (lowest scores first)
    """
    ranking = _rank_views(samples, run_key, keep_ratio, method)
    config = ranking["config"]
    scored = ranking["scored"]
    count = ranking["count"]
    label_paths, sample_field = ranking["fields"]
    path = label_list_path(scored, config.label_field)
    perimeter_attr = label_paths[0].rsplit(".", 1)[-1]
    pixels_path = label_paths[2]

    histogram, cutoff = None, None
    scores = ranking["scores"]
    if ranking["order"] is not None:  # ranked in Python
        if scores is not None and len(scores):
            hist_counts, edges = np.histogram(scores, bins=bins)
            histogram = {"counts": hist_counts.tolist(),
                         "edges": edges.tolist()}
        if scores is not None and count:
            cutoff = float(scores[ranking["order"][count - 1]])
    else:
        hist_counts, edges, _ = scored.histogram_values(
            sample_field, bins=bins
        )
        histogram = {"counts": hist_counts, "edges": edges}
        if count:
            cutoff = ranking["kept"].skip(count - 1).values(sample_field)[0]

    def eligible_counts(view):
        view = view.filter_labels(
            config.label_field, fo.ViewField(perimeter_attr) != None  # noqa
        )
        value = fo.ViewField()
        bucket = (value >= 96**2).if_else(
            "large", (value >= 32**2).if_else("medium", "small")
        )
        by_class, sizes, total = view.aggregate(
            [
                fo.CountValues(path + ".label"),
                fo.CountValues(pixels_path, expr=bucket),
                fo.Count(path),
            ]
        )
        return by_class, sizes, total

    before_classes, before_sizes, before_total = eligible_counts(scored)
    after_classes, after_sizes, after_total = eligible_counts(
        ranking["kept"]
    )

    classes = sorted(
        (
            retention_counts(n, after_classes.get(name, 0), name=name)
            for name, n in before_classes.items()
        ),
        key=lambda c: (c["retention"], c["name"]),
    )
    return {
        "run_key": run_key,
        "method": ranking["method"],
        "keep_ratio": keep_ratio,
        "images": retention_counts(ranking["num"], count),
        "instances": retention_counts(before_total, after_total),
        "classes": classes,
        "sizes": {
            name: retention_counts(
                before_sizes.get(name, 0), after_sizes.get(name, 0)
            )
            for name, _ in SIZE_BUCKETS
        },
        "histogram": histogram,
        "cutoff": cutoff,
        "removed_view": ranking["removed"],
        "kept_view": ranking["kept"],
    }


def pruned_away_view(samples, run_key="tfdp", keep_ratio=0.7, method=None):
    """The samples that keeping a fraction of a run's samples would remove,
    lowest scores first, ranked as :func:`preview_pruning` ranks.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run
        keep_ratio (0.7): the fraction of samples to keep
        method (None): the ranking method, the run's by default

    Returns:
        a :class:`fiftyone.core.view.DatasetView`
    """
    return _rank_views(samples, run_key, keep_ratio, method)["removed"]


def _rank_views(samples, run_key, keep_ratio, method):
    dataset = samples._root_dataset
    config = _run_info(dataset, run_key).config
    scored = dataset.load_run_view(run_key)
    label_paths, sample_field = run_fields(scored, run_key, config.label_field)
    num = len(scored)
    count = scoring.keep_count(num, keep_ratio=keep_ratio)
    method = scoring.validate_method(method or config.method)
    ranking = dict(config=config, scored=scored, num=num, count=count,
                   method=method, fields=(label_paths, sample_field),
                   order=None, scores=None)

    if method == "random" or method != config.method:
        ids, table = _stored_table(scored, config.label_field, label_paths)
        order, scores = scoring.rank(
            table, num, method, seed=getattr(config, "seed", None) or 0
        )
        ranked = [ids[i] for i in order]
        ranking.update(
            order=order,
            scores=scores,
            kept=scored.select(ranked[:count]),
            removed=scored.select(ranked[count:][::-1], ordered=True),
        )
    else:
        ranking.update(
            kept=scored.sort_by([(sample_field, -1), ("_id", 1)]).limit(count),
            removed=scored.sort_by([(sample_field, 1), ("_id", -1)]).limit(
                num - count
            ),
        )
    return ranking
