"""Loading COCO files into FiftyOne, and exporting a run's kept samples.

A COCO file is validated with the same checks as the ``tfdp`` command
before anything is created, so the command, the loader and the export
accept and refuse the same files with the same messages. A dataset is
imported under a temporary name and renamed only once complete: a failed
load leaves no dataset behind.
"""

import logging
import os
import tempfile
import uuid

import fiftyone as fo

from tfdp import coco
from tfdp.errors import InvalidDataError, OutputExistsError, TFDPError
from tfdp.fo_adapter.fields import compatible_label_fields, run_fields
from tfdp.fo_adapter.runs import load_kept_view, run_config

logger = logging.getLogger(__name__)

#: Key of ``dataset.info`` where :func:`load_coco_dataset` records the source
SOURCE_INFO_KEY = "tfdp_source"

OVERWRITE_HINT = "pass overwrite=True to replace it"
SKIP_HINT = "pass skip_invalid=True to load the file without them"


def read_coco(labels_path, skip_invalid=False):
    """Reads and validates a COCO file as the command does.

    Args:
        labels_path: the COCO JSON file
        skip_invalid (False): skip malformed records rather than raise

    Returns:
        a tuple ``(data, shapes)`` of the parsed dict and its
        :class:`tfdp.coco.CocoShapes`

    Raises:
        TFDPError: if the file cannot be read
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    data = coco.load_json(labels_path)
    try:
        shapes = coco.measure(data, source=labels_path, skip_invalid=skip_invalid)
    except InvalidDataError as e:
        raise InvalidDataError(e.source, e.problems, hint=SKIP_HINT) from None
    for warning in getattr(shapes, "warnings", None) or []:
        logger.warning("%s", warning)
    return data, shapes


def valid_data(data, shapes):
    """The data without the records that validation skipped."""
    return coco.prune(data, shapes.image_ids, shapes.skipped_annotations)


def load_coco_dataset(
    labels_path,
    data_path=None,
    name=None,
    label_field=None,
    use_polylines=True,
    skip_invalid=False,
    persistent=False,
    overwrite=False,
    progress=None,
):
    """Loads a COCO instance-segmentation dataset, recording its source.

    See :func:`tfdp.load_coco_dataset`.
    """
    labels_path = os.path.abspath(labels_path)
    if name is not None and fo.dataset_exists(name) and not overwrite:
        raise TFDPError(
            "a dataset named %r exists; choose another name or pass "
            "overwrite=True" % name
        )

    data, shapes = read_coco(labels_path, skip_invalid=skip_invalid)
    if shapes.invalid:
        data = valid_data(data, shapes)
    folder = os.path.abspath(data_path) if data_path else None
    paths = _image_paths(data, labels_path, folder)

    temp_name = "tfdp-loading-%s" % uuid.uuid4().hex
    dataset = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = labels_path
            if shapes.invalid:
                source = os.path.join(tmp, "valid.json")
                coco.write_json(data, source)
            dataset = fo.Dataset.from_dir(
                dataset_type=fo.types.COCODetectionDataset,
                data_path=paths,
                labels_path=source,
                label_types=["segmentations"],
                label_field=label_field,
                include_id=True,
                include_annotation_id=True,
                use_polylines=use_polylines,
                name=temp_name,
                progress=fiftyone_progress(progress),
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
            "skip_invalid": bool(shapes.invalid),
        }
        dataset.save()
        if name is not None and fo.dataset_exists(name):
            fo.delete_dataset(name)  # overwrite=True, checked above
        dataset.name = name or fo.get_default_dataset_name()
        dataset.persistent = persistent
    except BaseException:
        if dataset is not None:
            dataset.delete()
        elif fo.dataset_exists(temp_name):
            fo.delete_dataset(temp_name)
        raise

    if folder is None:
        logger.info(
            "no data_path: samples carry the image sizes of %s, and the App "
            "shows no pixels", labels_path
        )
    else:
        missing = sum(not os.path.isfile(p) for p in paths.values())
        if missing:
            logger.warning(
                "%d of %d images are missing from %s; the App shows no "
                "pixels for them", missing, len(paths), folder
            )
    return dataset


def _image_paths(data, labels_path, folder):
    # FiftyOne's importer maps file names to paths, one sample per name
    base = folder or os.path.dirname(labels_path)
    paths = {}
    owners = {}
    problems = []
    for image in data["images"]:
        file_name = image.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            problems.append(
                "image %s has no file_name, which FiftyOne needs for a sample"
                % image.get("id")
            )
            continue
        key = os.path.normpath(file_name)
        if key in owners:
            problems.append(
                "images %s and %s have the same file_name %r"
                % (owners[key], image.get("id"), file_name)
            )
            continue
        owners[key] = image.get("id")
        paths[file_name] = os.path.join(base, file_name)
    if problems:
        raise TFDPError(
            "%s: %s%s" % (
                labels_path,
                "; ".join(problems[:5]),
                " and %d more" % (len(problems) - 5) if len(problems) > 5
                else "",
            )
        )
    return paths


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
    config = run_config(dataset, run_key)
    kept = load_kept_view(dataset, run_key)
    if os.path.exists(labels_path) and not overwrite:
        raise OutputExistsError(labels_path, hint=OVERWRITE_HINT)
    coco.check_writable(labels_path, overwrite=True)

    source = dataset.info.get(SOURCE_INFO_KEY) or {}
    source_path = source_path or source.get("labels_path")
    id_field = source.get("id_field") or (
        "coco_id" if dataset.has_field("coco_id") else None
    )
    if source_path and id_field:
        data, shapes = read_coco(
            source_path, skip_invalid=bool(source.get("skip_invalid"))
        )
        kept_ids = kept.values(id_field)
        if None in kept_ids:
            raise TFDPError(
                "%d kept samples have no %r; cannot export them from %s"
                % (kept_ids.count(None), id_field, source_path)
            )
        known = set(shapes.image_ids)
        missing = [i for i in kept_ids if i not in known]
        if missing:
            raise TFDPError(
                "%s has no image with id %s, which kept samples carry in %r"
                % (source_path, sorted(set(missing))[:5], id_field)
            )
        pruned = coco.prune(data, kept_ids, shapes.skipped_annotations)
        _write(lambda: coco.write_json(pruned, labels_path, overwrite=overwrite),
               labels_path)
        return {
            "mode": "lossless",
            "source": source_path,
            "labels_path": labels_path,
            "num_samples": len(kept_ids),
            "num_annotations": len(pruned["annotations"]),
        }

    label_paths, sample_field = run_fields(dataset, run_key, config.label_field)
    view = kept.exclude_fields(
        [p for p in list(label_paths) + [sample_field] if dataset.has_field(p)]
    )
    _write(
        lambda: coco.write_path_atomic(
            labels_path,
            lambda tmp: view.export(
                dataset_type=fo.types.COCODetectionDataset,
                labels_path=tmp,
                label_field=config.label_field,
                export_media=False,
                categories=dataset.info.get("categories"),
                coco_id=id_field,
                progress=fiftyone_progress(progress),
            ),
            overwrite=overwrite,
        ),
        labels_path,
    )
    return {
        "mode": "fiftyone",
        "source": None,
        "labels_path": labels_path,
        "num_samples": len(kept),
        "num_annotations": kept.count(
            "%s.%s" % (config.label_field,
                       label_paths[0].split(".")[1])
        ),
    }


def fiftyone_progress(progress):
    """FiftyOne's ``progress`` argument from ours: None, a bool, or a
    callable ``progress(done, total)``."""
    if progress is None or isinstance(progress, bool):
        return progress
    return lambda bar: progress(bar.iteration, bar.total or bar.iteration)


def _write(write, path):
    try:
        write()
    except OutputExistsError:
        raise OutputExistsError(path, hint=OVERWRITE_HINT) from None
