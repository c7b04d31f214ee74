"""The tag and saved view of a run's kept samples.

Tags and saved view names can belong to the user or to another run: a run
takes only names that nobody else holds, and removes only what its record
lists.

- :func:`check_names_are_free`: before a run takes a tag and a view name
- :func:`tag_kept`, :func:`save_kept_view`: marking the kept samples
- :func:`remove_kept`: removing what a run's record lists
"""

from tfdp.errors import TFDPError
from tfdp.fo_adapter.fields import default_tag
from tfdp.fo_adapter.records import list_tfdp_runs, run_config


def check_names_are_free(dataset, run_key, config, tag, view_name):
    """Checks that a run may use a tag and a saved view name.

    Args:
        dataset: a :class:`fiftyone.core.dataset.Dataset`
        run_key: the run
        config: the run's current config, or None for a new run
        tag: the tag of its kept samples
        view_name: the name of its saved view

    Raises:
        TFDPError: if the tag or view belongs to the user or another run
    """
    ours_tag = config.tag if config is not None else None
    ours_view = config.saved_view if config is not None else None
    for other in list_tfdp_runs(dataset):
        if other == run_key:
            continue
        if run_config(dataset, other).tag == tag:
            raise TFDPError(
                "the tag %r belongs to TFDP run %r of dataset %r; choose "
                "another tag, e.g. %r"
                % (tag, other, dataset.name, default_tag(run_key))
            )
    if tag != ours_tag:
        count = len(dataset.match_tags(tag))
        if count:
            suggestion = (
                "choose another run_key"
                if tag == default_tag(run_key)
                else "choose another tag, e.g. %r" % default_tag(run_key)
            )
            raise TFDPError(
                "%d samples of dataset %r already carry the tag %r, which "
                "TFDP run %r did not give; %s"
                % (count, dataset.name, tag, run_key, suggestion)
            )
    if view_name != ours_view and dataset.has_saved_view(view_name):
        raise TFDPError(
            "dataset %r has a saved view %r that TFDP run %r did not save; "
            "rename that view or choose another run_key"
            % (dataset.name, view_name, run_key)
        )


def remove_kept(dataset, config):
    """Removes the tag and saved view that a run's record lists."""
    if config.tag:
        dataset.untag_samples(config.tag)
    name = config.saved_view
    if name and dataset.has_saved_view(name):
        dataset.delete_saved_view(name)


def tag_kept(dataset, sample_ids, tag):
    """Tags the kept samples."""
    dataset.select(sample_ids).tag_samples(tag)


def save_kept_view(dataset, name, tag, sort_field, description):
    """Saves the view of the samples with a tag, highest score first when
    ``sort_field`` is given."""
    view = dataset.match_tags(tag)
    if sort_field is not None:
        view = view.sort_by(sort_field, reverse=True)
    dataset.save_view(name, view, description=description, overwrite=True)
