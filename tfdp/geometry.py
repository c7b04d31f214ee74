"""Shape of one instance: perimeter and area of its largest external contour.

Every function here rasterises an instance on the smallest crop that holds
all of its pixels, so the cost grows with the object, not with its image. The
crop is clipped to the image exactly as OpenCV clips a full-size canvas, which
makes the contour (and so every score) identical to the full-canvas
computation of TFDP.md, only shifted.

Only numpy and OpenCV are used.
"""

import math
from collections import namedtuple

import cv2
import numpy as np

#: Perimeter ``P`` and area ``A`` of the largest external contour, and the
#: number of mask pixels (used for COCO size buckets, never for scores).
Shape = namedtuple("Shape", ["perimeter", "area", "pixels"])

EMPTY_SHAPE = Shape(0.0, 0.0, 0)

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


class GeometryError(ValueError):
    """A segmentation that cannot be interpreted."""


def contour_shape(mask):
    """Measures the largest external contour of a binary mask.

    Args:
        mask: a 2D ``uint8`` array, non-zero on the instance

    Returns:
        a :class:`Shape`; perimeter and area are 0 when there is no contour
    """
    contours, _ = cv2.findContours(
        mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    pixels = int(cv2.countNonZero(mask))
    best = None
    best_area = -1.0
    for contour in contours:
        area = cv2.contourArea(contour)
        if area > best_area:  # strict: the first contour wins a tie
            best, best_area = contour, area

    if best is None or best_area == 0:
        return Shape(0.0, 0.0, pixels)

    return Shape(float(cv2.arcLength(best, True)), float(best_area), pixels)


def polygon_parts(segmentation):
    """Converts COCO polygon parts to truncated integer vertex arrays.

    Args:
        segmentation: a list of flat ``[x1, y1, x2, y2, ...]`` lists

    Returns:
        a list of ``(n, 2)`` ``int32`` arrays, one per non-empty part

    Raises:
        GeometryError: if a part is not a flat list of an even number of
            finite coordinates within the int32 range
    """
    parts = []
    for index, part in enumerate(segmentation):
        if not isinstance(part, (list, tuple)):
            raise GeometryError(
                "polygon part %d is a %s, not a list of coordinates"
                % (index, type(part).__name__)
            )
        if len(part) % 2:
            raise GeometryError(
                "polygon part %d has an odd number of coordinates (%d)"
                % (index, len(part))
            )
        if not part:
            continue  # an empty part draws nothing
        try:
            coords = np.asarray(part, dtype=np.float64)
        except (TypeError, ValueError):
            raise GeometryError(
                "polygon part %d has non-numeric coordinates" % index
            ) from None
        if coords.ndim != 1:
            raise GeometryError(
                "polygon part %d is not a flat list of numbers" % index
            )
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
    """
    if not parts:
        return EMPTY_SHAPE

    if len(parts) == 1:
        points = parts[0]
    else:
        points = np.concatenate(parts)

    x, y, w, h = cv2.boundingRect(points)
    # Clip the crop to the image, so that its edges clip the fill where the
    # image's edges would
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w - 1, width - 1), min(y + h - 1, height - 1)
    if x0 > x1 or y0 > y1:
        return EMPTY_SHAPE

    crop = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    offset = np.array([x0, y0], dtype=np.int32)
    for part in parts:
        cv2.fillPoly(crop, [part - offset], 1)

    return contour_shape(crop)


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
        counts = counts.encode("ascii", errors="replace")

    if isinstance(counts, bytes):
        runs = _decode_compressed_counts(counts)
    elif isinstance(counts, (list, tuple)):
        try:
            runs = np.asarray(counts, dtype=np.float64)
        except (TypeError, ValueError):
            raise GeometryError("RLE counts are not numbers") from None
        if runs.ndim != 1 or not (np.isfinite(runs).all() and (runs >= 0).all()
                                  and (runs == np.floor(runs)).all()):
            raise GeometryError("RLE counts must be non-negative integers")
        runs = runs.astype(np.int64)
    else:
        raise GeometryError(
            "RLE counts are a %s, not a string or a list"
            % type(counts).__name__
        )

    total = int(runs.sum())
    if total != height * width:
        raise GeometryError(
            "RLE counts cover %d pixels, but its size %dx%d has %d"
            % (total, height, width, height * width)
        )

    return runs


def _decode_compressed_counts(data):
    # pycocotools' rleFrString, vectorised: 5 data bits per character, the
    # 0x20 bit continues a value, the 0x10 bit of its last character is the
    # sign, and every count after the second is a delta to the one 2 before
    chars = np.frombuffer(data, dtype=np.uint8).astype(np.int64) - 48
    if chars.size == 0:
        return np.zeros(0, dtype=np.int64)
    if chars.min() < 0 or chars.max() > 63:
        raise GeometryError("RLE counts string has invalid characters")

    more = (chars & 0x20) != 0
    if more[-1]:
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

    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    if (runs < 0).any():
        raise GeometryError("RLE counts string decodes to negative runs")

    return runs


def rle_shape(runs, height, width):
    """Measures an instance given as RLE run lengths.

    The mask is decoded straight into the crop that holds its pixels: runs
    are column-major, so each foreground run is split at column boundaries
    into vertical segments, and the crop, read column by column, is again a
    sequence of runs, expanded with one ``np.repeat`` of bytes (a hi-res
    mask's crop holds millions of pixels: one byte each, one pass).

    Args:
        runs: run lengths from :func:`rle_counts`
        height: the mask height
        width: the mask width

    Returns:
        a :class:`Shape`
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

    return contour_shape(np.ascontiguousarray(columns.T))


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
