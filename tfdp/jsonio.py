"""JSON text in and out: fast with orjson, lossless and byte-exact always.

- :func:`loads`: parse bytes, losslessly
- :func:`dump`, :func:`encode`: write as ``json.dump`` does, byte for byte
- :func:`brief`, :func:`type_name`: a value or its type, for messages
- :func:`is_id`, :data:`NUMBER_TYPES`: what parsed ids and numbers are

Reading parses with orjson and falls back to the standard library only for
what orjson cannot represent: the non-standard constants ``NaN``,
``Infinity`` and ``-Infinity`` (real files have them, e.g. TACO's bboxes),
numbers beyond the range of a double, and integers beyond 64 bits (orjson
reads them as floats, which would lose digits).

Writing gives exactly the bytes of ``json.dump(value, f, ensure_ascii=False,
separators=(",", ":"))``: orjson writes the same text except for non-finite
floats (it writes ``null``), floats under 1e-4 (``1e-5`` rather than
``1e-05``) and integers beyond 64 bits (it refuses them), so any piece of
output where one of those may occur is written by the standard library.
"""

import contextlib
import gc
import json
import re
import sys

import orjson

#: orjson parses at most this many nested levels. The standard library's
#: fallback stops where the interpreter's recursion limit does, which is
#: lower (its default is 1,000 calls, the caller's included): a text that
#: only the fallback reads is refused as too deep a little earlier
MAX_DEPTH = 1024

#: The Python types of parsed JSON numbers (bool, an int subclass, is not
#: one)
NUMBER_TYPES = frozenset((int, float))

#: records encoded per orjson call when writing a long list: bounds the
#: memory of the text in flight and confines a fallback to one piece
PIECE = 2048

_UTF8_BOM = b"\xef\xbb\xbf"
_NON_FINITE = ("NaN", "Infinity")
# Digits become a byte that UTF-8 text never holds (0xFF), so that no other
# character of the text can extend a run of them
_DIGIT = 0xFF
_DIGITS_TO_MARKS = bytes.maketrans(b"0123456789", bytes([_DIGIT]) * 10)
_WIDE_DIGITS = bytes([_DIGIT]) * 19  # 2**63 has 19 digits
_SCAN = 1 << 24
_INT_LIMITS = (-(2**63), 2**64 - 1)  # what orjson reads exactly
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class JSONError(ValueError):
    """A text that is not JSON tfdp can read or a value it cannot write.

    The message says what is wrong, without the file name.
    """


def loads(raw):
    """Parses JSON bytes, losslessly.

    A UTF-8 byte order mark is ignored. The cyclic garbage collector is off
    while parsing: a parsed document has no cycles, and collections over
    millions of new objects double the time.

    Args:
        raw: the bytes

    Returns:
        the parsed value

    Raises:
        JSONError: if the bytes are not UTF-8 JSON, are nested deeper than
            :data:`MAX_DEPTH`, or hold a string that is not valid Unicode
    """
    view = memoryview(raw)
    if raw[:3] == _UTF8_BOM:
        view = view[3:]
    try:
        with gc_paused():
            try:
                value = orjson.loads(view)
            except orjson.JSONDecodeError as e:
                if not _stdlib_can_read(e):
                    raise JSONError(_decode_message(e)) from None
                return _stdlib_loads(view)
            if _has_wide_integer(view):
                return _stdlib_loads(view)
            return value
    finally:
        view.release()


@contextlib.contextmanager
def gc_paused():
    """Pauses the cyclic garbage collector while many acyclic objects are
    built (a parsed document, decoded database records): it would scan them
    again and again, each time more of them, for nothing. Reference counting
    still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stdlib_can_read(error):
    # orjson stops at the first such value; the standard library reads
    # them all
    if error.msg.startswith("number is infinity"):
        return True
    doc = error.doc
    return bool(doc) and doc.startswith(_NON_FINITE, error.pos)


def _decode_message(error):
    if error.msg.startswith("str is not valid UTF-8"):
        return "not UTF-8 text"
    if error.msg.startswith("Input is a zero-length"):
        return "empty file, not JSON"
    if "depth limit" in error.msg or "recursion" in error.msg.lower():
        return "invalid JSON: nested more than %d levels deep" % MAX_DEPTH
    return "invalid JSON at line %d column %d: %s" % (
        error.lineno,
        error.colno,
        error.msg,
    )


def _has_wide_integer(view):
    # A run of 19 or more digits is rare in COCO files; only such a run can
    # be an integer orjson read as a float. Runs inside strings or
    # fractions are found too, then checked and passed over.
    start = 0
    while start < len(view):
        block = bytes(view[start : start + _SCAN + 24]).translate(
            _DIGITS_TO_MARKS
        )
        found = block.find(_WIDE_DIGITS)
        while found != -1:
            begin = found
            while begin > 0 and block[begin - 1] == _DIGIT:
                begin -= 1
            end = found + len(_WIDE_DIGITS)
            while end < len(block) and block[end] == _DIGIT:
                end += 1
            if _is_wide_integer(
                bytes(view[start + begin : start + end]),
                view,
                start + begin,
                start + end,
            ):
                return True
            found = block.find(_WIDE_DIGITS, end)
        start += _SCAN
    return False


def _is_wide_integer(digits, view, begin, end):
    before = bytes(view[max(begin - 1, 0) : begin]) if begin else b""
    after = bytes(view[end : end + 1])
    if before in (b".", b"e", b"E", b"+") or after in (b".", b"e", b"E"):
        return False  # part of a float, which orjson reads as the stdlib
    if len(digits) > 20:
        return True
    value = int(digits)
    if before == b"-":
        value = -value
    return not _INT_LIMITS[0] <= value <= _INT_LIMITS[1]


def _stdlib_loads(view):
    try:
        text = str(view, "utf-8")
    except UnicodeDecodeError:
        raise JSONError("not UTF-8 text") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONError(
            "invalid JSON: nested more than %d levels deep" % MAX_DEPTH
        ) from None
    except json.JSONDecodeError as e:
        raise JSONError(
            "invalid JSON at line %d column %d: %s"
            % (e.lineno, e.colno, e.msg)
        ) from None
    except ValueError as e:
        if "int_max_str_digits" in str(e):
            raise JSONError(
                "invalid JSON: an integer of more than %d digits"
                % sys.get_int_max_str_digits()
            ) from None
        raise JSONError("invalid JSON: %s" % e) from None
    if _SURROGATE_ESCAPE.search(view):
        _check_unicode(value)
    return value


def _check_unicode(value):
    # orjson refuses a lone surrogate (\ud800): so does the fallback, which
    # would otherwise accept a string that cannot be written as UTF-8
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONError(
                    "invalid JSON: a string holds a lone surrogate %r"
                    % item[:40]
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def dump(value, f):
    """Writes a value as compact UTF-8 JSON.

    The bytes are those of ``json.dump(value, f, ensure_ascii=False,
    separators=(",", ":"))`` to a UTF-8 file. A dict's long lists (a COCO
    file's ``images`` and ``annotations``) are written piece by piece, so the
    text is never all in memory.

    Args:
        value: a JSON-serialisable value
        f: a binary file

    Raises:
        JSONError: if the value cannot be written as JSON
    """
    if type(value) is dict and all(type(k) is str for k in value):
        f.write(b"{")
        for i, (key, item) in enumerate(value.items()):
            f.write(b"," if i else b"")
            f.write(encode(key))
            f.write(b":")
            _dump_list_or_value(item, f)
        f.write(b"}")
    else:
        _dump_list_or_value(value, f)


def _dump_list_or_value(value, f):
    if type(value) is not list or len(value) <= PIECE:
        f.write(encode(value))
        return
    f.write(b"[")
    for start in range(0, len(value), PIECE):
        if start:
            f.write(b",")
        piece = encode(value[start : start + PIECE])
        f.write(memoryview(piece)[1:-1])
    f.write(b"]")


def encode(value):
    """Compact JSON bytes, as ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":")).encode()``.

    Args:
        value: a JSON-serialisable value

    Returns:
        bytes

    Raises:
        JSONError: if the value cannot be written as JSON
    """
    try:
        text = orjson.dumps(value)
    except TypeError:  # beyond 64 bits, 255 levels deep, a lone surrogate
        return _stdlib_encode(value)
    if b"null" in text or b"e-" in text or b"0.0000" in text:
        # maybe a non-finite float (written null) or one under 1e-4
        return _stdlib_encode(value)
    return text


def _stdlib_encode(value):
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")
    except RecursionError:
        raise JSONError(
            "cannot write JSON nested more than %d levels deep" % MAX_DEPTH
        ) from None
    except (TypeError, ValueError) as e:
        raise JSONError("cannot write as JSON: %s" % e) from None


def brief(value, limit=80):
    """A short JSON-like text of a value, for messages; safe on any value."""
    text = _brief(value, 3)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _brief(value, depth):
    if isinstance(value, (list, tuple)):
        if depth == 0:
            return "[...]" if value else "[]"
        items = [_brief(v, depth - 1) for v in value[:6]]
        return "[%s%s]" % (", ".join(items), ", ..." if len(value) > 6 else "")
    if isinstance(value, dict):
        if depth == 0:
            return "{...}" if value else "{}"
        items = [
            "%s: %s" % (_brief(k, 0), _brief(v, depth - 1))
            for k, v in list(value.items())[:4]
        ]
        return "{%s%s}" % (", ".join(items), ", ..." if len(value) > 4 else "")
    if isinstance(value, str):
        value = value[:60]
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 200:
            return "%d-bit integer" % value.bit_length()
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return type(value).__name__


def type_name(value):
    """The JSON name of a value's type (``"object"``, ``"list"``,
    ``"string"``...), for messages; the Python name of any other type."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


_TYPE_NAMES = {
    dict: "object",
    list: "list",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def is_id(value):
    """Whether a parsed value can be a record's id: an int or a string.

    The types are tested exactly, as the parser makes them: ``1`` and
    ``"1"`` are two ids, while ``true`` and ``1.0`` are none (in a dict they
    would match the id ``1``).
    """
    return type(value) is int or type(value) is str
