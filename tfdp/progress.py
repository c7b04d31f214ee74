"""A minimal progress bar for terminals."""

import sys
import time


class ProgressBar(object):
    """A callable ``progress(done, total)`` that draws a bar on a stream.

    Args:
        label: what is being done
        stream (None): the stream, ``sys.stderr`` by default
        enabled (None): draw or not; by default only when the stream is a
            terminal
    """

    def __init__(self, label, stream=None, enabled=None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = enabled
        self._start = None
        self._last = 0.0

    def __call__(self, done, total):
        if not self.enabled:
            return
        now = time.monotonic()
        if self._start is None:
            self._start = now
        finished = done >= total
        if not finished and now - self._last < 0.1:
            return
        self._last = now
        fraction = done / total if total else 1.0
        filled = int(30 * fraction)
        self.stream.write(
            "\r%s |%s%s| %d/%d %3.0f%% %.1fs"
            % (
                self.label,
                "#" * filled,
                "-" * (30 - filled),
                done,
                total,
                100 * fraction,
                now - self._start,
            )
        )
        if finished:
            self.stream.write("\n")
        self.stream.flush()
