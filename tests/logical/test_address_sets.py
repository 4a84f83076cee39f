"""Set-valued comparisons (`ip4.src == $as', `x == {a, b, ...}') compile as one CmpSet /
FSet node, expanded only when the flows are built (with the datapath's metadata at once).
Every flow must be exactly what the member-by-member pipeline gives: sets expanded at
parse time, one template Match per alternative, a copy per datapath; that pipeline is
kept below as the reference, and compared field order, actions and conjunction ids
included."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from typing import Any

import pytest

from pyovn.logical import expr as E
from pyovn.logical import lexer as lx
from pyovn.logical import ofrep as O
from pyovn.logical.actions_encode import EncodeParams, encode_actions
from pyovn.logical.annotate import FSet, annotate
from pyovn.logical.compile import CompileContext, Compiler, build_template, instantiate
from pyovn.logical.expr import And, ExprError, Or, combine, parse
from pyovn.logical.lexer import LexError
from pyovn.logical.normalize import Term, normalize
from pyovn.logical.symbols import LOG_DATAPATH, SYMTAB

_FULL64 = (1 << 64) - 1


# --- the reference: the pipeline as it was before set nodes -------------------------

def _ref_build(terms: list[Term]) -> tuple[list[O.Match], list[tuple[O.Match, list[Any]]],
                                           list[int], list[O.Match]] | None:
    if not terms:
        return None
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
            plain[base] = None
            continue
        if len(dims) == 1:
            f, alts = dims[0]
            for v, m in alts:
                mm = base.copy()
                if mm.add(f, v, m):
                    plain[mm] = None
            continue
        ci = len(conj_n)
        conj_n.append(len(dims))
        conj_bases.append(base)
        for k, (f, alts) in enumerate(dims):
            for v, m in alts:
                mm = base.copy()
                if mm.add(f, v, m):
                    lst = clauses.setdefault(mm, [])
                    if (ci, k) not in lst:
                        lst.append((ci, k))
    clause_list = [(m, c) for m, c in clauses.items() if m not in plain]
    return list(plain), clause_list, conj_n, conj_bases


def _md(m: O.Match, dp_key: int) -> O.Match:
    fields = dict(m.fields)
    fields[LOG_DATAPATH] = (dp_key, _FULL64)
    return O.Match(fields)


def reference(match: str, actions: str, table: int, priority: int, dp_key: int,
              ctx: CompileContext) -> list[O.Flow]:
    pa = Compiler().parse_actions(actions, "ingress", table)
    node = annotate(parse(match, SYMTAB, ctx.address_sets, ctx.port_groups))
    if pa.prereqs:
        node = combine(And, [node] + [annotate(parse(p)) for p in pa.prereqs])
    built = _ref_build(normalize(node, ctx.lookup, ctx.cond))
    if built is None:
        return []
    plain, clauses, conj_n, conj_bases = built
    acts = tuple(encode_actions(pa.actions, EncodeParams(
        "ingress", table, True, ctx.lookup, ctx.groups, ctx.meters, None, dp_key, 0,
        ctx.ct_zero_snat)))
    ptable = O.OFTABLE_LOG_INGRESS_PIPELINE + table
    flows = [O.Flow(ptable, priority, _md(m, dp_key), acts, 0) for m in plain]
    if not conj_n:
        return flows
    first = ctx.alloc_conj_ids(len(conj_n))
    for m, refs in clauses:
        cacts = tuple(O.Conjunction(first + ci, k + 1, conj_n[ci]) for ci, k in refs)
        flows.append(O.Flow(ptable, priority, _md(m, dp_key), cacts, 0))
    for ci, base in enumerate(conj_bases):
        cm = _md(base, dp_key)
        cm.fields["conj_id"] = (first + ci, 0xFFFFFFFF)
        flows.append(O.Flow(ptable, priority, cm, acts, 0))
    return flows


def _shape(flows: list[O.Flow]) -> list[tuple[Any, ...]]:
    # Field order too: it decides the OpenFlow encoder's cached match shapes.
    return [(f.table, f.priority, list(f.match.fields.items()), f.actions, f.cookie)
            for f in flows]


def _outcome(fn: Callable[[CompileContext], list[O.Flow]], ctx: CompileContext) -> object:
    try:
        return _shape(fn(ctx)), ctx.next_conj_id
    except LexError as e:  # (ExprError included)
        return "error", type(e).__name__, str(e)


PORTS = {"p1": 1, "p2": 2}


def _ctx(sets: dict[str, list[str]]) -> CompileContext:
    return CompileContext(sets, {"pg": ["p1", "p2", "nosuch"]}, PORTS.get, lambda _p: True,
                          next_conj_id=5)


def assert_same(comp: Compiler, sets: dict[str, list[str]], match: str, actions: str,
                dp_key: int = 1, table: int = 3) -> int:
    got = _outcome(lambda c: comp.compile(match, actions, "ingress", table, 100, dp_key, c),
                   _ctx(sets))
    want = _outcome(lambda c: reference(match, actions, table, 100, dp_key, c), _ctx(sets))
    assert got == want, (match, actions)
    return len(got[0]) if isinstance(got, tuple) and got[0] != "error" else -1


# --- address sets ------------------------------------------------------------------

def _sets() -> dict[str, list[str]]:
    rng = random.Random(3)
    big4 = [f"10.{(j >> 16) & 255}.{(j >> 8) & 255}.{j & 255}" for j in range(6000)]
    big4 += rng.sample(big4, 50)  # duplicates
    cidr4 = ["10.0.0.1", "10.0.0.1/32", "10.0.0.0/8", "192.168.0.0/16", "172.16.5.0/24",
             "10.0.0.0/255.0.0.255", "10.0.0.2", " 10.0.0.3 ", "10.0.0.2"]
    v6 = [f"fd00::{j:x}" for j in range(1, 600)] + ["fd00::/64", "fd00:1::/48", "fd00::1",
                                                     "::ffff:10.0.0.1", "fe80::1/128"]
    macs = [f"0a:00:00:00:{j >> 8:02x}:{j & 255:02x}" for j in range(700)]
    macs += ["0a:00:00:00:00:00/ff:ff:ff:00:00:00", "0a:00:00:00:00:05",
             "01:00:00:00:00:00/01:00:00:00:00:00"]
    return {"big4": big4, "cidr4": cidr4, "v6": v6, "macs": macs, "empty": [],
            "one": ["10.9.9.9"], "small": ["10.0.0.1", "10.0.0.2", "10.0.0.1"],
            "small6": ["fd00::1", "fd00::2"], "mixed": ["10.0.0.1", "fd00::1"],
            "bad": ["10.0.0.1", "010.0.0.1"], "junk": ["10.0.0.1", "nonsense"]}


SETS = _sets()

CASES = [
    # the common case: one dimension, context-dependent (not cached, metadata built in)
    ('outport == "p1" && ip4 && ip4.src == $big4 && tcp.dst == 1000', "reg0 = 0; next;"),
    # context-independent: a cached template, instantiated per datapath
    ("ip4 && ip4.src == $big4 && tcp.dst == 1000", "next;"),
    ("ip4.src == $cidr4", "next;"),
    ("ip4.dst == $cidr4 && ip4.src == $big4", "next;"),  # a conjunction of two sets
    ("ip4.src == $big4 && tcp.dst == {80, 443}", "ct_next;"),
    ("ip4.src == $big4 && ip4.dst == $small && udp.dst == {53, 5353}", "next;"),
    ('inport == "p2" && ip4.src == $small && ip4.dst == $cidr4', "next;"),
    ("ip6.src == $v6 && ip6.dst == $v6", "next;"),
    ("ip6.src == $v6 && tcp.src == {1, 2, 3}", "next;"),
    ("eth.src == $macs", "next;"),
    ("eth.src == $macs && arp.spa == $cidr4", "next;"),
    ("eth.src == $macs && eth.dst == $macs", 'outport = "p2"; output;'),
    # negation, empty and one-member sets
    ("ip4.src != $small", "next;"),
    ("ip4.src != $empty && tcp", "next;"),
    ("ip4.src == $empty", "next;"),
    ("ip4.src == $empty || ip4.dst == $one", "next;"),
    ("ip4.src == $one && tcp.dst == {}", "next;"),
    ("!(ip4.src == $small)", "next;"),
    ("!(ip4.src != $small && tcp.dst == 1)", "next;"),
    ("ip6.dst != $small6", "next;"),
    ("eth.src != {0a:00:00:00:00:01, 0a:00:00:00:00:02}", "next;"),
    # sets among other alternatives of an OR, with and without shared prerequisites
    ("ip4.src == $big4 || ip4.dst == $small", "next;"),
    ("ip4.src == $small || ip6.src == $v6", "next;"),
    ("(ip4.src == $small || ip6.src == $small6) && tcp.dst == {1, 2}", "next;"),
    ("reg0 == {1, 2} || ip4.src == 1.2.3.4", "next;"),
    ("reg0 == {1, 2} || reg0 == {2, 3} || reg1 == 4", "next;"),
    # a set and a test on the same field; two sets on one field
    ("ip4.src == 10.0.0.0/8 && ip4.src == $cidr4", "next;"),
    ("ip4.src == $small && ip4.src == $cidr4 && tcp.dst == {5, 6}", "next;"),
    ("ip4.src == $small && ip4.src == $one", "next;"),
    # composite registers, subfields, empty masks, fields that never form dimensions
    ("xxreg0 == {1, 2, 0x100000000} && reg1 == {5, 6}", "next;"),
    ("xreg0[3..40] == {7, 9} && reg2 == {1, 2}", "next;"),
    ("reg0 == {0/0, 1}", "next;"),
    ("reg0 == {0/0, 1} && reg1 == {1, 2}", "next;"),
    ("reg0[0..7] == {1, 2, 2} && reg1 == {3, 4} && reg2[4..5] == {1, 2}", "next;"),
    ("ip.proto == {6, 17}", "next;"),
    ("icmp6.type == {135, 136} && ip6.src == $small6", "next;"),
    ("ip4.src == {0.0.0.0/0.0.0.0, 2.2.2.2}", "next;"),
    ("ip4.src == {1.1.1.1/0.0.0.0, 2.2.2.2}", "next;"),
    ("tcp.dst == {1, 2, 3} && ip4.src == {1.1.1.1, 1.1.1.1}", "next;"),
    ("outport == @pg && ip4.src == $big4", "next;"),
    ("ip4.src == {$small, 1.2.3.4, $one, $empty} && ip4.dst == {$cidr4}", "next;"),
    ("ip.frag == {1, 3} && ct_label[0..3] == {1, 2} && ct_mark == {0x1/0x1, 0x2/0x2}", "next;"),
    # errors: reported as before, for the same member
    ("ip4.src == $mixed", "next;"),
    ("ip4.src == $bad", "next;"),
    ("ip4.src == $junk", "next;"),
    ("ip4.src == $nosuch", "next;"),
    ("eth.type != {0x800, 0x86dd}", "next;"),
    ("tcp.dst == {1, 70000}", "next;"),
    ('ip4.src == {1.2.3.4, "p1"}', "next;"),
    ("inport == {1, 2}", "next;"),
    ("ip4 && icmp4.frag_mtu == {1, 2}", "next;"),
    ("ip4 && icmp4.frag_mtu != {1, 2}", "next;"),
    ("ip4.src == {1.2.3.4, 1.2.3.5} > 1", "next;"),
    ("ip4.src < {1.2.3.4, 1.2.3.5}", "next;"),
]


@pytest.mark.parametrize("match,actions", CASES)
def test_set_nodes_compile_like_the_member_by_member_reference(match: str,
                                                               actions: str) -> None:
    comp = Compiler()
    for dp_key in (1, 2, 1):  # the second and third use any cached template
        assert_same(comp, SETS, match, actions, dp_key)


def test_the_big_cases_give_one_flow_per_address() -> None:
    """(That the comparisons above are not vacuous.)"""
    comp = Compiler()
    n = assert_same(comp, SETS, CASES[0][0], CASES[0][1])
    assert n == len(set(SETS["big4"]))
    n = assert_same(comp, SETS, "ip4.dst == $cidr4 && ip4.src == $big4", "next;")
    assert n == len(set(SETS["big4"])) + 7 + 1  # clauses of both sets, the conj_id flow


def test_a_set_stays_one_node_until_the_flows_are_built() -> None:
    node = parse("ip4.src == $big4", SYMTAB, SETS, compact_sets=True)
    assert isinstance(node, E.CmpSet) and len(node.values) == len(SETS["big4"])
    assert isinstance(parse("ip4.src == $big4", SYMTAB, SETS), Or)  # the default: expanded
    ann = annotate(node)
    assert isinstance(ann, And)
    (fset,) = [c for c in ann.children if isinstance(c, FSet)]
    assert fset.field == "nw_src" and len(fset.alts) == len(SETS["big4"])
    # One- and zero-member sets, string fields and predicates keep their usual form.
    assert isinstance(parse("ip4.src == $one", SYMTAB, SETS, compact_sets=True), E.Cmp)
    assert isinstance(parse("ip4.src == $empty", SYMTAB, SETS, compact_sets=True), E.Bool)
    assert isinstance(parse('inport == {"a", "b"}', compact_sets=True), Or)
    assert isinstance(parse("ip4 == {0, 1}", compact_sets=True), Or)


def test_cmpset_means_its_expansion() -> None:
    node = parse("reg0[1..3] != {1, 2/3}", compact_sets=True)
    assert isinstance(node, E.CmpSet)
    assert repr(node.expand()) == repr(parse("reg0[1..3] != {1, 2/3}"))
    assert repr(node.negate()) == "reg0[1..3] == {0x1, 0x2/0x3}"


# --- random expressions --------------------------------------------------------------

def _random_sets(rng: random.Random) -> dict[str, list[str]]:
    def ip4() -> str:
        return f"10.{rng.randrange(3)}.{rng.randrange(3)}.{rng.randrange(256)}"

    def member(kind: str) -> str:
        r = rng.random()
        if kind == "4":
            if r < 0.15:
                net = ipaddress.ip_network(f"{ip4()}/{rng.choice([8, 16, 24, 30, 32])}",
                                           strict=False)
                return str(net)
            return ip4()
        if kind == "6":
            if r < 0.15:
                return f"fd00:{rng.randrange(4):x}::/64"
            return f"fd00::{rng.randrange(4):x}:{rng.randrange(65536):x}"
        if r < 0.1:
            return f"0a:00:{rng.randrange(3):02x}:00:00:00/ff:ff:ff:00:00:00"
        return f"0a:00:{rng.randrange(3):02x}:00:00:{rng.randrange(256):02x}"

    out: dict[str, list[str]] = {}
    for i in range(2):
        for kind, sizes in (("4", [0, 1, 2, 5, 60, 400]), ("6", [0, 1, 2, 30]),
                            ("m", [0, 1, 2, 30])):
            members = [member(kind) for _ in range(rng.choice(sizes))]
            if members and rng.random() < 0.3:
                members += rng.sample(members, min(3, len(members)))
            out[f"a{kind}_{i}"] = members
    # `!=' sets stay small: each member multiplies the alternatives of the others.
    out["s4"] = [member("4") for _ in range(rng.randrange(3))]
    out["s6"] = [member("6") for _ in range(rng.randrange(2))]
    return out


def _atom(rng: random.Random) -> str:
    i = rng.randrange(2)
    lit = "{" + ", ".join(f"10.0.0.{rng.randrange(6)}" for _ in range(rng.randrange(5))) + "}"
    return rng.choice([
        f"ip4.src == $a4_{i}", f"ip4.dst == $a4_{i}", "ip4.src != $s4", f"ip6.src == $a6_{i}",
        "ip6.dst != $s6", f"eth.src == $am_{i}", f"arp.tpa == $a4_{i}", f"ip4.src == {lit}",
        f"ip4.dst != {lit}" if lit.count(",") < 2 else "ip4", "tcp.dst == {80, 443, 8080}",
        "udp.src == {" + ", ".join(str(rng.randrange(9)) for _ in range(rng.randrange(4))) + "}",
        "reg0[0..3] == {1, 2, 3, 3}", "reg0[2..5] != {1, 5}", "ip.proto == {6, 17}", "ct.est",
        'outport == "p1"', "inport == @pg", "ip4", "ip6", "xxreg0 == {1, 2, 0x100000000}",
        "reg1 == {0x1/0x1, 0x2/0x2}", "reg1 == 4"])


def _expr(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.35:
        a = _atom(rng)
        if rng.random() < 0.15 and "{" not in a and "$" not in a:
            a = f"!({a})"
        return a
    op = " && " if rng.random() < 0.6 else " || "
    e = "(" + op.join(_expr(rng, depth + 1) for _ in range(rng.randrange(2, 4))) + ")"
    return "!" + e if rng.random() < 0.1 and "{" not in e and "$" not in e else e


def _tractable(match: str) -> bool:
    """At most one wide `!=' set: each is an OR of one test per bit and member, and two
    on one field intersect into the product (slow, and the same both ways)."""
    return match.count("ip4.src != $") + match.count("ip4.dst != {") \
        + match.count("ip6.dst != $") <= 1


@pytest.mark.timeout(300)
def test_random_expressions_with_sets_compile_like_the_reference() -> None:
    rng = random.Random(11)
    comp = Compiler()
    flows = 0
    sets = _random_sets(rng)
    for case in range(300):
        if case % 40 == 0:
            sets = _random_sets(rng)
        match = _expr(rng)
        while not _tractable(match):
            match = _expr(rng)
        actions = rng.choice(["next;", "reg0 = 0; next;", "ct_next;", 'outport = "p1"; output;'])
        try:
            n = assert_same(comp, sets, match, actions, dp_key=rng.randrange(1, 3))
        except ExprError as e:  # refused as too complex: both must refuse
            assert "too complex" in str(e)
            with pytest.raises(ExprError):
                reference(match, actions, 3, 100, 1, _ctx(sets))
            continue
        flows += max(n, 0)
    assert flows > 10_000


# --- the plain-IPv4 shortcut for address-set members ---------------------------------

def test_plain_ipv4_shortcut_agrees_with_the_lexer() -> None:
    """Members inet_pton accepts must be members the general path reads the same way;
    whatever it refuses goes member by member through the usual path."""
    rng = random.Random(5)
    cases = ["10.0.0.1", "0.0.0.0", "255.255.255.255", " 1.2.3.4 ", "01.2.3.4", "256.1.1.1",
             "1.2.3", "1.2.3.4/24", "1.2.3.0/24", "fe80::1", "00:11:22:33:44:55",
             "1.2.3.4.5", "", "abc", "1.2.3.04", "1.2.3.4\n", "\uff11.2.3.4", "0x1.2.3.4",
             "\u00a01.2.3.4", "1.2.3.4\u2003", "1.2.3.4\x00", "1.2.3.4 junk", "1..2.3",
             "0.0.0.00", "1.2.3.-4", "+1.2.3.4", "1.2.3.4.", "127.1", "0177.0.0.1"]
    cases += [".".join(str(rng.randint(0, 300)) for _ in range(4)) for _ in range(500)]
    for c in cases:
        fast = E._plain_ipv4_values([c])
        slow = E._address_constant(c)
        if fast is not None:
            assert slow == (fast[0], None, lx.IPV4), repr(c)
    good = ["1.2.3.4", "10.0.0.1"]
    assert E._plain_ipv4_values(good) == [0x01020304, 0x0A000001]
    assert E._plain_ipv4_values([*good, "1.2.3.4/32"]) is None
    assert E._plain_ipv4_values([]) == []


# --- the flow builder on its own ---------------------------------------------------------

def _ref_flows(terms: list[Term], dp_key: int, ctx: CompileContext) -> list[O.Flow]:
    built = _ref_build(terms)
    if built is None:
        return []
    plain, clauses, conj_n, conj_bases = built
    acts = (O.Resubmit(9),)
    flows = [O.Flow(10, 5, _md(m, dp_key), acts, 7) for m in plain]
    if conj_n:
        first = ctx.alloc_conj_ids(len(conj_n))
        for m, refs in clauses:
            cacts = tuple(O.Conjunction(first + ci, k + 1, conj_n[ci]) for ci, k in refs)
            flows.append(O.Flow(10, 5, _md(m, dp_key), cacts, 0))
        for ci, base in enumerate(conj_bases):
            cm = _md(base, dp_key)
            cm.fields["conj_id"] = (first + ci, 0xFFFFFFFF)
            flows.append(O.Flow(10, 5, cm, acts, 7))
    return flows


def test_flow_builder_agrees_with_the_reference_on_any_terms() -> None:
    """Terms as normalize() never makes them too (duplicate alternatives, values outside
    their masks, empty masks, composite registers, metadata, a base test on a dimension's
    field), built for one datapath or as a cached template."""
    rng = random.Random(2)
    fields = ["reg0", "reg1", "xxreg0", "xreg0", LOG_DATAPATH, "nw_src", "tcp_dst"]

    def alt() -> tuple[int, int]:
        m = rng.choice([0, 0xF, 0xFF, 0xF0, 0xFFFFFFFF, 0x1_0000_000F])
        return rng.randrange(0x40) & (m if rng.random() < 0.8 else -1), m

    for _ in range(3000):
        terms = []
        for _t in range(rng.choice([1, 1, 1, 2, 3])):
            base = {f: alt() for f in rng.sample(fields, rng.randrange(3))}
            dims = {f: tuple(alt() for _a in range(rng.randrange(1, 6)))
                    for f in rng.sample(fields, rng.choice([0, 1, 1, 2, 3]))}
            terms.append(Term(base, dims))
        dp_key = rng.randrange(1, 4)
        want = _shape(_ref_flows(terms, dp_key, ctx := CompileContext(next_conj_id=3)))
        want_id = ctx.next_conj_id
        for baked in (dp_key, None):
            t = build_template(terms, baked)
            ctx = CompileContext(next_conj_id=3)
            got = [] if t is None else instantiate(t, 10, 5, dp_key, (O.Resubmit(9),), 7, ctx)
            assert (_shape(got), ctx.next_conj_id) == (want, want_id), terms
