"""JSON in and out: lossless, byte for byte what the standard library
writes, and clean refusals."""

import json
import sys

import pytest
from hand_made import dumped, stdlib_bytes

from tfdp import coco, jsonio
from tfdp.errors import TFDPError

MESSY = {
    "wide": [2**64, 2**64 - 1, -(2**63), -(2**63) - 1, 10**30, -(10**40)],
    "text": [
        "é",
        "😀",
        "\u2028",
        "\x00\x1f\x7f",
        'quote " and \\ and /',
        "Ünïcødé " * 3,
    ],
    "floats": [
        1e-05,
        1.5e-07,
        5e-324,
        0.0001,
        1e16,
        1e15,
        -0.0,
        1e300,
        0.30000000000000004,
        123456.789e-9,
    ],
    "constants": [float("nan"), float("inf"), float("-inf"), None, True],
    "deep": [
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
    ],
}


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("key", sorted(MESSY))
def test_messy_values_are_written_as_the_standard_library(key):
    value = {"images": [], key: MESSY[key]}
    assert dumped(value) == stdlib_bytes(value)
    assert jsonio.encode(MESSY[key]) == stdlib_bytes(MESSY[key])


def test_long_lists_are_written_piece_by_piece_exactly():
    # one wide integer and one tiny float in a list of many pieces: those
    # pieces fall back, the others do not, and the bytes are one text
    records = [{"id": i, "x": i / 7, "name": "é%d" % i} for i in range(9000)]
    records[5000]["id"] = 2**70
    records[7000]["x"] = 1e-7
    value = {"info": {"year": 2024}, "annotations": records, "empty": []}
    assert dumped(value) == stdlib_bytes(value)
    deep = {"annotations": [nested(300)] * (jsonio.PIECE + 1)}
    assert dumped(deep) == stdlib_bytes(deep)  # orjson stops at 255 levels


def test_wide_integers_are_read_exactly(tmp_path):
    path = tmp_path / "wide.json"
    text = (
        '{"images": [{"id": 123456789012345678901234567890, "width": 10,'
        ' "height": 10, "file_name": "\\u00e9t\\u00e9.jpg"}],'
        ' "annotations": [], "x": -9223372036854775809,'
        ' "y": 18446744073709551615, "z": 0.12345678901234567890123}'
    )
    path.write_text(text)
    data = coco.load_json(str(path))
    assert data == json.loads(text)
    assert data["images"][0]["id"] == 123456789012345678901234567890
    assert data["x"] == -9223372036854775809
    assert dumped(data) == stdlib_bytes(json.loads(text))


@pytest.mark.parametrize(
    "text, wide",
    [
        (b'{"a": 18446744073709551615}', False),  # the largest orjson reads
        (b'{"a": 18446744073709551616}', True),
        (b'{"a": -9223372036854775808}', False),
        (b'{"a": -9223372036854775809}', True),
        (b'{"a": 0.1234567890123456789012}', False),  # a fraction: a float
        (b'{"a": 12345678901234567890123.5}', False),
        (b'{"a": "12345678901234567890123"}', True),  # in a string: checked
        (b'{"a": [1e1234567890123456789012]}', False),
        # letters are not digits, even beside digits (compressed RLE counts
        # are such text)
        (b'{"a": "DDDDDDDDDDDDDDDDDDD"}', False),
        (b'{"a": "123456789012345678D"}', False),
        (b'{"a": "0103090D000406050D0"}', False),
        (b'{"a": "D12345678901234567890123D"}', True),
    ],
)
def test_wide_integer_scan(text, wide):
    assert jsonio._has_wide_integer(memoryview(text)) is wide


def test_letters_among_digits_read_as_any_text(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(
        '{"images":[{"id":1,"width":4,"height":4}],"annotations":[],'
        '"categories":[],"info":{"description":"DDDDDDDDDDDDDDDDDDD",'
        '"rle":"0103090D000406050D0"}}'
    )
    data = coco.load_json(str(path))
    assert data["info"] == {
        "description": "D" * 19,
        "rle": "0103090D000406050D0",
    }


def test_integers_orjson_would_turn_into_floats_stay_integers():
    # the scan goes block by block: a run of digits across a block boundary
    text = b" " * (jsonio._SCAN - 10) + b'{"a": [18446744073709551616]}'
    assert jsonio.loads(text) == {"a": [18446744073709551616]}
    assert type(jsonio.loads(text)["a"][0]) is int


@pytest.mark.parametrize(
    "content, message",
    [
        (b"[" * 200_000 + b"]" * 200_000, "nested more than 1024 levels"),
        (
            b'{"images": [], "annotations": '
            + b"[" * 5000
            + b"]" * 5000
            + b"}",
            "nested more than 1024 levels",
        ),
        (
            b"[NaN, " + b"[" * 5000 + b"]" * 5000 + b"]",
            "nested more than 1024 levels",
        ),
        (b'{"a": "\\ud800"}', "surrogate"),
        (b'{"a": NaN, "b": "\\udc00x"}', "lone surrogate"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b'{"a": "\xe9"}', "not UTF-8"),
        (b"", "empty file"),
        (b"{not json", "invalid JSON at line 1 column 2"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "invalid JSON"),
    ],
)
def test_refused_text(content, message):
    with pytest.raises(jsonio.JSONError, match=message):
        jsonio.loads(content)


def test_accepted_text_as_the_standard_library():
    assert jsonio.loads(b"\xef\xbb\xbf[1]") == [1]  # a UTF-8 BOM is ignored
    assert jsonio.loads(b"[1e400, -Infinity]") == [float("inf")] * 1 + [
        float("-inf")
    ]
    assert jsonio.loads(b'{"a": 1, "a": 2}') == {"a": 2}
    value = jsonio.loads(b"[" * 1000 + b"]" * 1000)
    for _ in range(999):
        (value,) = value
    assert value == []


def test_load_json_names_the_file(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(TFDPError, match="deep.json: invalid JSON: nested"):
        coco.load_json(str(path))


def test_unwritable_values_are_refused_cleanly():
    with pytest.raises(jsonio.JSONError, match="cannot write"):
        jsonio.encode({"a": object()})
    with pytest.raises(jsonio.JSONError, match="nested more than"):
        jsonio.encode(nested(5000))


def test_brief_is_short_and_safe():
    assert jsonio.brief("0") == '"0"'
    assert jsonio.brief(None) == "null"
    assert jsonio.brief(nested(100_000)) == "[[[[...]]]]"
    assert jsonio.brief(2**5000) == "5001-bit integer"
    assert jsonio.brief(10**5000) == "16610-bit integer"
    assert len(jsonio.brief(list(range(1000)))) <= 80


def test_the_fallback_refuses_deep_texts_cleanly():
    # the standard library reads what orjson cannot (here a wide integer)
    # within the interpreter's recursion limit, which it leaves as it is
    limit = sys.getrecursionlimit()
    text = b"[" * 500 + b"123456789012345678901234567890" + b"]" * 500
    assert jsonio.encode(jsonio.loads(text)) == text
    deeper = b"[" * 1024 + b"123456789012345678901234567890" + b"]" * 1024
    with pytest.raises(
        jsonio.JSONError, match="nested more than 1024 levels deep"
    ):
        jsonio.loads(deeper)
    assert sys.getrecursionlimit() == limit


def test_gc_paused_restores_the_collector_as_it_found_it():
    import gc

    assert gc.isenabled()
    with pytest.raises(KeyError):
        with jsonio.gc_paused():
            assert not gc.isenabled()
            raise KeyError("x")
    assert gc.isenabled()  # also after an error
    gc.disable()
    try:
        with jsonio.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that paused it keeps it so
    finally:
        gc.enable()
