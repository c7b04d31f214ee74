"""Steps that must finish once started: SIGINT and SIGTERM wait for them."""

import contextlib
import os
import signal
import sys
import threading


@contextlib.contextmanager
def held():
    """Holds SIGINT and SIGTERM back until the block ends, then delivers
    the first that arrived to its own handler.

    Python runs signal handlers between bytecodes: a handler that raises
    in the middle of a step (a loop of renames, closing a cluster) would
    leave it half done. Only the main thread receives signals in Python;
    elsewhere the block runs as it is. A handler set outside Python stays
    as it is.

    A signal that arrived before the block, whose handler Python runs
    while the block sets its own (``signal.signal`` runs pending handlers
    first), is held too: what its handler raised is raised after the
    block. So the block always runs, even in a ``finally`` that cleans up
    after an earlier signal.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    raised = []
    previous = {}

    def hold(signum, frame):
        received.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        while True:
            try:
                handler = signal.getsignal(signum)
                if handler is not None:  # else installed outside Python
                    previous.setdefault(signum, handler)  # the first seen
                    signal.signal(signum, hold)
                break
            except BaseException as e:  # a pending signal's handler ran
                raised.append(e)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if raised:
            raise raised[0]
        if received:
            signal.raise_signal(received[0])


def end_the_command_on_interrupt():
    """Has Ctrl-C end the ``tfdp`` command quietly while it imports.

    Python turns SIGINT into a KeyboardInterrupt wherever the imports are,
    and prints its traceback. Nothing is started or written yet, so SIGINT
    then ends the process at once: status 130 and one line.
    :func:`tfdp.cli.run` takes over once the imports are done. Elsewhere
    (tfdp imported as a library) nothing changes.
    """
    if _started_as_command() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _end_interrupted)


def _started_as_command():
    # `python -m tfdp` (argv[0] is "-m" while the package imports) or the
    # `tfdp` script
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 == "-m":
        return "tfdp" in getattr(sys, "orig_argv", ())
    return os.path.splitext(os.path.basename(argv0))[0] == "tfdp"


def _end_interrupted(signum, frame):
    # raising would print "Exception ignored" where the import runs a
    # callback, and go on; an import has nothing to clean up
    os.write(2, b"tfdp: interrupted\n")
    os._exit(130)
