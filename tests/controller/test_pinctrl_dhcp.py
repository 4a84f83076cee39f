"""put_dhcp_opts as Open vSwitch delivers it: the userdata captured from a real switch, a
client's DISCOVER/REQUEST, and the resumed packet checked against the logical flow that
has to send it back (ls_in_dhcp_response, as ovn-northd 23.03 writes it)."""

from __future__ import annotations

import struct

from pyovn.controller import pinctrl_handlers as H
from pyovn.logical import actions_encode as AE
from pyovn.logical.evaluate import evaluate
from pyovn.openflow import messages as M
from pyovn.openflow import oxm
from pyovn.openflow import protocol as P
from pyovn.trace.packet import Packet

MAC = bytes.fromhex("000000000001")
OFFER = bytes([10, 0, 0, 11])
# controller(userdata=...) of the flow "reg0[3] = put_dhcp_opts(offerip = 10.0.0.11,
# lease_time = 3600, netmask = 255.255.255.0, router = 10.0.0.254, server_id = 10.0.0.254)"
# as dumped from br-int: opcode 2, pad, NXM header of xxreg0, bit offset 99, offer, options.
USERDATA = bytes.fromhex(
    "00000002000000000001de1000000063"
    "0a00000b330400000e100104ffffff00"
    "03040a0000fe36040a0000fe")
RESPONSE_MATCH = ("inport == \"vm1\" && eth.src == 00:00:00:00:00:01 && ip4 && "
                  "udp.src == 68 && udp.dst == 67 && reg0[3]")


def _request(msg_type: int = H.DHCPDISCOVER, flags: int = 0) -> bytes:
    bootp = bytearray(240)
    bootp[0] = 1
    bootp[4:8] = b"\x12\x34\x56\x78"  # xid
    struct.pack_into("!H", bootp, 10, flags)
    bootp[28:34] = MAC
    bootp[236:240] = H.DHCP_MAGIC
    body = bytes(bootp) + bytes([53, 1, msg_type, 255])
    udp = struct.pack("!HHHH", 68, 67, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     b"\0" * 4, b"\xff" * 4)
    return b"\xff" * 6 + MAC + b"\x08\x00" + ip + udp


def _packet_in2(packet: bytes) -> bytes:
    """An NXT_PACKET_IN2 laid out as Open vSwitch sends it for the paused flow (registers
    as 64-bit packet registers, a continuation to hand back)."""
    def prop(t: int, payload: bytes) -> bytes:
        raw = struct.pack("!HH", t, 4 + len(payload)) + payload
        return raw + b"\0" * ((8 - len(raw) % 8) % 8)
    def xreg(i: int, value: int) -> bytes:
        return struct.pack("!IQ", (oxm.OFPXMC_PACKET_REGS << 16) | (i << 9) | 8, value)
    # reg11=0x1,reg12=0x2,reg13=0x7,reg14=0x2,metadata=0x2,in_port=1 (what the switch sent)
    md = (xreg(5, 1) + xreg(6, (2 << 32) | 7) + xreg(7, 2 << 32)
          + struct.pack("!IQ", 0x80000408, 2) + struct.pack("!II", 0x80000004, 1))
    body = (prop(M.NXPINT_PACKET, packet) + prop(M.NXPINT_FULL_LEN, struct.pack("!I", len(packet)))
            + prop(M.NXPINT_TABLE_ID, b"\x1c") + prop(M.NXPINT_COOKIE, b"\0" * 8)
            + prop(M.NXPINT_REASON, b"\x01") + prop(M.NXPINT_METADATA, md)
            + prop(M.NXPINT_USERDATA, USERDATA) + prop(M.NXPINT_CONTINUATION, b"\xab" * 16))
    return P.experimenter_message(P.NXT_PACKET_IN2, 0, body)


def _as_flow(frame: bytes, md: dict[str, tuple[int, int]]) -> Packet:
    ip = 14
    udp = ip + (frame[ip] & 0xF) * 4
    pkt = Packet({"dl_src": int.from_bytes(frame[6:12], "big"),
                  "dl_dst": int.from_bytes(frame[0:6], "big"),
                  "dl_type": int.from_bytes(frame[12:14], "big"),
                  "nw_proto": frame[ip + 9],
                  "nw_src": int.from_bytes(frame[ip + 12:ip + 16], "big"),
                  "nw_dst": int.from_bytes(frame[ip + 16:ip + 20], "big")})
    pkt["tp_src"], pkt["tp_dst"] = struct.unpack_from("!HH", frame, udp)
    for k, (v, _m) in md.items():
        pkt[k] = v
    return pkt


def _reply(msg_type: int = H.DHCPDISCOVER, flags: int = 0) -> tuple[bytes, H.Result]:
    pin = M.decode_packet_in2(_packet_in2(_request(msg_type, flags)))
    res = H.dispatch(AE.OP_PUT_DHCP_OPTS, pin, None, None)  # type: ignore[arg-type]
    assert res.resume_packet is not None and res.resume_metadata is not None
    return res.resume_packet, res


def test_offer_still_matches_the_flow_that_sends_it_back() -> None:
    out, res = _reply()
    assert res.resume_metadata is not None
    flow = _as_flow(out, res.resume_metadata)
    assert evaluate(RESPONSE_MATCH, flow, lookup_port=lambda n: 2 if n == "vm1" else None)


def test_offer_keeps_the_request_ports_and_addresses_the_offer() -> None:
    out, _res = _reply()
    assert struct.unpack_from("!HH", out, 34) == (68, 67)
    assert out[26:30] == b"\0" * 4 and out[30:34] == OFFER
    (udp_len, udp_csum) = struct.unpack_from("!HH", out, 38)
    assert udp_len == len(out) - 34 and udp_csum == 0
    assert H._csum(out[14:34]) == 0  # valid IPv4 header checksum
    bootp = out[42:]
    assert bootp[0] == 2 and bootp[4:8] == b"\x12\x34\x56\x78" and bootp[16:20] == OFFER
    opts = bootp[240:]
    assert opts.startswith(bytes([53, 1, H.DHCPOFFER])) and USERDATA[20:] in opts


def test_broadcast_flag_sends_the_reply_to_broadcast() -> None:
    out, _res = _reply(flags=H.DHCP_BROADCAST_FLAG)
    assert out[30:34] == b"\xff" * 4
    assert out[58:62] == OFFER  # yiaddr still the offer


def test_request_gets_an_ack() -> None:
    out, res = _reply(H.DHCPREQUEST)
    assert out[42 + 240:42 + 243] == bytes([53, 1, H.DHCPACK])
    assert res.resume_metadata is not None and res.resume_metadata["reg0"][0] & 8


def test_resume_carries_the_new_packet_and_the_result_bit() -> None:
    raw = _packet_in2(_request())
    pin = M.decode_packet_in2(raw)
    assert pin.metadata["reg14"] == (2, 0xFFFFFFFF)
    out, res = _reply()
    assert res.resume_metadata is not None
    pin.raw_props = [(t, H.metadata_prop(res.resume_metadata) if t == M.NXPINT_METADATA
                      else r) for t, r in pin.raw_props]
    msg = M.resume(7, pin, out)
    assert struct.unpack_from("!II", msg, 8) == (P.NX_VENDOR_ID, P.NXT_RESUME)
    props = {t: payload for t, payload, _raw in M._props(msg[16:])}
    assert props[M.NXPINT_PACKET] == out
    assert props[M.NXPINT_CONTINUATION] == b"\xab" * 16
    assert M.NXPINT_USERDATA not in props and M.NXPINT_FULL_LEN not in props
    md = oxm.decode_oxm_fields(props[M.NXPINT_METADATA])
    assert md["reg0"][0] & 8 and md["reg14"][0] == 2 and md["metadata"][0] == 2


def test_not_dhcp_clears_the_result_bit_and_keeps_the_packet() -> None:
    frame = bytearray(_request())
    frame[42 + 236:42 + 240] = b"\0" * 4  # no magic cookie: plain BOOTP
    pin = M.decode_packet_in2(_packet_in2(bytes(frame)))
    pin.metadata["reg0"] = (0xF, 0xFFFFFFFF)
    res = H.put_dhcp_opts(pin)
    assert res.resume_packet is None
    assert res.resume_metadata is not None and res.resume_metadata["reg0"][0] == 0x7


def test_truncated_request_is_refused_not_raised() -> None:
    for n in (20, 40, 60, 200, 42 + 239):
        pin = M.decode_packet_in2(_packet_in2(_request()[:n]))
        res = H.put_dhcp_opts(pin)
        assert res.resume_packet is None
        assert res.resume_metadata is not None and not res.resume_metadata["reg0"][0] & 8
