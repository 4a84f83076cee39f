"""Direct evaluation of match expressions against a packet, and OpenFlow classification.

evaluate() works on the parsed tree with the symbol table's meaning of each symbol
(subfields, predicates, prerequisites), independently of annotation and normalisation,
so it serves both ovn-trace style tracing and as the reference the compiler is tested
against.  classify() looks a packet up in a set of flows of one table the way Open
vSwitch does, conjunctive matches included.

A packet is a {OpenFlow field: int} mapping (missing fields are 0); inport/outport are
the tunnel keys in reg14/reg15, compared through lookup_port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pyovn.logical import ofrep as O
from pyovn.logical.expr import And, Bool, Cmp, Cond, Node, Or, StrCmp, parse
from pyovn.logical.symbols import SYMTAB, SymbolTable

Packet = Mapping[str, int]


def _relop(relop: str, x: int, c: int) -> bool:
    if relop == "==":
        return x == c
    if relop == "!=":
        return x != c
    if relop == "<":
        return x < c
    if relop == "<=":
        return x <= c
    if relop == ">":
        return x > c
    return x >= c


class Evaluator:
    def __init__(self, symtab: SymbolTable = SYMTAB,
                 lookup_port: Callable[[str], int | None] = lambda _n: None,
                 cond: Callable[[str, str], bool] = lambda _f, _a: False) -> None:
        self.symtab = symtab
        self.lookup_port = lookup_port
        self.cond = cond
        self._parsed: dict[str, Node] = {}

    def _expansion(self, s: str) -> Node:
        node = self._parsed.get(s)
        if node is None:
            node = self._parsed[s] = parse(s, self.symtab)
        return node

    def _negated(self, s: str) -> Node:
        key = "!" + s
        node = self._parsed.get(key)
        if node is None:
            node = self._parsed[key] = parse(s, self.symtab).negate()
        return node

    def prereqs_hold(self, symbol: str, pkt: Packet) -> bool:
        return all(self.eval(self._expansion(p), pkt) for p in self.symtab.all_prereqs(symbol))

    def eval(self, node: Node, pkt: Packet) -> bool:
        if isinstance(node, Bool):
            return node.value
        if isinstance(node, And):
            return all(self.eval(c, pkt) for c in node.children)
        if isinstance(node, Or):
            return any(self.eval(c, pkt) for c in node.children)
        if isinstance(node, Cond):
            return self.cond(node.func, node.arg) != node.negated
        if isinstance(node, StrCmp):
            sym = self.symtab[node.symbol]
            assert sym.of_field is not None
            key = self.lookup_port(node.value)
            equal = key is not None and O.read_field(pkt, sym.of_field) == key
            return equal if node.relop == "==" else not equal
        assert isinstance(node, Cmp)
        sym = self.symtab[node.symbol]
        if sym.predicate is not None:
            # As in OVN, a predicate tested negatively is its expansion negated *before*
            # prerequisites are added: !ip.later_frag is ip.frag[1] != 1 && ip.
            positive = (node.value == 1) == (node.relop == "==")
            exp = self._expansion(sym.predicate)
            return self.eval(exp if positive else self._negated(sym.predicate), pkt)
        base, ofs = self.symtab.resolve(node.symbol)
        assert base.of_field is not None
        width = sym.width
        if node.lo is not None and node.hi is not None:
            ofs += node.lo
            width = node.hi - node.lo + 1
        x = (O.read_field(pkt, base.of_field) >> ofs) & ((1 << width) - 1)
        if node.mask is not None:
            result = _relop(node.relop, x & node.mask, node.value & node.mask)
        else:
            result = _relop(node.relop, x, node.value)
        # Prerequisites are conjoined with the comparison as written (after `!' has been
        # pushed down), exactly as the compiler adds them.
        return result and self.prereqs_hold(node.symbol, pkt)


def evaluate(expr: str | Node, pkt: Packet, symtab: SymbolTable = SYMTAB,
             lookup_port: Callable[[str], int | None] = lambda _n: None,
             cond: Callable[[str, str], bool] = lambda _f, _a: False) -> bool:
    node = parse(expr, symtab) if isinstance(expr, str) else expr
    return Evaluator(symtab, lookup_port, cond).eval(node, pkt)


def classify(flows: Iterable[O.Flow], pkt: Packet) -> list[O.Flow]:
    """The flows Open vSwitch would execute for 'pkt' among flows of one table: the
    highest-priority plain match, or the conj_id flow of a conjunction whose clauses all
    match at that priority; conjunctions left incomplete are skipped.  Returns every flow
    that ties at the winning priority (more than one means the outcome is ambiguous)."""
    by_prio: dict[int, list[O.Flow]] = {}
    for f in flows:
        by_prio.setdefault(f.priority, []).append(f)
    for prio in sorted(by_prio, reverse=True):
        hard: list[O.Flow] = []
        clauses: dict[int, set[int]] = {}
        n_clauses: dict[int, int] = {}
        conj_flows: dict[int, O.Flow] = {}
        for f in by_prio[prio]:
            cid = f.match.fields.get("conj_id")
            if cid is not None:
                conj_flows[cid[0]] = f
                continue
            if not f.match.matches(pkt):
                continue
            conjs = [a for a in f.actions if isinstance(a, O.Conjunction)]
            if not conjs:
                hard.append(f)
                continue
            for c in conjs:
                clauses.setdefault(c.id, set()).add(c.clause)
                n_clauses[c.id] = c.n_clauses
        done = [cid for cid, ks in clauses.items() if len(ks) == n_clauses[cid]]
        winners = hard + [conj_flows[c] for c in done if c in conj_flows
                          and conj_flows[c].match.matches({**pkt, "conj_id": c})]
        if winners:
            return winners
    return []
