"""JsonSplitter: framing of back-to-back JSON texts."""

from __future__ import annotations

import random

import orjson
import pytest

from pyovn.jsonrpc.stream import MAX_DEPTH, FramingError, JsonSplitter

MESSAGES: list[object] = [
    {"method": "echo", "params": [], "id": "echo"},
    {"method": "transact", "params": ["db", {"op": "insert", "row": {"name": "a}b{c"}}], "id": 1},
    {"s": 'quote " and backslash \\ and \\" and }]{[ inside', "t": ["\\", "\\\\", "\\\""]},
    {"nested": {"a": [1, [2, [3, {"b": [[], {}]}]]]}, "f": 1.5, "n": None, "t": True},
    {"unicode": "é中文 😀 \u2028", "esc": "\n\t\u0001"},
    [1, 2, {"x": "]"}],
    {},
    [],
]


def stream_bytes() -> bytes:
    parts = [orjson.dumps(m) for m in MESSAGES]
    # Mix in whitespace between messages, as allowed.
    return b"".join(p + (b" \n\t " if i % 2 else b"") for i, p in enumerate(parts))


def feed_chunks(splitter: JsonSplitter, data: bytes, cuts: list[int]) -> list[object]:
    out: list[object] = []
    prev = 0
    for c in [*cuts, len(data)]:
        out += splitter.feed(data[prev:c])
        prev = c
    return out


def test_single_message_fast_path() -> None:
    s = JsonSplitter()
    assert s.feed(b'{"method":"echo","params":[],"id":0}') == [
        {"method": "echo", "params": [], "id": 0}
    ]
    assert s.buffered == 0
    assert not s.has_partial()


def test_multiple_messages_in_one_chunk() -> None:
    data = stream_bytes()
    assert JsonSplitter().feed(data) == MESSAGES


@pytest.mark.parametrize("two_cuts", [False, True])
def test_split_at_every_offset(two_cuts: bool) -> None:
    data = stream_bytes()
    for i in range(len(data) + 1):
        cuts = [i, min(len(data), i + 7)] if two_cuts else [i]
        assert feed_chunks(JsonSplitter(), data, cuts) == MESSAGES, i


def test_byte_at_a_time() -> None:
    data = stream_bytes()
    s = JsonSplitter()
    out: list[object] = []
    for i in range(len(data)):
        out += s.feed(data[i : i + 1])
    assert out == MESSAGES
    assert not s.has_partial()


def test_partial_is_reported_and_held() -> None:
    s = JsonSplitter()
    assert s.feed(b'{"a": "x}') == []
    assert s.has_partial()
    assert s.feed(b'"}  ') == [{"a": "x}"}]
    assert not s.has_partial()


def big_message(n: int, tag: str = "") -> dict[str, object]:
    rows = {
        f"{i:08x}-0000": {
            "name": f"ls{i}{tag}",
            "match": 'outport == "p\\"{[' + str(i) + '" && ip4',
            "ports": ["set", [["uuid", f"{j:032x}"] for j in range(3)]],
            "ext": ["map", [["k}", "v]"], ["é", "\\"]]],
        }
        for i in range(n)
    }
    return {"method": "update", "params": [None, {"T": rows}], "id": None}


@pytest.mark.parametrize("chunk", [1000, 4096, 65536, 262144, 99991])
def test_big_messages_chunked(chunk: int) -> None:
    msgs = [big_message(3000, "a"), {"id": 5, "result": [], "error": None}, big_message(2000)]
    data = b"\n".join(orjson.dumps(m) for m in msgs)
    assert len(data) > 4 * 65536
    s = JsonSplitter()
    out: list[object] = []
    for i in range(0, len(data), chunk):
        out += s.feed(data[i : i + chunk])
    assert out == msgs
    assert s.buffered == 0


def test_big_messages_whole() -> None:
    msgs = [big_message(1500), big_message(10), big_message(1500, "z")]
    data = b"".join(orjson.dumps(m) for m in msgs)
    assert JsonSplitter().feed(data) == msgs


def test_random_chunking() -> None:
    rnd = random.Random(1234)
    msgs = [*MESSAGES, big_message(800), *MESSAGES]
    data = b"  ".join(orjson.dumps(m) for m in msgs)
    for _ in range(30):
        cuts = sorted(rnd.sample(range(len(data)), rnd.randint(1, 60)))
        assert feed_chunks(JsonSplitter(), data, cuts) == msgs


def test_many_small_messages_in_a_large_read() -> None:
    msgs = [{"method": "transact", "params": ["db", {"i": i, "s": "}" * (i % 5)}], "id": i}
            for i in range(5000)]
    data = b"".join(orjson.dumps(m) for m in msgs)
    s = JsonSplitter()
    out: list[object] = []
    for i in range(0, len(data), 65536):
        out += s.feed(data[i : i + 65536])
    assert out == msgs


# --- hostile input ------------------------------------------------------------------------


def test_max_size_unterminated_string() -> None:
    s = JsonSplitter(max_size=1 << 20)
    assert s.feed(b'{"a": "') == []
    with pytest.raises(FramingError, match="exceeds the maximum"):
        for _ in range(100):
            s.feed(b"x" * 65536)


def test_max_size_whole_message() -> None:
    msg = orjson.dumps({"a": "x" * 2000})
    assert JsonSplitter(max_size=len(msg)).feed(msg) == [{"a": "x" * 2000}]
    with pytest.raises(FramingError, match="exceeds the maximum"):
        JsonSplitter(max_size=len(msg) - 1).feed(msg)
    # A good message before the bad one is delivered; the error comes with the next call.
    s = JsonSplitter(max_size=len(msg) - 1)
    assert s.feed(b"{}" + msg) == [{}]
    assert isinstance(s.error, FramingError)
    with pytest.raises(FramingError, match="exceeds the maximum"):
        s.feed(b"")
    with pytest.raises(FramingError, match="exceeds the maximum"):
        s.feed(b"{}")


def test_long_string_across_reads_is_fine() -> None:
    s = JsonSplitter()
    assert s.feed(b'{"a": "') == []
    for _ in range(40):
        assert s.feed(b'x\\"' * 20000) == []
    assert s.feed(b'"}') == [{"a": 'x"' * 800000}]


def test_bad_max_size() -> None:
    with pytest.raises(ValueError):
        JsonSplitter(max_size=0)


@pytest.mark.parametrize("opener", [b"[", b"{\"a\":"])
def test_deep_nesting_is_refused_without_recursion(opener: bytes) -> None:
    with pytest.raises(FramingError, match="nesting depth"):
        JsonSplitter().feed(b"[" + opener * 100000)
    s = JsonSplitter()
    with pytest.raises(FramingError, match="nesting depth"):
        for _ in range(100):
            s.feed(b"[" * 1000)
    with pytest.raises(FramingError):
        JsonSplitter().feed(b"[" * 100000 + b"]" * 100000)


def test_nesting_at_the_limit_is_accepted() -> None:
    data = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert len(JsonSplitter().feed(data)) == 1
    assert len(JsonSplitter().feed(b" " + data + data)) == 2
    with pytest.raises(FramingError):
        JsonSplitter().feed(b" " + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\xff\xfe",
        b"hello",
        b'"just a string"',
        b"42 ",
        b"}",
        b"]{}",
        b'{"a" 1}',
        b'{"a": tru}',
        b"{]",
        b'{"a": 1}x',
        b'{"a": 1},{"b": 2}',
        b'{"a": "\xff\xfe"}',
        b'{"a": "\xc3"}',
        b'{"a": NaN}',
        b"{'a': 1}",
    ],
)
def test_junk_gives_framing_error(data: bytes) -> None:
    s = JsonSplitter()
    with pytest.raises(FramingError):
        good = s.feed(data)
        assert good == [{"a": 1}]  # only a good message ahead of the junk comes out
        s.feed(b"")
    # Same when it arrives byte by byte.
    s = JsonSplitter()
    with pytest.raises(FramingError):
        for i in range(len(data)):
            s.feed(data[i : i + 1])
        # Some junk is only recognisable once a later message starts.
        s.feed(b"{}")


def test_random_binary_junk_never_crashes() -> None:
    rnd = random.Random(99)
    for _ in range(300):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 200)))
        s = JsonSplitter(max_size=4096)
        try:
            for obj in s.feed(data):
                assert isinstance(obj, dict | list)
        except FramingError:
            pass


def test_non_utf8_split_multibyte_is_fine() -> None:
    data = orjson.dumps({"a": "é" * 10})
    for i in range(len(data)):
        assert feed_chunks(JsonSplitter(), data, [i]) == [{"a": "é" * 10}]
