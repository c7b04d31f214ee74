"""Operators that show, export and delete TFDP runs."""

import os

import fiftyone.operators as foo
import fiftyone.operators.types as types

import tfdp
from tfdp.fo_adapter import io

from .common import (
    call_operator,
    existing_run_key_input,
    heavy_operator_config,
    run_with_progress,
    unavailable,
)


class ExportKept(foo.Operator):
    @property
    def config(self):
        return heavy_operator_config(
            "export_kept",
            "TFDP: export kept samples",
            "Write the kept samples of a run as a COCO file, "
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
        params = dict(labels_path=labels_path, run_key=run_key,
                      overwrite=overwrite)
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
            inputs.bool("overwrite", default=False,
                        label="Replace the existing file")
            if not ctx.params.get("overwrite", False):
                inputs.view(
                    "exists",
                    types.Warning(label="%s exists: tick 'Replace' to "
                                  "overwrite it" % labels_path),
                )
                inputs.str("exists_guard", invalid=True, required=True,
                           view=types.HiddenView(),
                           error_message="file exists")

        source = ctx.dataset.info.get(io.SOURCE_INFO_KEY) or {}
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
        ctx.log(
            "Wrote %d samples to %s (%s)"
            % (result["num_samples"], result["labels_path"], result["mode"])
        )


class GetRunInfo(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="get_run_info",
            label="TFDP: get run info",
            description="Show a TFDP run's parameters and retention report",
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
        return tfdp.get_run_info(
            ctx.dataset, run_key=ctx.params.get("run_key", "tfdp")
        )

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("run_key", label="Run key")
        outputs.str("timestamp", label="Created")
        outputs.obj("config", label="Parameters", view=types.JSONView())
        outputs.obj("report", label="Retention report",
                    view=types.JSONView())
        return types.Property(
            outputs, view=types.View(label="TFDP run info")
        )


class DeleteRun(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_run",
            label="TFDP: delete run",
            description="Delete a TFDP run: its fields, tag, saved view and "
            "record, and nothing else",
            dynamic=True,
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
                types.Warning(
                    label="Deletes fields %s, tag %r and saved view %r"
                    % (
                        ", ".join(config.fields),
                        getattr(config, "tag", None),
                        getattr(config, "saved_view", None),
                    )
                ),
            )
        return types.Property(
            inputs, view=types.View(label="TFDP: delete run")
        )

    def execute(self, ctx):
        tfdp.delete_run(ctx.dataset, run_key=ctx.params.get("run_key", "tfdp"))
        ctx.trigger("reload_dataset")


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
