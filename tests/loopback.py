"""Loopback Dask clusters for the tests: ``dask scheduler`` and ``dask
worker`` processes on 127.0.0.1, started and ended by the tests."""

import os
import signal
import subprocess
import sys

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def scheduler_command(scheduler_file):
    """``dask scheduler`` listening on 127.0.0.1 only: --host binds the
    scheduler, and its HTTP server (which runs even with --no-dashboard)
    binds where --dashboard-address says, every interface by default."""
    return [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", "127.0.0.1:0", "--no-dashboard",
            "--scheduler-file", str(scheduler_file)]


def worker_command(address):
    """A single-threaded ``dask worker`` (and its nanny) listening on
    127.0.0.1 only, its HTTP server included."""
    return [DASK, "worker", address, "--nthreads", "1", "--host",
            "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
            "--no-dashboard"]


def start(args, log):
    """Starts a process in a session of its own, its output in ``log``."""
    return subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def end(process):
    """Ends a process and its children: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
