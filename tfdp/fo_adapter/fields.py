"""Names of what a TFDP run writes, and checks of the arguments that name
them.

Fields written by a run with key ``run_key`` on label field ``field``:

-   ``field.<detections|polylines>.<run_key>_perimeter``, ``..._area``,
    ``..._pixels`` and ``..._score`` on each scored label (missing, read as
    None, on labels that are not scored)
-   ``<run_key>_score`` on each sample of the scored collection (the image
    score: the sum of its labels' scores)
-   the tag ``<run_key>:keep`` (or the one given) on the kept samples, and a
    saved view ``<run_key>-kept`` matching it
"""

import fiftyone.core.labels as fol
import fiftyone.core.view as fov

#: Label types that can be scored: the list attribute holding the labels
LABEL_LISTS = {fol.Detections: "detections", fol.Polylines: "polylines"}

#: The label attributes of a run, in the order they are written
LABEL_ATTRS = ("perimeter", "area", "pixels", "score")


def validate_run_key(run_key):
    """Checks that a run key can name runs and fields.

    Args:
        run_key: the key

    Returns:
        the key

    Raises:
        ValueError: if it is not a valid Python identifier
    """
    if not isinstance(run_key, str) or not run_key.isidentifier():
        raise ValueError(
            "invalid run key %r: use letters, digits and underscores, not "
            "starting with a digit" % (run_key,)
        )
    return run_key


def validate_tag(tag):
    """Checks a tag given for kept samples (None means the default).

    Raises:
        ValueError: if it is not a non-empty string
    """
    if tag is not None and (not isinstance(tag, str) or not tag.strip()):
        raise ValueError("tag must be a non-empty string, not %r" % (tag,))
    return tag


def validate_seed(seed):
    """Checks the seed of the random method.

    Raises:
        ValueError: if it is not a non-negative integer
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(
            "seed must be a non-negative integer, not %r" % (seed,)
        )
    return seed


def compatible_label_fields(samples):
    """The label fields of a collection that TFDP can score.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`

    Returns:
        a sorted list of field names holding ``Detections`` or ``Polylines``
    """
    schema = samples.get_field_schema(
        embedded_doc_type=tuple(LABEL_LISTS), flat=False
    )
    return sorted(schema)


def label_list_path(samples, label_field):
    """The path to the labels of a field, e.g. ``ground_truth.detections``.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: the field

    Returns:
        the path

    Raises:
        ValueError: if the field is missing or of another type
    """
    field = (
        samples.get_field(label_field)
        if isinstance(label_field, str)
        else None
    )
    if field is None:
        raise ValueError(
            "%s has no field %r; compatible fields: %s"
            % (
                collection_name(samples),
                label_field,
                ", ".join(compatible_label_fields(samples)) or "none",
            )
        )
    doc_type = getattr(field, "document_type", None)
    if doc_type not in LABEL_LISTS:
        raise ValueError(
            "field %r is a %s; TFDP scores Detections with instance masks "
            "or filled Polylines"
            % (
                label_field,
                doc_type.__name__ if doc_type else type(field).__name__,
            )
        )
    return "%s.%s" % (label_field, LABEL_LISTS[doc_type])


def run_fields(samples, run_key, label_field):
    """The fields that a run writes.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        run_key: the run key
        label_field: the scored field

    Returns:
        a tuple ``(label_paths, sample_field)``: the label attribute paths
        (perimeter, area, pixels, score) and the sample score field
    """
    path = label_list_path(samples, label_field)
    labels = tuple("%s.%s_%s" % (path, run_key, a) for a in LABEL_ATTRS)
    return labels, "%s_score" % run_key


def kept_view_name(run_key):
    """The name of the saved view of a run's kept samples."""
    return "%s-kept" % run_key.replace("_", "-")


def default_tag(run_key):
    """The default tag of a run's kept samples."""
    return "%s:keep" % run_key


def collection_name(samples):
    """How messages name a collection."""
    if isinstance(samples, fov.DatasetView):
        return "view of dataset %r" % samples._root_dataset.name
    return "dataset %r" % samples.name
