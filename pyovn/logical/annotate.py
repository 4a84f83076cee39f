"""Annotation: from symbols to OpenFlow fields.

Expands predicates and subfields, checks levels of measurement (nominal fields only in
a positive `==' sense), adds prerequisites, and simplifies every comparison into `=='
tests of masked values (`!=' and the ordering relations become disjunctions of masked
tests, as expr_simplify_ne()/expr_simplify_relational() do in lib/expr.c).

Prerequisites are hoisted: an OR whose branches all need the same prerequisites
carries them once, so `ip4.src == {a, b}' stays a disjunction on one field (which can
become a conjunctive-match dimension) rather than two conjunctions.

A set comparison (CmpSet, `ip4.src == $as') stays one node, FSet, whatever its size:
normalize() turns it into a dimension without an object per member.
"""

from __future__ import annotations

from functools import lru_cache

from pyovn.logical.expr import (
    And,
    Bool,
    Cmp,
    CmpSet,
    Cond,
    ExprError,
    Node,
    Or,
    StrCmp,
    combine,
    parse,
)
from pyovn.logical.symbols import NOMINAL, SYMTAB, SymbolTable


class FCmp(Node):
    """OpenFlow field 'field' & mask == value."""

    __slots__ = ("field", "mask", "value")

    def __init__(self, field: str, value: int, mask: int) -> None:
        self.field = field
        self.value = value
        self.mask = mask

    def __repr__(self) -> str:
        return f"{self.field}={self.value:#x}/{self.mask:#x}"


class FSet(Node):
    """The disjunction of OpenFlow tests 'field' & mask == value for each (value, mask) of
    'alts' (in order, duplicates kept), as one node.  Inside an Or its members count as
    that Or's own alternatives: without CmpSet the parser would have flattened them in."""

    __slots__ = ("alts", "field")

    def __init__(self, field: str, alts: tuple[tuple[int, int], ...]) -> None:
        self.field = field
        self.alts = alts

    def expand(self) -> list[Node]:
        return [FCmp(self.field, v, m) for v, m in self.alts]

    def __repr__(self) -> str:
        return f"{self.field}={{{', '.join(f'{v:#x}/{m:#x}' for v, m in self.alts)}}}"


class FStr(Node):
    """OpenFlow register 'field' holding the tunnel key of port 'port'."""

    __slots__ = ("field", "port")

    def __init__(self, field: str, port: str) -> None:
        self.field = field
        self.port = port

    def __repr__(self) -> str:
        return f"{self.field}={self.port!r}"


_MAX_DEPTH = 32


def annotate(node: Node, symtab: SymbolTable = SYMTAB) -> Node:
    """Returns the annotated, simplified form of a parsed expression."""
    e, prereqs = _annotate(node, symtab, 0)
    return _with_prereqs(e, prereqs, symtab, 0)


def _with_prereqs(e: Node, prereqs: frozenset[str], symtab: SymbolTable, depth: int) -> Node:
    if not prereqs:
        return e
    parts = [e]
    for p in sorted(prereqs):
        parts.append(_annotated_string(p, symtab, depth + 1))
    return combine(And, parts)


def _annotated_string(s: str, symtab: SymbolTable, depth: int) -> Node:
    if symtab is SYMTAB:
        return _cached_annotated(s, depth)
    if depth > _MAX_DEPTH:
        raise ExprError(f"Recursive expansion of {s}")
    e, p = _annotate(parse(s, symtab), symtab, depth)
    return _with_prereqs(e, p, symtab, depth)


@lru_cache(maxsize=512)
def _cached_annotated(s: str, depth: int) -> Node:
    if depth > _MAX_DEPTH:
        raise ExprError(f"Recursive expansion of {s}")
    e, p = _annotate(parse(s, SYMTAB), SYMTAB, depth)
    return _with_prereqs(e, p, SYMTAB, depth)


@lru_cache(maxsize=512)
def _negated_predicate(s: str) -> Node:
    return parse(s, SYMTAB).negate()


def _annotate(node: Node, symtab: SymbolTable, depth: int) -> tuple[Node, frozenset[str]]:
    if isinstance(node, Cmp):
        return _annotate_cmp(node, symtab, depth)
    if isinstance(node, And):
        kids = []
        pre: set[str] = set()
        for c in node.children:
            e, p = _annotate(c, symtab, depth)
            kids.append(e)
            pre |= p
        return combine(And, kids), frozenset(pre)
    if isinstance(node, Or):
        pairs = [_annotate(c, symtab, depth) for c in node.children]
        first = pairs[0][1]
        if all(p == first for _, p in pairs):
            return combine(Or, [e for e, _ in pairs]), first
        # Prerequisites stay with each member, so a set's members are taken one by one,
        # as they were when the parser flattened the set into this Or.
        out: list[Node] = []
        for e, p in pairs:
            if isinstance(e, FSet):
                out.extend(_with_prereqs(x, p, symtab, depth) for x in e.expand())
            else:
                out.append(_with_prereqs(e, p, symtab, depth))
        return combine(Or, out), frozenset()
    if isinstance(node, CmpSet):
        return _annotate_set(node, symtab, depth)
    if isinstance(node, StrCmp):
        sym = symtab[node.symbol]
        if node.relop != "==":
            raise ExprError(f"Nominal field {node.symbol} may only be tested for equality "
                            "(taking enclosing `!' operators into account).", node.pos)
        assert sym.of_field is not None
        return FStr(sym.of_field, node.value), frozenset()
    if isinstance(node, Bool | Cond):
        return node, frozenset()
    raise TypeError(f"unexpected node {node!r}")


def _annotate_cmp(c: Cmp, symtab: SymbolTable, depth: int) -> tuple[Node, frozenset[str]]:
    sym = symtab[c.symbol]
    if sym.predicate is not None:
        # A 1-bit predicate compared with 0 or 1.
        positive = (c.value == 1) == (c.relop == "==")
        if depth > _MAX_DEPTH:
            raise ExprError(f"Recursive expansion of predicate {c.symbol}", c.pos)
        if positive:
            return _annotated_string(sym.predicate, symtab, depth + 1), frozenset()
        neg = _negated_predicate(sym.predicate) if symtab is SYMTAB else \
            parse(sym.predicate, symtab).negate()
        e, p = _annotate(neg, symtab, depth + 1)
        return _with_prereqs(e, p, symtab, depth + 1), frozenset()
    if sym.ovn_field:
        raise ExprError(f"Field {c.symbol} may not be used in a match expression.", c.pos)
    base, ofs = symtab.resolve(c.symbol)
    assert base.of_field is not None
    width = sym.width
    if c.lo is not None and c.hi is not None:
        ofs += c.lo
        width = c.hi - c.lo + 1
    full = (1 << width) - 1
    mask = full if c.mask is None else c.mask
    value = c.value & mask
    prereqs = frozenset(symtab.all_prereqs(c.symbol))
    relop = c.relop
    if base.level == NOMINAL and relop != "==":
        raise ExprError(f"Nominal field {c.symbol} may only be tested for equality (taking "
                        "enclosing `!' operators into account).", c.pos)
    field = base.of_field
    if relop == "==":
        return FCmp(field, value << ofs, mask << ofs), prereqs
    if relop == "!=":
        alts: list[Node] = []
        m = mask
        while m:
            bit = m & -m
            m ^= bit
            alts.append(FCmp(field, ((value & bit) ^ bit) << ofs, bit << ofs))
        return combine(Or, alts), prereqs
    pairs = relational(relop, value, width)
    return combine(Or, [FCmp(field, v << ofs, mm << ofs) for v, mm in pairs]), prereqs


def _annotate_set(c: CmpSet, symtab: SymbolTable, depth: int) -> tuple[Node, frozenset[str]]:
    """What _annotate gives for c.expand(), an OR of `==' as one FSet.  (`!=' sets are
    rare and small: they take the member by member path.)"""
    sym = symtab[c.symbol]
    if c.relop != "==" or sym.predicate is not None:
        return _annotate(c.expand(), symtab, depth)
    if sym.ovn_field:
        raise ExprError(f"Field {c.symbol} may not be used in a match expression.", c.pos)
    base, ofs = symtab.resolve(c.symbol)
    assert base.of_field is not None
    width = sym.width
    if c.lo is not None and c.hi is not None:
        ofs += c.lo
        width = c.hi - c.lo + 1
    full = (1 << width) - 1
    alts = tuple([((v & (full if m is None else m)) << ofs, (full if m is None else m) << ofs)
                  for v, m in c.values])
    return FSet(base.of_field, alts), frozenset(symtab.all_prereqs(c.symbol))


def relational(relop: str, c: int, width: int) -> list[tuple[int, int]]:
    """Masked (value, mask) pairs, pairwise disjoint, whose union is {x : x relop c}."""
    full = (1 << width) - 1
    out: list[tuple[int, int]] = []
    if relop in ("<", "<="):
        for i in range(width):
            if c >> i & 1:
                hi_mask = full & ~((1 << (i + 1)) - 1)
                out.append((c & hi_mask, hi_mask | (1 << i)))
    else:
        for i in range(width):
            if not c >> i & 1:
                hi_mask = full & ~((1 << (i + 1)) - 1)
                out.append(((c & hi_mask) | (1 << i), hi_mask | (1 << i)))
    if relop in ("<=", ">="):
        out.append((c, full))
    return out
