"""Category names as written, and the phrases that name them in messages.

Names are compared as written: the name ``"1"``, the number ``1`` and no
name at all are three names, so that two files or two records that disagree
on a category's name are refused rather than merged.

- :func:`category_name`: the name a report shows
- :func:`category_name_key`: the name as written, to compare
- :func:`describe_name`, :func:`name_phrase`: a name in a message
"""

import json


def category_name(record):
    """A category's name in reports: its ``name`` as a string (another
    JSON value as its JSON text: null is not "None"), its id when it has
    none.

    Args:
        record: a well-formed category record (a dict with an ``id``)

    Returns:
        a string, or the id
    """
    name = record.get("name", record["id"])
    return name if isinstance(name, str) else json.dumps(name)


def category_name_key(record):
    """A category record's name as written, to compare with another's.

    A string, any other JSON value and a missing name all differ: the name
    ``"1"``, the number ``1`` and no name at all (which reports show as the
    id) are three different names.

    Args:
        record: the category record (a dict)

    Returns:
        ``("string", name)``, ``("json", its JSON text)``, or None when the
        record has no ``name``
    """
    if "name" not in record:
        return None
    name = record["name"]
    if isinstance(name, str):
        return ("string", name)
    return ("json", json.dumps(name, sort_keys=True))


def describe_name(key, quote=repr):
    """A name from :func:`category_name_key`, for messages: a string
    quoted with ``quote``, another value as its JSON text."""
    if key is None:
        return "no name"
    if key[0] == "string":
        return quote(key[1])
    text = key[1]
    return text if len(text) <= 80 else text[:77] + "..."


def name_phrase(key, quote=repr, verb="is named"):
    """``"has no name"`` or ``verb`` and the name, for messages (see
    :func:`describe_name`)."""
    if key is None:
        return "has no name"
    return "%s %s" % (verb, describe_name(key, quote))
