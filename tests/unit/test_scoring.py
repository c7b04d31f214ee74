"""Scores, image scores, ranking and selection on hand-made numbers."""

import math

import numpy as np
import pytest

from tfdp import scoring


def test_scores_of_a_square_and_zero_area():
    # a filled 10x10 square: P 36, A 81
    perimeter = [36.0, 0.0]
    area = [81.0, 0.0]
    assert scoring.scs(perimeter, area).tolist() == [36 / 81, 0.0]
    assert scoring.si_scs(perimeter, area).tolist() == [
        36 / (2 * math.sqrt(math.pi * 81)),
        0.0,
    ]


def test_cb_scs_makes_every_class_total_one():
    perimeter = np.array([36.0, 8.0, 20.0, 16.0])
    area = np.array([81.0, 4.0, 21.0, 16.0])
    category = np.array([1, 2, 1, 2])
    cb = scoring.cb_scs(perimeter, area, category)
    si = scoring.si_scs(perimeter, area)
    assert cb[0] == si[0] / (si[0] + si[2])
    assert cb[0] + cb[2] == pytest.approx(1.0)
    assert cb[1] + cb[3] == pytest.approx(1.0)


def test_class_whose_total_is_zero_scores_zero():
    # class 7 has only zero-area instances (single pixels, lines)
    cb = scoring.cb_scs([36.0, 0.0, 0.0], [81.0, 0.0, 0.0], [3, 7, 7])
    assert cb.tolist() == [1.0, 0.0, 0.0]


def test_string_categories():
    cb = scoring.cb_scs([8.0, 8.0], [4.0, 4.0], np.array(["cat", "dog"]))
    assert cb.tolist() == [1.0, 1.0]


def test_image_score_is_the_sum():
    scores = scoring.image_scores([0, 2, 0], [0.25, 1.0, 0.5], 4)
    assert scores.tolist() == [0.75, 0.0, 1.0, 0.0]


def test_ranking_is_stable_and_zeros_last_in_input_order():
    order = scoring.rank_images(np.array([0.0, 2.0, 1.0, 0.0, 2.0, 0.0]))
    assert order.tolist() == [1, 4, 2, 0, 3, 5]


def test_random_ranking_is_seeded():
    a = scoring.rank_images(num_images=50, seed=3)
    assert a.tolist() == scoring.rank_images(num_images=50, seed=3).tolist()
    assert a.tolist() != scoring.rank_images(num_images=50, seed=4).tolist()
    assert sorted(a.tolist()) == list(range(50))


@pytest.mark.parametrize(
    "n, kwargs, expected",
    [
        (128, dict(keep_ratio=0.7), 90),  # 89.6
        (5, dict(keep_ratio=0.7), 4),  # 3.5 rounds up (3.4999... in floats)
        (5, dict(keep_ratio=0.5), 3),  # 2.5 rounds up
        (5, dict(prune_ratio=0.5), 3),  # keeps 0.5
        (10, dict(prune_ratio=0.3), 7),
        (3, dict(keep_ratio=1), 3),
        (10, dict(keep=4), 4),
        (None, dict(keep=40), None),
        (None, dict(keep_ratio=0.5), None),
        (0, dict(keep_ratio=0.5), 0),
    ],
)
def test_keep_count(n, kwargs, expected):
    assert scoring.keep_count(n, **kwargs) == expected


@pytest.mark.parametrize(
    "n, kwargs, message",
    [
        (
            3,
            dict(keep_ratio=0.0),
            "a keep ratio of 0.0 keeps no image: keep at least one",
        ),
        (
            None,
            dict(keep_ratio=0),
            "a keep ratio of 0 keeps no image: keep at least one",
        ),
        (
            5,
            dict(prune_ratio=1),
            "a prune ratio of 1 keeps no image: keep at least one",
        ),
        # 0.1 of 4 is 0.4, which rounds to no image
        (
            4,
            dict(keep_ratio=0.1),
            "a keep ratio of 0.1 keeps no image of the 4: keep at least one",
        ),
    ],
)
def test_keeping_nothing_is_refused(n, kwargs, message):
    with pytest.raises(scoring.KeepsNothingError) as raised:
        scoring.keep_count(n, **kwargs)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(keep_ratio=0.5, keep=3),
        dict(keep_ratio=1.5),
        dict(prune_ratio=-0.1),
        dict(keep=-1),
        dict(keep=0),
        dict(keep=11),
        dict(keep=2.5),
        dict(keep_ratio="x"),
    ],
)
def test_keep_count_errors(kwargs):
    with pytest.raises(ValueError):
        scoring.keep_count(10, **kwargs)


def test_zero_score_images_kept_only_when_asked_for():
    table = scoring.ShapeTable(
        ["a", "b", "c"],
        [1, 3, 3],
        [0, 0, 1],
        [36.0, 10.0, 0.0],
        [81.0, 4.0, 0.0],
        [100, 9, 1],
    )
    # images 0 and 2 have no instance, image 3 has one zero-area instance
    order, scores = scoring.rank(table, 4, "si-scs")
    assert scores[0] == 0 and scores[2] == 0 and scores[3] > scores[1] > 0
    assert order.tolist() == [3, 1, 0, 2]
    assert scoring.select(order, 3).tolist() == [True, True, False, True]


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        scoring.validate_method("el2n")


def test_class_totals_are_exact_whatever_the_order():
    """Totals are the correctly rounded sums (math.fsum), so any split or
    order of the instances gives the same bits."""
    import math

    rng = np.random.default_rng(7)
    values = rng.random(5000) * 10.0 ** rng.integers(-8, 8, 5000)
    category = rng.integers(0, 4, 5000)
    totals = scoring.class_totals(values, category)
    for c in range(4):
        assert totals[category == c][0] == math.fsum(values[category == c])
    shuffled = rng.permutation(5000)
    again = scoring.class_totals(values[shuffled], category[shuffled])
    assert again.tobytes() == totals[shuffled].tobytes()
    halves = [
        scoring.exact_group_sums(values[s], category[s], 4)
        for s in (slice(0, 1234), slice(1234, None))
    ]
    whole = scoring.exact_group_sums(values, category, 4)
    assert [a + b for a, b in zip(*halves)] == whole
    # subnormals and cancellation
    tiny = [5e-324, 1e-320, 1e308, -1e308, 0.1, 0.2]
    assert scoring.exact_to_float(
        scoring.exact_group_sums(tiny, [0] * 6, 1)[0]
    ) == math.fsum(tiny)


def test_report_size_buckets_by_pixel_count():
    # 1023 pixels is small, 1024 medium, 9216 large; the report refuses a
    # table whose pixels were not counted rather than call them small
    from tfdp.report import retention_report

    def table(pixels):
        n = len(pixels)
        return scoring.ShapeTable(
            list(range(n)),
            list(range(n)),
            [1] * n,
            [4.0] * n,
            [1.0] * n,
            pixels,
        )

    report = retention_report(
        table([1023, 1024, 9215, 9216]),
        [True, False, True, False],
        lambda c: (c, "cat"),
        "cb_scs",
    )
    assert {
        k: (v["before"], v["after"]) for k, v in report["sizes"].items()
    } == {"small": (1, 1), "medium": (2, 1), "large": (1, 0)}
    with pytest.raises(ValueError, match="not counted"):
        retention_report(
            table([-1, -1]), [True, True], lambda c: (c, "cat"), "cb_scs"
        )
