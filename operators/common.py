"""Form inputs and progress reporting shared by the TFDP operators."""

import queue
import threading

import fiftyone.operators as foo
import fiftyone.operators.types as types

import tfdp
from tfdp import scoring
from tfdp.fo_adapter.fields import compatible_label_fields, validate_run_key

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


def heavy_operator_config(name, label, description):
    """The config of an operator that reads or writes a whole collection:
    a dynamic form, progress as a generator, immediate or delegated."""
    return foo.OperatorConfig(
        name=name,
        label=label,
        description=description,
        dynamic=True,
        execute_as_generator=True,
        allow_immediate_execution=True,
        allow_delegated_execution=True,
    )


def call_operator(operator, sample_collection, params, delegate=False):
    """Runs an operator from Python on a collection, as its ``__call__``."""
    return foo.execute_operator(
        operator.uri,
        dict(view=sample_collection.view()),
        params=params,
        request_delegation=delegate,
    )


def tfdp_runs(ctx):
    """The TFDP run keys of the current dataset."""
    if ctx.dataset is None:
        return []
    return tfdp.list_runs(ctx.dataset)


def new_run_key_input(ctx, inputs):
    """A run key for a new run: invalid keys are errors, keys of existing
    TFDP runs a warning that they will be replaced.

    Returns:
        the key, or None when it is invalid
    """
    run_key = ctx.params.get("run_key") or "tfdp"
    try:
        validate_run_key(run_key)
        error = None
    except ValueError as e:
        error = str(e)

    taken = run_key in ctx.dataset.list_runs() and run_key not in tfdp_runs(ctx)
    if taken:
        error = "run key %r is taken by another kind of run" % run_key

    inputs.str(
        "run_key",
        label="Run key",
        description="Names the run, its fields (<key>_score, ...), its tag "
        "and its saved view",
        default="tfdp",
        required=True,
        invalid=error is not None,
        error_message=error or "",
    )
    if error is None and run_key in tfdp_runs(ctx):
        inputs.view(
            "overwrite_warning",
            types.Warning(
                label="Run %r exists: its fields, tag and saved view will be "
                "replaced" % run_key
            ),
        )
    return None if error else run_key


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

    choices = types.Dropdown(label="Run", description=description)
    for key in runs:
        choices.add_choice(key, label=key)
    inputs.enum(
        "run_key",
        choices.values(),
        default=runs[0],
        required=True,
        view=choices,
    )
    run_key = ctx.params.get("run_key") or runs[0]
    return run_key if run_key in runs else None


def unavailable(inputs, name, reason, message):
    """Shows an error in the form and blocks execution."""
    inputs.view("no_" + name, types.Error(label=message))
    inputs.str(name, invalid=True, required=True, view=types.HiddenView(),
               error_message=reason)


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


def amount_input(ctx, inputs, num_samples):
    """How many samples to keep: a fraction to keep or remove, or a count,
    validated in the form.

    Returns:
        a dict with one of ``keep_ratio``, ``prune_ratio`` and ``keep``, or
        None when the value is invalid
    """
    choices = types.RadioGroup(orientation="horizontal")
    for kind, label in AMOUNT_LABELS.items():
        choices.add_choice(kind, label=label)
    inputs.enum(
        "amount", choices.values(), default="keep_ratio", required=True,
        view=choices,
    )
    kind = ctx.params.get("amount") or "keep_ratio"
    default = 0.7 if kind == "keep_ratio" else 0.3
    if kind == "keep":
        default = max(1, round(0.7 * num_samples))
    value = ctx.params.get("value", default)

    error = None
    try:
        count = scoring.keep_count(num_samples, **{kind: value})
    except (ValueError, TypeError) as e:
        error = str(e)

    kwargs = dict(
        default=default,
        required=True,
        invalid=error is not None,
        error_message=error or "",
    )
    if kind == "keep":
        inputs.int("value", label="Samples to keep", min=0, **kwargs)
    else:
        inputs.float(
            "value",
            label="Fraction to %s" % ("keep" if kind == "keep_ratio"
                                      else "remove"),
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


def amount_from_params(params):
    """The ``keep_ratio`` / ``prune_ratio`` / ``keep`` kwargs of a request."""
    kind = params.get("amount") or "keep_ratio"
    if kind not in AMOUNT_LABELS:
        raise ValueError("unknown amount %r" % kind)
    value = params.get("value", 0.7 if kind == "keep_ratio" else None)
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
        work: a callable taking a ``progress(done, total)`` callable

    Returns:
        what ``work`` returns
    """
    if ctx.delegated:

        def progress(done, total):
            ctx.set_progress(
                progress=done / total if total else 1.0,
                label="%s %d/%d" % (label, done, total),
            )

        return work(progress)

    updates = queue.Queue()
    outcome = {}

    def target():
        try:
            outcome["result"] = work(
                lambda done, total: updates.put((done, total))
            )
        except BaseException as e:  # re-raised in the operator's thread
            outcome["error"] = e
        finally:
            updates.put(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    while True:
        update = updates.get()
        if update is None:
            break
        done, total = update
        yield ctx.trigger(
            "set_progress",
            dict(
                progress=done / total if total else 1.0,
                label="%s %d/%d" % (label, done, total),
            ),
        )
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
