"""nd_na { }, nd_na_router { }, nd_ns { } and put_nd_ra_opts: packets checked field by
field against RFC 4861 and OVS's compose_nd_*; the RA's userdata comes from pyovn's own
encoding of the logical action (checked against real ovn-controller elsewhere)."""

from __future__ import annotations

import struct

import pytest

from pyovn.controller import pinctrl_handlers as H
from pyovn.controller import pinctrl_nd as N
from pyovn.logical import actions_encode as AE
from pyovn.logical import ofrep as O
from pyovn.logical.actions import parse_actions
from tests.controller.pinctrl_frames import (
    IP6_A,
    IP6_B,
    MAC_A,
    MAC_B,
    NESTED,
    action_userdata,
    eth,
    ipv6,
    l4_ok,
    packet_in,
    result_userdata,
    truncations,
)

ROUTER_MAC = bytes.fromhex("00000000ff01")
TARGET = bytes.fromhex("fd0000000000000000000000000000fe")
SOL_MCAST = bytes.fromhex("ff0200000000000000000001ff0000fe")


def _ns(target: bytes = TARGET) -> bytes:
    body = bytearray(struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + MAC_A)
    return eth(b"\x33\x33\xff\x00\x00\xfe", MAC_A, 0x86DD,
               ipv6(IP6_A, SOL_MCAST, 58, bytes(body), hop=255))


def _rs() -> bytes:
    body = struct.pack("!BBHI", 133, 0, 0, 0) + bytes([1, 1]) + MAC_A
    return eth(b"\x33\x33\x00\x00\x00\x02", MAC_A, 0x86DD,
               ipv6(IP6_A, bytes.fromhex("ff020000000000000000000000000002"), 58, body,
                    hop=255))


def _out(opcode: int, frame: bytes) -> bytes:
    res = H.dispatch(opcode, packet_in(frame, action_userdata(opcode) + NESTED),
                     None, None)  # type: ignore[arg-type]
    assert len(res.packet_outs) == 1 and res.packet_outs[0][1] == NESTED
    return res.packet_outs[0][0]


# --- nd_na ------------------------------------------------------------------------------------


@pytest.mark.parametrize("opcode,router", [(AE.OP_ND_NA, False), (AE.OP_ND_NA_ROUTER, True)])
def test_na_answers_the_solicitation(opcode: int, router: bool) -> None:
    out = _out(opcode, _ns())
    assert out[0:6] == MAC_A and out[6:12] == b"\x33\x33\xff\x00\x00\xfe"
    assert out[12:14] == b"\x86\xdd"
    _vtf, plen, nxt, hop = struct.unpack_from("!IHBB", out, 14)
    assert (plen, nxt, hop) == (32, 58, 255)
    assert out[22:38] == TARGET and out[38:54] == IP6_A
    icmp_type, code, _c, flags = struct.unpack_from("!BBHI", out, 54)
    expect = N.ND_RSO_SOLICITED | N.ND_RSO_OVERRIDE | (N.ND_RSO_ROUTER if router else 0)
    assert (icmp_type, code, flags) == (136, 0, expect)
    assert out[62:78] == TARGET
    assert out[78:80] == bytes([2, 1]) and out[80:86] == out[6:12]  # TLL option
    assert len(out) == 86 and l4_ok(out)


def test_na_refuses_what_is_not_a_solicitation() -> None:
    echo = eth(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 58, bytes([128, 0, 0, 0]) + bytes(20)))
    bad_code = bytearray(_ns())
    bad_code[55] = 1
    # Up to the target address an NS is answerable (OVS's is_nd() asks no more).
    for frame in (echo, bytes(bad_code), *truncations(_ns())[:14 + 40 + 24]):
        ud = action_userdata(AE.OP_ND_NA) + NESTED
        res = H.dispatch(AE.OP_ND_NA, packet_in(frame, ud), None, None)  # type: ignore[arg-type]
        assert res.packet_outs == []


# --- nd_ns ------------------------------------------------------------------------------------


def test_ns_solicits_the_packet_destination() -> None:
    dst = bytes.fromhex("fd00000000000000000000000a0b0c0d")
    pkt = eth(ROUTER_MAC, MAC_A, 0x86DD, ipv6(IP6_A, dst, 17, b"\0" * 8))
    out = _out(AE.OP_ND_NS, pkt)
    assert out[0:6] == bytes.fromhex("3333ff0b0c0d") and out[6:12] == MAC_A
    _vtf, plen, nxt, hop = struct.unpack_from("!IHBB", out, 14)
    assert (plen, nxt, hop) == (32, 58, 255)
    # fe80::EUI-64 of 0a:00:00:00:00:01 (universal/local bit flipped)
    assert out[22:38] == bytes.fromhex("fe80000000000000080000fffe000001")
    assert out[38:54] == bytes.fromhex("ff0200000000000000000001ff0b0c0d")
    assert out[54:56] == bytes([135, 0])
    assert out[58:62] == b"\0" * 4 and out[62:78] == dst
    assert out[78:80] == bytes([1, 1]) and out[80:86] == MAC_A
    assert l4_ok(out)


def test_ns_needs_a_whole_ipv6_header() -> None:
    arp = eth(MAC_B, MAC_A, 0x0806, b"\0" * 28)
    pkt = eth(ROUTER_MAC, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 17, b""))
    for frame in (arp, *truncations(pkt)[:-1]):
        res = H.dispatch(AE.OP_ND_NS, packet_in(frame, action_userdata(AE.OP_ND_NS)),
                         None, None)  # type: ignore[arg-type]
        assert res.packet_outs == []


# --- put_nd_ra_opts ---------------------------------------------------------------------------


def _ra_userdata() -> bytes:
    acts = parse_actions('reg0[5] = put_nd_ra_opts(addr_mode = "slaac", '
                         'slla = 00:00:00:00:ff:01, prefix = fd00::/64, mtu = 1450); next;')
    enc = AE.encode_actions(acts.actions, AE.EncodeParams())
    ctl = next(a for a in enc if isinstance(a, O.Controller))
    assert ctl.pause and ctl.opcode == AE.OP_PUT_ND_RA_OPTS
    return ctl.userdata_prefix()


def test_ra_replaces_the_solicitation_and_sets_the_bit() -> None:
    ud = _ra_userdata()
    rs = _rs()
    pin = packet_in(rs, ud, paused=True)
    res = H.dispatch(AE.OP_PUT_ND_RA_OPTS, pin, None, None)  # type: ignore[arg-type]
    out = res.resume_packet
    assert out is not None and res.packet_outs == []
    assert out[:18] == rs[:18] and out[20:54] == rs[20:54]  # L2/L3 kept but the length
    ra = ud[16:]
    (plen,) = struct.unpack_from("!H", out, 18)
    assert plen == len(ra) == len(out) - 54
    assert out[54] == 134 and out[56:58] != b"\0\0"
    assert out[58:] == ra[4:]  # everything after the checksum as the flow encoded it
    assert l4_ok(out)
    assert res.resume_metadata is not None and res.resume_metadata["reg0"] == (1 << 5, 1 << 5)
    assert res.resume_metadata["reg14"][0] == 3  # the rest of the metadata kept


def test_ra_for_something_else_clears_the_bit_and_keeps_the_packet() -> None:
    ud = _ra_userdata()
    for frame in (_ns(), *truncations(_rs())[:14 + 40 + 8]):
        pin = packet_in(frame, ud, paused=True)
        pin.metadata["reg0"] = (0xFFFFFFFF, 0xFFFFFFFF)
        res = H.dispatch(AE.OP_PUT_ND_RA_OPTS, pin, None, None)  # type: ignore[arg-type]
        assert res.resume_packet is None
        assert res.resume_metadata is not None
        assert res.resume_metadata["reg0"][0] == 0xFFFFFFFF & ~(1 << 5)


def test_ra_with_a_bad_result_field_resumes_untouched() -> None:
    ud = result_userdata(AE.OP_PUT_ND_RA_OPTS, 5, b"\x86\0\0\0", header=0x12345678)
    res = H.dispatch(AE.OP_PUT_ND_RA_OPTS, packet_in(_rs(), ud, paused=True),
                     None, None)  # type: ignore[arg-type]
    assert res.resume_packet is None and res.resume_metadata is None
    short = action_userdata(AE.OP_PUT_ND_RA_OPTS, b"\0\1")
    res = H.dispatch(AE.OP_PUT_ND_RA_OPTS, packet_in(_rs(), short, paused=True),
                     None, None)  # type: ignore[arg-type]
    assert res.resume_packet is None and res.resume_metadata is None
