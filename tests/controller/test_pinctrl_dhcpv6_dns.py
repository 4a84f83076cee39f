"""put_dhcpv6_opts and dns_lookup: the resumed packet checked field by field, the result
bit set on success and cleared (packet unchanged) on anything else, hostile input refused
without an exception.  The userdata is pyovn's own encoding of the logical actions."""

from __future__ import annotations

import struct
from types import SimpleNamespace

from pyovn.controller import pinctrl_dhcpv6 as D6
from pyovn.controller import pinctrl_dns as DNS
from pyovn.controller import pinctrl_handlers as H
from pyovn.controller.model import Datapath, SbState
from pyovn.logical import actions_encode as AE
from pyovn.logical import ofrep as O
from pyovn.logical.actions import parse_actions
from tests.controller.pinctrl_frames import (
    IP4_A,
    IP4_B,
    IP6_A,
    IP6_B,
    MAC_A,
    MAC_B,
    eth,
    ipv4,
    ipv6,
    l4_ok,
    packet_in,
    truncations,
    udp,
)


def _userdata(action: str) -> bytes:
    enc = AE.encode_actions(parse_actions(action).actions, AE.EncodeParams())
    return next(a for a in enc if isinstance(a, O.Controller)).userdata_prefix()


DHCP6_UD = _userdata('reg0[3] = put_dhcpv6_opts(ia_addr = fd00::5, server_id = '
                     '00:00:00:00:10:02, dns_server = {fd00::53, fd00::54}, '
                     'domain_search = "ovn.org"); next;')
DNS_UD = _userdata("reg0[4] = dns_lookup(); next;")
CLIENT_ID = struct.pack("!HHHH", 1, 10, 3, 1) + MAC_A
IA_NA = struct.pack("!HHIII", 3, 12, 0xABCD, 0, 0)
LL_A = bytes.fromhex("fe80000000000000080000fffe000001")
ALL_DHCP = bytes.fromhex("ff020000000000000000000000010002")


def _dhcp6(msg_type: int = D6.SOLICIT, opts: bytes = CLIENT_ID + IA_NA) -> bytes:
    body = bytes([msg_type]) + b"\x12\x34\x56" + opts
    return eth(b"\x33\x33\x00\x01\x00\x02", MAC_A, 0x86DD,
               ipv6(LL_A, ALL_DHCP, 17, udp(546, 547, body)))


def _resume(frame: bytes, ud: bytes, dp_key: int = 2,
            dns: list[DNS.DnsRecords] | None = None) -> H.Result:
    opcode = int.from_bytes(ud[:4], "big")
    pin = packet_in(frame, ud, paused=True, dp_key=dp_key)
    pin.metadata["reg0"] = (0x1, 0xFFFFFFFF)
    return H.dispatch(opcode, pin, None, None, dns or [])  # type: ignore[arg-type]


def _opts(data: bytes) -> dict[int, bytes]:
    out = {}
    pos = 0
    while pos < len(data):
        code, n = struct.unpack_from("!HH", data, pos)
        out[code] = data[pos + 4:pos + 4 + n]
        pos += 4 + n
    assert pos == len(data)
    return out


# --- put_dhcpv6_opts --------------------------------------------------------------------------


def test_solicit_gets_an_advertise() -> None:
    req = _dhcp6()
    res = _resume(req, DHCP6_UD)
    out = res.resume_packet
    assert out is not None and res.resume_metadata is not None
    assert res.resume_metadata["reg0"][0] == 0x1 | 1 << 3
    assert out[:18] == req[:18] and out[20:54] == req[20:54]
    (plen,) = struct.unpack_from("!H", out, 18)
    sport, dport, ulen, _c = struct.unpack_from("!HHHH", out, 54)
    assert (sport, dport) == (546, 547) and ulen == plen == len(out) - 54
    assert out[62] == D6.ADVERTISE and out[63:66] == b"\x12\x34\x56"
    assert l4_ok(out)
    opts = _opts(out[66:])
    assert opts[D6.OPT_CLIENT_ID] == CLIENT_ID[4:]
    assert opts[D6.OPT_SERVER_ID] == struct.pack("!HH", 3, 1) + bytes.fromhex("000000001002")
    ia = opts[D6.OPT_IA_NA]
    assert ia[:12] == struct.pack("!III", 0xABCD, 0xFFFFFFFF, 0xFFFFFFFF)
    assert ia[12:] == struct.pack("!HH", 5, 24) + bytes.fromhex(
        "fd000000000000000000000000000005") + b"\xff" * 8
    assert opts[D6.OPT_DNS_SERVER] == bytes.fromhex(
        "fd000000000000000000000000000053fd000000000000000000000000000054")
    assert opts[D6.OPT_DOMAIN_SEARCH] == b"\x07ovn.org\x00"


def test_request_gets_a_reply_and_info_request_no_address() -> None:
    out = _resume(_dhcp6(D6.REQUEST), DHCP6_UD).resume_packet
    assert out is not None and out[62] == D6.REPLY
    info = _resume(_dhcp6(D6.INFO_REQ, CLIENT_ID), DHCP6_UD).resume_packet
    assert info is not None and info[62] == D6.REPLY
    assert D6.OPT_IA_NA not in _opts(info[66:]) and l4_ok(info)


def test_dhcpv6_refusals_clear_the_bit() -> None:
    bad = [
        _dhcp6(D6.ADVERTISE),  # a server message
        _dhcp6(opts=IA_NA),  # no client id
        _dhcp6(opts=CLIENT_ID),  # SOLICIT without IA_NA
        _dhcp6(opts=CLIENT_ID + struct.pack("!HH", 3, 200)),  # option overruns
        eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 17, udp(546, 547, b"\x01abc"))),
        *truncations(_dhcp6())[:14 + 40 + 8 + 4 + len(CLIENT_ID) + len(IA_NA)],
    ]
    for frame in bad:
        res = _resume(frame, DHCP6_UD)
        assert res.resume_packet is None
        assert res.resume_metadata is not None and res.resume_metadata["reg0"][0] == 0x1


def test_dhcpv6_malformed_userdata() -> None:
    head = DHCP6_UD[:16]
    for tail in (b"", b"\x00\x05\x00\x10" + b"\0" * 3, b"\x00\x02\x00\x04abcd", b"\x00"):
        res = _resume(_dhcp6(), head + tail)
        assert res.resume_packet is None and res.resume_metadata is not None
    assert D6.compose_options(b"\x00\x05\x00\x10" + bytes(16), None) == b""


# --- dns_lookup ---------------------------------------------------------------------------------


RECORDS = [DNS.DnsRecords(frozenset({2}), {"vm1.ovn.org": "10.0.0.5 fd00::5 10.0.0.6"}),
           DNS.DnsRecords(frozenset({9}), {"other.org": "10.9.9.9"})]


def _query(name: bytes, qtype: int, v6: bool = False, extra: bytes = b"",
           flags: int = 0x0100) -> bytes:
    q = struct.pack("!HHHHHH", 0xBEEF, flags, 1, 0, 0, 0) + name + struct.pack("!HH", qtype, 1)
    seg = udp(40000, 53, q + extra)
    if v6:
        return eth(MAC_B, MAC_A, 0x86DD, ipv6(IP6_A, IP6_B, 17, seg))
    return eth(MAC_B, MAC_A, 0x0800, ipv4(IP4_A, IP4_B, 17, seg))


NAME = b"\x03VM1\x03ovn\x03org\x00"  # matched case-insensitively


def test_a_query_is_answered_in_place() -> None:
    req = _query(NAME, DNS.QTYPE_A)
    res = _resume(req, DNS_UD, dns=RECORDS)
    out = res.resume_packet
    assert out is not None and res.resume_metadata is not None
    assert res.resume_metadata["reg0"][0] == 0x1 | 1 << 4
    assert out[:14] == req[:14] and out[26:34] == req[26:34]
    assert struct.unpack_from("!H", out, 16)[0] == len(out) - 14
    assert struct.unpack_from("!HH", out, 34) == (40000, 53)
    assert struct.unpack_from("!H", out, 38)[0] == len(out) - 34
    dns = out[42:]
    ident, flags, qd, an = struct.unpack_from("!HHHH", dns, 0)
    assert (ident, flags, qd, an) == (0xBEEF, 0x8100, 1, 2)
    qlen = len(NAME) + 4
    assert dns[12:12 + qlen] == req[42 + 12:]
    ans = dns[12 + qlen:]
    one = NAME + struct.pack("!HHIH", 1, 1, 3600, 4)
    assert ans == one + bytes([10, 0, 0, 5]) + one + bytes([10, 0, 0, 6])
    assert l4_ok(out)


def test_aaaa_over_ipv6_and_any() -> None:
    out = _resume(_query(NAME, DNS.QTYPE_AAAA, v6=True), DNS_UD, dns=RECORDS).resume_packet
    assert out is not None and struct.unpack_from("!H", out, 62 + 6)[0] == 1
    assert out.endswith(bytes.fromhex("fd000000000000000000000000000005"))
    assert struct.unpack_from("!H", out, 18)[0] == len(out) - 54 and l4_ok(out)
    anyq = _resume(_query(NAME, DNS.QTYPE_ANY), DNS_UD, dns=RECORDS).resume_packet
    assert anyq is not None and struct.unpack_from("!H", anyq, 42 + 6)[0] == 3


def test_dns_misses_and_refusals_clear_the_bit() -> None:
    bad = [
        _query(b"\x05nohit\x00", DNS.QTYPE_A),  # unknown name
        _query(NAME, 15),  # MX
        _query(NAME, DNS.QTYPE_A, flags=0x8180),  # a response
        _query(b"\xc0\x0c", DNS.QTYPE_A),  # compression pointer
        _query(b"\x3fabc\x00", DNS.QTYPE_A),  # label past the end
        *truncations(_query(NAME, DNS.QTYPE_A))[:-1],
    ]
    for frame in bad:
        res = _resume(frame, DNS_UD, dns=RECORDS)
        assert res.resume_packet is None, frame
        assert res.resume_metadata is not None and res.resume_metadata["reg0"][0] == 0x1
    # Records of another datapath do not answer.
    res = _resume(_query(NAME, DNS.QTYPE_A), DNS_UD, dp_key=9, dns=RECORDS)
    assert res.resume_packet is None


def test_records_from_sb_rows() -> None:
    sb = SbState(datapaths={"u1": Datapath("u1", 2, True), "u2": Datapath("u2", 5, True)})
    rows = [SimpleNamespace(raw={"external_ids": {"dns_id": "x"}, "datapaths": ["u1", "gone"],
                                 "records": {"a.b": "1.2.3.4"}}.__getitem__),
            SimpleNamespace(raw={"external_ids": {}, "datapaths": ["u2"],
                                 "records": {"c.d": "5.6.7.8"}}.__getitem__)]
    recs = DNS.dns_records(rows, sb)
    assert recs == [DNS.DnsRecords(frozenset({2}), {"a.b": "1.2.3.4"})]
