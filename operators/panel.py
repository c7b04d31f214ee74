"""The TFDP panel: see what a pruning keeps before applying it."""

import fiftyone.operators as foo
import fiftyone.operators.types as types

from tfdp import fiftyone_utils

from .common import tfdp_runs

KEPT_COLOR = "#ff6d04"
BEFORE_COLOR = "#9aa0a6"
WORST_COLOR = "#d62728"
MAX_CLASSES = 40


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
        self._update(ctx)

    def on_change_run(self, ctx):
        ctx.panel.state.run_key = ctx.params["value"]
        self.on_load(ctx)

    def on_change_ratio(self, ctx):
        ctx.panel.state.keep_ratio = float(ctx.params["value"])
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
        preview = fiftyone_utils.preview_pruning(
            ctx.dataset,
            run_key=ctx.panel.state.run_key,
            keep_ratio=ctx.panel.state.keep_ratio,
        )
        view = preview["removed_view"]
        if preview["method"] != "random":
            _, sample_field = fiftyone_utils.run_fields(
                view, preview["run_key"],
                ctx.dataset.get_run_info(preview["run_key"]).config
                .label_field,
            )
            view = view.sort_by(sample_field)  # lowest scores first
        ctx.ops.set_view(view=view)

    def _update(self, ctx):
        preview = fiftyone_utils.preview_pruning(
            ctx.dataset,
            run_key=ctx.panel.state.run_key,
            keep_ratio=ctx.panel.state.keep_ratio,
        )
        ctx.panel.state.summary = _summary(preview)
        ctx.panel.data.scores = _score_plot(preview)
        ctx.panel.data.classes = _class_plot(preview)
        ctx.panel.data.sizes = _size_plot(preview)
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


def _summary(preview):
    images = preview["images"]
    instances = preview["instances"]
    text = (
        "**Keeps %d of %d images (%s)** · %d of %d instances (%s)"
        % (images["after"], images["before"], _percent(images),
           instances["after"], instances["before"], _percent(instances))
    )
    if preview["classes"]:
        worst = preview["classes"][0]
        text += " · worst class: **%s** %d of %d (%s)" % (
            worst["name"], worst["after"], worst["before"], _percent(worst))
    return text + " · method %s" % preview["method"]


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


def _class_plot(preview):
    classes = preview["classes"][:MAX_CLASSES]
    names = [c["name"] for c in classes]
    kept_colors = [WORST_COLOR if i == 0 else KEPT_COLOR
                   for i in range(len(classes))]
    return [
        dict(type="bar", x=names, y=[c["before"] for c in classes],
             name="before", marker=dict(color=BEFORE_COLOR)),
        dict(type="bar", x=names, y=[c["after"] for c in classes],
             name="kept", marker=dict(color=kept_colors),
             text=[_percent(c) for c in classes], textposition="outside"),
    ]


def _size_plot(preview):
    sizes = preview["sizes"]
    names = list(sizes)
    return [dict(
        type="bar", x=names,
        y=[100 * (sizes[n]["retention"] or 0) for n in names],
        text=["%d of %d" % (sizes[n]["after"], sizes[n]["before"])
              for n in names],
        textposition="auto", marker=dict(color=KEPT_COLOR), name="kept",
    )]
