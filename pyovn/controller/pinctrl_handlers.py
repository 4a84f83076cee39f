"""Pure packet-in handlers: NXT_PACKET_IN2 (OVN userdata: 32-bit opcode, 4 pad bytes,
arguments) -> packets to send, a replacement packet for a paused pipeline, and MAC_Binding
updates.  Implemented here: put_arp/put_nd, put_fdb, arp { }, put_dhcp_opts (DHCPv4
OFFER/ACK);
in pinctrl_icmp.py: icmp4/icmp6 { }, icmp4_error/icmp6_error { }, tcp_reset { },
sctp_abort { }, reject { }; in pinctrl_nd.py: nd_na { }, nd_na_router { }, nd_ns { },
put_nd_ra_opts; pinctrl_dhcpv6.py: put_dhcpv6_opts; pinctrl_dns.py: dns_lookup.
"""

from __future__ import annotations

import ipaddress
import struct
import time
from collections.abc import Callable, Mapping, Sequence

from pyovn.controller import fdb, pinctrl_dhcpv6, pinctrl_dns, pinctrl_icmp, pinctrl_nd
from pyovn.controller.model import SbState
from pyovn.controller.pinctrl_pkt import MacBindingUpdate, Result
from pyovn.logical import actions_encode as AE
from pyovn.logical import ofrep as O
from pyovn.openflow import oxm
from pyovn.openflow.actions import ActionEncoder
from pyovn.openflow.messages import NXPINT_METADATA, PacketIn2
from pyovn.ovsdb.idl import Table, Transaction

ETH_IP = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100


# What pinctrl.c's reload_metadata() carries from a packet-in into the packet-out of
# nested actions: the logical datapath and the registers.  Not the rest of the
# packet-in's metadata: tun_id, say, (set for a packet that came through a tunnel) is no
# pipeline field of a packet-out and cannot even be encoded here.
_RELOADED = frozenset({"metadata", *(f"reg{i}" for i in range(16))})


def pin_metadata(pin: PacketIn2) -> O.Match:
    return O.Match({k: v for k, v in pin.metadata.items() if k in _RELOADED})


def _reg(pin: PacketIn2, name: str) -> int:
    return pin.metadata.get(name, (0, 0))[0]


def _mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _l3(packet: bytes) -> tuple[int, int]:
    """(ethertype, offset of the L3 header), skipping one VLAN tag."""
    if len(packet) < 14:
        raise ValueError("short frame")
    (et,) = struct.unpack_from("!H", packet, 12)
    if et == ETH_VLAN and len(packet) >= 18:
        (et,) = struct.unpack_from("!H", packet, 16)
        return et, 18
    return et, 14


def _port_name(sb: SbState, dp_key: int, port_key: int) -> tuple[str, str] | None:
    dp = next((d for d in sb.datapaths.values() if d.key == dp_key), None)
    if dp is None:
        return None
    for p in sb.ports.values():
        if p.datapath == dp.uuid and p.key == port_key:
            return p.logical_port, dp.uuid
    return None


# --- put_arp / put_nd ---------------------------------------------------------------------


def put_mac_binding(pin: PacketIn2, sb: SbState, ipv6: bool) -> Result:
    res = Result()
    where = _port_name(sb, _reg(pin, "metadata"), _reg(pin, "reg14"))
    if where is None or len(pin.packet) < 12:
        return res
    if ipv6:
        ip = str(ipaddress.IPv6Address(b"".join(
            _reg(pin, f"reg{i}").to_bytes(4, "big") for i in range(4))))
    else:
        ip = str(ipaddress.IPv4Address(_reg(pin, "reg0")))
    mac = _mac_str(pin.packet[6:12])
    res.mac_bindings.append(MacBindingUpdate(where[0], ip, mac, where[1]))
    return res


def write_mac_bindings(txn: Transaction, tables: Mapping[str, Table],
                       items: list[MacBindingUpdate], now_ms: int | None = None) -> None:
    """Adds or updates the MAC_Binding rows, stamping each new or changed one with
    'now_ms' (wall clock msec, default now): the chassis advertises mac-binding-timestamp
    (sbwrite.CHASSIS_FEATURES), so northd ages bindings out by this column.  As in
    ovn-controller 23.03, relearning an unchanged binding leaves its row (and timestamp)
    alone: a put_arp per packet must not become an SB write per packet."""
    table = tables["MAC_Binding"]
    stamp = "timestamp" in table.columns  # an SB schema older than the column has none
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    by_key = {(r.raw("logical_port"), r.raw("ip")): r for r in table.rows.values()}
    for it in items:
        r = by_key.get((it.logical_port, it.ip))
        if r is None:
            r = txn.insert("MAC_Binding")
            r.logical_port = it.logical_port
            r.ip = it.ip
            r.datapath = it.datapath
            by_key[(it.logical_port, it.ip)] = r
        elif r.raw("mac") == it.mac:
            continue
        r.mac = it.mac
        if stamp:
            r.timestamp = now_ms


# --- put_fdb ------------------------------------------------------------------------------


def put_fdb(pin: PacketIn2) -> Result:
    """MAC learning on a port with unknown addresses: the datapath and input port keys
    are the packet-in's metadata and reg14 (fdb.learned says what is kept)."""
    res = Result()
    u = fdb.learned(_reg(pin, "metadata"), _reg(pin, "reg14"), pin.packet)
    if u is not None:
        res.fdbs.append(u)
    return res


# --- arp { } -------------------------------------------------------------------------------


def arp_request(pin: PacketIn2) -> Result:
    """An ARP request for the IPv4 packet's destination, from its source, then the nested
    actions (which set the addresses the logical flow wants)."""
    res = Result()
    try:
        et, off = _l3(pin.packet)
    except ValueError:
        return res
    if et != ETH_IP or len(pin.packet) < off + 20:
        return res
    src_mac = pin.packet[6:12]
    spa = pin.packet[off + 12:off + 16]
    tpa = pin.packet[off + 16:off + 20]
    arp = struct.pack("!HHBBH", 1, ETH_IP, 6, 4, 1) + src_mac + spa + b"\0" * 6 + tpa
    pkt = b"\xff" * 6 + src_mac + struct.pack("!H", ETH_ARP) + arp
    res.packet_outs.append((pkt, pin.userdata[8:]))
    return res


# --- put_dhcp_opts -----------------------------------------------------------------------

DHCP_MAGIC = b"\x63\x82\x53\x63"
DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK = 1, 2, 3, 5
DHCP_BROADCAST_FLAG = 0x8000


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def put_dhcp_opts(pin: PacketIn2) -> Result:
    """Turns a DHCPDISCOVER/REQUEST into an OFFER/ACK carrying the options of the
    logical flow, and sets the result bit (the pipeline then sends it back)."""
    res = Result()
    ud = pin.userdata[8:]
    if len(ud) < 12:
        return res
    _hdr, ofs = struct.unpack_from("!II", ud, 0)
    offer = ud[8:12]
    opts = ud[12:]
    pkt = pin.packet
    ok = False
    try:
        et, off = _l3(pkt)
        if et == ETH_IP and pkt[off + 9] == 17:
            ihl = (pkt[off] & 0xF) * 4
            udp = off + ihl
            bootp = udp + 8
            if pkt[bootp + 236:bootp + 240] != DHCP_MAGIC:
                raise ValueError("not DHCP")
            msg_type = _dhcp_msg_type(pkt[bootp + 240:])
            reply = {DHCPDISCOVER: DHCPOFFER, DHCPREQUEST: DHCPACK}.get(msg_type or 0)
            if reply is None:
                raise ValueError("not a DISCOVER or REQUEST")
            body = bytearray(pkt[bootp:bootp + 240])
            body[0] = 2  # BOOTREPLY
            body[16:20] = offer  # yiaddr
            body += bytes([53, 1, reply]) + opts + b"\xff"
            # The UDP ports stay the request's (68 -> 67): the logical flow that sends
            # the reply (ls_in_dhcp_response) matches udp.src == 68 && udp.dst == 67 and
            # swaps them itself, as it sets eth.src and ip4.src.  Rewriting them here
            # made that flow miss and the reply vanish.  The UDP checksum is left 0
            # ("none", as pinctrl.c does) since the pipeline then rewrites the header.
            (sport, dport) = struct.unpack_from("!HH", pkt, udp)
            udph = struct.pack("!HHHH", sport, dport, 8 + len(body), 0)
            iph = bytearray(pkt[off:off + 20])
            iph[0] = 0x45
            struct.pack_into("!H", iph, 2, 20 + 8 + len(body))
            (flags,) = struct.unpack_from("!H", pkt, bootp + 10)
            iph[16:20] = b"\xff" * 4 if flags & DHCP_BROADCAST_FLAG else offer
            struct.pack_into("!H", iph, 10, 0)
            struct.pack_into("!H", iph, 10, _csum(bytes(iph)))
            res.resume_packet = pkt[:off] + bytes(iph) + udph + bytes(body)
            ok = True
    except (IndexError, ValueError, struct.error):
        ok = False
    md = dict(pin.metadata)
    # The result bit is named within xxreg0 (reg0 is xxreg0[96..127]) or reg0.
    reg = f"reg{3 - ofs // 32}" if ofs >= 32 else "reg0"
    v, m = md.get(reg, (0, 0))
    bit = 1 << (ofs % 32)
    md[reg] = ((v | bit) if ok else (v & ~bit), m | bit)
    res.resume_metadata = md
    return res


def _dhcp_msg_type(opts: bytes) -> int | None:
    i = 0
    while i < len(opts):
        code = opts[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(opts):
            break
        n = opts[i + 1]
        if code == 53 and n >= 1:
            return opts[i + 2]
        i += 2 + n
    return None


# --- dispatch ----------------------------------------------------------------------------


# Handlers that need nothing but the packet-in (opcodes as ovn-controller's
# process_packet_in() dispatches them).
_BY_OPCODE: dict[int, Callable[[PacketIn2], Result]] = {
    AE.OP_ARP: arp_request,
    AE.OP_PUT_DHCP_OPTS: put_dhcp_opts,
    AE.OP_ICMP: pinctrl_icmp.icmp,
    AE.OP_ICMP4_ERROR: pinctrl_icmp.icmp_error,
    AE.OP_ICMP6_ERROR: pinctrl_icmp.icmp_error,
    AE.OP_TCP_RESET: pinctrl_icmp.tcp_reset,
    AE.OP_SCTP_ABORT: pinctrl_icmp.sctp_abort,
    AE.OP_REJECT: pinctrl_icmp.reject,
    AE.OP_ND_NA: pinctrl_nd.nd_na,
    AE.OP_ND_NA_ROUTER: lambda pin: pinctrl_nd.nd_na(pin, router=True),
    AE.OP_ND_NS: pinctrl_nd.nd_ns,
    AE.OP_PUT_ND_RA_OPTS: pinctrl_nd.put_nd_ra_opts,
    AE.OP_PUT_DHCPV6_OPTS: pinctrl_dhcpv6.put_dhcpv6_opts,
}


def dispatch(opcode: int, pin: PacketIn2, sb: SbState, encoder: ActionEncoder,
             dns: Sequence[pinctrl_dns.DnsRecords] = ()) -> Result:
    """What to do for one packet-in.  Never raises on a hostile packet: a handler that
    trips over one anyway (a bug) yields nothing for it, so one bad packet cannot take
    the controller's packet-in loop down."""
    try:
        if opcode == AE.OP_PUT_ARP:
            return put_mac_binding(pin, sb, ipv6=False)
        if opcode == AE.OP_PUT_ND:
            return put_mac_binding(pin, sb, ipv6=True)
        if opcode == AE.OP_PUT_FDB:
            return put_fdb(pin)
        if opcode == AE.OP_DNS_LOOKUP:
            return pinctrl_dns.dns_lookup(pin, dns)
        fn = _BY_OPCODE.get(opcode)
        return fn(pin) if fn is not None else Result()
    except (IndexError, ValueError, struct.error):
        return Result()


def metadata_prop(md: Mapping[str, tuple[int, int]]) -> bytes:
    """An NXPINT_METADATA property carrying 'md' (for a resume with changed registers)."""
    body = oxm.encode_oxm_fields(O.Match(dict(md)))
    length = 4 + len(body)
    return struct.pack("!HH", NXPINT_METADATA, length) + body + b"\0" * ((8 - length % 8) % 8)
