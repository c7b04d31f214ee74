"""A batch of polylines measured over flat arrays gives, label by label,
what measuring each label alone gives: the same reason, shape or error.
No database: the measuring functions take the labels as read."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tfdp import geometry
from tfdp.fo_adapter import labels

# relative coordinates, off the image too, some on exact pixel edges
COORD = st.one_of(
    st.floats(-0.2, 1.2, allow_nan=False),
    st.integers(0, 64).map(lambda k: k / 64),
)
PAIR = st.lists(COORD, min_size=2, max_size=2)
PART = st.lists(PAIR, min_size=0, max_size=8)
FLAG = st.sampled_from([None, 0, 1, False, True])
RECORD = st.fixed_dictionaries(
    dict(
        label=st.sampled_from(["cat", "dog", None]),
        iscrowd=FLAG,
        ignore=FLAG,
        points=st.one_of(st.none(), st.lists(PART, min_size=0, max_size=3)),
        filled=st.sampled_from([True, True, True, False, None]),
    )
)
SIZE = st.tuples(st.integers(1, 300), st.integers(1, 300))


def _batch(records, sizes):
    return [(0, "id%d" % i, i, r) for i, r in enumerate(records)], sizes


def _same(batched, each):
    assert len(batched) == len(each)
    for a, b in zip(batched, each):
        if isinstance(b, geometry.GeometryError):
            assert isinstance(a, geometry.GeometryError)
            assert str(a) == str(b)
        else:
            assert a == b


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(RECORD, SIZE), min_size=1, max_size=12))
def test_a_batch_measures_as_each_label_alone(items):
    batch, sizes = _batch(*zip(*items))
    batched = labels._measure_polylines(batch, list(sizes))
    assert batched is not None  # well-formed points take the batch path
    _same(batched, labels._measure_each(batch, list(sizes), True))


def test_a_hand_measured_square():
    # a filled 10 x 10 square at (10, 20) on a 100 x 50 image: pixels 10..19
    # by 20..29 once truncated; its contour runs through the pixel centres,
    # 9 x 9 (docs/method.md, section 2)
    square = [[[0.1, 0.4], [0.19, 0.4], [0.19, 0.58], [0.1, 0.58]]]
    record = dict(
        label="box", iscrowd=0, ignore=None, points=square, filled=True
    )
    batch, sizes = _batch([record], [(100, 50)])
    (shape,) = labels._measure_polylines(batch, sizes)
    assert (shape.perimeter, shape.area, shape.pixels) == (36.0, 81.0, 100)


def test_malformed_points_are_left_to_each_label():
    # the batch path does not guess: the label-by-label path names them
    good = dict(label="a", iscrowd=0, ignore=0, filled=True)
    for points in (
        [[[0.1, 0.1], [0.5, "x"], [0.2, 0.6]]],
        [[[0.1, 0.1, 0.3], [0.5, 0.5]]],
        [[[0.1, float("nan")], [0.5, 0.5], [0.2, 0.6]]],
        [[[1e12, 0.1], [0.5, 0.5], [0.2, 0.6]]],
    ):
        batch, sizes = _batch([dict(good, points=points)], [(100, 100)])
        assert labels._measure_polylines(batch, sizes) is None
        (result,) = labels._measure_each(batch, sizes, True)
        assert isinstance(result, geometry.GeometryError), points
    # a part of flat coordinates is read as pairs by each label alone
    points = [[0.1, 0.1, 0.5, 0.5, 0.2, 0.6]]
    batch, sizes = _batch([dict(good, points=points)], [(100, 100)])
    assert labels._measure_polylines(batch, sizes) is None
    (result,) = labels._measure_each(batch, sizes, True)
    assert result.area > 0


def test_points_off_the_image_and_empty_parts():
    # an empty part draws nothing; a part off the image's left edge is
    # clipped by the crop, as each label alone does
    points = [[], [[-0.5, 0.0], [0.5, 0.0], [0.5, 0.5], [-0.5, 0.5]], []]
    record = dict(label="a", iscrowd=0, ignore=0, points=points, filled=1)
    batch, sizes = _batch([record, record], [(40, 40), (41, 17)])
    batched = labels._measure_polylines(batch, sizes)
    _same(batched, labels._measure_each(batch, sizes, True))
    # on 40 x 40: x -20..20 clipped to 0..20, y 0..20: 21 x 21 pixels, a
    # contour through their centres of 20 x 20
    assert (batched[0].perimeter, batched[0].area) == (80.0, 400.0)
    assert batched[0].pixels == 21 * 21
