"""Logical switch ARP/ND responder (ls_in_arp_rsp): answers ARP requests and IPv6 neighbor
solicitations for addresses the switch knows, so that they need not be flooded.

A request from the port that owns the address is passed on (priority 100), since a host
probing for its own address (duplicate address detection) must not get an answer.
"""

from __future__ import annotations

from pyovn.northd.model import SwitchPort
from pyovn.northd.stages import FlowSink, Stage

S = Stage.LS_IN_ARP_ND_RSP


def build_arp_nd_responder(f: FlowSink) -> None:
    f.add(S, 0, "1", "next;")


def port_arp_nd_responder(p: SwitchPort, f: FlowSink) -> None:
    if p.type == "localnet" or p.type == "vtep":
        f.add(S, 100, f'inport == "{p.name}"', "next;")
    if p.type not in ("", "router", "localport"):
        return
    if p.is_router and p.router_port is None:
        return
    for la in p.addresses:
        for a4 in la.ip4:
            m = f"arp.tpa == {a4.addr} && arp.op == 1"
            f.add(S, 100, f'{m} && inport == "{p.name}"', "next;")
            f.add(S, 50, m,
                  f"eth.dst = eth.src; eth.src = {la.mac}; arp.op = 2; /* ARP reply */ "
                  f"arp.tha = arp.sha; arp.sha = {la.mac}; arp.tpa = arp.spa; "
                  f"arp.spa = {a4.addr}; outport = inport; flags.loopback = 1; output;")
        for a6 in la.ip6:
            m = (f"nd_ns && ip6.dst == {{{a6.addr}, {a6.sn_addr}}} && "
                 f"nd.target == {a6.addr}")
            f.add(S, 100, f'{m} && inport == "{p.name}"', "next;")
            na = "nd_na_router" if p.is_router else "nd_na"
            f.add(S, 50, m,
                  f"{na} {{ eth.src = {la.mac}; ip6.src = {a6.addr}; "
                  f"nd.target = {a6.addr}; nd.tll = {la.mac}; outport = inport; "
                  "flags.loopback = 1; output; };")
