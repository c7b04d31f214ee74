"""What keeping a fraction of a run's samples would keep, from its stored
fields, without writing anything: the panel's preview."""

import collections

import numpy as np

from tfdp import scoring, selection
from tfdp.fo_adapter.fields import run_fields
from tfdp.fo_adapter.labels import stored_table
from tfdp.fo_adapter.records import scored_config
from tfdp.fo_adapter.runs import check_unchanged
from tfdp.report import retention_report

#: The keep ratios of :func:`retention_curve`: 0.05 to 1 by 0.05
CURVE_RATIOS = tuple(round(0.05 * step, 2) for step in range(1, 21))


def preview_pruning(
    samples, run_key="tfdp", keep_ratio=0.7, method=None, bins=30
):
    """What keeping a fraction of a run's samples would keep, computed from
    its stored fields, without writing anything, with the selection choices
    of its last pruning (see :func:`recorded_selection`).

    The run's stored perimeters, areas and pixel counts are read once and
    kept in memory until the run changes, so that each further preview (any
    ratio, any method) costs milliseconds. Counts are those of
    :func:`tfdp.report.retention_report` for the same ranking as
    :func:`prune_samples`.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run
        keep_ratio (0.7): the fraction of samples to keep
        method (None): the ranking method, the run's by default
        bins (30): the number of bins of the score histogram

    Returns:
        a dict with ``images``, ``instances`` and ``sizes`` counts (as in
        :func:`tfdp.report.retention_report`), ``classes`` (worst retention
        first), ``histogram`` (``counts``, ``edges``), ``cutoff`` (the
        lowest kept score), ``method``, ``selection`` (the choices made, as
        :func:`recorded_selection` gives them), and the ``kept_view`` and
        ``removed_view`` (lowest scores first)

    Raises:
        ValueError: if the choices do not fit the ratio (a class guarantee
            that needs more images than it keeps)
    """
    ranking = _rank(samples, run_key, keep_ratio, method)
    stored = ranking["stored"]
    count = ranking["count"]
    scores = ranking["scores"]
    kept, choices, kept_view, removed_view = _select(ranking)
    report = retention_report(
        stored.table, kept, lambda name: (name, name), ranking["method"]
    )

    histogram, cutoff = None, None
    if scores is not None and len(scores):
        hist_counts, edges = np.histogram(scores, bins=bins)
        histogram = {"counts": hist_counts.tolist(), "edges": edges.tolist()}
        if count:
            cutoff = float(scores[kept].min())

    return {
        "run_key": run_key,
        "method": ranking["method"],
        "keep_ratio": keep_ratio,
        "images": report["images"],
        "instances": report["instances"],
        "classes": [
            {k: c[k] for k in ("name", "before", "after", "retention")}
            for c in report["classes"]
        ],
        "sizes": report["sizes"],
        "histogram": histogram,
        "cutoff": cutoff,
        "selection": choices,
        "removed_view": removed_view,
        "kept_view": kept_view,
    }


def recorded_selection(config, method):
    """The selection choices of a run's last pruning that a ranking by
    ``method`` can make, as keyword arguments of
    :func:`tfdp.prune_samples`: ``{}`` for the paper's rule (and for a
    stratified selection under ``"random"``, which has no scores)."""
    chosen = dict(getattr(config, "selection", None) or {})
    if chosen.get("selection") == "stratified":
        if method == "random":
            return {}
        return {k: chosen[k] for k in ("selection", "strata", "hard_cutoff")}
    if chosen.get("min_per_class"):
        return dict(selection="top", min_per_class=chosen["min_per_class"])
    return {}


def retention_curve(
    samples,
    run_key="tfdp",
    method=None,
    ratios=CURVE_RATIOS,
    min_per_class=None,
):
    """What each keep ratio keeps of a run's instances and classes, from
    its stored fields, ranked as :func:`preview_pruning` ranks.

    A class counts as kept while at least one of its instances is. All
    ratios come from one pass over the ranking: an instance survives every
    ratio that keeps its image, a class every ratio that keeps its
    best-ranked image.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run
        method (None): the ranking method, the run's by default
        ratios (CURVE_RATIOS): the keep ratios
        min_per_class (None): also count what a class guarantee of this
            many images keeps (see :func:`curve_counts`)

    Returns:
        a dict with ``method``, ``ratios``, and per ratio the number of
        ``images`` kept, and the ``instances`` and ``classes`` kept, each a
        dict of ``kept`` (a list) and ``total``
    """
    ranking = _rank(samples, run_key, 1.0, method)
    return curve_counts(
        ranking["stored"].table,
        ranking["order"],
        ranking["num"],
        ratios,
        ranking["method"],
        min_per_class=min_per_class,
    )


def curve_counts(
    table, order, num_images, ratios, method=None, min_per_class=None
):
    """The counts of :func:`retention_curve` for a ranking.

    Args:
        table: a :class:`tfdp.scoring.ShapeTable`
        order: the ranking of its images, best first
        num_images: how many images the collection has
        ratios: the keep ratios
        method (None): the ranking's method, returned as is
        min_per_class (None): also count, under ``guarantee``, the
            instances and classes kept with this class guarantee
            (:func:`tfdp.selection.class_guarantee`); None at the ratios
            whose budget it does not fit

    Returns:
        a dict as :func:`retention_curve` returns
    """
    counts = np.array(
        [scoring.keep_count(num_images, keep_ratio=r) for r in ratios],
        dtype=np.int64,
    )
    # the position of each image in the ranking, and so of each instance
    position = np.empty(num_images, dtype=np.int64)
    position[np.asarray(order, dtype=np.int64)] = np.arange(num_images)
    instance_position = position[np.asarray(table.image_index, dtype=np.int64)]
    # instances kept by the first c images: a cumulative count
    per_position = np.bincount(instance_position, minlength=num_images)
    kept_instances = np.concatenate([[0], np.cumsum(per_position)])[counts]

    num_classes = 0
    kept_classes = np.zeros(len(counts), dtype=np.int64)
    if len(table):
        _, inverse = np.unique(table.category, return_inverse=True)
        inverse = inverse.ravel()
        num_classes = int(inverse.max()) + 1
        first = np.full(num_classes, num_images, dtype=np.int64)
        np.minimum.at(first, inverse, instance_position)
        kept_classes = np.searchsorted(np.sort(first), counts, side="left")

    result = {
        "method": method,
        "ratios": list(ratios),
        "images": counts.tolist(),
        "instances": {"kept": kept_instances.tolist(), "total": len(table)},
        "classes": {"kept": kept_classes.tolist(), "total": num_classes},
    }
    if min_per_class:
        result["guarantee"] = _guarantee_counts(
            table, order, counts, num_classes, min_per_class
        )
    return result


def _guarantee_counts(table, order, counts, num_classes, min_per_class):
    # per ratio, what the guaranteed selection keeps: every class, and the
    # instances of its images; None where the guarantee exceeds the budget
    guaranteed = selection.class_guarantee(
        order, table.image_index, table.category, min_per_class
    )
    needed = int(guaranteed.sum())
    images = np.asarray(table.image_index, dtype=np.int64)
    instances, classes = [], []
    for count in counts.tolist():
        if count < needed:
            instances.append(None)
            classes.append(None)
            continue
        kept = selection.select_top(order, count, guaranteed)
        instances.append(int(kept[images].sum()))
        classes.append(num_classes)
    return {
        "min_per_class": min_per_class,
        "needed": needed,
        "instances": instances,
        "classes": classes,
    }


def pruned_away_view(samples, run_key="tfdp", keep_ratio=0.7, method=None):
    """The samples that keeping a fraction of a run's samples would remove,
    lowest scores first, ranked as :func:`preview_pruning` ranks.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run
        keep_ratio (0.7): the fraction of samples to keep
        method (None): the ranking method, the run's by default

    Returns:
        a :class:`fiftyone.core.view.DatasetView`
    """
    return _select(_rank(samples, run_key, keep_ratio, method))[3]


#: Stored tables of recent runs: {(dataset id, run key): (stamp, table)}
_STORED = collections.OrderedDict()
_STORED_MAX = 4


def _stored_table(dataset, run_key, config, scored, label_paths, sample_field):
    # a run's stored shapes change only when it is scored again, which
    # registers it anew (a new timestamp); samples may be added or deleted,
    # which pruning refuses, and so does the preview
    stamp = (
        str(dataset.get_run_info(run_key).timestamp),
        config.label_field,
        len(scored),
    )
    key = (str(dataset._doc.id), run_key)
    hit = _STORED.get(key)
    if hit is not None and hit[0] == stamp:
        _STORED.move_to_end(key)
        return hit[1]
    stored = stored_table(scored, config.label_field, label_paths)
    check_unchanged(scored, run_key, config, stored, sample_field)
    _STORED[key] = (stamp, stored)
    while len(_STORED) > _STORED_MAX:
        _STORED.popitem(last=False)
    return stored


def _rank(samples, run_key, keep_ratio, method):
    dataset = samples._root_dataset
    config = scored_config(dataset, run_key)
    scored = dataset.load_run_view(run_key)
    label_paths, sample_field = run_fields(scored, run_key, config.label_field)
    stored = _stored_table(
        dataset, run_key, config, scored, label_paths, sample_field
    )
    num = len(stored.sample_ids)
    count = scoring.keep_count(num, keep_ratio=keep_ratio)
    method = scoring.validate_method(method or config.method)
    order, scores = scoring.rank(
        stored.table, num, method, seed=getattr(config, "seed", None) or 0
    )
    return dict(
        config=config,
        scored=scored,
        sample_field=sample_field,
        num=num,
        count=count,
        method=method,
        stored=stored,
        order=order,
        scores=scores,
    )


def _select(ranking):
    # the kept images of a ranking, with the run's recorded choices, and
    # the views of the kept and the removed samples
    config, method, count = (
        ranking["config"],
        ranking["method"],
        ranking["count"],
    )
    choices = recorded_selection(config, method)
    table, order = ranking["stored"].table, ranking["order"]
    kept, _ = selection.select_images(
        order,
        ranking["scores"],
        count,
        table.image_index,
        table.category,
        seed=getattr(config, "seed", None) or 0,
        **choices,
    )
    scored = ranking["scored"]
    if not choices and method == config.method and method != "random":
        # by the stored image scores in the database: a view of any size
        # stays two stages, not a list of ids
        sample_field = ranking["sample_field"]
        kept_view = scored.sort_by([(sample_field, -1), ("_id", 1)]).limit(
            count
        )
        removed_view = scored.sort_by([(sample_field, 1), ("_id", -1)]).limit(
            ranking["num"] - count
        )
    else:
        in_order = kept[order]
        ranked = np.asarray(ranking["stored"].sample_ids, dtype=object)[order]
        kept_view = scored.select(ranked[in_order].tolist(), ordered=True)
        removed_view = scored.select(
            ranked[~in_order][::-1].tolist(), ordered=True
        )
    return kept, choices, kept_view, removed_view
