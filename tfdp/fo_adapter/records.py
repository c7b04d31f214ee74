"""The records of TFDP runs: which runs of a dataset are TFDP's, their
configs and how far each got.

A run's config is recorded by FiftyOne's run machinery, before the run
writes anything (see :mod:`tfdp.fo_adapter.runs`). Its ``status`` says how
far it got: ``"scoring"`` and ``"pruning"`` are unfinished, ``"scored"``
and ``"pruned"`` finished.

- :func:`list_tfdp_runs`, :func:`is_tfdp_run`: which runs are TFDP's
- :func:`run_config`, :func:`scored_config`: a run's config
- :func:`save_config`: records a changed config
"""

from tfdp.errors import TFDPError

SCORING, SCORED, PRUNING, PRUNED = "scoring", "scored", "pruning", "pruned"
UNFINISHED = (SCORING, PRUNING)


def list_tfdp_runs(samples):
    """The keys of the TFDP runs of a collection's dataset, oldest first."""
    dataset = samples._root_dataset
    keys = [k for k in dataset.list_runs() if is_tfdp_run(dataset, k)]
    return sorted(keys, key=lambda k: dataset.get_run_info(k).timestamp)


def is_tfdp_run(dataset, run_key):
    """Whether a run of a dataset is a TFDP run (its config records the
    version of tfdp; other kinds of runs have no such attribute)."""
    try:
        config = dataset.get_run_info(run_key).config
    except Exception:
        return False
    return getattr(config, "tfdp_version", None) is not None


def run_config(dataset, run_key):
    """The config of a TFDP run.

    Raises:
        TFDPError: if the dataset has no such TFDP run
    """
    if run_key not in dataset.list_runs():
        raise TFDPError(
            "dataset %r has no run %r; its TFDP runs: %s"
            % (
                dataset.name,
                run_key,
                ", ".join(list_tfdp_runs(dataset)) or "none",
            )
        )
    if not is_tfdp_run(dataset, run_key):
        raise TFDPError(
            "run %r of dataset %r is not a TFDP run" % (run_key, dataset.name)
        )
    return dataset.get_run_info(run_key).config


def scored_config(dataset, run_key):
    """The config of a TFDP run whose scores are complete.

    Raises:
        TFDPError: if there is no such run or its scoring did not finish
    """
    config = run_config(dataset, run_key)
    if config.status == SCORING:
        raise TFDPError(
            "TFDP run %r of dataset %r did not finish scoring; run "
            "compute_scores again or delete the run" % (run_key, dataset.name)
        )
    return config


def save_config(dataset, run_key, config):
    """Records a run's changed config."""
    dataset.update_run_config(run_key, config)
