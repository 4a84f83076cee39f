"""Actions: parsing, checking, prerequisites and OpenFlow encoding (ovn-controller's)."""

from __future__ import annotations

import pytest

from pyovn.logical import ofrep as O
from pyovn.logical.actions import parse_actions
from pyovn.logical.actions_encode import EncodeParams, encode_actions
from pyovn.logical.compile import CompileContext, Compiler
from pyovn.logical.expr import ExprError

PORTS = {"p1": 1, "p2": 2, "_MC_flood": 0x8000, "vip": 9}


def enc(text: str, pipeline: str = "ingress", table: int = 3, is_switch: bool = True) -> str:
    pa = parse_actions(text, pipeline, table)
    ep = EncodeParams(pipeline, table, is_switch, PORTS.get)
    return O.format_actions(encode_actions(pa.actions, ep))


@pytest.mark.parametrize(("text", "want"), [
    ("next;", "resubmit(,12)"),
    ("next(5);", "resubmit(,13)"),
    ("next(pipeline=egress, table=2);", "resubmit(,44)"),
    ("output;", "resubmit(,37)"),
    ("drop;", "drop"),
    ('outport = "p2"; output;', "set_field:0x2->reg15,resubmit(,37)"),
    ('outport = "_MC_flood";', "set_field:0x8000->reg15"),
    ("outport = inport;", "move:NXM_NX_REG14[]->NXM_NX_REG15[]"),
    ("reg0[3] = 1;", "set_field:0x8/0x8->reg0"),
    ("vlan.pcp = 4/4;", "set_field:0x8000/0x8000->vlan_tci"),
    ("eth.dst <-> eth.src;", "push:NXM_OF_ETH_SRC[],push:NXM_OF_ETH_DST[],"
     "pop:NXM_OF_ETH_SRC[],pop:NXM_OF_ETH_DST[]"),
    ("ip.ttl--;", "dec_ttl"),
    ("ct_next;", "ct(table=12,zone=NXM_NX_REG13[0..15])"),
    ("ct_commit { ct_mark.blocked = 1; };",
     "ct(commit,zone=NXM_NX_REG13[0..15],nat(src),exec(set_field:0x1/0x1->ct_mark))"),
    ("ct_dnat(10.0.0.5);", "ct(commit,table=12,zone=NXM_NX_REG11[0..15],nat(dst=10.0.0.5))"),
    ("ct_snat;", "ct(table=12,zone=NXM_NX_REG12[0..15],nat)"),
    ("ct_clear;", "ct_clear"),
    ("set_queue(10);", "set_queue:10"),
    ("reg9[1] = check_pkt_larger(1414);", "check_pkt_larger(1414)->NXM_NX_REG9[1]"),
    ("reg0[6] = chk_lb_hairpin();", "set_field:0/0x80->reg10,resubmit(,68),"
     "move:NXM_NX_REG10[7]->NXM_NX_REG0[6]"),
    # reg0 is xxreg0[96..127] to OVN, so it is still saved and passed through the stack.
    ("get_arp(outport, reg0);", "push:NXM_NX_REG0[],push:NXM_NX_REG0[],pop:NXM_NX_REG0[],"
     "set_field:00:00:00:00:00:00->eth_dst,resubmit(,66),pop:NXM_NX_REG0[]"),
    ("clone { output; };", "clone(resubmit(,37))"),
    ("ct_snat_to_vip;", "resubmit(,70)"),
])
def test_encoding(text: str, want: str) -> None:
    assert enc(text) == want


def test_router_ct_uses_nat_zones() -> None:
    assert enc("ct_snat(172.16.0.2, 1000-2000);", is_switch=False) == (
        "ct(commit,table=12,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.2:1000-2000))")
    assert enc("ct_dnat;", is_switch=False) == "ct(table=12,zone=NXM_NX_REG11[0..15],nat)"


def test_egress_output_goes_to_table_64() -> None:
    assert enc("output;", "egress", 9) == "resubmit(,64)"


def test_controller_actions_carry_ovn_opcodes_and_pause() -> None:
    acts = encode_actions(parse_actions(
        "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };").actions,
        EncodeParams(lookup_port=PORTS.get))
    (c,) = acts
    assert isinstance(c, O.Controller)
    # arp {} makes a new packet in ovn-controller: no continuation (as OVN 23.03).
    assert c.opcode == 0 and not c.pause and c.nested is not None
    assert c.userdata_prefix()[:8] == b"\0" * 8
    assert str(c.nested[-1]) == "resubmit(,37)"
    (p,) = [a for a in encode_actions(parse_actions("put_arp(inport, arp.spa, arp.sha);")
                                      .actions, EncodeParams()) if isinstance(a, O.Controller)]
    assert p.opcode == 1 and not p.pause


def test_put_mac_bind_saves_and_restores_arguments() -> None:
    s = enc("put_arp(inport, arp.spa, arp.sha);")
    assert s == ("push:NXM_NX_REG0[],push:NXM_OF_ETH_SRC[],push:NXM_NX_ARP_SHA[],"
                 "push:NXM_OF_ARP_SPA[],pop:NXM_NX_REG0[],pop:NXM_OF_ETH_SRC[],"
                 "controller(userdata=00.00.00.01.00.00.00.00),pop:NXM_OF_ETH_SRC[],"
                 "pop:NXM_NX_REG0[]")


def test_dhcp_options_payload() -> None:
    pa = parse_actions("reg0[3] = put_dhcp_opts(offerip = 10.0.0.1, router = 10.0.0.254, "
                       "mtu = 1442, domain_name = \"ovn.test\");")
    (c,) = encode_actions(pa.actions, EncodeParams())
    assert isinstance(c, O.Controller) and c.opcode == 2 and c.pause
    # Result field as OVN resolves it: reg0[3] is bit 99 of NXM_NX_XXREG0.
    assert c.payload == (bytes.fromhex("0001de10" "00000063" "0a000001" "03040a0000fe"
                                       "1a0205a2") + b"\x0f\x08ovn.test")


def test_ct_lb_mark_makes_a_select_group() -> None:
    ep = EncodeParams(lookup_port=PORTS.get)
    (g,) = encode_actions(parse_actions(
        "ct_lb_mark(backends=10.0.0.1:80,10.0.0.2:80; hash_fields=\"ip_src\");").actions, ep)
    assert isinstance(g, O.Group)
    (desc,) = ep.groups.ids
    assert "selection_method=hash,fields(ip_src)" in desc
    assert "nat(dst=10.0.0.2:80)" in desc and "set_field:0x2/0x2->ct_mark" in desc


def test_assignment_adds_prerequisites_to_the_match() -> None:
    assert parse_actions("tcp.dst = 80;").prereqs == ["tcp"]
    flows = Compiler().compile("ip4", "tcp.dst = 80; next;", "ingress", 0, 10, 1,
                               CompileContext())
    assert [str(f.match) for f in flows] == ["tcp,metadata=0x1"]


@pytest.mark.parametrize(("text", "words"), [
    ("next", "expecting `;'"),
    ("nosuch;", "expecting action"),
    ("eth.type = 0x800;", "not modifiable"),
    ("ip4 = 1;", "Predicate symbol ip4 used where lvalue required"),
    ("ct_mark = 1;", "only be modified inside ct_commit"),
    ("reg0 = 0x1ffffffff;", "33-bit constant is not compatible with 32-bit field reg0"),
    ("reg0 = eth.src;", "Can't assign 48-bit value to 32-bit destination"),
    ('reg0 = "p1";', "String constant is not compatible with integer field"),
    ("outport = 1;", "Integer constant is not compatible with string field"),
    ("reg0 = dns_lookup();", "where 1-bit field is required"),
    ("next(99);", "cannot advance beyond table"),
    ("set_queue(70000);", "not in valid range"),
    ("ct_lb(backends=10.0.0.1:80,aef0::1);", "all be IPv4 or all be IPv6"),
    ("reg0[0] = put_dhcp_opts(router = 10.0.0.1);", "offerip"),
    ("reg0[0] = put_dhcp_opts(offerip = 10.0.0.1, bogus = 1);", "expecting option name"),
    ("reg0[0] = put_dhcp_opts(offerip = \"x\");", "Invalid value for option offerip"),
    ("log(severity=loud);", "expecting severity"),
    ("arp { output; ", "expecting `}'"),
    ("drop; next;", "`drop' must be the last action"),
    ("put_arp(inport, ip6.src, eth.src);", "must be a 32-bit IP address field"),
])
def test_action_errors(text: str, words: str) -> None:
    with pytest.raises(ExprError) as e:
        parse_actions(text)
    assert words in str(e.value)
