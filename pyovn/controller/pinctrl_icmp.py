"""Packets that refuse another packet: icmp4/icmp6 { }, icmp4_error/icmp6_error { },
tcp_reset { }, sctp_abort { } and reject { } (ovn-controller's pinctrl_handle_icmp,
_tcp_reset, _sctp_abort and _reject).  Each builds a new packet from the one sent up
and sends it through the nested actions of the logical flow (in the packet-out, with
the packet-in's registers); the original packet is not resumed.

icmp4 { } and icmp6 { } answer "destination unreachable" with code 1 (3 / 4 for UDP),
the *_error forms always code 1: the nested actions set the type and code they want.
reject { } does the same as tcp_reset / sctp_abort / icmp but with the addresses already
swapped ("loopback"), since its nested actions only swap the ports."""

from __future__ import annotations

import struct

from pyovn.controller.pinctrl_pkt import (
    ETH_IP,
    ETH_IPV6,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    Frame,
    Result,
    csum,
    eth_header,
    ipv4_header,
    ipv6_header,
    l4_csum,
    parse_frame,
)
from pyovn.openflow.messages import PacketIn2

ICMP4_DST_UNREACH = 3
ICMP6_DST_UNREACH = 1
ICMP6_DST_UNREACH_NOPORT = 4
# RFC 1812 / RFC 4443: how much of an ICMP error may quote the offending packet.
ICMP4_MAX = 576
ICMP6_MAX = 1280
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
SCTP_CHUNK_INIT, SCTP_CHUNK_ABORT = 1, 6
SCTP_ABORT_FLAG_T = 0x01
IP_DSCP_CS6 = 0xC0


def _addrs(f: Frame, loopback: bool) -> tuple[bytes, bytes, bytes, bytes]:
    """(eth src, eth dst, ip src, ip dst) of the reply before the nested actions run."""
    if loopback:
        return f.eth_dst, f.eth_src, f.dst, f.src
    return f.eth_src, f.eth_dst, f.src, f.dst


def _out(pin: PacketIn2, pkt: bytes) -> Result:
    return Result(packet_outs=[(pkt, pin.userdata[8:])])


# --- icmp ------------------------------------------------------------------------------------


def icmp(pin: PacketIn2, set_icmp_code: bool = True, loopback: bool = False) -> Result:
    f = parse_frame(pin.packet)
    if f is None or not (f.is_ipv4 or f.is_ipv6):
        return Result()
    eth_src, eth_dst, src, dst = _addrs(f, loopback)
    inner_start = f.l3
    if f.is_ipv4:
        (in_len,) = struct.unpack_from("!H", f.data, f.l3 + 2)
        room = ICMP4_MAX - (14 + 20 + 8)
        quoted = f.data[inner_start:inner_start + min(in_len, room)]
        code = 3 if set_icmp_code and f.proto == IPPROTO_UDP else 1
        ih = bytearray(struct.pack("!BBHI", ICMP4_DST_UNREACH, code, 0, 0) + quoted)
        struct.pack_into("!H", ih, 2, csum(bytes(ih)))
        iph = ipv4_header(src, dst, IPPROTO_ICMP, len(ih), 255, f.tos)
        pkt = eth_header(eth_dst, eth_src, ETH_IP, f.vlan) + iph + bytes(ih)
    else:
        (plen,) = struct.unpack_from("!H", f.data, f.l3 + 4)
        room = ICMP6_MAX - (14 + 40 + 8)
        quoted = f.data[inner_start:inner_start + min(40 + plen, room)]
        # pinctrl.c looks at the first next-header only, not past extension headers.
        first_nxt = f.data[f.l3 + 6]
        code = ICMP6_DST_UNREACH_NOPORT if set_icmp_code and first_nxt == IPPROTO_UDP else 1
        ih = bytearray(struct.pack("!BBHI", ICMP6_DST_UNREACH, code, 0, 0) + quoted)
        struct.pack_into("!H", ih, 2, l4_csum(True, src, dst, IPPROTO_ICMPV6, bytes(ih)))
        iph = ipv6_header(src, dst, IPPROTO_ICMPV6, len(ih), 255, f.tos, f.flow_label)
        pkt = eth_header(eth_dst, eth_src, ETH_IPV6, f.vlan) + iph + bytes(ih)
    return _out(pin, pkt)


def icmp_error(pin: PacketIn2) -> Result:
    return icmp(pin, set_icmp_code=False)


# --- tcp_reset -------------------------------------------------------------------------------


def tcp_reset(pin: PacketIn2, loopback: bool = False) -> Result:
    """A TCP RST for the segment.  As pinctrl.c for a segment without ACK (a SYN: the
    common case, an ACL rejecting a new connection): seq 0, RST|ACK acknowledging it.
    A segment that carries an ACK gets RFC 793's reset instead (seq = its ack, RST only),
    which the peer accepts as in-window where pinctrl.c's seq 0 would be ignored."""
    f = parse_frame(pin.packet)
    if f is None or f.proto != IPPROTO_TCP:
        return Result()
    seg = f.l4_data
    if len(seg) < 20:
        return Result()
    sport, dport, seq, ack, off_flags = struct.unpack_from("!HHIIH", seg, 0)
    flags = off_flags & 0x3F
    doff = (off_flags >> 12) * 4
    if flags & TCP_ACK:
        r_seq, r_ack, r_flags = ack, 0, TCP_RST
    else:
        payload = max(0, len(seg) - doff) if doff >= 20 else 0
        used = payload + (1 if flags & TCP_SYN else 0) + (1 if flags & TCP_FIN else 0)
        r_seq, r_ack, r_flags = 0, (seq + max(1, used)) & 0xFFFFFFFF, TCP_RST | TCP_ACK
    eth_src, eth_dst, src, dst = _addrs(f, loopback)
    th = bytearray(struct.pack("!HHIIHHHH", dport, sport, r_seq, r_ack,
                               (5 << 12) | r_flags, 0, 0, 0))
    struct.pack_into("!H", th, 16, l4_csum(f.is_ipv6, src, dst, IPPROTO_TCP, bytes(th)))
    return _out(pin, _compose_ip(f, eth_src, eth_dst, src, dst, IPPROTO_TCP, bytes(th)))


def _compose_ip(f: Frame, eth_src: bytes, eth_dst: bytes, src: bytes, dst: bytes,
                proto: int, l4: bytes) -> bytes:
    """pinctrl_compose_ipv4/ipv6: TTL 63, DSCP CS6 and DF for IPv4, no VLAN tag."""
    if f.is_ipv6:
        return eth_header(eth_dst, eth_src, ETH_IPV6) + \
            ipv6_header(src, dst, proto, len(l4), 63) + l4
    return eth_header(eth_dst, eth_src, ETH_IP) + \
        ipv4_header(src, dst, proto, len(l4), 63, IP_DSCP_CS6) + l4


# --- sctp_abort ------------------------------------------------------------------------------


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def sctp_abort(pin: PacketIn2, loopback: bool = False) -> Result:
    """An SCTP ABORT: the verification tag is the INIT's initiate tag for an INIT sent
    with tag 0 (RFC 4960 8.4 item 3), else the packet's own tag, reflected (T bit)."""
    f = parse_frame(pin.packet)
    if f is None or f.proto != IPPROTO_SCTP:
        return Result()
    seg = f.l4_data
    if len(seg) < 16:
        return Result()
    sport, dport, vtag = struct.unpack_from("!HHI", seg, 0)
    chunk_type = seg[12]
    if chunk_type == SCTP_CHUNK_ABORT:
        return Result()  # never answer an ABORT with an ABORT
    init_tag: int | None = None
    if chunk_type == SCTP_CHUNK_INIT:
        if len(seg) < 12 + 20:
            return Result()
        (init_tag,) = struct.unpack_from("!I", seg, 16)
    if vtag == 0 and init_tag is not None:
        tag, reflected = init_tag, False
    else:
        tag, reflected = vtag, True
    body = bytearray(struct.pack("!HHII", dport, sport, tag, 0) +
                     struct.pack("!BBH", SCTP_CHUNK_ABORT,
                                 SCTP_ABORT_FLAG_T if reflected else 0, 4))
    # The CRC32c goes on the wire least significant byte first (RFC 4960 appendix B).
    struct.pack_into("<I", body, 8, crc32c(bytes(body)))
    eth_src, eth_dst, src, dst = _addrs(f, loopback)
    return _out(pin, _compose_ip(f, eth_src, eth_dst, src, dst, IPPROTO_SCTP, bytes(body)))


# --- reject ----------------------------------------------------------------------------------


def reject(pin: PacketIn2) -> Result:
    f = parse_frame(pin.packet)
    if f is None:
        return Result()
    if f.proto == IPPROTO_TCP:
        return tcp_reset(pin, loopback=True)
    if f.proto == IPPROTO_SCTP:
        return sctp_abort(pin, loopback=True)
    return icmp(pin, set_icmp_code=True, loopback=True)
