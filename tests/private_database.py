"""A FiftyOne database of the tests' own, never the user's.

:func:`use` must run before anything imports fiftyone: the FiftyOne tiers'
conftest files call it when they are loaded. It starts a ``mongod`` on
``.fiftyone/test-db`` (FiftyOne's own service would attach to any database
already running for the user), points FiftyOne at it through the
environment, which the processes the tests start inherit, and installs the
plugin as a user would: a plugins folder linking to the repository.
"""

import atexit
import os
import sys

from shared_data import ROOT

TEST_DB = os.path.join(ROOT, ".fiftyone", "test-db")
PLUGINS_DIR = os.path.join(ROOT, ".fiftyone", "plugins")

_started = []


def use():
    """Starts the tests' database once and points FiftyOne at it."""
    if _started:
        return
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import database

    context = database.private_database(TEST_DB)
    os.environ["FIFTYONE_DATABASE_URI"] = context.__enter__()
    atexit.register(context.__exit__, None, None, None)
    _started.append(context)
    os.environ["FIFTYONE_DATABASE_DIR"] = TEST_DB
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")

    # hidden folders are not searched for plugins: the link cannot loop
    os.makedirs(PLUGINS_DIR, exist_ok=True)
    link = os.path.join(PLUGINS_DIR, "tfdp")
    if not os.path.islink(link):
        os.symlink(ROOT, link)
    os.environ["FIFTYONE_PLUGINS_DIR"] = PLUGINS_DIR
