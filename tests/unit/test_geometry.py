"""Shapes of hand-made instances whose contours are derived by hand.

Contours run through pixel centres: a filled n x n square has
A = (n-1)^2 and P = 4(n-1).
"""

import math

import cv2
import naive
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from tfdp import geometry, packed
from tfdp.segmentation import measure_segmentation


def square(x0, y0, n):
    x1, y1 = x0 + n - 1, y0 + n - 1
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def test_square_polygon():
    shape = measure_segmentation([square(2, 3, 10)], 20, 20)
    assert shape == (36.0, 81.0, 100)


@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_square_bitmap(n):
    mask = np.ones((n, n), dtype=bool)
    assert geometry.bitmap_shape(mask) == (4.0 * (n - 1), (n - 1) ** 2, n * n)


def test_rectangle_bitmap_padding_does_not_matter():
    mask = np.zeros((9, 12), dtype=np.uint8)
    mask[2:6, 3:11] = 1  # 4 rows x 8 columns
    assert geometry.bitmap_shape(mask) == (2 * 7 + 2 * 3, 21.0, 32)


def test_l_shape():
    # 10x10 square minus its top-right 5x5: the inner corner is cut by one
    # diagonal step from (4, 4) to (5, 5)
    mask = np.ones((10, 10), dtype=np.uint8)
    mask[:5, 5:] = 0
    perimeter, area, pixels = geometry.bitmap_shape(mask)
    assert pixels == 75
    assert area == 81 - (25 - 0.5)
    assert perimeter == pytest.approx(9 + 9 + 4 + 4 + 4 + 4 + math.sqrt(2))


def test_disk_is_about_one():
    size = 801
    yy, xx = np.mgrid[:size, :size]
    disk = ((xx - 400) ** 2 + (yy - 400) ** 2 <= 380**2).astype(np.uint8)
    perimeter, area, _ = geometry.bitmap_shape(disk)
    si_scs = perimeter / (2 * math.sqrt(math.pi * area))
    # digital circles with 8-connected steps are a few % longer than 2 pi r
    assert 1.0 < si_scs < 1.1
    assert area == pytest.approx(math.pi * 380**2, rel=0.01)


def test_overlapping_parts_are_ored_not_xored():
    parts = [square(0, 0, 10), square(5, 5, 10)]
    perimeter, area, pixels = measure_segmentation(parts, 30, 30)
    # union of two 10x10 squares overlapping in a 5x5 one
    assert pixels == 100 + 100 - 25
    # squares [0,9]^2 and [5,14]^2 of pixel centres overlap in [5,9]^2; the
    # two reflex corners are cut by diagonal steps (9,4)-(10,5) and
    # (4,9)-(5,10), each adding a triangle of 0.5
    assert area == 81 + 81 - 16 + 2 * 0.5
    assert perimeter == pytest.approx(
        9 + 4 + 4 + 9 + 9 + 4 + 4 + 9 + 2 * math.sqrt(2)
    )
    # one fill call for both parts would empty the inside of the overlap by
    # parity (the pixel area, which decides the COCO size bucket)
    assert _one_call_fill(parts, 30, 30).sum() == 175 - 9


def _one_call_fill(parts, width, height):
    canvas = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(
        canvas,
        [np.array(p).reshape(-1, 2).astype(np.int32) for p in parts],
        1,
    )
    return canvas


def test_polygon_leaving_the_image_is_clipped():
    # a 10x10 square centred on the top-left corner keeps a 5x5 quarter
    shape = measure_segmentation([square(-5, -5, 10)], 20, 20)
    assert shape == (16.0, 16.0, 25)
    # and one leaving at the bottom-right corner
    shape = measure_segmentation([square(15, 15, 10)], 20, 20)
    assert shape == (16.0, 16.0, 25)


@pytest.mark.parametrize(
    "points",
    [
        # corners at the ends of the int32 range: OpenCV's boundingRect width
        # (max - min + 1 in int32) wraps, and the polygon covered no pixel
        # (OpenCV fills slowly, seconds, from a y far below 0: none here)
        [2**31 - 1, 0, 0, 2**31 - 1, 0, 0],
        [2**31 - 1, 0, -(2**31), 0, 0, 10],
        [2**31 - 1, 0, -(2**31), 0, 2**31 - 1, 15, -(2**31), 19],
        [0, 2**31 - 1, 19, 2**31 - 1, 10, 0],
    ],
)
def test_polygons_spanning_the_int32_range_equal_the_full_canvas(points):
    mask = naive.full_mask([points], 20, 20)
    expected = naive.mask_shape(mask) + (int(mask.sum()),)
    assert mask.sum() > 0
    parts = geometry.polygon_parts([points])
    # one by one (FiftyOne's polylines), and in bulk (the command's tasks)
    assert geometry.polygon_shape(parts, 20, 20) == expected
    chunk = packed.chunk_shapes(packed.pack([[points]], [20], [20]))
    assert (chunk.perimeter[0], chunk.area[0], chunk.pixels[0]) == expected


def test_polygon_outside_the_image_is_empty():
    assert measure_segmentation([square(30, 30, 5)], 20, 20) == (0, 0, 0)


def test_coordinates_are_truncated_toward_zero():
    # -0.9 truncates to 0 (not -1), 9.9 to 9
    shape = measure_segmentation(
        [[-0.9, -0.9, 9.9, -0.9, 9.9, 9.9, -0.9, 9.9]], 20, 20
    )
    assert shape == (36.0, 81.0, 100)


def test_one_pixel_and_lines_have_zero_area():
    assert measure_segmentation([[5, 5]], 20, 20) == (0.0, 0.0, 1)
    perimeter, area, pixels = measure_segmentation([[2, 3, 7, 5]], 20, 20)
    assert (perimeter, area) == (0.0, 0.0) and pixels == 6
    line = np.ones((1, 10), dtype=np.uint8)
    assert geometry.bitmap_shape(line) == (0.0, 0.0, 10)
    assert geometry.bitmap_shape(np.zeros((4, 4))) == (0.0, 0.0, 0)


def test_empty_part_draws_nothing():
    assert measure_segmentation([[], square(0, 0, 3)], 10, 10) == (
        8.0,
        4.0,
        9,
    )


def test_largest_contour_counts_holes_ignored():
    mask = np.zeros((30, 30), dtype=np.uint8)
    mask[0:3, 0:3] = 1  # small component first in raster order
    mask[10:30, 10:30] = 1
    mask[15:20, 15:20] = 0  # a hole
    assert geometry.bitmap_shape(mask)[:2] == (4.0 * 19, 19.0**2)


def test_tie_takes_the_first_contour():
    # a 3x3 square (P 8, A 4) and a 2x5 rectangle (P 10, A 4)
    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[1:4, 1:4] = 1
    mask[10:12, 10:15] = 1
    contours, _ = cv2.findContours(
        mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    first = cv2.arcLength(contours[0], True)
    assert {first, cv2.arcLength(contours[1], True)} == {8.0, 10.0}
    assert geometry.bitmap_shape(mask)[:2] == (first, 4.0)
    flipped = np.ascontiguousarray(mask[::-1])
    contours, _ = cv2.findContours(
        flipped, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    assert geometry.bitmap_shape(flipped)[:2] == (
        cv2.arcLength(contours[0], True),
        4.0,
    )


@pytest.mark.parametrize("compressed", [True, False])
def test_rle_equals_full_decode(compressed):
    rng = np.random.default_rng(0)
    for _ in range(50):
        h, w = rng.integers(1, 60, size=2)
        mask = np.zeros((h, w), dtype=np.uint8, order="F")
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        mask[y0 : y0 + rng.integers(1, 40), x0 : x0 + rng.integers(1, 40)] = 1
        mask[rng.random((h, w)) < 0.05] = 1  # specks, runs across columns
        rle = mask_utils.encode(np.asfortranarray(mask))
        counts = rle["counts"].decode("ascii")
        if not compressed:
            counts = _uncompressed(mask)
        runs = geometry.rle_counts(counts, int(h), int(w))
        shape = geometry.rle_shape(runs, int(h), int(w))
        assert shape[:2] == naive.mask_shape(mask)
        assert shape.pixels == mask.sum()


def _uncompressed(mask):
    flat = mask.T.ravel()
    counts, value, run = [], 0, 0
    for v in flat:
        if v == value:
            run += 1
        else:
            counts.append(run)
            value, run = v, 1
    counts.append(run)
    return counts


def test_rle_full_columns():
    # a run through whole columns crosses column boundaries
    mask = np.zeros((5, 6), dtype=np.uint8)
    mask[:, 2:5] = 1
    runs = geometry.rle_counts([10, 15, 5], 5, 6)
    assert geometry.rle_shape(runs, 5, 6) == geometry.bitmap_shape(mask)


@pytest.mark.parametrize(
    "counts, message",
    [
        ([10, 5], "cover 15 pixels"),
        ("!!", "invalid characters"),
        ("Q", "truncated"),
        ([1, -1, 30], "non-negative"),
        (5, "not a string or a list"),
    ],
)
def test_rle_errors(counts, message):
    with pytest.raises(geometry.GeometryError, match=message):
        geometry.rle_counts(counts, 5, 6)


@pytest.mark.parametrize(
    "segmentation, message",
    [
        ([[1, 2, 3]], "odd number of coordinates"),
        ([[1, 2, float("nan"), 4]], "non-finite"),
        ([[1, 2, float("inf"), 4]], "non-finite"),
        ([[1, 2, "a", 4]], 'not a number: "a"'),
        # coordinates are numbers: not numeric strings, booleans or null
        ([[1, 2, "3", 4]], 'not a number: "3"'),
        ([[1, 2, True, 4]], "not a number: true"),
        ([[1, 2, None, 4]], "not a number: null"),
        ([[1, 2, [3], 4]], r"not a number: \[3\]"),
        ([[1, 2, 10**400, 4]], "out of range"),
        ({"size": [10, 10], "counts": [10, True, 89]}, "not a number: true"),
        ({"size": [10, 10], "counts": ["100"]}, 'not a number: "100"'),
        ({"size": [10, True], "counts": [30]}, r"not \[height, width\]"),
        ({"size": [10, 10], "counts": "0\u00e9"}, "invalid characters"),
        ({"size": [10, 10], "counts": [10**30]}, "more pixels"),
        ([[1, 2, 3e10, 4]], "out of range"),
        ([5], "not a list of coordinates"),
        ("abc", "not polygons or RLE"),
        ({"size": [5, 6], "counts": [30]}, "differs from its image"),
        ({"size": "x", "counts": [30]}, "not \\[height, width\\]"),
    ],
)
def test_segmentation_errors(segmentation, message):
    with pytest.raises(geometry.GeometryError, match=message):
        measure_segmentation(segmentation, 10, 10)


def test_random_polygons_equal_the_full_canvas():
    # parts of 1 to 12 points, anywhere in and around a small image, some
    # overlapping, some leaving it: the crop must give the full canvas's
    # contour every time
    rng = np.random.default_rng(7)
    for _ in range(3000):
        width, height = (int(v) for v in rng.integers(1, 40, size=2))
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(1, 13))
            xs = rng.uniform(-15, width + 15, size=n)
            ys = rng.uniform(-15, height + 15, size=n)
            parts.append(np.column_stack([xs, ys]).ravel().tolist())
        shape = measure_segmentation(parts, width, height)
        mask = naive.full_mask(parts, width, height)
        assert shape[:2] == naive.mask_shape(mask), (parts, width, height)
        assert shape.pixels == int(mask.sum())


def test_polygons_in_bulk_equal_one_by_one():
    # the bulk path (packed chunks: crop bounds in bulk, large crops in one
    # buffer) gives each instance exactly what polygon_shape gives, and
    # falls back to it, with the same message, on a malformed one
    rng = np.random.default_rng(11)
    segmentations, widths, heights = [], [], []
    for i in range(400):
        side = 300 if i % 4 == 0 else 25  # crops over SCRATCH_MIN_PIXELS
        parts = []
        for _ in range(rng.integers(0, 4)):
            n = int(rng.integers(0, 7))
            parts.append(rng.uniform(-8, side + 5, 2 * n).round(1).tolist())
        segmentations.append(parts)
        widths.append(int(rng.integers(1, side)))
        heights.append(int(rng.integers(1, side)))

    def one_by_one(segs):
        out = []
        for seg, w, h in zip(segs, widths, heights):
            try:
                out.append(
                    tuple(
                        geometry.polygon_shape(
                            geometry.polygon_parts(seg), w, h
                        )
                    )
                )
            except geometry.GeometryError as e:
                out.append(str(e))
        return out

    def bulk(segs):
        chunk = packed.chunk_shapes(packed.pack(segs, widths, heights))
        return [
            chunk.errors[i]
            if i in chunk.errors
            else (chunk.perimeter[i], chunk.area[i], chunk.pixels[i])
            for i in range(len(segs))
        ]

    large = [
        w * h
        for w, h in zip(widths, heights)
        if w * h >= geometry.SCRATCH_MIN_PIXELS
    ]
    assert len(large) > 10
    assert bulk(segmentations) == one_by_one(segmentations)
    broken = list(segmentations)
    broken[7] = [[1, 2, "3", 4]]
    broken[9] = [[1, 2, 3]]
    assert bulk(broken) == one_by_one(broken)
    assert "not a number" in bulk(broken)[7]


def outline_and_fill_shapes(segmentations, widths, heights):
    def measure(count_pixels):
        chunk = packed.chunk_shapes(
            packed.pack(segmentations, widths, heights, count_pixels)
        )
        return chunk, list(zip(chunk.perimeter.tolist(), chunk.area.tolist()))

    outlined, outline_shapes = measure(False)
    _, fill_shapes = measure(True)
    assert not outlined.errors
    assert set(outlined.pixels.tolist()) == {-1}
    return outline_shapes, fill_shapes


def test_outlines_trace_as_the_fill():
    # Without pixel counts, polygons inside their image are drawn as their
    # outlines: stars that cross themselves (an unfilled middle), thin
    # spikes, repeated and collinear points, parts that overlap or touch,
    # one- and two-point parts, some parts at the image's last row and
    # column, some leaving the image (filled, as ever)
    rng = np.random.default_rng(23)
    segmentations, widths, heights = [], [], []
    for i in range(3000):
        width, height = (int(v) for v in rng.integers(1, 60, size=2))
        parts = []
        for _ in range(int(rng.choice([1, 1, 2, 3]))):
            n = int(rng.integers(1, 14))
            kind = i % 3
            if kind == 0:  # anywhere, slightly outside at times
                xs = rng.uniform(-2, width + 1, n)
                ys = rng.uniform(-2, height + 1, n)
            elif kind == 1:  # a star around a centre
                angles = np.sort(rng.uniform(0, 2 * np.pi, n))
                radii = rng.uniform(0, max(width, height) / 2, n)
                xs = np.clip(width / 2 + radii * np.cos(angles), 0, width - 1)
                ys = np.clip(
                    height / 2 + radii * np.sin(angles), 0, height - 1
                )
            else:  # clustered points and one far away: spikes
                xs = np.clip(
                    rng.integers(0, width) + rng.integers(-2, 3, n),
                    0,
                    width - 1,
                ).astype(float)
                ys = np.clip(
                    rng.integers(0, height) + rng.integers(-2, 3, n),
                    0,
                    height - 1,
                ).astype(float)
                xs[-1], ys[-1] = rng.uniform(0, width), rng.uniform(0, height)
            parts.append(np.column_stack([xs, ys]).ravel().tolist())
        segmentations.append(parts)
        widths.append(width)
        heights.append(height)

    outline_shapes, fill_shapes = outline_and_fill_shapes(
        segmentations, widths, heights
    )
    assert outline_shapes == fill_shapes
    # and both are the full canvas's
    for parts, width, height, shape in zip(
        segmentations[:600], widths, heights, outline_shapes
    ):
        mask = naive.full_mask(parts, width, height)
        assert shape == naive.mask_shape(mask), (parts, width, height)


def test_outline_of_a_pentagram():
    # Filled, a pentagram leaves its middle empty (OpenCV's fill goes by
    # parity); its outer contour is the same outline or not
    angles = np.pi / 2 + np.arange(5) * 4 * np.pi / 5
    star = np.column_stack(
        [50 + 40 * np.cos(angles), 50 - 40 * np.sin(angles)]
    )
    segmentation = [star.ravel().tolist()]
    mask = naive.full_mask(segmentation, 100, 100)
    assert mask[50, 50] == 0  # the middle is a hole
    outline_shapes, fill_shapes = outline_and_fill_shapes(
        [segmentation], [100], [100]
    )
    assert outline_shapes == fill_shapes == [naive.mask_shape(mask)]


def test_tall_polygons_are_filled_even_without_pixel_counts():
    # Over tens of thousands of rows, OpenCV's fixed-point fill drifts a
    # pixel past the edges it draws: this polygon's outline alone traces
    # another contour, so crops of OUTLINE_MAX_ROWS rows or more are filled
    import cv2

    points = np.array(
        [
            [5, 53959],
            [5, 34588],
            [7, 35909],
            [28, 53670],
            [28, 21111],
            [16, 17852],
        ],
        dtype=np.int32,
    )
    width, height = 30, 60000
    fill = np.zeros((height, width), np.uint8)
    cv2.fillPoly(fill, [points], 1)
    outline = np.zeros((height, width), np.uint8)
    cv2.polylines(outline, [points], True, 1)
    assert naive.mask_shape(fill) != naive.mask_shape(outline)

    outline_shapes, fill_shapes = outline_and_fill_shapes(
        [[points.ravel().tolist()]], [width], [height]
    )
    assert outline_shapes == fill_shapes == [naive.mask_shape(fill)]
