"""Shape of one instance: perimeter and area of its largest external contour.

Every function here rasterises an instance on the smallest crop that holds
all of its pixels, so the cost grows with the object, not with its image. The
crop is clipped to the image exactly as OpenCV clips a full-size canvas, which
makes the contour (and so every score) identical to the full-canvas
computation of docs/method.md, only shifted.

Only numpy and OpenCV are used.
"""

import itertools
import math
import numbers
from collections import namedtuple

import cv2
import numpy as np

from tfdp import jsonio

#: Perimeter ``P`` and area ``A`` of the largest external contour, and the
#: number of mask pixels (used for COCO size buckets, never for scores).
Shape = namedtuple("Shape", ["perimeter", "area", "pixels"])

EMPTY_SHAPE = Shape(0.0, 0.0, 0)

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


class GeometryError(ValueError):
    """A segmentation that cannot be interpreted."""


def contour_shape(mask, pixels=None):
    """Measures the largest external contour of a binary mask.

    Args:
        mask: a 2D ``uint8`` array, non-zero on the instance
        pixels (None): the number of non-zero pixels of ``mask`` when the
            caller knows it (-1 when it is not wanted); counted otherwise

    Returns:
        a :class:`Shape`; perimeter and area are 0 when there is no contour
    """
    contours, _ = _find_contours(mask, _EXTERNAL, _SIMPLE)
    if pixels is None:
        pixels = _count_non_zero(mask)
    if len(contours) == 1:  # most instances
        best = contours[0]
        best_area = _contour_area(best)
    else:
        best = None
        best_area = -1.0
        for contour in contours:
            area = _contour_area(contour)
            if area > best_area:  # strict: the first contour wins a tie
                best, best_area = contour, area

    if best is None or best_area == 0:
        return Shape(0.0, 0.0, pixels)

    return Shape(float(cv2.arcLength(best, True)), float(best_area), pixels)


_find_contours = cv2.findContours
_count_non_zero = cv2.countNonZero
_contour_area = cv2.contourArea
_EXTERNAL = cv2.RETR_EXTERNAL
_SIMPLE = cv2.CHAIN_APPROX_SIMPLE


def polygon_parts(segmentation):
    """Converts COCO polygon parts to truncated integer vertex arrays.

    Args:
        segmentation: a list of flat ``[x1, y1, x2, y2, ...]`` lists

    Returns:
        a list of ``(n, 2)`` ``int32`` arrays, one per non-empty part

    Raises:
        GeometryError: if a part is not a flat list of an even number of
            finite numbers (not strings, not booleans) within the int32
            range
    """
    parts = []
    for index, part in enumerate(segmentation):
        if type(part) is not list and not isinstance(part, (list, tuple)):
            raise GeometryError(
                "polygon part %d is a %s, not a list of coordinates"
                % (index, jsonio.type_name(part))
            )
        if len(part) % 2:
            raise GeometryError(
                "polygon part %d has an odd number of coordinates (%d)"
                % (index, len(part))
            )
        if not part:
            continue  # an empty part draws nothing
        if not jsonio.NUMBER_TYPES.issuperset(map(type, part)):
            _check_numbers(part, "polygon part %d" % index)
        try:
            coords = np.array(part, dtype=np.float64)
        except OverflowError:  # an integer beyond the range of a double
            raise GeometryError(
                "polygon part %d has coordinates out of range" % index
            ) from None
        # min and max are NaN or infinite when any coordinate is
        low, high = float(coords.min()), float(coords.max())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise GeometryError(
                "polygon part %d has non-finite coordinates" % index
            )
        if low <= _INT32_MIN - 1 or high >= _INT32_MAX + 1:
            raise GeometryError(
                "polygon part %d has coordinates out of range" % index
            )
        # Truncation toward zero, as numpy's astype(int32) does
        parts.append(coords.astype(np.int32).reshape(-1, 2))

    return parts


def _check_numbers(values, what, noun="coordinate"):
    # the slow path, for types other than int and float: numpy's and other
    # real numbers pass; strings, booleans, lists and null do not
    for value in values:
        if not isinstance(value, numbers.Real) or isinstance(
            value, (bool, np.bool_)
        ):
            raise GeometryError(
                "%s has a %s that is not a number: %s"
                % (what, noun, jsonio.brief(value, 40))
            )


#: The largest crop rasterised, in pixels (1 GiB of mask)
MAX_CROP_PIXELS = 2**30

#: The message of an instance whose crop is within the limit but does not
#: fit in the memory free now: no fault of the data, so callers stop rather
#: than skip it as malformed
OUT_OF_MEMORY = "out of memory"


def _crop(height, width):
    if height * width > MAX_CROP_PIXELS:
        raise GeometryError(_too_large(width, height))
    return np.zeros((height, width), dtype=np.uint8)


def _too_large(width, height):
    return "mask spans %d x %d pixels, more than can be rasterised" % (
        width,
        height,
    )


def polygon_shape(parts, width, height):
    """Measures an instance given as polygon parts.

    Each part is filled separately (OpenCV's 8-connected polygon fill, value
    1) and the parts are OR-ed, on a crop of the ``height x width`` image.

    Args:
        parts: the output of :func:`polygon_parts`
        width: the image width
        height: the image height

    Returns:
        a :class:`Shape`

    Raises:
        GeometryError: if the crop would be too large to rasterise
    """
    if not parts:
        return EMPTY_SHAPE

    if len(parts) == 1:
        points = parts[0]
    else:
        points = np.concatenate(parts)

    # bounds as Python ints: OpenCV's boundingRect wraps its int32 width
    # when the points span 2**31 or more
    (x, y), (x_hi, y_hi) = (
        points.min(axis=0).tolist(),
        points.max(axis=0).tolist(),
    )
    # Clip the crop to the image, so that its edges clip the fill where the
    # image's edges would
    x0 = x if x > 0 else 0
    y0 = y if y > 0 else 0
    x1 = min(x_hi, width - 1)
    y1 = min(y_hi, height - 1)
    if x0 > x1 or y0 > y1:
        return EMPTY_SHAPE

    crop = _crop(y1 - y0 + 1, x1 - x0 + 1)
    # OpenCV adds the offset in 64 bits: no int32 wrap far off the image
    offset = (-x0, -y0)
    for part in parts:
        cv2.fillPoly(crop, [part], 1, cv2.LINE_8, 0, offset)

    return contour_shape(crop)


def polygon_array_shapes(
    coords, part_count, part_length, widths, heights, count_pixels=True
):
    """Measures many instances given as the flat arrays of their polygons.

    The same as :func:`polygon_shape` for each instance (the same crops,
    fills and contours), with the crop bounds computed for all instances at
    once and large crops sharing one buffer: the Python work per instance
    that remains is the OpenCV calls.

    Without pixel counts, an instance that lies inside its image is drawn
    as its outline only: the same edges the fill draws (OpenCV draws each
    edge as an 8-connected line, then fills between them), without the
    inside. The fill adds only pixels that the outline encloses, so the
    external contours are the same, and tracing a crop that is mostly
    empty costs OpenCV less.

    Args:
        coords: the integer coordinates of all parts, concatenated, already
            truncated toward zero (``int16`` or ``int32``)
        part_count: parts per instance (0 for an instance with none)
        part_length: coordinates per part, empty parts included
        widths: their images' widths
        heights: their images' heights
        count_pixels (True): whether to count the mask pixels of each
            instance; when False, every :attr:`Shape.pixels` is -1

    Returns:
        a list with, per instance, a :class:`Shape` or the
        :class:`GeometryError` that says why it cannot be measured
    """
    n = len(part_count)
    shapes = [EMPTY_SHAPE] * n
    points = coords.astype(np.int32, copy=False).reshape(-1, 2)
    groups = _polygon_groups(points, part_count, part_length, widths, heights)
    if groups is None:
        return shapes
    owners, first, part_start, part_end, bounds, crops = groups
    group_end = np.r_[first[1:], part_start.size].tolist()
    part_bounds = list(zip(part_start.tolist(), part_end.tolist()))

    # outlines only where the image does not clip them (a clipped outline
    # is open), on crops of fewer rows than OUTLINE_MAX_ROWS
    outline = [
        not count_pixels
        and x_lo >= 0
        and y_lo >= 0
        and x_hi < widths[index]
        and y_hi < heights[index]
        and y_hi - y_lo < OUTLINE_MAX_ROWS
        for index, (x_lo, x_hi, y_lo, y_hi) in zip(owners, bounds)
    ]
    if any(outline):
        # Lines take no offset: the points of an outline are moved into
        # its crop (the others stay, unused)
        origins = np.array(
            [
                crop[:2] if drawn else (0, 0)
                for crop, drawn in zip(crops, outline)
            ],
            dtype=np.int32,
        ).reshape(-1, 2)
        points_per_group = np.add.reduceat(part_end - part_start, first)
        points = points - np.repeat(origins, points_per_group, axis=0)
    # Large crops share one buffer: fresh memory for each costs a page
    # fault per 4 KiB, more than clearing memory already mapped
    large = [
        w * h
        for _, _, w, h in crops
        if SCRATCH_MIN_PIXELS <= w * h <= SCRATCH_MAX_PIXELS
        and w > 0
        and h > 0
    ]
    scratch = np.empty(max(large), dtype=np.uint8) if len(large) > 1 else None

    for index, a, b, (x0, y0, crop_w, crop_h), drawn in zip(
        owners, first.tolist(), group_end, crops, outline
    ):
        if crop_w <= 0 or crop_h <= 0:
            continue
        try:
            if (
                scratch is not None
                and SCRATCH_MIN_PIXELS <= crop_w * crop_h <= scratch.size
            ):
                crop = scratch[: crop_w * crop_h].reshape(crop_h, crop_w)
                crop.fill(0)
            else:
                crop = _crop(crop_h, crop_w)
        except GeometryError as e:
            shapes[index] = e
            continue
        except MemoryError:
            shapes[index] = GeometryError(OUT_OF_MEMORY)
            continue
        if drawn:
            cv2.polylines(
                crop,
                [points[start:end] for start, end in part_bounds[a:b]],
                True,
                1,
                1,
                cv2.LINE_8,
            )
            shapes[index] = contour_shape(crop, -1)
            continue
        offset = (-x0, -y0)
        for start, end in part_bounds[a:b]:
            cv2.fillPoly(crop, [points[start:end]], 1, cv2.LINE_8, 0, offset)
        shapes[index] = contour_shape(crop, None if count_pixels else -1)
    return shapes


def polygon_array_errors(coords, part_count, part_length, widths, heights):
    """What :func:`polygon_array_shapes` would refuse, without drawing.

    Measuring a polygon fails only when its crop is larger than
    :data:`MAX_CROP_PIXELS` or does not fit in the memory free at the time;
    this finds the first, from the crops' bounds alone.

    Args:
        coords: as for :func:`polygon_array_shapes`
        part_count: as for :func:`polygon_array_shapes`
        part_length: as for :func:`polygon_array_shapes`
        widths: as for :func:`polygon_array_shapes`
        heights: as for :func:`polygon_array_shapes`

    Returns:
        a list with, per instance, None or the :class:`GeometryError` that
        :func:`polygon_array_shapes` would give it
    """
    errors = [None] * len(part_count)
    points = coords.astype(np.int32, copy=False).reshape(-1, 2)
    groups = _polygon_groups(points, part_count, part_length, widths, heights)
    if groups is None:
        return errors
    owners, crops = groups[0], groups[5]
    for index, (_, _, w, h) in zip(owners, crops):
        if w > 0 and h > 0 and w * h > MAX_CROP_PIXELS:
            errors[index] = GeometryError(_too_large(w, h))
    return errors


def _polygon_groups(points, part_count, part_length, widths, heights):
    # (owners, first, part_start, part_end, bounds, crops): per instance
    # with a filled part, its index, its first filled part, its bounds
    # (x_min, x_max, y_min, y_max) and its crop (x0, y0, width, height),
    # clipped to the image as polygon_shape clips it; per filled part, its
    # first and end points. None if no part is filled
    n = len(part_count)
    owner = np.repeat(np.arange(n), part_count)
    counts = np.asarray(part_length, dtype=np.int64) // 2
    filled = counts > 0  # an empty part draws nothing
    part_start = np.cumsum(counts) - counts
    part_owner = owner[filled]
    part_start, part_end = part_start[filled], (part_start + counts)[filled]
    if not part_start.size:
        return None
    # The points of an instance's filled parts are consecutive: its bounds
    # are reductions over one range per instance
    first = np.flatnonzero(np.r_[True, part_owner[1:] != part_owner[:-1]])
    group_start = part_start[first]
    xs, ys = points[:, 0], points[:, 1]
    bounds = list(
        zip(
            np.minimum.reduceat(xs, group_start).tolist(),
            np.maximum.reduceat(xs, group_start).tolist(),
            np.minimum.reduceat(ys, group_start).tolist(),
            np.maximum.reduceat(ys, group_start).tolist(),
        )
    )
    owners = part_owner[first].tolist()
    crops = []
    for index, (x_lo, x_hi, y_lo, y_hi) in zip(owners, bounds):
        width, height = widths[index], heights[index]
        x0 = x_lo if x_lo > 0 else 0
        y0 = y_lo if y_lo > 0 else 0
        x1 = x_hi if x_hi < width - 1 else width - 1
        y1 = y_hi if y_hi < height - 1 else height - 1
        crops.append((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
    return owners, first, part_start, part_end, bounds, crops


def polygon_arrays(segmentations):
    """Well-formed COCO polygon segmentations as flat arrays.

    Checks every instance at once, in bulk passes: each is a list of lists
    of an even number of JSON numbers (not booleans, not strings), finite
    and within the int32 range.

    Args:
        segmentations: a list of polygon segmentations

    Returns:
        ``(coords, part_count, part_length)``: the ``float64`` coordinates of
        all parts, concatenated; parts per instance; coordinates per part
        (``int64``). None if any instance is not well-formed, which
        :func:`polygon_parts` then names
    """
    if not _LIST_TYPE.issuperset(map(type, segmentations)):
        return None
    parts = list(itertools.chain.from_iterable(segmentations))
    if not _LIST_TYPE.issuperset(map(type, parts)):
        return None
    part_length = np.fromiter(map(len, parts), np.int64, len(parts))
    if (part_length & 1).any() or not jsonio.NUMBER_TYPES.issuperset(
        map(type, itertools.chain.from_iterable(parts))
    ):
        return None
    try:
        coords = np.fromiter(
            itertools.chain.from_iterable(parts),
            np.float64,
            int(part_length.sum()),
        )
    except OverflowError:
        return None
    if not coords_in_range(coords):
        return None
    part_count = np.fromiter(
        map(len, segmentations), np.int64, len(segmentations)
    )
    return coords, part_count, part_length


_LIST_TYPE = frozenset((list,))


def coords_in_range(coords):
    """Whether ``float64`` coordinates are all finite and truncate toward
    zero into the int32 range (True when there are none)."""
    if not coords.size:
        return True
    low, high = float(coords.min()), float(coords.max())
    # NaN fails both comparisons; infinities are out of range
    return _INT32_MIN - 1 < low and high < _INT32_MAX + 1


#: Rows from which a polygon is filled even without pixel counts. OpenCV's
#: fill steps down each edge in 16-bit fixed point, and its error grows by
#: up to 2**-16 pixel a row: from 32,768 rows on, it can reach half a pixel
#: and the fill a pixel outside the line it draws. Under 16,384 rows the
#: error stays under a quarter of a pixel.
OUTLINE_MAX_ROWS = 1 << 14

#: Crops from this size (pixels) share a buffer within one bulk call, up to
#: the larger size, which gets its own
SCRATCH_MIN_PIXELS = 1 << 14
SCRATCH_MAX_PIXELS = 1 << 26


def rle_counts(counts, height, width):
    """Decodes COCO RLE counts to run lengths.

    Args:
        counts: compressed counts (``str`` or ``bytes``) or uncompressed
            counts (a list of ints)
        height: the mask height
        width: the mask width

    Returns:
        an ``int64`` array of run lengths, alternating background and
        foreground, starting with background, summing to ``height * width``

    Raises:
        GeometryError: if the counts are malformed
    """
    if isinstance(counts, str):
        try:
            counts = counts.encode("ascii")
        except UnicodeEncodeError:
            raise GeometryError(
                "RLE counts string has invalid characters"
            ) from None

    if isinstance(counts, bytes):
        runs = _decode_compressed_counts(counts)
    elif isinstance(counts, (list, tuple)):
        if not jsonio.NUMBER_TYPES.issuperset(map(type, counts)):
            _check_numbers(counts, "RLE counts", noun="count")
        try:
            runs = np.array(counts, dtype=np.float64)
        except OverflowError:
            raise GeometryError("RLE counts are out of range") from None
        if runs.ndim != 1 or not (
            np.isfinite(runs).all()
            and (runs >= 0).all()
            and (runs == np.floor(runs)).all()
        ):
            raise GeometryError("RLE counts must be non-negative integers")
        if runs.size and runs.max() > height * width:
            raise GeometryError(
                "RLE counts cover more pixels than its size %dx%d has"
                % (height, width)
            )
        runs = runs.astype(np.int64)
    else:
        raise GeometryError(
            "RLE counts are a %s, not a string or a list"
            % jsonio.type_name(counts)
        )

    total = int(runs.sum())
    if total != height * width:
        raise GeometryError(
            "RLE counts cover %d pixels, but its size %dx%d has %d"
            % (total, height, width, height * width)
        )

    return runs


def _decode_compressed_counts(data):
    return decode_compressed_counts([data])[0]


def decode_compressed_counts(strings):
    """Decodes compressed COCO RLE counts, many strings at once.

    pycocotools' ``rleFrString``, vectorised over every character of every
    string: 5 data bits per character, the 0x20 bit continues a value, the
    0x10 bit of its last character is the sign, and every count after the
    second is a delta to the one 2 before, within its string.

    Args:
        strings: a list of ``bytes``

    Returns:
        a tuple ``(runs, bounds)``: the ``int64`` run lengths of all the
        strings, one after another, and the ``len(strings) + 1`` offsets in
        ``runs`` where each string's runs start (the last is the end)

    Raises:
        GeometryError: if a string is malformed (which one is not said)
    """
    sizes = np.fromiter(map(len, strings), np.int64, len(strings))
    chars = np.frombuffer(b"".join(strings), dtype=np.uint8).astype(np.int64)
    chars -= 48
    char_bounds = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(sizes, out=char_bounds[1:])
    if chars.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros_like(char_bounds)
    if chars.min() < 0 or chars.max() > 63:
        raise GeometryError("RLE counts string has invalid characters")

    more = (chars & 0x20) != 0
    if more[char_bounds[1:][sizes > 0] - 1].any():
        raise GeometryError("RLE counts string is truncated")

    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 12:
        raise GeometryError("RLE counts string has an invalid value")

    position = np.arange(chars.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    negative = (chars[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])

    # no value spans two strings: each string ends a value
    bounds = np.searchsorted(ends, char_bounds)
    # each count from the third on adds the count 2 before it: a running
    # sum over each string's even and odd counts apart, from the second
    local = np.arange(values.size) - np.repeat(bounds[:-1], np.diff(bounds))
    series = np.repeat(np.arange(len(strings)) * 3, np.diff(bounds))
    series += np.where(local == 0, 0, 1 + local % 2)
    order = np.argsort(series, kind="stable")
    sums = np.cumsum(values[order])
    first = np.flatnonzero(np.diff(series[order], prepend=-1))
    sums -= np.repeat(
        sums[first] - values[order][first],
        np.diff(np.append(first, values.size)),
    )
    runs = np.empty_like(values)
    runs[order] = sums
    if (runs < 0).any():
        raise GeometryError("RLE counts string decodes to negative runs")

    return runs, bounds


def rle_shape(runs, height, width):
    """Measures an instance given as RLE run lengths.

    The mask is decoded straight into the crop that holds its pixels: runs
    are column-major, so each foreground run is split at column boundaries
    into vertical segments, and the crop, read column by column, is again a
    sequence of runs, expanded with one ``np.repeat`` of bytes (a hi-res
    mask's crop holds millions of pixels: one byte each, one pass), then
    transposed.

    Args:
        runs: run lengths from :func:`rle_counts`
        height: the mask height
        width: the mask width

    Returns:
        a :class:`Shape`

    Raises:
        GeometryError: if the crop would be too large to rasterise
    """
    ends = np.cumsum(runs)
    starts = ends - runs
    fg_start = starts[1::2]
    fg_end = ends[1::2]
    nonempty = fg_end > fg_start
    fg_start = fg_start[nonempty]
    fg_end = fg_end[nonempty]
    if fg_start.size == 0:
        return EMPTY_SHAPE

    first_col = fg_start // height
    last_col = (fg_end - 1) // height
    pieces = last_col - first_col + 1
    if int(pieces.sum()) > MAX_CROP_PIXELS:
        raise GeometryError("mask spans more columns than can be rasterised")
    piece_run = np.repeat(np.arange(fg_start.size), pieces)
    piece_offset = np.arange(piece_run.size) - np.repeat(
        np.cumsum(pieces) - pieces, pieces
    )
    col = first_col[piece_run] + piece_offset
    col_base = col * height
    y_start = np.maximum(fg_start[piece_run], col_base) - col_base
    y_end = np.minimum(fg_end[piece_run], col_base + height) - col_base

    x0, x1 = int(col.min()), int(col.max())
    y0, y1 = int(y_start.min()), int(y_end.max())
    crop_w, crop_h = x1 - x0 + 1, y1 - y0
    if crop_w * crop_h > MAX_CROP_PIXELS:
        raise GeometryError(
            "mask spans %d x %d pixels, more than can be rasterised"
            % (crop_w, crop_h)
        )

    # The crop in column-major order: background up to each segment, the
    # segment, ..., background to the end. Segments are in order and never
    # overlap.
    begin = (col - x0) * crop_h + (y_start - y0)
    end = begin + (y_end - y_start)
    lengths = np.empty(2 * begin.size + 1, dtype=np.int64)
    lengths[0] = begin[0]
    lengths[1::2] = end - begin
    lengths[2:-1:2] = begin[1:] - end[:-1]
    lengths[-1] = crop_w * crop_h - end[-1]
    values = np.zeros(lengths.size, dtype=np.uint8)
    values[1::2] = 1
    columns = np.repeat(values, lengths).reshape(crop_w, crop_h)

    # OpenCV transposes in cache-sized blocks, where numpy's copy of a
    # transposed view strides across a hi-res crop's memory. The runs say
    # how many pixels the mask has, without reading it again.
    return contour_shape(
        cv2.transpose(columns), pixels=int((fg_end - fg_start).sum())
    )


def bitmap_shape(mask):
    """Measures an instance given as a bitmap, as stored.

    Args:
        mask: a 2D array, non-zero on the instance (e.g. the box-relative
            ``mask`` of a FiftyOne ``Detection``)

    Returns:
        a :class:`Shape`

    Raises:
        GeometryError: if the mask is not 2D
    """
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise GeometryError(
            "mask has shape %s, expected a 2D array" % (mask.shape,)
        )
    if mask.size == 0:
        return EMPTY_SHAPE

    if mask.dtype == bool:
        # FiftyOne's masks: reinterpret, no copy
        mask = np.ascontiguousarray(mask).view(np.uint8)
    else:
        mask = (mask != 0).astype(np.uint8)
    return contour_shape(mask)
