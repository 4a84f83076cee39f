"""The compiler's contract with its callers: caches that follow their inputs, port and
chassis callbacks, flow tags, and ovs-ofctl printing."""

from __future__ import annotations

import pytest

from pyovn.logical import ofrep as O
from pyovn.logical.compile import CompileContext, Compiler
from pyovn.logical.evaluate import classify, evaluate
from pyovn.logical.expr import ExprError

PORTS = {"p1": 1, "p2": 2}


def ctx(**kw: object) -> CompileContext:
    base: dict[str, object] = {"lookup_port": PORTS.get}
    base.update(kw)
    return CompileContext(**base)  # type: ignore[arg-type]


def test_address_set_change_is_seen_despite_caching() -> None:
    comp = Compiler()
    sets = {"as1": ["10.0.0.1"]}
    f1 = comp.compile("ip4.src == $as1", "next;", "ingress", 0, 10, 1, ctx(address_sets=sets))
    sets["as1"] = ["10.0.0.2", "10.0.0.3"]  # mutated in place
    f2 = comp.compile("ip4.src == $as1", "next;", "ingress", 0, 10, 1, ctx(address_sets=sets))
    assert [str(f.match) for f in f1] == ["ip,metadata=0x1,nw_src=10.0.0.1"]
    assert sorted(str(f.match) for f in f2) == ["ip,metadata=0x1,nw_src=10.0.0.2",
                                                "ip,metadata=0x1,nw_src=10.0.0.3"]


def test_port_names_resolve_per_datapath() -> None:
    comp = Compiler()
    a = comp.compile('inport == "p1"', 'outport = "p2"; output;', "ingress", 0, 50, 1, ctx())
    b = comp.compile('inport == "p1"', 'outport = "p2"; output;', "ingress", 0, 50, 2,
                     ctx(lookup_port={"p1": 7, "p2": 8}.get))
    assert str(a[0]) == ("cookie=0x0, table=8, priority=50,reg14=0x1,metadata=0x1 "
                         "actions=set_field:0x2->reg15,resubmit(,37)")
    assert str(b[0]) == ("cookie=0x0, table=8, priority=50,reg14=0x7,metadata=0x2 "
                         "actions=set_field:0x8->reg15,resubmit(,37)")


def test_unknown_port_in_match_gives_no_flow_and_none_is_zero() -> None:
    comp = Compiler()
    assert comp.compile('inport == "nosuch"', "next;", "ingress", 0, 50, 1, ctx()) == []
    (f,) = comp.compile('outport == "none"', "drop;", "ingress", 0, 50, 1, ctx())
    assert f.match.fields["reg15"] == (0, 0xFFFFFFFF)


def test_is_chassis_resident_uses_the_callback() -> None:
    comp = Compiler()
    m = 'ip4 && is_chassis_resident("cr-lrp")'
    assert comp.compile(m, "next;", "ingress", 0, 1, 1, ctx()) == []
    assert len(comp.compile(m, "next;", "ingress", 0, 1, 1,
                            ctx(is_chassis_resident=lambda p: p == "cr-lrp"))) == 1
    neg = '!is_chassis_resident("cr-lrp")'
    assert len(comp.compile(neg, "next;", "ingress", 0, 1, 1, ctx())) == 1


def test_flows_tagged_with_a_remote_port_are_skipped() -> None:
    comp = Compiler()
    local = ctx(is_port_local=lambda p: p == "p1")
    assert comp.compile("1", "next;", "ingress", 0, 1, 1, local, in_out_port="p2") == []
    assert len(comp.compile("1", "next;", "ingress", 0, 1, 1, local, in_out_port="p1")) == 1


def test_shared_flow_compiles_once_per_template_but_per_datapath_metadata() -> None:
    comp = Compiler()
    c = ctx()
    flows = [comp.compile("tcp.dst == {80, 443} && ip4.src == {1.1.1.1, 2.2.2.2}", "next;",
                          "ingress", 3, 100, dp, c) for dp in (1, 2, 3)]
    for dp, fl in zip((1, 2, 3), flows):
        assert {f.match.fields["metadata"][0] for f in fl} == {dp}
    ids = [{f.match.fields["conj_id"][0] for f in fl if "conj_id" in f.match.fields}
           for fl in flows]
    assert all(len(i) == 1 for i in ids) and len(set().union(*ids)) == 3


def test_check_accepts_good_flows_and_rejects_bad_ones() -> None:
    comp = Compiler()
    comp.check("ip4 && tcp.dst == 80", "ct_next;")
    with pytest.raises(ExprError):
        comp.check("ip4 &&", "next;")
    with pytest.raises(ExprError):
        comp.check("ip4", "next")


def test_evaluate_and_classify_agree_on_a_simple_flow() -> None:
    flows = Compiler().compile("ip4.src == 10.0.0.0/8 && tcp.dst != 22", "next;", "ingress",
                               0, 10, 1, ctx())
    pkt = {"dl_type": 0x800, "nw_proto": 6, "nw_src": 0x0A010203, "tcp_dst": 80,
           "metadata": 1}
    assert evaluate("ip4.src == 10.0.0.0/8 && tcp.dst != 22", pkt)
    assert classify(flows, pkt)
    pkt22 = {**pkt, "tcp_dst": 22}
    assert not evaluate("ip4.src == 10.0.0.0/8 && tcp.dst != 22", pkt22)
    assert classify(flows, pkt22) == []


def test_match_prints_like_ovs_ofctl() -> None:
    m = O.Match()
    for f, v, mk in (("dl_type", 0x86DD, 0xFFFF), ("nw_proto", 58, 0xFF),
                     ("ct_state", 0x21, 0x23), ("xxreg0", 5 << 96, 0xFF << 96),
                     ("ipv6_dst", 0xFF02 << 112, 0xFFFF << 112)):
        assert m.add(f, v, mk)
    assert str(m) == "ct_state=+new-est+trk,icmp6,reg0=0x5/0xff,ipv6_dst=ff02::/16"
    assert not m.add("reg0", 6, 0xF)  # contradicts reg0=5/0xff
