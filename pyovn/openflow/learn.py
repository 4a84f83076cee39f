"""NXAST_LEARN: the neutral `Learn` keeps its flow specifications as ovs-ofctl text, so this
module parses them (the handful of forms OVN writes) and serialises the Nicira action.

Spec forms: `FIELD[a..b]` (match the learned flow on the same bits of this packet),
`DST[..]=SRC[..]`, `field=value` (match an immediate), `load:VALUE->DST[..]`,
`load:SRC[..]->DST[..]` and `output:SRC[..]`."""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from typing import Final

from pyovn.logical.ofrep import Learn, SubField
from pyovn.openflow import oxm
from pyovn.openflow.protocol import NX_VENDOR_ID, OpenFlowError, pad8

NXAST_LEARN: Final = 16
NX_LEARN_F_SEND_FLOW_REM: Final = 1
NX_LEARN_F_DELETE_LEARNED: Final = 2
NX_LEARN_SRC_FIELD: Final = 0
NX_LEARN_SRC_IMMEDIATE: Final = 1 << 13
NX_LEARN_DST_MATCH: Final = 0
NX_LEARN_DST_LOAD: Final = 1 << 11
NX_LEARN_DST_OUTPUT: Final = 2 << 11

_SUBFIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(?:(\d+)(?:\.\.(\d+))?)?\]$")


def parse_subfield(text: str,
                   tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> SubField:
    """`NXM_NX_REG10[3]`, `reg8[0..15]` or `OXM_OF_METADATA[]` -> SubField."""
    m = _SUBFIELD.match(text.strip())
    if m is None:
        raise OpenFlowError(f"bad subfield {text!r}")
    name = oxm.canonical(m.group(1))
    width = oxm.field_bits(name, tlv_len)
    if m.group(2) is None:
        return SubField(name, 0, width)
    lo = int(m.group(2))
    hi = int(m.group(3)) if m.group(3) is not None else lo
    if hi < lo or hi >= width:
        raise OpenFlowError(f"subfield {text!r} out of range for a {width}-bit field")
    return SubField(name, lo, hi - lo + 1)


def _sf_bytes(sf: SubField, tlv_len: Mapping[int, int]) -> bytes:
    return struct.pack("!IH", oxm.nxm_header(sf.field, tlv_len), sf.ofs)


def _imm_bytes(value: int, n_bits: int) -> bytes:
    n = 2 * ((n_bits + 15) // 16)
    if value < 0 or value >= 1 << n_bits:
        raise OpenFlowError(f"learn immediate {value:#x} does not fit {n_bits} bits")
    return value.to_bytes(n, "big")


def encode_spec(text: str, tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    t = text.strip()
    if t.startswith("load:"):
        src, arrow, dst_text = t[5:].partition("->")
        if not arrow:
            raise OpenFlowError(f"learn load without '->': {text!r}")
        dst = parse_subfield(dst_text, tlv_len)
        if "[" in src:
            s = parse_subfield(src, tlv_len)
            if s.n_bits != dst.n_bits:
                raise OpenFlowError(f"learn load width mismatch: {text!r}")
            head = NX_LEARN_SRC_FIELD | NX_LEARN_DST_LOAD | dst.n_bits
            return struct.pack("!H", head) + _sf_bytes(s, tlv_len) + _sf_bytes(dst, tlv_len)
        value = oxm.parse_value(dst.field, src)
        head = NX_LEARN_SRC_IMMEDIATE | NX_LEARN_DST_LOAD | dst.n_bits
        return struct.pack("!H", head) + _imm_bytes(value, dst.n_bits) + _sf_bytes(dst, tlv_len)
    if t.startswith("output:"):
        s = parse_subfield(t[7:], tlv_len)
        return struct.pack("!H", NX_LEARN_SRC_FIELD | NX_LEARN_DST_OUTPUT | s.n_bits) + \
            _sf_bytes(s, tlv_len)
    left, eq, right = t.partition("=")
    if not eq:
        sf = parse_subfield(t, tlv_len)
        return struct.pack("!H", NX_LEARN_SRC_FIELD | NX_LEARN_DST_MATCH | sf.n_bits) + \
            _sf_bytes(sf, tlv_len) + _sf_bytes(sf, tlv_len)
    if "[" in right:
        dst = parse_subfield(left, tlv_len)
        src_sf = parse_subfield(right, tlv_len)
        if src_sf.n_bits != dst.n_bits:
            raise OpenFlowError(f"learn match width mismatch: {text!r}")
        return struct.pack("!H", NX_LEARN_SRC_FIELD | NX_LEARN_DST_MATCH | dst.n_bits) + \
            _sf_bytes(src_sf, tlv_len) + _sf_bytes(dst, tlv_len)
    name = oxm.canonical(left)
    width = oxm.field_bits(name, tlv_len)
    value = oxm.parse_value(name, right)
    dst = SubField(name, 0, width)
    return struct.pack("!H", NX_LEARN_SRC_IMMEDIATE | NX_LEARN_DST_MATCH | width) + \
        _imm_bytes(value, width) + _sf_bytes(dst, tlv_len)


def encode_learn(a: Learn, tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    flags = NX_LEARN_F_DELETE_LEARNED if a.delete_learned else 0
    body = struct.pack("!HHHQHBxHH", a.idle_timeout, a.hard_timeout, a.priority, a.cookie,
                       flags, a.table, 0, 0)
    specs = b"".join(encode_spec(s, tlv_len) for s in a.specs)
    length = 10 + len(body) + len(specs)
    length += pad8(length)
    head = struct.pack("!HHIH", 0xFFFF, length, NX_VENDOR_ID, NXAST_LEARN)
    out = head + body + specs
    return out + b"\0" * (length - len(out))
