"""One COCO segmentation: checking, decoding and measuring it on its image.

A segmentation is polygons (a list of flat ``[x1, y1, x2, y2, ...]``
lists), RLE (a dict with ``size`` and compressed or uncompressed
``counts``) or null. COCO files, SA-1B-style folders and the packed chunks
that engines measure all go through these functions, so a segmentation is
accepted, refused and measured the same way wherever it comes from.

- :func:`is_empty_segmentation`: whether it has no coordinates at all
- :func:`check_segmentation`: whether it decodes, without measuring it
- :func:`measure_segmentation`: its :class:`tfdp.geometry.Shape`
- :class:`MalformedError`: a field of a record that cannot be interpreted
"""

from tfdp import geometry, jsonio


class MalformedError(geometry.GeometryError):
    """A field of a record that cannot be interpreted."""


def is_empty_segmentation(segmentation):
    """Whether a segmentation is null or has no coordinates at all.

    Args:
        segmentation: a parsed ``segmentation`` value

    Returns:
        True for null, ``{}``, ``[]`` and a list of empty lists

    Raises:
        MalformedError: if it is neither polygons, RLE nor null
    """
    kind = type(segmentation)
    if kind is list:
        for part in segmentation:
            if type(part) is not list or part:
                return False
        return True
    if kind is dict:
        return not segmentation
    if segmentation is None:
        return True
    raise MalformedError(
        "segmentation is a %s, not polygons or RLE"
        % jsonio.type_name(segmentation)
    )


def measure_segmentation(segmentation, width, height):
    """Measures a segmentation on its image.

    Args:
        segmentation: polygons or RLE
        width: the image width
        height: the image height

    Returns:
        a :class:`tfdp.geometry.Shape`

    Raises:
        tfdp.geometry.GeometryError: if the segmentation is malformed
    """
    if isinstance(segmentation, list):
        parts = geometry.polygon_parts(segmentation)
        return geometry.polygon_shape(parts, width, height)

    if isinstance(segmentation, dict):
        runs = _rle_runs(segmentation, width, height)
        return geometry.rle_shape(runs, height, width)

    raise geometry.GeometryError(
        "segmentation is a %s, not polygons or RLE"
        % jsonio.type_name(segmentation)
    )


def check_segmentation(segmentation, width, height):
    """Checks that a segmentation can be decoded, without measuring it.

    Annotations that are not scored are checked too: a malformed record is
    refused (or skipped) whether or not it would be scored.

    Args:
        segmentation: polygons, RLE, or an empty segmentation
        width: the image width
        height: the image height

    Raises:
        tfdp.geometry.GeometryError: if the segmentation is malformed
    """
    if isinstance(segmentation, list):
        geometry.polygon_parts(segmentation)
    elif isinstance(segmentation, dict) and segmentation:
        _rle_runs(segmentation, width, height)


def _rle_runs(segmentation, width, height):
    size = segmentation.get("size")
    if (
        type(size) is not list
        or len(size) != 2
        or not all(type(v) is int for v in size)
    ):
        raise geometry.GeometryError(
            "RLE size %s is not [height, width]" % jsonio.brief(size)
        )
    if size != [height, width]:
        raise geometry.GeometryError(
            "RLE size %s differs from its image's [height, width] %s"
            % (size, [height, width])
        )
    if "counts" not in segmentation:
        raise geometry.GeometryError("RLE has no counts")
    return geometry.rle_counts(segmentation["counts"], height, width)
