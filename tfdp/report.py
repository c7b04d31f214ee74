"""Retention report: what a pruning keeps, overall, per class and per size.

The report is a plain JSON-serialisable dict, printed by the command and
shown by the FiftyOne plugin alike.
"""

import numpy as np

#: COCO size buckets of an instance's pixel area: (name, lower bound)
SIZE_BUCKETS = (("small", 0), ("medium", 32**2), ("large", 96**2))


def retention_report(
    table,
    kept_images,
    class_names,
    method,
    ineligible=None,
    invalid=None,
):
    """Counts images and eligible instances before and after a pruning.

    Args:
        table: the collection's :class:`tfdp.scoring.ShapeTable`
        kept_images: a boolean array over the collection's images
        class_names: a callable mapping a value of ``table.category`` to
            ``(category_id, name)``
        method: the method that ranked the images
        ineligible (None): a mapping of reasons to counts of annotations
            that were not scored
        invalid (None): a list of :class:`tfdp.errors.Problem` that were
            skipped

    Returns:
        a dict with ``method``, ``images``, ``instances``, ``classes``,
        ``sizes``, ``ineligible`` and ``invalid``

    Raises:
        ValueError: if the table's mask pixels were not counted (-1)
    """
    if table.pixels.size and table.pixels.min() < 0:
        raise ValueError(
            "the size buckets need mask pixel counts, which were not "
            "counted (measure with count_pixels=True)"
        )
    kept_images = np.asarray(kept_images, dtype=bool)
    kept = kept_images[table.image_index]

    classes = []
    if len(table):
        values, inverse = np.unique(table.category, return_inverse=True)
        inverse = inverse.ravel()
        before = np.bincount(inverse, minlength=values.size)
        after = np.bincount(inverse[kept], minlength=values.size)
        for value, b, a in zip(values.tolist(), before, after):
            category_id, name = class_names(value)
            classes.append(
                retention_counts(b, a, category_id=category_id, name=name)
            )
        classes.sort(key=lambda c: (c["retention"], c["name"]))

    bounds = [lower for _, lower in SIZE_BUCKETS[1:]]
    bucket = np.searchsorted(bounds, table.pixels, side="right")
    sizes = {}
    for index, (name, _) in enumerate(SIZE_BUCKETS):
        in_bucket = bucket == index
        sizes[name] = retention_counts(
            in_bucket.sum(), (in_bucket & kept).sum()
        )

    return {
        "method": method,
        "images": retention_counts(kept_images.size, kept_images.sum()),
        "instances": retention_counts(len(table), kept.sum()),
        "classes": classes,
        "sizes": sizes,
        "ineligible": dict(sorted((ineligible or {}).items())),
        "invalid": [
            {
                "kind": p.kind,
                "id": p.id,
                "image_id": p.image_id,
                "message": p.message,
            }
            for p in invalid or []
        ],
    }


def retention_counts(before, after, **fields):
    """``fields`` with ``before``, ``after`` and ``retention`` (None when
    nothing was there before)."""
    before, after = int(before), int(after)
    fields.update(
        before=before,
        after=after,
        retention=after / before if before else None,
    )
    return fields


def format_report(report, max_classes=None):
    """Formats a retention report as text.

    Args:
        report: a dict from :func:`retention_report`
        max_classes (None): list only this many classes, worst retention
            first

    Returns:
        a multi-line string
    """
    lines = ["method: %s" % report["method"]]
    chosen = report.get("selection")
    if chosen and chosen["selection"] == "stratified":
        lines.append(
            "selection: stratified, %d strata, hard cutoff %s, seed %d"
            % (chosen["strata"], chosen["hard_cutoff"], chosen["seed"])
        )
    elif chosen:
        lines.append(
            "selection: top, at least %d image%s per class (the guarantee "
            "added %d)"
            % (
                chosen["min_per_class"],
                "" if chosen["min_per_class"] == 1 else "s",
                chosen["added"],
            )
        )
    lines += [
        "images:    %s" % _format_counts(report["images"]),
        "instances: %s" % _format_counts(report["instances"]),
    ]

    if report["ineligible"]:
        lines.append(
            "not scored: "
            + ", ".join(
                "%d %s" % (n, reason)
                for reason, n in report["ineligible"].items()
            )
        )
    if report["invalid"]:
        lines.append(
            "skipped as malformed: %d record(s)" % len(report["invalid"])
        )

    lines.append("instances by size:")
    for name, counts in report["sizes"].items():
        lines.append("  %-8s %s" % (name, _format_counts(counts)))

    classes = report["classes"]
    shown = classes if max_classes is None else classes[:max_classes]
    lines.append(
        "instances by class, worst retention first%s:"
        % (
            ""
            if len(shown) == len(classes)
            else " (%d of %d)" % (len(shown), len(classes))
        )
    )
    width = max([len(c["name"]) for c in shown] + [5])
    for counts in shown:
        lines.append(
            "  %-*s %s" % (width, counts["name"], _format_counts(counts))
        )

    return "\n".join(lines)


def _format_counts(counts):
    if counts["retention"] is None:
        return "%d of %d" % (counts["after"], counts["before"])
    return "%d of %d kept (%.1f%%)" % (
        counts["after"],
        counts["before"],
        100 * counts["retention"],
    )
