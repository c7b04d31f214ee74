"""Errors raised by tfdp, each with a message fit to show a user as is."""

import re
from collections import namedtuple

#: One malformed record: ``kind`` is ``"image"``, ``"category"``,
#: ``"annotation"`` or ``"label"`` (FiftyOne), ``id`` its id (or its
#: position when it has none), ``image_id`` the image of an annotation or
#: the sample of a label, ``message`` what is wrong with it
Problem = namedtuple("Problem", ["kind", "id", "image_id", "message"])


class TFDPError(Exception):
    """Base class of the errors that tfdp reports to users."""


class InvalidDataError(TFDPError):
    """Records that cannot be interpreted.

    Attributes:
        source: the file or collection the records come from
        problems: a list of :class:`Problem`
        hint: what the caller can do about them, in its own terms, or None
    """

    #: how many problems the message lists before summarising the rest
    LISTED = 5

    def __init__(self, source, problems, hint=None):
        self.source = source
        self.problems = list(problems)
        self.hint = hint
        super().__init__(self._message())

    def _message(self):
        lines = []
        for kind in ("image", "category", "annotation", "label"):
            found = [p for p in self.problems if p.kind == kind]
            if not found:
                continue
            noun = kind if len(found) == 1 else _plural(kind)
            lines.append("%d malformed %s:" % (len(found), noun))
            for problem in found[: self.LISTED]:
                lines.append("  " + describe_problem(problem))
            if len(found) > self.LISTED:
                lines.append("  ... and %d more" % (len(found) - self.LISTED))
        text = "%s: %s" % (self.source, "\n".join(lines))
        if self.hint:
            text += "\n" + self.hint
        return text


class NothingToScoreError(TFDPError):
    """An input where no annotation can be scored: a pruning of it would
    choose images by nothing.

    Args:
        source: the file, folder or field, for the message
        ineligible: a mapping of the reasons why records were not scored to
            their counts
        num_invalid (0): how many malformed records were skipped
        noun ("annotation"): what the input's records are called
    """

    def __init__(self, source, ineligible, num_invalid=0, noun="annotation"):
        counts = [
            "%d %s" % (n, reason) for reason, n in sorted(ineligible.items())
        ]
        if num_invalid:
            counts.append("%d malformed, skipped" % num_invalid)
        total = sum(ineligible.values()) + num_invalid
        held = (
            "it holds %d %s%s: %s"
            % (total, noun, "" if total == 1 else "s", ", ".join(counts))
            if total
            else "it holds no %s" % noun
        )
        super().__init__(
            "%s: no %s can be scored. TFDP needs instance masks or "
            "polygons, not crowd or ignored, with a bbox inside the image; "
            "%s" % (source, noun, held)
        )


def _plural(kind):
    return "categories" if kind == "category" else kind + "s"


def describe_problem(problem):
    """One line naming a malformed record and what is wrong with it."""
    where = "%s %s" % (problem.kind, problem.id)
    if problem.image_id is not None:
        where += " (%s %s)" % (
            "sample" if problem.kind == "label" else "image",
            problem.image_id,
        )
    return "%s: %s" % (where, problem.message)


class OutputExistsError(TFDPError):
    """An output that exists and may not be overwritten.

    Attributes:
        path: the output
        hint: how to replace it, in the caller's terms, or None
    """

    def __init__(self, path, hint=None):
        self.path = path
        self.hint = hint
        message = "%s already exists" % path
        if hint:
            message += "; " + hint
        super().__init__(message)


_SURROGATE = re.compile("[\ud800-\udfff]")


def is_text(text):
    """Whether a string is valid Unicode text: a file name that is not
    valid UTF-8 holds lone surrogates (see :func:`printable`), which UTF-8
    stores (MongoDB, Parquet) refuse."""
    return _SURROGATE.search(text) is None


def printable(text):
    """Text fit to print on any stream, whatever its encoding errors.

    A file name that is not valid UTF-8 reaches Python with each of its
    undecodable bytes as a lone surrogate (``surrogateescape``), which a
    strict UTF-8 stream refuses to write. Such a byte shows as ``\\xNN``
    (``caf\\xe9.json``), any other lone surrogate as ``\\uNNNN``.

    Args:
        text: a string

    Returns:
        the string, unchanged when it is valid Unicode text
    """
    return _SURROGATE.sub(_escape_surrogate, text)


def _escape_surrogate(match):
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return "\\x%02x" % (code - 0xDC00)
    return "\\u%04x" % code
