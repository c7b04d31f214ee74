"""The TFDP panel: see what a pruning keeps before applying it."""

import fiftyone.operators as foo
import fiftyone.operators.types as types

from tfdp import scoring
from tfdp.fo_adapter.preview import preview_pruning, pruned_away_view

from .common import tfdp_runs

KEPT_COLOR = "#ff6d04"
BEFORE_COLOR = "#9aa0a6"
WORST_COLOR = "#d62728"
OTHER_COLOR = "#1f77b4"
MAX_CLASSES = 40
NO_COMPARISON = "none"


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

    def on_load(self, ctx):
        runs = tfdp_runs(ctx)
        if not runs:
            ctx.panel.state.run_key = None
            return
        run_key = ctx.panel.state.run_key
        if run_key not in runs:
            run_key = runs[0]
        ctx.panel.state.run_key = run_key
        config = ctx.dataset.get_run_info(run_key).config
        ratio = getattr(config, "keep_ratio", None) or 0.7
        ctx.panel.state.keep_ratio = ratio
        if not ctx.panel.state.compare:
            ctx.panel.state.compare = NO_COMPARISON
        self._update(ctx)

    def on_change_run(self, ctx):
        ctx.panel.state.run_key = ctx.params["value"]
        self.on_load(ctx)

    def on_change_ratio(self, ctx):
        ctx.panel.state.keep_ratio = float(ctx.params["value"])
        self._update(ctx)

    def on_change_compare(self, ctx):
        ctx.panel.state.compare = ctx.params["value"]
        self._update(ctx)

    def compute(self, ctx):
        ctx.prompt("@tfdp/tfdp/compute_scores", on_success=self.on_load)

    def apply(self, ctx):
        ctx.trigger(
            "@tfdp/tfdp/prune",
            params=dict(
                run_key=ctx.panel.state.run_key,
                amount="keep_ratio",
                value=ctx.panel.state.keep_ratio,
            ),
        )

    def show_removed(self, ctx):
        ctx.ops.set_view(
            view=pruned_away_view(
                ctx.dataset,
                run_key=ctx.panel.state.run_key,
                keep_ratio=ctx.panel.state.keep_ratio,
            )
        )

    def _update(self, ctx):
        preview = preview_pruning(
            ctx.dataset,
            run_key=ctx.panel.state.run_key,
            keep_ratio=ctx.panel.state.keep_ratio,
        )
        other = None
        compare = ctx.panel.state.compare
        if compare not in (None, NO_COMPARISON, preview["method"]):
            other = preview_pruning(
                ctx.dataset,
                run_key=ctx.panel.state.run_key,
                keep_ratio=ctx.panel.state.keep_ratio,
                method=compare,
            )
        ctx.panel.state.summary = _summary(preview, other)
        ctx.panel.data.scores = _score_plot(preview)
        ctx.panel.data.classes = _class_plot(preview, other)
        ctx.panel.data.sizes = _size_plot(preview, other)
        ctx.panel.state.cutoff_shapes = _cutoff_shapes(preview)

    def render(self, ctx):
        panel = types.Object()
        runs = tfdp_runs(ctx)
        if not runs:
            panel.md(
                "This dataset has no TFDP run yet. Compute the shape scores "
                "of an instance-segmentation field to start.",
                name="no_runs",
            )
            panel.btn("compute", label="Compute scores",
                      on_click=self.compute, variant="contained")
            return types.Property(panel, view=types.GridView(
                orientation="vertical", padding=2))

        choices = types.DropdownView(label="Run")
        for key in runs:
            choices.add_choice(key, label=key)
        panel.enum("run_key", choices.values(), view=choices,
                   default=ctx.panel.state.run_key,
                   on_change=self.on_change_run)
        panel.float(
            "keep_ratio",
            label="Keep ratio",
            min=0.05,
            max=1.0,
            default=ctx.panel.state.keep_ratio,
            view=types.SliderView(
                label="Keep ratio",
                componentsProps={"slider": {"min": 0.05, "max": 1.0,
                                            "step": 0.05}},
            ),
            on_change=self.on_change_ratio,
        )
        compare = types.DropdownView(
            label="Compare with",
            description="Another method, ranked from the stored shapes",
        )
        compare.add_choice(NO_COMPARISON, label="no comparison")
        for method in scoring.METHODS:
            compare.add_choice(method, label=method)
        panel.enum("compare", compare.values(), view=compare,
                   default=ctx.panel.state.compare or NO_COMPARISON,
                   on_change=self.on_change_compare)
        panel.md(ctx.panel.state.summary or "", name="summary")

        buttons = panel.h_stack("buttons", gap=2)
        buttons.btn("apply", label="Apply pruning", on_click=self.apply,
                    variant="contained")
        buttons.btn("show_removed", label="Show pruned-away samples",
                    on_click=self.show_removed, variant="outlined")

        panel.md("**Image scores**: kept right of the cut-off",
                 name="scores_title")
        panel.plot(
            "scores",
            layout=dict(
                xaxis=dict(title="image score"),
                yaxis=dict(title="images"),
                shapes=ctx.panel.state.cutoff_shapes or [],
                height=260,
                margin=dict(t=10, b=40, l=50, r=10),
            ),
            config=dict(displayModeBar=False),
        )
        panel.md("**Eligible instances per class**, worst retention first "
                 "(log scale; the worst class in red)", name="classes_title")
        panel.plot(
            "classes",
            layout=dict(
                barmode="overlay",
                yaxis=dict(type="log", title="instances"),
                height=320,
                margin=dict(t=10, b=110, l=50, r=10),
                legend=dict(orientation="h"),
            ),
            config=dict(displayModeBar=False),
        )
        panel.md("**Kept share per COCO size** (pixel area: small < 32², "
                 "medium < 96², large)", name="sizes_title")
        panel.plot(
            "sizes",
            layout=dict(
                yaxis=dict(title="% kept", range=[0, 100]),
                height=220,
                barmode="group",
                margin=dict(t=10, b=40, l=50, r=10),
            ),
            config=dict(displayModeBar=False),
        )
        return types.Property(
            panel, view=types.GridView(orientation="vertical", padding=2)
        )


def _percent(counts):
    if counts["retention"] is None:
        return "n/a"
    return "%.1f%%" % (100 * counts["retention"])


def _summary(preview, other=None):
    text = _summary_line(preview)
    if other is not None:
        text += "\n\n" + _summary_line(other)
    return text


def _summary_line(preview):
    images = preview["images"]
    instances = preview["instances"]
    text = (
        "**%s: keeps %d of %d images (%s)** · %d of %d instances (%s)"
        % (preview["method"], images["after"], images["before"],
           _percent(images), instances["after"], instances["before"],
           _percent(instances))
    )
    if preview["classes"]:
        worst = preview["classes"][0]
        text += " · worst class: **%s** %d of %d (%s)" % (
            worst["name"], worst["after"], worst["before"], _percent(worst))
    return text


def _score_plot(preview):
    histogram = preview["histogram"]
    if histogram is None:
        return []
    edges = histogram["edges"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    return [dict(type="bar", x=centers, y=histogram["counts"],
                 marker=dict(color=BEFORE_COLOR), name="images")]


def _cutoff_shapes(preview):
    if preview["cutoff"] is None:
        return []
    return [dict(type="line", x0=preview["cutoff"], x1=preview["cutoff"],
                 yref="paper", y0=0, y1=1,
                 line=dict(color=KEPT_COLOR, width=2, dash="dash"))]


def _class_plot(preview, other=None):
    classes = preview["classes"][:MAX_CLASSES]
    names = [c["name"] for c in classes]
    kept_colors = [WORST_COLOR if i == 0 else KEPT_COLOR
                   for i in range(len(classes))]
    traces = [
        dict(type="bar", x=names, y=[c["before"] for c in classes],
             name="before", marker=dict(color=BEFORE_COLOR)),
        dict(type="bar", x=names, y=[c["after"] for c in classes],
             name="kept (%s)" % preview["method"],
             marker=dict(color=kept_colors),
             text=[_percent(c) for c in classes], textposition="outside"),
    ]
    if other is not None:
        by_name = {c["name"]: c for c in other["classes"]}
        traces.append(dict(
            type="scatter", mode="markers", x=names,
            y=[by_name[n]["after"] if n in by_name else 0 for n in names],
            name="kept (%s)" % other["method"],
            marker=dict(color=OTHER_COLOR, symbol="diamond", size=9),
            text=[_percent(by_name[n]) if n in by_name else ""
                  for n in names],
        ))
    return traces


def _size_plot(preview, other=None):
    traces = []
    for result, color in ((preview, KEPT_COLOR), (other, OTHER_COLOR)):
        if result is None:
            continue
        sizes = result["sizes"]
        names = list(sizes)
        traces.append(dict(
            type="bar", x=names,
            y=[100 * (sizes[n]["retention"] or 0) for n in names],
            text=["%d of %d" % (sizes[n]["after"], sizes[n]["before"])
                  for n in names],
            textposition="auto", marker=dict(color=color),
            name=result["method"],
        ))
    return traces
