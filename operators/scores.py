"""Operators that score and prune."""

import time

import fiftyone.operators as foo
import fiftyone.operators.types as types

import tfdp
from tfdp.fo_adapter.fields import default_tag
from tfdp.fo_adapter.records import UNFINISHED

from .common import (
    SAVED_VIEW_WAIT,
    amount_from_params,
    amount_input,
    call_operator,
    default_run_key,
    finish,
    heavy_operator_config,
    label_field_input,
    method_input,
    new_run_key_input,
    overwrite_warning,
    pruning_replaces,
    run_with_progress,
    selection_from_params,
    selection_input,
    target_input,
    target_samples,
    tfdp_runs,
    workers_from_params,
    workers_input,
)


class ComputeScores(foo.Operator):
    @property
    def config(self):
        return heavy_operator_config(
            "compute_scores",
            "TFDP: compute scores",
            # the App lists operators by the first letter of their
            # description: A, C, K, O, S, T, U follow the workflow
            "Compute shape scores: measure every instance mask and store "
            "perimeter, area, pixels and score on each label, and the "
            "image score on each sample",
        )

    def __call__(
        self,
        sample_collection,
        label_field,
        method="cb-scs",
        run_key="tfdp",
        num_workers=1,
        update=False,
        delegate=False,
    ):
        """Scores a collection.

        Args:
            sample_collection: a dataset or view
            label_field: a Detections field with masks or a filled Polylines
                field
            method ("cb-scs"): the scoring method
            run_key ("tfdp"): the run key
            num_workers (1): worker processes of a local Dask cluster
            update (False): update the finished run ``run_key`` of
                ``label_field``: measure only the labels without its stored
                shapes, then score every label again (see
                :func:`tfdp.compute_scores`)
            delegate (False): queue the work as a delegated operation
        """
        return call_operator(
            self,
            sample_collection,
            dict(
                label_field=label_field,
                method=method,
                run_key=run_key,
                num_workers=num_workers,
                update=update,
            ),
            delegate=delegate,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        target = target_input(ctx, inputs)
        label_field = label_field_input(ctx, inputs, target)
        method_input(ctx, inputs)
        run_key = new_run_key_input(ctx, inputs)
        if can_update(ctx, run_key, label_field):
            inputs.bool(
                "update",
                default=False,
                label="Update the run",
                description="Measure only the labels that have no stored "
                "shapes (added samples, replaced labels), then score every "
                "label and sample again",
            )
        workers_input(ctx, inputs)
        return types.Property(
            inputs, view=types.View(label="TFDP: compute scores")
        )

    def execute(self, ctx):
        target = target_samples(ctx)
        label_field = ctx.params["label_field"]
        method = ctx.params.get("method", "cb-scs")
        run_key = ctx.params.get("run_key", "tfdp")
        update = ctx.params.get("update", False)

        measured = yield from run_with_progress(
            ctx,
            "Measuring",
            lambda progress: tfdp.compute_scores(
                target,
                label_field,
                method=method,
                run_key=run_key,
                update=update,
                progress=progress,
                **workers_from_params(ctx),
            ),
        )
        yield ctx.trigger("reload_dataset")
        yield finish(
            ctx,
            "TFDP run %r%s: scored %d instances of %d samples (%s)"
            % (
                run_key,
                " updated" if update else "",
                len(measured.table),
                len(measured.sample_ids),
                method,
            ),
        )


def can_update(ctx, run_key, label_field):
    """Whether ``run_key`` is a finished TFDP run of ``label_field``, which
    compute_scores can update."""
    if (
        run_key is None
        or label_field is None
        or (run_key not in tfdp_runs(ctx))
    ):
        return False
    config = ctx.dataset.get_run_info(run_key).config
    return config.label_field == label_field and (
        config.status not in UNFINISHED
    )


class Prune(foo.Operator):
    @property
    def config(self):
        return heavy_operator_config(
            "prune",
            "TFDP: prune",
            "Keep the highest-scoring samples: tag them, save "
            "the kept view and show it, scoring first if needed",
        )

    def __call__(
        self,
        sample_collection,
        keep_ratio=None,
        prune_ratio=None,
        keep=None,
        label_field=None,
        method=None,
        run_key="tfdp",
        tag=None,
        seed=None,
        selection=None,
        min_per_class=None,
        strata=None,
        hard_cutoff=None,
        num_workers=None,
        delegate=False,
    ):
        """Prunes a collection: from the stored shapes of run ``run_key``
        if it exists and no ``label_field`` is given, else scoring
        ``label_field`` first.

        Args:
            sample_collection: a dataset or view
            keep_ratio (None): the fraction of samples to keep
            prune_ratio (None): the fraction of samples to remove
            keep (None): the number of samples to keep
            label_field (None): a field to score first
            method (None): the ranking method (the run's, or "cb-scs")
            run_key ("tfdp"): the run key
            tag (None): the tag of kept samples
            seed (None): the seed of the "random" method and of the
                stratified selection
            selection (None): "top" (the default) or "stratified"
            min_per_class (None): with "top", the samples each class keeps
                at least
            strata (None): the strata of "stratified" (50 by default)
            hard_cutoff (None): the fraction of highest-scoring samples
                "stratified" removes first (0 by default)
            num_workers (None): worker processes of a local Dask cluster
                that measures, when scoring
            delegate (False): queue the work as a delegated operation
        """
        amounts = dict(
            keep_ratio=keep_ratio, prune_ratio=prune_ratio, keep=keep
        )
        given = [k for k, v in amounts.items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of keep_ratio, prune_ratio and keep"
            )
        params = dict(
            run_key=run_key,
            amount=given[0],
            rescore=label_field is not None,
        )
        params[given[0]] = amounts[given[0]]
        for name, value in (
            ("label_field", label_field),
            ("method", method),
            ("tag", tag),
            ("seed", seed),
            ("selection", selection),
            ("min_per_class", min_per_class),
            ("strata", strata),
            ("hard_cutoff", hard_cutoff),
            ("num_workers", num_workers),
        ):
            if value is not None:
                params[name] = value
        return call_operator(
            self, sample_collection, params, delegate=delegate
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        run_key = new_run_key_input(
            ctx, inputs, default=default_run_key(ctx) or "tfdp", warn=False
        )
        exists = run_key in tfdp_runs(ctx)

        if exists:
            config = ctx.dataset.get_run_info(run_key).config
            inputs.bool(
                "rescore",
                default=False,
                label="Compute the scores again",
                description="Otherwise prunes from the stored shapes of "
                "field %r, without reading a mask" % config.label_field,
            )
        rescore = not exists or ctx.params.get("rescore", False)

        if rescore:
            target = target_input(ctx, inputs)
            label_field_input(ctx, inputs, target)
            workers_input(ctx, inputs)
            num_samples = len(target)
            default_method = "cb-scs"
        else:
            num_samples = config.num_samples
            default_method = config.method

        method = method_input(ctx, inputs, default=default_method)
        if exists:
            replaced = pruning_replaces(config, rescore, method)
            if replaced:
                overwrite_warning(inputs, run_key, replaced)
        scored = ctx.params.get("method", default_method) != "random"
        if not scored:
            inputs.int("seed", default=0, label="Seed")
        amount_input(ctx, inputs, num_samples)
        selection_input(ctx, inputs, scored=scored)
        inputs.str(
            "tag",
            default=default_tag(run_key or "tfdp"),
            label="Tag of kept samples",
        )
        return types.Property(inputs, view=types.View(label="TFDP: prune"))

    def execute(self, ctx):
        run_key = ctx.params.get("run_key", "tfdp")
        amount = amount_from_params(ctx.params)
        method = ctx.params.get("method")
        tag = ctx.params.get("tag") or None
        seed = ctx.params.get("seed", 0)
        rescore = run_key not in tfdp_runs(ctx) or ctx.params.get("rescore")

        if rescore:
            target = target_samples(ctx)
            label_field = ctx.params["label_field"]
            yield from run_with_progress(
                ctx,
                "Measuring",
                lambda progress: tfdp.compute_scores(
                    target,
                    label_field,
                    method=method or "cb-scs",
                    run_key=run_key,
                    progress=progress,
                    **workers_from_params(ctx),
                ),
            )

        kept = tfdp.prune_samples(
            ctx.dataset,
            run_key=run_key,
            method=method,
            tag=tag,
            seed=seed,
            **amount,
            **selection_from_params(ctx.params),
        )
        config = ctx.dataset.get_run_info(run_key).config
        yield ctx.trigger("reload_dataset")
        # the kept samples at once, then their saved view by name once the
        # App has had time to refetch its saved views: it refuses a name it
        # does not know yet
        yield ctx.ops.set_view(view=kept)
        time.sleep(SAVED_VIEW_WAIT)
        yield ctx.ops.set_view(name=kept.name)
        yield finish(
            ctx,
            "TFDP run %r: kept %d of %d samples (%s), tagged %r, saved view %r"
            % (
                run_key,
                len(kept),
                config.num_samples,
                config.method,
                config.tag,
                kept.name,
            ),
        )
