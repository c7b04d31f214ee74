"""COCO-format documents: reading, validating and measuring them, and their
pruned copies.

Plain functions over the plain dict that :func:`load_json` gives. Whether a
document is accepted is decided here, by :func:`load_json` (the text) and
:func:`measure` (the records), for the command and the FiftyOne loader
alike.

- :func:`load_json`, :func:`read_json`, :func:`check_structure`: reading
- :func:`measure`: validating the records and measuring the eligible
  instances, as a :class:`CocoShapes`; :func:`validate`: the same checks
  without drawing polygons
- :func:`image_size`, :func:`annotation_instance`,
  :func:`is_category_record`: reading one record
- :func:`prune`: the document restricted to some images
"""

import collections
import math

import numpy as np

from tfdp import geometry, jsonio, packed
from tfdp.eligibility import Instance, ineligible_reason
from tfdp.errors import InvalidDataError, Problem, TFDPError, describe_problem
from tfdp.names import (
    category_name,
    category_name_key,
    describe_name,
    name_phrase,
)
from tfdp.runner import Runner, pack_jobs
from tfdp.scoring import ShapeTable
from tfdp.segmentation import (
    MalformedError,
    check_segmentation,
    is_empty_segmentation,
)

#: How many repeated annotation ids a warning names
WARNING_IDS = 10


class CocoShapes(object):
    """The measured shapes of a COCO-format dataset.

    Attributes:
        image_ids: ids of the images of the collection, in input order
        table: a :class:`tfdp.scoring.ShapeTable` of its eligible instances
            (``instance_ids`` are annotation ids, ``category`` indices into
            ``categories``); an annotation is identified by its image and
            its id together
        categories: ``(id, name)`` of each category, indexed by the values
            of ``table.category``
        ineligible: a ``collections.Counter`` of reasons why annotations
            were not scored
        invalid: the :class:`tfdp.errors.Problem` records that were skipped
        skipped_annotations: positions in ``annotations`` of the skipped
            malformed annotations (and of the annotations of skipped images)
        warnings: messages about what is unusual but not wrong (annotation
            ids used more than once)
        category_name_keys: per category, its name as written (see
            :func:`category_name_key`), to match categories across files
    """

    def __init__(
        self,
        image_ids,
        table,
        categories,
        ineligible,
        invalid,
        skipped_annotations,
        warnings,
        category_name_keys,
    ):
        self.image_ids = image_ids
        self.table = table
        self.categories = categories
        self.category_name_keys = category_name_keys
        self.ineligible = ineligible
        self.invalid = invalid
        self.skipped_annotations = skipped_annotations
        self.warnings = list(warnings)

    @property
    def num_images(self):
        return len(self.image_ids)


# ---------------------------------------------------------------------------
# Reading


def load_json(path, digest=None):
    """Loads a COCO-format JSON file.

    The text is read losslessly (see :mod:`tfdp.jsonio`): integers beyond 64
    bits stay exact, and the non-standard ``NaN`` and ``Infinity`` that the
    standard library accepts are accepted.

    Args:
        path: the file
        digest (None): a :mod:`hashlib` object, updated with the bytes
            parsed (those of the file when it was read)

    Returns:
        the parsed dict

    Raises:
        TFDPError: if the file is missing, unreadable, not UTF-8 JSON,
            nested too deeply, or not a COCO-format object with ``images``
            and ``annotations`` lists
    """
    data = read_json(path, digest)
    check_structure(data, path)
    return data


def read_json(path, digest=None):
    """Parses a JSON file losslessly, whatever it holds (see
    :func:`load_json`, and its ``digest``).

    Raises:
        TFDPError: if the file is missing, unreadable, not UTF-8 JSON or
            nested too deeply
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise TFDPError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise TFDPError("%s: is a directory, not a JSON file" % path) from None
    except OSError as e:
        raise TFDPError("%s: cannot read: %s" % (path, e.strerror)) from None

    if digest is not None:
        digest.update(raw)
    try:
        data = jsonio.loads(raw)
    except jsonio.JSONError as e:
        raise TFDPError("%s: %s" % (path, e)) from None
    finally:
        del raw  # the text is as large as a tenth of the parsed document
    return data


def check_structure(data, source):
    """Checks the top-level structure of a COCO-format dict.

    Args:
        data: the parsed document
        source: its name in messages

    Raises:
        TFDPError: if ``images`` or ``annotations`` is missing or not a
            list, or ``categories`` is present and not a list
    """
    if not isinstance(data, dict):
        raise TFDPError(
            "%s: a COCO file holds a JSON object, not a %s"
            % (source, jsonio.type_name(data))
        )
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise TFDPError("%s: no %r list" % (source, key))
    categories = data.get("categories", [])
    if not isinstance(categories, list):
        raise TFDPError(
            '%s: "categories" is %s %s, not a list'
            % (source, _article(categories), jsonio.type_name(categories))
        )


# ---------------------------------------------------------------------------
# Validation and measuring


def validate(data, source="<data>", skip_invalid=False):
    """Validates a COCO-format dict as :func:`measure` does, without
    drawing its polygons: what a loader needs, at a fraction of the cost.

    It accepts and refuses the same records with the same messages, but
    for one case that depends on the machine rather than the data:
    :func:`measure` stops on a polygon whose crop does not fit in the
    memory free at the time, and nothing is drawn here. See
    ``docs/method.md``, "Validation".

    Args:
        data: the dict (see :func:`load_json`)
        source ("<data>"): the name of the data in messages (its path)
        skip_invalid (False): skip malformed images and annotations (and
            list them in :attr:`CocoShapes.invalid`) rather than raise

    Returns:
        a :class:`CocoShapes` whose polygons' perimeters and areas are NaN,
        and whose pixel counts are -1

    Raises:
        TFDPError: if the dict is not COCO-shaped
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    return measure(data, source, skip_invalid, measure_jobs=_check_jobs)


#: Annotations checked at once by :func:`validate`: bounds the memory of
#: their packed coordinates
CHECK_JOBS = 10000


def _check_jobs(jobs, progress=None):
    return packed.MeasuredChunk.concatenate(
        packed.chunk_shapes(
            pack_jobs(jobs[start : start + CHECK_JOBS], count_pixels=False),
            draw_polygons=False,
        )
        for start in range(0, len(jobs), CHECK_JOBS)
    )


def measure(
    data, source="<data>", skip_invalid=False, progress=None, measure_jobs=None
):
    """Validates a COCO-format dict and measures its eligible instances.

    This decides whether a document is accepted. Malformed records are
    refused (or, with ``skip_invalid``, skipped and listed): an image whose
    id is used by another image record (every record with that id), or
    without a positive integer size; an annotation without an integer or
    string id, whose image or category is not in the file, whose
    ``iscrowd`` or ``ignore`` is not 0, 1, true or false (absent means 0),
    whose bbox is not 4 numbers, or whose segmentation cannot be decoded
    (scored or not).
    Annotation ids used more than once are accepted with a warning: an
    annotation is identified by its image and its id.

    Args:
        data: the dict (see :func:`load_json`)
        source ("<data>"): the name of the data in messages (its path)
        skip_invalid (False): skip malformed images and annotations (and
            list them in :attr:`CocoShapes.invalid`) rather than raise
        progress (None): a callable ``progress(done, total)``
        measure_jobs (None): ``measure_jobs(jobs, progress)`` measures the
            eligible annotations where an engine runs them and returns a
            :class:`tfdp.packed.MeasuredChunk` of the jobs (see
            :meth:`tfdp.runner.Runner.measure_coco_jobs`); by default, in
            this process

    Returns:
        a :class:`CocoShapes`

    Raises:
        TFDPError: if the dict is not COCO-shaped
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    check_structure(data, source)

    images, image_problems, bad_images = _index_images(data["images"])
    categories, category_list, name_keys, category_problems = (
        _index_categories(data.get("categories", []), source)
    )

    ineligible = collections.Counter()
    skipped = []
    ann_problems = []
    bad_image_annotations = collections.Counter()
    seen_ids = set()
    repeated_positions = []
    jobs = []
    with_category = without_category = 0
    first_without = None  # the position of the first

    images_get = images.get
    categories_get = categories.get
    for position, ann in enumerate(data["annotations"]):
        if type(ann) is not dict:
            ann_problems.append(
                (
                    position,
                    Problem(
                        "annotation",
                        "#%d" % position,
                        None,
                        "is a %s, not an object" % jsonio.type_name(ann),
                    ),
                )
            )
            skipped.append(position)
            continue

        image_id = ann.get("image_id")
        id_type = type(image_id)
        image = (
            images_get(image_id) if id_type is int or id_type is str else None
        )
        if image is None and jsonio.is_id(image_id) and image_id in bad_images:
            bad_image_annotations[image_id] += 1
            skipped.append(position)
            continue

        ann_id = ann.get("id")
        try:
            id_type = type(ann_id)
            if id_type is not int and id_type is not str:
                raise MalformedError("has no integer or string id")
            if image is None:
                raise MalformedError(
                    "image_id %s is not an image of the file"
                    % jsonio.brief(image_id)
                )
            category_id = ann.get("category_id")
            id_type = type(category_id)
            category_index = (
                categories_get(category_id)
                if id_type is int or id_type is str
                else None
            )
            if category_index is None:
                if not without_category:
                    first_without = position
                without_category += 1
                raise MalformedError(
                    "category_id %s is not a category of the file"
                    % jsonio.brief(category_id)
                )
            with_category += 1
            reason = ineligible_reason(
                annotation_instance(ann, image[1], image[2])
            )
            if reason is not None:
                check_segmentation(ann.get("segmentation"), image[1], image[2])
        except geometry.GeometryError as e:
            ann_problems.append(_annotation_problem(ann, position, e))
            skipped.append(position)
            continue

        if ann_id in seen_ids:
            repeated_positions.append(position)
        else:
            seen_ids.add(ann_id)
        if reason is not None:
            ineligible[reason] += 1
            continue
        bbox = ann["bbox"]
        # the box area estimates the cost: a crop never exceeds the image,
        # and a box side may be an integer beyond floats or 1e308
        jobs.append(
            (
                position,
                image[0],
                category_index,
                ann_id,
                image[1],
                image[2],
                ann["segmentation"],
                min(bbox[2], image[1]) * min(bbox[3], image[2]),
            )
        )
    del seen_ids
    if without_category and not with_category:
        # skipping them all would leave a file of images without masks
        ann = data["annotations"][first_without]
        example = _annotation_problem(
            ann,
            first_without,
            MalformedError(
                "category_id %s is not a category of the file"
                % jsonio.brief(ann.get("category_id"))
            ),
        )[1]
        raise TFDPError(
            "%s: none of its %d annotations has a category of the file, "
            "e.g. %s; %s"
            % (
                source,
                len(data["annotations"]),
                describe_problem(example),
                _categories_said(data, category_list),
            )
        )

    if measure_jobs is None:
        with Runner(local_cluster=False) as runner:
            measured = runner.measure_coco_jobs(jobs, progress)
    else:
        measured = measure_jobs(jobs, progress)
    for i in sorted(measured.errors):
        position = jobs[i][0]
        if measured.errors[i] == geometry.OUT_OF_MEMORY:
            out_of_memory(source, data["annotations"][position])
        ann_problems.append(
            _annotation_problem(
                data["annotations"][position], position, measured.errors[i]
            )
        )
        skipped.append(position)
    measured_ok = np.ones(len(jobs), dtype=bool)
    measured_ok[list(measured.errors)] = False
    ids = [job[3] for job, ok in zip(jobs, measured_ok.tolist()) if ok]
    image_index = np.fromiter((job[1] for job in jobs), np.int64, len(jobs))
    category = np.fromiter((job[2] for job in jobs), np.int64, len(jobs))
    del jobs

    skipped.sort()
    ann_problems.sort(key=_problem_position)
    problems = (
        image_problems + category_problems + [p for _, p in ann_problems]
    )
    if problems and not skip_invalid:
        raise InvalidDataError(source, problems)

    for i, problem in enumerate(problems):
        n = bad_image_annotations[problem.id] if problem.kind == "image" else 0
        if n and jsonio.is_id(problem.id):
            problems[i] = problem._replace(
                message="%s (its %d annotation%s skipped too)"
                % (problem.message, n, "" if n == 1 else "s")
            )

    table = ShapeTable(
        ids,
        image_index[measured_ok],
        category[measured_ok],
        measured.perimeter[measured_ok],
        measured.area[measured_ok],
        measured.pixels[measured_ok],
    )
    warnings = _repeated_id_warnings(
        data["annotations"], repeated_positions, set(skipped)
    )
    return CocoShapes(
        list(images),
        table,
        category_list,
        ineligible,
        problems,
        skipped,
        warnings,
        name_keys,
    )


def out_of_memory(source, ann, image_id=None):
    """Stops a measure that ran out of memory: the annotation is not
    malformed, and skipping it would change the result.

    Args:
        source: the file, in messages
        ann: the annotation record
        image_id (None): its image's id, if not its ``image_id``

    Raises:
        TFDPError: always
    """
    raise TFDPError(
        "%s: out of memory measuring annotation %s of image %s"
        % (
            source,
            jsonio.brief(ann.get("id")),
            jsonio.brief(
                ann.get("image_id") if image_id is None else image_id
            ),
        )
    )


def _problem_position(item):
    return item[0]


def _annotation_problem(ann, position, error):
    ann_id = ann.get("id")
    image_id = ann.get("image_id")
    return (
        position,
        Problem(
            "annotation",
            ann_id if jsonio.is_id(ann_id) else "#%d" % position,
            image_id if jsonio.is_id(image_id) else None,
            str(error),
        ),
    )


def _index_images(records):
    # -> {id: (index, width, height)} of the valid images in file order,
    #    problems in file order, ids whose annotations are skipped with
    #    their images
    sizes = {}
    first_position = {}
    repeated = collections.defaultdict(list)
    problems = []  # (position, problem) of records without an id
    size_problems = {}  # image id -> (position, problem)
    for position, image in enumerate(records):
        if type(image) is not dict:
            problems.append(
                (
                    position,
                    Problem(
                        "image",
                        "#%d" % position,
                        None,
                        "is a %s, not an object" % jsonio.type_name(image),
                    ),
                )
            )
            continue
        image_id = image.get("id")
        if not jsonio.is_id(image_id):
            problems.append(
                (
                    position,
                    Problem(
                        "image",
                        "#%d" % position,
                        None,
                        "has no integer or string id",
                    ),
                )
            )
            continue
        if image_id in first_position:
            repeated[image_id].append(position)
            continue
        first_position[image_id] = position
        try:
            sizes[image_id] = image_size(image)
        except MalformedError as e:
            size_problems[image_id] = (
                position,
                Problem("image", image_id, None, str(e)),
            )

    # A repeated image id makes every record with it ambiguous: which one do
    # its annotations belong to? None of them is kept.
    for image_id, positions in repeated.items():
        positions.insert(0, first_position[image_id])
        sizes.pop(image_id, None)
        size_problems[image_id] = (
            positions[0],
            Problem(
                "image",
                image_id,
                None,
                "id used by %d image records (at positions %s)"
                % (len(positions), _listed(positions, quote=False, limit=5)),
            ),
        )
    problems.extend(size_problems.values())
    problems.sort(key=_problem_position)

    bad = set(first_position) - set(sizes)
    images = {
        image_id: (index, width, height)
        for index, (image_id, (width, height)) in enumerate(sizes.items())
    }
    return images, [p for _, p in problems], bad


#: The largest image width or height: OpenCV's coordinates are 32-bit
MAX_IMAGE_SIDE = 2**31 - 1


def image_size(image):
    """The ``(width, height)`` of an image record.

    Args:
        image: the record (a dict)

    Returns:
        a tuple of two ints

    Raises:
        MalformedError: if either is not a positive integer (an integral
            float is one) or exceeds :data:`MAX_IMAGE_SIDE`
    """
    size = []
    for key in ("width", "height"):
        value = image.get(key)
        if (
            type(value) is float
            and math.isfinite(value)
            and value.is_integer()
        ):
            value = int(value)
        if type(value) is not int or value < 1:
            raise MalformedError(
                "%s %s is not a positive integer" % (key, jsonio.brief(value))
            )
        if value > MAX_IMAGE_SIDE:
            raise MalformedError("%s %d is too large" % (key, value))
        size.append(value)
    return tuple(size)


def _article(value):
    return "an" if isinstance(value, dict) else "a"


def _join_words(items):
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _categories_said(data, category_list):
    # why no annotation found its category, for messages
    records = data.get("categories")
    if records is None:
        return 'it has no "categories" list'
    if not records:
        return 'its "categories" list is empty'
    if not category_list:
        return "none of its %d category records is valid" % len(records)
    return "its category ids are %s" % _listed(
        [category_id for category_id, _ in category_list]
    )


def is_category_record(record):
    """Whether a category record is well-formed: an object with an integer
    or string ``id`` (others are malformed, refused or skipped)."""
    return type(record) is dict and jsonio.is_id(record.get("id"))


def _index_categories(records, source):
    # category id -> dense index, (id, name) per index in file order, the
    # name as written per index (see category_name_key), and the problems
    # of malformed records
    index = {}
    categories = []
    keys = []
    problems = []
    for position, record in enumerate(records):
        if type(record) is not dict:
            problems.append(
                Problem(
                    "category",
                    "#%d" % position,
                    None,
                    "is a %s, not an object" % jsonio.type_name(record),
                )
            )
        elif not jsonio.is_id(record.get("id")):
            problems.append(
                Problem(
                    "category",
                    "#%d" % position,
                    None,
                    "has no integer or string id",
                )
            )
        else:
            category_id = record["id"]
            key = category_name_key(record)
            if category_id not in index:
                index[category_id] = len(categories)
                categories.append((category_id, category_name(record)))
                keys.append(key)
            elif keys[index[category_id]] != key:
                first = keys[index[category_id]]
                if first is not None and key is not None:
                    named = "is named %s and %s" % (
                        describe_name(first, jsonio.brief),
                        describe_name(key, jsonio.brief),
                    )
                else:
                    named = "%s in one record and %s in another" % (
                        name_phrase(first, jsonio.brief),
                        name_phrase(key, jsonio.brief),
                    )
                raise TFDPError(
                    "%s: category id %s %s"
                    % (source, jsonio.brief(category_id), named)
                )
    return index, categories, keys, problems


def _repeated_id_warnings(annotations, positions, skipped):
    # annotation ids used more than once: across images (TACO's official
    # file does it) or, worse, twice within one image
    positions = [p for p in positions if p not in skipped]
    if not positions:
        return []
    repeated = {annotations[p]["id"] for p in positions}
    images_by_id = collections.defaultdict(list)
    for position, ann in enumerate(annotations):
        if (
            type(ann) is dict
            and position not in skipped
            and jsonio.is_id(ann.get("id"))
            and ann["id"] in repeated
        ):
            images_by_id[ann["id"]].append(ann.get("image_id"))

    warnings = []
    across = [i for i, imgs in images_by_id.items() if len(set(imgs)) > 1]
    within = [
        (i, image_id)
        for i, imgs in images_by_id.items()
        for image_id, n in collections.Counter(imgs).items()
        if n > 1
    ]
    if across:
        warnings.append(
            "annotation id%s %s %s used by annotations of different images; "
            "every annotation is kept and scored, identified by its image "
            "and its id"
            % (
                "" if len(across) == 1 else "s",
                _listed(across),
                "is" if len(across) == 1 else "are",
            )
        )
    if within:
        warnings.append(
            "annotation id%s %s %s used more than once within one image; "
            "every annotation is kept and scored, but those cannot be told "
            "apart by image and id"
            % (
                "" if len(within) == 1 else "s",
                _listed(
                    [
                        "%s (image %s)" % (jsonio.brief(i), jsonio.brief(m))
                        for i, m in within
                    ],
                    quote=False,
                ),
                "is" if len(within) == 1 else "are",
            )
        )
    return warnings


def _listed(values, quote=True, limit=WARNING_IDS):
    shown = [jsonio.brief(v) if quote else str(v) for v in values[:limit]]
    if len(values) > limit:
        return "%s and %d more" % (", ".join(shown), len(values) - limit)
    return _join_words(shown)


def annotation_instance(ann, width, height):
    """What the eligibility rules look at in a COCO annotation record.

    ``iscrowd`` and ``ignore`` must be 0, 1, true or false; absent means 0.
    The segmentation must be polygons, RLE or null; whether it decodes is
    checked apart (:func:`tfdp.segmentation.check_segmentation`).

    Args:
        ann: the annotation dict
        width: its image's width
        height: its image's height

    Returns:
        a :class:`tfdp.eligibility.Instance`

    Raises:
        MalformedError: if ``iscrowd`` or ``ignore`` is another value, the
            segmentation another type, or the bbox is present but not 4
            numbers
    """
    crowd = _flag(ann, "iscrowd")
    ignore = _flag(ann, "ignore")
    empty = is_empty_segmentation(ann.get("segmentation"))
    bbox = ann.get("bbox")
    if bbox is not None and (
        type(bbox) is not list
        or len(bbox) != 4
        or not jsonio.NUMBER_TYPES.issuperset(map(type, bbox))
    ):
        raise MalformedError(
            "bbox %s is not a list of 4 numbers" % jsonio.brief(bbox)
        )
    return Instance(crowd, ignore, empty, bbox, width, height)


def _flag(ann, key):
    # 0, 1, false or true; absent is 0
    value = ann.get(key, 0)
    if value is False or value is True:
        return value
    if type(value) is int and (value == 0 or value == 1):
        return value == 1
    raise MalformedError(
        "%s %s is not 0, 1, true or false" % (key, jsonio.brief(value))
    )


# ---------------------------------------------------------------------------
# Pruned copies


def prune(data, kept_image_ids, skipped_annotations=()):
    """The data restricted to some images.

    Every kept image's record and all of its annotations are kept as they
    are (crowd and ineligible ones included), in input order, and so is
    every category record but malformed ones (which validation refuses or
    skips; see :func:`is_category_record`). Every other top-level key is
    kept unchanged. Records are shared, not copied.

    Args:
        data: a COCO-format dict
        kept_image_ids: the ids of the images to keep
        skipped_annotations (()): positions of annotations to leave out
            (malformed ones that were skipped)

    Returns:
        a new dict sharing its records with ``data``

    Raises:
        TFDPError: if a kept id is the id of more than one image record
    """
    kept = {i for i in kept_image_ids if jsonio.is_id(i)}
    out = {}
    for key, value in data.items():
        if key == "images":
            value = [
                r
                for r in value
                if type(r) is dict
                and jsonio.is_id(r.get("id"))
                and r["id"] in kept
            ]
            if len(value) != len({r["id"] for r in value}):
                counts = collections.Counter(r["id"] for r in value)
                raise TFDPError(
                    "image id %s is used by more than one image record"
                    % jsonio.brief(next(i for i, n in counts.items() if n > 1))
                )
        elif key == "annotations":
            value = _kept_annotations(value, kept, skipped_annotations)
        elif key == "categories" and isinstance(value, list):
            value = [r for r in value if is_category_record(r)]
        out[key] = value
    return out


def _kept_annotations(annotations, kept, skipped):
    if not skipped:
        return [
            r
            for r in annotations
            if type(r) is dict
            and jsonio.is_id(r.get("image_id"))
            and r["image_id"] in kept
        ]
    skipped = set(skipped)
    return [
        r
        for i, r in enumerate(annotations)
        if type(r) is dict
        and jsonio.is_id(r.get("image_id"))
        and r["image_id"] in kept
        and i not in skipped
    ]
