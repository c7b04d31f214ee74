"""SA-1B-style folders: one JSON file per image, RLE masks, no categories.

Each file holds ``{"image": {"image_id", "width", "height", "file_name"},
"annotations": [{"id", "segmentation": {"size", "counts"}, "bbox", ...}]}``
as Segment Anything's SA-1B stores it. Every mask counts as one class, so
CB-SCS ranks exactly like SI-SCS.

The files are read where the engine runs the tasks (the workers of a
cluster read them from a shared file system), a chunk of files per task.
What a task measured stays where it ran, as a :class:`FolderChunk` of
arrays; the driver gets summaries, per-image scores and, when it writes
them, the score rows of one chunk at a time. Images never span two chunks,
so every reduction is exact and independent of the chunking: class totals
are exact sums (:func:`tfdp.scoring.exact_group_sums`) and an image's score
is the sum of its own masks' scores, in file order.
"""

import collections
import glob
import math
import os
import re

import numpy as np

from tfdp import geometry, jsonio, scoring
from tfdp.coco import (
    WARNING_IDS,
    annotation_instance,
    image_size,
    out_of_memory,
)
from tfdp.eligibility import ineligible_reason
from tfdp.errors import InvalidDataError, Problem, TFDPError
from tfdp.outputs import file_identity
from tfdp.report import SIZE_BUCKETS, retention_counts
from tfdp.runner import SECONDS_PER_JSON_BYTE, TASKS_PER_WORKER
from tfdp.score_tables import check_image_id_types, id_type
from tfdp.segmentation import check_segmentation, measure_segmentation

#: The one class of class-agnostic masks, as ``(category_id, name)``
MASK_CLASS = (None, "mask")

#: Files per task: about :data:`tfdp.runner.TASKS_PER_WORKER` tasks per
#: worker, and at most this many files each. The cap bounds what the driver
#: holds at once (one task's score rows, about 25,000 for SA-1B), whatever
#: the size of the folder, and still makes SA-1B's 11M files 43,000 tasks,
#: not millions: the scheduler's work grows with the number of tasks
MAX_FILES_PER_TASK = 256

_GLOB_CHARS = "*?["
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def is_folder_input(path):
    """Whether an input names an SA-1B-style folder or a glob of files (a
    file whose name holds ``*``, ``?`` or ``[`` is that file)."""
    return os.path.isdir(path) or (
        not os.path.exists(path) and any(c in path for c in _GLOB_CHARS)
    )


def is_sa1b_record(data):
    """Whether a parsed JSON file is one image of an SA-1B-style folder."""
    return isinstance(data, dict) and "image" in data and "images" not in data


def list_files(inputs):
    """The per-image files of SA-1B-style inputs, in a fixed order.

    Args:
        inputs: folders (their ``*.json`` files, not recursive), globs, or
            files

    Returns:
        a list of absolute paths (workers may run in other folders): each
        folder's or glob's files sorted by name, in the order of the inputs;
        a link that leads to no file (broken, or a loop) is listed, to be
        named when it cannot be read

    Raises:
        TFDPError: if an input matches no JSON file, or a file is listed
            twice (also through a link to it or to its folder, or a hard
            link): it would be counted twice
    """
    files = []
    identities = []
    for name in inputs:
        if os.path.isdir(name):
            found = _folder_files(name)
        elif os.path.isfile(name):
            found = [(name, file_identity(name))]
        elif any(c in name for c in _GLOB_CHARS):
            found = sorted(
                (p, file_identity(p))
                for p in glob.glob(name)
                if os.path.isfile(p) or os.path.islink(p)
            )
        else:
            raise TFDPError("%s: no such file or folder" % name)
        if not found:
            raise TFDPError("%s: no JSON file found" % name)
        files.extend(os.path.abspath(p) for p, _ in found)
        identities.extend(identity for _, identity in found)
    _check_listed_once(files, identities)
    return files


def _folder_files(folder):
    # (path, identity) of a folder's *.json files; a plain file is the
    # inode that the folder lists, with no stat per file (an SA-1B folder
    # holds millions), a link is what it leads to
    device = os.stat(folder).st_dev
    found = []
    for entry in os.scandir(folder):
        if not entry.name.endswith(".json"):
            continue
        # is_symlink first: is_file follows a link, and a loop raises
        if entry.is_symlink():
            found.append((entry.path, file_identity(entry.path)))
        elif entry.is_file():
            found.append((entry.path, ("inode", device, entry.inode())))
    found.sort()
    return found


def _check_listed_once(files, identities):
    seen = {}
    for path, identity in zip(files, identities):
        if identity in seen:
            raise TFDPError(
                "%s and %s are the same file: its masks would count twice"
                % (seen[identity], path)
            )
        seen[identity] = path


class FolderChunk(object):
    """What one task measured: the images and masks of a few files.

    Attributes:
        image_ids: per image, its ``image.image_id``
        file_names: per image, its ``image.file_name``
        paths: per image, its file
        repeated_masks: ``(path, mask id)`` of every mask id used more than
            once within one file (once per id and file)
        instance_ids: per eligible mask, its ``id``
        image_index: ``int64`` per eligible mask, its image in this chunk
        perimeter: ``float64`` per eligible mask
        area: ``float64`` per eligible mask
        pixels: ``int64`` per eligible mask
        ineligible: a ``collections.Counter`` of reasons
        invalid: :class:`tfdp.errors.Problem` records, naming their files
    """

    def __init__(self):
        self.image_ids = []
        self.file_names = []
        self.paths = []
        self.repeated_masks = []
        self.instance_ids = []
        self.image_index = []
        self.perimeter = []
        self.area = []
        self.pixels = []
        self.ineligible = collections.Counter()
        self.invalid = []

    @property
    def num_images(self):
        return len(self.image_ids)

    def si_scs(self):
        return scoring.si_scs(self.perimeter, self.area)

    def instance_scores(self, method, total):
        """Per-mask scores; ``total`` is the SI-SCS total of the whole
        collection (the one class's CB-SCS denominator)."""
        if method == "cb-scs":
            values = self.si_scs()
            out = np.zeros_like(values)
            if total > 0:
                np.divide(values, total, out=out)
            return out
        return scoring.instance_scores(method, self.perimeter, self.area, None)


def measure_files(paths):
    """Reads, validates and measures a few per-image files (a task).

    Args:
        paths: the files

    Returns:
        a :class:`FolderChunk`; malformed files, images and masks are
        listed in its ``invalid`` and left out
    """
    chunk = FolderChunk()
    ids, image_index, perimeter, area, pixels = [], [], [], [], []
    for path in paths:
        try:
            image, annotations = _read_record(path)
        except _BadFile as e:
            chunk.invalid.append(Problem("image", path, None, str(e)))
            continue

        width, height = image["width"], image["height"]
        index = len(chunk.image_ids)
        measured = []
        problems = []
        seen_ids = set()
        repeated = {}
        for position, ann in enumerate(annotations):
            if not isinstance(ann, dict):
                problems.append(
                    Problem(
                        "annotation", "#%d" % position, path, "not an object"
                    )
                )
                continue
            ann_id = ann.get("id")
            try:
                if not jsonio.is_id(ann_id):
                    raise geometry.GeometryError(
                        "annotation has no integer or string id"
                    )
                reason = ineligible_reason(
                    annotation_instance(ann, width, height)
                )
                if reason is not None:
                    # malformed is malformed, scored or not (as for COCO)
                    check_segmentation(ann.get("segmentation"), width, height)
                    chunk.ineligible[reason] += 1
                else:
                    try:
                        shape = measure_segmentation(
                            ann["segmentation"], width, height
                        )
                    except MemoryError:
                        out_of_memory(path, ann, image["image_id"])
            except geometry.GeometryError as e:
                problems.append(
                    Problem(
                        "annotation",
                        ann_id if jsonio.is_id(ann_id) else "#%d" % position,
                        path,
                        str(e),
                    )
                )
                continue
            # well-formed, scored or not: its id counts (as for COCO)
            key = (type(ann_id), ann_id)
            if key in seen_ids:
                repeated.setdefault(key, ann_id)
            else:
                seen_ids.add(key)
            if reason is None:
                measured.append((ann_id, shape))

        chunk.invalid.extend(problems)
        chunk.image_ids.append(image["image_id"])
        chunk.file_names.append(image["file_name"])
        chunk.paths.append(path)
        chunk.repeated_masks.extend((path, i) for i in repeated.values())
        for ann_id, shape in measured:
            ids.append(ann_id)
            image_index.append(index)
            perimeter.append(shape.perimeter)
            area.append(shape.area)
            pixels.append(shape.pixels)

    chunk.instance_ids = ids
    chunk.image_index = np.asarray(image_index, dtype=np.int64)
    chunk.perimeter = np.asarray(perimeter, dtype=np.float64)
    chunk.area = np.asarray(area, dtype=np.float64)
    chunk.pixels = np.asarray(pixels, dtype=np.int64)
    return chunk


class _BadFile(Exception):
    pass


def _read_record(path):
    try:
        with open(path, "rb") as f:
            data = jsonio.loads(f.read())
    except OSError as e:
        raise _BadFile("cannot read: %s" % (e.strerror or e)) from None
    except jsonio.JSONError as e:
        raise _BadFile(str(e)) from None

    if not isinstance(data, dict):
        raise _BadFile(
            'holds a JSON %s, not an object with "image" and '
            '"annotations"' % type(data).__name__
        )
    image = data.get("image")
    if not isinstance(image, dict):
        raise _BadFile('no "image" object')
    annotations = data.get("annotations")
    if not isinstance(annotations, list):
        raise _BadFile('no "annotations" list')
    if not jsonio.is_id(image.get("image_id")):
        raise _BadFile("image has no integer or string image_id")
    try:
        width, height = image_size(image)
    except geometry.GeometryError as e:
        raise _BadFile("image %s" % e) from None
    name = image.get("file_name")
    if not isinstance(name, str) or not name or _CONTROL.search(name):
        # the kept list has one name per line
        raise _BadFile(
            "image file_name %s is not a file name (a non-empty string "
            "without line breaks)" % jsonio.brief(name)
        )
    if name.startswith("/") or ".." in name.split("/"):
        # the kept list is meant for tar -T and the like: a name must stay
        # in the images' folder
        raise _BadFile(
            "image file_name %s climbs out of its folder (an absolute path "
            "or a '..' part)" % jsonio.brief(name)
        )
    if name.rsplit("/", 1)[-1] in ("", "."):
        # "." in a list for tar -T would take the whole folder
        raise _BadFile(
            "image file_name %s names a folder, not a file"
            % jsonio.brief(name)
        )
    image = dict(image, width=width, height=height)
    return image, annotations


def chunk_summary(chunk):
    """What the driver needs of a chunk after measuring (a task).

    Returns:
        a dict: ``images``, ``instances``, ``ineligible``, ``invalid``,
        ``si_total`` (the exact SI-SCS sum, see
        :func:`tfdp.scoring.exact_group_sums`), ``id_kinds`` (the Python
        types of its image ids, each with an image to name, and of its mask
        ids, for the score table's schema),
        ``image_keys`` and ``name_keys`` (a 64-bit digest of each image's
        id and of its ``file_name``, to find repeats across chunks while
        the driver holds 8 bytes per image), and ``repeated_masks`` (how
        many mask ids are used twice within one file, and the first
        :data:`tfdp.coco.WARNING_IDS` of them as ``(path, id)``)
    """
    (si_total,) = scoring.exact_group_sums(
        chunk.si_scs(), np.zeros(len(chunk.instance_ids), np.int64), 1
    )
    return dict(
        images=chunk.num_images,
        instances=len(chunk.instance_ids),
        ineligible=chunk.ineligible,
        invalid=chunk.invalid,
        si_total=si_total,
        id_kinds=(
            {
                type(i).__name__: "image %s (%s)" % (jsonio.brief(i), path)
                for i, path in reversed(
                    list(zip(chunk.image_ids, chunk.paths))
                )
            },
            {type(i).__name__ for i in chunk.instance_ids},
        ),
        image_keys=_digests(chunk.image_ids),
        name_keys=_digests(chunk.file_names),
        repeated_masks=(
            len(chunk.repeated_masks),
            chunk.repeated_masks[:WARNING_IDS],
        ),
    )


def _digests(values):
    # ids are ints or strings (1 and "1" differ); JSON text is valid UTF-8
    import hashlib  # loads OpenSSL, which COCO files do not need

    return np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(
                    ("%s:%s" % (type(v).__name__, v)).encode("utf-8"),
                    digest_size=8,
                ).digest(),
                "little",
            )
            for v in values
        ),
        dtype=np.uint64,
        count=len(values),
    )


def chunk_image_records(chunk, positions):
    """``(image_id, file_name, path)`` of some images of a chunk (a
    task)."""
    return [
        (chunk.image_ids[i], chunk.file_names[i], chunk.paths[i])
        for i in positions
    ]


def chunk_image_scores(chunk, method, total):
    """Per-image scores of a chunk (a task).

    Args:
        chunk: a :class:`FolderChunk`
        method: a shape-complexity method
        total: the collection's SI-SCS total (for ``"cb-scs"``)

    Returns:
        a ``float64`` array, one score per image of the chunk
    """
    return scoring.image_scores(
        chunk.image_index,
        chunk.instance_scores(method, total),
        chunk.num_images,
    )


def chunk_retention(chunk, kept):
    """Counts of masks before and after a pruning, by size (a task).

    Args:
        chunk: a :class:`FolderChunk`
        kept: a boolean array over the chunk's images

    Returns:
        a dict: ``instances`` and each size bucket's name, mapped to
        ``(before, after)``
    """
    kept_masks = np.asarray(kept, dtype=bool)[chunk.image_index]
    bounds = [lower for _, lower in SIZE_BUCKETS[1:]]
    bucket = np.searchsorted(bounds, chunk.pixels, side="right")
    counts = {"instances": (len(kept_masks), int(kept_masks.sum()))}
    for index, (name, _) in enumerate(SIZE_BUCKETS):
        in_bucket = bucket == index
        counts[name] = (
            int(in_bucket.sum()),
            int((in_bucket & kept_masks).sum()),
        )
    return counts


def chunk_file_names(chunk, positions):
    """The ``file_name`` of some images of a chunk (a task)."""
    return [chunk.file_names[i] for i in positions]


def chunk_score_columns(chunk, total):
    """The score table's columns for a chunk's masks (a task).

    Args:
        chunk: a :class:`FolderChunk`
        total: the collection's SI-SCS total

    Returns:
        a dict of columns (see :data:`tfdp.score_tables.COLUMNS`), with
        ``category_id`` all None
    """
    si = chunk.si_scs()
    cb = np.zeros_like(si)
    if total > 0:
        np.divide(si, total, out=cb)
    image_ids = chunk.image_ids
    return {
        "image_id": [image_ids[i] for i in chunk.image_index.tolist()],
        "annotation_id": list(chunk.instance_ids),
        "category_id": [None] * len(chunk.instance_ids),
        "perimeter": chunk.perimeter,
        "area": chunk.area,
        "scs": scoring.scs(chunk.perimeter, chunk.area),
        "si_scs": si,
        "cb_scs": cb,
    }


def _repeated_positions(keys):
    # the sorted positions of the keys that occur more than once
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return np.zeros(0, dtype=np.int64)
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[order[1:][same]] = True
    repeated[order[:-1][same]] = True
    return np.flatnonzero(repeated)


def _groups(items):
    # [(key, [path, ...]), ...] of the keys given with more than one path,
    # in order of first appearance (equal digests of different values are
    # told apart here)
    paths = {}
    for path, key in items:
        paths.setdefault(key, []).append(path)
    return [(key, p) for key, p in paths.items() if len(p) > 1]


def _listed_groups(groups, show):
    # (plural "s", the groups named, "is"/"are"), for a warning
    listed = [
        "%s (%s)" % (show(key), _more(paths[:3], len(paths)))
        for key, paths in groups[:WARNING_IDS]
    ]
    one = len(groups) == 1
    return (
        "" if one else "s",
        _more(listed, len(groups)),
        "is" if one else "are",
    )


def _more(shown, total):
    # "a", "a and b", "a, b and c", or "a, b, c and 4 more"
    if total > len(shown):
        return "%s and %d more" % (", ".join(shown), total - len(shown))
    if len(shown) <= 2:
        return " and ".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


class FolderShapes(object):
    """The measured masks of an SA-1B-style collection, held by an engine.

    Create it with :func:`measure_folder`.

    Attributes:
        source: the inputs, for messages
        files: the per-image files, in collection order
        num_images: how many images were measured (skipped files are not
            images of the collection)
        num_instances: how many masks were scored
        ineligible: a ``collections.Counter`` of reasons why masks were not
            scored
        invalid: the skipped :class:`tfdp.errors.Problem` records
        si_total: the SI-SCS total of all masks (CB-SCS's one class total)
        id_kinds: the Python type names of the image ids (a dict naming an
            image of each) and of the mask ids (a set)
        warnings: messages about what is unusual but not wrong (an image
            id or ``file_name`` used by several files, a mask id used twice
            within one file)
    """

    def __init__(self, engine, handles, summaries, source, files):
        self.engine = engine
        self.handles = handles
        self.source = source
        self.files = files
        self.chunk_images = [s["images"] for s in summaries]
        self.offsets = np.concatenate(
            ([0], np.cumsum(self.chunk_images, dtype=np.int64))
        )
        self.num_images = int(self.offsets[-1])
        self.num_instances = sum(s["instances"] for s in summaries)
        self.ineligible = collections.Counter()
        self.invalid = []
        exact_total = 0
        image_kinds, mask_kinds = {}, set()
        for s in summaries:
            self.ineligible.update(s["ineligible"])
            self.invalid.extend(s["invalid"])
            exact_total += s["si_total"]
            for kind, example in s["id_kinds"][0].items():
                image_kinds.setdefault(kind, example)
            mask_kinds |= s["id_kinds"][1]
        self.si_total = scoring.exact_to_float(exact_total)
        self.id_kinds = (image_kinds, mask_kinds)
        self.warnings = []

    def find_repeats(self, summaries):
        """Sets :attr:`warnings` from the chunks' summaries.

        An image is identified by its file: its masks are in it, and the
        kept list names its ``file_name``. Image ids are never keys, so an
        image id used by several files is scored and kept as it is, but the
        score table cannot tell those images' rows apart; a mask id used
        twice within one file cannot be told apart by image and id; and
        images that share a ``file_name`` are one line of the kept list.
        Mask ids used by several files are not looked for: the driver would
        hold every mask id, and an image id and a mask id tell them apart.

        Args:
            summaries: what :func:`chunk_summary` returned, per chunk
        """
        warnings = []
        masks = sum(s["repeated_masks"][0] for s in summaries)
        if masks:
            listed = [
                "%s (in %s)" % (jsonio.brief(ann_id), path)
                for s in summaries
                for path, ann_id in s["repeated_masks"][1]
            ][:WARNING_IDS]
            warnings.append(
                "mask id%s %s %s used more than once within one file; every "
                "mask is kept and scored, but those cannot be told apart by "
                "image and id"
                % (
                    "" if masks == 1 else "s",
                    _more(listed, masks),
                    "is" if masks == 1 else "are",
                )
            )
        if self.num_images < 2:
            self.warnings = warnings
            return
        ids = _repeated_positions(
            np.concatenate([s["image_keys"] for s in summaries])
        )
        names = _repeated_positions(
            np.concatenate([s["name_keys"] for s in summaries])
        )
        if len(ids) or len(names):
            records = self._image_records(np.union1d(ids, names))
            by_id = _groups(
                (records[i][2], (type(records[i][0]), records[i][0]))
                for i in ids.tolist()
            )
            if by_id:
                warnings.append(
                    "image id%s %s %s used by several files; every image is "
                    "kept and scored, identified by its file, but the score "
                    "table cannot tell their rows apart by image id"
                    % _listed_groups(by_id, lambda key: jsonio.brief(key[1]))
                )
            by_name = _groups(
                (records[i][2], records[i][1]) for i in names.tolist()
            )
            if by_name:
                warnings.append(
                    "file_name%s %s %s used by several files; every image "
                    "is kept and scored, but the kept list names image "
                    "files, so it cannot tell those images apart"
                    % _listed_groups(by_name, jsonio.brief)
                )
        self.warnings = warnings

    def _image_records(self, images):
        # {image: (image_id, file_name, path)} of a few images
        chunk_of = np.searchsorted(self.offsets, images, side="right") - 1
        positions = [[] for _ in self.handles]
        for image, k in zip(images.tolist(), chunk_of.tolist()):
            positions[k].append(image - int(self.offsets[k]))
        wanted = [k for k, p in enumerate(positions) if p]
        parts = self.engine.apply(
            chunk_image_records,
            [self.handles[k] for k in wanted],
            [(positions[k],) for k in wanted],
        )
        records = {}
        for k, part in zip(wanted, self.engine.results(parts)):
            for position, record in zip(positions[k], part):
                records[int(self.offsets[k]) + position] = record
        return records

    def rank(self, method, seed=None):
        """Ranks the images (see :func:`tfdp.scoring.rank`).

        Returns:
            ``(order, image_scores)``; the driver holds one score per image
        """
        scoring.validate_method(method)
        if method == "random":
            return (
                scoring.rank_images(num_images=self.num_images, seed=seed),
                None,
            )
        parts = self.engine.apply(
            chunk_image_scores,
            self.handles,
            [(method, self.si_total)] * len(self.handles),
        )
        scores = np.empty(self.num_images, dtype=np.float64)
        for k, part in enumerate(self.engine.results(parts)):
            scores[self.offsets[k] : self.offsets[k + 1]] = part
        return scoring.rank_images(scores), scores

    def _per_chunk(self, values):
        return [
            (values[self.offsets[k] : self.offsets[k + 1]],)
            for k in range(len(self.handles))
        ]

    def kept_file_names(self, order, kept):
        """The ``file_name`` of the kept images, best first.

        Args:
            order: the ranking, from :meth:`rank`
            kept: a boolean array over images (from
                :func:`tfdp.scoring.select`)

        Returns:
            a list of file names
        """
        ranked_kept = np.asarray(order)[: int(np.sum(kept))]
        chunk_of = np.searchsorted(self.offsets, ranked_kept, side="right") - 1
        positions = [[] for _ in self.handles]
        for image, k in zip(ranked_kept.tolist(), chunk_of.tolist()):
            positions[k].append(image - int(self.offsets[k]))
        names = {}
        parts = self.engine.apply(
            chunk_file_names, self.handles, [(p,) for p in positions]
        )
        for k, part in enumerate(self.engine.results(parts)):
            for position, name in zip(positions[k], part):
                names[int(self.offsets[k]) + position] = name
        return [names[i] for i in ranked_kept.tolist()]

    def report(self, kept, method):
        """The retention report of a pruning (see
        :func:`tfdp.report.retention_report`): one class, ``mask``."""
        kept = np.asarray(kept, dtype=bool)
        parts = self.engine.apply(
            chunk_retention, self.handles, self._per_chunk(kept)
        )
        totals = collections.defaultdict(lambda: [0, 0])
        for part in self.engine.results(parts):
            for key, (before, after) in part.items():
                totals[key][0] += before
                totals[key][1] += after
        before, after = totals["instances"]
        classes = []
        if before:
            category_id, name = MASK_CLASS
            classes.append(
                retention_counts(
                    before, after, category_id=category_id, name=name
                )
            )
        return {
            "method": method,
            "images": retention_counts(kept.size, kept.sum()),
            "instances": retention_counts(before, after),
            "classes": classes,
            "sizes": {
                name: retention_counts(*totals[name])
                for name, _ in SIZE_BUCKETS
            },
            "ineligible": dict(sorted(self.ineligible.items())),
            "invalid": [
                {
                    "kind": p.kind,
                    "id": p.id,
                    "image_id": p.image_id,
                    "message": p.message,
                }
                for p in self.invalid
            ],
        }

    def id_types(self):
        """The score table's id column types (see
        :func:`tfdp.score_tables.id_type`); ``category_id`` is null.

        Raises:
            TFDPError: if image ids mix numbers and strings
        """
        image_kinds, mask_kinds = self.id_kinds
        check_image_id_types(image_kinds)
        return {
            "image_id": id_type(image_kinds),
            "annotation_id": id_type(mask_kinds),
            "category_id": "null",
        }

    def score_parts(self):
        """Yields the score table's columns one chunk at a time, in order:
        the workers build them, the driver holds one at a time."""
        parts = self.engine.apply(
            chunk_score_columns,
            self.handles,
            [(self.si_total,)] * len(self.handles),
        )
        yield from self.engine.results(parts)


def measure_folder(
    inputs, runner, skip_invalid=False, source=None, files=None
):
    """Measures every mask of SA-1B-style inputs.

    Args:
        inputs: folders, globs or files (see :func:`list_files`)
        runner: a :class:`tfdp.runner.Runner`, which picks the engine
        skip_invalid (False): skip malformed files, images and masks (and
            list them in :attr:`FolderShapes.invalid`) rather than raise
        source (None): the name of the collection in messages (the inputs
            by default)
        files (None): the files of the inputs, if listed already
            (:func:`list_files`)

    Returns:
        a :class:`FolderShapes`

    Raises:
        TFDPError: if an input matches no file
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    if files is None:
        files = list_files(inputs)
    source = source or " ".join(inputs)
    engine = runner.engine_for(_estimated_bytes(files) * SECONDS_PER_JSON_BYTE)
    per_task = math.ceil(len(files) / (engine.workers * TASKS_PER_WORKER))
    per_task = max(1, min(MAX_FILES_PER_TASK, per_task))
    tasks = [files[i : i + per_task] for i in range(0, len(files), per_task)]
    handles = engine.map(
        measure_files,
        tasks,
        weights=[len(t) for t in tasks],
        progress=runner.progress,
    )
    summaries = list(engine.results(engine.apply(chunk_summary, handles)))
    shapes = FolderShapes(engine, handles, summaries, source, files)
    if shapes.invalid and not skip_invalid:
        raise InvalidDataError(source, shapes.invalid)
    shapes.find_repeats(summaries)
    return shapes


def _estimated_bytes(files, sample=1000):
    # the size of a sample of files, scaled to all of them
    step = max(1, len(files) // sample)
    sizes = []
    for path in files[::step]:
        try:
            sizes.append(os.path.getsize(path))
        except OSError:
            sizes.append(0)
    return sum(sizes) / len(sizes) * len(files) if sizes else 0
