"""Training-free dataset pruning for instance segmentation.

Scores instance masks by shape complexity (SCS, SI-SCS, CB-SCS) and keeps
the images with the most complex instances, as in "Training-Free Dataset
Pruning for Instance Segmentation" (ICLR 2025).

The core (:mod:`tfdp.geometry`, :mod:`tfdp.scoring`, :mod:`tfdp.coco`,
:mod:`tfdp.jsonio`, :mod:`tfdp.report`) needs only numpy, OpenCV, orjson
and pycocotools.
"""

from tfdp._version import __version__  # noqa: F401

# first, before the imports that take the command's first tenths of a second
from tfdp.signals import end_the_command_on_interrupt  # noqa: E402

end_the_command_on_interrupt()
from tfdp.errors import (  # noqa: F401
    InvalidDataError,
    OutputExistsError,
    TFDPError,
)
from tfdp.geometry import Shape  # noqa: F401
from tfdp.report import format_report, retention_report  # noqa: F401
from tfdp.scoring import METHODS, ShapeTable, keep_count, rank  # noqa: F401


def compute_scores(
    samples,
    label_field,
    method="cb-scs",
    run_key="tfdp",
    skip_invalid=False,
    overwrite=True,
    num_workers=1,
    scheduler=None,
    update=False,
    progress=None,
):
    """Measures every eligible label of a collection and stores its scores.

    Writes ``<run_key>_perimeter``, ``<run_key>_area``, ``<run_key>_pixels``
    and ``<run_key>_score`` on each scored label, ``<run_key>_score`` (the
    image score) on each sample, and records the run under ``run_key``.
    CB-SCS class totals are taken over ``samples``. Labels are identified by
    their sample and position, so repeated label ids are scored apart.

    The run is recorded before anything is written and marked finished
    last: a run that was killed can be re-run or deleted. Re-running with
    the same key replaces everything the previous run created.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: a ``Detections`` field whose detections have ``mask``
            or ``mask_path``, or a ``Polylines`` field of filled polylines
        method ("cb-scs"): ``"cb-scs"``, ``"si-scs"``, ``"scs"`` or
            ``"random"`` (which stores shapes but no scores)
        run_key ("tfdp"): the key of the run, a valid Python identifier
        skip_invalid (False): skip malformed labels, recording them in the
            run, rather than raise
        overwrite (True): replace an existing TFDP run with the same key
        num_workers (1): measure on a local Dask cluster of this many
            single-threaded worker processes (at most one per core),
            started for the run; 1 measures in this process. The fields
            written are the same. Patches, frames, clips and dynamic group
            views are measured in one process
        scheduler (None): the address of a running Dask scheduler, e.g.
            ``"tcp://10.0.0.5:8786"``, whose workers measure instead; they
            must reach this process's database
        update (False): update the finished run ``run_key`` of
            ``label_field`` after samples were added or labels replaced:
            measure only the labels without its stored shapes (and those
            of samples it never scored), then score every label and sample
            again, since CB-SCS class totals span the collection. The
            fields and the run record are those of a full run on
            ``samples``; ``method`` may differ from the run's, and scores
            are then those of the new method. A pruning of the run is
            removed, as by a full run, and ``overwrite`` is not consulted.
            Labels edited in place (new vertices or mask, same label) keep
            their stored shapes: replace such labels, or compute again
            with ``update=False``. Values on labels outside ``samples`` are
            left as they are
        progress (None): whether to render a progress bar (True/False),
            None to follow ``fiftyone.config.show_progress_bars``, or a
            callable that receives a
            :class:`fiftyone.core.utils.ProgressBar` at each update

    Returns:
        a :class:`tfdp.fo_adapter.labels.MeasuredLabels`

    Raises:
        ValueError: if the field, method, run key or workers are invalid
        TFDPError: if the key or fields belong to something else, if
            ``update`` is True and ``run_key`` is not a finished TFDP run
            of ``label_field``, or if the Dask cluster cannot be started or
            reached
        InvalidDataError: if labels are malformed and ``skip_invalid`` is
            False
    """
    from tfdp.fo_adapter import runs

    return runs.compute_scores(
        samples,
        label_field,
        method=method,
        run_key=run_key,
        skip_invalid=skip_invalid,
        overwrite=overwrite,
        num_workers=num_workers,
        scheduler=scheduler,
        update=update,
        progress=progress,
    )


def prune_samples(
    samples,
    run_key="tfdp",
    keep_ratio=None,
    prune_ratio=None,
    keep=None,
    method=None,
    tag=None,
    seed=0,
    selection="top",
    min_per_class=None,
    strata=50,
    hard_cutoff=0.0,
):
    """Keeps the highest-scoring samples of a scored run, from its stored
    shapes: another ratio or method never touches a mask again.

    Tags the kept samples (removing the run's previous tag), saves the view
    ``<run_key>-kept`` that matches the tag, and records the selection and
    its retention report in the run.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run
        keep_ratio (None): the fraction of samples to keep
        prune_ratio (None): the fraction of samples to remove
        keep (None): the number of samples to keep, from 1 to their number
        method (None): rank by another method than the run's; its scores
            replace the stored ones
        tag (None): the tag of kept samples, ``<run_key>:keep`` by default;
            it may not be a tag that samples already carry
        seed (0): the seed of the ``"random"`` method and of the
            stratified selection
        selection ("top"): ``"top"``, the highest scores, or
            ``"stratified"``, coverage-centric selection over score strata
            (docs/method.md, "Selection choices")
        min_per_class (None): with ``"top"``, every class keeps at least
            this many images (all of its images when it has fewer); the
            number kept stays as asked
        strata (50): the strata of ``"stratified"``
        hard_cutoff (0.0): the fraction of highest-scoring samples that
            ``"stratified"`` removes first

    Returns:
        the kept :class:`fiftyone.core.view.DatasetView`

    Raises:
        ValueError: if not exactly one of ``keep_ratio``, ``prune_ratio``
            and ``keep`` is given, or an argument is out of range
        TFDPError: if there is no such finished TFDP run, or the tag or
            saved view belongs to something else
    """
    from tfdp.fo_adapter import runs

    return runs.prune_samples(
        samples,
        run_key=run_key,
        keep_ratio=keep_ratio,
        prune_ratio=prune_ratio,
        keep=keep,
        method=method,
        tag=tag,
        seed=seed,
        selection=selection,
        min_per_class=min_per_class,
        strata=strata,
        hard_cutoff=hard_cutoff,
    )


def apply_tfdp(
    samples,
    label_field,
    method="cb-scs",
    keep_ratio=None,
    prune_ratio=None,
    keep=None,
    run_key="tfdp",
    tag=None,
    seed=0,
    selection="top",
    min_per_class=None,
    strata=50,
    hard_cutoff=0.0,
    skip_invalid=False,
    overwrite=True,
    num_workers=1,
    scheduler=None,
    progress=None,
):
    """Scores, prunes, tags and records a TFDP run in one call.

    Also available as ``samples.apply_tfdp(label_field, ...)`` on every
    dataset and view once :mod:`tfdp` is imported. Every argument is checked
    before anything is read or written.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`
        label_field: a ``Detections`` field with instance masks or a
            ``Polylines`` field of filled polylines
        method ("cb-scs"): ``"cb-scs"``, ``"si-scs"``, ``"scs"`` or
            ``"random"``
        keep_ratio (None): the fraction of samples to keep
        prune_ratio (None): the fraction of samples to remove
        keep (None): the number of samples to keep, from 1 to their number
        run_key ("tfdp"): the key of the run
        tag (None): the tag of kept samples, ``<run_key>:keep`` by default
        seed (0): the seed of the ``"random"`` method and of the
            stratified selection
        selection ("top"): ``"top"``, the highest scores, or
            ``"stratified"``, coverage-centric selection over score strata
            (docs/method.md, "Selection choices")
        min_per_class (None): with ``"top"``, every class keeps at least
            this many images (all of its images when it has fewer); the
            number kept stays as asked
        strata (50): the strata of ``"stratified"``
        hard_cutoff (0.0): the fraction of highest-scoring samples that
            ``"stratified"`` removes first
        skip_invalid (False): skip malformed labels rather than raise
        overwrite (True): replace an existing TFDP run with the same key
        num_workers (1): measure on a local Dask cluster of this many
            single-threaded worker processes (at most one per core),
            started for the run; 1 measures in this process. The fields
            written are the same. Patches, frames, clips and dynamic group
            views are measured in one process
        scheduler (None): the address of a running Dask scheduler, e.g.
            ``"tcp://10.0.0.5:8786"``, whose workers measure instead; they
            must reach this process's database
        progress (None): whether to render a progress bar (True/False),
            None to follow ``fiftyone.config.show_progress_bars``, or a
            callable that receives a
            :class:`fiftyone.core.utils.ProgressBar` at each update

    Returns:
        the kept :class:`fiftyone.core.view.DatasetView`

    Raises:
        ValueError: if an argument is invalid
        TFDPError: if the key, fields, tag or saved view belong to
            something else
        InvalidDataError: if labels are malformed and ``skip_invalid`` is
            False
    """
    from tfdp.fo_adapter import runs

    return runs.apply_tfdp(
        samples,
        label_field,
        method=method,
        keep_ratio=keep_ratio,
        prune_ratio=prune_ratio,
        keep=keep,
        run_key=run_key,
        tag=tag,
        seed=seed,
        selection=selection,
        min_per_class=min_per_class,
        strata=strata,
        hard_cutoff=hard_cutoff,
        skip_invalid=skip_invalid,
        overwrite=overwrite,
        num_workers=num_workers,
        scheduler=scheduler,
        progress=progress,
    )


def export_kept(
    samples,
    labels_path,
    run_key="tfdp",
    source_path=None,
    overwrite=False,
    progress=None,
):
    """Exports the kept samples of a run as a COCO file.

    When the samples carry their COCO image ids and the source COCO file is
    known (given, or recorded by :func:`load_coco_dataset`), the export is
    the source file restricted to the kept images, record for record, as
    ``tfdp prune`` writes it. Otherwise FiftyOne's COCO exporter writes the
    kept samples with the dataset's original categories.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        labels_path: the JSON file to write
        run_key ("tfdp"): the run
        source_path (None): the source COCO file, if not recorded
        overwrite (False): replace an existing file
        progress (None): whether to render a progress bar (True/False),
            None to follow ``fiftyone.config.show_progress_bars``, or a
            callable that receives a
            :class:`fiftyone.core.utils.ProgressBar` at each update

    Returns:
        a dict with ``mode`` (``"lossless"`` or ``"fiftyone"``),
        ``labels_path``, ``num_samples`` and ``num_annotations``

    Raises:
        OutputExistsError: if the file exists and ``overwrite`` is False
        TFDPError: if the run has no kept samples, or the file is the
            source COCO file, given or recorded (however it is spelled,
            links included)
    """
    from tfdp.fo_adapter import coco_files

    return coco_files.export_kept(
        samples,
        labels_path,
        run_key=run_key,
        source_path=source_path,
        overwrite=overwrite,
        progress=progress,
    )


def load_kept_view(samples, run_key="tfdp"):
    """Loads the saved view of a run's kept samples.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run

    Returns:
        a :class:`fiftyone.core.view.DatasetView`

    Raises:
        TFDPError: if there is no such run or its pruning has not finished
    """
    from tfdp.fo_adapter import runs

    return runs.load_kept_view(samples, run_key=run_key)


def get_run_info(samples, run_key="tfdp"):
    """A TFDP run's parameters, status and retention report.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run

    Returns:
        a dict with ``run_key``, ``timestamp``, ``status`` (``"scoring"``,
        ``"scored"``, ``"pruning"`` or ``"pruned"``), ``finished``,
        ``config`` and ``report`` (None until a pruning finished)

    Raises:
        TFDPError: if there is no such TFDP run
    """
    from tfdp.fo_adapter import runs

    return runs.get_run_info(samples, run_key=run_key)


def list_runs(samples):
    """The keys of the TFDP runs of a collection's dataset, oldest first.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection`

    Returns:
        a list of run keys
    """
    from tfdp.fo_adapter import records

    return records.list_tfdp_runs(samples)


def delete_run(samples, run_key="tfdp"):
    """Deletes a TFDP run: its fields, tag, saved view and record, and
    nothing else. Also cleans up after a run that did not finish.

    Args:
        samples: a :class:`fiftyone.core.collections.SampleCollection` of
            the run's dataset
        run_key ("tfdp"): the run

    Raises:
        TFDPError: if there is no such TFDP run
    """
    from tfdp.fo_adapter import runs

    runs.delete_run(samples, run_key=run_key)


def load_coco_dataset(
    labels_path,
    data_path=None,
    name=None,
    label_field=None,
    use_polylines=True,
    skip_invalid=False,
    persistent=False,
    overwrite=False,
    progress=None,
):
    """Loads a COCO instance-segmentation file into FiftyOne for TFDP.

    The file is validated first with the same checks as ``tfdp prune``, and
    a failed load leaves no dataset behind. Makes the samples that
    FiftyOne's COCO importer makes, keeping the COCO ids of images
    (``coco_id``) and annotations (a ``coco_id`` label attribute), and
    records the source file in
    ``dataset.info`` so that :func:`export_kept` writes the source records
    losslessly. With ``use_polylines=True`` (the default), polygons are kept
    as vertices and scores equal ``tfdp score`` on the source file.

    Without ``data_path``, samples point at ``file_name`` beside the JSON
    file and carry the image sizes of the file: scoring, pruning and export
    work, and the App shows no pixels.

    Args:
        labels_path: the COCO JSON file
        data_path (None): the folder of its images
        name (None): the dataset name
        label_field (None): the label field prefix, as for
            :meth:`fiftyone.core.dataset.Dataset.from_dir`
        use_polylines (True): polygons as ``Polylines`` (paper-exact) rather
            than rasterised ``Detection`` masks
        skip_invalid (False): load the file without its malformed records
            rather than raise
        persistent (False): whether the dataset persists after the process
        overwrite (False): replace a dataset with the same name
        progress (None): whether to render a progress bar (True/False),
            None to follow ``fiftyone.config.show_progress_bars``, or a
            callable that receives a
            :class:`fiftyone.core.utils.ProgressBar` at each update

    Returns:
        a :class:`fiftyone.core.dataset.Dataset`

    Raises:
        ValueError: if ``name`` or ``label_field`` cannot name a FiftyOne
            dataset or label field
        TFDPError: if the file cannot be read, or the name is taken and
            ``overwrite`` is False
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    from tfdp.fo_adapter import coco_files

    return coco_files.load_coco_dataset(
        labels_path,
        data_path=data_path,
        name=name,
        label_field=label_field,
        use_polylines=use_polylines,
        skip_invalid=skip_invalid,
        persistent=persistent,
        overwrite=overwrite,
        progress=progress,
    )


def _add_apply_tfdp(collections_module):
    import functools
    import inspect

    cls = collections_module.SampleCollection
    existing = getattr(cls, "apply_tfdp", None)
    if existing is not None:
        if not getattr(existing, "_tfdp", False):
            import logging

            logging.getLogger(__name__).warning(
                "SampleCollection.apply_tfdp exists already; not replacing it"
            )
        return

    @functools.wraps(apply_tfdp)
    def method(self, *args, **kwargs):
        return apply_tfdp(self, *args, **kwargs)

    # help() and completion show the real arguments, with self for samples
    signature = inspect.signature(apply_tfdp)
    params = list(signature.parameters.values())
    method.__signature__ = signature.replace(
        parameters=[params[0].replace(name="self")] + params[1:]
    )
    method._tfdp = True
    cls.apply_tfdp = method


def _patch_when_fiftyone_loads():
    # `import tfdp` adds SampleCollection.apply_tfdp, but importing FiftyOne
    # is heavy and the command must not pay for it: patch now if FiftyOne is
    # loaded, else as soon as fiftyone.core.collections is
    import importlib.util
    import sys

    target = "fiftyone.core.collections"
    if target in sys.modules:
        _add_apply_tfdp(sys.modules[target])
        return

    # a meta path finder needs only find_spec (importlib.abc would import
    # importlib.resources, which every command would pay for)
    class _Finder(object):
        def find_spec(self, name, path=None, target_module=None):
            if name != target:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                _add_apply_tfdp(module)

            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, _Finder())


_patch_when_fiftyone_loads()
