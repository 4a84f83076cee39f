"""icmp4/icmp6 { }, icmp*_error { }, tcp_reset { }, sctp_abort { } and reject { }: the
packet built from the one sent up, field by field, checksums verified, sent with the
nested actions; and hostile packets answered with nothing, never an exception."""

from __future__ import annotations

import struct

import pytest

from pyovn.controller import pinctrl_handlers as H
from pyovn.controller import pinctrl_icmp as I
from pyovn.logical import actions_encode as AE
from pyovn.openflow import messages as M
from tests.controller.pinctrl_frames import (
    IP4_A,
    IP4_B,
    IP6_A,
    IP6_B,
    MAC_A,
    MAC_B,
    NESTED,
    action_userdata,
    eth,
    ipv4,
    ipv6,
    l4_ok,
    packet_in,
    tcp,
    truncations,
    udp,
)


def _run(opcode: int, frame: bytes) -> H.Result:
    return H.dispatch(opcode, packet_in(frame, action_userdata(opcode) + NESTED),
                      None, None)  # type: ignore[arg-type]


def _one(opcode: int, frame: bytes) -> bytes:
    res = _run(opcode, frame)
    assert len(res.packet_outs) == 1
    pkt, actions = res.packet_outs[0]
    assert actions == NESTED  # the nested actions, verbatim, run on the new packet
    assert res.resume_packet is None and res.resume_metadata is None
    return pkt


UDP4 = eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 17, udp(1000, 53, b"hello"), tos=0xB9))
TCP4_SYN = eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 6, tcp(40000, 80, 1000, 0, 0x02)))
TCP6_SYN = eth(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 6, tcp(40000, 80, 7, 0, 0x02)))
UDP6 = eth(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 17, udp(1000, 53, b"x" * 10),
                                      flow_label=0x12345))


# --- icmp4 / icmp6 ---------------------------------------------------------------------------


def test_icmp4_port_unreachable_quotes_the_datagram() -> None:
    out = _one(AE.OP_ICMP, UDP4)
    assert out[0:6] == MAC_B and out[6:12] == MAC_A and out[12:14] == b"\x08\x00"
    ver_ihl, tos, tot, ident, frag, ttl, proto = struct.unpack_from("!BBHHHBB", out, 14)
    assert (ver_ihl, tos, ident, frag, ttl, proto) == (0x45, 0xB8, 0, 0x4000, 255, 1)
    assert out[26:30] == IP4_A and out[30:34] == IP4_B  # swapped later by nested actions
    assert tot == len(out) - 14
    assert out[34] == I.ICMP4_DST_UNREACH and out[35] == 3  # port unreachable for UDP
    assert out[38:42] == b"\0" * 4
    assert out[42:] == UDP4[14:]  # the whole original IP datagram
    assert l4_ok(out)


def test_icmp4_error_keeps_code_1_for_udp_and_tcp() -> None:
    assert _one(AE.OP_ICMP4_ERROR, UDP4)[35] == 1
    assert _one(AE.OP_ICMP, TCP4_SYN)[35] == 1


def test_icmp4_quote_is_capped_at_576_bytes() -> None:
    big = eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 17, udp(1, 2, b"z" * 1400)))
    out = _one(AE.OP_ICMP, big)
    assert len(out) == 576 and struct.unpack_from("!H", out, 16)[0] == 576 - 14
    assert out[42:] == big[14:14 + 576 - 42]
    assert l4_ok(out)


def test_icmp4_keeps_a_vlan_tag() -> None:
    tagged = eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 17, udp(1, 2, b"")), vlan=0x0064)
    out = _one(AE.OP_ICMP, tagged)
    assert out[12:18] == bytes.fromhex("810000640800")
    assert l4_ok(out, l3=18) and out[18 + 28:] == tagged[18:]


def test_icmp6_port_unreachable() -> None:
    out = _one(AE.OP_ICMP, UDP6)
    assert out[12:14] == b"\x86\xdd"
    vtf, plen, nxt, hop = struct.unpack_from("!IHBB", out, 14)
    assert vtf >> 28 == 6 and vtf & 0xFFFFF == 0x12345 and nxt == 58 and hop == 255
    assert plen == len(out) - 54
    assert out[22:38] == IP6_A and out[38:54] == IP6_B
    assert out[54] == I.ICMP6_DST_UNREACH and out[55] == I.ICMP6_DST_UNREACH_NOPORT
    assert out[62:] == UDP6[14:]
    assert l4_ok(out)


def test_icmp6_error_code_1_and_1280_cap() -> None:
    big = eth(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 17, udp(1, 2, b"q" * 2000)))
    out = _one(AE.OP_ICMP6_ERROR, big)
    assert out[55] == 1 and len(out) == 1280
    assert l4_ok(out)


# --- tcp_reset -------------------------------------------------------------------------------


def test_tcp_reset_v4_answers_a_syn() -> None:
    out = _one(AE.OP_TCP_RESET, TCP4_SYN)
    _v, tos, tot, _id, frag, ttl, proto = struct.unpack_from("!BBHHHBB", out, 14)
    assert (tos, tot, frag, ttl, proto) == (I.IP_DSCP_CS6, 40, 0x4000, 63, 6)
    assert out[26:30] == IP4_A and out[30:34] == IP4_B
    sport, dport, seq, ack, off_flags, win = struct.unpack_from("!HHIIHH", out, 34)
    assert (sport, dport) == (80, 40000)  # ports swapped here, addresses by the flow
    assert (seq, ack) == (0, 1001)
    assert off_flags == (5 << 12) | I.TCP_RST | I.TCP_ACK and win == 0
    assert len(out) == 54 and l4_ok(out)


def test_tcp_reset_v6() -> None:
    out = _one(AE.OP_TCP_RESET, TCP6_SYN)
    _vtf, plen, nxt, hop = struct.unpack_from("!IHBB", out, 14)
    assert (plen, nxt, hop) == (20, 6, 63)
    assert out[22:38] == IP6_A and out[38:54] == IP6_B
    assert struct.unpack_from("!HHII", out, 54) == (80, 40000, 0, 8)
    assert l4_ok(out)


def test_tcp_reset_of_an_acked_segment_takes_its_ack_as_seq() -> None:
    seg = eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 6, tcp(1, 2, 500, 9000, 0x18, b"abc")))
    out = _one(AE.OP_TCP_RESET, seg)
    _s, _d, seq, ack, off_flags = struct.unpack_from("!HHIIH", out, 34)
    assert (seq, ack, off_flags & 0x3F) == (9000, 0, I.TCP_RST)
    assert l4_ok(out)


def test_tcp_reset_ignores_non_tcp() -> None:
    assert _run(AE.OP_TCP_RESET, UDP4).packet_outs == []


# --- reject ---------------------------------------------------------------------------------


def test_reject_tcp_is_a_reset_with_addresses_swapped() -> None:
    out = _one(AE.OP_REJECT, TCP4_SYN)
    assert out[0:6] == MAC_A and out[6:12] == MAC_B  # back to the sender
    assert out[26:30] == IP4_B and out[30:34] == IP4_A
    assert struct.unpack_from("!HHII", out, 34) == (80, 40000, 0, 1001)
    assert l4_ok(out)


def test_reject_udp_is_port_unreachable_back_to_the_sender() -> None:
    out = _one(AE.OP_REJECT, UDP4)
    assert out[0:6] == MAC_A and out[26:30] == IP4_B and out[30:34] == IP4_A
    assert (out[34], out[35]) == (3, 3)
    assert l4_ok(out)
    out6 = _one(AE.OP_REJECT, UDP6)
    assert out6[22:38] == IP6_B and out6[38:54] == IP6_A and out6[55] == 4
    assert l4_ok(out6)


def test_reject_sctp_init_aborts_with_the_initiate_tag() -> None:
    init = struct.pack("!BBHIIHHI", 1, 0, 20, 0xCAFEF00D, 65536, 10, 10, 1)
    sctp = struct.pack("!HHII", 5000, 6000, 0, 0) + init
    out = _one(AE.OP_REJECT, eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 132, sctp)))
    assert out[26:30] == IP4_B and out[23] == 132
    sport, dport, vtag = struct.unpack_from("!HHI", out, 34)
    assert (sport, dport, vtag) == (6000, 5000, 0xCAFEF00D)
    assert out[46:50] == bytes([6, 0, 0, 4])  # ABORT, tag not reflected
    body = bytearray(out[34:])
    (crc,) = struct.unpack_from("<I", body, 8)
    body[8:12] = b"\0" * 4
    assert crc == I.crc32c(bytes(body))


def test_sctp_abort_reflects_the_tag_and_never_answers_an_abort() -> None:
    data = struct.pack("!HHII", 5000, 6000, 0x11223344, 0) + bytes([0, 0, 0, 4])
    out = _one(AE.OP_SCTP_ABORT, eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 132, data)))
    assert struct.unpack_from("!I", out, 38)[0] == 0x11223344 and out[47] == 1
    abort = struct.pack("!HHII", 5000, 6000, 1, 0) + bytes([6, 0, 0, 4])
    frame = eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 132, abort))
    assert _run(AE.OP_SCTP_ABORT, frame).packet_outs == []


def test_crc32c_known_answer() -> None:
    assert I.crc32c(b"123456789") == 0xE3069283  # RFC 3720 B.4 check value


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [AE.OP_ICMP, AE.OP_ICMP4_ERROR, AE.OP_ICMP6_ERROR,
                                    AE.OP_TCP_RESET, AE.OP_SCTP_ABORT, AE.OP_REJECT])
@pytest.mark.parametrize("frame", [UDP4, TCP4_SYN, TCP6_SYN, UDP6])
def test_truncated_frames_never_raise(opcode: int, frame: bytes) -> None:
    for bad in truncations(frame):
        res = _run(opcode, bad)
        for pkt, _a in res.packet_outs:
            assert len(pkt) >= 14 + 20


def test_lying_length_fields_are_refused_or_capped() -> None:
    bad_ihl = bytearray(UDP4)
    bad_ihl[14] = 0x44  # IHL 16 bytes
    assert _run(AE.OP_ICMP, bytes(bad_ihl)).packet_outs == []
    huge = bytearray(UDP4)
    struct.pack_into("!H", huge, 16, 0xFFFF)  # total length beyond the frame
    out = _one(AE.OP_ICMP, bytes(huge))
    assert out[42:] == bytes(huge)[14:]  # only what was there is quoted
    not_ip = eth(MAC_B, MAC_A, 0x0806, b"\0" * 28)
    for op in (AE.OP_ICMP, AE.OP_TCP_RESET, AE.OP_REJECT):
        assert _run(op, not_ip).packet_outs == []
    wrong_version = bytearray(UDP4)
    wrong_version[14] = 0x65
    assert _run(AE.OP_REJECT, bytes(wrong_version)).packet_outs == []


def test_ipv6_extension_header_loop_is_bounded() -> None:
    # 20 hop-by-hop headers in a row: more than the parser walks; refused, not a hang.
    hbh = bytes([0, 0]) + b"\0" * 6
    payload = hbh * 20
    frame = eth(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 0, payload))
    assert _run(AE.OP_TCP_RESET, frame).packet_outs == []


def test_packet_in_without_nested_actions_still_builds() -> None:
    pin = packet_in(TCP4_SYN, action_userdata(AE.OP_TCP_RESET))
    res = H.dispatch(AE.OP_TCP_RESET, pin, None, None)  # type: ignore[arg-type]
    assert res.packet_outs and res.packet_outs[0][1] == b""
    assert isinstance(pin, M.PacketIn2)


def test_packet_out_metadata_is_datapath_and_registers_only() -> None:
    """As pinctrl.c's reload_metadata(): a packet that came through a tunnel has tun_id
    in its packet-in metadata, which a packet-out must not (and cannot) carry."""
    pin = packet_in(TCP4_SYN, action_userdata(AE.OP_TCP_RESET))
    pin.metadata["tun_id"] = (5, 0xFFFFFFFFFFFFFFFF)
    pin.metadata["0x8000:38"] = (5, 0xFFFFFFFFFFFFFFFF)
    md = H.pin_metadata(pin)
    assert set(md.fields) == {"metadata", "reg14", "reg15"}
    from pyovn.controller.pinctrl import packet_out_raw
    msg = packet_out_raw(1, b"\0" * 60, NESTED, md)
    assert msg.endswith(NESTED + b"\0" * 60)
