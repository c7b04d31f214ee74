"""The browser tier runs in a database of its own (tests/private_database.py),
started before any test module imports fiftyone."""

import private_database

private_database.use()
