"""The Dask engine: a local cluster of worker processes, or any cluster.

With a worker count, the engine starts a ``distributed.LocalCluster`` of
that many single-threaded worker processes for the run and shuts it down at
the end (also on Ctrl-C or an error). With a scheduler address, it attaches
to a cluster that is already running (``dask scheduler`` plus ``dask
worker``, dask-jobqueue on SLURM or PBS, Kubernetes, ...) and leaves it
running. The tasks are the same either way.

Every task's input travels inside the task itself (never scattered), so
when a worker dies the scheduler can recompute whatever it held, on
another worker, from the task alone.
"""

import contextlib
import logging
import multiprocessing.resource_tracker
import os
import signal
import sys

import dask
from distributed import (
    Client,
    LocalCluster,
    WorkerPlugin,
    as_completed,
)
from distributed.client import FutureCancelledError
from distributed.comm import CommClosedError

from tfdp import signals
from tfdp.engine import Engine, keep_masks_in_heap
from tfdp.errors import TFDPError

try:
    from distributed import KilledWorker
except ImportError:  # older distributed
    from distributed.scheduler import KilledWorker

#: Seconds to wait for a scheduler to answer
CONNECT_TIMEOUT = 20


class MallocTuning(WorkerPlugin):
    """Workers serve mask-sized buffers from glibc's heap, as the command
    does (:func:`tfdp.engine.keep_masks_in_heap`).

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_`` set, which
    also turns off glibc's adaptive mmap threshold: every buffer over 128
    KiB (a crop of a large mask) is then mapped and unmapped, page by page,
    and measuring hi-res masks runs 3x slower. There, only the mmap
    threshold is raised, which keeps the trimming Dask wants.
    """

    name = "tfdp-malloc-tuning"

    def setup(self, worker):
        keep_masks_in_heap(trim="MALLOC_TRIM_THRESHOLD_" not in os.environ)


class SingleThreaded(WorkerPlugin):
    """Each worker measures on one thread: OpenCV's own thread pool is
    turned off, the workers are the parallelism."""

    name = "tfdp-single-threaded"

    def setup(self, worker):
        import cv2

        cv2.setNumThreads(1)


@contextlib.contextmanager
def interrupts_held_back():
    """Keeps Ctrl-C from the threads and processes started meanwhile.

    A terminal sends SIGINT to every process of the command, the local
    cluster's workers included, and a worker still starting up would print
    a traceback. The threads started here (Dask's event loop, and through
    it the threads that spawn the workers) inherit a signal mask that
    blocks SIGINT, and so do the worker processes; the command, whose main
    thread still takes SIGINT, shuts them down itself.
    """
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    # multiprocessing starts its resource tracker once, and afterwards
    # unblocks SIGINT in the calling thread, whatever the mask was before
    multiprocessing.resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _local_worker_environment():
    # the local cluster's workers set glibc up as the command does, not as
    # Dask would (see MallocTuning)
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def _silence_dask_logs():
    """Keeps Dask's own log records off the terminal.

    A local cluster silences them only until it is closed, and a shutdown
    cut short (Ctrl-C, SIGTERM) still logs tracebacks of closed
    connections; errors that matter are raised where they are named.
    Dask also leaves futures of its own failing on the connections that a
    signal closed (a broadcast to workers that the signal ended), which
    asyncio reports with a traceback when nobody asked for their result:
    those records are dropped too, and nothing else of asyncio's.

    Returns:
        a function that undoes it all
    """
    logger = logging.getLogger("distributed")
    # the logger for records of its own level, its handlers for those of
    # child loggers that set a level of their own
    previous = [(logger, logger.level)] + [
        (handler, handler.level) for handler in logger.handlers
    ]
    for item, _ in previous:
        item.setLevel(logging.CRITICAL + 1)
    asyncio_logger = logging.getLogger("asyncio")
    dropped = _ClosedComms()
    asyncio_logger.addFilter(dropped)

    def restore():
        for item, level in previous:
            item.setLevel(level)
        asyncio_logger.removeFilter(dropped)

    return restore


class _ClosedComms(logging.Filter):
    """Drops asyncio's "Future exception was never retrieved" records of
    Dask connections that closed, and only those."""

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, CommClosedError)


_NOT_INSTALLED = (
    "a Dask worker cannot run tfdp (%s); every worker needs the same tfdp "
    "installed, with its cluster extra"
)


@contextlib.contextmanager
def _cluster_errors_named():
    # what goes wrong with the cluster rather than with a task's input
    try:
        yield
    except KilledWorker as e:
        raise TFDPError(
            "Dask workers died again and again running one task; giving "
            "up: %s" % e
        ) from None
    except FutureCancelledError as e:
        raise TFDPError("the Dask cluster went away: %s" % e) from None
    except ImportError as e:
        raise TFDPError(_NOT_INSTALLED % e) from None


def _raise_first_error(futures):
    # the error of the first failing task in task order, as one process
    # would raise it, whichever task failed first in time: a task's
    # exception, or KilledWorker
    for future in futures:
        future.result()


class ClusterEngine(Engine):
    """Runs tasks on Dask workers.

    Args:
        workers: the number of worker processes of the local cluster to
            start (ignored with ``scheduler``)
        scheduler (None): the address of a running scheduler, e.g.
            ``tcp://10.0.0.5:8786``
    """

    name = "cluster"

    def __init__(self, workers, scheduler=None):
        self.cluster = None
        self.client = None
        self._config = None
        self._restore_logs = _silence_dask_logs()
        self._main_script = None
        try:
            if scheduler:
                self.client = Client(
                    scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False
                )
            else:
                # for the cluster's lifetime only: the caller's own
                # configuration is back once it is closed
                self._config = dask.config.set(
                    {
                        "distributed.nanny.pre-spawn-environ": (
                            _local_worker_environment()
                        ),
                        # the statistical profiler samples every worker's
                        # stacks 100 times a second, holding the GIL that
                        # the measuring needs
                        "distributed.worker.profile.enabled": False,
                    }
                )
                # for the cluster's lifetime: nannies also start workers
                # anew, after one died
                self._main_script = _hide_main_script()
                with interrupts_held_back():
                    self.cluster = LocalCluster(
                        n_workers=int(workers),
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",
                        # a task's error is raised here, where it is
                        # named; workers print nothing
                        silence_logs=logging.CRITICAL,
                    )
                    self.client = Client(self.cluster, set_as_default=False)
        except (OSError, TimeoutError) as e:
            self.close()
            where = (
                "the Dask scheduler at %s" % scheduler
                if scheduler
                else "a local Dask cluster"
            )
            raise TFDPError("cannot reach %s: %s" % (where, e)) from None
        except Exception as e:
            self.close()
            if scheduler:
                # whatever answers there is not a Dask scheduler
                raise TFDPError(
                    "cannot reach the Dask scheduler at %s: %s: %s"
                    % (scheduler, type(e).__name__, e)
                ) from None
            if not isinstance(e, RuntimeError):
                raise
            raise TFDPError(
                "the local Dask cluster's workers did not start: %s" % e
            ) from None
        except BaseException:
            # a start cut short (Ctrl-C) leaves a cluster half-built, which
            # Dask closes only at exit: its logs stay silenced until then
            self._restore_logs = None
            self.close()
            raise
        try:
            self.client.register_plugin(MallocTuning())
            self.client.register_plugin(SingleThreaded())
            threads = self.client.nthreads()
            if scheduler and not threads:
                # workers may still be joining; wait for one
                self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
                threads = self.client.nthreads()
        except TimeoutError:
            self.close()
            raise TFDPError(
                "the Dask scheduler at %s has no workers: none joined within "
                "%d s (start some with `dask worker %s --nthreads 1`)"
                % (scheduler, CONNECT_TIMEOUT, scheduler)
            ) from None
        except Exception as e:
            # a worker could not load the plugins: tfdp, or what it needs,
            # is missing there
            self.close()
            raise TFDPError(_NOT_INSTALLED % e) from None
        except BaseException:
            self.close()
            raise
        self.workers = max(1, sum(threads.values()))

    def map(self, function, tasks, weights=None, progress=None):
        futures = []
        for task in tasks:
            futures.append(self.client.submit(function, task, pure=False))
        weights = [1] * len(futures) if weights is None else list(weights)
        total = sum(weights)
        weight_of = {f.key: w for f, w in zip(futures, weights)}
        index_of = {f.key: i for i, f in enumerate(futures)}
        done = 0
        if progress is not None:
            progress(0, total)
        with _cluster_errors_named():
            for future in as_completed(futures, loop=self.client.loop):
                if future.status == "error":
                    _raise_first_error(futures[: index_of[future.key] + 1])
                done += weight_of[future.key]
                if progress is not None:
                    progress(done, total)
        return futures

    def apply(self, function, handles, arguments=None):
        if arguments is None:
            return [
                self.client.submit(function, h, pure=False) for h in handles
            ]
        return [
            self.client.submit(function, h, *a, pure=False)
            for h, a in zip(handles, arguments)
        ]

    def results(self, handles, batch=1):
        handles = list(handles)
        for start in range(0, len(handles), batch):
            futures = handles[start : start + batch]
            with _cluster_errors_named():
                try:
                    values = self.client.gather(futures)
                except Exception:
                    # gather raises whichever error it meets first
                    _raise_first_error(futures)
                    raise
            yield from values

    def close(self):
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        try:
            # a close cut short would leave Dask to finish it at exit,
            # logging as it goes: Ctrl-C waits for the end of the close
            with signals.held():
                if client is not None:
                    client.close()
                if cluster is not None:
                    cluster.close()
        finally:
            restore, self._restore_logs = self._restore_logs, None
            if restore is not None:
                restore()
            saved, self._main_script = self._main_script, None
            _restore_main_script(saved)
            config, self._config = self._config, None
            if config is not None:
                config.__exit__(None, None, None)


def _hide_main_script():
    # Python starts a worker process by importing the parent's main script
    # again (or module, with -m), which runs a script's top-level code once
    # per worker unless it is under `if __name__ == "__main__":`. The tasks
    # need nothing of it: with its file and module name hidden, a worker
    # imports nothing.
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__")
             if getattr(main, name, None) is not None}
    if "__file__" in saved:
        del main.__file__
    if "__spec__" in saved:
        main.__spec__ = None
    return saved


def _restore_main_script(saved):
    main = sys.modules.get("__main__")
    for name, value in (saved or {}).items():
        setattr(main, name, value)
