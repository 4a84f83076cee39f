"""Match expressions: the syntax tree and the parser.

Negation is pushed down while parsing (as in lib/expr.c), so the tree has no NOT node:
a comparison carries the relational operator that remains after enclosing `!`s.
Sets, address sets ($name) and port groups (@name) expand to OR/AND of comparisons; the
compiler asks instead (compact_sets) for one CmpSet node per numeric set, because an
address set of 10^5 members would otherwise be 10^5 nodes annotated one by one.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import repeat
from typing import Final, cast

from pyovn.logical import lexer as lx
from pyovn.logical.lexer import LexError, Token
from pyovn.logical.symbols import SYMTAB, SymbolTable


class ExprError(LexError):
    """A syntax or semantic error in a match expression or action."""


_NEGATE: Final = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_REVERSE: Final = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
RELOPS: Final = frozenset(_NEGATE)


class Node:
    __slots__ = ()

    def negate(self) -> Node:
        raise NotImplementedError


class Bool(Node):
    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def negate(self) -> Node:
        return Bool(not self.value)

    def __repr__(self) -> str:
        return "1" if self.value else "0"


class Cmp(Node):
    """symbol[lo..hi] relop value/mask, for a numeric symbol.  lo/hi are None when the
    whole symbol is meant."""

    __slots__ = ("hi", "lo", "mask", "pos", "relop", "symbol", "value")

    def __init__(self, symbol: str, lo: int | None, hi: int | None, relop: str, value: int,
                 mask: int | None, pos: int = 0) -> None:
        self.symbol = symbol
        self.lo = lo
        self.hi = hi
        self.relop = relop
        self.value = value
        self.mask = mask
        self.pos = pos

    def negate(self) -> Node:
        return Cmp(self.symbol, self.lo, self.hi, _NEGATE[self.relop], self.value, self.mask,
                   self.pos)

    def __repr__(self) -> str:
        sub = "" if self.lo is None else f"[{self.lo}..{self.hi}]"
        m = "" if self.mask is None else f"/{self.mask:#x}"
        return f"{self.symbol}{sub} {self.relop} {self.value:#x}{m}"


class CmpSet(Node):
    """symbol[lo..hi] == {values} (an OR of Cmps) or != {values} (an AND of them), with
    two or more members, for a numeric symbol that is not a predicate.  It means exactly
    what expand() gives, and where that would be an OR (AND) inside an OR (AND) it stands
    for its members flattened into the parent, as combine() would have done: annotate and
    normalize honour both.  Only the first member's position is kept: errors are only ever
    reported for the first member."""

    __slots__ = ("hi", "lo", "pos", "relop", "symbol", "values")

    def __init__(self, symbol: str, lo: int | None, hi: int | None, relop: str,
                 values: tuple[tuple[int, int | None], ...], pos: int = 0) -> None:
        self.symbol = symbol
        self.lo = lo
        self.hi = hi
        self.relop = relop
        self.values = values
        self.pos = pos

    def negate(self) -> Node:
        return CmpSet(self.symbol, self.lo, self.hi, _NEGATE[self.relop], self.values,
                      self.pos)

    def expand(self) -> Node:
        """The tree the parser builds without compact_sets."""
        return combine(Or if self.relop == "==" else And,
                       [Cmp(self.symbol, self.lo, self.hi, self.relop, v, m, self.pos)
                        for v, m in self.values])

    def __repr__(self) -> str:
        sub = "" if self.lo is None else f"[{self.lo}..{self.hi}]"
        vals = ", ".join(f"{v:#x}" if m is None else f"{v:#x}/{m:#x}" for v, m in self.values)
        return f"{self.symbol}{sub} {self.relop} {{{vals}}}"


class StrCmp(Node):
    """A string (nominal) field compared with a port name."""

    __slots__ = ("pos", "relop", "symbol", "value")

    def __init__(self, symbol: str, relop: str, value: str, pos: int = 0) -> None:
        self.symbol = symbol
        self.relop = relop
        self.value = value
        self.pos = pos

    def negate(self) -> Node:
        return StrCmp(self.symbol, _NEGATE[self.relop], self.value, self.pos)

    def __repr__(self) -> str:
        return f"{self.symbol} {self.relop} {self.value!r}"


class Cond(Node):
    """A function condition such as is_chassis_resident("port")."""

    __slots__ = ("arg", "func", "negated")

    def __init__(self, func: str, arg: str, negated: bool = False) -> None:
        self.func = func
        self.arg = arg
        self.negated = negated

    def negate(self) -> Node:
        return Cond(self.func, self.arg, not self.negated)

    def __repr__(self) -> str:
        return f"{'!' if self.negated else ''}{self.func}({self.arg!r})"


class And(Node):
    __slots__ = ("children",)

    def __init__(self, children: list[Node]) -> None:
        self.children = children

    def negate(self) -> Node:
        return Or([c.negate() for c in self.children])

    def __repr__(self) -> str:
        return "(" + " && ".join(map(repr, self.children)) + ")"


class Or(Node):
    __slots__ = ("children",)

    def __init__(self, children: list[Node]) -> None:
        self.children = children

    def negate(self) -> Node:
        return And([c.negate() for c in self.children])

    def __repr__(self) -> str:
        return "(" + " || ".join(map(repr, self.children)) + ")"


def combine(kind: type[And] | type[Or], children: list[Node]) -> Node:
    """Builds And/Or, flattening nested nodes of the same kind and folding constants."""
    out: list[Node] = []
    is_and = kind is And
    for c in children:
        if isinstance(c, Bool):
            if c.value == is_and:
                continue
            return Bool(not is_and)
        if isinstance(c, And | Or) and type(c) is kind:
            out.extend(c.children)
        else:
            out.append(c)
    if not out:
        return Bool(is_and)
    if len(out) == 1:
        return out[0]
    return kind(out)


# A constant as parsed: (kind, value, mask, fmt, pos); kind is "int" or "str".
Const = tuple[str, object, int | None, str, int]


class Parser:
    """Recursive-descent parser over a token list; also used by the action parser."""

    def __init__(self, toks: Sequence[Token], symtab: SymbolTable = SYMTAB,
                 address_sets: Mapping[str, Sequence[str]] | None = None,
                 port_groups: Mapping[str, Sequence[str]] | None = None,
                 text: str = "", compact_sets: bool = False) -> None:
        self.toks = toks
        self.i = 0
        self.tok: Token = toks[0]
        self.symtab = symtab
        self.address_sets = address_sets or {}
        self.port_groups = port_groups or {}
        self.text = text
        self.depth = 0
        self.compact_sets = compact_sets

    # -- token helpers ('tok' is kept as an attribute: it is read very often)
    def seek(self, i: int) -> None:
        self.i = i
        self.tok = self.toks[i]

    def peek(self, k: int = 1) -> Token:
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def advance(self) -> Token:
        t = self.tok
        if t.type != lx.END:
            self.i += 1
            self.tok = self.toks[self.i]
        return t

    def match(self, type_: str) -> bool:
        if self.tok.type == type_:
            self.advance()
            return True
        return False

    def match_id(self, name: str) -> bool:
        if self.tok.type == lx.ID and self.tok.value == name:
            self.advance()
            return True
        return False

    def force(self, type_: str, what: str | None = None) -> Token:
        if self.tok.type != type_:
            want = what or repr(type_)
            self.error(f"Syntax error at {self.describe(self.tok)} expecting {want}.")
        return self.advance()

    def describe(self, t: Token) -> str:
        if t.type == lx.END:
            return "end of input"
        end = self.toks[self.toks.index(t) + 1].pos if t in self.toks[:-1] else len(self.text)
        text = self.text[t.pos:end].strip() if self.text else str(t.value)
        return f"`{text}'"

    def error(self, msg: str, pos: int | None = None) -> None:
        raise ExprError(msg, self.tok.pos if pos is None else pos)

    # -- expressions
    def parse_expr(self) -> Node:
        self.depth += 1
        if self.depth > 100:
            self.error("Expression nested too deeply.")
        first = self.parse_not()
        op = self.tok.type
        if op not in (lx.AND, lx.OR):
            self.depth -= 1
            return first
        items = [first]
        while self.tok.type in (lx.AND, lx.OR):
            if self.tok.type != op:
                self.error("&& and || must be parenthesized when used together.")
            self.advance()
            items.append(self.parse_not())
        self.depth -= 1
        return combine(And if op == lx.AND else Or, items)

    def parse_not(self) -> Node:
        if self.match(lx.NOT):
            self.depth += 1
            if self.depth > 100:
                self.error("Expression nested too deeply.")
            e = self.parse_not().negate()
            self.depth -= 1
            return e
        return self.parse_primary()

    def parse_primary(self) -> Node:
        t = self.tok
        if t.type == lx.LPAREN:
            self.advance()
            e = self.parse_expr()
            self.force(lx.RPAREN, "`)'")
            return e
        if t.type == lx.ID and self.peek().type == lx.LPAREN:
            return self.parse_function()
        if t.type == lx.ID:
            sym, lo, hi = self.parse_field()
            if self.tok.type in RELOPS:
                relop = self.advance().type
                return self.make_cmp(sym, lo, hi, relop, self.parse_constant_set(), t.pos)
            width = self.field_width(sym, lo, hi)
            if width == 1:
                return Cmp(sym, lo, hi, "==", 1, None, t.pos)
            if width == 0:
                self.error(f"Missing relational operator after string field {sym}.", t.pos)
            self.error("Explicit `!= 0' is required for inequality test of multibit field "
                       "against 0.", t.pos)
        if t.type in (lx.INTEGER, lx.STRING, lx.LCURLY, lx.MACRO, lx.PORT_GROUP):
            if t.type == lx.INTEGER and t.mask is None and t.value in (0, 1) \
                    and self.peek().type not in RELOPS:
                self.advance()
                return Bool(bool(t.value))
            consts = self.parse_constant_set()
            if self.tok.type not in RELOPS:
                self.error(f"Syntax error at {self.describe(self.tok)} expecting relational "
                           "operator.")
            r1 = self.advance().type
            ft = self.tok
            if ft.type != lx.ID:
                self.error(f"Syntax error at {self.describe(ft)} expecting field name.")
            sym, lo, hi = self.parse_field()
            e1 = self.make_cmp(sym, lo, hi, _REVERSE[r1], consts, t.pos)
            if self.tok.type in RELOPS:
                r2 = self.advance().type
                same_dir = (r1 in ("<", "<=") and r2 in ("<", "<=")) or \
                           (r1 in (">", ">=") and r2 in (">", ">="))
                if not same_dir:
                    self.error("Range expressions must have the form `x < field < y' or "
                               "`x > field > y', with each `<' optionally replaced by `<=' "
                               "or `>' by `>='.")
                e2 = self.make_cmp(sym, lo, hi, r2, self.parse_constant_set(), t.pos)
                return combine(And, [e1, e2])
            return e1
        self.error(f"Syntax error at {self.describe(t)} expecting constant.")
        raise AssertionError  # unreachable

    def parse_function(self) -> Node:
        name = str(self.advance().value)
        if name != "is_chassis_resident":
            self.error(f"Parsing function {name} is not supported.")
        self.force(lx.LPAREN)
        arg = self.force(lx.STRING, "port name string")
        self.force(lx.RPAREN, "`)'")
        return Cond(name, str(arg.value))

    def parse_field(self) -> tuple[str, int | None, int | None]:
        t = self.advance()
        name = str(t.value)
        sym = self.symtab.get(name)
        if sym is None:
            self.error(f"Syntax error at `{name}' expecting field name.", t.pos)
            raise AssertionError
        lo = hi = None
        if self.tok.type == lx.LSQUARE:
            self.advance()
            if sym.width == 0 or sym.predicate is not None:
                self.error(f"Cannot select subfield of string field {name}." if sym.width == 0
                           else f"Cannot select subfield of predicate {name}.", t.pos)
            a = self.force(lx.INTEGER, "bit index")
            if a.mask is not None or a.fmt not in (lx.DEC, lx.HEX):
                self.error("Subfield bit index must be an integer.", a.pos)
            lo = hi = int(a.value)
            if self.match(lx.ELLIPSIS):
                b = self.force(lx.INTEGER, "bit index")
                if b.mask is not None or b.fmt not in (lx.DEC, lx.HEX):
                    self.error("Subfield bit index must be an integer.", b.pos)
                hi = int(b.value)
            self.force(lx.RSQUARE, "`]'")
            if hi < lo:
                self.error(f"Invalid bit range {lo} to {hi}.", a.pos)
            if hi >= sym.width:
                self.error(f"Cannot select bits {lo} to {hi} of {sym.width}-bit field {name}.",
                           a.pos)
        return name, lo, hi

    def field_width(self, sym: str, lo: int | None, hi: int | None) -> int:
        if lo is not None and hi is not None:
            return hi - lo + 1
        return self.symtab[sym].width

    def parse_constant(self, allow_groups: bool = True) -> list[Const]:
        t = self.advance()
        if t.type == lx.INTEGER:
            return [("int", t.value, t.mask, t.fmt, t.pos)]
        if t.type == lx.STRING:
            return [("str", t.value, None, "", t.pos)]
        if t.type == lx.MACRO:
            name = str(t.value)
            if name not in self.address_sets:
                self.error(f"{name}: unknown address set.", t.pos)
            addrs = self.address_sets[name]
            pos = t.pos
            plain = _plain_ipv4_values(addrs)
            if plain is not None:
                return [("int", v, None, lx.IPV4, pos) for v in plain]
            out: list[Const] = []
            for addr in addrs:
                c = _address_constant(addr)
                if isinstance(c, str):
                    self.error(f"Invalid address {addr!r} in address set {name}{c}", pos)
                    raise AssertionError
                out.append(("int", c[0], c[1], c[2], pos))
            return out
        if t.type == lx.PORT_GROUP:
            name = str(t.value)
            if name not in self.port_groups:
                self.error(f"{name}: unknown port group.", t.pos)
            return [("str", p, None, "", t.pos) for p in self.port_groups[name]]
        if t.type == lx.TEMPLATE:
            self.error(f"Template variable ^{t.value} is not instantiated.", t.pos)
        self.error(f"Syntax error at {self.describe(t)} expecting constant.", t.pos)
        raise AssertionError

    def parse_constant_set(self) -> list[Const] | tuple[list[Const]]:
        """A single constant list, or a 1-tuple wrapping the members of a {set}."""
        if self.tok.type == lx.LCURLY:
            self.advance()
            out: list[Const] = []
            while not self.match(lx.RCURLY):
                if self.tok.type == lx.END:
                    self.error("Syntax error at end of input expecting `}'.")
                out.extend(self.parse_constant())
                self.match(lx.COMMA)
            return (out,)
        if self.tok.type in (lx.MACRO, lx.PORT_GROUP):
            return (self.parse_constant(),)
        return self.parse_constant()

    def make_cmp(self, sym_name: str, lo: int | None, hi: int | None, relop: str,
                 consts: list[Const] | tuple[list[Const]], pos: int) -> Node:
        is_set = isinstance(consts, tuple)
        items = consts[0] if isinstance(consts, tuple) else consts
        sym = self.symtab[sym_name]
        if is_set and relop not in ("==", "!="):
            self.error("Only == and != operators may be used with value sets.", pos)
        width = self.field_width(sym_name, lo, hi)
        if is_set and self.compact_sets and len(items) >= 2 and sym.width \
                and sym.predicate is None:
            cs = _compact_set(sym_name, lo, hi, relop, items, width)
            if cs is not None:
                return cs
            # Otherwise some member is bad: the loop below reports it as it always has.
        nodes: list[Node] = []
        for kind, value, mask, _fmt, cpos in items:
            if sym.width == 0:
                if kind != "str":
                    self.error(f"Integer constant is not compatible with string field "
                               f"{sym_name}.", cpos)
                if relop not in ("==", "!="):
                    self.error("Only == and != operators may be used to compare a field "
                               "against a string.", cpos)
                nodes.append(StrCmp(sym_name, relop, str(value), cpos))
                continue
            if kind != "int":
                self.error(f"String constant is not compatible with integer field {sym_name}.",
                           cpos)
            assert isinstance(value, int)
            if mask is not None and relop not in ("==", "!="):
                self.error("Only == and != operators may be used with masked constants.  "
                           "Consider using subfields instead (e.g. eth.src[0..15] > 0x1111 in "
                           "place of eth.src > 00:00:00:00:11:11/00:00:00:00:ff:ff).", cpos)
            if value >> width or (mask is not None and mask >> width):
                self.error(f"{(mask if mask is not None and mask >> width else value).bit_length()}"
                           f"-bit constant is not compatible with {width}-bit field "
                           f"{sym_name}.", cpos)
            nodes.append(Cmp(sym_name, lo, hi, relop, value, mask, cpos))
        if not is_set:
            return nodes[0]
        return combine(Or if relop == "==" else And, nodes)

    def at_end(self) -> None:
        if self.tok.type != lx.END:
            self.error(f"Syntax error at {self.describe(self.tok)} expecting end of input.")


# A plain dotted quad (no leading zeros, no mask): by far the commonest address-set member,
# worth a path that skips the general lexer (sets of 10^5 addresses exist).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_WS = r"[ \t\n\r\f\v]*"
_PLAIN_IPV4 = re.compile(rf"{_WS}{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}{_WS}\Z")


def _address_constant(addr: str) -> tuple[int, int | None, str] | str:
    """An address-set member as (value, mask, format), or an error suffix."""
    m = _PLAIN_IPV4.match(addr)
    if m is not None:
        a, b, c, d = m.groups()
        return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d), None, lx.IPV4
    return _lexed_address_constant(addr)


@lru_cache(maxsize=65536)
def _lexed_address_constant(addr: str) -> tuple[int, int | None, str] | str:
    try:
        toks = lx.tokenize(addr)
    except LexError as e:
        return f": {e.msg}"
    if len(toks) != 2 or toks[0].type != lx.INTEGER:
        return "."
    return toks[0].value, toks[0].mask, toks[0].fmt


def _compact_set(sym: str, lo: int | None, hi: int | None, relop: str, items: list[Const],
                 width: int) -> CmpSet | None:
    """The members as one CmpSet, or None if one of them is not a valid integer constant
    for a 'width'-bit field (the caller then reports the first bad one)."""
    # An "int" constant's value is an int (see parse_constant).
    values = cast(tuple[tuple[int, int | None], ...],
                  tuple([(c[1], c[2]) for c in items if c[0] == "int"]))
    if len(values) != len(items):
        return None
    top = 0
    for v, m in values:
        top |= v if m is None else v | m
    if top >> width:
        return None
    return CmpSet(sym, lo, hi, relop, values, items[0][4])


def _plain_ipv4_values(addrs: Sequence[str]) -> list[int] | None:
    """The members as integers when every one is a plain dotted quad, else None.
    inet_pton accepts exactly four decimal octets without leading zeros or blanks, a
    subset of what _PLAIN_IPV4 accepts and read the same way (tested), at a tenth of the
    cost per member."""
    try:
        return [int.from_bytes(b, "big")
                for b in map(socket.inet_pton, repeat(socket.AF_INET), addrs)]
    except (OSError, ValueError, TypeError):
        return None


def parse(s: str, symtab: SymbolTable = SYMTAB,
          address_sets: Mapping[str, Sequence[str]] | None = None,
          port_groups: Mapping[str, Sequence[str]] | None = None,
          compact_sets: bool = False) -> Node:
    """Parses match expression 's' into a tree; raises ExprError/LexError.  With
    'compact_sets', numeric sets of two or more members become CmpSet nodes (only
    annotate() knows them; the evaluator and tracer use the expanded form)."""
    p = Parser(lx.tokenize(s), symtab, address_sets, port_groups, s, compact_sets)
    if p.tok.type == lx.END:
        p.error("Syntax error at end of input expecting expression.")
    e = p.parse_expr()
    p.at_end()
    return e


def walk(node: Node, fn: Callable[[Node], None]) -> None:
    fn(node)
    if isinstance(node, And | Or):
        for c in node.children:
            walk(c, fn)
