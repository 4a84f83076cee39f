"""put_dhcpv6_opts: a client's SOLICIT / REQUEST / CONFIRM / DECLINE / INFORMATION-REQUEST
becomes the server's ADVERTISE or REPLY, carrying the client's identifier and the options
of the logical flow (ovn-controller's pinctrl_handle_put_dhcpv6_opts).  The UDP ports and
addresses stay the request's: the logical flow that sends the reply rewrites them."""

from __future__ import annotations

import struct

from pyovn.controller.pinctrl_pkt import (
    IPPROTO_UDP,
    Result,
    l4_csum,
    parse_frame,
    resumed,
    split_result,
)
from pyovn.openflow.messages import PacketIn2

SOLICIT, ADVERTISE, REQUEST, CONFIRM, REPLY, DECLINE, INFO_REQ = 1, 2, 3, 4, 7, 9, 11
_REPLY_TO = {SOLICIT: ADVERTISE, REQUEST: REPLY, CONFIRM: REPLY, DECLINE: REPLY,
             INFO_REQ: REPLY}
OPT_CLIENT_ID, OPT_SERVER_ID, OPT_IA_NA, OPT_IA_ADDR = 1, 2, 3, 5
OPT_DNS_SERVER, OPT_DOMAIN_SEARCH = 23, 24
DUID_LL, HW_TYPE_ETH = 3, 1
INFINITY = 0xFFFFFFFF


def _opt(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


def compose_options(userdata: bytes, iaid: bytes | None) -> bytes | None:
    """The reply's options from the flow's (code, length, value) list; None if the list
    is malformed.  server_id becomes a DUID-LL, ia_addr an IA_NA holding it (left out
    for an information request), domain_search one length-prefixed label as OVN encodes
    it; other options are copied as they are."""
    out = b""
    pos = 0
    while pos < len(userdata):
        if pos + 4 > len(userdata):
            return None
        code, size = struct.unpack_from("!HH", userdata, pos)
        pos += 4
        data = userdata[pos:pos + size]
        if len(data) != size:
            return None
        pos += size
        if code == OPT_SERVER_ID:
            if size != 6:
                return None
            out += _opt(OPT_SERVER_ID, struct.pack("!HH", DUID_LL, HW_TYPE_ETH) + data)
        elif code == OPT_IA_ADDR:
            if size != 16:
                return None
            if iaid is None:
                continue
            ia_addr = _opt(OPT_IA_ADDR, data + struct.pack("!II", INFINITY, INFINITY))
            out += _opt(OPT_IA_NA, iaid + struct.pack("!II", INFINITY, INFINITY) + ia_addr)
        elif code == OPT_DOMAIN_SEARCH:
            if size > 255:
                return None
            out += _opt(OPT_DOMAIN_SEARCH, bytes([size]) + data + b"\0")
        else:
            out += _opt(code, data)
    return out


def put_dhcpv6_opts(pin: PacketIn2) -> Result:
    where, opts = split_result(pin)
    if where is None:
        return Result()
    return resumed(pin, where, _reply(pin.packet, opts) if opts else None)


def _reply(packet: bytes, opts: bytes) -> bytes | None:
    f = parse_frame(packet)
    if f is None or not f.is_ipv6 or f.proto != IPPROTO_UDP:
        return None
    udp = f.l4_data
    if len(udp) < 12:
        return None
    (udp_len,) = struct.unpack_from("!H", udp, 4)
    end = min(len(udp), udp_len)
    reply_type = _REPLY_TO.get(udp[8])
    if reply_type is None or end < 12:
        return None
    iaid: bytes | None = None
    client_id: bytes | None = None
    pos = 12
    while pos + 4 <= end:
        code, size = struct.unpack_from("!HH", udp, pos)
        if pos + 4 + size > end:
            return None
        if code == OPT_IA_NA and size >= 4:
            iaid = udp[pos + 4:pos + 8]
        elif code == OPT_CLIENT_ID:
            client_id = udp[pos:pos + 4 + size]
        pos += 4 + size
    if client_id is None or (iaid is None and udp[8] != INFO_REQ):
        return None
    out_opts = compose_options(opts, iaid)
    if out_opts is None:
        return None
    body = bytes([reply_type]) + udp[9:12] + client_id + out_opts
    if 8 + len(body) > 0xFFFF - (f.l4 - f.l3 - 40):
        return None
    seg = bytearray(udp[0:4] + struct.pack("!HH", 8 + len(body), 0) + body)
    c = l4_csum(True, f.src, f.dst, IPPROTO_UDP, bytes(seg))
    struct.pack_into("!H", seg, 6, c or 0xFFFF)
    head = bytearray(packet[:f.l4])
    struct.pack_into("!H", head, f.l3 + 4, f.l4 - f.l3 - 40 + len(seg))
    return bytes(head) + bytes(seg)
