"""FiftyOne's ``progress`` argument for the work tfdp counts itself.

The public functions take ``progress`` as FiftyOne's own functions do: None
follows ``fo.config.show_progress_bars``, True or False forces a bar or none,
and a callable receives a :class:`fiftyone.core.utils.ProgressBar` at each
update. Work that FiftyOne does (adding samples, exporting) gets the argument
as is; work that tfdp counts goes through :func:`progress_updates`.
"""

import fiftyone.core.utils as fou


def progress_updates(progress, label):
    """A callable ``update(done, total)`` reporting to a FiftyOne
    ``progress`` argument.

    Args:
        progress: None, a bool, or a callable receiving a
            :class:`fiftyone.core.utils.ProgressBar`
        label: what is counted, shown before the bar

    Returns:
        a callable ``update(done, total)``; the bar starts at the first
        update and closes when ``done`` reaches ``total``
    """
    state = {}

    def update(done, total):
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = fou.ProgressBar(
                total=total, progress=progress, start_msg=label + " "
            )
            bar.start()
        elif bar.is_finalized:
            return
        bar.set_iteration(done)
        if done >= total:
            bar.close()

    return update
