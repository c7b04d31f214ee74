"""Helpers for the benchmarks: timing and peak memory of whole processes."""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))


def run_process(args, env=None, quiet=False, cpu=False):
    """Runs a command; returns (seconds, peak resident memory in MiB), and
    with ``cpu`` also its CPU seconds (user + system, all threads), which a
    busy machine inflates less than the elapsed time."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL if quiet else None
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("benchmark step failed: %s" % " ".join(args))
    if cpu:
        return (
            seconds,
            usage.ru_maxrss / 1024.0,
            usage.ru_utime + usage.ru_stime,
        )
    return seconds, usage.ru_maxrss / 1024.0


def compile_bytecode():
    """Compiles tfdp and the benchmarks' modules to bytecode.

    An installed package runs from bytecode: pip compiles it, and Python
    writes it on a first import. With PYTHONDONTWRITEBYTECODE set, Python
    never writes it, and every process timed would compile the sources
    again.
    """
    import compileall

    for folder in (os.path.join(ROOT, "tfdp"), HERE):
        if not compileall.compile_dir(folder, quiet=1):
            raise SystemExit("could not compile %s" % folder)


def python(*args):
    return [sys.executable] + list(args)


def tfdp(*args):
    """The installed ``tfdp`` command, as a user runs it."""
    return [os.path.join(os.path.dirname(sys.executable), "tfdp")] + list(args)


def load():
    """The machine's load averages, to print beside the timings."""
    return "load average %.2f, %.2f, %.2f on %d cores" % (
        os.getloadavg() + (os.cpu_count() or 1,)
    )


def require_data(path):
    if not os.path.exists(path):
        raise SystemExit(
            "%s is missing: the benchmarks use the real annotation files of "
            "../shared/data" % path
        )
    return path
