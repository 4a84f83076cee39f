"""OXM/NXM match fields: the wire identity of every field pyovn matches or writes, and the
encoding of a neutral `Match` into an OpenFlow 1.5 `ofp_match`.

Header layout (OpenFlow 1.2+): class(16) | field(7) | hasmask(1) | length(8).  Fields are
emitted in prerequisite order (Ethernet type before IP fields before L4 fields), because
Open vSwitch checks each field's prerequisites against the fields already read."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pyovn.logical.ofrep import Match
from pyovn.openflow.protocol import OpenFlowError

OFPXMC_NXM_0: Final = 0x0000
OFPXMC_NXM_1: Final = 0x0001
OFPXMC_OPENFLOW_BASIC: Final = 0x8000
OFPXMC_PACKET_REGS: Final = 0x8001
OFPMT_OXM: Final = 1

# How many bytes of a Geneve option OVN maps to tun_metadataN (ovn-controller maps
# class 0x0102 type 0x80, 4 bytes, to tun_metadata0).
DEFAULT_TLV_LEN: Final[Mapping[int, int]] = {0: 4}


@dataclass(frozen=True)
class FieldSpec:
    """One field: its name (ovs-ofctl's), NXM/OXM class and number, width in bytes, and
    whether the switch accepts a mask on it.  'order' sorts by prerequisite."""

    name: str
    oxm_class: int
    field: int
    nbytes: int
    maskable: bool = True
    order: int = 0
    nbits: int = 0  # significant bits when smaller than nbytes*8

    def header(self, masked: bool = False, nbytes: int | None = None) -> int:
        n = self.nbytes if nbytes is None else nbytes
        if masked:
            return (self.oxm_class << 16) | (self.field << 9) | 0x100 | (2 * n)
        return (self.oxm_class << 16) | (self.field << 9) | n

    @property
    def width(self) -> int:
        return self.nbits or self.nbytes * 8


def _b(name: str, field: int, nbytes: int, maskable: bool = True, order: int = 0,
       nbits: int = 0) -> FieldSpec:
    return FieldSpec(name, OFPXMC_OPENFLOW_BASIC, field, nbytes, maskable, order, nbits)


def _n0(name: str, field: int, nbytes: int, maskable: bool = True, order: int = 0,
        nbits: int = 0) -> FieldSpec:
    return FieldSpec(name, OFPXMC_NXM_0, field, nbytes, maskable, order, nbits)


def _n1(name: str, field: int, nbytes: int, maskable: bool = True, order: int = 0,
        nbits: int = 0) -> FieldSpec:
    return FieldSpec(name, OFPXMC_NXM_1, field, nbytes, maskable, order, nbits)


# Order classes: 0 no prerequisite, 1 Ethernet type, 2 needs dl_type (L3, ARP),
# 3 needs nw_proto (L4, ICMP), 4 needs an ICMPv6 type (ND).
_SPECS: list[FieldSpec] = [
    _b("in_port", 0, 4, maskable=False),
    _b("metadata", 2, 8),
    _b("dl_dst", 3, 6),
    _b("dl_src", 4, 6),
    _b("dl_type", 5, 2, maskable=False, order=1),
    _n0("vlan_tci", 4, 2, order=1),
    _b("ip_dscp", 8, 1, maskable=False, order=2, nbits=6),
    _b("nw_ecn", 9, 1, maskable=False, order=2, nbits=2),
    _b("nw_proto", 10, 1, maskable=False, order=2),
    _b("nw_src", 11, 4, order=2),
    _b("nw_dst", 12, 4, order=2),
    _b("tcp_src", 13, 2, order=3),
    _b("tcp_dst", 14, 2, order=3),
    _b("udp_src", 15, 2, order=3),
    _b("udp_dst", 16, 2, order=3),
    _b("sctp_src", 17, 2, order=3),
    _b("sctp_dst", 18, 2, order=3),
    _b("icmp_type", 19, 1, maskable=False, order=3),
    _b("icmp_code", 20, 1, maskable=False, order=3),
    _b("arp_op", 21, 2, maskable=False, order=2),
    _b("arp_spa", 22, 4, order=2),
    _b("arp_tpa", 23, 4, order=2),
    _b("arp_sha", 24, 6, order=2),
    _b("arp_tha", 25, 6, order=2),
    _b("ipv6_src", 26, 16, order=2),
    _b("ipv6_dst", 27, 16, order=2),
    _b("ipv6_label", 28, 4, order=2, nbits=20),
    _b("icmpv6_type", 29, 1, maskable=False, order=3),
    _b("icmpv6_code", 30, 1, maskable=False, order=3),
    _b("nd_target", 31, 16, order=4),
    _b("nd_sll", 32, 6, order=4),
    _b("nd_tll", 33, 6, order=4),
    _n1("tun_id", 16, 8),
    _n1("nw_frag", 26, 1, order=2, nbits=2),
    _n1("nw_ttl", 29, 1, maskable=False, order=2),
    _n1("tun_src", 31, 4),
    _n1("tun_dst", 32, 4),
    _n1("pkt_mark", 33, 4),
    _n1("tcp_flags", 34, 2, order=3, nbits=12),
    _n1("dp_hash", 35, 4),
    _n1("recirc_id", 36, 4, maskable=False),
    _n1("conj_id", 37, 4, maskable=False),
    _n1("ct_state", 105, 4),
    _n1("ct_zone", 106, 2, maskable=False),
    _n1("ct_mark", 107, 4),
    _n1("ct_label", 108, 16),
    _n1("ct_nw_proto", 113, 1, maskable=False, order=2),
    _n1("ct_nw_src", 114, 4, order=2),
    _n1("ct_nw_dst", 115, 4, order=2),
    _n1("ct_ipv6_src", 116, 16, order=2),
    _n1("ct_ipv6_dst", 117, 16, order=2),
    _n1("ct_tp_src", 118, 2, order=3),
    _n1("ct_tp_dst", 119, 2, order=3),
]
_SPECS += [_n1(f"reg{i}", i, 4) for i in range(16)]
_SPECS += [FieldSpec(f"xreg{i}", OFPXMC_PACKET_REGS, i, 8) for i in range(8)]
_SPECS += [_n1(f"xxreg{i}", 111 + i, 16) for i in range(4)]
_SPECS += [_n1(f"tun_metadata{i}", 40 + i, 124) for i in range(64)]

FIELD_SPECS: Final[dict[str, FieldSpec]] = {s.name: s for s in _SPECS}

# Other spellings ovs-ofctl accepts (NXM/OXM names and aliases) -> canonical name.
ALIASES: Final[dict[str, str]] = {
    "eth_src": "dl_src", "eth_dst": "dl_dst", "eth_type": "dl_type", "ip_src": "nw_src",
    "ip_dst": "nw_dst", "ip_proto": "nw_proto", "ip_ttl": "nw_ttl", "ip_frag": "nw_frag",
    "ip_ecn": "nw_ecn", "tp_src": "tcp_src", "tp_dst": "tcp_dst",
    "icmpv4_type": "icmp_type", "icmpv4_code": "icmp_code", "tunnel_id": "tun_id",
    "NXM_OF_IN_PORT": "in_port", "OXM_OF_IN_PORT": "in_port", "OXM_OF_METADATA": "metadata",
    "NXM_OF_ETH_DST": "dl_dst", "NXM_OF_ETH_SRC": "dl_src", "NXM_OF_ETH_TYPE": "dl_type",
    "OXM_OF_ETH_DST": "dl_dst", "OXM_OF_ETH_SRC": "dl_src", "OXM_OF_ETH_TYPE": "dl_type",
    "NXM_OF_VLAN_TCI": "vlan_tci", "NXM_OF_IP_PROTO": "nw_proto", "OXM_OF_IP_PROTO": "nw_proto",
    "NXM_OF_IP_SRC": "nw_src", "NXM_OF_IP_DST": "nw_dst", "OXM_OF_IPV4_SRC": "nw_src",
    "OXM_OF_IPV4_DST": "nw_dst", "NXM_OF_TCP_SRC": "tcp_src", "NXM_OF_TCP_DST": "tcp_dst",
    "OXM_OF_TCP_SRC": "tcp_src", "OXM_OF_TCP_DST": "tcp_dst", "NXM_OF_UDP_SRC": "udp_src",
    "NXM_OF_UDP_DST": "udp_dst", "OXM_OF_UDP_SRC": "udp_src", "OXM_OF_UDP_DST": "udp_dst",
    "OXM_OF_SCTP_SRC": "sctp_src", "OXM_OF_SCTP_DST": "sctp_dst",
    "NXM_OF_ICMP_TYPE": "icmp_type", "NXM_OF_ICMP_CODE": "icmp_code",
    "NXM_OF_ARP_OP": "arp_op", "NXM_OF_ARP_SPA": "arp_spa", "NXM_OF_ARP_TPA": "arp_tpa",
    "NXM_NX_ARP_SHA": "arp_sha", "NXM_NX_ARP_THA": "arp_tha",
    "NXM_NX_IPV6_SRC": "ipv6_src", "NXM_NX_IPV6_DST": "ipv6_dst",
    "NXM_NX_IPV6_LABEL": "ipv6_label", "NXM_NX_ICMPV6_TYPE": "icmpv6_type",
    "NXM_NX_ICMPV6_CODE": "icmpv6_code", "NXM_NX_ND_TARGET": "nd_target",
    "NXM_NX_ND_SLL": "nd_sll", "NXM_NX_ND_TLL": "nd_tll", "NXM_NX_IP_FRAG": "nw_frag",
    "NXM_NX_IP_ECN": "nw_ecn", "NXM_NX_IP_TTL": "nw_ttl", "NXM_NX_TUN_ID": "tun_id",
    "NXM_NX_PKT_MARK": "pkt_mark", "NXM_NX_TCP_FLAGS": "tcp_flags", "NXM_NX_CONJ_ID": "conj_id",
    "NXM_NX_CT_STATE": "ct_state", "NXM_NX_CT_ZONE": "ct_zone", "NXM_NX_CT_MARK": "ct_mark",
    "NXM_NX_CT_LABEL": "ct_label", "NXM_NX_TUN_IPV4_SRC": "tun_src",
    "NXM_NX_TUN_IPV4_DST": "tun_dst", "NXM_NX_CT_NW_PROTO": "ct_nw_proto",
    "NXM_NX_CT_NW_SRC": "ct_nw_src", "NXM_NX_CT_NW_DST": "ct_nw_dst",
    "NXM_NX_CT_IPV6_SRC": "ct_ipv6_src", "NXM_NX_CT_IPV6_DST": "ct_ipv6_dst",
    "NXM_NX_CT_TP_SRC": "ct_tp_src", "NXM_NX_CT_TP_DST": "ct_tp_dst",
}
for _i in range(16):
    ALIASES[f"NXM_NX_REG{_i}"] = f"reg{_i}"
for _i in range(8):
    ALIASES[f"OXM_OF_PKT_REG{_i}"] = f"xreg{_i}"
for _i in range(4):
    ALIASES[f"NXM_NX_XXREG{_i}"] = f"xxreg{_i}"
for _i in range(64):
    ALIASES[f"NXM_NX_TUN_METADATA{_i}"] = f"tun_metadata{_i}"

# Fields whose ovs-ofctl value syntax is an address.
ADDR_FORMAT: Final[dict[str, str]] = {
    n: "mac" for n in ("dl_src", "dl_dst", "arp_sha", "arp_tha", "nd_sll", "nd_tll")}
ADDR_FORMAT.update({n: "ipv4" for n in ("nw_src", "nw_dst", "arp_spa", "arp_tpa", "tun_src",
                                         "tun_dst", "ct_nw_src", "ct_nw_dst")})
ADDR_FORMAT.update({n: "ipv6" for n in ("ipv6_src", "ipv6_dst", "nd_target", "ct_ipv6_src",
                                         "ct_ipv6_dst")})


def canonical(name: str) -> str:
    """The canonical field name for any spelling ovs-ofctl accepts."""
    if name in FIELD_SPECS:
        return name
    alias = ALIASES.get(name)
    if alias is None:
        raise OpenFlowError(f"unknown field {name!r}")
    return alias


def spec(name: str) -> FieldSpec:
    s = FIELD_SPECS.get(name)
    if s is None:
        s = FIELD_SPECS.get(ALIASES.get(name, ""))
        if s is None:
            raise OpenFlowError(f"unknown field {name!r}")
    return s


def field_nbytes(s: FieldSpec, tlv_len: Mapping[int, int] = DEFAULT_TLV_LEN) -> int:
    """The field's length on the wire; tun_metadataN is as long as its mapped option."""
    if s.name.startswith("tun_metadata"):
        idx = int(s.name[12:])
        n = tlv_len.get(idx)
        if n is None:
            raise OpenFlowError(f"{s.name} has no TLV mapping")
        return n
    return s.nbytes


def field_bits(name: str, tlv_len: Mapping[int, int] = DEFAULT_TLV_LEN) -> int:
    s = spec(name)
    if s.name.startswith("tun_metadata"):
        return field_nbytes(s, tlv_len) * 8
    return s.width


def parse_value(name: str, text: str) -> int:
    """An ovs-ofctl value: decimal, 0x hex, or an address for address fields."""
    fmt = ADDR_FORMAT.get(canonical(name))
    try:
        if fmt == "mac" and ":" in text:
            return int(text.replace(":", ""), 16)
        if fmt in ("ipv4", "ipv6") and not text.startswith("0x"):
            return int(ipaddress.ip_address(text))
        return int(text, 0)
    except ValueError as e:
        raise OpenFlowError(f"bad value {text!r} for {name}") from e


def encode_field(s: FieldSpec, value: int, mask: int | None, nbytes: int) -> bytes:
    """One OXM TLV.  A mask of all ones is sent as an exact match."""
    full = (1 << (8 * nbytes)) - 1
    if mask is not None and (mask & full) == full:
        mask = None
    if mask is not None and s.width < 8 * nbytes and mask == (1 << s.width) - 1:
        mask = None
    try:
        if mask is None:
            return struct.pack("!I", s.header(False, nbytes)) + value.to_bytes(nbytes, "big")
        if not s.maskable:
            raise OpenFlowError(f"field {s.name} cannot be masked")
        return (struct.pack("!I", s.header(True, nbytes)) +
                (value & mask).to_bytes(nbytes, "big") + mask.to_bytes(nbytes, "big"))
    except OverflowError as e:
        raise OpenFlowError(f"value {value:#x} does not fit field {s.name}") from e


def _encode_fields_generic(fields: Mapping[str, tuple[int, int]],
                           tlv_len: Mapping[int, int]) -> bytes:
    """Field by field through spec() and encode_field(): the reference behaviour, used for
    what the fast path does not cover (tun_metadataN, whose width depends on 'tlv_len';
    unknown names; anything that fails, so that errors read exactly as they always did)."""
    items = []
    for name, (value, mask) in fields.items():
        s = spec(name)
        items.append((s.order, s.name, s, value, mask))
    items.sort(key=lambda t: (t[0], t[1]))
    out = []
    for _, _, s, value, mask in items:
        out.append(encode_field(s, value, mask, field_nbytes(s, tlv_len)))
    return b"".join(out)


# --- fast path -----------------------------------------------------------------------
#
# ovn-controller's ~100,000 start-up flows are a few hundred match "shapes" (which fields,
# in which order) over values that mostly repeat: the datapath in metadata, dl_type,
# nw_proto, register bits; only one or two fields (an address from a set, a port) vary
# per flow.  So the fast path caches, per shape, the fields in wire order with their
# precomputed headers, and per field the encoded TLV of each recent (value, mask) pair.


class _Codec:
    """What encoding one field needs, computed once: its two wire headers, width, the
    masks that count as exact, and a cache of encoded TLVs by (value, mask)."""

    __slots__ = ("cache", "exact_hdr", "full", "maskable", "masked_hdr", "nbytes", "spec",
                 "width_mask")

    def __init__(self, s: FieldSpec) -> None:
        n = s.nbytes
        self.spec = s
        self.nbytes = n
        self.exact_hdr = struct.pack("!I", s.header(False, n))
        self.masked_hdr = struct.pack("!I", s.header(True, n))
        self.full = (1 << (8 * n)) - 1
        # A mask covering every significant bit of a narrower field is exact too; -1 can
        # never equal a mask that the first test has not already called exact.
        self.width_mask = (1 << s.width) - 1 if s.width < 8 * n else -1
        self.maskable = s.maskable
        self.cache: dict[tuple[int, int], bytes] = {}


_PlanItem = tuple[str, dict[tuple[int, int], bytes], _Codec]

# Rank of each name in the wire order (prerequisite order, then canonical name); an alias
# shares its field's codec and rank, and the sort being stable keeps ties (a field given
# under two spellings) in insertion order, as the generic path does.
_WIRE_ORDER: Final = sorted(_SPECS, key=lambda s: (s.order, s.name))
_RANK: Final[dict[str, int]] = {s.name: i for i, s in enumerate(_WIRE_ORDER)}
_CODECS: Final[dict[str, _Codec]] = {
    s.name: _Codec(s) for s in _SPECS if not s.name.startswith("tun_metadata")}
for _alias, _name in ALIASES.items():
    _RANK[_alias] = _RANK[_name]
    if _name in _CODECS:
        _CODECS[_alias] = _CODECS[_name]
_PLANS: dict[tuple[str, ...], tuple[_PlanItem, ...]] = {}
_GENERIC: set[tuple[str, ...]] = set()  # shapes the fast path leaves to the generic one
_PLANS_MAX: Final = 4096
_VALUES_MAX: Final = 2048
_MATCH_HDR: Final = struct.Struct("!HH")
_PADS: Final = tuple(b"\0" * (-n % 8) for n in range(8))


def _plan(names: tuple[str, ...]) -> tuple[_PlanItem, ...] | None:
    """The fields of a shape in wire order, or None for the generic path."""
    if len(_PLANS) + len(_GENERIC) >= _PLANS_MAX:
        _PLANS.clear()
        _GENERIC.clear()
    try:
        codecs = [(n, _CODECS[n]) for n in sorted(names, key=_RANK.__getitem__)]
    except KeyError:  # tun_metadataN or an unknown name
        _GENERIC.add(names)
        return None
    plan = _PLANS[names] = tuple((n, c.cache, c) for n, c in codecs)
    return plan


def fast_oxm_fields(fields: Mapping[str, tuple[int, int]]) -> bytes | None:
    """The OXM TLVs of a match's fields through the caches; None, or an exception, when
    encode_oxm_fields() must do it (which raises the usual error for bad input)."""
    names = tuple(fields)
    plan = _PLANS.get(names)
    if plan is None:
        if names in _GENERIC:
            return None
        plan = _plan(names)
        if plan is None:
            return None
    out = []
    for name, cache, c in plan:
        vm = fields[name]
        b = cache.get(vm)
        if b is None:
            # The same tests and operations as encode_field(), so the same bytes; a value
            # or mask that does not fit raises here and the caller falls back.
            value, mask = vm
            n = c.nbytes
            if mask & c.full == c.full or mask == c.width_mask:
                b = c.exact_hdr + value.to_bytes(n, "big")
            elif c.maskable:
                b = c.masked_hdr + (value & mask).to_bytes(n, "big") + mask.to_bytes(n, "big")
            else:
                return None
            if len(cache) >= _VALUES_MAX:
                cache.clear()
            cache[vm] = b
        out.append(b)
    return b"".join(out)


def encode_oxm_fields(match: Match, tlv_len: Mapping[int, int] = DEFAULT_TLV_LEN) -> bytes:
    fields = match.fields
    try:
        data = fast_oxm_fields(fields)
    except Exception:  # bad input: let the generic path raise its usual error
        data = None
    return _encode_fields_generic(fields, tlv_len) if data is None else data


def encode_match(match: Match, tlv_len: Mapping[int, int] = DEFAULT_TLV_LEN) -> bytes:
    """struct ofp_match with OXM fields, padded to a multiple of 8 bytes."""
    fields = encode_oxm_fields(match, tlv_len)
    length = 4 + len(fields)
    return _MATCH_HDR.pack(OFPMT_OXM, length) + fields + _PADS[length & 7]


def nxm_header(name: str, tlv_len: Mapping[int, int] = DEFAULT_TLV_LEN) -> int:
    """The 32-bit header that names a field inside an action (move, learn, ct zone...).

    Experimenter (64-bit) headers cannot appear there, and every field here has a
    32-bit one."""
    s = spec(name)
    return s.header(False, field_nbytes(s, tlv_len))


def decode_oxm_fields(data: bytes) -> dict[str, tuple[int, int]]:
    """Parses OXM TLVs (e.g. packet-in2 metadata) into {name: (value, mask)}; fields this
    module does not know are kept under their raw 'class:field' name."""
    by_id = {(s.oxm_class, s.field): s for s in _SPECS}
    out: dict[str, tuple[int, int]] = {}
    pos = 0
    while pos + 4 <= len(data):
        (hdr,) = struct.unpack_from("!I", data, pos)
        cls, fld, hasmask, length = hdr >> 16, (hdr >> 9) & 0x7F, (hdr >> 8) & 1, hdr & 0xFF
        pos += 4
        if cls == 0xFFFF:  # experimenter: the id is part of the payload
            pos += 4
            length -= 4
        if pos + length > len(data):
            raise OpenFlowError("truncated OXM field")
        body = data[pos:pos + length]
        pos += length
        n = length // 2 if hasmask else length
        value = int.from_bytes(body[:n], "big")
        mask = int.from_bytes(body[n:], "big") if hasmask else (1 << (8 * n)) - 1
        s = by_id.get((cls, fld))
        if s is not None and s.oxm_class == OFPXMC_PACKET_REGS:
            # Open vSwitch reports registers as 64-bit packet registers; callers think in
            # the 32-bit regN that ofrep uses.
            for k, shift in ((2 * s.field, 32), (2 * s.field + 1, 0)):
                m = (mask >> shift) & 0xFFFFFFFF
                if m:
                    out[f"reg{k}"] = ((value >> shift) & m, m)
            continue
        out[s.name if s else f"{cls:#x}:{fld}"] = (value, mask)
    return out
