"""Form inputs and progress reporting shared by the TFDP operators."""

import json
import os
import queue
import re
import threading

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone.operators.constants import ViewTarget

import tfdp
from tfdp import scoring, selection
from tfdp.engine import SCHEDULER_ENV, default_workers
from tfdp.fo_adapter.fields import compatible_label_fields, validate_run_key

#: Seconds the App is given to take in a change of the view it shows, or
#: of the dataset's saved views, before the next step relies on it
SAVED_VIEW_WAIT = 1.5

METHOD_LABELS = {
    "cb-scs": "CB-SCS (class-balanced, the paper's method)",
    "si-scs": "SI-SCS (scale-invariant)",
    "scs": "SCS (perimeter / area)",
    "random": "Random (baseline)",
}

AMOUNT_LABELS = {
    "keep_ratio": "Keep a fraction",
    "prune_ratio": "Remove a fraction",
    "keep": "Keep a number of samples",
}

#: The default fraction of samples to keep
DEFAULT_KEEP_RATIO = 0.7


def heavy_operator_config(
    name, label, description, delegated_by_default=False
):
    """The config of an operator that reads or writes a whole collection:
    a dynamic form, progress as a generator, immediate or delegated
    (the form's default choice if ``delegated_by_default``)."""
    return foo.OperatorConfig(
        name=name,
        label=label,
        description=description,
        dynamic=True,
        execute_as_generator=True,
        allow_immediate_execution=True,
        allow_delegated_execution=True,
        default_choice_to_delegated=delegated_by_default,
    )


def call_operator(operator, sample_collection, params, delegate=False):
    """Runs an operator from Python on a collection, as its ``__call__``:
    the collection passed is the target, whatever the form's default."""
    return foo.execute_operator(
        operator.uri,
        dict(
            view=sample_collection.view(), view_target=ViewTarget.CURRENT_VIEW
        ),
        params=params,
        request_delegation=delegate,
    )


def tfdp_runs(ctx):
    """The TFDP run keys of the current dataset, oldest first."""
    if ctx.dataset is None:
        return []
    return tfdp.list_runs(ctx.dataset)


def current_view_run(ctx, runs=None):
    """The TFDP run whose samples the App shows, if any: the run whose kept
    view is loaded, else the newest run whose tag or score field the view's
    stages use (its kept samples, or its pruned-away samples).

    Args:
        ctx: the execution context
        runs (None): the dataset's TFDP runs, if known

    Returns:
        a run key, or None
    """
    if ctx.dataset is None:
        return None
    runs = tfdp_runs(ctx) if runs is None else runs
    if not runs:
        return None
    configs = {key: ctx.dataset.get_run_info(key).config for key in runs}

    # the request's view, as the App or execute_operator() sends it: a
    # loaded saved view by name, else its stages
    view_name = ctx.request_params.get("view_name")
    stages = ctx.request_params.get("view")
    if view_name:
        for key, config in configs.items():
            if getattr(config, "saved_view", None) == view_name:
                return key
    if not stages:
        return None

    text = json.dumps(stages)
    for key in reversed(runs):  # newest first
        tag = getattr(configs[key], "tag", None)
        if tag and json.dumps(tag) in text:
            return key
        if re.search(r"(?<![A-Za-z0-9_])%s_score\b" % re.escape(key), text):
            return key
    return None


def default_run_key(ctx, runs=None):
    """The run a form or the panel starts from: the run of the current view
    when there is one, else the most recent run.

    Returns:
        a run key, or None when the dataset has no TFDP run
    """
    runs = tfdp_runs(ctx) if runs is None else runs
    if not runs:
        return None
    return current_view_run(ctx, runs) or runs[-1]


def new_run_key_input(ctx, inputs, default="tfdp", warn=True):
    """A run key for a new run: invalid keys are errors, keys of existing
    TFDP runs a warning that what they made will be replaced.

    Args:
        ctx: the execution context
        inputs: the form
        default ("tfdp"): the key offered first
        warn (True): whether to warn of an existing run here; False when
            the caller knows better what would be replaced

    Returns:
        the key, or None when it is missing or invalid
    """
    # absent: the form's first rendering; present but empty: cleared
    run_key = ctx.params.get("run_key", default)
    error = None
    if not run_key:
        error = "enter a run key"
    else:
        try:
            validate_run_key(run_key)
        except ValueError as e:
            error = str(e)
    if (
        error is None
        and run_key in ctx.dataset.list_runs()
        and (run_key not in tfdp_runs(ctx))
    ):
        error = "run key %r is taken by another kind of run" % run_key

    inputs.str(
        "run_key",
        label="Run key",
        description="Names the run, its fields (<key>_score, ...), its tag "
        "and its saved view",
        default=default,
        # emptiness is this form's own error, so that one message shows
        required=False,
        invalid=error is not None,
        error_message=error or "",
    )
    if warn and error is None and run_key in tfdp_runs(ctx):
        overwrite_warning(
            inputs,
            run_key,
            run_outputs(ctx.dataset.get_run_info(run_key).config),
        )
    return None if error else run_key


def overwrite_warning(inputs, run_key, replaced):
    """Warns that an existing run's outputs will be replaced.

    Args:
        inputs: the form
        run_key: the run
        replaced: what will be replaced, a phrase of :func:`run_outputs`
    """
    inputs.view(
        "overwrite_warning",
        types.Warning(
            label="Run %r exists: its %s will be replaced"
            % (run_key, replaced)
        ),
    )


def existing_run_key_input(ctx, inputs, description):
    """A choice among the dataset's TFDP runs.

    Returns:
        the chosen key, or None when there is none
    """
    runs = tfdp_runs(ctx)
    if not runs:
        unavailable(
            inputs,
            "run_key",
            "no TFDP run",
            "This dataset has no TFDP run; run 'TFDP: compute scores' or "
            "'TFDP: prune' first",
        )
        return None

    default = default_run_key(ctx, runs)
    choices = types.Dropdown(label="Run", description=description)
    for key in reversed(runs):  # newest first
        choices.add_choice(key, label=key)
    inputs.enum(
        "run_key",
        choices.values(),
        default=default,
        required=True,
        view=choices,
    )
    run_key = ctx.params.get("run_key") or default
    return run_key if run_key in runs else None


def replace_input(ctx, inputs, label, warning, error):
    """A *Replace* box for something that exists; until it is ticked, a
    warning and a hidden invalid input keep the form from executing.

    Args:
        ctx: the execution context
        inputs: the form's :class:`fiftyone.operators.types.Object`
        label: the box's label
        warning: what the warning says
        error: the hidden input's error
    """
    inputs.bool("overwrite", default=False, label=label)
    if not ctx.params.get("overwrite", False):
        inputs.view("exists", types.Warning(label=warning))
        inputs.str(
            "exists_guard",
            invalid=True,
            required=True,
            view=types.HiddenView(),
            error_message=error,
        )


def unavailable(inputs, name, reason, message):
    """Shows an error in the form and blocks execution."""
    inputs.view("no_" + name, types.Error(label=message))
    inputs.str(
        name,
        invalid=True,
        required=True,
        view=types.HiddenView(),
        error_message=reason,
    )


def label_field_input(ctx, inputs, target):
    """A choice among the target's fields that TFDP can score.

    Returns:
        the chosen field, or None when there is none
    """
    fields = compatible_label_fields(target)
    if not fields:
        unavailable(
            inputs,
            "label_field",
            "no compatible field",
            "No compatible label field: TFDP scores Detections with "
            "instance masks or filled Polylines",
        )
        return None

    choices = types.Dropdown(
        label="Label field",
        description="Detections with instance masks, or filled Polylines "
        "(paper-exact)",
    )
    for field in fields:
        choices.add_choice(field, label=field)
    inputs.enum(
        "label_field",
        choices.values(),
        default=fields[0],
        required=True,
        view=choices,
    )
    field = ctx.params.get("label_field") or fields[0]
    return field if field in fields else None


def method_input(ctx, inputs, default="cb-scs", label="Method"):
    """A choice of ranking method (``default`` when not given)."""
    choices = types.Dropdown(label=label)
    for method in scoring.METHODS:
        choices.add_choice(method, label=METHOD_LABELS[method])
    inputs.enum("method", choices.values(), default=default, view=choices)
    return ctx.params.get("method") or default


def workers_input(ctx, inputs):
    """How many worker processes measure the masks.

    Returns:
        the number, or None when the value is invalid
    """
    value = ctx.params.get("num_workers", 1)
    error = None
    if value is None or value == "":
        error = "enter the number of worker processes"
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        error = "enter a number"
    elif int(value) != value or value < 1:
        error = "enter a whole number of at least 1"
    inputs.int(
        "num_workers",
        default=1,
        required=False,
        min=1,
        label="Worker processes",
        description="More than 1 measures on a local Dask cluster of that "
        "many processes, which takes a few seconds to start: it pays on "
        "large datasets (this machine has %d cores). A scheduled run uses "
        "the Dask cluster in %s instead, when the process that runs it has "
        "that variable set" % (default_workers(), SCHEDULER_ENV),
        invalid=error is not None,
        error_message=error or "",
    )
    return None if error is not None else int(value)


def workers_from_params(ctx):
    """The ``num_workers`` and ``scheduler`` kwargs of a scoring request:
    delegated, the cluster in ``TFDP_SCHEDULER`` when it is set."""
    scheduler = os.environ.get(SCHEDULER_ENV) if ctx.delegated else None
    num_workers = ctx.params.get("num_workers")
    if num_workers in (None, ""):
        num_workers = 1
    elif isinstance(num_workers, float) and num_workers.is_integer():
        num_workers = int(num_workers)  # a JSON number from the form
    # anything else is refused by compute_scores, in its words
    return dict(num_workers=num_workers, scheduler=scheduler or None)


TARGET_NAMES = {
    ViewTarget.DATASET: "the dataset",
    ViewTarget.CURRENT_VIEW: "the current view",
    ViewTarget.SELECTED_SAMPLES: "the selected samples",
}


def target_samples(ctx):
    """The samples an operator scores: the dataset unless the request
    chooses the current view or the selected samples."""
    if ctx.request_params.get("view_target") is None:
        # the form's default, also when a request names no target
        ctx.request_params["view_target"] = ViewTarget.DATASET
    return ctx.target_view()


def target_input(ctx, inputs):
    """The samples to score, chosen explicitly: the dataset (the default),
    the current view or the selected samples; and what CB-SCS class totals
    are taken over.

    Returns:
        the target collection
    """
    inputs.view_target(
        ctx,
        default_target=ViewTarget.DATASET,
        action_description="Score",
        dataset_description="All %d samples" % len(ctx.dataset),
        current_view_description="The %d samples shown in the grid"
        % len(ctx.view),
        selected_samples_description="The %d selected samples"
        % len(ctx.selected or []),
    )
    target = target_samples(ctx)
    name = TARGET_NAMES.get(ctx.request_params["view_target"], "the target")
    inputs.view(
        "target_summary",
        types.Notice(
            label="Scores the %d samples of %s. CB-SCS class totals are "
            "taken over these samples only" % (len(target), name)
        ),
    )
    return target


def amount_input(ctx, inputs, num_samples):
    """How many samples to keep: a fraction to keep, a fraction to remove or
    a number of samples, each its own field with its own default, validated
    in the form's words.

    Returns:
        a dict with one of ``keep_ratio``, ``prune_ratio`` and ``keep``, or
        None when the value is invalid
    """
    choices = types.RadioGroup(orientation="horizontal")
    for kind, label in AMOUNT_LABELS.items():
        choices.add_choice(kind, label=label)
    inputs.enum(
        "amount",
        choices.values(),
        default="keep_ratio",
        required=True,
        label="How many samples to keep",
        view=choices,
    )
    kind = ctx.params.get("amount") or "keep_ratio"
    if kind not in AMOUNT_LABELS:
        kind = "keep_ratio"
    defaults = amount_defaults(num_samples)
    value = ctx.params.get(kind, defaults[kind])
    count, error = _count_or_error(kind, value, num_samples)

    kwargs = dict(
        default=defaults[kind],
        # emptiness is this form's own error, so that one message shows
        required=False,
        invalid=error is not None,
        error_message=error or "",
    )
    if kind == "keep":
        inputs.int(
            "keep",
            label="Samples to keep",
            description="Of the %d samples" % num_samples,
            min=1,
            max=num_samples,
            **kwargs,
        )
    elif kind == "keep_ratio":
        inputs.float(
            "keep_ratio",
            label="Fraction to keep",
            description="0.7 keeps 70 % of the samples",
            min=0.0,
            max=1.0,
            **kwargs,
        )
    else:
        inputs.float(
            "prune_ratio",
            label="Fraction to remove",
            description="0.3 removes 30 % of the samples",
            min=0.0,
            max=1.0,
            **kwargs,
        )
    if error is not None:
        return None

    inputs.view(
        "amount_summary",
        types.Notice(label="Keeps %d of %d samples" % (count, num_samples)),
    )
    return {kind: value}


def amount_defaults(num_samples):
    """The default of each kind of amount, all keeping 70 %."""
    return {
        "keep_ratio": DEFAULT_KEEP_RATIO,
        "prune_ratio": round(1 - DEFAULT_KEEP_RATIO, 2),
        "keep": max(
            1, scoring.keep_count(num_samples, keep_ratio=DEFAULT_KEEP_RATIO)
        ),
    }


def _count_or_error(kind, value, num_samples):
    # the number of samples kept, or what is wrong, in the form's words
    if value is None or value == "":
        return None, {
            "keep_ratio": "enter the fraction of samples to keep",
            "prune_ratio": "enter the fraction of samples to remove",
            "keep": "enter the number of samples to keep",
        }[kind]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, "enter a number"
    if kind == "keep":
        if int(value) != value:
            return None, "enter a whole number"
        if value < 1:
            return None, "keep at least 1 sample"
        if value > num_samples:
            return None, "%d exceeds the %d samples" % (value, num_samples)
        return int(value), None
    if not 0 <= value <= 1:
        return None, "enter a fraction between 0 and 1"
    try:
        return scoring.keep_count(num_samples, **{kind: value}), None
    except ValueError as e:  # keeps nothing: the message Python gives
        return None, str(e)


def amount_from_params(params):
    """The ``keep_ratio`` / ``prune_ratio`` / ``keep`` kwargs of a request."""
    kind = params.get("amount") or "keep_ratio"
    if kind not in AMOUNT_LABELS:
        raise ValueError("unknown amount %r" % kind)
    value = params.get(kind)
    if value is None and kind == "keep_ratio":
        value = DEFAULT_KEEP_RATIO
    return {kind: value}


def run_with_progress(ctx, label, work):
    """Runs ``work(progress)`` and reports its progress.

    Delegated, progress goes to ``ctx.set_progress``; run immediately, the
    work runs in a thread while this generator yields ``set_progress``
    triggers to the App. Use it as ``result = yield from
    run_with_progress(...)``.

    Args:
        ctx: the execution context
        label: what is being done
        work: a callable taking a ``progress`` argument, FiftyOne's callable
            kind: it receives a :class:`fiftyone.core.utils.ProgressBar`

    Returns:
        what ``work`` returns
    """

    def update(bar):
        total = bar.total or bar.iteration
        return dict(
            progress=bar.iteration / total if total else 1.0,
            label="%s %d/%d" % (label, bar.iteration, total),
        )

    if ctx.delegated:
        return work(lambda bar: ctx.set_progress(**update(bar)))

    updates = queue.Queue()
    outcome = {}

    def target():
        try:
            outcome["result"] = work(lambda bar: updates.put(update(bar)))
        except BaseException as e:  # re-raised in the operator's thread
            outcome["error"] = e
        finally:
            updates.put(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    while True:
        params = updates.get()
        if params is None:
            break
        yield ctx.trigger("set_progress", params)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def finish(ctx, message):
    """Tells the user in one line what an operation did: a notification in
    the App and, delegated, the operation's last progress label, which the
    App's list of runs shows.

    Returns:
        the notification trigger, to ``yield`` from a generator
    """
    if ctx.delegated:
        ctx.set_progress(progress=1.0, label=message)
    return ctx.ops.notify(message, variant="success")


def run_outputs(config):
    """What a run made that exists: its fields, tag and saved view, as a
    phrase such as ``"fields a, b and saved view 'v'"``."""
    parts = []
    fields = list(getattr(config, "fields", None) or [])
    if fields:
        parts.append(
            "field%s %s" % ("s" if len(fields) > 1 else "", ", ".join(fields))
        )
    if getattr(config, "tag", None):
        parts.append("tag %r" % config.tag)
    if getattr(config, "saved_view", None):
        parts.append("saved view %r" % config.saved_view)
    if not parts:
        return "its record only"
    return (
        ", ".join(parts[:-1])
        + (" and " if len(parts) > 1 else "")
        + (parts[-1])
    )


def pruning_replaces(config, rescore=False, method=None):
    """What pruning an existing run replaces, as a phrase, or None.

    Args:
        config: the run's config
        rescore (False): whether the run is scored again first, which
            replaces all it made
        method (None): the ranking method, the run's by default: another
            (but "random") rewrites the stored scores

    Returns:
        a phrase such as ``"tag 'tfdp:keep' and saved view 'tfdp-kept'"``,
        or None when nothing exists to replace
    """
    if rescore:
        return run_outputs(config)
    parts = []
    if getattr(config, "tag", None):
        parts.append("tag %r" % config.tag)
    if getattr(config, "saved_view", None):
        parts.append("saved view %r" % config.saved_view)
    if method not in (None, config.method, "random"):
        parts.append(
            "stored scores (%s, rewritten by %s)" % (config.method, method)
        )
    if not parts:
        return None
    return (
        ", ".join(parts[:-1])
        + (" and " if len(parts) > 1 else "")
        + (parts[-1])
    )


SELECTION_LABELS = {
    "top": "The highest scores",
    "stratified": "Stratified (coverage-centric)",
}


def selection_input(ctx, inputs, scored=True):
    """How to choose the kept samples within the budget: the highest
    scores, with an optional guarantee per class, or coverage-centric
    strata; validated in the form's words.

    Args:
        ctx: the execution context
        inputs: the form
        scored (True): whether the method gives scores (not "random")

    Returns:
        the ``selection`` kwargs of :func:`tfdp.prune_samples`, or None
        when the choices are invalid
    """
    choices = types.RadioGroup(orientation="horizontal")
    for name, label in SELECTION_LABELS.items():
        choices.add_choice(name, label=label)
    inputs.enum(
        "selection",
        choices.values(),
        default="top",
        label="How to choose",
        view=choices,
    )
    kwargs = selection_from_params(ctx.params)
    if kwargs["selection"] == "top":
        inputs.int(
            "min_per_class",
            default=0,
            min=0,
            label="Keep at least this many samples per class",
            description="0: no guarantee. Each class keeps at least this "
            "many of its samples (all of them when it has fewer); the "
            "number kept stays as asked",
        )
    else:
        inputs.int("strata", default=50, min=1, label="Strata")
        inputs.float(
            "hard_cutoff",
            default=0.0,
            min=0.0,
            max=1.0,
            label="Hard cutoff",
            description="The fraction of highest-scoring samples removed "
            "first",
        )
        inputs.int("seed", default=0, min=0, label="Seed")
    try:
        selection.validate_selection(scored=scored, **kwargs)
    except ValueError as e:
        inputs.view("selection_error", types.Error(label=str(e)))
        return None
    return kwargs


def selection_from_params(params):
    """The selection kwargs of :func:`tfdp.prune_samples` from a form."""
    kind = params.get("selection") or "top"
    if kind == "top":
        return dict(
            selection=kind, min_per_class=params.get("min_per_class") or None
        )
    return dict(
        selection=kind,
        strata=params.get("strata", 50),
        hard_cutoff=params.get("hard_cutoff", 0.0),
    )
