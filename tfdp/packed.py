"""COCO segmentations packed into numpy columns, and measured from them.

The command reads a COCO file once, in one process, and measures its
instances wherever an engine runs them (threads, worker processes, a
cluster). What travels to the workers is a :class:`PackedSegmentations`: a
few flat arrays per chunk of thousands of instances, which pickle as raw
buffers, rather than lists of Python dicts. What comes back is three arrays
and the few error messages.

Packing validates every segmentation exactly as
:func:`tfdp.segmentation.measure_segmentation` does: the common, well-formed
cases are checked with vectorised tests, and anything else is measured right
away by :func:`tfdp.segmentation.measure_segmentation` itself, so every
message and every shape is the one the serial code gives.

- :func:`pack`: a chunk's segmentations as a :class:`PackedSegmentations`
- :func:`chunk_shapes`: their shapes, as a :class:`MeasuredChunk` (the task
  that engines run)
"""

import math

import numpy as np

from tfdp import geometry, jsonio
from tfdp.segmentation import measure_segmentation

#: Kinds of packed instances
POLYGON = 0
RLE = 1
#: measured (or rejected) while packing; the result travels as is
DONE = 2


class PackedSegmentations(object):
    """Segmentations of a chunk of instances, as flat arrays.

    Attributes:
        kind: ``uint8`` per instance: :data:`POLYGON`, :data:`RLE` or
            :data:`DONE`
        width: ``int64`` image width per instance
        height: ``int64`` image height per instance
        part_count: ``int64`` polygon parts per instance (0 unless
            :data:`POLYGON`)
        part_length: ``int64`` number of coordinates of each part, empty
            parts included, for all polygon instances in order
        coords: coordinates of all parts, concatenated, already truncated
            toward zero (validated in ``float64`` first): ``int16`` when
            they all fit, ``int32`` otherwise
        rle_length: ``int64`` bytes of compressed RLE counts per instance
            (0 unless :data:`RLE`)
        rle_bytes: ``uint8`` compressed counts of all RLE instances
        done: ``{position: Shape or GeometryError}`` of :data:`DONE`
            instances
        count_pixels: whether measuring counts mask pixels (see
            :func:`chunk_shapes`)
    """

    def __init__(
        self,
        kind,
        width,
        height,
        part_count,
        part_length,
        coords,
        rle_length,
        rle_bytes,
        done,
    ):
        self.kind = kind
        self.width = width
        self.height = height
        self.part_count = part_count
        self.part_length = part_length
        self.coords = coords
        self.rle_length = rle_length
        self.rle_bytes = rle_bytes
        self.done = done
        self.count_pixels = True  # set by pack

    def __len__(self):
        return len(self.kind)


class MeasuredChunk(object):
    """Shapes of a packed chunk, as arrays.

    Attributes:
        perimeter: ``float64`` per instance
        area: ``float64`` per instance
        pixels: ``int64`` per instance; -1 where not counted
        errors: ``{position: message}`` of the instances that could not be
            measured (their shape values are 0)
    """

    def __init__(self, perimeter, area, pixels, errors):
        self.perimeter = perimeter
        self.area = area
        self.pixels = pixels
        self.errors = errors

    def __len__(self):
        return len(self.perimeter)

    @classmethod
    def concatenate(cls, chunks):
        """The chunks' shapes as one, in order.

        Args:
            chunks: an iterable of :class:`MeasuredChunk`

        Returns:
            a :class:`MeasuredChunk`
        """
        perimeter, area, pixels, errors = [], [], [], {}
        offset = 0
        for chunk in chunks:
            perimeter.append(chunk.perimeter)
            area.append(chunk.area)
            pixels.append(chunk.pixels)
            for position, message in chunk.errors.items():
                errors[offset + position] = message
            offset += len(chunk)
        if not perimeter:
            return cls.zeros(0)
        return cls(
            np.concatenate(perimeter),
            np.concatenate(area),
            np.concatenate(pixels),
            errors,
        )

    @classmethod
    def from_shapes(cls, shapes):
        """Shapes measured one by one, as arrays.

        Args:
            shapes: a list of :class:`tfdp.geometry.Shape` or
                :class:`tfdp.geometry.GeometryError`

        Returns:
            a :class:`MeasuredChunk`
        """
        chunk = cls.zeros(len(shapes))
        for i, shape in enumerate(shapes):
            if isinstance(shape, geometry.GeometryError):
                chunk.errors[i] = str(shape)
            else:
                chunk.perimeter[i], chunk.area[i], chunk.pixels[i] = shape
        return chunk

    @classmethod
    def zeros(cls, n):
        """A chunk of ``n`` instances to fill in: every shape 0, no error.

        Args:
            n: the number of instances

        Returns:
            a :class:`MeasuredChunk`
        """
        return cls(
            np.zeros(n, dtype=np.float64),
            np.zeros(n, dtype=np.float64),
            np.zeros(n, dtype=np.int64),
            {},
        )


def pack(segmentations, widths, heights, count_pixels=True):
    """Packs the segmentations of a chunk of instances.

    Args:
        segmentations: the COCO ``segmentation`` values
        widths: the width of each one's image
        heights: the height of each one's image
        count_pixels (True): whether measuring the chunk counts mask pixels

    Returns:
        a :class:`PackedSegmentations`
    """
    packed = _pack_polygons(segmentations, widths, heights)
    if packed is None:
        packed = _pack_any(segmentations, widths, heights)
    packed.count_pixels = count_pixels
    return packed


def _pack_any(segmentations, widths, heights):
    # Any chunk: what the fast checks accept is packed, the rest measured
    n = len(segmentations)
    kind = np.full(n, DONE, dtype=np.uint8)
    part_count = np.zeros(n, dtype=np.int64)
    rle_length = np.zeros(n, dtype=np.int64)
    part_length = []
    flat = []
    rle = []
    polygon_positions = []
    done = {}

    for i, (segmentation, width, height) in enumerate(
        zip(segmentations, widths, heights)
    ):
        cls = type(segmentation)
        if cls is list:
            lengths = [
                len(part) if type(part) is list else -1
                for part in segmentation
            ]
            if lengths and all(k >= 0 and k % 2 == 0 for k in lengths):
                kind[i] = POLYGON
                part_count[i] = len(lengths)
                part_length.extend(lengths)
                for part in segmentation:
                    flat.extend(part)
                polygon_positions.append(i)
                continue
        elif cls is dict:
            size = segmentation.get("size")
            counts = segmentation.get("counts")
            if (
                type(size) is list
                and len(size) == 2
                and type(size[0]) is int
                and type(size[1]) is int
                and size[0] == height
                and size[1] == width
                and (
                    type(counts) is bytes
                    or type(counts) is str
                    and counts.isascii()
                )
            ):
                if type(counts) is str:
                    counts = counts.encode("ascii")
                kind[i] = RLE
                rle_length[i] = len(counts)
                rle.append(counts)
                continue
        done[i] = _measure_or_error(segmentation, width, height)

    coords = _numeric_coords(flat)
    if coords is None or not geometry.coords_in_range(coords):
        # a part has non-numeric, nested, non-finite or out-of-range
        # coordinates: measure the polygons one by one to say which
        return _repack_polygons(
            segmentations,
            widths,
            heights,
            polygon_positions,
            kind,
            part_count,
            rle_length,
            rle,
            done,
        )

    return PackedSegmentations(
        kind,
        np.asarray(widths, dtype=np.int64),
        np.asarray(heights, dtype=np.int64),
        part_count,
        np.asarray(part_length, dtype=np.int64),
        _narrow(coords),
        rle_length,
        np.frombuffer(b"".join(rle), dtype=np.uint8),
        done,
    )


def _pack_polygons(segmentations, widths, heights):
    # The common chunk, well-formed polygons only, checked and converted in
    # bulk passes rather than instance by instance; None for anything else
    arrays = geometry.polygon_arrays(segmentations)
    if arrays is None:
        return None
    coords, part_count, part_length = arrays
    n = len(segmentations)
    return PackedSegmentations(
        np.full(n, POLYGON, dtype=np.uint8),
        np.asarray(widths, dtype=np.int64),
        np.asarray(heights, dtype=np.int64),
        part_count,
        part_length,
        _narrow(coords),
        np.zeros(n, dtype=np.int64),
        np.zeros(0, dtype=np.uint8),
        {},
    )


def _narrow(coords):
    # Truncation toward zero, as numpy's astype(int32) does, into the
    # narrowest type that holds every value: most images are under 32,768
    # pixels a side, and the coordinates are most of what travels
    ints = coords.astype(np.int32)
    if ints.size and -(2**15) <= ints.min() and ints.max() < 2**15:
        return ints.astype(np.int16)
    return ints


def _measure_or_error(segmentation, width, height):
    try:
        return measure_segmentation(segmentation, width, height)
    except geometry.GeometryError as e:
        return e
    except MemoryError:
        return geometry.GeometryError(geometry.OUT_OF_MEMORY)


def _numeric_coords(flat):
    # JSON numbers only: numpy would also turn "1" and true into floats
    if not jsonio.NUMBER_TYPES.issuperset(map(type, flat)):
        return None
    try:
        coords = np.asarray(flat, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return coords if coords.ndim == 1 else None


def _repack_polygons(
    segmentations,
    widths,
    heights,
    polygon_positions,
    kind,
    part_count,
    rle_length,
    rle,
    done,
):
    part_length = []
    flat = []
    for i in polygon_positions:
        segmentation = segmentations[i]
        try:
            geometry.polygon_parts(segmentation)
        except geometry.GeometryError as e:
            kind[i] = DONE
            part_count[i] = 0
            done[i] = e
            continue
        part_length.extend(len(part) for part in segmentation)
        for part in segmentation:
            flat.extend(part)
    return PackedSegmentations(
        kind,
        np.asarray(widths, dtype=np.int64),
        np.asarray(heights, dtype=np.int64),
        part_count,
        np.asarray(part_length, dtype=np.int64),
        _narrow(np.asarray(flat, dtype=np.float64)),
        rle_length,
        np.frombuffer(b"".join(rle), dtype=np.uint8),
        done,
    )


def chunk_shapes(packed, draw_polygons=True):
    """Measures a packed chunk (the task that engines run on workers).

    Args:
        packed: a :class:`PackedSegmentations`
        draw_polygons (True): whether to measure polygons. When False, they
            are only checked, which is all a file's validation needs: a
            polygon's perimeter and area are NaN and its pixel count -1, and
            its only error is a crop too large to rasterise (see
            :func:`tfdp.geometry.polygon_array_errors`)

    Returns:
        a :class:`MeasuredChunk`; its pixel counts are -1 when
        ``packed.count_pixels`` is False
    """
    n = len(packed)
    measured = MeasuredChunk.zeros(n)
    perimeter, area, pixels, errors = (
        measured.perimeter,
        measured.area,
        measured.pixels,
        measured.errors,
    )

    kinds = packed.kind.tolist()
    widths = packed.width.tolist()
    heights = packed.height.tolist()
    # every instance but the polygons has no part: measured as empty here,
    # then below as what it is
    polygon_shapes = (
        geometry.polygon_array_shapes(
            packed.coords,
            packed.part_count,
            packed.part_length,
            widths,
            heights,
            count_pixels=packed.count_pixels,
        )
        if draw_polygons
        else geometry.polygon_array_errors(
            packed.coords,
            packed.part_count,
            packed.part_length,
            widths,
            heights,
        )
    )
    rle_ends = np.cumsum(packed.rle_length)
    rle_end = 0
    for i in range(n):
        kind = kinds[i]
        if kind == POLYGON:
            shape = polygon_shapes[i]
            if isinstance(shape, geometry.GeometryError):
                errors[i] = str(shape)
                continue
            if shape is None:  # checked, not drawn
                shape = (math.nan, math.nan, -1)
        elif kind == RLE:
            rle_start, rle_end = rle_end, int(rle_ends[i])
            counts = packed.rle_bytes[rle_start:rle_end].tobytes()
            try:
                runs = geometry.rle_counts(counts, heights[i], widths[i])
                shape = geometry.rle_shape(runs, heights[i], widths[i])
            except geometry.GeometryError as e:
                errors[i] = str(e)
                continue
            except MemoryError:
                errors[i] = geometry.OUT_OF_MEMORY
                continue
        else:
            shape = packed.done[i]
            if isinstance(shape, geometry.GeometryError):
                errors[i] = str(shape)
                continue
        perimeter[i], area[i], pixels[i] = shape

    if not packed.count_pixels:
        pixels.fill(-1)  # those of RLE masks too: one meaning per column
    return measured
