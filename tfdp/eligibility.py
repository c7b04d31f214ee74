"""Which instances are scored, and why the others are not.

One rule set (docs/method.md section 1) for every source: COCO files,
SA-1B-style folders and FiftyOne labels each read their records into an
:class:`Instance` and ask :func:`ineligible_reason`, so the same instance
gets the same reason wherever it comes from.

- :class:`Instance`: what the rules look at
- :func:`ineligible_reason`: why an instance is not scored, or None
- :data:`INELIGIBLE_REASONS`: every reason, in the order they are tested
"""

from collections import namedtuple

CROWD = "crowd"
IGNORE = "ignore"
EMPTY_SEGMENTATION = "empty segmentation"
#: A FiftyOne polyline that is not filled outlines no area
NOT_FILLED = "polyline not filled"
NO_BBOX = "no bbox"
BBOX_NOT_FINITE = "bbox not finite"
BBOX_UNDER_ONE_PIXEL = "bbox under 1 pixel"
BBOX_OUTSIDE_IMAGE = "bbox outside image"

INELIGIBLE_REASONS = (
    CROWD,
    IGNORE,
    EMPTY_SEGMENTATION,
    NOT_FILLED,
    NO_BBOX,
    BBOX_NOT_FINITE,
    BBOX_UNDER_ONE_PIXEL,
    BBOX_OUTSIDE_IMAGE,
)

#: An instance as the rules see it: ``crowd``, ``ignore`` and
#: ``segmentation_empty`` are booleans; ``bbox`` is ``[x, y, w, h]`` in
#: pixels (numbers, not necessarily finite) or None; ``width`` and
#: ``height`` are its image's; ``filled`` is False only for a FiftyOne
#: polyline that is not filled
Instance = namedtuple(
    "Instance",
    [
        "crowd",
        "ignore",
        "segmentation_empty",
        "bbox",
        "width",
        "height",
        "filled",
    ],
    defaults=(True,),
)


def ineligible_reason(instance):
    """Why an instance is not scored.

    Args:
        instance: an :class:`Instance`

    Returns:
        one of :data:`INELIGIBLE_REASONS`, or None when it is scored
    """
    if instance.crowd:
        return CROWD
    if instance.ignore:
        return IGNORE
    if instance.segmentation_empty:
        return EMPTY_SEGMENTATION
    if not instance.filled:
        return NOT_FILLED
    if instance.bbox is None:
        return NO_BBOX
    x, y, w, h = instance.bbox
    # v - v is 0 for a finite number, NaN (true) for NaN and infinities;
    # unlike math.isfinite, it takes ints of any size
    if (x - x) or (y - y) or (w - w) or (h - h):
        return BBOX_NOT_FINITE
    if w < 1 or h < 1:
        return BBOX_UNDER_ONE_PIXEL
    if x >= instance.width or y >= instance.height or x + w <= 0 or y + h <= 0:
        return BBOX_OUTSIDE_IMAGE
    return None
