"""Loading COCO files into FiftyOne, and exporting a run's kept samples.

A COCO file is validated with the same checks as the ``tfdp`` command
(:func:`tfdp.coco.validate`, which draws no polygon) before anything is
created, so the command, the loader and the export accept and refuse the
same files with the same messages. Samples are made
from the validated records with FiftyOne's own COCO objects, under a
temporary dataset name that is renamed only once complete: a failed load
leaves no dataset behind.
"""

import hashlib
import logging
import os
import re
import socket
import uuid

import fiftyone as fo
import fiftyone.core.media as fom
import fiftyone.core.odm.sample as fos

from tfdp import coco, jsonio, outputs
from tfdp.errors import InvalidDataError, TFDPError, is_text, printable
from tfdp.fo_adapter import coco_documents
from tfdp.fo_adapter.fields import compatible_label_fields, run_fields
from tfdp.fo_adapter.records import run_config
from tfdp.fo_adapter.runs import load_kept_view, process_is_gone
from tfdp.segmentation import is_empty_segmentation

logger = logging.getLogger(__name__)

#: Key of ``dataset.info`` where :func:`load_coco_dataset` records the source
SOURCE_INFO_KEY = "tfdp_source"

OVERWRITE_HINT = "pass overwrite=True to replace it"
SKIP_HINT = "pass skip_invalid=True to load the file without them"

#: The name of a dataset being loaded: its loader's host and process id,
#: so that the next load deletes it if that process died
LOADING_NAME = "tfdp-loading-%s-%d-%s"
_LOADING = re.compile(r"^tfdp-loading-(.+)-(\d+)-[0-9a-f]{32}$")


def read_coco(labels_path, skip_invalid=False):
    """Reads and validates a COCO file as the command does.

    Args:
        labels_path: the COCO JSON file
        skip_invalid (False): skip malformed records rather than raise

    Returns:
        a tuple ``(data, shapes, sha256)``: the parsed dict, its
        :class:`tfdp.coco.CocoShapes`, and the SHA-256 (hex) of the bytes
        parsed

    Raises:
        TFDPError: if the file cannot be read
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    data, sha256 = _read(labels_path)
    return data, _validate(data, labels_path, skip_invalid), sha256


def _read(labels_path):
    digest = hashlib.sha256()
    # one document of millions of objects: see jsonio.gc_paused
    with jsonio.gc_paused():
        data = coco.load_json(labels_path, digest)
    return data, digest.hexdigest()


def _validate(data, labels_path, skip_invalid):
    with jsonio.gc_paused():
        try:
            shapes = coco.validate(
                data, source=labels_path, skip_invalid=skip_invalid
            )
        except InvalidDataError as e:
            raise InvalidDataError(
                e.source, e.problems, hint=SKIP_HINT
            ) from None
    for warning in shapes.warnings:
        logger.warning("%s: %s", labels_path, warning)
    if not shapes.num_images:
        # as the command decides: a file without images is not a dataset
        if shapes.invalid:
            raise TFDPError(
                "%s: nothing is left to load: all %d malformed records were "
                "skipped and no valid image remains"
                % (labels_path, len(shapes.invalid))
            )
        raise TFDPError("%s: no images to load" % labels_path)
    return shapes


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
    _check_names(name, label_field)
    labels_path = os.path.abspath(labels_path)
    folder = os.path.abspath(data_path) if data_path else None
    _check_storable(labels_path, folder)
    if name is not None and fo.dataset_exists(name) and not overwrite:
        raise TFDPError(
            "a dataset named %r exists; choose another name or pass "
            "overwrite=True" % name
        )

    data, shapes, sha256 = read_coco(labels_path, skip_invalid=skip_invalid)
    if shapes.invalid:
        data = valid_data(data, shapes)
    paths = _image_paths(data, labels_path, folder)
    label_field = label_field or "segmentations"

    delete_abandoned_loads()
    temp_name = LOADING_NAME % (
        socket.gethostname(),
        os.getpid(),
        uuid.uuid4().hex,
    )
    dataset = None
    try:
        dataset = fo.Dataset(temp_name)
        if coco_documents.supported():
            classes, supercategories = _class_maps(data)
            coco_documents.add_coco_samples(
                dataset,
                data,
                paths,
                label_field,
                use_polylines,
                classes,
                supercategories,
                labels_path,
                progress=progress,
            )
        else:
            coco_documents.warn_unsupported()
            dataset.add_samples(
                _samples(data, paths, label_field, use_polylines, labels_path),
                num_samples=len(data["images"]),
                progress=progress,
            )
        fields = compatible_label_fields(dataset)
        dataset.info["categories"] = _categories(data)
        dataset.info[SOURCE_INFO_KEY] = {
            "labels_path": labels_path,
            "id_field": "coco_id",
            "label_field": fields[0] if fields else None,
            "skip_invalid": bool(shapes.invalid),
            # the bytes validated here: an export from the same bytes
            # needs no second validation
            "sha256": sha256,
        }
        dataset.save()
        if name is not None and fo.dataset_exists(name):
            fo.delete_dataset(name)  # overwrite=True, checked above
        dataset.name = name or fo.get_default_dataset_name()
        dataset.persistent = persistent
    except BaseException as e:
        if dataset is not None:
            dataset.delete()
        if isinstance(e, OverflowError):  # BSON's, on any other number
            raise TFDPError(
                "%s: a number in the file does not fit in the 64-bit "
                "integers that MongoDB stores (%s)" % (labels_path, e)
            ) from None
        raise

    if folder is None:
        logger.info(
            "no data_path: samples carry the image sizes of %s, and the App "
            "shows no pixels",
            labels_path,
        )
    else:
        missing = sum(not os.path.isfile(p) for p in paths.values())
        if missing:
            logger.warning(
                "%d of %d images are missing from %s; the App shows no "
                "pixels for them",
                missing,
                len(paths),
                folder,
            )
    return dataset


def _source_records(source_path, source):
    # The source's data, the ids of its valid images and the positions of
    # its annotations to leave out. The bytes that the load validated,
    # without skipping anything, are not validated again; any other bytes
    # are, as the load would
    data, sha256 = _read(source_path)
    if sha256 == source.get("sha256") and not source.get("skip_invalid"):
        return data, {image["id"] for image in data["images"]}, ()
    shapes = _validate(data, source_path, bool(source.get("skip_invalid")))
    return data, set(shapes.image_ids), shapes.skipped_annotations


def delete_abandoned_loads():
    """Deletes the datasets of loads whose process died on this machine.

    A killed load leaves its temporary dataset, and FiftyOne deletes
    non-persistent datasets only when no other client is connected. Loads
    of other machines, or of living processes, are left alone.
    """
    host = socket.gethostname()
    for name in fo.list_datasets("tfdp-loading-*"):
        match = _LOADING.match(name)
        if (
            match
            and match.group(1) == host
            and process_is_gone(int(match.group(2)))
        ):
            try:
                fo.delete_dataset(name)
            except ValueError:  # another load deleted it meanwhile
                pass


def _categories(data):
    # the records that validation indexes: a dict with an id, first wins
    categories, seen = [], set()
    records = data.get("categories")
    for record in records if isinstance(records, list) else []:
        if coco.is_category_record(record):
            if record["id"] not in seen:
                seen.add(record["id"])
                categories.append(record)
    return categories


def _class_maps(data):
    # the labels of category ids, and the categories of labels, as
    # FiftyOne's COCO objects take them
    categories = _categories(data)
    classes = {c["id"]: str(c.get("name", c["id"])) for c in categories}
    supercategories = {classes[c["id"]]: c for c in categories}
    return classes, supercategories


def _samples(data, paths, label_field, use_polylines, source):
    # Validated records only, converted by FiftyOne's own COCO objects: the
    # labels are those FiftyOne's importer makes, without its assumptions
    # about the rest of the file. The fast path (coco_documents) writes the
    # documents of these samples directly
    classes, supercategories = _class_maps(data)
    by_image = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)

    for image in data["images"]:
        size = (int(image["width"]), int(image["height"]))
        labels = []
        for ann in by_image.get(image["id"], []):
            if is_empty_segmentation(ann.get("segmentation")):
                continue
            try:
                label = _label(
                    ann, size, classes, supercategories, use_polylines
                )
            except Exception as e:
                raise TFDPError(
                    "%s: FiftyOne cannot convert annotation %s (image %s): "
                    "%s" % (source, ann.get("id"), image["id"], e)
                ) from None
            if label is not None:
                labels.append(label)
        if use_polylines:
            field = fo.Polylines(polylines=labels) if labels else None
        else:
            field = fo.Detections(detections=labels) if labels else None
        yield fo.Sample(
            filepath=paths[image["file_name"]],
            metadata=fo.ImageMetadata(width=size[0], height=size[1]),
            coco_id=image["id"],
            **{label_field: field},
        )


def _label(ann, size, classes, supercategories, use_polylines):
    obj = coco_documents.coco_object(ann)
    if use_polylines:
        return obj.to_polyline(
            size,
            classes_map=classes,
            supercategory_map=supercategories,
            include_id=True,
        )
    # a Detection needs a box, and is kept only with its mask
    detection = obj.to_detection(
        size,
        classes_map=classes,
        supercategory_map=supercategories,
        load_segmentation=True,
        include_id=True,
    )
    return detection if detection is not None and detection.has_mask else None


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _check_names(name, label_field):
    # before anything is read: FiftyOne would fail halfway, or drop the
    # labels silently (a sample's "id" is not a field to fill)
    if name is not None and not isinstance(name, str):
        raise ValueError("name %r is not a string" % (name,))
    if name is not None and not name.strip():
        # FiftyOne would name it after the time instead
        raise ValueError(
            "name %r is empty; pass a name, or None for a default one"
            % (name,)
        )
    if name is not None and not is_text(name):
        raise ValueError(
            "name %r is not UTF-8 text, which FiftyOne's database needs"
            % (name,)
        )
    if label_field is None or label_field == "":
        return
    if (
        not isinstance(label_field, str)
        or not is_text(label_field)
        or "." in label_field
        or "\0" in label_field
        or label_field.startswith(("$", "_"))
    ):
        raise ValueError(
            "label_field %r cannot name a FiftyOne field: use UTF-8 text "
            "without dots, not starting with '$' or '_'" % (label_field,)
        )
    if label_field in set(fos.DatasetSampleDocument._fields) | {"coco_id"}:
        raise ValueError(
            "label_field %r is a field of every sample that the loader "
            "fills itself; choose another, e.g. 'segmentations'" % label_field
        )


def _check_storable(labels_path, folder):
    # MongoDB's strings are UTF-8: a name that is not (its undecodable bytes
    # held as lone surrogates) can be neither the recorded source nor part
    # of a sample's file path
    if not is_text(labels_path):
        raise TFDPError(
            "%s: the path is not UTF-8 text, which FiftyOne's database "
            "cannot store; rename it" % printable(labels_path)
        )
    if folder is not None and not is_text(folder):
        raise TFDPError(
            "data_path %s is not UTF-8 text, which FiftyOne's database "
            "cannot store in the samples' file paths; rename it"
            % printable(folder)
        )


def _image_paths(data, labels_path, folder):
    # What FiftyOne needs beyond the command's checks: one sample per file
    # name, one type of image id, ids that MongoDB can store
    base = folder or os.path.dirname(labels_path)
    paths = {}
    owners = {}
    problems = []
    kinds = {type(image["id"]) for image in data["images"]}
    if len(kinds) > 1:
        problems.append(
            "image ids mix numbers and strings, which one FiftyOne field "
            "(coco_id) cannot hold"
        )
    for kind, records in (
        ("image", data["images"]),
        ("annotation", data["annotations"]),
        ("category", _categories(data)),
    ):
        for record in records:
            value = record.get("id")
            if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
                problems.append(
                    "%s id %d does not fit in the 64-bit integers that "
                    "MongoDB stores" % (kind, value)
                )
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
        # one dataset holds one media type, which FiftyOne reads from the
        # name
        if fom.get_media_type(paths[file_name]) != fom.IMAGE:
            problems.append(
                "image %s has file_name %s, which FiftyOne does not read as "
                "an image" % (image.get("id"), jsonio.brief(file_name))
            )
    if problems:
        raise TFDPError(
            "%s: %s%s"
            % (
                labels_path,
                "; ".join(problems[:5]),
                " and %d more" % (len(problems) - 5)
                if len(problems) > 5
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
    num_kept = getattr(config, "num_kept", None)
    if num_kept is not None and len(kept) != num_kept:
        # the selection was made among other samples than there are now
        raise TFDPError(
            "TFDP run %r kept %d samples and %d samples carry its tag %r "
            "now: samples were deleted or tagged since it pruned; prune again"
            % (run_key, num_kept, len(kept), config.tag)
        )
    source = dataset.info.get(SOURCE_INFO_KEY) or {}
    recorded = source.get("labels_path")
    source_path = source_path or recorded
    # as the command does: the source is never replaced by a subset of
    # itself, which later exports would read as the source; nor is the
    # recorded source when another is given
    outputs.check_outputs(
        [labels_path],
        inputs=[p for p in dict.fromkeys((source_path, recorded)) if p],
        overwrite=overwrite,
        hint=OVERWRITE_HINT,
    )
    id_field = source.get("id_field") or (
        "coco_id" if dataset.has_field("coco_id") else None
    )
    if source_path and id_field:
        data, image_ids, skipped = _source_records(source_path, source)
        kept_ids = kept.values(id_field)
        if None in kept_ids:
            raise TFDPError(
                "%d kept samples have no %r; cannot export them from %s"
                % (kept_ids.count(None), id_field, source_path)
            )
        missing = [i for i in kept_ids if i not in image_ids]
        if missing:
            raise TFDPError(
                "%s has no image with id %s, which kept samples carry in %r"
                % (source_path, sorted(set(missing))[:5], id_field)
            )
        pruned = coco.prune(data, kept_ids, skipped)
        outputs.write_json(
            pruned, labels_path, overwrite=overwrite, hint=OVERWRITE_HINT
        )
        return {
            "mode": "lossless",
            "source": source_path,
            "labels_path": labels_path,
            "num_samples": len(kept_ids),
            "num_annotations": len(pruned["annotations"]),
        }

    label_paths, sample_field = run_fields(
        dataset, run_key, config.label_field
    )
    view = kept.exclude_fields(
        [p for p in list(label_paths) + [sample_field] if dataset.has_field(p)]
    )
    outputs.write_path_atomic(
        labels_path,
        lambda tmp: view.export(
            dataset_type=fo.types.COCODetectionDataset,
            labels_path=tmp,
            label_field=config.label_field,
            export_media=False,
            categories=dataset.info.get("categories"),
            coco_id=id_field,
            progress=progress,
        ),
        overwrite=overwrite,
        hint=OVERWRITE_HINT,
    )
    return {
        "mode": "fiftyone",
        "source": None,
        "labels_path": labels_path,
        "num_samples": len(kept),
        "num_annotations": kept.count(
            "%s.%s" % (config.label_field, label_paths[0].split(".")[1])
        ),
    }
