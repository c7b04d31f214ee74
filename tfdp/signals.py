"""Steps that must finish once started: SIGINT and SIGTERM wait for them."""

import contextlib
import signal
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
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is None:  # installed outside Python: leave it
            continue
        previous[signum] = handler
        signal.signal(signum, lambda s, frame: received.append(s))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])
