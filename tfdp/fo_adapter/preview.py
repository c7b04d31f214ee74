"""What keeping a fraction of a run's samples would keep, from its stored
fields, without writing anything: the panel's preview."""

import numpy as np

import fiftyone as fo

from tfdp import scoring
from tfdp.fo_adapter.fields import label_list_path, run_fields
from tfdp.fo_adapter.measure import stored_table
from tfdp.fo_adapter.runs import scored_config
from tfdp.report import SIZE_BUCKETS, retention_counts

def preview_pruning(
    samples, run_key="tfdp", keep_ratio=0.7, method=None, bins=30
):
    """What keeping a fraction of a run's samples would keep, computed from
    its stored fields, without writing anything.

    For the run's own method, samples are ranked by the stored image scores
    in the database, ties broken by sample id (insertion order), and all
    counts are database aggregations. Another method (or the random one,
    with the run's seed) is ranked from the stored perimeters and areas, as
    :func:`prune_samples` ranks.

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
        lowest kept score), ``method``, and the ``kept_view`` and
        ``removed_view`` (lowest scores first)
    """
    ranking = _rank_views(samples, run_key, keep_ratio, method)
    config = ranking["config"]
    scored = ranking["scored"]
    count = ranking["count"]
    label_paths, sample_field = ranking["fields"]
    path = label_list_path(scored, config.label_field)
    perimeter_attr = label_paths[0].rsplit(".", 1)[-1]
    pixels_path = label_paths[2]

    histogram, cutoff = None, None
    scores = ranking["scores"]
    if ranking["order"] is not None:  # ranked in Python
        if scores is not None and len(scores):
            hist_counts, edges = np.histogram(scores, bins=bins)
            histogram = {"counts": hist_counts.tolist(),
                         "edges": edges.tolist()}
        if scores is not None and count:
            cutoff = float(scores[ranking["order"][count - 1]])
    else:
        hist_counts, edges, _ = scored.histogram_values(
            sample_field, bins=bins
        )
        histogram = {"counts": hist_counts, "edges": edges}
        if count:
            cutoff = ranking["kept"].skip(count - 1).values(sample_field)[0]

    def eligible_counts(view):
        view = view.filter_labels(
            config.label_field, fo.ViewField(perimeter_attr) != None  # noqa
        )
        value = fo.ViewField()
        bucket = (value >= 96**2).if_else(
            "large", (value >= 32**2).if_else("medium", "small")
        )
        by_class, sizes, total = view.aggregate(
            [
                fo.CountValues(path + ".label"),
                fo.CountValues(pixels_path, expr=bucket),
                fo.Count(path),
            ]
        )
        return by_class, sizes, total

    before_classes, before_sizes, before_total = eligible_counts(scored)
    after_classes, after_sizes, after_total = eligible_counts(
        ranking["kept"]
    )

    classes = sorted(
        (
            retention_counts(n, after_classes.get(name, 0), name=name)
            for name, n in before_classes.items()
        ),
        key=lambda c: (c["retention"], c["name"]),
    )
    return {
        "run_key": run_key,
        "method": ranking["method"],
        "keep_ratio": keep_ratio,
        "images": retention_counts(ranking["num"], count),
        "instances": retention_counts(before_total, after_total),
        "classes": classes,
        "sizes": {
            name: retention_counts(
                before_sizes.get(name, 0), after_sizes.get(name, 0)
            )
            for name, _ in SIZE_BUCKETS
        },
        "histogram": histogram,
        "cutoff": cutoff,
        "removed_view": ranking["removed"],
        "kept_view": ranking["kept"],
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
    return _rank_views(samples, run_key, keep_ratio, method)["removed"]


def _rank_views(samples, run_key, keep_ratio, method):
    dataset = samples._root_dataset
    config = scored_config(dataset, run_key)
    scored = dataset.load_run_view(run_key)
    label_paths, sample_field = run_fields(scored, run_key, config.label_field)
    num = len(scored)
    count = scoring.keep_count(num, keep_ratio=keep_ratio)
    method = scoring.validate_method(method or config.method)
    ranking = dict(config=config, scored=scored, num=num, count=count,
                   method=method, fields=(label_paths, sample_field),
                   order=None, scores=None)

    if method == "random" or method != config.method:
        stored = stored_table(scored, config.label_field, label_paths)
        order, scores = scoring.rank(
            stored.table, num, method, seed=getattr(config, "seed", None) or 0
        )
        ranked = [stored.sample_ids[i] for i in order]
        ranking.update(
            order=order,
            scores=scores,
            kept=scored.select(ranked[:count]),
            removed=scored.select(ranked[count:][::-1], ordered=True),
        )
    else:
        ranking.update(
            kept=scored.sort_by([(sample_field, -1), ("_id", 1)]).limit(count),
            removed=scored.sort_by([(sample_field, 1), ("_id", -1)]).limit(
                num - count
            ),
        )
    return ranking
