"""Exhaustive property tests in the style of OVN's test-ovn "exhaustive": for random
expressions over small fields and every possible packet, evaluating the expression
directly agrees with classifying the packet through the compiled OpenFlow flows
(priorities and conjunctive matches included); likewise for sets of logical flows."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyovn.logical import ofrep as O
from pyovn.logical.compile import CompileContext, Compiler
from pyovn.logical.evaluate import Evaluator, classify
from pyovn.logical.expr import ExprError, parse
from pyovn.logical.symbols import SymbolTable


def small_symtab() -> SymbolTable:
    """Small fields over registers (so every packet can be enumerated), a nominal field,
    a predicate, a field with a prerequisite and the string field inport."""
    t = SymbolTable()
    t.add_field("reg0", "reg0")
    t.add_field("reg1", "reg1")
    t.add_subfield("a", None, "reg0", 0, 2)  # 3 bits
    t.add_subfield("b", None, "reg0", 3, 4)  # 2 bits
    t.add_subfield("c", None, "reg1", 0, 1)  # 2 bits
    t.add_predicate("pc", "c[0]")
    t.add_subfield("e", "pc", "reg1", 2, 3)  # 2 bits, needs c[0]
    t.add_field("n", "nw_proto", must_crossproduct=True)  # nominal
    t.add_string("inport", "reg14")
    return t


SYMTAB = small_symtab()
PORTS = {"p1": 1, "p2": 2, "p3": 3}
PACKETS = [{"reg0": r0, "reg1": r1, "reg14": ip, "nw_proto": n, "metadata": 7}
           for r0 in range(32) for r1 in range(16) for ip in range(4) for n in range(3)]
AS = {"set1": ["1", "3", "5"], "set2": ["0/6", "2"]}
PG = {"pg1": ["p1", "p3"], "pg2": ["p2", "nosuchport"]}


def ctx() -> CompileContext:
    return CompileContext(AS, PG, PORTS.get, lambda _p: True)


def _atom(r: random.Random) -> str:
    kind = r.randrange(12)
    f, width = r.choice([("a", 3), ("b", 2), ("c", 2), ("e", 2)])
    v = r.randrange(1 << width)
    if kind == 0:
        return f"{f} == {v}"
    if kind == 1:
        return f"{f} != {v}"
    if kind == 2:
        return f"{f} {r.choice(['<', '<=', '>', '>='])} {v}"
    if kind == 3:
        vals = ", ".join(str(r.randrange(1 << width)) for _ in range(r.randrange(0, 4)))
        return f"{f} {r.choice(['==', '!='])} {{{vals}}}"
    if kind == 4:
        m = r.randrange(1 << width)
        return f"{f} == {v & m}/{m}"
    if kind == 5:
        lo = r.randrange(1 << width)
        return f"{lo} <= {f} <= {r.randrange(lo, 1 << width)}"
    if kind == 6:
        return f"{f}[{r.randrange(width)}]"
    if kind == 7:
        return f"n == {{{', '.join(str(r.randrange(3)) for _ in range(r.randrange(1, 3)))}}}"
    if kind == 8:
        return r.choice(['inport == "p1"', 'inport == {"p2", "p3"}', "inport == @pg1",
                         "inport == @pg2", 'inport == "nosuchport"'])
    if kind == 9:
        return r.choice(["a == $set1", "a != $set1", "a == $set2"])
    if kind == 10:
        return r.choice(["pc", "b == 1", "0", "1"])
    return f"{f} == {v}"


def random_expr(r: random.Random, depth: int = 0) -> str:
    if depth >= 3 or r.random() < 0.35:
        atom = _atom(r)
        return f"!({atom})" if r.random() < 0.25 else atom
    op = r.choice([" && ", " || "])
    parts = [random_expr(r, depth + 1) for _ in range(r.randrange(2, 4))]
    e = "(" + op.join(parts) + ")"
    return f"!{e}" if r.random() < 0.2 else e


def check_expression(expr: str, comp: Compiler) -> bool:
    """Returns False if the compiler rightly refused the expression (nominal misuse)."""
    try:
        flows = comp.compile(expr, "next;", "ingress", 0, 100, 7, ctx())
    except ExprError as e:
        assert "Nominal field" in str(e), (expr, e)
        return False
    ev = Evaluator(SYMTAB, PORTS.get, lambda _f, _a: True)
    node = parse(expr, SYMTAB, AS, PG)
    for pkt in PACKETS:
        want = ev.eval(node, pkt)
        got = classify(flows, pkt)
        assert bool(got) == want, (expr, pkt, [str(f) for f in flows])
    return True


comp = Compiler(SYMTAB)


def test_exhaustive_random_expressions() -> None:
    r = random.Random(20230301)
    checked = 0
    for _ in range(150):
        checked += check_expression(random_expr(r), comp)
    assert checked > 100


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_exhaustive_hypothesis_expressions(seed: int) -> None:
    check_expression(random_expr(random.Random(seed)), comp)


@pytest.mark.parametrize("expr", [
    "a == {1, 2, 3} && b == {0, 1} && c == {1, 2}",   # 3-way conjunction
    "(a == {1, 2} && b == {1, 3}) || (a == {4, 5} && c == {0, 3})",
    "a == $set1 && inport == @pg1 && e == {1, 2}",
    "a != 3 && b != 1",
    "1 <= a <= 6 && 1 < b < 3",
    "(a == 1 || b == 2) && (c == 1 || e == 2)",
])
def test_exhaustive_conjunction_cases(expr: str) -> None:
    assert check_expression(expr, comp)
    flows = comp.compile(expr, "next;", "ingress", 0, 100, 7, ctx())
    if "{" in expr and "&&" in expr and "||" not in expr:
        assert any(isinstance(a, O.Conjunction) for f in flows for a in f.actions)


def test_conjunctive_match_uses_fewer_flows_than_crossproduct() -> None:
    flows = comp.compile('a == {0, 1, 2, 3, 4} && c == {0, 1, 2} && inport == {"p1", "p2", "p3"}',
                         "next;", "ingress", 0, 100, 7, ctx())
    assert len(flows) == 5 + 3 + 3 + 1


def test_random_sets_of_logical_flows_in_one_table() -> None:
    """Several logical flows at different priorities: the first matching flow by
    priority decides, exactly as the classifier over all their OpenFlow flows does."""
    r = random.Random(4242)
    for _ in range(25):
        c = ctx()
        lflows = []
        for prio in r.sample(range(1, 50), r.randrange(2, 6)):
            lflows.append((prio, random_expr(r), f"reg1 = {prio};"))
        flows: list[O.Flow] = []
        kept = []
        for prio, expr, acts in lflows:
            try:
                flows += comp.compile(expr, acts, "ingress", 0, prio, 7, c)
                kept.append((prio, parse(expr, SYMTAB, AS, PG), acts))
            except ExprError:
                continue
        kept.sort(key=lambda x: -x[0])
        ev = Evaluator(SYMTAB, PORTS.get, lambda _f, _a: True)
        for pkt in PACKETS[::3]:
            want = next((p for p, node, _ in kept if ev.eval(node, pkt)), None)
            got = classify(flows, pkt)
            got_prio = {f.priority for f in got}
            assert got_prio == ({want} if want is not None else set()), (kept, pkt)
            if got:
                loads = {a for f in got for a in f.actions}
                assert len(loads) == 1  # one logical flow's actions


def test_conj_ids_are_unique_across_logical_flows() -> None:
    c = ctx()
    f1 = comp.compile("a == {1, 2} && c == {1, 2}", "next;", "ingress", 0, 10, 7, c)
    f2 = comp.compile("a == {3, 4} && inport == @pg1", "next;", "ingress", 0, 10, 7, c)
    ids1 = {f.match.fields["conj_id"][0] for f in f1 if "conj_id" in f.match.fields}
    ids2 = {f.match.fields["conj_id"][0] for f in f2 if "conj_id" in f.match.fields}
    assert ids1 and ids2 and not ids1 & ids2


def test_every_packet_enumerated() -> None:
    assert len(PACKETS) == len(set(map(lambda p: tuple(sorted(p.items())), PACKETS)))
    assert len(list(itertools.islice(PACKETS, 10))) == 10


# -- The same property over OVN's own symbol table: predicates, prerequisites,
# must-crossproduct fields and conntrack bits, with packets drawn from value pools
# (too many fields to enumerate every packet).

from pyovn.logical.symbols import SYMTAB as OVN_SYMTAB  # noqa: E402

_REAL_ATOMS = [
    "ip4", "ip6", "ip", "tcp", "udp", "icmp4", "icmp6", "arp", "sctp", "ct.est", "ct.new",
    "ct.trk", "ct.rpl", "eth.mcast", "eth.bcast", "vlan.present", "flags.loopback",
    "tcp.dst == {80, 443}", "tcp.src >= 1024", "udp.dst == 53", "tcp.dst != 22",
    "ip4.src == 10.0.0.0/8", "ip4.dst == $as4", "ip4.src != 10.1.2.3",
    "ip6.dst == fe80::/10", "ip6.src == $as6", "ip.ttl == {0, 1}", "ip.proto == 2",
    'inport == "p1"', "inport == @pg1", 'outport == {"p2", "p3"}', "reg0[3] == 1",
    "reg0[0..3] > 5", "xxreg0[96..99] == 3", "ct_mark.blocked == 1", "arp.op == 1",
    "icmp4.type == 3", "nd_ns", "nd.target == fe80::1", "ip.later_frag", "ip.is_frag",
    "ct_label.label == 7", "eth.src == $asmac", "vlan.vid == 5", "ip4.mcast",
]
_POOLS: dict[str, list[int]] = {
    "dl_type": [0x800, 0x86DD, 0x806, 0x1234],
    "nw_proto": [6, 17, 1, 58, 132, 2],
    "tcp_dst": [80, 443, 22, 7], "tcp_src": [1023, 1024, 40000],
    "udp_dst": [53, 54],
    "nw_src": [0x0A000001, 0x0A010203, 0xC0A80001], "nw_dst": [0x0A000001, 0xE0000001],
    "ipv6_src": [0xFE80 << 112, 1], "ipv6_dst": [(0xFE80 << 112) | 1, 2],
    "nw_ttl": [0, 1, 64, 255], "nw_frag": [0, 1, 3],
    "ct_state": [0, 0x20, 0x21, 0x22, 0x2A, 0x23], "ct_mark": [0, 1],
    "ct_label": [0, 7 << 96], "dl_src": [1, 2], "dl_dst": [1 << 40, (1 << 48) - 1, 3],
    "vlan_tci": [0, 0x1005, 0x1006], "reg10": [0, 1], "reg0": [0, 8, 6, 3 << 0],
    "reg14": [1, 2, 3], "reg15": [1, 2, 3], "arp_op": [1, 2], "icmp_type": [3, 8],
    "icmpv6_type": [135, 136], "icmpv6_code": [0], "nd_target": [(0xFE80 << 112) | 1, 0],
}
_REAL_AS = {"as4": ["10.0.0.1", "224.0.0.0/4"], "as6": ["fe80::/64", "::1"],
            "asmac": ["00:00:00:00:00:01"]}
_REAL_PG = {"pg1": ["p1", "p3"]}


def _real_expr(r: random.Random, depth: int = 0, atoms: list[str] | None = None,
               negatable: list[str] | None = None) -> str:
    """A random expression; with 'negatable', only those atoms are ever negated and
    compound subexpressions never are."""
    atoms = atoms or _REAL_ATOMS
    if depth >= 2 or r.random() < 0.4:
        if negatable is not None and r.random() < 0.2:
            return f"!({r.choice(negatable)})"
        atom = r.choice(atoms)
        return f"!({atom})" if negatable is None and r.random() < 0.2 else atom
    op = r.choice([" && ", " || "])
    e = "(" + op.join(_real_expr(r, depth + 1, atoms, negatable)
                      for _ in range(r.randrange(2, 4))) + ")"
    return f"!{e}" if negatable is None and r.random() < 0.15 else e


def test_random_expressions_over_ovn_symbols_agree_with_flows() -> None:
    r = random.Random(2303)
    ports = {"p1": 1, "p2": 2, "p3": 3}
    comp_real = Compiler()
    checked = 0
    for _ in range(200):
        expr = _real_expr(r)
        c = CompileContext(_REAL_AS, _REAL_PG, ports.get, lambda _p: True)
        try:
            flows = comp_real.compile(expr, "next;", "ingress", 0, 100, 7, c)
        except ExprError as e:
            assert "Nominal field" in str(e), (expr, e)
            continue
        checked += 1
        ev = Evaluator(OVN_SYMTAB, ports.get, lambda _f, _a: True)
        node = parse(expr, OVN_SYMTAB, _REAL_AS, _REAL_PG)
        for _ in range(300):
            pkt = {k: r.choice(v) for k, v in _POOLS.items()}
            pkt["metadata"] = 7
            assert bool(classify(flows, pkt)) == ev.eval(node, pkt), (expr, pkt)
    assert checked > 100
