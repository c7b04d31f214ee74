"""Operators that show, export and delete TFDP runs."""

import os
import time

import fiftyone.operators as foo
import fiftyone.operators.types as types

import tfdp
from tfdp.fo_adapter import coco_files

from .common import (
    SAVED_VIEW_WAIT,
    call_operator,
    current_view_run,
    existing_run_key_input,
    finish,
    heavy_operator_config,
    replace_input,
    run_outputs,
    run_with_progress,
    unavailable,
)


class ExportKept(foo.Operator):
    @property
    def config(self):
        return heavy_operator_config(
            "export_kept",
            "TFDP: export kept samples",
            "Save the kept samples of a run as a COCO file, "
            "losslessly from the source file when it is known",
        )

    def __call__(
        self,
        sample_collection,
        labels_path,
        run_key="tfdp",
        source_path=None,
        overwrite=False,
        delegate=False,
    ):
        """Exports a run's kept samples.

        Args:
            sample_collection: a dataset or view of the run's dataset
            labels_path: the COCO JSON file to write
            run_key ("tfdp"): the run
            source_path (None): the source COCO file, if not recorded
            overwrite (False): replace an existing file
            delegate (False): queue the work as a delegated operation
        """
        params = dict(
            labels_path=labels_path, run_key=run_key, overwrite=overwrite
        )
        if source_path:
            params["source_path"] = source_path
        return call_operator(
            self, sample_collection, params, delegate=delegate
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        run_key = existing_run_key_input(
            ctx, inputs, "The run whose kept samples to export"
        )
        if run_key is not None and not getattr(
            ctx.dataset.get_run_info(run_key).config, "saved_view", None
        ):
            unavailable(
                inputs,
                "pruned",
                "not pruned",
                "Run %r has no kept samples: prune it first" % run_key,
            )

        labels_path = ctx.params.get("labels_path") or ""
        error = None
        if labels_path and not os.path.isabs(labels_path):
            error = "give an absolute path"
        elif labels_path and os.path.isdir(labels_path):
            error = "this is a folder; give a .json file"
        elif labels_path and not labels_path.lower().endswith(".json"):
            error = "give a path ending in .json"
        elif labels_path and not os.path.isdir(os.path.dirname(labels_path)):
            error = "folder %s does not exist" % os.path.dirname(labels_path)
        inputs.str(
            "labels_path",
            label="COCO file to write",
            description="An absolute path ending in .json",
            required=True,
            invalid=error is not None,
            error_message=error or "",
        )
        if labels_path and error is None and os.path.exists(labels_path):
            replace_input(
                ctx,
                inputs,
                "Replace the existing file",
                "%s exists: tick 'Replace' to overwrite it" % labels_path,
                "file exists",
            )

        source = ctx.dataset.info.get(coco_files.SOURCE_INFO_KEY) or {}
        inputs.str(
            "source_path",
            label="Source COCO file (optional)",
            description="For a lossless export of the source records; "
            "recorded: %s" % (source.get("labels_path") or "none"),
        )
        return types.Property(
            inputs, view=types.View(label="TFDP: export kept samples")
        )

    def execute(self, ctx):
        result = yield from run_with_progress(
            ctx,
            "Exporting",
            lambda progress: tfdp.export_kept(
                ctx.dataset,
                ctx.params["labels_path"],
                run_key=ctx.params.get("run_key", "tfdp"),
                source_path=ctx.params.get("source_path") or None,
                overwrite=ctx.params.get("overwrite", False),
                progress=progress,
            ),
        )
        yield finish(
            ctx,
            "Wrote %d samples and %d annotations to %s (%s)"
            % (
                result["num_samples"],
                result["num_annotations"],
                result["labels_path"],
                result["mode"],
            ),
        )
        if not ctx.delegated:
            yield ctx.ops.show_output(export_output().to_json(), result)


def export_output():
    """What an export shows when it is done."""
    outputs = types.Object()
    outputs.str("labels_path", label="Written to")
    outputs.int("num_samples", label="Samples")
    outputs.int("num_annotations", label="Annotations")
    outputs.str("source", label="Source file")
    outputs.str(
        "mode",
        label="Export",
        description="lossless: the source records, unchanged; "
        "fiftyone: written by FiftyOne's COCO exporter",
    )
    return types.Property(
        outputs, view=types.View(label="Exported the kept samples")
    )


class GetRunInfo(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="get_run_info",
            label="TFDP: get run info",
            description="The summary of a TFDP run: method, field, counts, "
            "keep ratio, tag, saved view and retention",
            dynamic=True,
        )

    def __call__(self, sample_collection, run_key="tfdp"):
        """Returns a run's info.

        Args:
            sample_collection: a dataset or view of the run's dataset
            run_key ("tfdp"): the run
        """
        return call_operator(self, sample_collection, dict(run_key=run_key))

    def resolve_input(self, ctx):
        inputs = types.Object()
        existing_run_key_input(ctx, inputs, "The run to show")
        return types.Property(
            inputs, view=types.View(label="TFDP: get run info")
        )

    def execute(self, ctx):
        info = tfdp.get_run_info(
            ctx.dataset, run_key=ctx.params.get("run_key", "tfdp")
        )
        info["summary"] = run_summary(info)
        return info

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("summary", view=types.MarkdownView())
        return types.Property(outputs, view=types.View(label="TFDP run info"))


def _counts(counts):
    percent = (
        "%.1f %%" % (100 * counts["retention"])
        if counts.get("retention") is not None
        else "n/a"
    )
    return "%d of %d (%s)" % (counts["after"], counts["before"], percent)


def run_summary(info):
    """A run's info as a Markdown table, with the retention report's
    headline.

    Args:
        info: a dict from :func:`tfdp.get_run_info`

    Returns:
        a Markdown string
    """
    config = info["config"]
    rows = [
        ("Run", "`%s`" % info["run_key"]),
        ("Method", config.get("method")),
        ("Label field", "`%s`" % config.get("label_field")),
        ("Created", info["timestamp"].split(".")[0] + " UTC"),
        (
            "Status",
            info["status"] + ("" if info["finished"] else " (did not finish)"),
        ),
    ]
    if config.get("num_samples") is not None:
        rows.append(
            (
                "Scored",
                "%d instances of %d samples"
                % (config.get("num_instances") or 0, config["num_samples"]),
            )
        )
    ineligible = config.get("ineligible") or {}
    if ineligible:
        rows.append(
            (
                "Not scored",
                ", ".join(
                    "%d %s" % (n, reason) for reason, n in ineligible.items()
                ),
            )
        )
    if config.get("invalid"):
        rows.append(
            ("Skipped as malformed", "%d labels" % len(config["invalid"]))
        )
    if config.get("num_kept") is not None:
        if config.get("keep_ratio") is not None:
            asked = "keep ratio %s" % config["keep_ratio"]
        elif config.get("prune_ratio") is not None:
            asked = "prune ratio %s" % config["prune_ratio"]
        else:
            asked = "keep %s" % config.get("keep")
        rows.append(
            (
                "Kept",
                "%d of %d samples (%s)"
                % (config["num_kept"], config.get("num_samples") or 0, asked),
            )
        )
    if config.get("tag"):
        rows.append(("Tag", "`%s`" % config["tag"]))
    if config.get("saved_view"):
        rows.append(("Saved view", "`%s`" % config["saved_view"]))

    lines = ["| | |", "|---|---|"]
    lines += ["| %s | %s |" % (name, value) for name, value in rows]
    report = info.get("report")
    if report:
        headline = "**Retention:** images %s, instances %s" % (
            _counts(report["images"]),
            _counts(report["instances"]),
        )
        if report["classes"]:
            worst = report["classes"][0]
            headline += "; worst class **%s** %s" % (
                worst["name"],
                _counts(worst),
            )
        lines += ["", headline]
    else:
        lines += ["", "Not pruned yet: run *TFDP: prune* to keep samples."]
    return "\n".join(lines)


class DeleteRun(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_run",
            label="TFDP: delete run",
            description="Undo a TFDP run: delete its fields, tag, saved view "
            "and record, and nothing else",
            dynamic=True,
            execute_as_generator=True,
        )

    def __call__(self, sample_collection, run_key="tfdp"):
        """Deletes a run.

        Args:
            sample_collection: a dataset or view of the run's dataset
            run_key ("tfdp"): the run
        """
        return call_operator(self, sample_collection, dict(run_key=run_key))

    def resolve_input(self, ctx):
        inputs = types.Object()
        run_key = existing_run_key_input(ctx, inputs, "The run to delete")
        if run_key is not None:
            config = ctx.dataset.get_run_info(run_key).config
            inputs.view(
                "deletes",
                types.Warning(label="Deletes %s" % run_outputs(config)),
            )
        return types.Property(
            inputs, view=types.View(label="TFDP: delete run")
        )

    def execute(self, ctx):
        run_key = ctx.params.get("run_key", "tfdp")
        # the view shows this run's samples: it would go stale, empty
        deleted = run_outputs(ctx.dataset.get_run_info(run_key).config)
        if current_view_run(ctx) == run_key:
            # leave the run's samples first: the App fails on a saved view
            # it shows that no longer exists
            yield ctx.ops.set_view(view=ctx.dataset.view())
            time.sleep(SAVED_VIEW_WAIT)
        tfdp.delete_run(ctx.dataset, run_key=run_key)
        yield ctx.trigger("reload_dataset")
        yield finish(ctx, "Deleted TFDP run %r: %s" % (run_key, deleted))


class OpenPanel(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="open_panel",
            label="TFDP: open panel",
            description="Open the TFDP panel: score distribution, per-class "
            "and per-size retention, keep-ratio preview",
            view_target=False,
        )

    def execute(self, ctx):
        ctx.ops.open_panel("tfdp_panel", layout="horizontal", is_active=True)
