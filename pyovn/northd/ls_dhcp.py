"""Native DHCPv4/DHCPv6 (ls_in_dhcp_options, ls_in_dhcp_response) and DNS
(ls_in_dns_lookup, ls_in_dns_response) of logical switches, and the egress ACL exceptions
that let their replies through.

A port gets DHCP when its dhcpv4_options (dhcpv6_options) row has a CIDR containing one of
the port's addresses and the mandatory options: server_id, server_mac and lease_time for
DHCPv4; server_id (a MAC) for DHCPv6.
"""

from __future__ import annotations

import ipaddress

from pyovn.northd.addresses import mac_to_lla, try_lport_addresses
from pyovn.northd.model import SwitchPort, SwitchWide
from pyovn.northd.nb import Row
from pyovn.northd.stages import FlowSink, Stage

S = Stage


def _v4_options(p: SwitchPort, d: Row) -> tuple[str, str, str, str] | None:
    """(offer IP, put_dhcp_opts arguments, server IP, server MAC) for port p."""
    opts = dict(d.get("options") or {})
    if not all(k in opts for k in ("server_id", "server_mac", "lease_time")):
        return None
    try:
        net = ipaddress.ip_network(d["cidr"], strict=False)
    except ValueError:
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        return None
    offer = None
    for la in p.addresses:
        for a in la.ip4:
            if ipaddress.IPv4Address(a.addr) in net:
                offer = a.addr
                break
        if offer:
            break
    if offer is None:
        return None
    server_mac = opts.pop("server_mac")
    opts["netmask"] = str(net.netmask)
    if "hostname" in p.options and "hostname" not in opts:
        opts["hostname"] = f'"{p.options["hostname"]}"'
    args = ", ".join([f"offerip = {offer}"] + [f"{k} = {v}" for k, v in sorted(opts.items())])
    return offer, args, opts["server_id"], server_mac


def _v6_options(p: SwitchPort, d: Row) -> tuple[str, str] | None:
    """(put_dhcpv6_opts arguments, server MAC)."""
    opts = dict(d.get("options") or {})
    server = opts.get("server_id")
    if server is None or try_lport_addresses(server) is None:
        return None
    try:
        net = ipaddress.ip_network(d["cidr"], strict=False)
    except ValueError:
        return None
    if not isinstance(net, ipaddress.IPv6Network):
        return None
    addr = None
    for la in p.addresses:
        for a in la.ip6:
            if ipaddress.IPv6Address(a.addr) in net:
                addr = a.addr
                break
        if addr:
            break
    if addr is None:
        return None
    stateless = opts.pop("dhcpv6_stateless", "false") == "true"
    parts = [] if stateless else [f"ia_addr = {addr}"]
    parts += [f"{k} = {v}" for k, v in sorted(opts.items())]
    return ", ".join(parts), server


def port_dhcp(p: SwitchPort, f: FlowSink) -> tuple[str, ...]:
    """The port's DHCP flows; returns the matches of the egress ACL exceptions its replies
    need, which depend on the switch's ACLs and so are made by build_dhcp()."""
    acl: list[str] = []
    if not p.enabled or not p.is_vif:
        return ()
    for la in p.addresses[:1]:
        mac = la.mac
        inp = f'inport == "{p.name}" && eth.src == {mac}'
        if p.dhcpv4 is not None:
            v4 = _v4_options(p, p.dhcpv4)
            if v4 is not None:
                offer, args, server_ip, server_mac = v4
                put = f"reg0[3] = put_dhcp_opts({args}); next;"
                f.add(S.LS_IN_DHCP_OPTIONS, 100,
                      f"{inp} && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && "
                      "udp.src == 68 && udp.dst == 67", put)
                f.add(S.LS_IN_DHCP_OPTIONS, 100,
                      f"{inp} && ip4.src == {offer} && ip4.dst == {{{server_ip}, "
                      "255.255.255.255} && udp.src == 68 && udp.dst == 67", put)
                f.add(S.LS_IN_DHCP_RESPONSE, 100,
                      f"{inp} && ip4 && udp.src == 68 && udp.dst == 67 && reg0[3]",
                      f"eth.dst = eth.src; eth.src = {server_mac}; ip4.src = {server_ip}; "
                      "udp.src = 67; udp.dst = 68; outport = inport; flags.loopback = 1; "
                      "output;")
                acl.append(f'outport == "{p.name}" && eth.src == {server_mac} && '
                           f"ip4.src == {server_ip} && udp && udp.src == 67 && "
                           "udp.dst == 68")
        if p.dhcpv6 is not None:
            v6 = _v6_options(p, p.dhcpv6)
            if v6 is not None:
                args, server_mac = v6
                smac = try_lport_addresses(server_mac)
                assert smac is not None
                lla = mac_to_lla(smac.mac).addr
                m6 = f"{inp} && ip6.dst == ff02::1:2 && udp.src == 546 && udp.dst == 547"
                f.add(S.LS_IN_DHCP_OPTIONS, 100, m6,
                      f"reg0[3] = put_dhcpv6_opts({args}); next;")
                f.add(S.LS_IN_DHCP_RESPONSE, 100, f"{m6} && reg0[3]",
                      f"eth.dst = eth.src; eth.src = {smac.mac}; ip6.dst = ip6.src; "
                      f"ip6.src = {lla}; udp.src = 547; udp.dst = 546; outport = inport; "
                      "flags.loopback = 1; output;")
                acl.append(f'outport == "{p.name}" && eth.src == {smac.mac} && '
                           f"ip6.src == {lla} && udp && udp.src == 547 && udp.dst == 546")
    return tuple(acl)


def build_dhcp(w: SwitchWide, f: FlowSink) -> None:
    acl_action = "ct_commit; next;" if w.stateful else "next;"
    has_acls = w.has_acls
    if has_acls:
        for m in w.dhcp_acl:
            f.add(S.LS_OUT_ACL, 34000, m, acl_action)
    f.add(S.LS_IN_DHCP_OPTIONS, 0, "1", "next;")
    f.add(S.LS_IN_DHCP_RESPONSE, 0, "1", "next;")

    if w.has_dns:
        f.add(S.LS_IN_DNS_LOOKUP, 100, "udp.dst == 53", "reg0[4] = dns_lookup(); next;")
        f.add(S.LS_IN_DNS_RESPONSE, 100, "udp.dst == 53 && reg0[4]",
              "eth.dst <-> eth.src; ip4.src <-> ip4.dst; udp.dst = udp.src; udp.src = 53; "
              "outport = inport; flags.loopback = 1; output;")
        f.add(S.LS_IN_DNS_RESPONSE, 100, "udp.dst == 53 && reg0[4]",
              "eth.dst <-> eth.src; ip6.src <-> ip6.dst; udp.dst = udp.src; udp.src = 53; "
              "outport = inport; flags.loopback = 1; output;")
        if has_acls:
            f.add(S.LS_OUT_ACL, 34000, "udp.src == 53", acl_action)
    f.add(S.LS_IN_DNS_LOOKUP, 0, "1", "next;")
    f.add(S.LS_IN_DNS_RESPONSE, 0, "1", "next;")
