"""Frames and packet-ins for the pinctrl handler tests, and checksum checks written
independently of pinctrl_pkt (a bug there must not be able to hide in both)."""

from __future__ import annotations

import struct

from pyovn.openflow import messages as M
from pyovn.openflow import oxm
from pyovn.openflow import protocol as P

MAC_A = bytes.fromhex("0a0000000001")
MAC_B = bytes.fromhex("0a0000000002")
IP4_A = bytes([10, 0, 0, 1])
IP4_B = bytes([10, 0, 0, 2])
IP6_A = bytes.fromhex("fd000000000000000000000000000001")
IP6_B = bytes.fromhex("fd000000000000000000000000000002")
# "nested actions" stand-in: any bytes, handed back verbatim in the packet-out.
NESTED = bytes.fromhex("0019001080000408000000000000000a")
XXREG0 = (0x0001 << 16) | (111 << 9) | 16


def action_userdata(opcode: int, args: bytes = b"") -> bytes:
    return struct.pack("!I4x", opcode) + args


def result_userdata(opcode: int, bit: int, rest: bytes = b"", header: int = XXREG0) -> bytes:
    """userdata of "reg0[bit] = action(...)": reg0 is xxreg0[96..127]."""
    return action_userdata(opcode, struct.pack("!II", header, 96 + bit) + rest)


def packet_in(packet: bytes, userdata: bytes, paused: bool = False,
              dp_key: int = 2) -> M.PacketIn2:
    """An NXT_PACKET_IN2 as the switch lays it out, decoded as the controller does."""
    def prop(t: int, payload: bytes) -> bytes:
        raw = struct.pack("!HH", t, 4 + len(payload)) + payload
        return raw + b"\0" * ((8 - len(raw) % 8) % 8)
    def xreg(i: int, value: int) -> bytes:
        return struct.pack("!IQ", (oxm.OFPXMC_PACKET_REGS << 16) | (i << 9) | 8, value)
    md = (xreg(7, 3 << 32) + struct.pack("!IQ", 0x80000408, dp_key)
          + struct.pack("!II", 0x80000004, 1))
    body = (prop(M.NXPINT_PACKET, packet)
            + prop(M.NXPINT_FULL_LEN, struct.pack("!I", len(packet)))
            + prop(M.NXPINT_TABLE_ID, b"\x1c") + prop(M.NXPINT_COOKIE, b"\0" * 8)
            + prop(M.NXPINT_REASON, b"\x01") + prop(M.NXPINT_METADATA, md)
            + prop(M.NXPINT_USERDATA, userdata))
    if paused:
        body += prop(M.NXPINT_CONTINUATION, b"\xab" * 16)
    return M.decode_packet_in2(P.experimenter_message(P.NXT_PACKET_IN2, 0, body))


# --- building frames ------------------------------------------------------------------------


def _fold(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = int.from_bytes(data, "big")
    s = 0
    while total:
        s += total & 0xFFFF
        total >>= 16
    while s > 0xFFFF:
        s = (s >> 16) + (s & 0xFFFF)
    return s


def checksum(data: bytes) -> int:
    return ~_fold(data) & 0xFFFF


def eth(dst: bytes, src: bytes, eth_type: int, payload: bytes, vlan: int | None = None) -> bytes:
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return dst + src + tag + struct.pack("!H", eth_type) + payload


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ttl: int = 64,
         tos: int = 0) -> bytes:
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), 0x1234, 0,
                              ttl, proto, 0, src, dst))
    struct.pack_into("!H", h, 10, checksum(bytes(h)))
    return bytes(h) + payload


def ipv6(src: bytes, dst: bytes, nxt: int, payload: bytes, hop: int = 64,
         flow_label: int = 0) -> bytes:
    return struct.pack("!IHBB", (6 << 28) | flow_label, len(payload), nxt, hop) + src + dst \
        + payload


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    # checksum left 0: the handlers never look at the incoming one
    return struct.pack("!HHIIHHHH", sport, dport, seq, ack, (5 << 12) | flags, 65535, 0,
                       0) + data


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def pseudo4(src: bytes, dst: bytes, proto: int, n: int) -> bytes:
    return src + dst + bytes([0, proto]) + n.to_bytes(2, "big")


def pseudo6(src: bytes, dst: bytes, proto: int, n: int) -> bytes:
    return src + dst + n.to_bytes(4, "big") + bytes([0, 0, 0, proto])


def l4_ok(frame: bytes, l3: int = 14) -> bool:
    """Whether the IPv4 header checksum (for IPv4) and the upper-layer checksum of a
    frame without extension headers verify."""
    if frame[l3] >> 4 == 4:
        ihl = (frame[l3] & 0xF) * 4
        if _fold(frame[l3:l3 + ihl]) != 0xFFFF:
            return False
        tot = int.from_bytes(frame[l3 + 2:l3 + 4], "big")
        seg = frame[l3 + ihl:l3 + tot]
        proto = frame[l3 + 9]
        if proto == 1:
            return _fold(seg) == 0xFFFF
        if proto == 17 and seg[6:8] == b"\0\0":
            return True  # "no checksum" is allowed for UDP over IPv4
        return _fold(pseudo4(frame[l3 + 12:l3 + 16], frame[l3 + 16:l3 + 20], proto,
                             len(seg)) + seg) == 0xFFFF
    plen = int.from_bytes(frame[l3 + 4:l3 + 6], "big")
    seg = frame[l3 + 40:l3 + 40 + plen]
    return _fold(pseudo6(frame[l3 + 8:l3 + 24], frame[l3 + 24:l3 + 40], frame[l3 + 6],
                         len(seg)) + seg) == 0xFFFF


def truncations(frame: bytes) -> list[bytes]:
    """Every prefix of a frame, and a few with garbage appended: hostile inputs."""
    return [frame[:n] for n in range(len(frame))] + [frame + b"\xff" * 7]
