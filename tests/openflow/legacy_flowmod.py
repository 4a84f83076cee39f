"""A frozen copy of pyovn's flow_mod encoder as it was before it was made fast (match
encoding field by field through oxm.spec/encode_field, actions without any cache, the
message assembled by concatenation).  Tests only: the fast encoder must produce exactly
these bytes, so that speed never changes what the switch is sent."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from pyovn.logical.ofrep import Action, Flow, Match
from pyovn.openflow import oxm
from pyovn.openflow import protocol as P
from pyovn.openflow.actions import ActionEncoder
from pyovn.openflow.oxm import FieldSpec
from pyovn.openflow.protocol import OpenFlowError, pad8

_FLOW_MOD = struct.Struct("!BBHIQQBBHHHIIIHH")
_INSTR = struct.Struct("!HH4x")


def encode_field(s: FieldSpec, value: int, mask: int | None, nbytes: int) -> bytes:
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


def encode_oxm_fields(match: Match, tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    items = []
    for name, (value, mask) in match.fields.items():
        s = oxm.spec(name)
        items.append((s.order, s.name, s, value, mask))
    items.sort(key=lambda t: (t[0], t[1]))
    out = []
    for _, _, s, value, mask in items:
        out.append(encode_field(s, value, mask, oxm.field_nbytes(s, tlv_len)))
    return b"".join(out)


def encode_match(match: Match, tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    fields = encode_oxm_fields(match, tlv_len)
    length = 4 + len(fields)
    return struct.pack("!HH", oxm.OFPMT_OXM, length) + fields + b"\0" * pad8(length)


def encode_actions(enc: ActionEncoder, actions: Iterable[Action]) -> bytes:
    """The encoder's per-action functions, joined, with no cache in front."""
    out = []
    for a in actions:
        fn = enc._dispatch.get(type(a))
        if fn is None:
            raise OpenFlowError(f"no OpenFlow encoding for action {type(a).__name__}")
        out.append(fn(a))
    return b"".join(out)


def instructions(actions: bytes) -> bytes:
    if not actions:
        return b""
    if len(actions) > P.OFP_MAX_LEN:
        raise OpenFlowError(f"{len(actions)} bytes of actions is too long")
    return _INSTR.pack(4, 8 + len(actions)) + actions


def flow_mod_raw(xid: int, command: int, table: int, priority: int, match: bytes,
                 actions: bytes, cookie: int = 0, cookie_mask: int = 0,
                 idle_timeout: int = 0, hard_timeout: int = 0, flags: int = 0,
                 out_port: int = P.OFPP_ANY, out_group: int = P.OFPG_ANY,
                 importance: int = 0) -> bytes:
    ins = instructions(actions)
    length = 48 + len(match) + len(ins)
    if length > P.OFP_MAX_LEN:
        raise OpenFlowError(f"flow_mod of {length} bytes is too long")
    return _FLOW_MOD.pack(P.OFP_VERSION, P.OFPT_FLOW_MOD, length, xid, cookie, cookie_mask,
                          table, command, idle_timeout, hard_timeout, priority,
                          P.OFP_NO_BUFFER, out_port, out_group, flags, importance) + match + ins


def flow_mod(xid: int, command: int, table: int, priority: int, match: Match,
             actions: Iterable[Action] = (), cookie: int = 0, cookie_mask: int = 0,
             idle_timeout: int = 0, hard_timeout: int = 0, flags: int = 0,
             tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN,
             encoder: ActionEncoder | None = None) -> bytes:
    if not 0 <= table <= 0xFF or not 0 <= priority <= 0xFFFF:
        raise OpenFlowError(f"bad table {table} or priority {priority}")
    acts = encode_actions(encoder or ActionEncoder(tlv_len), actions) if actions else b""
    return flow_mod_raw(xid, command, table, priority, encode_match(match, tlv_len), acts,
                        cookie, cookie_mask, idle_timeout, hard_timeout, flags)


def flow_add(xid: int, flow: Flow, encoder: ActionEncoder | None = None,
             tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    return flow_mod(xid, 0, flow.table, flow.priority, flow.match,
                    flow.actions, cookie=flow.cookie, tlv_len=tlv_len, encoder=encoder)


def flow_delete(xid: int, table: int = P.OFPTT_ALL, match: Match | None = None,
                priority: int = 0, strict: bool = False, cookie: int = 0,
                cookie_mask: int = 0,
                tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    return flow_mod_raw(xid, 4 if strict else 3, table, priority,
                        encode_match(match or Match(), tlv_len), b"", cookie, cookie_mask)


def flow_modify(xid: int, flow: Flow, strict: bool = True, cookie_mask: int = 0,
                encoder: ActionEncoder | None = None,
                tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    return flow_mod(xid, 2 if strict else 1, flow.table, flow.priority, flow.match,
                    flow.actions, cookie=flow.cookie, cookie_mask=cookie_mask, tlv_len=tlv_len,
                    encoder=encoder)


def bundle_add(xid: int, bundle_id: int, msg: bytes, flags: int = 3) -> bytes:
    inner = msg[:4] + struct.pack("!I", xid) + msg[8:]
    length = 16 + len(inner)
    if length > P.OFP_MAX_LEN:
        raise OpenFlowError("bundled message too long")
    return P.pack_header(P.OFPT_BUNDLE_ADD_MESSAGE, length, xid) + \
        struct.pack("!I2xH", bundle_id, flags) + inner
