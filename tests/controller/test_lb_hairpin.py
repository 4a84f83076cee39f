"""Load-balancer hairpin (tables 68-70) without a server: the flows of the real
ovn-controller 23.03 in the all-real sandbox (the lb scenario's switch load balancers plus
IPv6, portless, UDP, SCTP and hairpin_snat_ip ones), in both flavours SB_Global
options:lb_hairpin_use_ct_mark selects and with or without hairpin_orig_tuple; malformed
VIPs, backends and options skipped; the incremental core following load balancers,
datapath locality and the option."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from pyovn.controller import lb_hairpin as L
from pyovn.controller import model as M
from pyovn.controller.incremental import ControllerCore
from pyovn.logical import ofrep as O
from tests.controller.topo import two_chassis_switch, uid
from tests.logical.ofctl import canon_actions, parse_dump

SW1 = "647c3a12-064d-41fa-b22d-0b8cb9ff70dc"  # key 1: the datapath of every LB below
SW0 = "25f18b51-76f2-4932-bd81-6d26065bd697"  # key 2: lb0's
ORIG = {"hairpin_orig_tuple": "true"}


def _lb(u: str, name: str, vips: dict[str, str], proto: str, dp: str,
        options: dict[str, str]) -> M.LoadBalancer:
    return M.LoadBalancer(u, name, vips, proto, (dp,), options)


# The SB Load_Balancer rows as the real northd 23.03 wrote them.
LBS = [
    _lb("6305a6c3-9a8f-47df-b870-fc294b963764", "lb0",
        {"172.16.0.100:80": "10.0.1.2:80,10.0.1.3:80,10.0.1.4:80"}, "tcp", SW0, ORIG),
    _lb("2aa816b6-e974-49e2-91e3-25a23a13f4fa", "lb2", {"172.16.0.150:80": "10.0.1.3:80"},
        "tcp", SW1, ORIG),
    _lb("ab88d874-3b02-472f-bf0d-99ead4905074", "lbnp", {"172.16.0.160": "10.0.1.4,10.0.1.5"},
        "tcp", SW1, ORIG),
    _lb("61189fc1-926c-4735-a820-91a2ea4d77a0", "lbs", {"172.16.0.180:99": "10.0.1.4:99"},
        "sctp", SW1, ORIG),
    _lb("426c1b42-ae93-4699-ad86-ca99f2e10d85", "lb6",
        {"[fd00::100]:80": "[fd00::2]:80,[fd00::3]:8080"}, "tcp", SW1,
        {**ORIG, "hairpin_snat_ip": "fd00::9"}),
    _lb("27772d36-b4d2-46c0-a2b5-79c52379ba4d", "lb6b", {"fd00::200": "fd00::3"}, "tcp", SW1,
        ORIG),
    _lb("beb5ce62-4f92-4c85-8e85-ca4b3cb1b052", "lbu", {"172.16.0.170:53": "10.0.1.4:53"},
        "udp", SW1, {**ORIG, "hairpin_snat_ip": "172.16.0.1 fd00::1"}),
]

# hv1's tables 68 and 70 (`ovs-ofctl dump-flows br-int table=68`, then 70) with those rows.
REAL_CT_MARK = """
 cookie=0x2aa816b6, table=68, priority=100,ct_mark=0x2/0x2,tcp,reg1=0xac100096,reg2=0x50/0xffff,nw_src=10.0.1.3,nw_dst=10.0.1.3,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x2aa816b6,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.150,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x6305a6c3, table=68, priority=100,ct_mark=0x2/0x2,tcp,reg1=0xac100064,reg2=0x50/0xffff,nw_src=10.0.1.4,nw_dst=10.0.1.4,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x6305a6c3,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.100,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x6305a6c3, table=68, priority=100,ct_mark=0x2/0x2,tcp,reg1=0xac100064,reg2=0x50/0xffff,nw_src=10.0.1.2,nw_dst=10.0.1.2,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x6305a6c3,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.100,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0xbeb5ce62, table=68, priority=100,ct_mark=0x2/0x2,udp,reg1=0xac1000aa,reg2=0x35/0xffff,nw_src=10.0.1.4,nw_dst=10.0.1.4,tp_dst=53 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0xbeb5ce62,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.1,nw_proto=17,NXM_OF_UDP_SRC[]=NXM_OF_UDP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x6305a6c3, table=68, priority=100,ct_mark=0x2/0x2,tcp,reg1=0xac100064,reg2=0x50/0xffff,nw_src=10.0.1.3,nw_dst=10.0.1.3,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x6305a6c3,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.100,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x61189fc1, table=68, priority=100,ct_mark=0x2/0x2,sctp,reg1=0xac1000b4,reg2=0x63/0xffff,nw_src=10.0.1.4,nw_dst=10.0.1.4,tp_dst=99 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x61189fc1,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.180,nw_proto=132,OXM_OF_SCTP_SRC[]=OXM_OF_SCTP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0xab88d874, table=68, priority=100,ct_mark=0x2/0x2,ip,reg1=0xac1000a0,nw_src=10.0.1.4,nw_dst=10.0.1.4 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0xab88d874,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.160,NXM_OF_IP_PROTO[],load:0x1->NXM_NX_REG10[7])
 cookie=0xab88d874, table=68, priority=100,ct_mark=0x2/0x2,ip,reg1=0xac1000a0,nw_src=10.0.1.5,nw_dst=10.0.1.5 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0xab88d874,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.160,NXM_OF_IP_PROTO[],load:0x1->NXM_NX_REG10[7])
 cookie=0x426c1b42, table=68, priority=100,ct_mark=0x2/0x2,tcp6,reg2=0x50/0xffff,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x100,ipv6_src=fd00::2,ipv6_dst=fd00::2,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x426c1b42,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd00::9,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x426c1b42, table=68, priority=100,ct_mark=0x2/0x2,tcp6,reg2=0x50/0xffff,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x100,ipv6_src=fd00::3,ipv6_dst=fd00::3,tp_dst=8080 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x426c1b42,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd00::9,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x27772d36, table=68, priority=100,ct_mark=0x2/0x2,ipv6,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x200,ipv6_src=fd00::3,ipv6_dst=fd00::3 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x27772d36,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd00::200,NXM_OF_IP_PROTO[],load:0x1->NXM_NX_REG10[7])
 cookie=0x426c1b42, table=70, priority=200,tcp6,reg2=0x50/0xffff,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x100,metadata=0x1 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=fd00::9))
 cookie=0xbeb5ce62, table=70, priority=200,udp,reg1=0xac1000aa,reg2=0x35/0xffff,metadata=0x1 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.1))
 cookie=0x6305a6c3, table=70, priority=100,tcp,reg1=0xac100064,reg2=0x50/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.100))
 cookie=0x2aa816b6, table=70, priority=100,tcp,reg1=0xac100096,reg2=0x50/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.150))
 cookie=0x61189fc1, table=70, priority=100,sctp,reg1=0xac1000b4,reg2=0x63/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.180))
 cookie=0xab88d874, table=70, priority=90,ip,reg1=0xac1000a0 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.160))
 cookie=0x27772d36, table=70, priority=90,ipv6,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x200 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=fd00::200))"""  # noqa: E501

# The same after `ovn-sbctl set SB_Global . options:lb_hairpin_use_ct_mark=false` and
# hairpin_orig_tuple removed from lbnp, lb6 and lbu (northd paused, as an older one).
REAL_CT_LABEL = """
 cookie=0x6305a6c3, table=68, priority=100,ct_label=0x2/0x2,tcp,reg1=0xac100064,reg2=0x50/0xffff,nw_src=10.0.1.2,nw_dst=10.0.1.2,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x6305a6c3,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.100,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x2aa816b6, table=68, priority=100,ct_label=0x2/0x2,tcp,reg1=0xac100096,reg2=0x50/0xffff,nw_src=10.0.1.3,nw_dst=10.0.1.3,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x2aa816b6,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.150,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x61189fc1, table=68, priority=100,ct_label=0x2/0x2,sctp,reg1=0xac1000b4,reg2=0x63/0xffff,nw_src=10.0.1.4,nw_dst=10.0.1.4,tp_dst=99 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x61189fc1,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.180,nw_proto=132,OXM_OF_SCTP_SRC[]=OXM_OF_SCTP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x6305a6c3, table=68, priority=100,ct_label=0x2/0x2,tcp,reg1=0xac100064,reg2=0x50/0xffff,nw_src=10.0.1.3,nw_dst=10.0.1.3,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x6305a6c3,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.100,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x6305a6c3, table=68, priority=100,ct_label=0x2/0x2,tcp,reg1=0xac100064,reg2=0x50/0xffff,nw_src=10.0.1.4,nw_dst=10.0.1.4,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x6305a6c3,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.100,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x27772d36, table=68, priority=100,ct_label=0x2/0x2,ipv6,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x200,ipv6_src=fd00::3,ipv6_dst=fd00::3 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x27772d36,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd00::200,NXM_OF_IP_PROTO[],load:0x1->NXM_NX_REG10[7])
 cookie=0xab88d874, table=68, priority=100,ct_state=+trk+dnat,ct_label=0x2/0x2,ct_nw_dst=172.16.0.160,ip,nw_src=10.0.1.4,nw_dst=10.0.1.4 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0xab88d874,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.160,NXM_OF_IP_PROTO[],load:0x1->NXM_NX_REG10[7])
 cookie=0xab88d874, table=68, priority=100,ct_state=+trk+dnat,ct_label=0x2/0x2,ct_nw_dst=172.16.0.160,ip,nw_src=10.0.1.5,nw_dst=10.0.1.5 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0xab88d874,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.160,NXM_OF_IP_PROTO[],load:0x1->NXM_NX_REG10[7])
 cookie=0x426c1b42, table=68, priority=100,ct_state=+trk+dnat,ct_label=0x2/0x2,ct_ipv6_dst=fd00::100,ct_nw_proto=6,ct_tp_dst=80,tcp6,ipv6_src=fd00::2,ipv6_dst=fd00::2,tp_dst=80 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x426c1b42,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd00::9,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x426c1b42, table=68, priority=100,ct_state=+trk+dnat,ct_label=0x2/0x2,ct_ipv6_dst=fd00::100,ct_nw_proto=6,ct_tp_dst=80,tcp6,ipv6_src=fd00::3,ipv6_dst=fd00::3,tp_dst=8080 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0x426c1b42,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd00::9,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0xbeb5ce62, table=68, priority=100,ct_state=+trk+dnat,ct_label=0x2/0x2,ct_nw_dst=172.16.0.170,ct_nw_proto=17,ct_tp_dst=53,udp,nw_src=10.0.1.4,nw_dst=10.0.1.4,tp_dst=53 actions=set_field:0x80/0x80->reg10,learn(table=69,delete_learned,cookie=0xbeb5ce62,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.16.0.1,nw_proto=17,NXM_OF_UDP_SRC[]=NXM_OF_UDP_DST[],load:0x1->NXM_NX_REG10[7])
 cookie=0x426c1b42, table=70, priority=200,ct_state=+trk+dnat,ct_ipv6_dst=fd00::100,ct_nw_proto=6,ct_tp_dst=80,tcp6,metadata=0x1 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=fd00::9))
 cookie=0xbeb5ce62, table=70, priority=200,ct_state=+trk+dnat,ct_nw_dst=172.16.0.170,ct_nw_proto=17,ct_tp_dst=53,udp,metadata=0x1 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.1))
 cookie=0x6305a6c3, table=70, priority=100,tcp,reg1=0xac100064,reg2=0x50/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.100))
 cookie=0x2aa816b6, table=70, priority=100,tcp,reg1=0xac100096,reg2=0x50/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.150))
 cookie=0x61189fc1, table=70, priority=100,sctp,reg1=0xac1000b4,reg2=0x63/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.180))
 cookie=0xab88d874, table=70, priority=90,ct_state=+trk+dnat,ct_nw_dst=172.16.0.160,ip actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=172.16.0.160))
 cookie=0x27772d36, table=70, priority=90,ipv6,reg4=0xfd000000,reg5=0,reg6=0,reg7=0x200 actions=ct(commit,zone=NXM_NX_REG12[0..15],nat(src=fd00::200))"""  # noqa: E501


def state(lbs: list[M.LoadBalancer], options: dict[str, str] | None = None) -> M.SbState:
    sb = M.SbState()
    sb.datapaths = {SW1: M.Datapath(SW1, 1, True, "sw1"), SW0: M.Datapath(SW0, 2, True, "sw0")}
    sb.load_balancers = {lb.uuid: lb for lb in lbs}
    sb.options = dict(options or {})
    return sb


def canon_learn(a: str) -> str:
    # ovs-ofctl prints delete_learned before the cookie; the order means nothing.
    return re.sub(r"cookie=(\d+),delete_learned", r"delete_learned,cookie=\1", canon_actions(a))


def canon(flows: list[O.Flow]) -> list[tuple[Any, ...]]:
    return sorted(((f.cookie, f.table, f.priority, str(f.match),
                    canon_learn(O.format_actions(f.actions))) for f in flows), key=str)


def real(dump: str) -> list[tuple[Any, ...]]:
    return sorted(((c, t, p, str(m), canon_learn(a)) for c, t, p, m, a in parse_dump(dump)),
                  key=str)


def test_ct_mark_flavour_with_the_original_tuple_is_the_real_controllers() -> None:
    assert canon(L.all_lb_flows(state(LBS), {SW0, SW1})) == real(REAL_CT_MARK)


def test_ct_label_flavour_and_conntrack_original_tuple_are_the_real_controllers() -> None:
    older = {"lbnp", "lb6", "lbu"}
    lbs = [replace(lb, options={k: v for k, v in lb.options.items()
                                if not (lb.name in older and k == "hairpin_orig_tuple")})
           for lb in LBS]
    sb = state(lbs, {"lb_hairpin_use_ct_mark": "false"})
    assert canon(L.all_lb_flows(sb, {SW0, SW1})) == real(REAL_CT_LABEL)


def test_printed_as_ovs_ofctl_prints_them() -> None:
    (f68, f70) = L.all_lb_flows(state(LBS[1:2]), {SW1})
    assert str(f70) == ("cookie=0x2aa816b6, table=70, priority=100,tcp,reg1=0xac100096,"
                        "reg2=0x50/0xffff actions=ct(commit,zone=NXM_NX_REG12[0..15],"
                        "nat(src=172.16.0.150))")
    assert "learn(table=69," in str(f68) and "NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[]" in str(f68)


def test_only_load_balancers_of_local_datapaths_install_flows() -> None:
    sb = state(LBS)
    assert {f.cookie for f in L.all_lb_flows(sb, {SW0})} == {0x6305A6C3}
    assert L.all_lb_flows(sb, set()) == []
    # hairpin_snat_ip: per-datapath table-70 flows for the local datapaths only.
    both = replace(LBS[6], datapaths=(SW1, SW0, SW1))
    t70 = [f for f in L.all_lb_flows(state([both]), {SW0}) if f.table == 70]
    assert [f.match.fields["metadata"][0] for f in t70] == [2]
    t70 = [f for f in L.all_lb_flows(state([both]), {SW0, SW1}) if f.table == 70]
    assert sorted(f.match.fields["metadata"][0] for f in t70) == [1, 2]


# --- malformed rows --------------------------------------------------------------------------


@pytest.mark.parametrize("text,want", [
    ("10.0.0.1", ("10.0.0.1", 0)), ("10.0.0.1:80", ("10.0.0.1", 80)),
    ("[fd00::1]:80", ("fd00::1", 80)), ("[fd00::1]", ("fd00::1", 0)),
    ("fd00::1", ("fd00::1", 0)), ("10.0.0.1:", ("10.0.0.1", 0)), ("10.0.0.1:0", ("10.0.0.1", 0)),
    ("10.0.0.1:65535", ("10.0.0.1", 65535)),
    ("", None), (":80", None), ("10.0.0.1:65536", None), ("10.0.0.1:x", None),
    ("10.0.0.1:-1", None), ("10.0.0.1:+1", None), ("10.0.0.1:\uff18\uff10", None),
    ("[fd00::1", None),
    ("[fd00::1]x", None), ("[fd00::1]:", ("fd00::1", 0)), ("10.0.0", None),
    ("010.0.0.1", None), ("^vip:80", None), ("^vip", None), ("fe80::1%eth0", None),
    (" 10.0.0.1", None), ("host.example:80", None), ("[]:80", None),
])
def test_endpoints(text: str, want: tuple[str, int] | None) -> None:
    got = L.parse_endpoint(text)
    assert (None if got is None else (str(got[0]), got[1])) == want


@pytest.mark.parametrize("key,value", [
    ("172.16.0.1:80", "10.0.0.1:80,fd00::1"),      # another family
    ("172.16.0.1:80", "10.0.0.1:80,10.0.0.2"),     # a backend without the VIP's port
    ("172.16.0.1", "10.0.0.1:80"),                 # a port where the VIP has none
    ("172.16.0.1:80", "10.0.0.1:80,nonsense:80"),
    ("not-an-ip:80", "10.0.0.1:80"),
    ("[fd00::1]:80", "fd00::2"),
])
def test_a_vip_with_any_bad_part_is_dropped_whole(key: str, value: str) -> None:
    assert L.parse_vip(key, value) is None
    lb = _lb(uid("bad"), "bad", {key: value, "172.16.0.9:80": "10.0.0.9:80"}, "tcp", SW1, ORIG)
    flows = L.all_lb_flows(state([lb]), {SW1})
    # The good VIP next to it still gets its flows.
    assert len(flows) == 2 and all("172.16.0.9" in str(f) or "0xac100009" in str(f)
                                   for f in flows)


def test_a_vip_without_backends_still_snats_and_empty_tokens_do_not_count() -> None:
    assert L.parse_vip("172.16.0.1:80", "") == L.Vip(L.parse_endpoint("172.16.0.1")[0], 80, ())  # type: ignore[index]
    v = L.parse_vip("172.16.0.1:80", ",10.0.0.1:80,,")
    assert v is not None and len(v.backends) == 1
    lb = _lb(uid("e"), "e", {"172.16.0.1:80": ""}, "tcp", SW1, ORIG)
    assert [f.table for f in L.all_lb_flows(state([lb]), {SW1})] == [70]


def test_two_spellings_of_one_vip_install_its_flows_once() -> None:
    lb = _lb(uid("s"), "s", {"fd00::1": "fd00::2", "[fd00::1]": "fd00::2"}, "tcp", SW1, ORIG)
    flows = L.all_lb_flows(state([lb]), {SW1})
    assert sorted(f.table for f in flows) == [68, 70]


@pytest.mark.parametrize("opt,v4,v6", [
    ("172.16.0.1 fd00::1", "172.16.0.1", "fd00::1"), ("fd00::1", None, "fd00::1"),
    ("172.16.0.1/24", "172.16.0.1", None), ("  172.16.0.1   172.16.0.2 ", "172.16.0.1", None),
    ("bad 172.16.0.1", None, None), ("172.16.0.1 bad fd00::1", "172.16.0.1", None),
    ("", None, None),
])
def test_hairpin_snat_ip(opt: str, v4: str | None, v6: str | None) -> None:
    a, b = L.snat_ips({"hairpin_snat_ip": opt})
    assert (None if a is None else str(a), None if b is None else str(b)) == (v4, v6)


@pytest.mark.parametrize("value,want", [(None, True), ("true", True), ("false", False),
                                        ("FALSE", False), ("junk", True), ("", True)])
def test_use_ct_mark_is_on_unless_false(value: str | None, want: bool) -> None:
    assert L.use_ct_mark({} if value is None else {L.USE_CT_MARK: value}) is want


def test_unknown_protocol_is_tcp_and_a_missing_datapath_row_is_not_local() -> None:
    lb = replace(LBS[1], protocol="")
    assert canon(L.all_lb_flows(state([lb]), {SW1})) == canon(L.all_lb_flows(state(LBS[1:2]),
                                                                               {SW1}))
    ghost = replace(LBS[1], datapaths=(uid("nowhere"),))
    assert L.all_lb_flows(state([ghost]), {uid("nowhere")}) == []


# --- the incremental core --------------------------------------------------------------------


def _table(core: ControllerCore) -> list[str]:
    return sorted(str(f) for f in core.desired.flows() if f.table in (68, 69, 70))


def test_core_follows_load_balancers_locality_and_the_option() -> None:
    local, sb = two_chassis_switch()  # sw0 local, sw1 (on hv3 only) not
    lb_local = _lb(uid("lbA"), "lbA", {"172.16.0.1:80": "10.0.0.2:80"}, "tcp", uid("sw0"), ORIG)
    lb_remote = _lb(uid("lbB"), "lbB", {"172.16.0.2:80": "10.0.0.3:80"}, "udp", uid("sw1"),
                    {"hairpin_snat_ip": "172.16.0.99"})
    sb.load_balancers = {lb_local.uuid: lb_local, lb_remote.uuid: lb_remote}
    core = ControllerCore()
    core.run(local, sb, {}, full=True)

    def check() -> None:
        full = ControllerCore()
        full.run(local, sb, core.zones, full=True)
        assert _table(core) == _table(full)

    def step(change: Any) -> dict[str, int]:
        before = M.copy_state(sb)
        change()
        stats = core.run(local, sb, core.zones, M.diff_states(before, sb))
        check()
        return stats.owners

    assert {f.cookie for f in core.desired.flows() if f.table == 68} == {lb_local.cookie}
    assert all("ct_mark" in str(f) for f in core.desired.flows() if f.table == 68)
    # The flavour changes: every load balancer's flows, and nothing else, recomputed.
    owners = step(lambda: sb.options.__setitem__("lb_hairpin_use_ct_mark", "false"))
    assert owners == {"lb": 2}
    assert all("ct_label" in str(f) for f in core.desired.flows() if f.table == 68)
    assert step(lambda: sb.options.__setitem__("unrelated", "x")) == {}
    # lbB's switch becomes local (vm9 is bound here): its per-datapath SNAT flow appears.
    local.interfaces["tap9"] = M.Interface("tap9", 8, "vm9")
    sb.ports[uid("vm9")] = replace(sb.ports[uid("vm9")], chassis="hv1")
    before = M.copy_state(sb)
    core.run(local, sb, core.zones, M.diff_states(before, sb))
    check()
    t70 = [f for f in core.desired.flows() if f.table == 70 and f.cookie == lb_remote.cookie]
    assert len(t70) == 1 and t70[0].priority == 200
    # Its datapath's key changes: the metadata match follows.
    step(lambda: sb.datapaths.__setitem__(uid("sw1"), replace(sb.datapaths[uid("sw1")], key=7)))
    t70 = [f for f in core.desired.flows() if f.table == 70 and f.cookie == lb_remote.cookie]
    assert t70[0].match.fields["metadata"][0] == 7
    # A VIP edited, a bad one added, then the load balancer deleted.
    step(lambda: sb.load_balancers.__setitem__(lb_local.uuid, replace(
        lb_local, vips={"172.16.0.1:80": "10.0.0.2:80,10.0.0.4:80", "junk": "x"})))
    assert len([f for f in core.desired.flows() if f.cookie == lb_local.cookie]) == 3
    assert step(lambda: sb.load_balancers.pop(lb_local.uuid)) == {"lb": 1}
    assert not [f for f in core.desired.flows() if f.cookie == lb_local.cookie]
    # Moved to a datapath group that does not include a local datapath.
    step(lambda: sb.load_balancers.__setitem__(lb_remote.uuid, replace(
        lb_remote, datapaths=(uid("lr-elsewhere"),))))
    assert _table(core) == []
