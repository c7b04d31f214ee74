"""Which images to keep: the selection rules over image scores
(docs/method.md, "Selection").

- :func:`select_top`: the ``count`` highest-scoring images, the paper's rule;
- :func:`class_guarantee`: for every class, its best-scoring images, so that
  rare classes survive a pruning;
- :func:`select_stratified`: coverage-centric selection (CCS, Zheng et al.,
  ICLR 2023): equal-width score strata, the budget spread from the smallest
  stratum up, images drawn at random within each.

Each returns a boolean array over the images in input order;
:func:`select_images` applies the choices a user makes, as the command, the
Python API and the App take them.
"""

import numpy as np

from tfdp.scoring import ratio_count

#: the selection rules, by name
SELECTIONS = ("top", "stratified")


def select_images(
    order,
    scores,
    count,
    image_index=None,
    category=None,
    selection="top",
    min_per_class=None,
    strata=50,
    seed=0,
    hard_cutoff=0.0,
):
    """Chooses the images to keep.

    Args:
        order: image indices, best first
        scores: image scores in input order (None for the random method)
        count: how many images to keep
        image_index (None): per scored instance, the index of its image
            (needed by ``min_per_class``)
        category (None): per scored instance, its class
        selection ("top"): ``"top"`` or ``"stratified"``
        min_per_class (None): with ``"top"``, how many images each class
            keeps at least
        strata (50): with ``"stratified"``, the number of strata
        seed (0): with ``"stratified"``, the seed of the draws
        hard_cutoff (0.0): with ``"stratified"``, the fraction of
            highest-scoring images removed first

    Returns:
        a tuple ``(kept, selection)``: a boolean array over images in input
        order, and what to report of the choices (None for the paper's
        rule), with ``added``, how many images the class guarantee added to
        those the ranking alone keeps

    Raises:
        ValueError: if the choices are invalid or do not fit the budget
    """
    validate_selection(
        selection, min_per_class, strata, hard_cutoff, scores is not None
    )
    if selection == "stratified":
        kept = select_stratified(
            scores, count, strata=strata, seed=seed, hard_cutoff=hard_cutoff
        )
        return kept, {
            "selection": selection,
            "strata": strata,
            "seed": seed,
            "hard_cutoff": hard_cutoff,
        }
    if not min_per_class:
        return select_top(order, count), None

    guaranteed = class_guarantee(order, image_index, category, min_per_class)
    needed = int(guaranteed.sum())
    if needed > count:
        raise ValueError(
            "min_per_class %d needs %d images, more than the %d kept; keep "
            "at least %d or lower it" % (min_per_class, needed, count, needed)
        )
    kept = select_top(order, count, guaranteed)
    added = int((kept & ~select_top(order, count)).sum())
    return kept, {
        "selection": selection,
        "min_per_class": min_per_class,
        "added": added,
    }


def validate_selection(
    selection, min_per_class=None, strata=50, hard_cutoff=0.0, scored=True
):
    """Checks the selection choices before anything is read.

    Args:
        selection: ``"top"`` or ``"stratified"``
        min_per_class (None): a positive integer, with ``"top"``
        strata (50): a positive integer
        hard_cutoff (0.0): a fraction in ``[0, 1)``
        scored (True): whether the ranking has scores (not ``"random"``)

    Raises:
        ValueError: naming what is wrong
    """
    if selection not in SELECTIONS:
        raise ValueError(
            "selection must be one of %s, not %r"
            % (", ".join(SELECTIONS), selection)
        )
    if min_per_class is not None and (
        isinstance(min_per_class, bool)
        or not isinstance(min_per_class, int)
        or min_per_class < 1
    ):
        raise ValueError(
            "min_per_class must be a positive integer, not %r"
            % (min_per_class,)
        )
    if selection == "stratified":
        if min_per_class is not None:
            raise ValueError(
                "min_per_class applies to the top selection, "
                "not to the stratified one"
            )
        if not scored:
            raise ValueError(
                "the stratified selection needs image scores; "
                "the random method has none"
            )
        validate_stratified(strata, hard_cutoff)


def select_top(order, count, guaranteed=None):
    """Keeps the first ``count`` images of a ranking, after any guaranteed
    ones.

    Args:
        order: image indices, best first
        count: how many images to keep
        guaranteed (None): a boolean array of images kept whatever their
            rank (see :func:`class_guarantee`); at most ``count`` of them

    Returns:
        a boolean array over images in input order
    """
    order = np.asarray(order, dtype=np.int64)
    kept = np.zeros(len(order), dtype=bool)
    if guaranteed is not None:
        kept |= guaranteed
    rest = order[~kept[order]][: count - int(kept.sum())]
    kept[rest] = True
    return kept


def class_guarantee(order, image_index, category, min_per_class):
    """The images that keep every class alive: for each class, its
    ``min_per_class`` best-ranked images among those holding a scored
    instance of it (all of them when it has fewer).

    Args:
        order: image indices, best first
        image_index: per scored instance, the index of its image
        category: per scored instance, its class
        min_per_class: how many images each class keeps at least

    Returns:
        a boolean array over images in input order
    """
    order = np.asarray(order, dtype=np.int64)
    guaranteed = np.zeros(len(order), dtype=bool)
    if not len(image_index) or min_per_class < 1:
        return guaranteed
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    classes = np.unique(np.asarray(category), return_inverse=True)[1]
    images = np.asarray(image_index, dtype=np.int64)

    # each (class, image) once, by class then rank
    pairs = np.unique(classes.astype(np.int64) * len(order) + images)
    pair_class, pair_image = pairs // len(order), pairs % len(order)
    by_rank = np.lexsort((position[pair_image], pair_class))
    pair_class, pair_image = pair_class[by_rank], pair_image[by_rank]
    starts = np.flatnonzero(np.r_[True, pair_class[1:] != pair_class[:-1]])
    sizes = np.diff(np.r_[starts, len(pair_class)])
    rank_in_class = np.arange(len(pair_class)) - np.repeat(starts, sizes)
    guaranteed[pair_image[rank_in_class < min_per_class]] = True
    return guaranteed


def select_stratified(scores, count, strata=50, seed=0, hard_cutoff=0.0):
    """Coverage-centric selection over image scores.

    The ``hard_cutoff`` fraction of highest-scoring images is removed first
    (docs/method.md says why that end). The scores of the rest are cut into
    ``strata`` equal-width strata; the budget is spread from the smallest
    stratum up, each taking at most an equal share of what is left, and
    images are drawn uniformly at random within a stratum.

    Args:
        scores: image scores, in input order
        count: how many images to keep
        strata (50): the number of strata
        seed (0): the seed of the draws
        hard_cutoff (0.0): the fraction of highest-scoring images removed
            first, in ``[0, 1)``

    Returns:
        a boolean array over images in input order

    Raises:
        ValueError: if ``strata`` is not a positive integer, ``hard_cutoff``
            is outside ``[0, 1)``, or the images left after the cutoff are
            fewer than ``count``
    """
    validate_stratified(strata, hard_cutoff)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    # halves rounded up, as keep and prune ratios
    pool = order[ratio_count(hard_cutoff, len(scores)) :]
    if count > len(pool):
        raise ValueError(
            "a hard cutoff of %s leaves %d images, fewer than the %d to keep"
            % (hard_cutoff, len(pool), count)
        )

    values = scores[pool]
    low, span = values.min(initial=0.0), np.ptp(values) if len(pool) else 0
    stratum = np.zeros(len(pool), dtype=np.int64)
    if span > 0:
        stratum = np.minimum(
            ((values - low) / span * strata).astype(np.int64), strata - 1
        )
    members = [pool[stratum == k] for k in range(strata)]
    members = sorted((m for m in members if len(m)), key=len)

    rng = np.random.default_rng(seed)
    kept = np.zeros(len(scores), dtype=bool)
    budget = count
    for left, group in zip(range(len(members), 0, -1), members):
        take = min(len(group), budget // left)
        kept[rng.choice(group, size=take, replace=False)] = True
        budget -= take
    return kept


def validate_stratified(strata, hard_cutoff):
    """Checks the arguments of a stratified selection.

    Raises:
        ValueError: if ``strata`` is not a positive integer or
            ``hard_cutoff`` is not a number in ``[0, 1)``
    """
    if isinstance(strata, bool) or not isinstance(strata, int) or strata < 1:
        raise ValueError(
            "strata must be a positive integer, not %r" % (strata,)
        )
    if (
        isinstance(hard_cutoff, bool)
        or not isinstance(hard_cutoff, (int, float))
        or not 0 <= hard_cutoff < 1
    ):
        raise ValueError(
            "hard_cutoff must be a fraction in [0, 1), not %r" % (hard_cutoff,)
        )
