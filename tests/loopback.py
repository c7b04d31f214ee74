"""Loopback Dask clusters for the tests: ``dask scheduler`` and ``dask
worker`` processes on 127.0.0.1, started and ended by the tests."""

import os
import signal
import socket
import subprocess
import sys
import threading

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def scheduler_command(scheduler_file):
    """``dask scheduler`` listening on 127.0.0.1 only: --host binds the
    scheduler, and its HTTP server (which runs even with --no-dashboard)
    binds where --dashboard-address says, every interface by default."""
    return [
        DASK,
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--dashboard-address",
        "127.0.0.1:0",
        "--no-dashboard",
        "--scheduler-file",
        str(scheduler_file),
    ]


def worker_command(address):
    """A single-threaded ``dask worker`` (and its nanny) listening on
    127.0.0.1 only, its HTTP server included."""
    return [
        DASK,
        "worker",
        address,
        "--nthreads",
        "1",
        "--host",
        "127.0.0.1",
        "--dashboard-address",
        "127.0.0.1:0",
        "--no-dashboard",
    ]


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


def silent_listener():
    """A loopback listener that accepts connections and never says a word.

    Returns:
        ``(close, address)``
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    threading.Thread(
        target=lambda: accepted.extend(listener.accept() for _ in range(8)),
        daemon=True,
    ).start()
    return listener.close, "tcp://127.0.0.1:%d" % listener.getsockname()[1]


def http_server():
    """A loopback HTTP server, which is not a Dask scheduler.

    Returns:
        ``(close, address)``
    """
    import http.server

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def close():
        server.shutdown()
        server.server_close()

    return close, "tcp://127.0.0.1:%d" % server.server_address[1]
