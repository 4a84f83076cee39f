"""Encodings checked against Open vSwitch's own decoder (`ovs-ofctl ofp-print`), plus the
errors every encoder raises on input it cannot represent."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from pyovn.logical import ofrep as O
from pyovn.openflow import messages as M
from pyovn.openflow import oxm
from pyovn.openflow.actions import ActionEncoder, Output, encode_actions
from pyovn.openflow.learn import encode_spec, parse_subfield
from pyovn.openflow.protocol import OpenFlowError, XidAllocator, parse_header

needs_ofctl = pytest.mark.skipif(shutil.which("ovs-ofctl") is None, reason="no ovs-ofctl")


def ofp_print(msg: bytes) -> str:
    r = subprocess.run(["ovs-ofctl", "ofp-print", msg.hex()], capture_output=True, text=True,
                       timeout=30, check=True)
    return r.stdout.strip()


def _ip_match(dl_type: int = 0x800) -> O.Match:
    m = O.Match()
    m.add("dl_type", dl_type, 0xFFFF)
    if dl_type != 0x806:
        m.add("nw_proto", 6, 0xFF)
    return m


def decoded_actions(actions: tuple[O.Action, ...], dl_type: int = 0x800) -> str:
    out = ofp_print(M.flow_add(1, O.Flow(3, 100, _ip_match(dl_type), actions)))
    assert "decode error" not in out, out
    return out.splitlines()[0].split(" actions=", 1)[1]


FULL32 = 0xFFFFFFFF
ACTIONS: list[O.Action] = [
    O.Resubmit(9), O.Resubmit(0),
    O.SetField("reg15", 5, FULL32), O.SetField("reg10", 8, 8),
    O.SetField("metadata", 0x12, (1 << 64) - 1), O.SetField("xxreg0", 7, (1 << 128) - 1),
    O.SetField("tun_id", 9, (1 << 64) - 1), O.SetField("dl_dst", 0x0A0000000002, (1 << 48) - 1),
    O.Move(O.SubField("reg14", 0, 32), O.SubField("reg15", 0, 32)),
    O.Move(O.SubField("xxreg0", 96, 32), O.SubField("arp_spa", 0, 32)),
    O.Move(O.SubField("reg14", 0, 16), O.SubField("reg15", 16, 16)),
    O.Push(O.SubField("reg0", 0, 32)), O.Pop(O.SubField("reg0", 0, 32)),
    O.DecTTL(), O.Conjunction(7, 2, 3), O.CTClear(),
    O.CT(table=12, zone=O.SubField("reg13", 0, 16)),
    O.CT(commit=True, zone=5),
    O.CT(commit=True, zone=O.SubField("reg13", 0, 16),
         exec_=(O.SetField("ct_mark", 1, 1), O.SetField("ct_label", 2, 0xFFFF))),
    O.CT(commit=True, table=14, zone=O.SubField("reg11", 0, 16),
         nat=O.NAT("dst", "10.0.0.5", "", 8080, 8080)),
    O.CT(commit=True, table=14, zone=O.SubField("reg12", 0, 16),
         nat=O.NAT("src", "172.16.0.1", "172.16.0.9", 1000, 2000, random=True)),
    O.CT(commit=True, table=14, zone=O.SubField("reg12", 0, 16),
         nat=O.NAT("src", "fd00::1", "", 0, 0, persistent=True)),
    O.CT(table=13, zone=O.SubField("reg13", 0, 16), nat=O.NAT("")),
    O.Controller(0x17, b"\x01\x02\x03", None, True),
    O.Controller(0x1, b"", None, False, 3),
    O.CheckPktLarger(1442, O.SubField("reg10", 6, 1)),
    O.Clone((O.SetField("reg15", 1, FULL32), O.Resubmit(37))),
    O.Group(3), O.Meter(2), O.SetQueue(10),
    O.Sample(65535, 1, 2, 3),
    O.Learn(78, 32768, ("OXM_OF_METADATA[]", "eth_type=0x800", "NXM_OF_IP_SRC[]",
                        "ip_dst=10.0.0.10", "nw_proto=6", "tcp_dst=80",
                        "load:0x1->NXM_NX_REG10[14]", "load:0xa000001->NXM_NX_REG4[]",
                        "load:0x50->NXM_NX_REG8[0..15]"), idle_timeout=60, delete_learned=True),
    O.Learn(76, 32768, ("OXM_OF_METADATA[]", "eth_type=0x86dd",
                        "NXM_NX_IPV6_SRC[]=NXM_NX_IPV6_DST[]",
                        "ipv6_dst=fd00::5", "load:0x1->NXM_NX_REG10[3]"),
            idle_timeout=20, hard_timeout=30, delete_learned=True),
    Output(5),
]


def _needs(a: O.Action) -> int:
    """The Ethernet type a test flow must match for the switch to accept 'a'."""
    s = str(a).lower()
    if "arp_spa" in s:
        return 0x806
    if "86dd" in s or "fd00::" in s:
        return 0x86DD
    return 0x800


@needs_ofctl
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: str(a)[:40])
def test_action_decodes_to_its_ofctl_spelling(action: O.Action) -> None:
    assert decoded_actions((action,), _needs(action)) == str(action)


@needs_ofctl
def test_controller_nested_actions_travel_in_userdata() -> None:
    a = O.Controller(0x3, b"", (O.SetField("reg0", 1, FULL32), O.Resubmit(9)), True)
    got = decoded_actions((a,))
    nested = encode_actions((O.SetField("reg0", 1, FULL32), O.Resubmit(9)))
    ud = ".".join(f"{b:02x}" for b in a.userdata_prefix() + nested)
    assert got == f"controller(userdata={ud},pause)"


@needs_ofctl
def test_empty_action_list_is_drop() -> None:
    assert decoded_actions(()) == "drop"


@needs_ofctl
@pytest.mark.parametrize("fields,text", [
    ([("reg3", 5, 0xFF)], "reg3=0x5/0xff"),
    ([("ct_state", 0x21, 0x21)], "ct_state=+new+trk"),
    ([("ct_zone", 7, 0xFFFF)], "ct_zone=7"),
    ([("ct_mark", 2, 2)], "ct_mark=0x2/0x2"),
    ([("ct_label", 1 << 127, 1 << 127)],
     "ct_label=0x80000000000000000000000000000000/0x80000000000000000000000000000000"),
    ([("conj_id", 9, FULL32)], "conj_id=9"),
    ([("metadata", 7, (1 << 64) - 1)], "metadata=0x7"),
    ([("tun_id", 5, 0xFFFF)], "tun_id=0x5/0xffff"),
    ([("pkt_mark", 5, FULL32)], "pkt_mark=0x5"),
    ([("in_port", 3, FULL32)], "in_port=3"),
    ([("dl_dst", 1 << 40, 1 << 40)], "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"),
    ([("dl_type", 0x800, 0xFFFF), ("nw_src", 0x0A000000, 0xFFFFFF00)], "ip,nw_src=10.0.0.0/24"),
    ([("dl_type", 0x86DD, 0xFFFF), ("nw_proto", 58, 0xFF), ("icmpv6_type", 135, 0xFF),
      ("nd_target", 1, (1 << 128) - 1)], "icmp6,icmp_type=135,nd_target=::1"),
    ([("dl_type", 0x800, 0xFFFF), ("nw_proto", 6, 0xFF), ("tcp_dst", 0x400, 0xFC00)],
     "tcp,tp_dst=0x400/0xfc00"),
])
def test_match_field_decodes(fields: list[tuple[str, int, int]], text: str) -> None:
    m = O.Match()
    for f in fields:
        m.add(*f)
    out = ofp_print(M.flow_add(1, O.Flow(0, 5, m, ())))
    assert f"priority=5,{text} actions=drop" in out, out


@needs_ofctl
def test_tun_metadata_match_uses_tlv_length() -> None:
    m = O.Match({"tun_metadata0": (0x1234, FULL32)})
    out = ofp_print(M.flow_add(1, O.Flow(0, 5, m, ())))
    assert "tun_metadata0=0x1234" in out


@needs_ofctl
def test_fields_are_emitted_in_prerequisite_order() -> None:
    m = O.Match()
    m.add("tcp_dst", 80, 0xFFFF)  # inserted before its prerequisites
    m.add("nw_proto", 6, 0xFF)
    m.add("dl_type", 0x800, 0xFFFF)
    assert "tcp,tp_dst=80" in ofp_print(M.flow_add(1, O.Flow(0, 5, m, ())))


@needs_ofctl
@pytest.mark.parametrize("msg,text", [
    (M.hello(1), "OFPT_HELLO (OF1.5)"),
    (M.barrier_request(2), "OFPT_BARRIER_REQUEST (OF1.5)"),
    (M.echo_request(3, b"x"), "OFPT_ECHO_REQUEST (OF1.5)"),
    (M.features_request(4), "OFPT_FEATURES_REQUEST (OF1.5)"),
    (M.bundle_control(5, 9, M.OFPBCT_OPEN_REQUEST),
     "bundle_id=0x9 type=OPEN_REQUEST flags=atomic ordered"),
    (M.bundle_control(5, 9, M.OFPBCT_COMMIT_REQUEST), "type=COMMIT_REQUEST"),
    (M.bundle_add(6, 9, M.flow_delete(77)), "bundle_id=0x9 flags=atomic ordered"),
    (M.flow_delete(7, 4, None, cookie=0x10, cookie_mask=0xFFFF),
     "DEL table:4 priority=0 cookie:0x10/0xffff"),
    (M.flow_delete(7, 4, _ip_match(), priority=9, strict=True),
     "DEL_STRICT table:4 priority=9,tcp"),
    (M.flow_modify(8, O.Flow(4, 9, _ip_match(), (O.Resubmit(5),), cookie=3), strict=False),
     "MOD table:4 priority=9,tcp actions=resubmit(,5)"),
    (M.meter_mod(9, M.OFPMC13_ADD, 4, M.OFPMF13_PKTPS | M.OFPMF13_BURST, [(100, 200)]),
     "ADD meter=4 pktps burst bands="),
    (M.group_mod(10, M.OFPGC15_ADD, 3, M.OFPGT_SELECT,
                 [M.Bucket((O.Resubmit(9),), 0, weight=100)], "dp_hash", 1 << 32),
     "group_id=3,type=select,selection_method=dp_hash,selection_method_param=4294967296,"
     "bucket=bucket_id:0,weight:100,actions=resubmit(,9)"),
    (M.tlv_table_mod(11, M.NXTTMC_ADD, [M.OVN_GENEVE_TLV]),
     "0x102  0x80       4  tun_metadata0"),
    (M.set_packet_in_format(12), "format=nxt_packet_in2"),
    (M.set_async(13), "OFPT_SET_ASYNC (OF1.5)"),
    (M.packet_out(14, b"\xff" * 14 + b"\x08\x00" + b"\0" * 46, (O.Resubmit(0),)),
     "in_port=CONTROLLER actions=resubmit(,0)"),
])
def test_message_decodes(msg: bytes, text: str) -> None:
    out = ofp_print(msg)
    assert "decode error" not in out and text in out, out


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: oxm.encode_match(O.Match({"no_such_field": (1, 1)})),
    lambda: oxm.encode_match(O.Match({"in_port": (1, 0xFF)})),  # in_port is not maskable
    lambda: oxm.encode_match(O.Match({"nw_proto": (1 << 9, 0xFFFF)})),
    lambda: oxm.encode_match(O.Match({"tun_metadata5": (1, FULL32)})),  # unmapped
    lambda: encode_actions((O.Conjunction(1, 3, 2),)),
    lambda: encode_actions((O.Conjunction(1, 1, 1),)),
    lambda: encode_actions((O.Move(O.SubField("reg0", 0, 16), O.SubField("reg1", 0, 8)),)),
    lambda: encode_actions((O.CT(zone=O.SubField("reg13", 0, 8)),)),
    lambda: encode_actions((O.CheckPktLarger(10, O.SubField("reg10", 0, 2)),)),
    lambda: encode_actions((O.CT(nat=O.NAT("sideways")),)),
    lambda: encode_actions((O.CT(nat=O.NAT("src", "10.0.0.1", "fd00::1")),)),
    lambda: encode_actions((O.SetField("reg0", 1 << 40, FULL32),)),
    lambda: encode_actions((O.Action(),)),
    lambda: encode_spec("load:0x1"),
    lambda: encode_spec("load:0x10->NXM_NX_REG10[3]"),  # value wider than the bit
    lambda: encode_spec("NXM_NX_REG1[0..7]=NXM_NX_REG2[]"),
    lambda: encode_spec("bogus_field=1"),
    lambda: encode_spec("ip_dst=not-an-ip"),
    lambda: parse_subfield("NXM_NX_REG1[40]"),
    lambda: parse_subfield("NXM_NX_REG1[5..2]"),
    lambda: parse_subfield("reg1"),
    lambda: M.flow_mod(1, 0, 300, 1, O.Match()),
    lambda: M.flow_add(1, O.Flow(0, 1, O.Match(), tuple(O.Note(b"x" * 200)
                                                        for _ in range(400)))),
    lambda: M.tlv_table_mod(1, M.NXTTMC_ADD, [M.TlvMap(0x102, 0x80, 3, 0)]),
    lambda: M.group_mod(1, 0, 1, selection_method="x" * 20),
    lambda: parse_header(b"\x06\x00\x00"),
    lambda: parse_header(b"\x06\x00\x00\x04\x00\x00\x00\x01"),
])
def test_unrepresentable_input_raises(make: object) -> None:
    with pytest.raises(OpenFlowError):
        make()  # type: ignore[operator]


# --- decoding ------------------------------------------------------------------------


def _pin2(props: bytes) -> bytes:
    body = struct.pack("!II", 0x2320, 30) + props
    return struct.pack("!BBHI", 6, 4, 8 + len(body), 42) + body


def _prop(t: int, data: bytes) -> bytes:
    n = 4 + len(data)
    return struct.pack("!HH", t, n) + data + b"\0" * (-n % 8)


def test_packet_in2_decodes_every_property() -> None:
    pkt = bytes(range(60))
    md = struct.pack("!I", oxm.FIELD_SPECS["reg3"].header()) + (7).to_bytes(4, "big")
    msg = _pin2(_prop(0, pkt) + _prop(3, b"\x05") + _prop(4, (9).to_bytes(8, "big")) +
                _prop(5, b"\x01") + _prop(6, md) + _prop(7, b"\xaa\xbb") +
                _prop(8, b"\0" * 4 + _prop(0x8000, b"opaque")))
    pin = M.decode_packet_in2(msg)
    assert (pin.xid, pin.packet, pin.table_id, pin.cookie, pin.reason) == (42, pkt, 5, 9, 1)
    assert pin.metadata == {"reg3": (7, FULL32)}
    assert pin.userdata == b"\xaa\xbb"
    assert pin.continuation is not None and b"opaque" in pin.continuation


def test_resume_sends_back_properties_without_userdata() -> None:
    cont = b"\0" * 4 + _prop(0x8000, b"state")
    pin = M.decode_packet_in2(_pin2(_prop(0, b"p" * 20) + _prop(7, b"ud") + _prop(8, cont)))
    body = M.resume(5, pin, packet=b"q" * 30)
    h = parse_header(body)
    assert (h.type, h.xid, h.length) == (4, 5, len(body))
    assert struct.unpack_from("!II", body, 8) == (0x2320, 28)
    props = M._props(body[16:])
    assert [t for t, _, _ in props] == [0, 8]
    assert props[0][1] == b"q" * 30 and props[1][1] == cont


def test_resume_refuses_packet_in_without_continuation() -> None:
    pin = M.decode_packet_in2(_pin2(_prop(0, b"p" * 20)))
    with pytest.raises(OpenFlowError):
        M.resume(1, pin)


@pytest.mark.parametrize("msg", [
    _pin2(_prop(3, b"\x05")),  # no packet
    _pin2(struct.pack("!HH", 0, 200) + b"x" * 8),  # property overruns message
    struct.pack("!BBHI", 6, 4, 16, 1) + struct.pack("!II", 0x2320, 17),  # other subtype
    struct.pack("!BBHI", 6, 0, 8, 1),  # not experimenter
])
def test_malformed_packet_in2_raises(msg: bytes) -> None:
    with pytest.raises(OpenFlowError):
        M.decode_packet_in2(msg)


def test_error_and_features_decode() -> None:
    err = M.decode_error(struct.pack("!BBHIHH", 6, 1, 16, 9, 5, 2) + b"abcd")
    assert (err.xid, err.type, err.code, err.data) == (9, 5, 2, b"abcd")
    assert "OFPET_FLOW_MOD_FAILED" in str(err)
    f = M.decode_features_reply(struct.pack("!BBHIQIBB2xII", 6, 6, 32, 1, 0xABC, 0, 254, 0,
                                            7, 0))
    assert (f.datapath_id, f.n_tables, f.capabilities) == (0xABC, 254, 7)
    with pytest.raises(OpenFlowError):
        M.decode_error(M.barrier_request(1))
    with pytest.raises(OpenFlowError):
        M.decode_features_reply(M.barrier_request(1))


def test_hello_versions_from_bitmap_or_header() -> None:
    assert M.decode_hello_versions(M.hello(1)) == {6}
    assert M.decode_hello_versions(struct.pack("!BBHI", 4, 0, 8, 1)) == {4}
    bitmap = struct.pack("!BBHIHHI", 6, 0, 16, 1, 1, 8, 0b1010010)
    assert M.decode_hello_versions(bitmap) == {1, 4, 6}


def test_bundle_add_rewrites_inner_xid() -> None:
    wrapped = M.bundle_add(77, 3, M.barrier_request(5))
    assert parse_header(wrapped).xid == 77
    assert parse_header(wrapped[16:]).xid == 77


def test_xids_skip_zero_when_wrapping() -> None:
    x = XidAllocator(0xFFFFFFFF)
    assert [x(), x(), x()] == [0xFFFFFFFF, 1, 2]


def test_encoder_with_wider_tlv_mapping() -> None:
    enc = ActionEncoder({0: 8})
    a = enc.encode((O.SetField("tun_metadata0", 1, (1 << 64) - 1),))
    assert len(a) == 16 and a[4:8] == struct.pack("!I", (1 << 16) | (40 << 9) | 8)
