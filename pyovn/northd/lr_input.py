"""Logical router ingress up to IP input: L2 admission (lr_in_admission), neighbor lookup and
learning (lr_in_lookup_neighbor, lr_in_learn_neighbor) and IP input (lr_in_ip_input): echo
replies and ARP/ND for the router's own addresses, unreachables for traffic to it, TTL
expiry with ICMP time exceeded, martian and broadcast drops."""

from __future__ import annotations

from pyovn.northd.model import Router, RouterPort
from pyovn.northd.stages import FlowSink, Stage

S = Stage
MARTIANS = ("ip4.src_mcast ||"
            "ip4.src == 255.255.255.255 || ip4.src == 127.0.0.0/8 || ip4.dst == 127.0.0.0/8 || "
            "ip4.src == 0.0.0.0/8 || ip4.dst == 0.0.0.0/8")


def enabled_ports(r: Router) -> list[RouterPort]:
    return [p for p in r.ports if p.enabled]


def _set(addrs: list[str]) -> str:
    return addrs[0] if len(addrs) == 1 else "{" + ", ".join(addrs) + "}"


def build_admission(r: Router, f: FlowSink) -> None:
    f.add(S.LR_IN_ADMISSION, 100, "vlan.present || eth.src[40]", "drop;")
    for p in enabled_ports(r):
        act = f"xreg0[0..47] = {p.networks.mac}; next;"
        f.add(S.LR_IN_ADMISSION, 50, f'eth.mcast && inport == "{p.name}"', act)
        f.add(S.LR_IN_ADMISSION, 50, f'eth.dst == {p.networks.mac} && inport == "{p.name}"',
              act)
    f.add(S.LR_IN_ADMISSION, 0, "1", "drop;")


def build_neighbor(r: Router, f: FlowSink) -> None:
    lookup_arp = "reg9[2] = lookup_arp(inport, arp.spa, arp.sha); next;"
    f.add(S.LR_IN_LOOKUP_NEIGHBOR, 100, "arp.op == 2", lookup_arp)
    for p in enabled_ports(r):
        for a in p.networks.ip4:
            f.add(S.LR_IN_LOOKUP_NEIGHBOR, 100,
                  f'inport == "{p.name}" && arp.spa == {a.cidr} && arp.op == 1', lookup_arp)
    f.add(S.LR_IN_LOOKUP_NEIGHBOR, 100, "nd_na",
          "reg9[2] = lookup_nd(inport, nd.target, nd.tll); next;")
    f.add(S.LR_IN_LOOKUP_NEIGHBOR, 100, "nd_ns",
          "reg9[2] = lookup_nd(inport, ip6.src, nd.sll); next;")
    f.add(S.LR_IN_LOOKUP_NEIGHBOR, 0, "1", "reg9[2] = 1; next;")

    L = S.LR_IN_LEARN_NEIGHBOR
    f.add(L, 100, "reg9[2] == 1", "next;")
    f.add(L, 95, "nd_na && nd.tll == 0", "put_nd(inport, nd.target, eth.src); next;")
    f.add(L, 95, "nd_ns && (ip6.src == 0 || nd.sll == 0)", "next;")
    f.add(L, 90, "arp", "put_arp(inport, arp.spa, arp.sha); next;")
    f.add(L, 90, "nd_na", "put_nd(inport, nd.target, nd.tll); next;")
    f.add(L, 90, "nd_ns", "put_nd(inport, ip6.src, nd.sll); next;")
    f.add(L, 0, "1", "drop;")


def build_ip_input(r: Router, f: FlowSink) -> None:
    IN = S.LR_IN_IP_INPUT
    ports = enabled_ports(r)
    f.add(IN, 100, MARTIANS, "drop;")
    for p in ports:
        n = p.networks
        if n.ip4:
            srcs = ", ".join(x for a in n.ip4 for x in (a.addr, a.bcast))
            f.add(IN, 100, f"ip4.src == {{{srcs}}} && reg9[0] == 0", "drop;")
        for a6 in n.ip6:
            f.add(IN, 100, f"ip6.dst == {a6.addr} && udp.src == 547 && udp.dst == 546",
                  "reg0 = 0; handle_dhcpv6_reply;")
        for a4 in n.ip4:
            f.add(IN, 90, f'inport == "{p.name}" && arp.op == 1 && arp.tpa == {a4.addr} && '
                  f"arp.spa == {a4.cidr}",
                  "eth.dst = eth.src; eth.src = xreg0[0..47]; arp.op = 2; /* ARP reply */ "
                  "arp.tha = arp.sha; arp.sha = xreg0[0..47]; arp.tpa <-> arp.spa; "
                  "outport = inport; flags.loopback = 1; output;")
        for a6 in n.ip6:
            f.add(IN, 90, f'inport == "{p.name}" && ip6.dst == {{{a6.addr}, {a6.sn_addr}}} && '
                  f"nd_ns && nd.target == {a6.addr}",
                  "nd_na_router { eth.src = xreg0[0..47]; ip6.src = nd.target; "
                  "nd.tll = xreg0[0..47]; outport = inport; flags.loopback = 1; output; };")
        if n.ip4:
            f.add(IN, 90, f"ip4.dst == {_set(n.ip4_addrs)} && icmp4.type == 8 && "
                  "icmp4.code == 0",
                  "ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 0; flags.loopback = 1; "
                  "next; ")
        if n.ip6:
            f.add(IN, 90, f"ip6.dst == {_set(n.ip6_addrs)} && icmp6.type == 128 && "
                  "icmp6.code == 0",
                  "ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 129; flags.loopback = 1; "
                  "next; ")
        for v, addrs, code_udp, code_proto, typ in (
                ("4", n.ip4_addrs, 3, 2, 3), ("6", n.ip6_addrs, 4, 3, 1)):
            icmp = f"icmp{v}"
            for a in addrs:
                base = f"ip{v} && ip{v}.dst == {a} && !ip.later_frag"
                swap = f"eth.dst <-> eth.src; ip{v}.dst <-> ip{v}.src;"
                f.add(IN, 80, f"{base} && sctp", f"sctp_abort {{{swap} next; }};")
                f.add(IN, 80, f"{base} && tcp", f"tcp_reset {{{swap} next; }};")
                f.add(IN, 80, f"{base} && udp",
                      f"{icmp} {{{swap} ip.ttl = 255; {icmp}.type = {typ}; "
                      f"{icmp}.code = {code_udp}; next; }};")
                f.add(IN, 70, base,
                      f"{icmp} {{{swap} ip.ttl = 255; {icmp}.type = {typ}; "
                      f"{icmp}.code = {code_proto}; next; }};")
        if n.ip4:
            f.add(IN, 60, f"ip4.dst == {{{', '.join(n.ip4_addrs)}}}", "drop;")
        if n.ip6:
            f.add(IN, 60, f"ip6.dst == {{{', '.join(n.ip6_addrs)}}}", "drop;")
        # TTL expiry: ICMP time exceeded from the port's address on the sender's network.
        for a4 in n.ip4:
            src = f" && ip4.src == {a4.cidr}" if len(n.ip4) > 1 else ""
            f.add(IN, 31, f'inport == "{p.name}" && ip4{src} && ip.ttl == {{0, 1}} && '
                  "!ip.later_frag",
                  "icmp4 {eth.dst <-> eth.src; icmp4.type = 11; /* Time exceeded */ "
                  "icmp4.code = 0; /* TTL exceeded in transit */ ip4.dst = ip4.src; "
                  f'ip4.src = {a4.addr} ; ip.ttl = 254; outport = "{p.name}"; '
                  "flags.loopback = 1; output; };")
        for a6 in n.ip6:
            if a6.is_lla:
                continue
            f.add(IN, 31, f'inport == "{p.name}" && ip6 && ip6.src == {a6.cidr} && '
                  "ip.ttl == {0, 1} && !ip.later_frag",
                  "icmp6 {eth.dst <-> eth.src; ip6.dst = ip6.src; "
                  f"ip6.src = {a6.addr} ; ip.ttl = 254; icmp6.type = 3; /* Time exceeded */ "
                  "icmp6.code = 0; /* TTL exceeded in transit */ "
                  f'outport = "{p.name}"; flags.loopback = 1; output; }};')
    f.add(IN, 85, "arp || nd", "drop;")
    f.add(IN, 84, "nd_rs || nd_ra", "next;")
    f.add(IN, 83, "ip6.mcast_rsvd", "drop;")
    f.add(IN, 82, "ip4.mcast || ip6.mcast", "drop;")
    f.add(IN, 50, "eth.bcast", "drop;")
    f.add(IN, 32, "ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)", "drop;")
    f.add(IN, 30, "ip.ttl == {0, 1}", "drop;")
    f.add(IN, 0, "1", "next;")
