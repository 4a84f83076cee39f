"""What every packet-in handler shares: the result a handler returns, a bounds-checked
view of the frame OVS sent up (what ovn-controller gets from flow_extract()), checksums,
and the "R = action(...)" result bit named by an NXM header in the userdata.

Handlers never trust the frame: every offset is checked against its length and a frame
that does not parse yields None, so hostile packets produce nothing rather than an
exception in the controller's packet-in loop."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyovn.controller.fdb import FdbUpdate
from pyovn.openflow.messages import PacketIn2

ETH_IP = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132
# IPv6 extension headers flow_extract() walks past to find the upper layer.
_IPV6_EXT = {0, 43, 60}
_IPV6_FRAG = 44


@dataclass(frozen=True)
class MacBindingUpdate:
    logical_port: str
    ip: str
    mac: str
    datapath: str


@dataclass
class Result:
    # (packet, raw OpenFlow actions) to send with the packet-in's metadata.
    packet_outs: list[tuple[bytes, bytes]] = field(default_factory=list)
    resume_packet: bytes | None = None
    resume_metadata: dict[str, tuple[int, int]] | None = None
    mac_bindings: list[MacBindingUpdate] = field(default_factory=list)
    fdbs: list[FdbUpdate] = field(default_factory=list)  # put_fdb (fdb.py)


@dataclass(frozen=True)
class Frame:
    """An Ethernet frame with its IPv4 or IPv6 header located.  'l4' is where the upper
    layer starts (after IPv6 extension headers), 'l4_end' where it ends (the IP length,
    or the frame's end if that is shorter), 'proto' the upper-layer protocol (None for a
    non-first fragment)."""

    data: bytes
    eth_dst: bytes
    eth_src: bytes
    vlan: bytes  # the 4-byte 802.1Q tag as received, or b""
    eth_type: int
    l3: int
    l4: int = 0
    l4_end: int = 0
    proto: int | None = None
    src: bytes = b""
    dst: bytes = b""
    tos: int = 0  # DSCP bits (flow's nw_tos)
    flow_label: int = 0

    @property
    def is_ipv4(self) -> bool:
        return self.eth_type == ETH_IP

    @property
    def is_ipv6(self) -> bool:
        return self.eth_type == ETH_IPV6

    @property
    def l4_data(self) -> bytes:
        return self.data[self.l4:self.l4_end]


def parse_frame(data: bytes) -> Frame | None:
    """The frame's L2 and (for IPv4/IPv6) L3 and L4 positions; None if truncated or
    malformed where it matters."""
    if len(data) < 14:
        return None
    (et,) = struct.unpack_from("!H", data, 12)
    vlan, l3 = b"", 14
    if et == ETH_VLAN:
        if len(data) < 18:
            return None
        vlan = data[12:16]
        (et,) = struct.unpack_from("!H", data, 16)
        l3 = 18
    base = Frame(data, data[0:6], data[6:12], vlan, et, l3)
    if et == ETH_IP:
        return _parse_ipv4(base)
    if et == ETH_IPV6:
        return _parse_ipv6(base)
    return base


def _parse_ipv4(f: Frame) -> Frame | None:
    d, l3 = f.data, f.l3
    if len(d) < l3 + 20 or d[l3] >> 4 != 4:
        return None
    ihl = (d[l3] & 0xF) * 4
    (tot_len,) = struct.unpack_from("!H", d, l3 + 2)
    if ihl < 20 or tot_len < ihl or len(d) < l3 + ihl:
        return None
    (frag,) = struct.unpack_from("!H", d, l3 + 6)
    proto = d[l3 + 9] if frag & 0x1FFF == 0 else None
    return Frame(d, f.eth_dst, f.eth_src, f.vlan, f.eth_type, l3, l3 + ihl,
                 min(len(d), l3 + tot_len), proto, d[l3 + 12:l3 + 16], d[l3 + 16:l3 + 20],
                 d[l3 + 1] & 0xFC)


def _parse_ipv6(f: Frame) -> Frame | None:
    d, l3 = f.data, f.l3
    if len(d) < l3 + 40 or d[l3] >> 4 != 6:
        return None
    (vtf, plen, nxt) = struct.unpack_from("!IHB", d, l3)
    end = min(len(d), l3 + 40 + plen)
    pos = l3 + 40
    proto: int | None = nxt
    for _ in range(8):  # bounded: a chain of extension headers cannot loop us
        if proto in _IPV6_EXT:
            if pos + 8 > end:
                return None
            proto, hlen = d[pos], (d[pos + 1] + 1) * 8
            pos += hlen
        elif proto == _IPV6_FRAG:
            if pos + 8 > end:
                return None
            (off,) = struct.unpack_from("!H", d, pos + 2)
            proto = d[pos] if off & 0xFFF8 == 0 else None
            pos += 8
        else:
            break
    if pos > end:
        return None
    return Frame(d, f.eth_dst, f.eth_src, f.vlan, f.eth_type, l3, pos, end, proto,
                 d[l3 + 8:l3 + 24], d[l3 + 24:l3 + 40], (vtf >> 20) & 0xFC, vtf & 0xFFFFF)


# --- checksums ----------------------------------------------------------------------------


def csum(data: bytes, start: int = 0) -> int:
    """Internet checksum (RFC 1071) of 'data', continuing a partial sum 'start'."""
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pseudo4(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!I3xB", length, proto)


def l4_csum(ipv6: bool, src: bytes, dst: bytes, proto: int, segment: bytes) -> int:
    ph = (pseudo6 if ipv6 else pseudo4)(src, dst, proto, len(segment))
    return csum(ph + segment)


def ipv4_header(src: bytes, dst: bytes, proto: int, payload_len: int, ttl: int,
                tos: int = 0, df: bool = True) -> bytes:
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + payload_len, 0,
                              0x4000 if df else 0, ttl, proto, 0, src, dst))
    struct.pack_into("!H", h, 10, csum(bytes(h)))
    return bytes(h)


def ipv6_header(src: bytes, dst: bytes, nxt: int, payload_len: int, hop_limit: int,
                tc: int = 0, flow_label: int = 0) -> bytes:
    vtf = (6 << 28) | ((tc & 0xFF) << 20) | (flow_label & 0xFFFFF)
    return struct.pack("!IHBB", vtf, payload_len, nxt, hop_limit) + src + dst


def eth_header(dst: bytes, src: bytes, eth_type: int, vlan: bytes = b"") -> bytes:
    """Ethernet header; 'vlan' (a received 802.1Q tag) is pushed back as OVN does for
    the packets it builds from a tagged one."""
    return dst + src + vlan + struct.pack("!H", eth_type)


# --- R = action(...) result bit ----------------------------------------------------------


def result_register(header: int, ofs: int) -> tuple[str, int] | None:
    """The 32-bit register and bit that an NXM/OXM header plus bit offset name, as the
    packet-in metadata carries registers: NXM_NX_REGn, NXM_NX_XXREGn (xxreg n is
    reg4n..reg4n+3, most significant first) or OXM_OF_PKT_REGn (xreg n: reg2n, reg2n+1).
    None for anything else, or an offset outside the field."""
    cls, fld, length = header >> 16, (header >> 9) & 0x7F, header & 0xFF
    if cls == 0x0001 and fld < 16 and length == 4 and ofs < 32:
        return f"reg{fld}", ofs
    if cls == 0x0001 and 111 <= fld < 115 and length == 16 and ofs < 128:
        return f"reg{4 * (fld - 111) + 3 - ofs // 32}", ofs % 32
    if cls == 0x8001 and fld < 8 and length == 8 and ofs < 64:
        return f"reg{2 * fld + 1 - ofs // 32}", ofs % 32
    return None


def set_result(md: Mapping[str, tuple[int, int]], where: tuple[str, int],
               ok: bool) -> dict[str, tuple[int, int]]:
    out = dict(md)
    reg, bit = where
    v, m = out.get(reg, (0, 0))
    b = 1 << bit
    out[reg] = ((v | b) if ok else (v & ~b), m | b)
    return out


def split_result(pin: PacketIn2) -> tuple[tuple[str, int] | None, bytes]:
    """(result register and bit, the rest of the userdata) of a pausing action whose
    userdata starts with the result's NXM header and 32-bit offset."""
    ud = pin.userdata[8:]
    if len(ud) < 8:
        return None, b""
    header, ofs = struct.unpack_from("!II", ud, 0)
    return result_register(header, ofs), ud[8:]


def resumed(pin: PacketIn2, where: tuple[str, int] | None, packet: bytes | None) -> Result:
    """The resume of a paused pipeline: the result bit set when there is a new packet,
    cleared otherwise (the packet then goes on unchanged, as pinctrl.c does)."""
    res = Result(resume_packet=packet)
    if where is not None:
        res.resume_metadata = set_result(pin.metadata, where, packet is not None)
    return res
