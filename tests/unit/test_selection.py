"""The selection rules, on hand-made rankings whose answers are derived by
hand, and against brute force on random ones."""

import numpy as np
import pytest

from tfdp import selection


def test_top_keeps_the_first_of_the_ranking():
    kept = selection.select_top([3, 1, 0, 2], 2)
    assert kept.tolist() == [False, True, False, True]


def test_a_class_guarantee_keeps_rare_classes():
    # images ranked 0 > 1 > 2 > 3; class "b" lives only in the last image
    order = [0, 1, 2, 3]
    image_index = [0, 0, 1, 2, 3]
    category = ["a", "a", "a", "a", "b"]
    guaranteed = selection.class_guarantee(order, image_index, category, 1)
    assert guaranteed.tolist() == [True, False, False, True]
    # the guaranteed images first, then the rest by rank: 2 of 4 keeps 0, 3
    kept = selection.select_top(order, 2, guaranteed)
    assert kept.tolist() == [True, False, False, True]
    # min(2, images holding it): "a" keeps 0 and 1, "b" its only image
    guaranteed = selection.class_guarantee(order, image_index, category, 2)
    assert guaranteed.tolist() == [True, True, False, True]
    assert selection.select_top(order, 3, guaranteed).sum() == 3


def test_a_class_guarantee_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        m = int(rng.integers(0, 25))
        order = rng.permutation(n)
        image_index = rng.integers(0, n, m)
        category = rng.integers(0, 4, m)
        k = int(rng.integers(1, 4))
        expected = np.zeros(n, dtype=bool)
        for c in set(category.tolist()):
            holding = set(image_index[category == c].tolist())
            expected[[i for i in order if i in holding][:k]] = True
        got = selection.class_guarantee(order, image_index, category, k)
        assert got.tolist() == expected.tolist()


def test_stratified_spreads_the_budget_from_the_smallest_stratum():
    # two strata over [0, 1]: {0.0, 0.1} and {0.9, 0.95, 0.97, 1.0};
    # 4 to keep: the small stratum takes its share, 2, the large one 2
    scores = [0.0, 0.1, 0.9, 0.95, 0.97, 1.0]
    kept = selection.select_stratified(scores, 4, strata=2, seed=1)
    assert kept[:2].all() and kept[2:].sum() == 2
    # the same seed draws the same images
    again = selection.select_stratified(scores, 4, strata=2, seed=1)
    assert kept.tolist() == again.tolist()


def test_stratified_hard_cutoff_removes_the_highest_scores_first():
    scores = [0.0, 0.1, 0.9, 0.95, 0.97, 1.0]
    kept = selection.select_stratified(scores, 4, strata=1, hard_cutoff=0.34)
    # round(0.34 * 6) = 2: 1.0 and 0.97 go; the 4 others are kept
    assert kept.tolist() == [True, True, True, True, False, False]
    with pytest.raises(ValueError, match="leaves 2 images, fewer than the 3"):
        selection.select_stratified(scores, 3, hard_cutoff=0.6)


def test_stratified_keeps_exactly_the_count():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        scores = rng.exponential(size=n) * (rng.random(n) < 0.8)
        count = int(rng.integers(1, n + 1))
        kept = selection.select_stratified(
            scores,
            count,
            strata=int(rng.integers(1, 9)),
            seed=int(rng.integers(0, 9)),
        )
        assert kept.sum() == count


@pytest.mark.parametrize(
    "strata, hard_cutoff, message",
    [
        (0, 0.0, "strata must be a positive integer, not 0"),
        (True, 0.0, "strata must be a positive integer, not True"),
        (5, 1.0, r"hard_cutoff must be a fraction in \[0, 1\), not 1.0"),
        (5, -0.1, r"hard_cutoff must be a fraction in \[0, 1\), not -0.1"),
    ],
)
def test_stratified_arguments_are_checked(strata, hard_cutoff, message):
    with pytest.raises(ValueError, match=message):
        selection.select_stratified([1.0, 2.0], 1, strata, 0, hard_cutoff)


@pytest.mark.parametrize(
    "hard_cutoff, num, removed",
    [
        # halves round up, as the keep and prune ratios do (docs/method.md)
        (0.5, 5, 3),  # 2.5 of 5
        (0.1, 5, 1),  # 0.5 of 5
        (0.3, 5, 2),  # 1.5 of 5
        (0.29, 5, 1),
        # read as an exact decimal: 14.5, not 14.499999999999998
        (0.145, 100, 15),
    ],
)
def test_stratified_hard_cutoff_rounds_halves_up(hard_cutoff, num, removed):
    scores = np.arange(num, dtype=float)
    # the images left after the cutoff are the lowest scores
    kept = selection.select_stratified(
        scores, num - removed, strata=1, hard_cutoff=hard_cutoff
    )
    assert kept.tolist() == [True] * (num - removed) + [False] * removed
    with pytest.raises(ValueError, match="leaves %d images" % (num - removed)):
        selection.select_stratified(
            scores, num - removed + 1, strata=1, hard_cutoff=hard_cutoff
        )
