"""Lexer and parser: every token kind, errors that name the position, and fuzzing."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.logical import lexer as lx
from pyovn.logical.actions import parse_actions
from pyovn.logical.annotate import annotate
from pyovn.logical.expr import ExprError, parse


def kinds(s: str) -> list[tuple[str, object]]:
    return [(t.type, t.value) for t in lx.tokenize(s)[:-1]]


def test_identifiers_and_dotted_fields() -> None:
    assert kinds("ip4.src reg0 _x ct.est") == [(lx.ID, "ip4.src"), (lx.ID, "reg0"),
                                              (lx.ID, "_x"), (lx.ID, "ct.est")]


@pytest.mark.parametrize(("text", "value", "mask", "fmt"), [
    ("123", 123, None, lx.DEC),
    ("0x800", 0x800, None, lx.HEX),
    ("0x800/0xf00", 0x800, 0xF00, lx.HEX),
    ("4/4", 4, 4, lx.DEC),
    ("10.0.0.1", 0x0A000001, None, lx.IPV4),
    ("10.0.0.0/8", 0x0A000000, 0xFF000000, lx.IPV4),
    ("10.0.0.0/255.0.0.0", 0x0A000000, 0xFF000000, lx.IPV4),
    ("::1", 1, None, lx.IPV6),
    ("fe80::/10", 0xFE80 << 112, ((1 << 10) - 1) << 118, lx.IPV6),
    ("ff02::1:ff00:0000/104", int(ipaddress.IPv6Address("ff02::1:ff00:0")),
     ((1 << 104) - 1) << 24, lx.IPV6),
    ("00:00:00:00:ff:01", 0xFF01, None, lx.ETHERNET),
    ("01:00:00:00:00:00/01:00:00:00:00:00", 1 << 40, 1 << 40, lx.ETHERNET),
])
def test_constants(text: str, value: int, mask: int | None, fmt: str) -> None:
    (t, end) = lx.tokenize(text)
    assert (t.type, t.value, t.mask, t.fmt) == (lx.INTEGER, value, mask, fmt)
    assert end.type == lx.END


def test_ipv4_port_is_address_colon_number() -> None:
    assert [t.type for t in lx.tokenize("10.0.0.1:80")][:3] == [lx.INTEGER, lx.COLON,
                                                               lx.INTEGER]


def test_strings_references_and_operators() -> None:
    toks = kinds('"a\\"b" $as1 @pg1 ^tmpl == != < <= > >= ! && || .. , ; = <-> -- : { } [ ] ( )')
    assert toks[0] == (lx.STRING, 'a"b')
    assert toks[1:4] == [(lx.MACRO, "as1"), (lx.PORT_GROUP, "pg1"), (lx.TEMPLATE, "tmpl")]
    assert [k for k, _ in toks[4:]] == [lx.EQ, lx.NE, lx.LT, lx.LE, lx.GT, lx.GE, lx.NOT,
                                        lx.AND, lx.OR, lx.ELLIPSIS, lx.COMMA, lx.SEMICOLON,
                                        lx.EQUALS, lx.EXCHANGE, lx.DECREMENT, lx.COLON,
                                        lx.LCURLY, lx.RCURLY, lx.LSQUARE, lx.RSQUARE,
                                        lx.LPAREN, lx.RPAREN]


def test_comments_are_skipped() -> None:
    assert kinds("a /* x */ b // rest") == [(lx.ID, "a"), (lx.ID, "b")]


@pytest.mark.parametrize(("text", "pos", "words"), [
    ('"abc', 0, "Unterminated"),
    ("a /* b", 2, "Unterminated comment"),
    ("reg0 & 1", 5, "did you mean '&&'"),
    ("10.0.0.300", 0, "Invalid IPv4"),
    ("10.0.0.1/33", 9, "Prefix length"),
    ("0x1/", 3, "Missing mask"),
    ("3/1", 0, "unmasked 1-bits"),
    ("ip4.src == 10.0.0.1 # x", 20, "Invalid character"),
    ("$", 0, "must be followed by a name"),
])
def test_lex_errors_name_the_position(text: str, pos: int, words: str) -> None:
    with pytest.raises(lx.LexError) as e:
        lx.tokenize(text)
    assert e.value.pos == pos
    assert words in str(e.value)


@pytest.mark.parametrize(("text", "words"), [
    ("", "expecting expression"),
    ("ip4 &&", "expecting"),
    ("ip4 && ip6 || arp", "must be parenthesized"),
    ("tcp.dst", "Explicit `!= 0' is required"),
    ("nosuch == 1", "expecting field name"),
    ("tcp.dst == 70000", "17-bit constant is not compatible with 16-bit field tcp.dst"),
    ("inport == 1", "Integer constant is not compatible with string field"),
    ("tcp.dst == \"x\"", "String constant is not compatible"),
    ("tcp.dst < {1, 2}", "value sets"),
    ("tcp.dst < 5/5", "masked constants"),
    ("ip4.src[40] == 1", "Cannot select bits"),
    ("5 < tcp.dst > 3", "Range expressions"),
    ("ip4.src == $nosuch", "unknown address set"),
    ("inport == @nosuch", "unknown port group"),
    ("foo(1)", "not supported"),
    ("(ip4", "expecting `)'"),
    ("ip4 ip6", "expecting end of input"),
])
def test_parse_errors_are_clear(text: str, words: str) -> None:
    with pytest.raises(ExprError) as e:
        parse(text)
    assert words in str(e.value)


@pytest.mark.parametrize(("text", "words"), [
    ("!ip4", "Nominal field eth.type may only be tested for equality"),
    ('inport != "a"', "Nominal field inport may only be tested for equality"),
    ("ip.proto < 6", "Nominal field ip.proto"),
])
def test_annotation_errors(text: str, words: str) -> None:
    with pytest.raises(ExprError) as e:
        annotate(parse(text))
    assert words in str(e.value)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExprError, match="nested too deeply"):
        parse("(" * 5000 + "1" + ")" * 5000)
    with pytest.raises(ExprError, match="nested too deeply"):
        parse("!" * 5000 + "ip4")


_ALPHABET = st.sampled_from([*"ab019xf.:/[]{}()!=<>&|,;\"$@^ -\\",
    "ip4", "ip4.src", "reg0", "tcp.dst", "inport", "==", "!=", "&&", "||", "10.0.0.1",
    "aef0::1", "00:11:22:33:44:55", "0x10", "/24", "next;", "output;", "ct_lb_mark",
    "(backends=", "arp {", "}", "put_dhcp_opts(", "offerip = ", "ct_commit {", "<->",
    "ip.ttl--", "reg0[0..3]", "\"p1\"", "$as", "@pg", "..", "*/", "/*", "//"])
_FUZZ = st.lists(_ALPHABET, max_size=30).map("".join)
_OK_ERRORS = (lx.LexError,)


@settings(max_examples=600, deadline=2000)
@given(st.one_of(_FUZZ, st.text(max_size=80)))
def test_fuzzed_matches_never_crash(text: str) -> None:
    try:
        annotate(parse(text, address_sets={"as": ["10.0.0.1"]}, port_groups={"pg": ["p1"]}))
    except _OK_ERRORS as e:
        assert str(e)


@settings(max_examples=600, deadline=2000)
@given(st.one_of(_FUZZ, st.text(max_size=80)))
def test_fuzzed_actions_never_crash(text: str) -> None:
    try:
        parse_actions(text)
    except _OK_ERRORS as e:
        assert str(e)


@pytest.mark.timeout(30)
def test_exploding_crossproduct_is_refused_not_hung() -> None:
    from pyovn.logical.compile import CompileContext, Compiler

    clauses = " && ".join(f"(reg{i % 8}[{i}] == 1 || eth.src[{i}] == 0 || ip4.dst[{i}] == 1)"
                          for i in range(30))
    with pytest.raises(ExprError, match="too complex"):
        Compiler().compile(clauses, "next;", "ingress", 0, 1, 1, CompileContext())


@pytest.mark.timeout(30)
def test_long_flat_expressions_and_action_lists_are_fine() -> None:
    from pyovn.logical.compile import CompileContext, Compiler

    match = " || ".join(f"tcp.dst == {i}" for i in range(3000))
    actions = "".join(f"reg{i % 10} = {i};" for i in range(3000)) + " next;"
    flows = Compiler().compile(match, actions, "ingress", 0, 1, 1, CompileContext())
    assert len(flows) == 2 * 3000  # IPv4 and IPv6


def test_address_set_fast_path_agrees_with_the_lexer() -> None:
    """Address-set members that look like plain dotted quads skip the lexer; whatever the
    input (leading zeros, out-of-range octets, masks, IPv6, junk), both give the same."""
    import random

    from pyovn.logical import expr as E

    rng = random.Random(5)
    cases = ["10.0.0.1", "0.0.0.0", "255.255.255.255", " 1.2.3.4 ", "01.2.3.4", "256.1.1.1",
             "1.2.3", "1.2.3.4/24", "1.2.3.0/24", "fe80::1", "00:11:22:33:44:55",
             "1.2.3.4.5", "", "abc", "1.2.3.04", "1.2.3.4\n", "\uff11.2.3.4",
             "\u00a01.2.3.4", "1.2.3.4\u2003"]
    cases += [".".join(str(rng.randint(0, 300)) for _ in range(4)) for _ in range(500)]
    for c in cases:
        assert E._address_constant(c) == E._lexed_address_constant(c), repr(c)


def _slow_only(s: str) -> list[tuple[object, ...]]:
    from pyovn.logical.lexer import _slow_token

    toks: list[lx.Token] = []
    i = 0
    while i >= 0:
        i = _slow_token(s, i, toks.append)
    return [(t.type, t.pos, t.value, t.mask, t.fmt) for t in toks]


def _either(f: Callable[[], list[tuple[object, ...]]]) -> object:
    try:
        return f()
    except lx.LexError as e:
        return ("error", str(e))


def test_fast_path_tokens_equal_the_general_lexer_on_the_corpus_and_noise() -> None:
    """The one-regex fast path (identifiers, decimals, operators, plain IPv4 and MAC
    addresses) must give exactly the tokens, positions and errors of the general path."""
    import random

    from tests.logical import corpus

    texts: list[str] = []
    for lf in corpus.load()["flows"]:
        texts += [lf["match"], lf["actions"]]
    rng = random.Random(9)
    pieces = ["10.0.0.1", "010.0.0.1", "256.0.0.1", "1.2.3.4/24", "1.2.3.4:80", "a:b",
              "00:11:22:33:44:55", "0A:0b:0C:0d:0E:0f", "00:11:22:33:44:55/ff:ff:ff:00:00:00",
              "fe80::1", "ab", "1.2.3.4.5", "1.2.3", "==", "&&", "{", "}", ",", " ", "\t",
              "0x1f", "12", "eth.src", '"p1"', "$as1", "@pg", "1.2.3.4..", "aa:bb:cc:dd:ee:ff:0"]
    for _ in range(3000):
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))))
    for t in texts:
        fast = _either(lambda t=t: [(x.type, x.pos, x.value, x.mask, x.fmt)  # type: ignore[misc]
                                    for x in lx.tokenize(t)])
        assert fast == _either(lambda t=t: _slow_only(t)), t  # type: ignore[misc]
