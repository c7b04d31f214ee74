"""The in-process engine: one thread, or a few for large objects."""

import concurrent.futures
import contextlib
import threading

import cv2

from tfdp.engine.base import Engine


class LocalEngine(Engine):
    """Runs tasks in this process.

    With one thread (the baseline of every speed-up), tasks run one after
    the other. With more, they run on a thread pool: OpenCV releases the GIL
    while it fills and traces large masks, so threads pay for large objects
    (and only for them) without starting any process.

    Args:
        threads (1): how many tasks run at once
    """

    name = "local"

    def __init__(self, threads=1):
        self.workers = max(1, int(threads))

    def map(self, function, tasks, weights=None, progress=None):
        with opencv_single_threaded():
            return self._map(function, tasks, weights, progress)

    def _map(self, function, tasks, weights, progress):
        if weights is None:
            tasks = list(tasks)
            weights = [1] * len(tasks)
        else:
            weights = list(weights)
        total = sum(weights)
        done = 0
        if progress is not None:
            progress(0, total)
        results = []
        if self.workers == 1 or len(weights) < 2:
            outputs = map(function, tasks)
            pool = None
        else:
            # the pool takes each task as this thread makes it (a chunk is
            # packed while the threads measure the ones before)
            pool = concurrent.futures.ThreadPoolExecutor(self.workers)
            outputs = pool.map(function, tasks)
        try:
            for result, weight in zip(outputs, weights):
                results.append(result)
                done += weight
                if progress is not None:
                    progress(done, total)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return results

    def apply(self, function, handles, arguments=None):
        if arguments is None:
            arguments = [()] * len(handles)
        return [function(r, *a) for r, a in zip(handles, arguments)]

    def results(self, handles, batch=1):
        return iter(handles)


#: Runs of :func:`opencv_single_threaded` under way in this process, and
#: OpenCV's thread count from before the first of them
_single_threaded = {"runs": 0, "previous": None}
_single_threaded_lock = threading.Lock()


@contextlib.contextmanager
def opencv_single_threaded():
    """OpenCV on the calling thread only, for the time of a run.

    OpenCV spreads some calls over a pool of its own threads; the engines
    are the only parallelism, so that one thread means one core.

    The setting is the process's: runs that overlap in threads (tasks on a
    ``dask worker`` of several threads) share it, the first sets it and
    the last puts back what the first found, so that the process is left
    as it was.
    """
    with _single_threaded_lock:
        if not _single_threaded["runs"]:
            _single_threaded["previous"] = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _single_threaded["runs"] += 1
    try:
        yield
    finally:
        with _single_threaded_lock:
            _single_threaded["runs"] -= 1
            if not _single_threaded["runs"]:
                cv2.setNumThreads(_single_threaded["previous"])
