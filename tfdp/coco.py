"""COCO-format files: validation, eligibility, shapes, pruned copies.

Plain functions over the plain dict that ``json.load`` gives.
"""

import collections
import concurrent.futures
import csv
import json
import math
import numbers
import os
import tempfile

import numpy as np

from tfdp import geometry
from tfdp.errors import InvalidDataError, OutputExistsError, Problem, TFDPError
from tfdp.scoring import ShapeTable

#: Reasons why a well-formed annotation is not scored (TFDP.md section 1)
CROWD = "crowd"
IGNORE = "ignore"
EMPTY_SEGMENTATION = "empty segmentation"
NO_BBOX = "no bbox"
BBOX_NOT_FINITE = "bbox not finite"
BBOX_UNDER_ONE_PIXEL = "bbox under 1 pixel"
BBOX_OUTSIDE_IMAGE = "bbox outside image"

INELIGIBLE_REASONS = (
    CROWD,
    IGNORE,
    EMPTY_SEGMENTATION,
    NO_BBOX,
    BBOX_NOT_FINITE,
    BBOX_UNDER_ONE_PIXEL,
    BBOX_OUTSIDE_IMAGE,
)

SKIP_HINT = "pass --skip-invalid to skip them and list them in the report"


class CocoShapes(object):
    """The measured shapes of a COCO-format dataset.

    Attributes:
        image_ids: ids of the images of the collection, in input order
        table: a :class:`tfdp.scoring.ShapeTable` of its eligible instances
            (``instance_ids`` are annotation ids, ``category`` indices into
            ``categories``)
        categories: ``(id, name)`` of each category, indexed by the values
            of ``table.category``
        ineligible: a ``collections.Counter`` of reasons why annotations
            were not scored
        invalid: the :class:`tfdp.errors.Problem` records that were skipped
        skipped_annotations: positions in ``annotations`` of the skipped
            malformed annotations (and of the annotations of skipped images)
    """

    def __init__(
        self,
        image_ids,
        table,
        categories,
        ineligible,
        invalid,
        skipped_annotations,
    ):
        self.image_ids = image_ids
        self.table = table
        self.categories = categories
        self.ineligible = ineligible
        self.invalid = invalid
        self.skipped_annotations = skipped_annotations

    @property
    def num_images(self):
        return len(self.image_ids)


def load_json(path):
    """Loads a COCO-format JSON file.

    Args:
        path: the file

    Returns:
        the parsed dict

    Raises:
        TFDPError: if the file is missing, unreadable, not JSON, or not a
            COCO-format object with ``images`` and ``annotations`` lists
    """
    data = read_json(path)
    check_structure(data, path)
    return data


def read_json(path):
    """Parses a JSON file, whatever it holds.

    Raises:
        TFDPError: if the file is missing, unreadable or not JSON
    """
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        raise TFDPError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise TFDPError("%s: is a directory, not a JSON file" % path) from None
    except OSError as e:
        raise TFDPError("%s: cannot read: %s" % (path, e.strerror)) from None
    except UnicodeDecodeError as e:
        raise TFDPError("%s: not UTF-8 text: %s" % (path, e)) from None
    except json.JSONDecodeError as e:
        raise TFDPError(
            "%s: invalid JSON at line %d column %d: %s"
            % (path, e.lineno, e.colno, e.msg)
        ) from None


def check_structure(data, source):
    """Checks the top-level structure of a COCO-format dict.

    Raises:
        TFDPError: if ``images`` or ``annotations`` is missing or not a list
    """
    if not isinstance(data, dict):
        raise TFDPError(
            "%s: a COCO file holds a JSON object, not a %s"
            % (source, type(data).__name__)
        )
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise TFDPError("%s: no %r list" % (source, key))


def measure(
    data, source="<data>", skip_invalid=False, progress=None, measure_jobs=None
):
    """Validates a COCO-format dict and measures its eligible instances.

    Args:
        data: the dict (see :func:`load_json`)
        source ("<data>"): the name of the data in messages (its path)
        skip_invalid (False): skip malformed images and annotations (and
            list them in :attr:`CocoShapes.invalid`) rather than raise
        progress (None): a callable ``progress(done, total)``
        measure_jobs (None): measures the eligible annotations where an
            engine runs them (see
            :meth:`tfdp.measuring.Runner.measure_coco_jobs`); by default, in
            this process

    Returns:
        a :class:`CocoShapes`

    Raises:
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    check_structure(data, source)
    problems = []

    images, bad_images = _index_images(data["images"], problems)
    categories, category_list = _index_categories(data.get("categories"))

    annotations = data["annotations"]
    seen_ids = set()
    ineligible = collections.Counter()
    skipped = []
    bad_image_annotations = collections.Counter()

    # Checks are sequential and cheap; measuring is spread over threads
    # (OpenCV releases the GIL), in chunks, keeping the input order
    jobs = []
    ann_problems = []
    for position, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            ann_problems.append(
                (position, Problem("annotation", "#%d" % position, None,
                                   "not an object"))
            )
            skipped.append(position)
            continue

        ann_id = ann.get("id")
        image_id = ann.get("image_id")
        image_key = _key(image_id)
        if image_key in bad_images:
            bad_image_annotations[image_key] += 1
            skipped.append(position)
            continue

        try:
            _check_id(ann_id, "annotation", seen_ids)
            image = images.get(image_key)
            if image is None:
                raise _Malformed(
                    "image_id %s is not an image of the file"
                    % _dumps(image_id)
                )
            category_index = categories.get(_key(ann.get("category_id")))
            if category_index is None:
                raise _Malformed(
                    "category_id %s is not a category of the file"
                    % _dumps(ann.get("category_id"))
                )
            reason = ineligible_reason(ann, image[1], image[2])
        except (_Malformed, geometry.GeometryError) as e:
            ann_problems.append((position, _annotation_problem(ann, position, e)))
            skipped.append(position)
            continue
        if reason is not None:
            ineligible[reason] += 1
            continue
        jobs.append((position, ann, image, category_index))

    ids, image_index, category, perimeter, area, pixels = [], [], [], [], [], []
    done = 0
    for chunk, shapes in (measure_jobs or _measure_jobs)(jobs):
        for (position, ann, image, category_index), shape in zip(chunk, shapes):
            if isinstance(shape, geometry.GeometryError):
                ann_problems.append(
                    (position, _annotation_problem(ann, position, shape))
                )
                skipped.append(position)
                continue
            ids.append(ann["id"])
            image_index.append(image[0])
            category.append(category_index)
            perimeter.append(shape.perimeter)
            area.append(shape.area)
            pixels.append(shape.pixels)
        done += len(chunk)
        if progress is not None and measure_jobs is None:
            progress(done, len(jobs))

    skipped.sort()
    problems += [p for _, p in sorted(ann_problems, key=lambda x: x[0])]
    if problems and not skip_invalid:
        raise InvalidDataError(source, problems, hint=SKIP_HINT)

    for i, problem in enumerate(problems):
        n = bad_image_annotations[_key(problem.id)]
        if problem.kind == "image" and n:
            problems[i] = problem._replace(
                message="%s (its %d annotation%s skipped too)"
                % (problem.message, n, "" if n == 1 else "s")
            )

    table = ShapeTable(
        ids,
        image_index,
        np.asarray(category, dtype=np.int64),
        perimeter,
        area,
        pixels,
    )
    image_ids = [None] * len(images)
    for key, (index, _, _) in images.items():
        image_ids[index] = key[1]

    return CocoShapes(
        image_ids,
        table,
        category_list,
        ineligible,
        problems,
        skipped,
    )


class _Malformed(Exception):
    pass


#: Annotations measured per task of the thread pool
CHUNK_SIZE = 256

#: Mean box area (pixels) from which threads pay: below it, per-instance
#: Python work, which holds the GIL, outweighs OpenCV's, which does not
THREADS_MIN_MEAN_AREA = 100_000


def _measure_jobs(jobs):
    chunks = [
        jobs[i : i + CHUNK_SIZE] for i in range(0, len(jobs), CHUNK_SIZE)
    ]
    workers = min(4, os.cpu_count() or 1)
    mean_area = (
        sum(ann["bbox"][2] * ann["bbox"][3] for _, ann, _, _ in jobs)
        / len(jobs)
        if jobs
        else 0
    )
    if workers == 1 or len(chunks) < 2 or mean_area < THREADS_MIN_MEAN_AREA:
        for chunk in chunks:
            yield chunk, _measure_chunk(chunk)
        return
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        yield from zip(chunks, pool.map(_measure_chunk, chunks))


def _measure_chunk(chunk):
    shapes = []
    for _, ann, (_, width, height), _ in chunk:
        try:
            shapes.append(
                measure_segmentation(ann["segmentation"], width, height)
            )
        except geometry.GeometryError as e:
            shapes.append(e)
    return shapes


def _annotation_problem(ann, position, error):
    ann_id = ann.get("id")
    image_id = ann.get("image_id")
    return Problem(
        "annotation",
        ann_id if _is_id(ann_id) else "#%d" % position,
        image_id if _is_id(image_id) else None,
        str(error),
    )


def _dumps(value):
    return json.dumps(value)[:80]


def _is_number(value):
    # JSON numbers are int or float: test those first, numbers.Real is slow
    cls = type(value)
    if cls is float or cls is int:
        return True
    return isinstance(value, numbers.Real) and cls is not bool


def _key(value):
    # JSON ids are ints or strings; 1 and 1.0 would collide in a dict
    return (type(value).__name__, value) if _is_id(value) else None


def _is_id(value):
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _check_id(value, kind, seen):
    if not _is_id(value):
        raise _Malformed("%s has no integer or string id" % kind)
    key = _key(value)
    if key in seen:
        raise _Malformed(
            "%s id %s is used more than once" % (kind, _dumps(value))
        )
    seen.add(key)


def _index_images(records, problems):
    images = {}
    bad = set()
    seen = set()
    for position, image in enumerate(records):
        if not isinstance(image, dict):
            problems.append(
                Problem("image", "#%d" % position, None, "not an object")
            )
            continue
        image_id = image.get("id")
        try:
            _check_id(image_id, "image", seen)
            _check_size(image)
        except _Malformed as e:
            problems.append(
                Problem(
                    "image",
                    image_id if _is_id(image_id) else "#%d" % position,
                    None,
                    str(e),
                )
            )
            if _is_id(image_id):
                bad.add(_key(image_id))
            continue
        images[_key(image_id)] = (
            len(images),
            int(image["width"]),
            int(image["height"]),
        )
    return images, bad


def _check_size(image):
    for key in ("width", "height"):
        value = image.get(key)
        if (
            not isinstance(value, numbers.Real)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value != int(value)
            or value < 1
        ):
            raise _Malformed(
                "%s %s is not a positive integer" % (key, _dumps(value))
            )


def _index_categories(records):
    # category key -> dense index, and (id, name) per index, in file order
    index = {}
    categories = []
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and _is_id(record.get("id")):
            key = _key(record["id"])
            if key not in index:
                index[key] = len(categories)
                categories.append(
                    (record["id"], str(record.get("name", record["id"])))
                )
    return index, categories


def category_names(data):
    """Maps category ids to names.

    Args:
        data: a COCO-format dict

    Returns:
        a dict
    """
    names = {}
    for record in data.get("categories") or []:
        if isinstance(record, dict) and _is_id(record.get("id")):
            names.setdefault(record["id"], str(record.get("name", record["id"])))
    return names


def ineligible_reason(ann, width, height):
    """Why a well-formed annotation is not scored (TFDP.md section 1).

    Args:
        ann: the annotation dict
        width: its image's width
        height: its image's height

    Returns:
        one of :data:`INELIGIBLE_REASONS`, or None when it is eligible

    Raises:
        tfdp.geometry.GeometryError: if the bbox is present but not 4
            numbers
    """
    if ann.get("iscrowd"):
        return CROWD
    if ann.get("ignore"):
        return IGNORE
    if is_empty_segmentation(ann.get("segmentation")):
        return EMPTY_SEGMENTATION

    bbox = ann.get("bbox")
    if bbox is None:
        return NO_BBOX
    if (
        not isinstance(bbox, list)
        or len(bbox) != 4
        or not all(_is_number(v) for v in bbox)
    ):
        raise geometry.GeometryError(
            "bbox %s is not a list of 4 numbers" % json.dumps(bbox)[:80]
        )
    x, y, w, h = bbox
    if not all(math.isfinite(v) for v in bbox):
        return BBOX_NOT_FINITE
    if w < 1 or h < 1:
        return BBOX_UNDER_ONE_PIXEL
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        return BBOX_OUTSIDE_IMAGE
    return None


def is_empty_segmentation(segmentation):
    """Whether a segmentation is missing or has no coordinates at all."""
    if segmentation is None:
        return True
    if isinstance(segmentation, list):
        return all(
            isinstance(part, (list, tuple)) and len(part) == 0
            for part in segmentation
        )
    if isinstance(segmentation, dict):
        return not segmentation
    return False


def measure_segmentation(segmentation, width, height):
    """Measures a COCO segmentation on its image.

    Args:
        segmentation: polygons (a list of flat coordinate lists) or RLE (a
            dict with ``size`` and compressed or uncompressed ``counts``)
        width: the image width
        height: the image height

    Returns:
        a :class:`tfdp.geometry.Shape`

    Raises:
        tfdp.geometry.GeometryError: if the segmentation is malformed
    """
    if isinstance(segmentation, list):
        parts = geometry.polygon_parts(segmentation)
        return geometry.polygon_shape(parts, width, height)

    if isinstance(segmentation, dict):
        size = segmentation.get("size")
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(isinstance(v, int) for v in size)
        ):
            raise geometry.GeometryError(
                "RLE size %s is not [height, width]"
                % json.dumps(size)[:80]
            )
        if size != [height, width]:
            raise geometry.GeometryError(
                "RLE size %s differs from its image's [height, width] %s"
                % (size, [height, width])
            )
        if "counts" not in segmentation:
            raise geometry.GeometryError("RLE has no counts")
        runs = geometry.rle_counts(segmentation["counts"], height, width)
        return geometry.rle_shape(runs, height, width)

    raise geometry.GeometryError(
        "segmentation is a %s, not polygons or RLE"
        % type(segmentation).__name__
    )


def prune(data, kept_image_ids, skipped_annotations=()):
    """The data restricted to some images.

    Every kept image's record and all of its annotations are kept as they
    are (crowd and ineligible ones included), in input order, and every
    other top-level key is kept unchanged.

    Args:
        data: a COCO-format dict
        kept_image_ids: the ids of the images to keep
        skipped_annotations (()): positions of annotations to leave out
            (malformed ones that were skipped)

    Returns:
        a new dict sharing its records with ``data``
    """
    kept = {_key(i) for i in kept_image_ids}
    skipped = set(skipped_annotations)
    out = {}
    for key, value in data.items():
        if key == "images":
            value = [
                r for r in value
                if isinstance(r, dict) and _key(r.get("id")) in kept
            ]
        elif key == "annotations":
            value = [
                r
                for i, r in enumerate(value)
                if isinstance(r, dict)
                and _key(r.get("image_id")) in kept
                and i not in skipped
            ]
        out[key] = value
    return out


def check_writable(path, overwrite=False):
    """Checks that an output may be written.

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
        TFDPError: if its folder does not exist or it is a folder
    """
    if os.path.isdir(path):
        raise TFDPError("%s is a folder, not a file" % path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TFDPError("%s: folder %s does not exist" % (path, folder))


def write_atomic(path, write, overwrite=False, mode="w"):
    """Writes a file whole or not at all.

    Args:
        path: the output
        write: a callable ``write(f)`` given the open temporary file
        overwrite (False): replace an existing file
        mode ("w"): ``"w"`` for text (UTF-8), ``"wb"`` for bytes

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    kwargs = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}

    def write_path(tmp):
        with open(tmp, mode, **kwargs) as f:
            write(f)

    write_path_atomic(path, write_path, overwrite=overwrite)


def write_path_atomic(path, write_path, overwrite=False):
    """Writes a file whole or not at all, with a writer that takes a path.

    Args:
        path: the output
        write_path: a callable ``write_path(tmp)`` that writes the file
            ``tmp``, in the output's folder
        overwrite (False): replace an existing file

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    check_writable(path, overwrite=overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    os.close(fd)
    try:
        # mkstemp makes the file private; give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        write_path(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            # link fails if the path appeared meanwhile: never clobber
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(path) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(data, path, overwrite=False):
    """Writes a COCO-format dict as compact UTF-8 JSON, atomically.

    Args:
        data: the dict
        path: the output
        overwrite (False): replace an existing file

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    write_atomic(
        path,
        lambda f: json.dump(data, f, ensure_ascii=False, separators=(",", ":")),
        overwrite=overwrite,
    )


SCORE_COLUMNS = (
    "image_id",
    "annotation_id",
    "category_id",
    "perimeter",
    "area",
    "scs",
    "si_scs",
    "cb_scs",
)


def write_scores(shapes, path, overwrite=False):
    """Writes one CSV row per eligible annotation with its shape and scores.

    Args:
        shapes: a :class:`CocoShapes`
        path: the output
        overwrite (False): replace an existing file

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    table = shapes.table
    columns = (
        [shapes.image_ids[i] for i in table.image_index],
        table.instance_ids,
        [shapes.categories[i][0] for i in table.category],
        table.perimeter.tolist(),
        table.area.tolist(),
        table.scores("scs").tolist(),
        table.scores("si-scs").tolist(),
        table.scores("cb-scs").tolist(),
    )

    def write(f):
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SCORE_COLUMNS)
        # str(float) is repr: the shortest text that reads back exactly
        writer.writerows(zip(*columns))

    write_atomic(path, write, overwrite=overwrite)
