"""Logical flow -> OpenFlow flows: the phases put together, with caches.

Everything up to annotation depends only on the text (and on the contents of the
address sets and port groups it names), so it is cached by string.  Normalisation and
encoding depend on the datapath only through port names, chassis residence, groups and
meters; when an expression (or action list) uses none of those, its result is cached
too, as a template that only needs the datapath's metadata (flows shared by a
datapath group then cost one compilation, not one per datapath).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pyovn.logical import actions_ast as A
from pyovn.logical import ofrep as O
from pyovn.logical.actions import ParsedActions, parse_actions
from pyovn.logical.actions_encode import EncodeParams, encode_actions
from pyovn.logical.annotate import FStr, annotate
from pyovn.logical.expr import And, Cond, Node, Or, combine, parse
from pyovn.logical.normalize import Term, normalize
from pyovn.logical.symbols import LOG_DATAPATH, SYMTAB, SymbolTable

_FULL64 = (1 << 64) - 1
_REF_RE = re.compile(r"([$@])([A-Za-z_.][A-Za-z_.0-9]*)")


@dataclass
class CompileContext:
    """What compiling needs to know about the world (per chassis, per datapath)."""

    address_sets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    port_groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    lookup_port: Callable[[str], int | None] = lambda _name: None
    is_chassis_resident: Callable[[str], bool] = lambda _name: False
    # Whether a port is bound here or otherwise related to this chassis; flows tagged
    # with a port that is not (Logical_Flow tags:in_out_port) are skipped.
    is_port_local: Callable[[str], bool] = lambda _name: True
    groups: O.GroupTable = field(default_factory=O.GroupTable)
    meters: O.GroupTable = field(default_factory=O.GroupTable)
    next_conj_id: int = 1
    ct_zero_snat: bool = True

    def lookup(self, name: str) -> int | None:
        """Port or multicast group name -> tunnel key; "none" is key 0 (as in
        ovn-controller's lookup_port_cb)."""
        return 0 if name == "none" else self.lookup_port(name)

    def cond(self, func: str, arg: str) -> bool:
        return self.is_chassis_resident(arg) if func == "is_chassis_resident" else False

    def alloc_conj_ids(self, n: int) -> int:
        base = self.next_conj_id
        self.next_conj_id += n
        return base


Alt = tuple[int, int]


@dataclass
class MatchTemplate:
    """A compiled match, independent of the datapath unless 'metadata' is set."""

    plain: list[O.Match]
    clauses: list[tuple[O.Match, list[tuple[int, int]]]]  # match, [(conj index, clause k)]
    conj_n: list[int]  # number of clauses of each conjunction
    conj_bases: list[O.Match]  # conj_id flow match (without conj_id) per conjunction
    # One term's dimensions, whose flows (the base plus one alternative each) instantiate()
    # makes directly with the datapath's metadata, instead of a template Match per
    # alternative and a copy per datapath (an address set is 10^4-10^5 of them): one
    # dimension gives plain flows, two or more the clauses of conjunction 0.
    lazy: tuple[dict[str, Alt], list[tuple[str, tuple[Alt, ...]]]] | None = None
    # The datapath whose metadata 'plain' and 'clauses' already carry (built for one
    # datapath, not cached), or None.
    metadata: int | None = None


def _depends_on_context(node: Node) -> bool:
    if isinstance(node, FStr | Cond):
        return True
    if isinstance(node, And | Or):
        return any(_depends_on_context(c) for c in node.children)
    return False


def _actions_depend_on_context(acts: Sequence[A.Act]) -> bool:
    for a in A.walk_actions(acts):
        if isinstance(a, A.Load) and isinstance(a.value, str):
            return True
        if isinstance(a, A.CtLb) and a.backends:
            return True
        if isinstance(a, A.Log) and a.meter:
            return True
        if isinstance(a, A.IntArg) and a.op == "set_meter":
            return True
        if isinstance(a, A.FwdGroup | A.PortArg | A.Select | A.SampleAct):
            return True
    return False


class Compiler:
    """Holds the caches; one per process (they are keyed by content, so address-set
    and port-group changes are picked up)."""

    def __init__(self, symtab: SymbolTable = SYMTAB) -> None:
        self.symtab = symtab
        self._match_cache: dict[object, Node] = {}
        self._action_cache: dict[tuple[str, str, int], ParsedActions] = {}
        # id(node) -> (node, template); the node is kept so its id stays unique.
        self._templates: dict[int, tuple[Node, MatchTemplate | None]] = {}
        self._encoded: dict[tuple[str, str, int, bool], tuple[O.Action, ...]] = {}

    def clear(self) -> None:
        self._match_cache.clear()
        self._action_cache.clear()
        self._templates.clear()
        self._encoded.clear()

    def parse_match(self, match: str, ctx: CompileContext) -> Node:
        """Parsed and annotated match; raises ExprError."""
        key: object = match
        if "$" in match or "@" in match:
            # Key on the contents of the sets the match names.
            refs = []
            for kind, name in _REF_RE.findall(match):
                src = ctx.address_sets if kind == "$" else ctx.port_groups
                vals = src.get(name)
                refs.append((kind, name, None if vals is None else tuple(vals)))
            key = (match, tuple(refs))
        node = self._match_cache.get(key)
        if node is None:
            node = annotate(parse(match, self.symtab, ctx.address_sets, ctx.port_groups,
                                  compact_sets=True), self.symtab)
            self._match_cache[key] = node
        return node

    def parse_actions(self, actions: str, pipeline: str, table: int) -> ParsedActions:
        key = (actions, pipeline, table)
        pa = self._action_cache.get(key)
        if pa is None:
            pa = parse_actions(actions, pipeline, table, self.symtab)
            self._action_cache[key] = pa
        return pa

    def check(self, match: str, actions: str, pipeline: str = "ingress", table: int = 0,
              ctx: CompileContext | None = None) -> None:
        """Parses and checks a logical flow without compiling it (for northd)."""
        self.parse_match(match, ctx or CompileContext())
        self.parse_actions(actions, pipeline, table)

    def full_match(self, match: str, pa: ParsedActions, ctx: CompileContext) -> Node:
        node = self.parse_match(match, ctx)
        if pa.prereqs:
            key = (match, "prereqs", tuple(pa.prereqs), id(node))
            cached = self._match_cache.get(key)
            if cached is None:
                parts = [node]
                for p in pa.prereqs:
                    parts.append(self.parse_match(p, ctx))
                cached = combine(And, parts)
                # Keep 'node' alive alongside so id(node) in the key stays unique.
                self._match_cache[key] = cached
                self._match_cache[(key, "keep")] = node
            node = cached
        return node

    def _template(self, node: Node, ctx: CompileContext, dp_key: int) -> MatchTemplate | None:
        hit = self._templates.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        if _depends_on_context(node):
            # Used for this datapath only: its matches can carry the metadata at once.
            return build_template(normalize(node, ctx.lookup, ctx.cond), dp_key)
        t = build_template(normalize(node, ctx.lookup, ctx.cond))
        self._templates[id(node)] = (node, t)
        return t

    def compile(self, match: str, actions: str, pipeline: str, table: int, priority: int,
                dp_key: int, ctx: CompileContext, is_switch: bool = True, cookie: int = 0,
                ctrl_meter_id: int | None = None,
                in_out_port: str | None = None) -> list[O.Flow]:
        """Compiles one logical flow for one datapath; raises ExprError on bad input."""
        if in_out_port and (ctx.lookup(in_out_port) is None
                            or not ctx.is_port_local(in_out_port)):
            return []
        pa = self.parse_actions(actions, pipeline, table)
        node = self.full_match(match, pa, ctx)
        tmpl = self._template(node, ctx, dp_key)
        if tmpl is None:
            return []
        ofacts = self._encode(pa, actions, pipeline, table, is_switch, ctx, ctrl_meter_id,
                              dp_key, cookie)
        base = (O.OFTABLE_LOG_INGRESS_PIPELINE if pipeline == "ingress"
                else O.OFTABLE_LOG_EGRESS_PIPELINE)
        return instantiate(tmpl, base + table, priority, dp_key, ofacts, cookie, ctx)

    def _encode(self, pa: ParsedActions, actions: str, pipeline: str, table: int,
                is_switch: bool, ctx: CompileContext, ctrl_meter_id: int | None, dp_key: int,
                cookie: int) -> tuple[O.Action, ...]:
        key = (actions, pipeline, table, is_switch)
        cacheable = ctrl_meter_id is None and ctx.ct_zero_snat
        if cacheable:
            hit = self._encoded.get(key)
            if hit is not None:
                return hit
        ep = EncodeParams(pipeline, table, is_switch, ctx.lookup, ctx.groups, ctx.meters,
                          ctrl_meter_id, dp_key, cookie, ctx.ct_zero_snat)
        ofacts = tuple(encode_actions(pa.actions, ep))
        if cacheable and not _actions_depend_on_context(pa.actions):
            self._encoded[key] = ofacts
        return ofacts


def build_template(terms: list[Term], dp_key: int | None = None) -> MatchTemplate | None:
    """Turns normalised terms into matches: plain matches, and for each term with two or
    more dimensions a conjunctive match (clause flows plus one conj_id flow carrying the
    term's common tests, as ovn-controller 23.03 does, which also gives Open vSwitch the
    prerequisites its actions need).  With 'dp_key', plain and clause matches carry that
    datapath's metadata already (the template then serves that datapath only)."""
    if not terms:
        return None
    if len(terms) == 1:
        lazy = _lazy_template(terms[0])
        if lazy is not None:
            return lazy
    if dp_key is not None and any(LOG_DATAPATH in t.base or LOG_DATAPATH in t.dims
                                  for t in terms):
        dp_key = None  # instantiate() must overwrite the field, after deduplication
    md = None if dp_key is None else (dp_key, _FULL64)
    plain: dict[O.Match, None] = {}
    clauses: dict[O.Match, list[tuple[int, int]]] = {}
    conj_n: list[int] = []
    conj_bases: list[O.Match] = []
    for t in terms:
        base = O.Match()
        ok = True
        for f, (v, m) in t.base.items():
            ok = ok and base.add(f, v, m)
        if not ok:
            continue
        dims = list(t.dims.items())
        if not dims:
            plain[_with_md(base, md)] = None
            continue
        if len(dims) == 1:
            f, alts = dims[0]
            for v, m in alts:
                mm = base.copy()
                if mm.add(f, v, m):
                    plain[_with_md(mm, md)] = None
            continue
        ci = len(conj_n)
        conj_n.append(len(dims))
        conj_bases.append(base)
        for k, (f, alts) in enumerate(dims):
            for v, m in alts:
                mm = base.copy()
                if mm.add(f, v, m):
                    lst = clauses.setdefault(_with_md(mm, md), [])
                    if (ci, k) not in lst:
                        lst.append((ci, k))
    # A clause match that is also a plain match of the same flow is redundant: the plain
    # flow already gives those packets the same actions.
    clause_list = [(m, c) for m, c in clauses.items() if m not in plain]
    return MatchTemplate(list(plain), clause_list, conj_n, conj_bases, None, dp_key)


def _with_md(m: O.Match, md: tuple[int, int] | None) -> O.Match:
    """'m' with the metadata test added last, as _with_metadata() would (in place: 'm' is
    a fresh copy), so that the fields keep their order."""
    if md is not None:
        m.fields[LOG_DATAPATH] = md
    return m


def _lazy_template(t: Term) -> MatchTemplate | None:
    """The template of a lone term with dimensions, with the alternatives kept as they
    are, when build_template's general path would give the same flows: each dimension's
    field is a plain field (no composite register to split) absent from the base, and no
    alternative has an empty mask, so that base + alternative always holds and two of
    them are equal only if the alternatives are (deduplicated here, in order); matches of
    two dimensions differ in their fields.  None otherwise."""
    if not t.dims:
        return None
    base = O.Match()
    for f, (v, m) in t.base.items():
        if not base.add(f, v, m):
            return None
    fields = base.fields
    dims: list[tuple[str, tuple[Alt, ...]]] = []
    for f, alts in t.dims.items():
        if f in O.COMPOSITE or f in fields:
            return None
        for _v, m in alts:
            if not m:
                return None
        dims.append((f, tuple(dict.fromkeys([(v & m, m) for v, m in alts]))))
    n = len(dims)
    if n == 1:
        return MatchTemplate([], [], [], [], (fields, dims))
    return MatchTemplate([], [], [n], [base], (fields, dims))


def _with_metadata(m: O.Match, dp_key: int) -> O.Match:
    fields = dict(m.fields)
    fields[LOG_DATAPATH] = (dp_key, _FULL64)
    return O.Match(fields)


def instantiate(t: MatchTemplate, ptable: int, priority: int, dp_key: int,
                actions: tuple[O.Action, ...], cookie: int,
                ctx: CompileContext) -> list[O.Flow]:
    if t.lazy is not None:
        return _instantiate_lazy(t, t.lazy, ptable, priority, dp_key, actions, cookie, ctx)
    assert t.metadata is None or t.metadata == dp_key
    ready = t.metadata is not None
    flows = [O.Flow(ptable, priority, m if ready else _with_metadata(m, dp_key), actions,
                    cookie) for m in t.plain]
    if not t.conj_n:
        return flows
    first = ctx.alloc_conj_ids(len(t.conj_n))
    # Clause flows with the same clauses share one actions tuple (an address set's every
    # address has the same one), which the OpenFlow encoder then finds by identity.
    shared: dict[tuple[tuple[int, int], ...], tuple[O.Action, ...]] = {}
    for m, refs in t.clauses:
        rk = tuple(refs)
        cacts = shared.get(rk)
        if cacts is None:
            cacts = shared[rk] = tuple(O.Conjunction(first + ci, k + 1, t.conj_n[ci])
                                       for ci, k in refs)
        flows.append(O.Flow(ptable, priority, m if ready else _with_metadata(m, dp_key),
                            cacts, 0))
    for ci, base in enumerate(t.conj_bases):
        cm = _with_metadata(base, dp_key)
        cm.fields["conj_id"] = (first + ci, 0xFFFFFFFF)
        flows.append(O.Flow(ptable, priority, cm, actions, cookie))
    return flows


def _instantiate_lazy(t: MatchTemplate,
                      lazy: tuple[dict[str, Alt], list[tuple[str, tuple[Alt, ...]]]],
                      ptable: int, priority: int, dp_key: int, actions: tuple[O.Action, ...],
                      cookie: int, ctx: CompileContext) -> list[O.Flow]:
    """The flows instantiate() would give for the general template of the same term, in
    the same order and with the fields in the same order (base, alternative, metadata);
    each match is made once, final."""
    base, dims = lazy
    md = (dp_key, _FULL64)
    Flow = O.Flow
    Match = O.Match
    flows: list[O.Flow] = []
    append = flows.append
    if not t.conj_n:
        ((f, alts),) = dims
        for a in alts:
            # (copy and two stores: half the cost of a {**base, ...} display)
            d = base.copy()
            d[f] = a
            d[LOG_DATAPATH] = md
            append(Flow(ptable, priority, Match(d), actions, cookie))
        return flows
    first = ctx.alloc_conj_ids(1)
    n = t.conj_n[0]
    for k, (f, alts) in enumerate(dims):
        cacts = (O.Conjunction(first, k + 1, n),)
        for a in alts:
            d = base.copy()
            d[f] = a
            d[LOG_DATAPATH] = md
            append(Flow(ptable, priority, Match(d), cacts, 0))
    cm = _with_metadata(t.conj_bases[0], dp_key)
    cm.fields["conj_id"] = (first, 0xFFFFFFFF)
    flows.append(Flow(ptable, priority, cm, actions, cookie))
    return flows


def terms_to_flows(terms: list[Term], ptable: int, priority: int, dp_key: int,
                   actions: tuple[O.Action, ...], cookie: int,
                   ctx: CompileContext) -> list[O.Flow]:
    t = build_template(terms)
    return [] if t is None else instantiate(t, ptable, priority, dp_key, actions, cookie, ctx)


_DEFAULT = Compiler()


def compile_lflow(match: str, actions: str, pipeline: str = "ingress", table: int = 0,
                  priority: int = 0, dp_key: int = 1, ctx: CompileContext | None = None,
                  is_switch: bool = True, cookie: int = 0) -> list[O.Flow]:
    return _DEFAULT.compile(match, actions, pipeline, table, priority, dp_key,
                            ctx or CompileContext(), is_switch, cookie)
