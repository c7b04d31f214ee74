"""Tasks for the engine tests, in a module that Dask workers can import
(without the tests' conftest)."""

import time


def fail_after(task):
    """Sleeps, then fails with a message naming the task."""
    index, seconds = task
    time.sleep(seconds)
    raise ValueError("task %d failed" % index)
