"""Framing for OVSDB's JSON-RPC: JSON texts sent back to back with no delimiter.

RFC 7047 streams carry one JSON object after another.  The splitter finds the
boundaries and decodes each message with orjson.  The common case, a read that
holds exactly one whole message, costs a single ``orjson.loads``; otherwise an
incremental scanner walks the bytes once (never rescanning across reads), using
regular expressions so that the Python loop runs per token, not per byte.
"""

from __future__ import annotations

import re

import orjson

__all__ = ["DEFAULT_MAX_SIZE", "MAX_DEPTH", "FramingError", "JsonSplitter"]

DEFAULT_MAX_SIZE = 64 * 1024 * 1024

# orjson refuses documents nested deeper than this; the scanner uses the same limit so that
# a message is accepted or refused the same way whichever path decodes it.
MAX_DEPTH = 1024

_WHITESPACE = b" \t\r\n"

# Inside a message, skip everything that cannot change nesting: numbers, literals, ',',
# ':', whitespace and complete strings.  Stops at a bracket, at the opening quote of a
# string that the buffer does not complete, or at the end.  Possessive quantifiers keep
# the engine from saving backtracking state.
_SKIP_TOKENS = re.compile(rb'(?:[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
# Everything but brackets, for counting nesting in bulk.
_NON_BRACKETS = re.compile(rb'(?:[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+")++', re.DOTALL)
# Complete tokens and brackets: stops only at an unfinished string's opening quote.
_SKIP_TOKENS_OR_BRACKETS = re.compile(
    rb'(?:[^"]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL
)
_TO_PARENS = bytes.maketrans(b"{[}]", b"(())")
# Partial messages up to this size are checked for bad tokens as they arrive.
_EARLY_CHECK_MAX = 64 * 1024
_COMPLETE_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BAD_OUTSIDE_STRINGS = re.compile(rb'[^\s,:{}\[\]0-9eE.+\-truefalsn"]')
# How much of the buffer the first orjson attempt on a message looks at.
_WINDOW = 4096
# Below this many unscanned bytes the token loop is cheaper than the bulk check.
_BULK_MIN = 32 * 1024
# Bulk check gives up (and lets the token loop decide) past this much nesting in one read.
_BULK_MAX_PASSES = 64
# Inside a string, skip plain bytes and complete escape pairs; stops at '"', at a lone
# trailing backslash, or at the end of the buffer.
_SKIP_STRING = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_SKIP_WHITESPACE = re.compile(rb"[ \t\r\n]*+")

_OPEN = frozenset(b"{[")
_CLOSE = frozenset(b"}]")
_QUOTE = ord('"')


class FramingError(Exception):
    """The byte stream is not a sequence of JSON texts; the connection must be dropped."""


class JsonSplitter:
    """Splits a byte stream into decoded JSON messages.

    Top-level values must be objects or arrays (OVS's parser accepts both; telling a
    JSON-RPC message from other JSON is message.classify()'s job).  After a FramingError
    the splitter's state is unspecified: the caller should close the connection.
    """

    __slots__ = ("_buf", "_depth", "_error", "_in_string", "_max_size", "_pos", "_start", "_tries")

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE) -> None:
        if max_size <= 0:
            raise ValueError("max_size must be positive")
        self._max_size = max_size
        self._buf = bytearray()
        # Scanner state: offset of the current message's first byte in _buf (-1 when between
        # messages), offset of the next byte to scan, nesting depth, and whether _pos is
        # inside a string literal.
        self._start = -1
        self._pos = 0
        self._depth = 0
        self._in_string = False
        self._tries = 0  # orjson attempts made on the current message
        self._error: FramingError | None = None

    @property
    def max_size(self) -> int:
        return self._max_size

    @property
    def buffered(self) -> int:
        """Bytes held back as the start of an incomplete message."""
        return len(self._buf)

    def has_partial(self) -> bool:
        """True if the stream ended now would cut a message in half."""
        return self._start >= 0 or bool(self._buf.strip(_WHITESPACE))

    def feed(self, data: bytes) -> list[object]:
        """Adds `data` to the stream; returns every message completed by it, in order.

        Raises FramingError at the first bad byte; messages that arrived before it in
        the same call are returned first, and the error is raised by the next call.
        """
        if self._error is not None:
            raise self._error
        if not self._buf:
            if not data:
                return []
            # Fast path: exactly one whole message in this read.
            end = data.rstrip(_WHITESPACE)[-1:]
            if (end == b"}" or end == b"]") and len(data) <= self._max_size:
                try:
                    obj = orjson.loads(data)
                except orjson.JSONDecodeError:
                    pass  # several messages, a partial one, or garbage: scan below
                else:
                    if isinstance(obj, dict | list):
                        return [obj]
        self._buf += data
        messages: list[object] = []
        try:
            self._scan(messages)
        except FramingError as exc:
            self._error = exc
            if not messages:
                raise
        return messages

    @property
    def error(self) -> FramingError | None:
        """The error that stopped the stream, if any (raised again by feed())."""
        return self._error

    def _scan(self, messages: list[object]) -> None:
        buf = self._buf
        n = len(buf)
        pos = self._pos
        start = self._start
        depth = self._depth
        in_string = self._in_string
        tries = self._tries
        max_size = self._max_size
        no_bulk_before = 0
        ends_here = False

        while pos < n:
            if in_string:
                pos = _SKIP_STRING.match(buf, pos).end()  # type: ignore[union-attr]
                if pos >= n or buf[pos] != _QUOTE:
                    break  # string (or an escape pair) continues in the next read
                pos += 1
                in_string = False
                continue
            if start < 0:
                pos = _SKIP_WHITESPACE.match(buf, pos).end()  # type: ignore[union-attr]
                if pos >= n:
                    break
                if buf[pos] not in _OPEN:
                    raise FramingError(_describe_junk(buf, pos))
                start = pos
                depth = 1
                pos += 1
                tries = 0
                continue
            if tries == 0 or (tries < 3 and ends_here):
                # Let orjson find where the message ends: first within a small window
                # (a failed orjson.loads costs time in proportion to its input), then,
                # for a message larger than that, in everything buffered; once more
                # when the bulk check below says that the message ends in what we have.
                found: tuple[int, object] | bool | None = None
                if tries == 0:
                    tries = 1
                    found = _decode_first(buf, start, min(n, start + _WINDOW))
                    if found is True and n - start > _WINDOW:
                        tries = 2
                        found = _decode_first(buf, start, n)
                elif ends_here:
                    tries = 3
                    found = _decode_first(buf, start, n)
                ends_here = False
                if isinstance(found, tuple):
                    end, obj = found
                    if end - start > max_size:
                        raise FramingError(_too_big(end - start, max_size))
                    messages.append(obj)
                    start = -1
                    pos = end
                    continue
            if n - pos >= _BULK_MIN and pos >= no_bulk_before:
                # A large message spread over many reads: find out at C speed whether it
                # can end in what we have; if not, skip to the end without a token loop.
                skipped = _skip_bulk(buf, pos, depth)
                if skipped is not None:
                    pos, depth = skipped
                    if depth > MAX_DEPTH:
                        raise FramingError(f"input exceeds maximum nesting depth {MAX_DEPTH}")
                    if pos < n:  # stopped at the opening quote of an unfinished string
                        pos += 1
                        in_string = True
                    continue
                no_bulk_before = n  # a message ends in here
                ends_here = True
                continue
            pos = _SKIP_TOKENS.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                break
            c = buf[pos]
            pos += 1
            if c == _QUOTE:
                in_string = True  # a string that continues past the end of the buffer
            elif c in _OPEN:
                depth += 1
                if depth > MAX_DEPTH:
                    raise FramingError(f"input exceeds maximum nesting depth {MAX_DEPTH}")
            else:  # closing bracket
                depth -= 1
                if depth == 0:
                    if pos - start > max_size:
                        raise FramingError(_too_big(pos - start, max_size))
                    try:
                        messages.append(orjson.loads(buf[start:pos]))
                    except orjson.JSONDecodeError as exc:
                        raise FramingError(f"invalid JSON message: {exc}") from None
                    start = -1

        if start >= 0 and n - start > max_size:
            raise FramingError(_too_big(n - start, max_size))
        if start >= 0 and n - start <= _EARLY_CHECK_MAX:
            # A small partial message: refuse a bad token now, as Open vSwitch's lexer does,
            # rather than waiting for a closing bracket that may never come.
            _check_partial(buf, start, n)

        # Drop what has been consumed; keep a partial message (or nothing).
        cut = start if start >= 0 else pos
        if cut:
            del buf[:cut]
            pos -= cut
            if start >= 0:
                start -= cut
        self._pos = pos
        self._start = start
        self._depth = depth
        self._in_string = in_string
        self._tries = tries


def _decode_first(buf: bytearray, start: int, stop: int) -> tuple[int, object] | bool:
    """Decodes the message at buf[start:stop] with orjson if orjson can tell where it ends.

    Returns (end offset, value); True if buf[start:stop] is a valid but incomplete
    message; False to leave the message to the scanner (invalid, or a boundary that
    could not be confirmed).
    """
    with memoryview(buf) as mv:
        try:
            return stop, orjson.loads(mv[start:stop])
        except orjson.JSONDecodeError as exc:
            if exc.msg == "unexpected end of data":
                return True
            if exc.msg != "unexpected content after document":
                return False
            chars = exc.pos  # where the next message starts, counted in characters
        end = start + chars
        if _NON_ASCII.search(buf, start, end) is not None:
            # Count bytes: decode only as much as `chars` characters can possibly take.
            text = str(mv[start : min(stop, start + 4 * chars)], "utf-8", "surrogateescape")
            end = start + len(text[:chars].encode("utf-8", "surrogateescape"))
        try:
            # A proper prefix of an object or array is never valid JSON, so success here
            # confirms the boundary.
            return end, orjson.loads(mv[start:end])
        except orjson.JSONDecodeError:
            return False


def _skip_bulk(buf: bytearray, pos: int, depth: int) -> tuple[int, int] | None:
    """If no message can end in buf[pos:], returns where scanning must resume (the end,
    or the opening quote of an unfinished string) and the depth there; else None.

    Works on the bracket skeleton: strings and other tokens removed, matched "()" pairs
    removed repeatedly, leaving k unmatched closers then m openers.  The current message
    cannot end unless k >= depth.
    """
    end = _SKIP_TOKENS_OR_BRACKETS.match(buf, pos).end()  # type: ignore[union-attr]
    skeleton = _NON_BRACKETS.sub(b"", buf[pos:end]).translate(_TO_PARENS)
    for _ in range(_BULK_MAX_PASSES):
        reduced = skeleton.replace(b"()", b"")
        if len(reduced) == len(skeleton):
            break
        skeleton = reduced
    else:
        return None
    closers = len(skeleton) - len(skeleton.lstrip(b")"))
    if closers >= depth or b")" in skeleton[closers:]:
        return None
    return end, depth - closers + (len(skeleton) - closers)


def _too_big(size: int, limit: int) -> str:
    return f"message of at least {size} bytes exceeds the maximum of {limit} bytes"


def _describe_junk(buf: bytearray, pos: int) -> str:
    snippet = bytes(buf[pos : pos + 16])
    return f"syntax error: expected '{{' or '[' to start a message, got {snippet!r}"


def _check_partial(buf: bytearray, start: int, end: int) -> None:
    """Raises FramingError if the text outside strings of an unfinished message holds a
    character that no JSON token can contain (a letter outside true/false/null, say)."""
    text = bytes(buf[start:end])
    outside = _COMPLETE_STRING.sub(b"", text)
    quote = outside.find(b'"')
    if quote >= 0:
        outside = outside[:quote]  # an unfinished string: its contents are not tokens
    bad = _BAD_OUTSIDE_STRINGS.search(outside)
    if bad is not None:
        char = outside[bad.start() : bad.start() + 1]
        raise FramingError(f"syntax error: unexpected character {char!r}")
