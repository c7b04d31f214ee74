"""TFDP scores, image scores, ranking and selection (docs/method.md
sections 3-4).

Everything here works on per-instance perimeters and areas, so any method or
ratio is derived without touching a mask again. Only numpy is used.
"""

from fractions import Fraction

import numpy as np

#: Shape-complexity methods, and the random baseline
METHODS = ("cb-scs", "si-scs", "scs", "random")
SCORE_METHODS = METHODS[:3]


def validate_method(method):
    """Checks a method name.

    Args:
        method: one of :data:`METHODS`

    Returns:
        the method

    Raises:
        ValueError: if the method is unknown
    """
    if method not in METHODS:
        raise ValueError(
            "unknown method %r; expected one of %s"
            % (method, ", ".join(METHODS))
        )
    return method


def scs(perimeter, area):
    """Shape complexity ``P / A``, 0 where ``A == 0``."""
    perimeter = np.asarray(perimeter, dtype=np.float64)
    area = np.asarray(area, dtype=np.float64)
    out = np.zeros_like(area)
    np.divide(perimeter, area, out=out, where=area > 0)
    return out


def si_scs(perimeter, area):
    """Scale-invariant shape complexity ``P / (2 sqrt(pi A))``, 1 for a disk,
    0 where ``A == 0``."""
    perimeter = np.asarray(perimeter, dtype=np.float64)
    area = np.asarray(area, dtype=np.float64)
    out = np.zeros_like(area)
    np.divide(perimeter, 2.0 * np.sqrt(np.pi * area), out=out, where=area > 0)
    return out


#: Exact sums are integers in units of 2**-1127: the smallest subnormal
#: double (2**-1074) times its 53-bit mantissa's scale
_EXACT_SCALE = 1127
_HALF_BITS = 26
#: Items summed per pass: float64 sums of up to 2**26 halves of 27 bits stay
#: below 2**53, so they are exact
_EXACT_SLICE = 1 << 26


def exact_group_sums(values, groups, num_groups):
    """Exact sums of values per group, as integers.

    Each float is split into integer halves of its 53-bit mantissa and added
    per exponent without rounding, so the sums are the same whatever the
    order or the grouping of the values, and partial sums of any split of
    the values add up (with ``+``) to the sums of the whole.
    :func:`exact_to_float` rounds a sum once.

    Args:
        values: finite per-item values
        groups: per-item group indices in ``[0, num_groups)``
        num_groups: the number of groups

    Returns:
        a list of ``num_groups`` Python ints, each a sum in units of
        ``2**-1127``

    Raises:
        ValueError: if a value is not finite
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    groups = np.asarray(groups, dtype=np.int64).ravel()
    sums = [0] * num_groups
    for start in range(0, values.size, _EXACT_SLICE):
        _add_exact(
            sums,
            values[start : start + _EXACT_SLICE],
            groups[start : start + _EXACT_SLICE],
        )
    return sums


def _add_exact(sums, values, groups):
    if not np.isfinite(values).all():
        raise ValueError("exact sums need finite values")
    mantissa, exponent = np.frexp(values)
    whole = (mantissa * 2.0**53).astype(np.int64)  # exact: 53 bits
    high = (whole >> _HALF_BITS).astype(np.float64)
    low = (whole & ((1 << _HALF_BITS) - 1)).astype(np.float64)
    low_exponent = int(exponent.min())
    span = int(exponent.max()) - low_exponent + 1
    # one bin per (group, exponent)
    bins = groups * span + (exponent - low_exponent)
    size = len(sums) * span
    high_sums = np.bincount(bins, weights=high, minlength=size)
    low_sums = np.bincount(bins, weights=low, minlength=size)
    for b in np.flatnonzero((high_sums != 0) | (low_sums != 0)).tolist():
        group, e = divmod(b, span)
        shift = e + low_exponent - 53 + _EXACT_SCALE
        sums[group] += (
            (int(high_sums[b]) << _HALF_BITS) + int(low_sums[b])
        ) << shift


def exact_to_float(total):
    """The double nearest to an exact sum of :func:`exact_group_sums`."""
    # int / int is correctly rounded in Python
    return total / (1 << _EXACT_SCALE) if total else 0.0


def class_totals(values, category):
    """Sums values per category, exactly, then rounds once.

    The totals do not depend on the order of the instances, so a collection
    split across files, chunks or workers gets the same totals to the bit.

    Args:
        values: per-instance values
        category: per-instance category labels (any hashable numpy dtype)

    Returns:
        per-instance totals of their category
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values.copy()
    _, inverse = np.unique(np.asarray(category), return_inverse=True)
    inverse = inverse.ravel()
    sums = exact_group_sums(values, inverse, int(inverse.max()) + 1)
    totals = np.array([exact_to_float(t) for t in sums], dtype=np.float64)
    return totals[inverse]


def cb_scs(perimeter, area, category):
    """Class-balanced SI-SCS: SI-SCS over its category's SI-SCS total.

    Args:
        perimeter: per-instance perimeters
        area: per-instance areas
        category: per-instance categories; the totals are taken over exactly
            these instances

    Returns:
        per-instance scores; 0 where the category total is 0
    """
    values = si_scs(perimeter, area)
    totals = class_totals(values, category)
    out = np.zeros_like(values)
    np.divide(values, totals, out=out, where=totals > 0)
    return out


def instance_scores(method, perimeter, area, category):
    """Per-instance scores of a shape-complexity method.

    Args:
        method: ``"cb-scs"``, ``"si-scs"`` or ``"scs"``
        perimeter: per-instance perimeters
        area: per-instance areas
        category: per-instance categories (used by ``"cb-scs"``)

    Returns:
        a float64 array

    Raises:
        ValueError: if the method is not a shape-complexity method
    """
    if method == "scs":
        return scs(perimeter, area)
    if method == "si-scs":
        return si_scs(perimeter, area)
    if method == "cb-scs":
        return cb_scs(perimeter, area, category)
    raise ValueError(
        "%r has no instance scores; expected one of %s"
        % (method, ", ".join(SCORE_METHODS))
    )


def image_scores(image_index, scores, num_images):
    """Sums instance scores per image, in instance order.

    Args:
        image_index: per-instance index of its image in ``[0, num_images)``
        scores: per-instance scores
        num_images: the number of images in the collection

    Returns:
        a float64 array of ``num_images`` image scores
    """
    image_index = np.asarray(image_index, dtype=np.int64)
    return np.bincount(
        image_index,
        weights=np.asarray(scores, dtype=np.float64),
        minlength=num_images,
    ).astype(np.float64)


def rank_images(scores=None, num_images=None, seed=None):
    """Ranks images, best first.

    With scores: highest score first, ties (zeros included) in input order.
    Without: a random order from ``seed`` (the random baseline).

    Args:
        scores (None): image scores
        num_images (None): the number of images, for the random order
        seed (None): the seed of the random order

    Returns:
        an int64 array of image indices
    """
    if scores is not None:
        return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")

    return np.random.default_rng(seed).permutation(num_images)


class KeepsNothingError(ValueError):
    """A selection that would keep no image."""


def keep_count(num_images, keep_ratio=None, prune_ratio=None, keep=None):
    """How many images to keep; exactly one criterion must be given.

    Ratios are read as exact decimals and ``round(r * N)`` rounds halves up,
    so 0.7 of 5 images keeps 4.

    Args:
        num_images: the number of images in the collection; None checks
            the criterion only (before the images are counted)
        keep_ratio (None): the fraction to keep, in ``(0, 1]``
        prune_ratio (None): the fraction to remove, in ``[0, 1)``
        keep (None): the number of images to keep

    Returns:
        an int in ``[1, num_images]`` (0 when there are no images), or None
        if ``num_images`` is None

    Raises:
        ValueError: if not exactly one criterion is given or it is out of
            range: a ratio outside ``[0, 1]``, a number to keep under 1 or
            over ``num_images``, or any criterion that keeps no image
    """
    given = [v is not None for v in (keep_ratio, prune_ratio, keep)]
    if sum(given) != 1:
        raise ValueError(
            "give exactly one of keep_ratio, prune_ratio and keep"
        )

    if keep is not None:
        if (
            isinstance(keep, bool)
            or not isinstance(keep, (int, float))
            or int(keep) != keep
            or keep < 1
        ):
            raise ValueError(
                "keep must be a positive integer, not %r" % (keep,)
            )
        if num_images is not None and keep > num_images:
            raise ValueError(
                "keep %d exceeds the %d images" % (keep, num_images)
            )
        return None if num_images is None else int(keep)

    value = keep_ratio if keep_ratio is not None else prune_ratio
    ratio = _exact_ratio(value)
    if prune_ratio is not None:
        ratio = 1 - ratio
    phrase = "a %s ratio of %s" % (
        "keep" if keep_ratio is not None else "prune",
        value,
    )
    if ratio == 0:
        raise KeepsNothingError(
            "%s keeps no image: keep at least one" % phrase
        )
    if num_images is None:
        return None

    count = ratio_count(ratio, num_images)
    if num_images and not count:
        raise KeepsNothingError(
            "%s keeps no image of the %d: keep at least one"
            % (phrase, num_images)
        )
    return count


def ratio_count(ratio, num_images):
    """``round(ratio * num_images)``, the ratio read as an exact decimal
    (a float's shortest form) and halves rounded up: 0.5 of 5 is 3, 0.145
    of 100 is 15.

    Args:
        ratio: a number, or a :class:`fractions.Fraction`
        num_images: a count

    Returns:
        an int
    """
    if not isinstance(ratio, Fraction):
        ratio = Fraction(str(ratio))
    return int(ratio * num_images + Fraction(1, 2))


def _exact_ratio(value):
    try:
        ratio = Fraction(str(value))
    except (TypeError, ValueError):
        raise ValueError("ratio must be a number, not %r" % (value,)) from None
    if not 0 <= ratio <= 1:
        raise ValueError("ratio must be between 0 and 1, not %s" % value)
    return ratio


def select(order, count):
    """Marks the first ``count`` images of a ranking as kept.

    Args:
        order: a ranking from :func:`rank_images`
        count: how many to keep

    Returns:
        a boolean array over images in input order
    """
    kept = np.zeros(len(order), dtype=bool)
    kept[np.asarray(order[:count], dtype=np.int64)] = True
    return kept


class ShapeTable(object):
    """Per-instance shapes of the eligible instances of a collection.

    Attributes:
        instance_ids: per-instance ids (COCO annotation ids, FiftyOne label
            ids, ...)
        image_index: per-instance index of its image in the collection
        category: per-instance category (id or name)
        perimeter: per-instance perimeter ``P``
        area: per-instance contour area ``A``
        pixels: per-instance mask pixel count
    """

    def __init__(
        self, instance_ids, image_index, category, perimeter, area, pixels
    ):
        self.instance_ids = list(instance_ids)
        self.image_index = np.asarray(image_index, dtype=np.int64)
        self.category = np.asarray(category)
        self.perimeter = np.asarray(perimeter, dtype=np.float64)
        self.area = np.asarray(area, dtype=np.float64)
        self.pixels = np.asarray(pixels, dtype=np.int64)

    def __len__(self):
        return len(self.instance_ids)

    def scores(self, method):
        """Per-instance scores of a shape-complexity method, with class
        totals taken over this table."""
        return instance_scores(
            method, self.perimeter, self.area, self.category
        )


def rank(table, num_images, method, seed=None):
    """Scores and ranks the images of a collection.

    Args:
        table: the collection's :class:`ShapeTable`
        num_images: how many images the collection has (with or without
            instances)
        method: one of :data:`METHODS`
        seed (None): the seed of the ``"random"`` method

    Returns:
        a tuple ``(order, image_scores)``: the ranking, best first, and the
        image scores in input order (``None`` for ``"random"``)
    """
    validate_method(method)
    if method == "random":
        return rank_images(num_images=num_images, seed=seed), None

    scores = image_scores(table.image_index, table.scores(method), num_images)
    return rank_images(scores), scores
