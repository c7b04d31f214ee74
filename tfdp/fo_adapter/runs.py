"""TFDP runs: scoring, pruning and deleting, recorded first and finished
last.

A run's record (see :mod:`tfdp.fo_adapter.records`) lists everything the
run may have written (fields, tag, saved view) before any of it is written,
with a ``status`` that says how far it got. A run killed at any point can
be re-run or deleted, and both clean up exactly what it listed. Counts and
reports are recorded only when they are true.

Changes to the dataset's document (its schema, runs and saved views) are
made under a lock shared by TFDP processes, after reloading the dataset, so
that two runs at once never lose each other's declarations.

- :func:`compute_scores`, :func:`prune_samples`, :func:`apply_tfdp`: runs
- :func:`load_kept_view`, :func:`get_run_info`, :func:`delete_run`: reading
  and deleting them
- :func:`dataset_lock`: the lock of a dataset's document
"""

import contextlib
import datetime
import os
import socket
import time

import fiftyone.core.odm as foo
from bson import ObjectId
from fiftyone import ViewField as F
from pymongo.errors import DuplicateKeyError

from tfdp import scoring
from tfdp import selection as selection_rules
from tfdp._version import __version__
from tfdp.engine import check_scheduler, check_workers
from tfdp.errors import NothingToScoreError, Problem, TFDPError
from tfdp.fo_adapter import views, write
from tfdp.fo_adapter.fields import (
    collection_name,
    default_tag,
    kept_view_name,
    label_list_path,
    run_fields,
    validate_run_key,
    validate_seed,
    validate_tag,
)
from tfdp.fo_adapter.labels import (
    check_metadata,
    measure_labels,
    merge_measured,
    stored_table,
)
from tfdp.fo_adapter.progress import progress_updates
from tfdp.fo_adapter.records import (
    PRUNED,
    PRUNING,
    SCORED,
    SCORING,
    UNFINISHED,
    is_tfdp_run,
    run_config,
    save_config,
    scored_config,
)
from tfdp.report import retention_report

#: The collection of FiftyOne's database that holds the dataset locks
LOCKS_COLLECTION = "tfdp_locks"

#: A lock older than this is taken over: its holder died
LOCK_EXPIRY = datetime.timedelta(minutes=10)


@contextlib.contextmanager
def dataset_lock(dataset, timeout=600):
    """Holds the TFDP lock of a dataset and reloads it.

    Locks held by a process of this machine that died are taken over at
    once, others after :data:`LOCK_EXPIRY`.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset`
        timeout (600): seconds to wait for the lock

    Raises:
        TFDPError: if the lock is not acquired in time
    """
    locks = foo.get_db_conn()[LOCKS_COLLECTION]
    lock_id = dataset._doc.id
    token = ObjectId()
    host = socket.gethostname()
    deadline = time.monotonic() + timeout
    while True:
        now = datetime.datetime.utcnow()
        try:
            locks.insert_one(
                {
                    "_id": lock_id,
                    "token": token,
                    "host": host,
                    "pid": os.getpid(),
                    "since": now,
                }
            )
            break
        except DuplicateKeyError:
            holder = locks.find_one({"_id": lock_id})
            if holder is not None and _is_stale(holder, host, now):
                locks.delete_one({"_id": lock_id, "token": holder["token"]})
                continue
        if time.monotonic() > deadline:
            raise TFDPError(
                "dataset %r is locked by another TFDP run (process %s on %s)"
                % (
                    dataset.name,
                    holder and holder.get("pid"),
                    holder and holder.get("host"),
                )
            )
        time.sleep(0.05)
    try:
        dataset.reload()
        yield
    finally:
        locks.delete_one({"_id": lock_id, "token": token})


def _is_stale(holder, host, now):
    if now - holder.get("since", now) > LOCK_EXPIRY:
        return True
    return holder.get("host") == host and process_is_gone(holder.get("pid"))


def process_is_gone(pid):
    """Whether no process of this machine has the id ``pid``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, TypeError):
        return False
    return False


# ---------------------------------------------------------------------------
# Outputs


def _delete_outputs(dataset, config, keep=()):
    # everything the record lists but keep, where it exists; the caller
    # holds the lock
    views.remove_kept(dataset, config)
    for path in config.fields:
        if path not in keep and dataset.has_field(path):
            dataset.delete_sample_field(path)


def _check_key_is_ours(dataset, run_key, overwrite):
    if run_key not in dataset.list_runs():
        return
    if not is_tfdp_run(dataset, run_key):
        raise TFDPError(
            "run key %r is taken by another kind of run on dataset %r; "
            "choose another run_key" % (run_key, dataset.name)
        )
    if not overwrite:
        raise TFDPError(
            "dataset %r already has a TFDP run %r; delete it, choose another "
            "run_key, or pass overwrite=True" % (dataset.name, run_key)
        )


def _check_fields_are_free(dataset, run_key, paths):
    ours = set()
    if run_key in dataset.list_runs() and is_tfdp_run(dataset, run_key):
        ours = set(run_config(dataset, run_key).fields)
    taken = [p for p in paths if p not in ours and dataset.has_field(p)]
    if taken:
        raise TFDPError(
            "dataset %r already has field(s) %s that no TFDP run %r created; "
            "choose another run_key"
            % (dataset.name, ", ".join(taken), run_key)
        )
    _check_no_undeclared_values(
        dataset, run_key, [p for p in paths if p not in ours]
    )


def _check_no_undeclared_values(dataset, run_key, paths):
    # an undeclared (dynamic) label attribute is in no schema: only the
    # samples tell that the run would overwrite it and delete_run remove it
    if not paths:
        return
    doc = dataset._sample_collection.find_one(
        {"$or": [{path: {"$exists": True}} for path in paths]}
    )
    if doc is None:
        return
    for path in paths:
        where = _holder(doc, path)
        if where is not None:
            raise TFDPError(
                "dataset %r: %s has a value in %s, which no TFDP run %r "
                "created (an attribute the schema does not declare); choose "
                "another run_key" % (dataset.name, where, path, run_key)
            )


def _holder(doc, path):
    # "sample <id>" or "label <id> of sample <id>" holding a value at path
    *parents, attr = path.split(".")
    values = [doc]
    for key in parents:
        values = [v.get(key) for v in values if isinstance(v, dict)]
        values = [
            x for v in values for x in (v if isinstance(v, list) else [v])
        ]
    for value in values:
        if isinstance(value, dict) and attr in value:
            if value is doc:
                return "sample %s" % doc["_id"]
            return "label %s of sample %s" % (value.get("_id"), doc["_id"])
    return None


# ---------------------------------------------------------------------------
# Scoring


def validate_compute_args(
    samples,
    label_field,
    method,
    run_key,
    skip_invalid,
    overwrite,
    num_workers=1,
    scheduler=None,
    update=False,
):
    """Checks the arguments of a scoring run before anything is read."""
    scoring.validate_method(method)
    validate_run_key(run_key)
    label_list_path(samples, label_field)
    for name, value in (
        ("skip_invalid", skip_invalid),
        ("overwrite", overwrite),
        ("update", update),
    ):
        if not isinstance(value, bool):
            raise ValueError(
                "%s must be True or False, not %r" % (name, value)
            )
    try:
        check_workers(num_workers)
    except ValueError as e:
        raise ValueError("num_workers: %s" % e) from None
    if scheduler is not None:
        try:
            check_scheduler(scheduler)
        except ValueError as e:
            raise ValueError("scheduler: %s" % e) from None
    if (num_workers > 1 or scheduler is not None) and (
        samples._is_generated or samples._is_dynamic_groups
    ):
        raise ValueError(
            "patches, frames, clips and dynamic group views are measured in "
            "one process: use num_workers=1 and no scheduler"
        )


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
    """Measures and scores the labels of a collection and records a run.

    See :func:`tfdp.compute_scores`.
    """
    validate_compute_args(
        samples,
        label_field,
        method,
        run_key,
        skip_invalid,
        overwrite,
        num_workers,
        scheduler,
        update,
    )
    dataset = samples._root_dataset
    all_label_paths, score_field = run_fields(samples, run_key, label_field)
    if update:
        updated = updatable_config(dataset, run_key, label_field)
    # an update rewrites its run: that is what it was asked
    _check_key_is_ours(dataset, run_key, overwrite or update)
    _check_fields_are_free(
        dataset, run_key, list(all_label_paths) + [score_field]
    )
    # the random method stores shapes but no scores
    if method == "random":
        label_paths, sample_field = all_label_paths[:3], None
    else:
        label_paths, sample_field = all_label_paths, score_field
    new_fields = list(label_paths) + ([sample_field] if sample_field else [])

    if update:
        measured = _measure_update(
            samples,
            label_field,
            all_label_paths,
            score_field,
            updated,
            skip_invalid,
            num_workers,
            scheduler,
            progress,
        )
    else:
        measured = measure_labels(
            samples,
            label_field,
            skip_invalid=skip_invalid,
            num_workers=num_workers,
            scheduler=scheduler,
            progress=progress_updates(progress, "Measuring"),
        )
    table = measured.table
    if not len(table):
        raise NothingToScoreError(
            "field %r of %s" % (label_field, collection_name(samples)),
            measured.ineligible,
            len(measured.invalid),
            noun="label",
        )
    columns = dict(
        zip(label_paths, (table.perimeter, table.area, table.pixels))
    )
    sample_scores = None
    if sample_field is not None:
        instance = table.scores(method)
        columns[label_paths[3]] = instance
        sample_scores = scoring.image_scores(
            table.image_index, instance, len(measured.sample_ids)
        )

    with dataset_lock(dataset):
        if update:
            # the shapes read must still be the run's
            updatable_config(dataset, run_key, label_field)
        _check_key_is_ours(dataset, run_key, overwrite or update)
        _check_fields_are_free(dataset, run_key, new_fields)
        old = None
        if run_key in dataset.list_runs():
            old = run_config(dataset, run_key)
        config = samples.init_run(
            method=method,
            label_field=label_field,
            status=SCORING,
            # what an interrupted run may leave: the old run's outputs too
            fields=sorted(set(new_fields) | set(old.fields if old else ())),
            tag=old.tag if old else None,
            saved_view=old.saved_view if old else None,
            tfdp_version=__version__,
        )
        samples.register_run(run_key, config, overwrite=True, cleanup=False)
        if old is not None:
            # an update keeps the shapes it read, and rewrites the scores
            _delete_outputs(dataset, old, keep=new_fields if update else ())
        config.fields = new_fields
        config.tag = None
        config.saved_view = None
        save_config(dataset, run_key, config)
        write.declare_fields(
            dataset, write.field_types(label_paths, sample_field)
        )

    write.write_values(dataset, measured, columns, sample_field, sample_scores)

    with dataset_lock(dataset):
        config = run_config(dataset, run_key)
        config.status = SCORED
        config.ineligible = dict(measured.ineligible)
        config.invalid = [dict(p._asdict()) for p in measured.invalid]
        config.num_samples = len(measured.sample_ids)
        config.num_instances = len(table)
        save_config(dataset, run_key, config)
    return measured


def updatable_config(dataset, run_key, label_field):
    """The config of a finished TFDP run of ``label_field``, which an update
    may extend.

    Raises:
        TFDPError: if there is no such run
    """
    if run_key not in dataset.list_runs() or not is_tfdp_run(dataset, run_key):
        raise TFDPError(
            "cannot update TFDP run %r of dataset %r: there is no such run; "
            "pass update=False to compute it" % (run_key, dataset.name)
        )
    config = run_config(dataset, run_key)
    if config.status in UNFINISHED:
        raise TFDPError(
            "cannot update TFDP run %r of dataset %r: its last %s did not "
            "finish; pass update=False to compute it again"
            % (run_key, dataset.name, config.status)
        )
    if config.label_field != label_field:
        raise TFDPError(
            "cannot update TFDP run %r of dataset %r: it scored field %r, "
            "not %r" % (run_key, dataset.name, config.label_field, label_field)
        )
    return config


def _measure_update(
    samples,
    label_field,
    label_paths,
    score_field,
    config,
    skip_invalid,
    num_workers,
    scheduler,
    progress,
):
    # Measures the labels without stored shapes, and the labels of samples
    # the run never scored (they may carry shapes copied from elsewhere);
    # reads the other labels' stored shapes. Ineligible and invalid labels
    # never get shapes, so they are all measured again, and their counts
    # are a full run's.
    attr = label_paths[0].rsplit(".", 1)[1]
    stored = F(attr).exists()
    if score_field in config.fields:
        stored = stored & F("$" + score_field).exists()
    # as a full run would: image sizes of samples without labels too
    check_metadata(samples)
    new = measure_labels(
        samples.filter_labels(label_field, ~stored),
        label_field,
        skip_invalid=skip_invalid,
        num_workers=num_workers,
        scheduler=scheduler,
        progress=progress_updates(progress, "Measuring"),
    )
    old = stored_table(
        samples.filter_labels(label_field, stored, only_matches=False),
        label_field,
        label_paths,
    )
    return merge_measured(old, new)


# ---------------------------------------------------------------------------
# Pruning


def validate_prune_args(
    num_samples, keep_ratio, prune_ratio, keep, method, tag, seed
):
    """Checks the arguments of a pruning before anything is read.

    Returns:
        the number of samples to keep out of ``num_samples`` (None when it
        is None)
    """
    if method is not None:
        scoring.validate_method(method)
    validate_tag(tag)
    validate_seed(seed)
    return scoring.keep_count(
        num_samples, keep_ratio=keep_ratio, prune_ratio=prune_ratio, keep=keep
    )


def check_unchanged(scored, run_key, config, measured, sample_field):
    """Checks that a run's samples and labels are those it scored.

    Pruning ranks the shapes that scoring stored: samples added since have
    none and would rank last as if they scored 0, and class totals would be
    taken over other labels. Labels whose vertices or masks were edited
    keep their stored shapes and are not detected.

    Args:
        scored: the run's view
        run_key: the run
        config: its config
        measured: the :class:`tfdp.fo_adapter.labels.MeasuredLabels`
            stored on ``scored``
        sample_field: the run's image score field

    Raises:
        TFDPError: if samples or labels were added or deleted since scoring
    """
    num_samples = config.num_samples
    num_instances = config.num_instances
    num = len(measured.sample_ids)
    with_score = (
        scored.count(sample_field) if sample_field in config.fields else num
    )
    problem = None
    if num != num_samples:
        problem = "scored %d samples and its samples are now %d" % (
            num_samples,
            num,
        )
    elif with_score != num:
        problem = (
            "scored %d samples and %d of its samples now have no image "
            "score" % (num_samples, num - with_score)
        )
    else:
        # every label scoring read was scored, ineligible or invalid
        num_labels = (
            num_instances
            + sum(config.ineligible.values())
            + len(config.invalid)
        )
        now = scored.count(label_list_path(scored, config.label_field))
        if now != num_labels:
            problem = "scored %d labels and its samples now have %d" % (
                num_labels,
                now,
            )
        elif len(measured.table) != num_instances:
            problem = "scored %d labels and %d of them now have its shapes" % (
                num_instances,
                len(measured.table),
            )
    if problem is not None:
        raise TFDPError(
            "TFDP run %r %s since it scored them; run compute_scores again"
            % (run_key, problem)
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
    """Selects the kept samples of a run from its stored shapes.

    See :func:`tfdp.prune_samples`.
    """
    validate_prune_args(None, keep_ratio, prune_ratio, keep, method, tag, seed)
    validate_run_key(run_key)
    dataset = samples._root_dataset
    config = scored_config(dataset, run_key)
    method = method or config.method
    selection_rules.validate_selection(
        selection,
        min_per_class,
        strata,
        hard_cutoff,
        scored=method != "random",
    )
    tag = tag or default_tag(run_key)
    view_name = kept_view_name(run_key)
    views.check_names_are_free(dataset, run_key, config, tag, view_name)

    scored = dataset.load_run_view(run_key)
    label_paths, sample_field = run_fields(scored, run_key, config.label_field)
    measured = stored_table(scored, config.label_field, label_paths)
    check_unchanged(scored, run_key, config, measured, sample_field)
    table = measured.table
    num = len(measured.sample_ids)
    count = scoring.keep_count(
        num, keep_ratio=keep_ratio, prune_ratio=prune_ratio, keep=keep
    )
    order, image_scores = scoring.rank(table, num, method, seed=seed)
    kept, chosen = selection_rules.select_images(
        order,
        image_scores,
        count,
        table.image_index,
        table.category,
        selection=selection,
        min_per_class=min_per_class,
        strata=strata,
        seed=seed,
        hard_cutoff=hard_cutoff,
    )
    kept_ids = [i for i, k in zip(measured.sample_ids, kept) if k]
    report = retention_report(
        table,
        kept,
        lambda name: (name, name),
        method,
        ineligible=config.ineligible,
        invalid=[Problem(**p) for p in config.invalid],
    )
    if chosen:
        report["selection"] = chosen

    with dataset_lock(dataset):
        config = run_config(dataset, run_key)
        views.check_names_are_free(dataset, run_key, config, tag, view_name)
        config.status = PRUNING
        for name in ("keep_ratio", "prune_ratio", "keep", "num_kept"):
            setattr(config, name, None)
        rescored = method != config.method and method != "random"
        if rescored:
            # a random run wrote no scores: their fields may be taken since
            _check_fields_are_free(
                dataset, run_key, list(label_paths) + [sample_field]
            )
            config.fields = sorted(
                set(config.fields) | set(label_paths) | {sample_field}
            )
        save_config(dataset, run_key, config)
        views.remove_kept(dataset, config)
        config.tag = tag
        config.saved_view = view_name
        save_config(dataset, run_key, config)
        if rescored:
            write.declare_fields(
                dataset, write.field_types(label_paths, sample_field)
            )

    if rescored:
        write.write_values(
            dataset,
            measured,
            {label_paths[3]: table.scores(method)},
            sample_field,
            image_scores,
        )

    with dataset_lock(dataset):
        views.tag_kept(dataset, kept_ids, tag)
        views.save_kept_view(
            dataset,
            view_name,
            tag,
            sample_field if method != "random" else None,
            "TFDP run %r: the %d of %d samples kept by %s"
            % (run_key, count, num, method),
        )
        results = dataset.init_run_results(run_key, report=report)
        dataset.save_run_results(run_key, results, overwrite=True)
        config = run_config(dataset, run_key)
        config.status = PRUNED
        config.method = method
        config.keep_ratio = keep_ratio
        config.prune_ratio = prune_ratio
        config.keep = keep
        config.num_kept = count
        config.seed = seed
        config.selection = chosen
        save_config(dataset, run_key, config)

    return dataset.load_saved_view(view_name)


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
    """Scores, prunes, tags and records a run. See :func:`tfdp.apply_tfdp`."""
    # every argument is checked before anything is read or written
    validate_compute_args(
        samples,
        label_field,
        method,
        run_key,
        skip_invalid,
        overwrite,
        num_workers,
        scheduler,
    )
    # the samples scored are the samples pruned: a number to keep beyond
    # them fails now, not after scoring
    validate_prune_args(
        None if keep is None else len(samples),
        keep_ratio,
        prune_ratio,
        keep,
        None,
        tag,
        seed,
    )
    selection_rules.validate_selection(
        selection,
        min_per_class,
        strata,
        hard_cutoff,
        scored=method != "random",
    )
    dataset = samples._root_dataset
    old = (
        run_config(dataset, run_key)
        if (run_key in dataset.list_runs() and is_tfdp_run(dataset, run_key))
        else None
    )
    views.check_names_are_free(
        dataset,
        run_key,
        old,
        tag or default_tag(run_key),
        kept_view_name(run_key),
    )
    compute_scores(
        samples,
        label_field,
        method=method,
        run_key=run_key,
        skip_invalid=skip_invalid,
        overwrite=overwrite,
        num_workers=num_workers,
        scheduler=scheduler,
        progress=progress,
    )
    return prune_samples(
        samples,
        run_key=run_key,
        keep_ratio=keep_ratio,
        prune_ratio=prune_ratio,
        keep=keep,
        tag=tag,
        seed=seed,
        selection=selection,
        min_per_class=min_per_class,
        strata=strata,
        hard_cutoff=hard_cutoff,
    )


# ---------------------------------------------------------------------------
# Reading and deleting


def load_kept_view(samples, run_key="tfdp"):
    """The saved view of a run's kept samples. See
    :func:`tfdp.load_kept_view`."""
    dataset = samples._root_dataset
    config = run_config(dataset, run_key)
    status = config.status
    name = config.saved_view
    if status != PRUNED or not name or not dataset.has_saved_view(name):
        raise TFDPError(
            "TFDP run %r of dataset %r has no kept samples%s; prune it"
            % (
                run_key,
                dataset.name,
                " (its last pruning did not finish)"
                if status == PRUNING
                else " yet",
            )
        )
    return dataset.load_saved_view(name)


def get_run_info(samples, run_key="tfdp"):
    """A run's record and retention report. See :func:`tfdp.get_run_info`."""
    dataset = samples._root_dataset
    config = run_config(dataset, run_key)
    info = dataset.get_run_info(run_key)
    status = config.status
    out = {
        "run_key": run_key,
        "timestamp": str(info.timestamp),
        "status": status,
        "finished": status not in UNFINISHED,
        "config": {
            k: v
            for k, v in config.serialize().items()
            if k not in ("cls", "type")
        },
    }
    out["config"]["method"] = config.method
    report = None
    if status == PRUNED:
        try:
            results = dataset.load_run_results(run_key, cache=False)
        except Exception:
            results = None
        report = getattr(results, "report", None)
    out["report"] = report
    return out


def delete_run(samples, run_key="tfdp"):
    """Deletes a run and all it created. See :func:`tfdp.delete_run`."""
    dataset = samples._root_dataset
    run_config(dataset, run_key)
    with dataset_lock(dataset):
        config = run_config(dataset, run_key)
        _delete_outputs(dataset, config)
        dataset.delete_run(run_key)
