"""COCO samples written to FiftyOne's database in bulk, as documents.

Adding ``fo.Sample`` objects, as FiftyOne's importer does, costs for every
label a Python object, its validation and its serialisation by mongoengine:
most of a load's time. This module writes the same documents directly:

-   their shapes are those FiftyOne serialises for templates that its own
    COCO conversion makes (:class:`fiftyone.utils.coco.COCOObject`), so the
    fields that this module does not fill keep FiftyOne's values and order;
-   the values it fills are computed by FiftyOne's own functions (a
    polygon's relative points, a mask's rasterisation and crop, the
    serialisation of a mask and of any attribute that is not a plain JSON
    scalar);
-   the sample fields are declared through FiftyOne's API, as adding the
    first sample declares them, and the documents are inserted with pymongo
    in batches, one batch at a time in flight.

These shapes are checked against FiftyOne's importer by the tests for the
FiftyOne releases in :data:`FIFTYONE_VERSIONS` only: with another release,
:func:`supported` is False and the loader adds ``fo.Sample`` objects.
"""

import contextlib
import datetime
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import fiftyone as fo
import fiftyone.core.labels as fol
import fiftyone.core.odm.sample as foos
import fiftyone.core.odm.utils as foou
import fiftyone.core.storage as fost
import fiftyone.utils.coco as fouc
import numpy as np
from bson import ObjectId
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from pycocotools import mask as mask_utils
from pymongo.errors import BulkWriteError

from tfdp import geometry, segmentation
from tfdp.errors import TFDPError
from tfdp.fo_adapter.progress import progress_updates

logger = logging.getLogger(__name__)

#: The FiftyOne releases whose documents this module writes: fiftyone.yml's
#: ``fiftyone.version``, the releases the tests run on
FIFTYONE_VERSIONS = ">=1.22,<1.23"

#: A batch ends at this many samples, labels or mask pixels, whichever
#: comes first: the memory of two batches (one being inserted, one being
#: built) is bounded
BATCH_SAMPLES = 1000
BATCH_LABELS = 1000
BATCH_MASK_PIXELS = 2**24

#: Masks are decoded together up to this many pixels of their boxes'
#: columns (one mask may have more)
MASK_CHUNK_PIXELS = 2**24

#: Masks are made in tasks of this many labels
MASK_TASK_LABELS = 100

_SCALARS = (str, int, float, bool, type(None))
_warned = []


def supported(version=None):
    """Whether the documents of a FiftyOne release are those this module
    writes.

    Args:
        version (None): a FiftyOne version; by default the installed one

    Returns:
        True if ``version`` is within :data:`FIFTYONE_VERSIONS`
    """
    try:
        version = Version(version or fo.__version__)
    except InvalidVersion:
        return False
    return version in SpecifierSet(FIFTYONE_VERSIONS)


def warn_unsupported():
    """Logs, once per process, that the installed FiftyOne is not one whose
    documents this module writes."""
    if not _warned:
        _warned.append(True)
        logger.warning(
            "FiftyOne %s is not in %s, the releases tfdp writes documents "
            "for: loading through fo.Sample objects, which is slower",
            fo.__version__,
            FIFTYONE_VERSIONS,
        )


def coco_object(ann):
    """FiftyOne's :class:`fiftyone.utils.coco.COCOObject` of a validated
    annotation: its id, image, category, box, segmentation, ``iscrowd`` and
    ``ignore``."""
    attributes = {"ignore": ann["ignore"]} if "ignore" in ann else {}
    return fouc.COCOObject(
        id=ann.get("id"),
        image_id=ann["image_id"],
        category_id=ann["category_id"],
        bbox=ann.get("bbox"),
        segmentation=ann["segmentation"],
        iscrowd=ann.get("iscrowd"),
        **attributes,
    )


def add_coco_samples(
    dataset,
    data,
    paths,
    label_field,
    use_polylines,
    classes,
    supercategories,
    source,
    progress=None,
):
    """Adds a sample per image of validated COCO data to an empty dataset.

    The samples are those that adding ``fo.Sample`` objects made with
    FiftyOne's COCO objects adds: file path, image metadata, the image's id
    as ``coco_id``, and its non-empty segmentations as ``fo.Polylines`` or
    as ``fo.Detections`` with masks in ``label_field``.

    Args:
        dataset: an empty :class:`fiftyone.core.dataset.Dataset`
        data: the validated COCO dict
        paths: a dict mapping each image's ``file_name`` to its file path
        label_field: the name of the label field
        use_polylines: whether to store polylines rather than masks
        classes: a dict mapping category ids to labels
        supercategories: a dict mapping labels to category dicts
        source: the file's path, to name it in errors
        progress (None): None, a bool, or a callable receiving a
            :class:`fiftyone.core.utils.ProgressBar`

    Raises:
        TFDPError: if FiftyOne cannot convert an annotation, or a process
            making masks or polylines dies
    """
    images = data["images"]
    by_image = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    writer = _Writer(
        dataset,
        label_field,
        use_polylines,
        classes,
        supercategories,
        paths[images[0]["file_name"]],
        images[0]["id"],
    )
    update = progress_updates(progress, "Loading")
    update(0, len(images))
    try:
        _add_samples(writer, images, paths, by_image, update, source)
    except BrokenProcessPool:
        raise TFDPError(
            "%s: a process making masks or polylines stopped before it "
            "finished (killed, for example for lack of memory)" % source
        ) from None
    dataset.reload()


def _add_samples(writer, images, paths, by_image, update, source):
    use_polylines = writer.use_polylines
    batch, num_labels, num_pixels, done = [], 0, 0, 0
    with (
        _rle_polygons(images, by_image, use_polylines) as polygons,
        # masks are most of a mask load's work, which holds the GIL: they
        # are made and serialised in other processes (or, where none can
        # be forked, in the inserting thread)
        _forked_pool(not use_polylines) as mask_makers,
        ThreadPoolExecutor(max_workers=1) as inserter,
    ):
        writer.rle_polygons, writer.mask_makers = polygons, mask_makers
        pending = None
        for image in images:
            try:
                doc = writer.sample(
                    image,
                    paths[image["file_name"]],
                    by_image.get(image["id"], ()),
                )
            except _ConversionError as e:
                raise _conversion_error(source, e) from None
            batch.append(doc)
            labels, pixels = writer.size(doc)
            num_labels += labels
            num_pixels += pixels
            if (
                len(batch) >= BATCH_SAMPLES
                or num_labels >= BATCH_LABELS
                or num_pixels >= BATCH_MASK_PIXELS
            ):
                masks = writer.take_mask_tasks()
                done += _wait(pending, update, len(images), done)
                pending = (
                    inserter.submit(writer.insert, batch, masks, source),
                    len(batch),
                )
                batch, num_labels, num_pixels = [], 0, 0
        masks = writer.take_mask_tasks()
        done += _wait(pending, update, len(images), done)
        if batch:
            writer.insert(batch, masks, source)
            update(done + len(batch), len(images))


def _conversion_error(source, e):
    return TFDPError(
        "%s: FiftyOne cannot convert annotation %s (image %s): %s"
        % (source, e.ann.get("id"), e.ann.get("image_id"), e.error)
    )


@contextlib.contextmanager
def _rle_polygons(images, by_image, use_polylines):
    # FiftyOne traces and simplifies the contours of RLE masks (crowds) to
    # make polylines: with COCO's 1% of crowds, more work than all the other
    # labels. Other processes trace them, in the order they are needed,
    # while this one builds the rest
    tasks = [
        (ann["segmentation"], (int(image["width"]), int(image["height"])))
        for image in images
        if use_polylines
        for ann in by_image.get(image["id"], ())
        if isinstance(ann.get("segmentation"), dict)
        and not segmentation.is_empty_segmentation(ann["segmentation"])
    ]
    with _forked_pool(bool(tasks)) as tracers:
        if tracers is None:
            yield map(_polygons, tasks)
        else:
            yield tracers.map(_polygons, tasks, chunksize=8)


@contextlib.contextmanager
def _forked_pool(needed=True):
    # One process per core, forked: it has the parsed data and FiftyOne
    # already. None where processes cannot be forked, or are not needed
    if not needed or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    pool = ProcessPoolExecutor(
        max_workers=len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1,
        mp_context=multiprocessing.get_context("fork"),
    )
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _serialised_masks(items):
    # the masks of (segmentation, bbox, frame size) items as FiftyOne
    # stores them; None if one fails, which the caller then names
    try:
        masks = box_masks(*zip(*items))
    except Exception:
        return None
    to_mongo = fol.Detection._fields["mask"].to_mongo
    return [to_mongo(mask) for mask in masks]


def _polygons(task):
    segmentation, frame_size = task
    return fouc._get_polygons_for_segmentation(segmentation, frame_size, None)


def _wait(pending, update, total, done):
    # one batch in flight: its errors surface here, before the next
    if pending is None:
        return 0
    future, size = pending
    future.result()
    update(done + size, total)
    return size


def box_masks(segmentations, boxes, frame_sizes):
    """The masks of segmentations within their boxes, as FiftyOne's
    importer makes ``Detection.mask``.

    FiftyOne's ``_coco_segmentation_to_mask`` decodes the whole image and
    crops it to the box; this makes the same run-length encodings with the
    same pycocotools calls and decodes only the boxes' columns, many masks
    at once, into arrays of the same shapes, type and memory layout (which
    decide the bytes that FiftyOne serialises).

    Args:
        segmentations: validated COCO segmentations: polygons that
            ``fiftyone.utils.coco._normalize_coco_segmentation`` leaves
            non-empty, or compressed or uncompressed RLE
        boxes: their ``[x, y, width, height]`` boxes, in pixels
        frame_sizes: their images' ``(width, height)``

    Returns:
        a list of boolean arrays

    Raises:
        GeometryError: if a segmentation's counts are malformed (which one
            is not said)
    """
    rles = [
        _image_rle(segmentation, size)
        for segmentation, size in zip(segmentations, frame_sizes)
    ]
    strings = [
        c.encode("ascii") if isinstance(c, str) else c
        for c in (rle["counts"] for rle in rles)
    ]
    runs, bounds = geometry.decode_compressed_counts(strings)
    shapes = np.array([rle["size"] for rle in rles], dtype=np.int64)
    shapes = shapes.reshape(len(rles), 2)
    num_runs = np.diff(bounds)
    # each string's run ends, from its own start
    ends = np.cumsum(runs)
    ends -= np.repeat(np.concatenate(([0], ends))[bounds[:-1]], num_runs)
    totals = np.zeros(len(rles), dtype=np.int64)
    covered = num_runs > 0
    totals[covered] = ends[bounds[1:][covered] - 1]
    if (totals != shapes.prod(axis=1)).any():
        raise geometry.GeometryError("RLE counts do not cover their size")

    # each mask's slice, as numpy takes it: negative and reversed bounds
    # included; its box's columns are one span of its column-major runs
    rows, cols = shapes.T.tolist()
    crops = []
    for (x, y, w, h), height, width in zip(boxes, rows, cols):
        top, bottom, _ = slice(int(round(y)), int(round(y + h))).indices(
            height
        )
        left, right, _ = slice(int(round(x)), int(round(x + w))).indices(width)
        crops.append((top, max(bottom, top), left, max(right, left)))
    crop = np.array(crops, dtype=np.int64).reshape(len(crops), 4)
    first, last = crop[:, 2] * shapes[:, 0], crop[:, 3] * shapes[:, 0]
    first_of_run = np.repeat(first, num_runs)
    last_of_run = np.repeat(last, num_runs)
    lengths = np.minimum(ends, last_of_run) - np.maximum(
        ends - runs, first_of_run
    )
    np.maximum(lengths, 0, out=lengths)
    local = np.arange(runs.size) - np.repeat(bounds[:-1], num_runs)
    values = local % 2 == 1

    masks = []
    spans = (last - first).tolist()
    start = 0
    while start < len(rles):
        # at most MASK_CHUNK_PIXELS decoded at once, or one mask
        stop, size = start + 1, spans[start]
        while stop < len(rles) and size + spans[stop] <= MASK_CHUNK_PIXELS:
            size += spans[stop]
            stop += 1
        flat = np.repeat(
            values[bounds[start] : bounds[stop]],
            lengths[bounds[start] : bounds[stop]],
        )
        offset = 0
        for i in range(start, stop):
            top, bottom, left, right = crops[i]
            columns = flat[offset : offset + spans[i]].reshape(
                right - left, rows[i]
            )
            # (rows, box columns) in Fortran order, as pycocotools decodes
            masks.append(columns.T[top:bottom])
            offset += spans[i]
        start = stop
    return masks


def _image_rle(segmentation, frame_size):
    # the compressed RLE of the whole image, as FiftyOne's importer makes it
    width, height = frame_size
    if isinstance(segmentation, list):
        return mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width)
        )
    if isinstance(segmentation["counts"], list):
        return mask_utils.frPyObjects(segmentation, height, width)
    return segmentation


class _Mask:
    """What a label's mask is made from, until it is made (see
    :meth:`_Writer.take_mask_tasks`)."""

    __slots__ = ("ann", "item", "pixels")

    def __init__(self, ann, segmentation, bbox, frame_size):
        self.ann = ann
        self.item = (segmentation, bbox, frame_size)
        # about the box's, to bound a batch's memory
        self.pixels = max(bbox[2], 0) * max(bbox[3], 0)


class _ConversionError(Exception):
    def __init__(self, ann, error):
        super().__init__(ann, error)
        self.ann, self.error = ann, error


class _Writer:
    """Documents of samples and labels from templates that FiftyOne makes
    and serialises, and their insertion."""

    def __init__(
        self,
        dataset,
        label_field,
        use_polylines,
        classes,
        supercategories,
        first_path,
        first_id,
    ):
        self.dataset = dataset
        self.label_field = label_field
        self.use_polylines = use_polylines
        self.classes = classes
        self.supercategories = supercategories
        self.rle_polygons = None  # an iterator: the points of RLE masks
        # a process pool, or None to make masks in insert()
        self.mask_makers = None
        self.waiting, self.mask_tasks = [], []  # labels, their masks' tasks

        # a label as FiftyOne's COCO conversion makes it, serialised: the
        # keys filled here are replaced, the others kept as they are
        example = fouc.COCOObject(
            id=0,
            category_id=0,
            bbox=[0, 0, 1, 1],
            segmentation=[[0, 0, 1, 0, 1, 1]],
        )
        if use_polylines:
            label = example.to_polyline((1, 1))
            labels = fol.Polylines(polylines=[label])
            self.list_key, filled = "polylines", ("label", "points")
        else:
            label = example.to_detection((1, 1), load_segmentation=True)
            labels = fol.Detections(detections=[label])
            self.list_key, filled = (
                "detections",
                ("label", "bounding_box", "mask"),
            )
        self.label_cls = type(label)
        self.label_template = dict(label.to_mongo())
        missing = [
            k for k in ("_id",) + filled if k not in self.label_template
        ]
        if missing:
            raise TypeError(
                "FiftyOne's %s has no %s" % (self.label_cls.__name__, missing)
            )
        self.labels = labels
        self.labels_template = dict(labels.to_mongo())

        # a sample as Dataset.add_samples serialises it
        sample = fo.Sample(
            filepath=first_path,
            metadata=fo.ImageMetadata(width=1, height=1),
            coco_id=first_id,
            **{label_field: labels},
        )
        self.sample_template = {
            k: v
            for k, v in sample.to_mongo_dict(include_id=False).items()
            if v is not None
        }
        self.metadata_template = dict(self.sample_template["metadata"])
        self.rand = foos.DatasetSampleDocument._fields["_rand"].default
        self.dataset_id = dataset._doc.id

        # the fields that adding the first sample declares
        dataset.media_type = sample.media_type
        dataset.add_sample_field(
            "coco_id", **foou.get_implied_field_kwargs(first_id)
        )
        self.label_field_declared = False

    def sample(self, image, path, anns):
        width, height = int(image["width"]), int(image["height"])
        labels = []
        for ann in anns:
            if segmentation.is_empty_segmentation(ann.get("segmentation")):
                continue
            try:
                label = self.label(ann, (width, height))
            except BrokenProcessPool:
                raise  # not this annotation's fault
            except Exception as e:
                raise _ConversionError(ann, e) from None
            if label is not None:
                labels.append(label)

        doc = dict(self.sample_template)
        doc["filepath"] = fost.normalize_path(path)
        metadata = dict(self.metadata_template)
        metadata["width"], metadata["height"] = width, height
        doc["metadata"] = metadata
        doc["_rand"] = self.rand()
        doc["coco_id"] = image["id"]
        if labels:
            field = dict(self.labels_template)
            field[self.list_key] = labels
            doc[self.label_field] = field
        else:
            del doc[self.label_field]
        return doc

    def size(self, doc):
        # (labels, mask pixels) of a sample's document
        field = doc.get(self.label_field)
        labels = field[self.list_key] if field else ()
        if self.use_polylines:
            return len(labels), 0
        return len(labels), sum(label["mask"].pixels for label in labels)

    def label(self, ann, size):
        obj = coco_object(ann)
        name, attributes = obj._get_object_label_and_attributes(
            self.classes, self.supercategories, True
        )
        attributes.update(obj.attributes)
        doc = dict(self.label_template)
        doc["_id"] = ObjectId()
        doc["label"] = name
        if self.use_polylines and isinstance(obj.segmentation, dict):
            doc["points"] = next(self.rle_polygons)
        elif self.use_polylines:
            doc["points"] = fouc._get_polygons_for_segmentation(
                obj.segmentation, size, None
            )
        else:
            # a Detection needs a box, and is kept only with its mask
            if obj.bbox is None:
                return None
            segmentation = obj.segmentation
            if isinstance(segmentation, list):
                segmentation = fouc._normalize_coco_segmentation(segmentation)
                if not segmentation:
                    return None
            width, height = size
            x, y, w, h = obj.bbox
            # what the field's to_mongo makes (FloatField: float(value)),
            # without mongoengine's lookups for every value
            doc["bounding_box"] = [
                float(x / width),
                float(y / height),
                float(w / width),
                float(h / height),
            ]
            doc["mask"] = _Mask(ann, segmentation, obj.bbox, size)
            self._wait_for_mask(doc)
        for key, value in attributes.items():
            if not isinstance(value, _SCALARS):
                # lists and dicts as FiftyOne converts them, errors included
                value = self.label_cls(**{key: value}).to_mongo()[key]
            doc[key] = value
        return doc

    def _wait_for_mask(self, label):
        # the masks are made MASK_TASK_LABELS at a time, as soon as that
        # many wait: the makers start while the batch is being built
        self.waiting.append(label)
        if len(self.waiting) >= MASK_TASK_LABELS:
            self._start_masks()

    def _start_masks(self):
        if not self.waiting:
            return
        items = [label["mask"].item for label in self.waiting]
        future = None
        if self.mask_makers is not None:
            future = self.mask_makers.submit(_serialised_masks, items)
        self.mask_tasks.append((self.waiting, future))
        self.waiting = []

    def take_mask_tasks(self):
        """The making of the masks of the samples built since the last
        call, started: a list of ``(labels, future or None)`` for
        :meth:`insert`."""
        self._start_masks()
        tasks, self.mask_tasks = self.mask_tasks, []
        return tasks

    def _finish_masks(self, tasks, source):
        for labels, future in tasks:
            waiting = [label["mask"] for label in labels]
            if future is None:
                masks = _serialised_masks([m.item for m in waiting])
            else:
                masks = future.result()
            if masks is None:
                # one at a time, to name the annotation that fails
                for m in waiting:
                    try:
                        box_masks(*zip(m.item))
                    except Exception as e:
                        raise _conversion_error(
                            source, _ConversionError(m.ann, e)
                        ) from None
                raise TFDPError("%s: masks could not be made" % source)
            for label, mask in zip(labels, masks):
                label["mask"] = mask

    def insert(self, docs, masks, source):
        """Inserts the documents, once their masks from
        :meth:`take_mask_tasks` are made."""
        self._finish_masks(masks, source)
        if not self.label_field_declared and any(
            self.label_field in doc for doc in docs
        ):
            self.dataset.add_sample_field(
                self.label_field,
                **foou.get_implied_field_kwargs(self.labels),
            )
            self.label_field_declared = True
        now = datetime.datetime.utcnow()
        for doc in docs:
            doc["_dataset_id"] = self.dataset_id
            doc["created_at"] = doc["last_modified_at"] = now
        try:
            self.dataset._sample_collection.insert_many(docs)
        except BulkWriteError as e:
            # as Dataset.add_samples reports it
            raise ValueError(e.details["writeErrors"][0]["errmsg"]) from e
