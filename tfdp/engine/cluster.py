"""The Dask engine: a local cluster of worker processes, or any cluster.

With a worker count, the engine starts a ``distributed.LocalCluster`` of
that many single-threaded worker processes for the run and shuts it down at
the end (also on Ctrl-C or an error). With a scheduler address, it attaches
to a cluster that is already running (``dask scheduler`` plus ``dask
worker``, dask-jobqueue on SLURM or PBS, Kubernetes, ...) and leaves it
running as it found it: no worker plugin, no setting left behind; its
workers are asked their tfdp version first, and one that cannot run this
tfdp is refused by name before any task is sent. The tasks are the same
either way.

Every task's input travels inside the task itself (never scattered), so
when a worker dies the scheduler can recompute whatever it held, on
another worker, from the task alone.
"""

import asyncio
import contextlib
import importlib.util
import itertools
import logging
import multiprocessing.resource_tracker
import signal
import sys
import threading
import time
import uuid

import dask
from distributed import Client, LocalCluster, wait
from distributed.client import FutureCancelledError
from distributed.comm import CommClosedError, connect
from distributed.security import Security

from tfdp import signals
from tfdp._version import __version__
from tfdp.engine.base import Engine
from tfdp.engine.local import opencv_single_threaded
from tfdp.errors import TFDPError

try:
    from distributed import KilledWorker
except ImportError:  # older distributed
    from distributed.scheduler import KilledWorker

#: Seconds to wait for a scheduler to answer, or for workers to join or
#: come back (an error comes within the 20 s the documentation promises,
#: the command's start included)
CONNECT_TIMEOUT = 15

#: Seconds between two looks at a cluster's workers while tasks run
POLL_SECONDS = 1.0

#: Local workers' glibc serves mask crops (up to 8192 x 8192) from its heap
#: and keeps that much free: with Dask's default, which trims the heap after
#: each task, every crop faults its pages in again
WORKER_ENVIRON = {
    "MALLOC_TRIM_THRESHOLD_": 64 * 2**20,
    "MALLOC_MMAP_THRESHOLD_": 64 * 2**20,
}


def single_threaded(function, *args):
    """Runs ``function(*args)`` with OpenCV on the calling thread only.

    The workers are the parallelism. The worker's own setting is back
    afterwards: a cluster the user gave is left as it was found.
    """
    with opencv_single_threaded():
        return function(*args)


# sent to the workers by value (a lambda), so that a worker whose tfdp is
# missing, broken or of another version answers rather than fails to load it
_worker_version = lambda: __import__("tfdp").__version__  # noqa: E731

#: The ``name`` of the ImportError a task raises on a worker of another tfdp
_OTHER_VERSION = "tfdp-other-version"


def _versioned():
    # a task's wrapper, sent by value (a function defined in a function)
    # with every task: a worker that joins after _check_versions, as an
    # adaptive cluster's do, runs no task of another tfdp version. It
    # raises only builtins, which any worker can send back
    def versioned(version, wrap, function, *args):
        from tfdp._version import __version__ as theirs

        if theirs != version:
            from distributed import get_worker

            raise ImportError(
                "the Dask worker at %s runs tfdp %s, and this process tfdp "
                "%s: every worker needs the same version"
                % (get_worker().address, theirs, version),
                name=_OTHER_VERSION,
            )
        if wrap:
            from tfdp.engine.cluster import single_threaded

            return single_threaded(function, *args)
        return function(*args)

    return versioned


_versioned_task = _versioned()


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
    "a Dask worker cannot run tfdp (%s); every worker needs tfdp "
    + __version__
    + " installed, with its cluster extra"
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
        if e.name == _OTHER_VERSION:
            raise TFDPError(str(e)) from None
        raise TFDPError(_NOT_INSTALLED % e) from None


def _identify(address, security):
    """What answers at a Dask address, within :data:`CONNECT_TIMEOUT`.

    Dask's own connect waits for the other end's handshake without a
    bound: a listener that never answers, or an HTTP server, would hang
    the Client. The look runs on a thread of its own, so that it works
    under a running event loop (a notebook) too.

    Args:
        address: the scheduler's address
        security: a ``distributed.security.Security``

    Returns:
        the identity the server sent back (a dict)

    Raises:
        TFDPError: if nothing answered as Dask does in time
    """

    async def identify():
        comm = await connect(
            address,
            timeout=CONNECT_TIMEOUT,
            **security.get_connection_args("client"),
        )
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    outcome = []

    def look():
        try:
            # a second more than connect's own retries, so that a port
            # that refuses is named as such
            outcome.append(
                asyncio.run(asyncio.wait_for(identify(), CONNECT_TIMEOUT + 1))
            )
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=look, name="tfdp-identify", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5)  # bounded by the look itself
    answer = outcome[0] if outcome else TimeoutError()
    if isinstance(answer, (TimeoutError, asyncio.TimeoutError)):
        raise TFDPError(
            "no Dask scheduler answered at %s within %d s"
            % (address, CONNECT_TIMEOUT)
        )
    if (
        isinstance(answer, BaseException)
        and address.startswith("ucx://")
        and importlib.util.find_spec("distributed_ucxx") is None
    ):
        raise TFDPError(
            "cannot reach the Dask scheduler at %s: ucx:// needs "
            "the distributed-ucxx package" % address
        )
    if isinstance(answer, BaseException):
        raise TFDPError(
            "cannot reach the Dask scheduler at %s: %s: %s"
            % (address, type(answer).__name__, answer)
        )
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        raise TFDPError(
            "%s is not a Dask scheduler (a %s answered there)"
            % (address, kind or "server that is not Dask's")
        )
    return answer


def _check_versions(client):
    """Refuses workers that cannot run this tfdp, by name, before any task
    is sent (a worker with another version measures otherwise)."""
    try:
        versions = client.run(
            _worker_version,
            on_error="return",
            callback_timeout=CONNECT_TIMEOUT,
        )
    except TimeoutError:
        raise TFDPError(
            "the Dask workers of the scheduler at %s did not say which tfdp "
            "they run within %d s"
            % (client.scheduler.address, CONNECT_TIMEOUT)
        ) from None
    for worker, version in sorted(versions.items()):
        if isinstance(version, BaseException):
            raise TFDPError(
                "the Dask worker at %s cannot run tfdp (%s: %s); "
                "every worker needs tfdp %s installed, with its "
                "cluster extra"
                % (worker, type(version).__name__, version, __version__)
            )
        if version != __version__:
            raise TFDPError(
                "the Dask worker at %s runs tfdp %s, and this process tfdp "
                "%s: every worker needs the same version"
                % (worker, version, __version__)
            )


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
        self.scheduler = scheduler
        self._config = None
        self._restore_logs = _silence_dask_logs()
        self._main_script = None
        try:
            if scheduler:
                security = Security()
                _identify(scheduler, security)
                self.client = Client(
                    scheduler,
                    timeout=CONNECT_TIMEOUT,
                    security=security,
                    set_as_default=False,
                )
            else:
                # for the cluster's lifetime only: the caller's own
                # configuration is back once it is closed. The statistical
                # profiler samples every worker's stacks 100 times a
                # second, holding the GIL that the measuring needs
                self._config = dask.config.set(
                    {
                        "distributed.worker.profile.enabled": False,
                        **{
                            "distributed.nanny.pre-spawn-environ."
                            + name: value
                            for name, value in WORKER_ENVIRON.items()
                        },
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
                        dashboard_address="127.0.0.1:0",
                        # a task's error is raised here, where it is
                        # named; workers print nothing
                        silence_logs=logging.CRITICAL,
                    )
                    self.client = Client(self.cluster, set_as_default=False)
        except TFDPError:
            self.close()
            raise
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
            threads = self.client.nthreads()
            if scheduler:
                if not threads:
                    # workers may still be joining; wait for one
                    self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
                    threads = self.client.nthreads()
                _check_versions(self.client)
        except TimeoutError:
            self.close()
            raise TFDPError(
                "the Dask scheduler at %s has no workers: none joined within "
                "%d s (start some with `dask worker %s --nthreads 1`)"
                % (scheduler, CONNECT_TIMEOUT, scheduler)
            ) from None
        except BaseException:
            self.close()
            raise
        self.workers = max(1, sum(threads.values()))

    def _wait(self, futures, return_when="ALL_COMPLETED"):
        """``distributed.wait``, bounded by the workers: raises once the
        cluster has had none for :data:`CONNECT_TIMEOUT` (the scheduler
        would otherwise wait for new ones forever)."""
        alone_since = None
        while True:
            try:
                with self.client.as_current():
                    return wait(
                        futures, timeout=POLL_SECONDS, return_when=return_when
                    )
            except TimeoutError:
                pass
            try:
                workers = self.client.nthreads(
                    callback_timeout=CONNECT_TIMEOUT
                )
            except TimeoutError:
                raise TFDPError(
                    "the Dask scheduler%s stopped answering"
                    % (" at %s" % self.scheduler if self.scheduler else "")
                ) from None
            if workers:
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > CONNECT_TIMEOUT:
                raise TFDPError(
                    "every worker of the Dask %s is gone, and none came back "
                    "within %d s"
                    % (
                        "scheduler at %s" % self.scheduler
                        if self.scheduler
                        else "local cluster",
                        CONNECT_TIMEOUT,
                    )
                )

    def _raise_first_error(self, futures):
        # the error of the first failing task in task order, as one
        # process would raise it, whichever task failed first in time: a
        # task's exception, or KilledWorker
        self._wait(futures)
        for future in futures:
            future.result()

    def map(self, function, tasks, weights=None, progress=None):
        futures = []
        for task in tasks:
            # named after the function, not the wrapper (the dashboard's
            # and the scheduler's task prefixes)
            futures.append(
                self.client.submit(
                    _versioned_task,
                    __version__,
                    True,
                    function,
                    task,
                    key="%s-%s" % (function.__name__, uuid.uuid4().hex),
                )
            )
        weights = [1] * len(futures) if weights is None else list(weights)
        total = sum(weights)
        weight_of = {f.key: w for f, w in zip(futures, weights)}
        index_of = {f.key: i for i, f in enumerate(futures)}
        done = 0
        if progress is not None:
            progress(0, total)
        pending = futures
        with _cluster_errors_named():
            while pending:
                finished, pending = self._wait(pending, "FIRST_COMPLETED")
                for future in sorted(finished, key=lambda f: index_of[f.key]):
                    if future.status == "error":
                        self._raise_first_error(
                            futures[: index_of[future.key] + 1]
                        )
                    done += weight_of[future.key]
                    if progress is not None:
                        progress(done, total)
        return futures

    def apply(self, function, handles, arguments=None):
        if arguments is None:
            arguments = itertools.repeat(())
        return [
            self.client.submit(
                _versioned_task,
                __version__,
                False,
                function,
                h,
                *a,
                key="%s-%s" % (function.__name__, uuid.uuid4().hex),
            )
            for h, a in zip(handles, arguments)
        ]

    def results(self, handles, batch=1):
        handles = list(handles)
        for start in range(0, len(handles), batch):
            futures = handles[start : start + batch]
            with _cluster_errors_named():
                self._wait(futures)
                try:
                    values = self.client.gather(futures)
                except Exception:
                    # gather raises whichever error it meets first
                    self._raise_first_error(futures)
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
    saved = {
        name: getattr(main, name)
        for name in ("__file__", "__spec__")
        if getattr(main, name, None) is not None
    }
    if "__file__" in saved:
        del main.__file__
    if "__spec__" in saved:
        main.__spec__ = None
    return saved


def _restore_main_script(saved):
    main = sys.modules.get("__main__")
    for name, value in (saved or {}).items():
        setattr(main, name, value)
