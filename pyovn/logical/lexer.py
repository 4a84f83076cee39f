"""Lexer for the logical flow language (shared by match expressions and actions).

The whole input is tokenised up front: logical flows are short and the parser then
only walks a list.  Every token records its character offset so errors can name it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any, Final

# Token types.
END: Final = "end"
ID: Final = "id"
STRING: Final = "string"
INTEGER: Final = "integer"  # value, optional mask, fmt
MACRO: Final = "$"  # address set reference
PORT_GROUP: Final = "@"  # port group reference
TEMPLATE: Final = "^"  # template variable reference
LPAREN: Final = "("
RPAREN: Final = ")"
LCURLY: Final = "{"
RCURLY: Final = "}"
LSQUARE: Final = "["
RSQUARE: Final = "]"
EQ: Final = "=="
NE: Final = "!="
LT: Final = "<"
LE: Final = "<="
GT: Final = ">"
GE: Final = ">="
NOT: Final = "!"
AND: Final = "&&"
OR: Final = "||"
ELLIPSIS: Final = ".."
COMMA: Final = ","
SEMICOLON: Final = ";"
EQUALS: Final = "="
EXCHANGE: Final = "<->"
DECREMENT: Final = "--"
COLON: Final = ":"
MINUS: Final = "-"

# Integer formats, kept so that values print back the way they were written and so
# that CIDR masks are only accepted where they make sense.
DEC: Final = "dec"
HEX: Final = "hex"
IPV4: Final = "ipv4"
IPV6: Final = "ipv6"
ETHERNET: Final = "mac"


class LexError(ValueError):
    """A lexical or syntax error, with the offending position in the input."""

    def __init__(self, msg: str, pos: int | None = None) -> None:
        self.msg = msg
        self.pos = pos
        super().__init__(msg if pos is None else f"{msg} (at offset {pos})")


class Token:
    __slots__ = ("fmt", "mask", "pos", "type", "value")

    def __init__(self, type_: str, pos: int, value: Any = None, mask: int | None = None,
                 fmt: str = DEC) -> None:
        self.type = type_
        self.pos = pos
        # int for INTEGER, str for ID/STRING/references, None otherwise.
        self.value: Any = value
        self.mask = mask
        self.fmt = fmt

    def __repr__(self) -> str:
        if self.type == INTEGER:
            return f"Token({self.type}, {self.value!r}/{self.mask!r}, {self.fmt})"
        return f"Token({self.type}, {self.value!r})"


_PUNCT3 = {"<->": EXCHANGE}
_PUNCT2 = {"==": EQ, "!=": NE, "<=": LE, ">=": GE, "&&": AND, "||": OR, "..": ELLIPSIS,
           "--": DECREMENT}
_PUNCT1 = {"(": LPAREN, ")": RPAREN, "{": LCURLY, "}": RCURLY, "[": LSQUARE, "]": RSQUARE,
           "<": LT, ">": GT, "!": NOT, ",": COMMA, ";": SEMICOLON, "=": EQUALS, ":": COLON,
           "-": MINUS}

_ID_RE = re.compile(r"[A-Za-z_.][A-Za-z_.0-9]*")
_MAC_RE = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}(?![0-9a-zA-Z_:])")
_IPV6_RE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*(?:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)?")
_IPV4_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(?![0-9.])")
_HEX_RE = re.compile(r"0[xX]([0-9a-fA-F]+)(?![0-9a-zA-Z_])")
_DEC_RE = re.compile(r"[0-9]+(?![0-9a-zA-Z_])")
_BAD_NUM_RE = re.compile(r"[0-9a-zA-Z_.:]+")
_WS_RE = re.compile(r"(?:[ \t\n\r\f\v]+|//[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)+")
_STRING_RE = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')

_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
_ID1 = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")


def _parse_constant(s: str, i: int) -> tuple[int, str, int]:
    """Parses an integer-like constant at s[i:]; returns (value, fmt, end)."""
    m = _MAC_RE.match(s, i)
    if m:
        return int(m.group().replace(":", ""), 16), ETHERNET, m.end()
    c = s[i]
    if c in _HEXDIGITS or c == ":":
        m = _IPV6_RE.match(s, i)
        if m and m.group() != ":":
            text = m.group()
            # Try the longest candidate first; trailing colons belong to the next token
            # (as in "10.0.0.1:80", which is not IPv6 at all).
            while text and ":" in text:
                try:
                    return int(ipaddress.IPv6Address(text)), IPV6, i + len(text)
                except ValueError:
                    if not text.endswith(":"):
                        break
                    text = text[:-1]
    m = _IPV4_RE.match(s, i)
    if m:
        value = 0
        for part in m.group().split("."):
            if len(part) > 3 or (len(part) > 1 and part[0] == "0") or int(part) > 255:
                raise LexError(f"Invalid IPv4 address {m.group()!r}", i)
            value = (value << 8) | int(part)
        return value, IPV4, m.end()
    m = _HEX_RE.match(s, i)
    if m:
        return int(m.group(1), 16), HEX, m.end()
    m = _DEC_RE.match(s, i)
    if m:
        return int(m.group()), DEC, m.end()
    bad = _BAD_NUM_RE.match(s, i)
    raise LexError(f"Invalid numeric constant {bad.group() if bad else s[i]!r}", i)


_WIDTH = {IPV4: 32, IPV6: 128, ETHERNET: 48}


def _cidr_mask(fmt: str, plen: int, pos: int) -> int:
    width = _WIDTH[fmt]
    if plen > width:
        raise LexError(f"Prefix length {plen} is too long for {fmt} (maximum {width})", pos)
    return ((1 << plen) - 1) << (width - plen)


def _is_cidr(mask: int, width: int) -> bool:
    inv = ~mask & ((1 << width) - 1)
    return (inv & (inv + 1)) == 0


# Fast path for the common tokens (identifiers, plain decimals, operators): one regex
# match per token.  Anything else (numbers with formats or masks, strings, comments,
# references, errors) goes through _slow_token().  The look-aheads stop the fast path
# from taking a prefix of something longer, e.g. "ff02" of "ff02::1" or "10" of "10.0.0.1".
_FAST_RE = re.compile(
    r"[ \t\n\r\f\v]*(?:"
    r"(?P<id>[A-Za-z_][A-Za-z_.0-9]*)(?![:0-9A-Za-z_.])"
    r"|(?P<dec>[0-9]+)(?![0-9a-zA-Z_.:/])"
    r"|(?P<op><->|==|!=|<=|>=|&&|\|\||--|[(){}\[\];,=!<>])"
    # Unmasked IPv4 and Ethernet addresses, frequent in northd's flows; an octet with a
    # leading zero or above 255 is left to the slow path, which reports it.
    r"|(?P<ip4>(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(?![0-9a-zA-Z_.:/])"
    r"|(?P<mac>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})(?![0-9a-zA-Z_.:/]))")
_FAST_OPS = {**_PUNCT3, **_PUNCT2, **_PUNCT1}


def tokenize(s: str) -> list[Token]:
    """Splits 's' into tokens, ending with an END token; raises LexError."""
    toks: list[Token] = []
    append = toks.append
    fast = _FAST_RE.match
    i = 0
    while True:
        m = fast(s, i)
        if m is not None:
            g = m.lastgroup
            if g == "id":
                append(Token(ID, m.start(g), m.group(g)))
            elif g == "dec":
                append(Token(INTEGER, m.start(g), int(m.group(g)), None, DEC))
            elif g == "ip4":
                a, b, c, d = m.group(g).split(".")
                append(Token(INTEGER, m.start(g),
                             (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d), None,
                             IPV4))
            elif g == "mac":
                append(Token(INTEGER, m.start(g), int(m.group(g).replace(":", ""), 16), None,
                             ETHERNET))
            else:
                append(Token(_FAST_OPS[m.group("op")], m.start("op")))
            i = m.end()
            continue
        i = _slow_token(s, i, append)
        if i < 0:
            return toks


def _slow_token(s: str, i: int, append: Callable[[Token], None]) -> int:
    """Appends the next token at or after s[i:]; returns the position after it, or -1
    after appending END."""
    n = len(s)
    m = _WS_RE.match(s, i)
    if m:
        i = m.end()
    if i >= n:
        append(Token(END, i))
        return -1
    c = s[i]
    if s.startswith("/*", i):
        raise LexError("Unterminated comment", i)
    if c == '"':
        m = _STRING_RE.match(s, i)
        if not m:
            raise LexError("Unterminated or invalid quoted string", i)
        try:
            value = json.loads(m.group())
        except ValueError:
            raise LexError("Invalid escape in quoted string", i) from None
        append(Token(STRING, i, value))
        return m.end()
    if c in _DIGITS or (c in _HEXDIGITS and _looks_numeric(s, i)) or s.startswith("::", i):
        value, fmt, j = _parse_constant(s, i)
        mask: int | None = None
        if j < n and s[j] == "/":
            if j + 1 >= n or not (s[j + 1] in _ID1 or s[j + 1] in _DIGITS
                                  or s[j + 1] == ":"):
                raise LexError("Missing mask after '/'", j)
            mval, mfmt, k = _parse_constant(s, j + 1)
            if mfmt == DEC and fmt in (IPV4, IPV6):
                mask = _cidr_mask(fmt, mval, j + 1)
            elif mfmt == DEC and fmt == ETHERNET:
                raise LexError("Ethernet address masks must be Ethernet addresses", j + 1)
            else:
                if fmt in (IPV4, IPV6, ETHERNET) and mfmt != fmt:
                    raise LexError(f"{fmt} value needs a mask of the same form", j + 1)
                mask = mval
            if value & ~mask:
                raise LexError("Value contains unmasked 1-bits", i)
            j = k
        append(Token(INTEGER, i, value, mask, fmt))
        return j
    if c in _ID1:
        if s.startswith("..", i):
            append(Token(ELLIPSIS, i))
            return i + 2
        m = _ID_RE.match(s, i)
        assert m
        append(Token(ID, i, m.group()))
        return m.end()
    if c in "$@^":
        m = _ID_RE.match(s, i + 1)
        if not m:
            raise LexError(f"'{c}' must be followed by a name", i)
        append(Token({"$": MACRO, "@": PORT_GROUP, "^": TEMPLATE}[c], i, m.group()))
        return m.end()
    p3 = s[i:i + 3]
    if p3 in _PUNCT3:
        append(Token(_PUNCT3[p3], i))
        return i + 3
    p2 = s[i:i + 2]
    if p2 in _PUNCT2:
        append(Token(_PUNCT2[p2], i))
        return i + 2
    if c in _PUNCT1:
        append(Token(_PUNCT1[c], i))
        return i + 1
    if c == "&" or c == "|":
        raise LexError(f"'{c}' is not a valid operator (did you mean '{c}{c}'?)", i)
    raise LexError(f"Invalid character {c!r} in input", i)


def _looks_numeric(s: str, i: int) -> bool:
    """True if the hex-letter-led text at s[i:] is an IPv6 or Ethernet address rather
    than an identifier: identifiers never contain ':'."""
    j = i
    n = len(s)
    while j < n and s[j] in _HEXDIGITS:
        j += 1
    return j < n and s[j] == ":" and (j + 1 < n and (s[j + 1] in _HEXDIGITS or s[j + 1] == ":"))


def is_cidr(mask: int, width: int) -> bool:
    return _is_cidr(mask, width)
