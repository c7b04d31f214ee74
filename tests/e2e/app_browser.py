"""The FiftyOne App in a real browser, for the browser test and the panel
benchmark: an App server on a loopback port with the plugin available, and
Debian's Chromium driven headless by Playwright."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: Where the operator browser lists an operator: its label
OPERATOR_SEARCH = "Search operations by name..."


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def background_process(args, log_path, env=None, ready_url=None, timeout=120):
    """Runs a process in its own session, logging to ``log_path``, and
    stops it with its children on exit.

    Args:
        args: the command
        log_path: the file of its output
        env (None): its environment
        ready_url (None): a URL to wait for before yielding
        timeout (120): seconds to wait for ``ready_url``

    Yields:
        the :class:`subprocess.Popen`
    """
    log = open(log_path, "w")
    proc = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        if ready_url is not None:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(ready_url, timeout=5).read(1)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "%s did not start; see %s" % (args[-1], log_path)
                        )
                    time.sleep(0.5)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
        log.close()


@contextlib.contextmanager
def app_server(log_path, env=None):
    """The FiftyOne App server on a free loopback port.

    Args:
        log_path: the file of the server's output
        env (None): its environment, this process's by default

    Yields:
        the App's URL
    """
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    args = [
        sys.executable,
        "-m",
        "fiftyone.server.main",
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
    ]
    with background_process(args, log_path, env=env, ready_url=url):
        yield url


def launch_chromium(playwright):
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )


def open_dataset(page, url, name, num_samples):
    """Opens a dataset in the App and dismisses the App's promotion, which
    pops up once soon after loading."""
    from playwright.sync_api import TimeoutError

    page.goto("%s/datasets/%s" % (url, name))
    page.get_by_text("%d samples" % num_samples, exact=True).wait_for()
    dismiss = page.get_by_text("Dismiss", exact=True)
    try:
        dismiss.first.wait_for(timeout=10_000)
        dismiss.first.click()
    except TimeoutError:
        pass


def open_operator(page, label, attempts=3):
    """Opens an operator's form (or runs it) from the operator browser."""
    from playwright.sync_api import TimeoutError

    search = page.get_by_placeholder(OPERATOR_SEARCH)
    for attempt in range(attempts):
        page.keyboard.press("Escape")
        if attempt:
            # the key goes to the focused element: give the focus back to
            # the page
            page.locator("body").click(position=dict(x=5, y=5))
        page.keyboard.press("`")
        try:
            search.wait_for(timeout=10_000)
            break
        except TimeoutError:
            if attempt == attempts - 1:
                raise
    search.fill(label)
    page.get_by_text(label, exact=True).click()


def wait_until(condition, what, seconds=60):
    """Polls ``condition`` until it holds, at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.5)


def apply_pruning(page, run_key, method, num_samples, attempts=3):
    """Clicks the panel's *Apply pruning* until the prune operator says what
    it kept, and returns that number and the operator's whole line, read
    while the App shows it (a notification goes after a few seconds).

    The App mounts the panel anew on a render and can answer a click with
    the state from before it: then the operator does not run, nothing is
    tagged and the user clicks again. The ratio is the panel's as the App
    sent it, which a loaded machine may still be updating.
    """
    import re

    from playwright.sync_api import TimeoutError

    pattern = r"TFDP run '%s': kept (\d+) of %d samples \(%s\)" % (
        re.escape(run_key),
        num_samples,
        re.escape(method),
    )
    note = page.get_by_text(re.compile(pattern)).first
    for attempt in range(attempts):
        page.get_by_role("button", name="Apply pruning").click()
        try:
            note.wait_for(timeout=20_000)
            break
        except TimeoutError:
            if attempt == attempts - 1:
                raise
    text = note.inner_text()
    return int(re.search(pattern, text).group(1)), text
