"""The TFDP panel: see what a pruning keeps before applying it."""

import logging

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone.factory import DelegatedOperationPagingParams, SortByField
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionRunState

from tfdp import scoring
from tfdp.fo_adapter.preview import (
    preview_pruning,
    pruned_away_view,
    recorded_selection,
    retention_curve,
)

from .common import (
    DEFAULT_KEEP_RATIO,
    default_run_key,
    pruning_replaces,
    tfdp_runs,
)

logger = logging.getLogger(__name__)

KEPT_COLOR = "#ff6d04"
BEFORE_COLOR = "#9aa0a6"
LOST_COLOR = "#d62728"
OTHER_COLOR = "#1f77b4"
NO_COMPARISON = "none"

#: How often the panel looks for runs added, scored again or deleted
#: elsewhere (a scheduled run, another tab, Python), in milliseconds
POLL_INTERVAL_MS = 5000
#: The scheduled operations of this plugin whose end the panel announces
PLUGIN_OPERATORS = "@tfdp/tfdp/"

#: The classes the per-class chart shows, worst first: more would not fit
#: legibly in the panel
MAX_CLASSES = 20
CLASS_ROW_HEIGHT = 22
MIN_RATIO, MAX_RATIO, RATIO_STEP = 0.05, 1.0, 0.05
#: The panel's plots, by name
PLOTS = ("scores", "classes", "curve", "sizes")

#: panel id -> (the run a panel shows in place of a deleted one, the
#: deleted run, what it says about it): kept here, as the App may put back
#: an older state
_notices = {}

#: (panel id, dataset name) -> the ids of the ended scheduled operations the
#: panel knows of: kept here, as announcing twice is worse than not at all
_operations_seen = {}


class TFDPPanel(foo.Panel):
    @property
    def config(self):
        return foo.PanelConfig(
            name="tfdp_panel",
            label="TFDP",
            help_markdown="Preview and apply training-free dataset pruning "
            "from a TFDP run's stored scores.",
            surfaces="grid",
        )

    def execute(self, ctx):
        # the App sends a change of state after every answer too: when it
        # changes nothing shown, answer nothing (a render redraws every
        # plot, and delays the user's next step)
        method = ctx.params.get("__method__")
        if method == "on_change" and _showing(ctx):
            return None
        if method == "poll":
            # most polls find nothing new: no render then
            if self.poll(ctx):
                ctx.ops.show_panel_output(self.render(ctx))
            return None
        return super().execute(ctx)

    # no on_change_view: the App sends it after every change of the panel's
    # state, several times, and each costs a render of the whole panel

    def on_load(self, ctx):
        _new_operations(ctx)  # those that ended before are not news
        ctx.panel.state.set("runs", _run_stamps(ctx))
        self._guarded(ctx, self._select, default_run_key(ctx))

    def poll(self, ctx):
        """Announces the plugin's scheduled operations that ended, and
        shows the runs added, scored again or deleted since the last look:
        FiftyOne tells a panel of neither.

        Returns:
            True when the panel must render again
        """
        try:
            ended = _new_operations(ctx)
            runs = _run_stamps(ctx)
        except Exception as e:  # noqa: BLE001
            # never a traceback in the App, at every poll: the next may do
            logger.warning("TFDP panel: %s", e, exc_info=True)
            return False
        for operation in ended:
            ctx.ops.notify(*_ended_message(operation))
        seen = ctx.panel.state.runs
        if runs == seen:
            return False
        if seen is not None and _scored_since(seen, runs):
            # a run scored elsewhere: the sidebar lists its fields
            ctx.trigger("reload_dataset")
        self.refresh(ctx)
        return True

    def on_change(self, ctx):
        # The App calls this at once after any change of the panel's state
        # (an input's own on_change waits 250 ms): a run, ratio or
        # comparison the user chose, and also the state this panel set,
        # which changes nothing shown and costs nothing
        self._guarded(ctx, self._follow)

    def _follow(self, ctx):
        # The inputs are the user's: the panel previews the run, ratio and
        # comparison they show and writes none back, as a value written
        # back races with the user's next move (only a deleted run is
        # replaced). It answers whenever the state it gets lacks its
        # answer, even one just sent: the App sometimes builds a change,
        # or puts its state back, on a state from before that answer
        state = ctx.panel.state
        if state.shown is None:  # no run shown: "no runs yet", or loading
            if state.run_key is not None:
                self._select(ctx, state.run_key)
            return
        if not _showing(ctx) and self._sync(ctx):
            self._update(ctx)

    def refresh(self, ctx):
        def reread(ctx):
            ctx.panel.state.set("runs", _run_stamps(ctx))
            if self._sync(ctx):
                self._update(ctx)

        self._guarded(ctx, reread)

    def compute(self, ctx):
        # the operator says what it did; scheduled, the poll says it
        ctx.prompt("@tfdp/tfdp/compute_scores", on_success=self.computed)

    def computed(self, ctx):
        def show(ctx):
            # the run just scored, if the operator ran rather than queued
            seen = ctx.panel.state.runs or []
            scored = _scored_since(seen, _run_stamps(ctx))
            ctx.panel.state.set("runs", _run_stamps(ctx))
            if scored:
                self._select(
                    ctx, scored[-1], keep_ratio=ctx.panel.state.keep_ratio
                )
            elif self._sync(ctx):
                self._update(ctx)

        self._guarded(ctx, show)

    def delete(self, ctx):
        # the operator asks first, then says what it deleted
        if not self._guarded(ctx, self._sync):
            return
        ctx.prompt(
            "@tfdp/tfdp/delete_run",
            params=dict(run_key=ctx.panel.state.run_key),
            on_success=self.refresh,
        )

    def apply(self, ctx):
        if not self._guarded(ctx, self._sync):
            return
        # the operator says what it did; then the panel shows the kept
        # samples and what a next apply would replace. The ratio is the
        # panel's; the rest is the run's last pruning, as previewed
        config = ctx.dataset.get_run_info(ctx.panel.state.run_key).config
        ctx.prompt(
            "@tfdp/tfdp/prune",
            params=dict(
                run_key=ctx.panel.state.run_key,
                amount="keep_ratio",
                keep_ratio=ctx.panel.state.keep_ratio,
                seed=getattr(config, "seed", None) or 0,
                **recorded_selection(config, config.method),
            ),
            skip_prompt=True,
            on_success=self.applied,
        )

    def applied(self, ctx):
        def show(ctx):
            if self._sync(ctx):
                # the saved view by name, now that the App has reloaded the
                # dataset's saved views: the operator's own set_view may
                # come before them
                config = ctx.dataset.get_run_info(
                    ctx.panel.state.run_key
                ).config
                if getattr(config, "saved_view", None):
                    ctx.ops.set_view(name=config.saved_view)
                self._update(ctx)

        self._guarded(ctx, show)

    def show_removed(self, ctx):
        def show(ctx):
            if self._sync(ctx):
                ctx.ops.set_view(
                    view=pruned_away_view(
                        ctx.dataset,
                        run_key=ctx.panel.state.run_key,
                        keep_ratio=ctx.panel.state.keep_ratio,
                    )
                )

        self._guarded(ctx, show)

    def _guarded(self, ctx, handler, *args):
        # a panel event must never end in a traceback in the App: what went
        # wrong shows in the panel, the details in the server's log
        try:
            result = handler(ctx, *args)
        except Exception as e:  # noqa: BLE001
            logger.warning("TFDP panel: %s", e, exc_info=True)
            ctx.panel.state.message = "Cannot show run %r: %s" % (
                ctx.panel.state.run_key,
                e,
            )
            _clear_plots(ctx)
            return False
        return result is not False

    def _sync(self, ctx):
        """Notices runs added or deleted since the last event: when the
        panel's run is gone, falls back to the run of the current view or
        the most recent one, or to the "no runs yet" state.

        Returns:
            True when the panel's run still exists
        """
        runs = tfdp_runs(ctx)
        gone = ctx.panel.state.run_key
        if gone in runs:
            return True
        run_key = default_run_key(ctx, runs)
        if gone is not None and run_key is not None:
            _notices[ctx.panel_id] = (
                run_key,
                gone,
                "Run %r was deleted; showing run %r" % (gone, run_key),
            )
        self._select(ctx, run_key, keep_ratio=ctx.panel.state.keep_ratio)
        return False

    def _select(self, ctx, run_key, keep_ratio=None):
        # shows a run, at the ratio it last kept unless one is given
        runs = tfdp_runs(ctx)
        if run_key not in runs:
            run_key = default_run_key(ctx, runs)
        if run_key is None:
            ctx.panel.state.set(dict(run_key=None, message=None, shown=None))
            _clear_plots(ctx)
            return
        if keep_ratio is None:
            keep_ratio = _kept_fraction(
                ctx.dataset.get_run_info(run_key).config
            )
        self._update(
            ctx,
            run_key=run_key,
            keep_ratio=_ratio(keep_ratio),
            compare=ctx.panel.state.compare or NO_COMPARISON,
        )

    def _update(self, ctx, **changes):
        """Previews the panel's run at its ratio, after ``changes`` to its
        state, and sends the state and the plots' data in one message
        each: every message re-renders the panel in the App."""
        state = dict(
            run_key=ctx.panel.state.run_key,
            keep_ratio=_ratio(ctx.panel.state.keep_ratio),
            compare=ctx.panel.state.compare or NO_COMPARISON,
        )
        state.update(changes)
        preview = preview_pruning(
            ctx.dataset,
            run_key=state["run_key"],
            keep_ratio=state["keep_ratio"],
        )
        if state["compare"] == preview["method"]:
            # a run of the compared method: the choice is no longer offered
            state["compare"] = NO_COMPARISON
        other, other_curve = None, None
        if state["compare"] not in (None, NO_COMPARISON):
            other = preview_pruning(
                ctx.dataset,
                run_key=state["run_key"],
                keep_ratio=state["keep_ratio"],
                method=state["compare"],
            )
            other_curve = retention_curve(
                ctx.dataset, run_key=state["run_key"], method=state["compare"]
            )
        config = ctx.dataset.get_run_info(state["run_key"]).config
        # a run pruned with a class guarantee: the curve shows it too
        chosen = getattr(config, "selection", None) or {}
        curve = retention_curve(
            ctx.dataset,
            run_key=state["run_key"],
            min_per_class=chosen.get("min_per_class"),
        )
        state.update(
            message=_notice(ctx, state["run_key"]),
            summary=_summary(preview, other),
            classes_title=_classes_title(preview),
            cutoff_shapes=_cutoff_shapes(preview),
            class_rows=min(len(preview["classes"]), MAX_CLASSES),
            apply_note=_apply_note(config),
            shown=_shown(
                state["run_key"], state["keep_ratio"], state["compare"]
            ),
            # The App copies the plots' data into the panel's state with
            # each change of an input, and draws state and data merged:
            # a trace or row of a previous run would stay drawn
            **{name: None for name in PLOTS},
        )
        data = dict(
            scores=_score_plot(preview),
            classes=_class_plot(preview, other),
            curve=_curve_plot(curve, other_curve, state["keep_ratio"]),
            sizes=_size_plot(preview, other),
        )
        # what the inputs show already is not sent: sent back, it would
        # undo a move the user made since
        inputs = _shown(
            ctx.panel.state.run_key,
            ctx.panel.state.keep_ratio,
            ctx.panel.state.compare,
        )
        for key, value in inputs.items():
            if state[key] == value:
                del state[key]
        ctx.panel.state.set(state)
        ctx.panel.data.set(data)

    def render(self, ctx):
        panel = types.Object()
        # polls for runs and scheduled operations while the panel is open
        panel.view(
            "poll",
            types.TimerView(interval=POLL_INTERVAL_MS, on_interval=self.poll),
        )
        runs = tfdp_runs(ctx)
        message = ctx.panel.state.message
        if message:
            panel.view("message", types.Warning(label=message))
        if not runs:
            panel.md(
                "This dataset has no TFDP run yet. Compute the shape scores "
                "of an instance-segmentation field to start.",
                name="no_runs",
            )
            panel.btn(
                "compute",
                label="Compute scores",
                on_click=self.compute,
                variant="contained",
            )
            panel.btn(
                "refresh",
                label="Refresh",
                on_click=self.refresh,
                variant="outlined",
            )
            return types.Property(panel, view=_panel_view())

        run_key = ctx.panel.state.run_key
        choices = types.DropdownView(label="Run", description="Newest first")
        for key in reversed(runs):
            choices.add_choice(key, label=key)
        # top-level inputs: the panel's state holds what they show
        panel.enum(
            "run_key",
            choices.values(),
            view=choices,
            default=run_key if run_key in runs else None,
        )
        panel.float(
            "keep_ratio",
            default=ctx.panel.state.keep_ratio,
            view=types.SliderView(
                label="Keep ratio",
                min=MIN_RATIO,
                max=MAX_RATIO,
                view_multiple_of=RATIO_STEP,
                # the tooltip reads 0.70, not 0.700000
                value_precision=2,
            ),
        )
        compare = types.DropdownView(
            label="Compare with",
            description="Another method, ranked from the stored shapes",
        )
        compare.add_choice(NO_COMPARISON, label="no comparison")
        own = _run_method(ctx, run_key if run_key in runs else None)
        for method in scoring.METHODS:
            if method != own:
                compare.add_choice(method, label=method)
        shown = ctx.panel.state.compare
        panel.enum(
            "compare",
            compare.values(),
            view=compare,
            default=shown if shown in compare.values() else NO_COMPARISON,
        )
        panel.md(ctx.panel.state.summary or "", name="summary")

        buttons = panel.h_stack("buttons", gap=2)
        buttons.btn(
            "apply",
            label="Apply pruning",
            on_click=self.apply,
            variant="contained",
        )
        buttons.btn(
            "show_removed",
            label="Show pruned-away samples",
            on_click=self.show_removed,
            variant="outlined",
        )
        buttons.btn(
            "compute",
            label="Compute scores",
            description="Score a field as a new run, or again",
            on_click=self.compute,
            variant="outlined",
        )
        buttons.btn(
            "delete",
            label="Delete run",
            description="Delete this run's fields, tag, saved view and record",
            on_click=self.delete,
            variant="outlined",
        )
        buttons.btn(
            "refresh",
            label="Refresh",
            description="Read the dataset's runs again",
            on_click=self.refresh,
            variant="outlined",
        )
        if ctx.panel.state.apply_note:
            panel.md(ctx.panel.state.apply_note, name="apply_note")

        panel.md(
            "**Image scores**: images kept (orange) score at least the "
            "cut-off (dashed line); grey ones are pruned away",
            name="scores_title",
        )
        panel.plot(
            "scores",
            layout=_layout(
                barmode="stack",
                bargap=0.05,
                xaxis=dict(title=dict(text="image score")),
                yaxis=dict(title=dict(text="images")),
                shapes=ctx.panel.state.cutoff_shapes or [],
                height=280,
                margin=dict(t=40, b=50, l=60, r=10),
            ),
            config=PLOT_CONFIG,
        )
        panel.md(ctx.panel.state.classes_title or "", name="classes_title")
        rows = ctx.panel.state.class_rows or 1
        panel.plot(
            "classes",
            layout=_layout(
                barmode="overlay",
                xaxis=dict(
                    title=dict(text="instances kept (%)"),
                    # room for "kept of total" right of a full
                    # bar, and for a cross left of an empty one
                    range=[-4, 125],
                    tickvals=[0, 20, 40, 60, 80, 100],
                ),
                yaxis=dict(
                    autorange="reversed",
                    type="category",
                    automargin=True,
                    dtick=1,
                ),
                height=110 + CLASS_ROW_HEIGHT * rows,
                margin=dict(t=40, b=50, l=10, r=10),
            ),
            config=PLOT_CONFIG,
        )
        panel.md(
            "**Retention by keep ratio**: the share of instances kept, "
            "and of classes that keep at least one instance; the "
            "dotted line is the keep ratio chosen",
            name="curve_title",
        )
        panel.plot(
            "curve",
            layout=_layout(
                xaxis=dict(
                    title=dict(text="keep ratio"), range=[0, 1.02], dtick=0.1
                ),
                yaxis=dict(
                    title=dict(text="kept (%)"),
                    range=[0, 105],
                    ticksuffix=" %",
                ),
                height=300,
                margin=dict(t=40, b=50, l=60, r=10),
            ),
            config=PLOT_CONFIG,
        )
        panel.md(
            "**Kept share per COCO size** (pixel area: small < 32², "
            "medium < 96², large)",
            name="sizes_title",
        )
        panel.plot(
            "sizes",
            layout=_layout(
                xaxis=dict(title=dict(text="instance size")),
                yaxis=dict(
                    title=dict(text="instances kept (%)"), range=[0, 105]
                ),
                height=260,
                barmode="group",
                margin=dict(t=40, b=50, l=60, r=10),
            ),
            config=PLOT_CONFIG,
        )
        return types.Property(panel, view=_panel_view())


#: The mouse wheel scrolls the panel, never zooms a plot
PLOT_CONFIG = dict(displayModeBar=False, scrollZoom=False)


def _layout(**layout):
    # fixed axes: a drag or a wheel over a plot neither zooms nor pans it;
    # legends on top (the App's Plotly defaults hide them)
    for axis in ("xaxis", "yaxis"):
        layout[axis] = dict(layout.get(axis, {}), fixedrange=True)
    return dict(
        layout,
        showlegend=True,
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
    )


def _panel_view():
    # the panel's inputs and plots in one column, off the panel's edges
    return types.GridView(orientation="vertical", gap=2, pad=2)


def _run_method(ctx, run_key):
    # the method that ranks a run, or None
    if run_key is None:
        return None
    return getattr(ctx.dataset.get_run_info(run_key).config, "method", None)


def _run_stamps(ctx):
    # the runs and when each was last scored: what the poll compares
    return [
        [key, str(ctx.dataset.get_run_info(key).timestamp)]
        for key in tfdp_runs(ctx)
    ]


def _scored_since(seen, runs):
    # the runs of ``runs`` (from _run_stamps) new or scored again since
    # ``seen``, in their order
    before = set(map(tuple, seen))
    return [key for key, stamp in runs if (key, stamp) not in before]


def _new_operations(ctx):
    """The plugin's scheduled operations on the panel's dataset that
    ended since the panel last looked, oldest first; none the first time."""
    if ctx.dataset is None:
        return []
    operations = [
        op
        for op in DelegatedOperationService().list_operations(
            dataset_name=ctx.dataset.name,
            paging=DelegatedOperationPagingParams(
                sort_by=SortByField.UPDATED_AT, limit=20
            ),
        )
        if (op.operator or "").startswith(PLUGIN_OPERATORS)
        and op.run_state in ExecutionRunState.TERMINAL_STATES
    ]
    key = (ctx.panel_id, ctx.dataset.name)
    seen = _operations_seen.get(key)
    _operations_seen[key] = (seen or set()) | {str(op.id) for op in operations}
    if seen is None:
        return []
    return [op for op in reversed(operations) if str(op.id) not in seen]


def _ended_message(operation):
    # what a scheduled operation did, in its own words (its last progress
    # label, see common.finish), or why it failed; and the variant
    label = operation.label or operation.operator
    if operation.run_state == ExecutionRunState.FAILED:
        error = getattr(operation.result, "error", None) or ""
        # a traceback's last line is its exception
        lines = error.strip().splitlines() or ["see its log"]
        return "Scheduled %s failed: %s" % (label, lines[-1]), "error"
    status = operation.status
    text = getattr(status, "label", None) if status is not None else None
    return text or "Scheduled %s finished" % label, "success"


def _apply_note(config):
    # what applying a pruning replaces, when the run was pruned before
    replaced = pruning_replaces(config)
    return replaced and "*Apply pruning* replaces this run's %s" % replaced


def _kept_fraction(config):
    # what the run's last pruning kept, as a fraction
    if getattr(config, "keep_ratio", None) is not None:
        return config.keep_ratio
    if getattr(config, "prune_ratio", None) is not None:
        return 1 - config.prune_ratio
    if getattr(config, "num_kept", None) and getattr(
        config, "num_samples", None
    ):
        return config.num_kept / config.num_samples
    return DEFAULT_KEEP_RATIO


def _showing(ctx):
    # whether the panel shows what its state asks for
    state = ctx.panel.state
    return state.shown is not None and state.shown == _shown(
        state.run_key, state.keep_ratio, state.compare
    )


def _notice(ctx, run_key):
    # what the panel says about the run it shows, until another is chosen
    # or the deleted run exists again
    if ctx.panel_id not in _notices:
        return None
    run_shown, gone, notice = _notices[ctx.panel_id]
    if run_shown != run_key or gone in tfdp_runs(ctx):
        del _notices[ctx.panel_id]
        return None
    return notice


def _shown(run_key, keep_ratio, compare):
    # what the panel's numbers and plots are for
    return dict(
        run_key=run_key,
        keep_ratio=_ratio(keep_ratio),
        compare=compare or NO_COMPARISON,
    )


def _ratio(value):
    # the slider's steps, whatever float noise the App sends
    if value is None:
        return None
    steps = round(float(value) / RATIO_STEP)
    return round(min(MAX_RATIO, max(MIN_RATIO, steps * RATIO_STEP)), 2)


def _clear_plots(ctx):
    # the plots' copies in the state too (see _update)
    ctx.panel.state.set(
        dict(
            summary="",
            classes_title="",
            cutoff_shapes=[],
            apply_note=None,
            **{name: None for name in PLOTS},
        )
    )
    ctx.panel.data.set({name: [] for name in PLOTS})


def _percent(counts):
    if counts["retention"] is None:
        return "n/a"
    return "%.1f%%" % (100 * counts["retention"])


def _summary(preview, other=None):
    text = _summary_line(preview)
    if other is not None:
        text += "\n\n" + _summary_line(other)
        text += "\n\nOrange: kept by %s; blue: kept by %s" % (
            preview["method"],
            other["method"],
        )
    return text


def _lost(preview):
    # the classes that keep no instance, worst first
    return [c for c in preview["classes"] if c["before"] and not c["after"]]


def _summary_line(preview):
    images = preview["images"]
    instances = preview["instances"]
    text = "**%s%s: keeps %d of %d images (%s)** · %d of %d instances (%s)" % (
        preview["method"],
        _choices_phrase(preview["selection"]),
        images["after"],
        images["before"],
        _percent(images),
        instances["after"],
        instances["before"],
        _percent(instances),
    )
    lost = _lost(preview)
    if lost:
        # as many as the chart shows: a long-tailed dataset (LVIS) can lose
        # hundreds of classes
        named = ", ".join(
            "%s (%d)" % (c["name"], c["before"]) for c in lost[:MAX_CLASSES]
        )
        if len(lost) > MAX_CLASSES:
            named += " and %d more" % (len(lost) - MAX_CLASSES)
        text += " · **%d class%s lose%s every instance**: %s" % (
            len(lost),
            "" if len(lost) == 1 else "es",
            "s" if len(lost) == 1 else "",
            named,
        )
    elif preview["classes"]:
        worst = preview["classes"][0]
        text += (
            " · no class loses every instance; worst class: **%s** "
            "%d of %d (%s)"
            % (worst["name"], worst["after"], worst["before"], _percent(worst))
        )
    return text


def _choices_phrase(choices):
    # the selection choices of the run's last pruning, which the preview
    # and Apply keep
    if choices.get("selection") == "stratified":
        return ", stratified (%d strata%s)" % (
            choices["strata"],
            ", hard cutoff %s" % choices["hard_cutoff"]
            if choices["hard_cutoff"]
            else "",
        )
    if choices.get("min_per_class"):
        return ", at least %d per class" % choices["min_per_class"]
    return ""


def _classes_title(preview):
    num = len(preview["classes"])
    shown = min(num, MAX_CLASSES)
    text = "**Instances kept per class**, worst first: "
    if shown < num:
        text += "the %d worst of %d classes (%d more hidden)" % (
            shown,
            num,
            num - shown,
        )
    else:
        text += "all %d classes" % num
    return (
        text + ". Each bar reads kept of total; a red cross marks a "
        "class that loses every instance"
    )


def _score_plot(preview):
    histogram = preview["histogram"]
    if histogram is None:
        return []
    edges = histogram["edges"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    cutoff = preview["cutoff"]
    kept = [cutoff is not None and c >= cutoff for c in centers]
    counts = histogram["counts"]
    return [
        dict(
            type="bar",
            x=centers,
            y=[n if k else 0 for n, k in zip(counts, kept)],
            marker=dict(color=KEPT_COLOR),
            name="kept (%s)" % preview["method"],
            hovertemplate="score %{x:.3g}: %{y} images<extra></extra>",
        ),
        dict(
            type="bar",
            x=centers,
            y=[0 if k else n for n, k in zip(counts, kept)],
            marker=dict(color=BEFORE_COLOR),
            name="pruned away",
            hovertemplate="score %{x:.3g}: %{y} images<extra></extra>",
        ),
    ]


def _cutoff_shapes(preview):
    if preview["cutoff"] is None:
        return []
    return [
        dict(
            type="line",
            x0=preview["cutoff"],
            x1=preview["cutoff"],
            yref="paper",
            y0=0,
            y1=1,
            line=dict(color=KEPT_COLOR, width=2, dash="dash"),
        )
    ]


def _share(counts):
    return 100 * (counts["retention"] or 0)


def _kept_text(counts):
    return "%d of %d kept (%s)" % (
        counts["after"],
        counts["before"],
        _percent(counts),
    )


def _class_plot(preview, other=None):
    """Horizontal bars of the kept share of each class, worst first, each
    labelled "kept of total"; red crosses on the classes that keep
    nothing, whose bars have no length; the compared method as blue
    markers, on this run's rows only."""
    classes = preview["classes"][:MAX_CLASSES]
    names = [c["name"] for c in classes]
    method = preview["method"]
    lost = [c for c in classes if c["before"] and not c["after"]]
    traces = [
        dict(
            type="bar",
            orientation="h",
            y=names,
            x=[_share(c) for c in classes],
            name="kept (%s)" % method,
            marker=dict(color=KEPT_COLOR),
            # a lost class's count goes with its cross
            text=[
                "%d of %d" % (c["after"], c["before"]) if c["after"] else ""
                for c in classes
            ],
            textposition="outside",
            cliponaxis=False,
            customdata=[_kept_text(c) for c in classes],
            hovertemplate="%{y}: %{customdata}<extra></extra>",
        ),
        dict(
            type="scatter",
            mode="markers+text",
            y=[c["name"] for c in lost],
            x=[0] * len(lost),
            name="loses every instance (%s)" % method,
            marker=dict(color=LOST_COLOR, symbol="x", size=11),
            text=["0 of %d" % c["before"] for c in lost],
            textposition="middle right",
            textfont=dict(color=LOST_COLOR),
            cliponaxis=False,
            customdata=[_kept_text(c) for c in lost],
            hovertemplate="%{y}: %{customdata}<extra></extra>",
        ),
    ]
    if other is not None:
        by_name = {c["name"]: c for c in other["classes"]}
        shown = [n for n in names if n in by_name]
        traces.append(
            dict(
                type="scatter",
                mode="markers",
                y=shown,
                x=[_share(by_name[n]) for n in shown],
                name="kept (%s)" % other["method"],
                marker=dict(
                    color=OTHER_COLOR,
                    symbol="diamond",
                    size=10,
                    line=dict(color="white", width=1),
                ),
                cliponaxis=False,
                customdata=[_kept_text(by_name[n]) for n in shown],
                hovertemplate="%{y}: %{customdata}<extra>"
                + other["method"]
                + "</extra>",
            )
        )
    return traces


def _curve_plot(curve, other=None, keep_ratio=None):
    """The share of instances and of classes kept at each keep ratio, the
    compared method dashed, and the chosen ratio as a dotted line."""
    # this run's lines solid, orange and red; the compared method's blue,
    # dashed and dash-dotted
    styles = (
        (
            curve,
            dict(
                instances=(KEPT_COLOR, "solid"), classes=(LOST_COLOR, "solid")
            ),
        ),
        (
            other,
            dict(
                instances=(OTHER_COLOR, "dash"),
                classes=(OTHER_COLOR, "dashdot"),
            ),
        ),
    )
    traces = []
    for result, style in styles:
        if result is None:
            continue
        method = result["method"]
        for what in ("instances", "classes"):
            counts = result[what]
            total = counts["total"] or 1
            color, dash = style[what]
            traces.append(
                dict(
                    type="scatter",
                    mode="lines+markers",
                    x=result["ratios"],
                    y=[100 * k / total for k in counts["kept"]],
                    name="%s kept (%s)" % (what, method),
                    line=dict(color=color, dash=dash),
                    marker=dict(color=color, size=5),
                    customdata=[
                        "%d of %d" % (k, counts["total"])
                        for k in counts["kept"]
                    ],
                    hovertemplate="keep %{x:.2f}: %{customdata} "
                    + what
                    + "<extra>"
                    + method
                    + "</extra>",
                )
            )
    guarantee = curve.get("guarantee") if curve else None
    if guarantee:
        label = "at least %d per class" % guarantee["min_per_class"]
        for what, color in (
            ("instances", KEPT_COLOR),
            ("classes", LOST_COLOR),
        ):
            total = curve[what]["total"] or 1
            kept = guarantee[what]
            traces.append(
                dict(
                    type="scatter",
                    mode="lines",
                    x=curve["ratios"],
                    # no point where the guarantee does not fit the budget
                    y=[None if k is None else 100 * k / total for k in kept],
                    name="%s kept (%s)" % (what, label),
                    line=dict(color=color, dash="dot"),
                    hovertemplate="keep %{x:.2f}: %{y:.1f} % "
                    + what
                    + "<extra>"
                    + label
                    + "</extra>",
                )
            )
    if keep_ratio is not None and traces:
        traces.append(
            dict(
                type="scatter",
                mode="lines",
                x=[keep_ratio, keep_ratio],
                y=[0, 100],
                name="keep ratio %.2f" % keep_ratio,
                line=dict(color=BEFORE_COLOR, dash="dot", width=2),
                hoverinfo="skip",
            )
        )
    return traces


def _size_plot(preview, other=None):
    traces = []
    for result, color in ((preview, KEPT_COLOR), (other, OTHER_COLOR)):
        if result is None:
            continue
        sizes = result["sizes"]
        names = list(sizes)
        traces.append(
            dict(
                type="bar",
                x=names,
                y=[_share(sizes[n]) for n in names],
                text=[
                    "%d of %d" % (sizes[n]["after"], sizes[n]["before"])
                    for n in names
                ],
                textposition="auto",
                marker=dict(color=color),
                name="kept (%s)" % result["method"],
            )
        )
    return traces
