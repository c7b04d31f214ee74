"""The operator that loads a COCO file as a new dataset."""

import os

import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.operators.types as types

import tfdp

from .common import (
    finish,
    heavy_operator_config,
    replace_input,
    run_with_progress,
)


class LoadCocoDataset(foo.Operator):
    @property
    def config(self):
        return heavy_operator_config(
            "load_coco_dataset",
            "TFDP: load COCO dataset",
            # first in the App's list, which sorts by this first letter
            "A COCO instance-segmentation file as a new dataset, validated "
            "as the tfdp command validates it, its source recorded for a "
            "lossless export",
            # a COCO-sized file loads for minutes
            delegated_by_default=True,
        )

    def __call__(
        self,
        labels_path,
        data_path=None,
        name=None,
        label_field="segmentations",
        use_polylines=True,
        skip_invalid=False,
        overwrite=False,
        delegate=False,
    ):
        """Loads a COCO file as a new persistent dataset, as
        :func:`tfdp.load_coco_dataset` does.

        Args:
            labels_path: the COCO JSON file, an absolute path
            data_path (None): the absolute path of its images' folder
            name (None): the dataset's name; by default the file's name
                without ``.json``
            label_field ("segmentations"): the label field
            use_polylines (True): polygons as ``Polylines`` rather than
                rasterised ``Detection`` masks
            skip_invalid (False): load the file without its malformed
                records rather than refuse it
            overwrite (False): replace a dataset with the same name
            delegate (False): queue the work as a delegated operation
        """
        params = dict(
            labels_path=labels_path,
            label_field=label_field,
            use_polylines=use_polylines,
            skip_invalid=skip_invalid,
            overwrite=overwrite,
        )
        if data_path:
            params["data_path"] = data_path
        if name:
            params["name"] = name
        return foo.execute_operator(
            self.uri, params=params, request_delegation=delegate
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        labels_path = ctx.params.get("labels_path") or ""
        inputs.str(
            "labels_path",
            label="COCO file",
            description="An absolute path to the JSON file",
            required=True,
            **_error(_path_error(labels_path, os.path.isfile, "no such file")),
        )
        data_path = ctx.params.get("data_path") or ""
        inputs.str(
            "data_path",
            label="Images folder (optional)",
            description="An absolute path; without it, samples carry the "
            "file's image sizes and the App shows no pixels",
            **_error(_path_error(data_path, os.path.isdir, "no such folder")),
        )

        name = dataset_name(ctx.params)
        inputs.str(
            "name",
            label="Dataset name",
            description="By default the file's name without .json",
            **_error(
                None if name.strip() or not labels_path else "give a name"
            ),
        )
        if name and fo.dataset_exists(name):
            replace_input(
                ctx,
                inputs,
                "Replace the dataset",
                "Dataset %r exists: tick 'Replace' to delete it and load "
                "the file in its place" % name,
                "dataset exists",
            )

        inputs.str(
            "label_field",
            label="Label field",
            default="segmentations",
            required=True,
        )
        inputs.bool(
            "use_polylines",
            default=True,
            label="Polygons as polylines",
            description="Scores equal the tfdp command's; off: FiftyOne's "
            "rasterised masks (Detection.mask)",
        )
        inputs.bool(
            "skip_invalid",
            default=False,
            label="Skip malformed records",
            description="Off: a file with malformed records is refused, "
            "naming them",
        )
        return types.Property(
            inputs, view=types.View(label="TFDP: load COCO dataset")
        )

    def execute(self, ctx):
        name = dataset_name(ctx.params)
        dataset = yield from run_with_progress(
            ctx,
            "Loading",
            lambda progress: tfdp.load_coco_dataset(
                ctx.params["labels_path"],
                data_path=ctx.params.get("data_path") or None,
                name=name,
                label_field=ctx.params.get("label_field") or "segmentations",
                use_polylines=ctx.params.get("use_polylines", True),
                skip_invalid=ctx.params.get("skip_invalid", False),
                # the App's datasets outlive the process that loads them
                persistent=True,
                overwrite=ctx.params.get("overwrite", False),
                progress=progress,
            ),
        )
        yield finish(
            ctx,
            "Loaded %d samples from %s as dataset %r"
            % (len(dataset), ctx.params["labels_path"], dataset.name),
        )
        if not ctx.delegated:
            yield ctx.ops.open_dataset(dataset.name)


def default_name(labels_path):
    """A dataset's default name: the COCO file's name without ``.json``."""
    base = os.path.basename(labels_path or "")
    return base[: -len(".json")] if base.lower().endswith(".json") else base


def dataset_name(params):
    """The dataset name the form holds, or its default."""
    return params.get("name") or default_name(params.get("labels_path"))


def _path_error(path, exists, missing):
    # what is wrong with an absolute path the form asks for, if anything
    if not path:
        return None
    if not os.path.isabs(path):
        return "give an absolute path"
    return None if exists(path) else missing


def _error(message):
    return dict(invalid=message is not None, error_message=message or "")
