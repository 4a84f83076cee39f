"""Packet-in handlers and conntrack zone allocation, without a switch."""

from __future__ import annotations

import struct

from pyovn.controller import ct_zones as Z
from pyovn.controller import pinctrl_handlers as H
from pyovn.logical import actions_encode as AE
from pyovn.openflow.messages import PacketIn2
from tests.controller.topo import two_chassis_switch, uid

MAC = bytes.fromhex("000000000001")


def _pin(packet: bytes, userdata: bytes, **md: int) -> PacketIn2:
    return PacketIn2(1, packet, userdata=userdata,
                     metadata={k: (v, 0xFFFFFFFF) for k, v in md.items()},
                     continuation=b"x")


def _dhcp_discover() -> bytes:
    bootp = bytearray(240)
    bootp[0] = 1
    bootp[28:34] = MAC
    bootp[236:240] = H.DHCP_MAGIC
    body = bytes(bootp) + bytes([53, 1, 1, 255])
    udp = struct.pack("!HHHH", 68, 67, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     b"\0" * 4, b"\xff" * 4)
    return b"\xff" * 6 + MAC + b"\x08\x00" + ip + udp


def test_put_arp_records_the_senders_mac_for_the_port() -> None:
    _local, sb = two_chassis_switch()
    arp = b"\xff" * 6 + MAC + b"\x08\x06" + b"\0" * 28
    res = H.dispatch(AE.OP_PUT_ARP, _pin(arp, b"\0" * 8, metadata=1, reg14=2, reg0=0x0A000002),
                     sb, None)  # type: ignore[arg-type]
    assert res.mac_bindings == [H.MacBindingUpdate("vm2", "10.0.0.2", "00:00:00:00:00:01",
                                                   uid("sw0"))]


def test_put_arp_on_unknown_port_writes_nothing() -> None:
    _local, sb = two_chassis_switch()
    res = H.dispatch(AE.OP_PUT_ARP, _pin(b"\0" * 60, b"\0" * 8, metadata=9, reg14=2), sb,
                     None)  # type: ignore[arg-type]
    assert res.mac_bindings == []


def test_dhcp_discover_gets_an_offer_with_the_address_and_options() -> None:
    opts = bytes([51, 4]) + struct.pack("!I", 3600) + bytes([3, 4, 10, 0, 0, 254])
    ud = struct.pack("!I4x", AE.OP_PUT_DHCP_OPTS) + struct.pack("!II", 0, 99) + \
        bytes([10, 0, 0, 11]) + opts
    res = H.put_dhcp_opts(_pin(_dhcp_discover(), ud, reg0=0))
    assert res.resume_metadata is not None and res.resume_metadata["reg0"][0] == 1 << 3
    out = res.resume_packet
    assert out is not None
    bootp = out[14 + 20 + 8:]
    assert bootp[0] == 2 and bootp[16:20] == bytes([10, 0, 0, 11])
    assert bytes([53, 1, H.DHCPOFFER]) in bootp[240:] and opts in bootp[240:]
    assert out[14 + 16:14 + 20] == bytes([10, 0, 0, 11])


def test_dhcp_handler_clears_the_result_bit_on_garbage() -> None:
    ud = struct.pack("!I4x", AE.OP_PUT_DHCP_OPTS) + struct.pack("!II", 0, 3) + b"\0" * 4
    res = H.put_dhcp_opts(_pin(b"\x01\x02", ud, reg0=0xF))
    assert res.resume_packet is None
    assert res.resume_metadata is not None and res.resume_metadata["reg0"][0] == 0x7


def test_short_userdata_is_ignored() -> None:
    assert H.put_dhcp_opts(_pin(_dhcp_discover(), b"\0" * 9)).resume_metadata is None


def test_zones_keep_old_numbers_and_fill_the_lowest_free() -> None:
    z = Z.assign_zones({"a", "b", "c"}, {"b": 1, "gone": 2})
    assert z == {"b": 1, "a": 2, "c": 3}


def test_zones_from_external_ids_ignore_bad_values() -> None:
    ext = {"ct-zone-vm1": "5", "ct-zone-x": "nope", "ct-zone-y": "70000", "other": "1"}
    assert Z.zones_from_external_ids(ext) == {"vm1": 5}
