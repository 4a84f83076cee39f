"""IPv6 neighbour discovery in the controller: nd_na { } / nd_na_router { } (answer a
solicitation), nd_ns { } (solicit the packet's destination) and put_nd_ra_opts (answer a
router solicitation with the advertisement the logical flow carries), as ovn-controller's
pinctrl_handle_nd_na, _nd_ns and _put_nd_ra_opts with OVS's compose_nd_na/compose_nd_ns."""

from __future__ import annotations

import struct

from pyovn.controller.pinctrl_pkt import (
    ETH_IPV6,
    IPPROTO_ICMPV6,
    Result,
    eth_header,
    ipv6_header,
    l4_csum,
    parse_frame,
    resumed,
    split_result,
)
from pyovn.openflow.messages import PacketIn2

ND_ROUTER_SOLICIT = 133
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_OPT_SOURCE_LINKADDR = 1
ND_OPT_TARGET_LINKADDR = 2
ND_RSO_ROUTER = 0x80000000
ND_RSO_SOLICITED = 0x40000000
ND_RSO_OVERRIDE = 0x20000000


def _nd_message(icmp_type: int, flags: int, target: bytes, opt_type: int,
                mac: bytes, src: bytes, dst: bytes) -> bytes:
    msg = bytearray(struct.pack("!BBHI", icmp_type, 0, 0, flags) + target +
                    bytes([opt_type, 1]) + mac)
    struct.pack_into("!H", msg, 2, l4_csum(True, src, dst, IPPROTO_ICMPV6, bytes(msg)))
    return bytes(msg)


def nd_na(pin: PacketIn2, router: bool = False) -> Result:
    """A neighbour advertisement for the solicited target, from the solicitation's
    destination MAC (then rewritten by the nested actions) back to its sender."""
    f = parse_frame(pin.packet)
    if f is None or not f.is_ipv6 or f.proto != IPPROTO_ICMPV6:
        return Result()
    icmp = f.l4_data
    if len(icmp) < 24 or icmp[0] not in (ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT) \
            or icmp[1] != 0:
        return Result()
    target = icmp[8:24]
    flags = ND_RSO_SOLICITED | ND_RSO_OVERRIDE | (ND_RSO_ROUTER if router else 0)
    na = _nd_message(ND_NEIGHBOR_ADVERT, flags, target, ND_OPT_TARGET_LINKADDR, f.eth_dst,
                     target, f.src)
    pkt = eth_header(f.eth_src, f.eth_dst, ETH_IPV6) + \
        ipv6_header(target, f.src, IPPROTO_ICMPV6, len(na), 255) + na
    return Result(packet_outs=[(pkt, pin.userdata[8:])])


def link_local(mac: bytes) -> bytes:
    """fe80::/64 with the modified EUI-64 interface identifier of 'mac' (RFC 4291)."""
    return b"\xfe\x80" + bytes(6) + bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]


def solicited_node(ip6: bytes) -> bytes:
    return b"\xff\x02" + bytes(9) + b"\x01\xff" + ip6[13:16]


def nd_ns(pin: PacketIn2) -> Result:
    """A neighbour solicitation for the packet's IPv6 destination, from the link-local
    address of its source MAC to the solicited-node multicast group."""
    f = parse_frame(pin.packet)
    if f is None or not f.is_ipv6:
        return Result()
    src = link_local(f.eth_src)
    sn = solicited_node(f.dst)
    ns = _nd_message(ND_NEIGHBOR_SOLICIT, 0, f.dst, ND_OPT_SOURCE_LINKADDR, f.eth_src,
                     src, sn)
    pkt = eth_header(b"\x33\x33" + sn[12:16], f.eth_src, ETH_IPV6) + \
        ipv6_header(src, sn, IPPROTO_ICMPV6, len(ns), 255) + ns
    return Result(packet_outs=[(pkt, pin.userdata[8:])])


def put_nd_ra_opts(pin: PacketIn2) -> Result:
    """Replaces a router solicitation's ICMPv6 message by the router advertisement in the
    userdata (built by the flow's encoding), fixes the lengths and the checksum, and
    resumes with the result bit set; anything else resumes unchanged with it cleared."""
    where, ra = split_result(pin)
    if where is None:
        return Result()
    f = parse_frame(pin.packet)
    if (not ra or f is None or not f.is_ipv6 or f.proto != IPPROTO_ICMPV6
            or len(f.l4_data) < 8 or f.l4_data[0] != ND_ROUTER_SOLICIT
            or f.l4_data[1] != 0 or len(ra) < 4 or len(ra) > 0xFFFF - 40):
        return resumed(pin, where, None)
    msg = bytearray(ra)
    struct.pack_into("!H", msg, 2, 0)
    struct.pack_into("!H", msg, 2, l4_csum(True, f.src, f.dst, IPPROTO_ICMPV6, bytes(msg)))
    head = bytearray(f.data[:f.l4])
    struct.pack_into("!H", head, f.l3 + 4, f.l4 - f.l3 - 40 + len(msg))
    return resumed(pin, where, bytes(head) + bytes(msg))
