"""Normalisation: an annotated expression becomes a disjunction of terms.

Each term is a conjunction of masked field tests ('base') and of 'dimensions': a
dimension is a disjunction of masked tests on one field.  A term with one dimension
expands into one flow per alternative; a term with two or more becomes an OpenFlow
conjunctive match, so `ip4.src == $as && tcp.dst == {80, 443}' costs |as| + 2 flows,
not |as| * 2.  Fields OVN marks must-crossproduct (eth.type, ip.proto, icmp6.type/code)
never form dimensions, so every flow carries its protocol prerequisites.

Port names become tunnel keys here (through lookup_port), and function conditions
(is_chassis_resident) are decided through a callback: both depend on where the flow is
compiled, unlike everything before this phase.
"""

from __future__ import annotations

from collections.abc import Callable

from pyovn.logical.annotate import FCmp, FSet, FStr
from pyovn.logical.expr import And, Bool, Cond, ExprError, Node, Or

MUST_CROSSPRODUCT = frozenset({"dl_type", "nw_proto", "icmpv6_type", "icmpv6_code"})

Alt = tuple[int, int]
LookupPort = Callable[[str], int | None]
CondFn = Callable[[str, str], bool]

# Refuse expressions whose crossproduct would explode (OVN has a similar limit).
MAX_TERMS = 100_000


class Term:
    __slots__ = ("base", "dims")

    def __init__(self, base: dict[str, Alt] | None = None,
                 dims: dict[str, tuple[Alt, ...]] | None = None) -> None:
        self.base: dict[str, Alt] = base if base is not None else {}
        self.dims: dict[str, tuple[Alt, ...]] = dims if dims is not None else {}

    def __repr__(self) -> str:
        return f"Term({self.base}, {self.dims})"


def _and_alt(a: Alt, b: Alt) -> Alt | None:
    av, am = a
    bv, bm = b
    if (av ^ bv) & am & bm:
        return None
    return (av | bv, am | bm)


def _merge(t1: Term, t2: Term) -> Term | None:
    """The conjunction of two terms, or None if it is unsatisfiable."""
    if not t1.base and not t1.dims:
        return t2
    if not t2.base and not t2.dims:
        return t1
    base = dict(t1.base)
    for f, alt in t2.base.items():
        old = base.get(f)
        if old is None:
            base[f] = alt
        else:
            new = _and_alt(old, alt)
            if new is None:
                return None
            base[f] = new
    dims = dict(t1.dims)
    for f, alts in t2.dims.items():
        old_alts = dims.get(f)
        if old_alts is None:
            dims[f] = alts
        else:
            # Two dimensions on one field: intersect them into one.
            inter = []
            seen = set()
            for a in old_alts:
                for b in alts:
                    c = _and_alt(a, b)
                    if c is not None and c not in seen:
                        seen.add(c)
                        inter.append(c)
            dims[f] = tuple(inter)
    return _reconcile(base, dims)


def _reconcile(base: dict[str, Alt], dims: dict[str, tuple[Alt, ...]]) -> Term | None:
    """Folds a base test on a field into that field's dimension (as OVN's crushing
    does), so the test appears only in that dimension's flows."""
    for f in list(dims):
        alts = dims[f]
        b = base.pop(f, None)
        if b is not None:
            kept = []
            for a in alts:
                c = _and_alt(a, b)
                if c is not None:
                    kept.append(c)
            alts = tuple(dict.fromkeys(kept))
        if not alts:
            return None
        if len(alts) == 1:
            del dims[f]
            base[f] = alts[0]
        else:
            dims[f] = alts
    return Term(base, dims)


def normalize(node: Node, lookup_port: LookupPort, cond: CondFn) -> list[Term]:
    """Returns the terms whose disjunction is equivalent to the annotated 'node'."""
    return _norm(node, lookup_port, cond)


def _norm(node: Node, lookup_port: LookupPort, cond: CondFn) -> list[Term]:
    if isinstance(node, FCmp):
        return [Term({node.field: (node.value, node.mask)})]
    if isinstance(node, FStr):
        key = lookup_port(node.port)
        if key is None:
            return []
        return [Term({node.field: (key, 0xFFFFFFFF)})]
    if isinstance(node, Bool):
        return [Term()] if node.value else []
    if isinstance(node, Cond):
        return [Term()] if cond(node.func, node.arg) != node.negated else []
    if isinstance(node, And):
        terms = [Term()]
        # Single-test children first keeps intermediate products small.
        for child in sorted(node.children, key=_weight):
            sub = _norm(child, lookup_port, cond)
            if not sub:
                return []
            if len(terms) * len(sub) > MAX_TERMS:
                raise ExprError("Expression is too complex to convert to flows.")
            new = []
            for t in terms:
                for s in sub:
                    m = _merge(t, s)
                    if m is not None:
                        new.append(m)
            terms = new
            if not terms:
                return []
        return terms
    if isinstance(node, FSet):
        return _set_terms(node)
    if isinstance(node, Or):
        terms = []
        for child in node.children:
            if isinstance(child, FSet):
                # Its members are this Or's own alternatives (see FSet).
                f = child.field
                terms.extend(Term({f: a}) for a in child.alts)
            else:
                terms.extend(_norm(child, lookup_port, cond))
        return _factor_single_field(terms)
    raise TypeError(f"unexpected node {node!r}")


def _weight(node: Node) -> int:
    # (An FSet weighs 1, as the Or it replaces did: the order of the terms depends on it.)
    return 0 if isinstance(node, FCmp | FStr | Bool | Cond) else 1


def _set_terms(node: FSet) -> list[Term]:
    """_factor_single_field() of one term per member, without making those terms."""
    f = node.field
    alts = node.alts
    if len(alts) < 2 or f in MUST_CROSSPRODUCT:
        return [Term({f: a}) for a in alts]
    uniq = tuple(dict.fromkeys(alts))
    if len(uniq) == 1:
        return [Term({f: uniq[0]})]
    if any(a[1] == 0 for a in uniq):
        return [Term()]
    return [Term({}, {f: uniq})]


def _factor_single_field(terms: list[Term]) -> list[Term]:
    """If every term tests only one and the same field, make them one dimension."""
    if len(terms) < 2:
        return terms
    field = None
    alts: list[Alt] = []
    for t in terms:
        if len(t.base) + len(t.dims) != 1:
            return terms
        if t.base:
            ((f, a),) = t.base.items()
            if field is None:
                field = f
            elif f != field:
                return terms
            alts.append(a)
        else:
            ((f, da),) = t.dims.items()
            if field is None:
                field = f
            elif f != field:
                return terms
            alts.extend(da)
    if field is None or field in MUST_CROSSPRODUCT:
        return terms
    uniq = tuple(dict.fromkeys(alts))
    if len(uniq) == 1:
        return [Term({field: uniq[0]})]
    if any(a[1] == 0 for a in uniq):
        return [Term()]
    return [Term({}, {field: uniq})]
