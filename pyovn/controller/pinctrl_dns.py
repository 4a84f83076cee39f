"""dns_lookup: answers an A / AAAA / ANY query from the SB DNS table's records for the
packet's datapath, turning the query into the response in place (ovn-controller's
pinctrl_handle_dns_lookup): QR set, one answer per address, TTL one hour."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyovn.controller.model import SbState
from pyovn.controller.pinctrl_pkt import (
    IPPROTO_UDP,
    Result,
    csum,
    l4_csum,
    parse_frame,
    resumed,
    split_result,
)
from pyovn.openflow.messages import PacketIn2

QTYPE_A, QTYPE_AAAA, QTYPE_ANY = 1, 28, 255
CLASS_IN = 1
DEFAULT_RR_TTL = 3600


@dataclass(frozen=True)
class DnsRecords:
    """One SB DNS row: the datapath keys it serves and its name -> addresses records."""

    datapaths: frozenset[int]
    records: Mapping[str, str]


def dns_records(rows: Iterable[Any], sb: SbState) -> list[DnsRecords]:
    """DnsRecords from replicated SB DNS rows (those with external_ids:dns_id, as
    ovn-controller's sync_dns_cache keeps), datapaths resolved to tunnel keys."""
    out = []
    for r in rows:
        if "dns_id" not in dict(r.raw("external_ids")):
            continue
        keys = frozenset(sb.datapaths[u].key for u in r.raw("datapaths") if u in sb.datapaths)
        out.append(DnsRecords(keys, dict(r.raw("records"))))
    return out


def dns_lookup(pin: PacketIn2, dns: Sequence[DnsRecords]) -> Result:
    where, _rest = split_result(pin)
    if where is None:
        return Result()
    dp_key = pin.metadata.get("metadata", (0, 0))[0]
    return resumed(pin, where, _answer(pin.packet, dp_key, dns))


def _lookup(dns: Sequence[DnsRecords], dp_key: int, name: str) -> str | None:
    for d in dns:
        if dp_key in d.datapaths:
            ips = d.records.get(name.lower())
            if ips:
                return ips
    return None


def _answer(packet: bytes, dp_key: int, dns: Sequence[DnsRecords]) -> bytes | None:
    f = parse_frame(packet)
    if f is None or not (f.is_ipv4 or f.is_ipv6) or f.proto != IPPROTO_UDP:
        return None
    udp = f.l4_data
    if len(udp) < 8 + 12:
        return None
    (udp_len,) = struct.unpack_from("!H", udp, 4)
    end = min(len(udp), udp_len)
    if end < 8 + 12:
        return None
    flags, qdcount = udp[10], struct.unpack_from("!H", udp, 12)[0]
    if flags & 0x80 or qdcount == 0:
        return None  # a response, or no question
    q = 8 + 12
    labels = []
    i = q
    while i < end and udp[i]:
        n = udp[i]
        if n & 0xC0 or i + 1 + n > end:
            return None  # compression pointers cannot appear in a lone question
        labels.append(udp[i + 1:i + 1 + n].decode("latin-1"))
        i += 1 + n
    if i >= end:
        return None
    qname = udp[q:i + 1]
    if i + 1 + 4 > end:
        return None
    (qtype,) = struct.unpack_from("!H", udp, i + 1)
    if qtype not in (QTYPE_A, QTYPE_AAAA, QTYPE_ANY):
        return None
    ips = _lookup(dns, dp_key, ".".join(labels))
    if ips is None:
        return None
    answers = b""
    count = 0
    for tok in ips.split():
        try:
            addr = ipaddress.ip_address(tok.split("/")[0])
        except ValueError:
            continue
        rtype = QTYPE_A if addr.version == 4 else QTYPE_AAAA
        if qtype not in (rtype, QTYPE_ANY):
            continue
        raw = addr.packed
        answers += qname + struct.pack("!HHIH", rtype, CLASS_IN, DEFAULT_RR_TTL, len(raw)) + raw
        count += 1
    if not count:
        return None
    new_len = end + len(answers)
    if new_len + (f.l4 - f.l3) > 0xFFFF:
        return None
    dns_msg = bytearray(udp[8:end])
    dns_msg[2] |= 0x80
    struct.pack_into("!H", dns_msg, 6, count)
    seg = bytearray(udp[0:4] + struct.pack("!HH", new_len, 0) + bytes(dns_msg) + answers)
    head = bytearray(packet[:f.l4])
    if f.is_ipv4:
        struct.pack_into("!H", head, f.l3 + 2, f.l4 - f.l3 + new_len)
        struct.pack_into("!H", head, f.l3 + 10, 0)
        ihl = f.l4 - f.l3
        struct.pack_into("!H", head, f.l3 + 10, csum(bytes(head[f.l3:f.l3 + ihl])))
    else:
        struct.pack_into("!H", head, f.l3 + 4, f.l4 - f.l3 - 40 + new_len)
        c = l4_csum(True, f.src, f.dst, IPPROTO_UDP, bytes(seg))
        struct.pack_into("!H", seg, 6, c or 0xFFFF)
    return bytes(head) + bytes(seg)
