"""Logical router routing and delivery: lr_in_ip_routing (connected networks and static
routes, longest prefix first), next-hop resolution through MAC_Binding (lr_in_arp_resolve),
ARP/ND requests for unresolved next hops (lr_in_arp_request), and the egress pipeline
(lr_out_*), with the NAT/LB/policy stages passing through until those features come.

Registers: reg0/xxreg0 the next-hop IP, reg1/xxreg1 the source IP for ARP/ND, reg7 the
route table id, reg8[0..15] the ECMP group id.
"""

from __future__ import annotations

import ipaddress
import logging

from pyovn.northd.addresses import Ip6
from pyovn.northd.lr_input import enabled_ports
from pyovn.northd.model import Router, RouterPort, StaticRoute
from pyovn.northd.stages import FlowSink, Stage

log = logging.getLogger("pyovn.northd")
S = Stage
PRIO_MULT = 3
PRIO_STATIC = 1
PRIO_CONNECTED = 2


def _route_action(v6: bool, nexthop: str, src: str, mac: str, port: str) -> str:
    if v6:
        return (f"ip.ttl--; reg8[0..15] = 0; xxreg0 = {nexthop}; xxreg1 = {src}; "
                f'eth.src = {mac}; outport = "{port}"; flags.loopback = 1; next;')
    return (f"ip.ttl--; reg8[0..15] = 0; reg0 = {nexthop}; reg1 = {src}; "
            f'eth.src = {mac}; outport = "{port}"; flags.loopback = 1; next;')


def _route_port(r: Router, rt: StaticRoute,
                nh: ipaddress.IPv4Address | ipaddress.IPv6Address
                ) -> tuple[RouterPort, str] | None:
    """The port a static route leaves by and the source address on it: the output_port if
    given, else the port with a network containing the next hop."""
    for p in enabled_ports(r):
        if rt.output_port is not None and p.name != rt.output_port:
            continue
        nets = p.networks.ip4 if nh.version == 4 else p.networks.ip6
        for a in nets:
            if nh in ipaddress.ip_network(a.cidr):
                return p, a.addr
        if rt.output_port is not None and nets:
            return p, nets[0].addr
    return None


def build_routing(r: Router, f: FlowSink) -> None:
    R = S.LR_IN_IP_ROUTING
    f.add(S.LR_IN_IP_ROUTING_PRE, 0, "1", "reg7 = 0; next;")
    f.add(R, 10550, "nd_rs || nd_ra", "drop;")
    for p in enabled_ports(r):
        n = p.networks
        for a4 in n.ip4:
            f.add(R, a4.plen * PRIO_MULT + PRIO_CONNECTED, f"ip4.dst == {a4.cidr}",
                  _route_action(False, "ip4.dst", a4.addr, n.mac, p.name))
        for a6 in n.ip6:
            m = f"ip6.dst == {a6.cidr}"
            if a6.is_lla:
                m = f'inport == "{p.name}" && {m}'
            f.add(R, a6.plen * PRIO_MULT + PRIO_CONNECTED, m,
                  _route_action(True, "ip6.dst", a6.addr, n.mac, p.name))
    for rt in r.routes:
        try:
            prefix = ipaddress.ip_network(rt.prefix, strict=False)
            nh = ipaddress.ip_address(rt.nexthop)
        except ValueError:
            log.warning("router %s: bad static route %s via %s", r.name, rt.prefix, rt.nexthop)
            continue
        if prefix.version != nh.version:
            continue
        found = _route_port(r, rt, nh)
        if found is None:
            log.warning("router %s: no port for next hop %s", r.name, rt.nexthop)
            continue
        port, src = found
        v6 = prefix.version == 6
        fam = "ip6" if v6 else "ip4"
        field = "src" if rt.policy == "src-ip" else "dst"
        prio = prefix.prefixlen * PRIO_MULT + (0 if rt.policy == "src-ip" else PRIO_STATIC)
        f.add(R, prio, f"reg7 == 0 && {fam}.{field} == {prefix}",
              _route_action(v6, str(nh), src, port.networks.mac, port.name))
    f.add(R, 0, "1", "drop;")
    f.add(S.LR_IN_IP_ROUTING_ECMP, 150, "reg8[0..15] == 0", "next;")
    f.add(S.LR_IN_IP_ROUTING_ECMP, 0, "1", "drop;")
    f.add(S.LR_IN_POLICY, 0, "1", "reg8[0..15] = 0; next;")
    f.add(S.LR_IN_POLICY_ECMP, 150, "reg8[0..15] == 0", "next;")
    f.add(S.LR_IN_POLICY_ECMP, 0, "1", "drop;")


def build_arp_resolve(r: Router, f: FlowSink) -> None:
    A = S.LR_IN_ARP_RESOLVE
    f.add(A, 500, "ip4.mcast || ip6.mcast", "next;")
    ports = {p.name: p for p in enabled_ports(r)}
    for nb in r.neighbors:
        p = ports.get(nb.lrp)
        if p is None:
            continue
        nets4 = [ipaddress.ip_network(a.cidr) for a in p.networks.ip4]
        nets6 = [ipaddress.ip_network(a.cidr) for a in p.networks.ip6 if not a.is_lla]
        for ip in nb.ip4:
            if any(ipaddress.ip_address(ip) in n for n in nets4):
                f.add(A, 100, f'outport == "{p.name}" && reg0 == {ip}',
                      f"eth.dst = {nb.mac}; next;")
        for ip in nb.ip6:
            if any(ipaddress.ip_address(ip) in n for n in nets6):
                f.add(A, 100, f'outport == "{p.name}" && xxreg0 == {ip}',
                      f"eth.dst = {nb.mac}; next;")
    f.add(A, 1, "ip4", "get_arp(outport, reg0); next;")
    f.add(A, 1, "ip6", "get_nd(outport, xxreg0); next;")
    f.add(A, 0, "1", "drop;")

    Q = S.LR_IN_ARP_REQUEST
    for rt in r.routes:
        try:
            nh = ipaddress.ip_address(rt.nexthop)
        except ValueError:
            continue
        if nh.version != 6 or _route_port(r, rt, nh) is None:
            continue
        sn = Ip6(str(nh), 128, str(nh)).sn_addr
        low = int(nh) & 0xFFFFFF
        sn_mac = "33:33:ff:" + ":".join(f"{(low >> s) & 0xFF:02x}" for s in (16, 8, 0))
        f.add(Q, 200, f"eth.dst == 00:00:00:00:00:00 && ip6 && xxreg0 == {nh}",
              f"nd_ns {{ eth.dst = {sn_mac}; ip6.dst = {sn}; nd.target = {nh}; output; }};")
    f.add(Q, 100, "eth.dst == 00:00:00:00:00:00 && ip4",
          "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; arp.tpa = reg0; arp.op = 1; "
          "output; };")
    f.add(Q, 100, "eth.dst == 00:00:00:00:00:00 && ip6",
          "nd_ns { nd.target = xxreg0; output; };")
    f.add(Q, 0, "1", "output;")


def build_router_misc(r: Router, f: FlowSink) -> None:
    """Stages whose features (NAT, load balancers, RA, gateway ports, MTU) come later."""
    for st in (S.LR_IN_UNSNAT, S.LR_IN_DEFRAG, S.LR_IN_LB_AFF_CHECK, S.LR_IN_DNAT,
               S.LR_IN_LB_AFF_LEARN, S.LR_IN_ECMP_STATEFUL, S.LR_IN_ND_RA_OPTIONS,
               S.LR_IN_ND_RA_RESPONSE, S.LR_IN_CHK_PKT_LEN, S.LR_IN_LARGER_PKTS,
               S.LR_IN_GW_REDIRECT, S.LR_OUT_UNDNAT, S.LR_OUT_POST_UNDNAT,
               S.LR_OUT_POST_SNAT, S.LR_OUT_EGR_LOOP):
        f.add(st, 0, "1", "next;")
    f.add(S.LR_OUT_CHK_DNAT_LOCAL, 0, "1", "reg9[4] = 0; next;")
    f.add(S.LR_OUT_SNAT, 120, "nd_ns", "next;")
    f.add(S.LR_OUT_SNAT, 0, "1", "next;")
    for p in enabled_ports(r):
        f.add(S.LR_OUT_DELIVERY, 100, f'outport == "{p.name}"', "output;")
    f.add(S.LR_OUT_DELIVERY, 0, "1", "drop;")
