"""Execution engines: where the per-instance measurement runs.

Every engine offers the same small interface, so the command and the
formats never know which one runs them:

- :meth:`Engine.map` runs a function over tasks (coarse chunks of thousands
  of instances) and returns one handle per task, in task order; the results
  stay where they were computed (in this process, or on a Dask worker);
- :meth:`Engine.apply` runs a function on each result where it lives, with
  per-task arguments, and returns new handles;
- :meth:`Engine.results` brings results to this process in task order, one
  or a few at a time, so that a large table streams through it in parts.

Engines, chosen by name with :func:`make_engine`:

- ``"local"`` (:mod:`tfdp.engine.local`): in this process, on one thread
  or, for large objects, a few threads;
- ``"cluster"`` (:mod:`tfdp.engine.cluster`): Dask distributed, either a
  local cluster of single-threaded worker processes started for the run, or
  an existing cluster reached at a scheduler address.

Neither this module nor the local engine imports Dask.
"""

import importlib.util
import numbers
import os

from tfdp.errors import TFDPError

#: The environment variable naming a Dask scheduler to attach to
SCHEDULER_ENV = "TFDP_SCHEDULER"

ENGINES = ("local", "cluster")

from tfdp.engine.base import Engine  # noqa: E402,F401

#: What a cluster needs, and how to install it
CLUSTER_INSTALL = (
    "measuring in several processes or on a cluster needs Dask: install "
    "tfdp with its cluster extra, pip install '/path/to/tfdp[cluster]'"
)


def cluster_installed():
    """Whether Dask distributed can be imported (without importing it)."""
    return importlib.util.find_spec("distributed") is not None


def default_workers():
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_workers(workers):
    """Checks a number of local worker processes.

    Args:
        workers: the number asked for

    Returns:
        the number, an int

    Raises:
        ValueError: if it is not a whole number from 1 to the number of
            cores (single-threaded workers beyond that only take memory)
    """
    cores = default_workers()
    if (
        not isinstance(workers, numbers.Integral)
        or isinstance(workers, bool)
        or not 1 <= workers <= cores
    ):
        raise ValueError(
            "%r is not a number of workers from 1 to the %d cores of this "
            "machine" % (workers, cores)
        )
    return int(workers)


def check_scheduler(address):
    """Checks the form of a Dask scheduler address, with Dask's own parser
    (when Dask is missing, the cluster cannot be used anyway, and the
    caller says what to install).

    Args:
        address: e.g. ``"tcp://10.0.0.5:8786"`` or ``"10.0.0.5:8786"``

    Returns:
        the address

    Raises:
        ValueError: if it is not ``[PROTOCOL://]HOST:PORT``
    """
    if not isinstance(address, str) or not cluster_installed():
        if isinstance(address, str):
            return address
        raise ValueError(_NOT_AN_ADDRESS % (address,))
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        port = parse_host_port(location)[1]
    except (ValueError, TypeError):
        raise ValueError(_NOT_AN_ADDRESS % (address,)) from None
    # the protocols a scheduler listens on for other processes (Dask also
    # parses "inproc", which no other process can reach)
    if (
        protocol not in ("tcp", "tls", "ws", "wss", "ucx")
        or not 1 <= port <= 65535
        or any(c.isspace() for c in address)
    ):
        raise ValueError(_NOT_AN_ADDRESS % (address,))
    return address


_NOT_AN_ADDRESS = (
    "%r is not a Dask scheduler address such as tcp://10.0.0.5:8786"
)


def make_engine(name, workers=None, scheduler=None, threads=1):
    """Creates an engine.

    Args:
        name: ``"local"`` or ``"cluster"``
        workers (None): the number of worker processes of a local cluster,
            :func:`default_workers` by default
        scheduler (None): the address of an existing Dask scheduler
            (``"cluster"`` attaches to it instead of starting a local
            cluster)
        threads (1): threads of the ``"local"`` engine

    Returns:
        an :class:`Engine`, to be closed (it is a context manager)

    Raises:
        ValueError: if the name is unknown
        TFDPError: if the cluster cannot be started or reached
    """
    if name == "local":
        from tfdp.engine.local import LocalEngine

        return LocalEngine(threads=threads)
    if name == "cluster":
        if not cluster_installed():
            raise TFDPError(CLUSTER_INSTALL)
        from tfdp.engine.cluster import ClusterEngine

        return ClusterEngine(
            workers=workers or default_workers(), scheduler=scheduler
        )
    raise ValueError(
        "unknown engine %r; expected one of %s" % (name, ", ".join(ENGINES))
    )
