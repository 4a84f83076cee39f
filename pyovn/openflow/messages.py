"""OpenFlow 1.5 messages pyovn sends (flow_mod, group_mod, meter_mod, bundles, packet_out,
barrier, echo, features, set_async, Nicira TLV map / packet-in format / resume) and the
ones it decodes (error, features reply, NXT_PACKET_IN2).  Builders return wire bytes; xids
are the caller's, so a connection can match replies."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from pyovn.logical.ofrep import Action, Flow, Match
from pyovn.openflow import oxm
from pyovn.openflow import protocol as P
from pyovn.openflow.actions import OFPIT_APPLY_ACTIONS as OFPIT_APPLY_ACTIONS
from pyovn.openflow.actions import ActionEncoder, apply_actions, default_encoder
from pyovn.openflow.protocol import OpenFlowError, pad8

OFPHET_VERSIONBITMAP: Final = 1


class FlowModCommand(IntEnum):
    ADD = 0
    MODIFY = 1
    MODIFY_STRICT = 2
    DELETE = 3
    DELETE_STRICT = 4


OFPFF_SEND_FLOW_REM: Final = 1
OFPFF_CHECK_OVERLAP: Final = 2
OFPFF_RESET_COUNTS: Final = 4

# --- simple messages ---------------------------------------------------------------


def hello(xid: int) -> bytes:
    """Hello with a version bitmap offering only OpenFlow 1.5."""
    return P.message(P.OFPT_HELLO, xid,
                     struct.pack("!HHI", OFPHET_VERSIONBITMAP, 8, 1 << P.OFP_VERSION))


def echo_request(xid: int, data: bytes = b"") -> bytes:
    return P.message(P.OFPT_ECHO_REQUEST, xid, data)


def echo_reply(xid: int, data: bytes = b"") -> bytes:
    return P.message(P.OFPT_ECHO_REPLY, xid, data)


def barrier_request(xid: int) -> bytes:
    return P.message(P.OFPT_BARRIER_REQUEST, xid)


def features_request(xid: int) -> bytes:
    return P.message(P.OFPT_FEATURES_REQUEST, xid)


# --- flow_mod ------------------------------------------------------------------------

_FLOW_MOD: Final = struct.Struct("!BBHIQQBBHHHIIIHH")
# The header of a flow_mod, then that of its ofp_match (type, length), in one pack: the
# version and type as 2 bytes, and the buffer id, out port, out group, flags, importance
# and match type (constant but for the flags) as 18 more, which makes the pack cheaper.
# ovn-controller sends ~100,000 flow_mods at start-up.
_FLOW_MOD_MATCH: Final = struct.Struct("!2sHIQQBBHHH18sH")
_VERSION_TYPE: Final = bytes((P.OFP_VERSION, P.OFPT_FLOW_MOD))
_TAIL: Final = struct.Struct("!IIIHHH")
_TAIL_NO_FLAGS: Final = _TAIL.pack(P.OFP_NO_BUFFER, P.OFPP_ANY, P.OFPG_ANY, 0, 0,
                                   oxm.OFPMT_OXM)
_PADS: Final = tuple(b"\0" * (-n % 8) for n in range(8))

# The apply-actions instruction (none at all when there are no actions, a drop).
instructions: Final = apply_actions


def flow_mod_raw(xid: int, command: int, table: int, priority: int, match: bytes,
                 actions: bytes, cookie: int = 0, cookie_mask: int = 0,
                 idle_timeout: int = 0, hard_timeout: int = 0, flags: int = 0,
                 out_port: int = P.OFPP_ANY, out_group: int = P.OFPG_ANY,
                 importance: int = 0) -> bytes:
    """flow_mod from an encoded ofp_match and encoded actions."""
    ins = apply_actions(actions)
    length = 48 + len(match) + len(ins)
    if length > P.OFP_MAX_LEN:
        raise OpenFlowError(f"flow_mod of {length} bytes is too long")
    return _FLOW_MOD.pack(P.OFP_VERSION, P.OFPT_FLOW_MOD, length, xid, cookie, cookie_mask,
                          table, command, idle_timeout, hard_timeout, priority,
                          P.OFP_NO_BUFFER, out_port, out_group, flags, importance) + match + ins


def _flow_mod(xid: int, command: int, table: int, priority: int, match: Match,
              actions: Iterable[Action], cookie: int, cookie_mask: int, idle_timeout: int,
              hard_timeout: int, flags: int, tlv_len: Mapping[int, int],
              encoder: ActionEncoder | None) -> bytes:
    """flow_mod() without the call layers: the instructions come from the encoder's cache,
    the match's fields from oxm's, and the message is one pack and one join."""
    if not 0 <= table <= 0xFF or not 0 <= priority <= 0xFFFF:
        raise OpenFlowError(f"bad table {table} or priority {priority}")
    if actions:
        enc = encoder or default_encoder(tlv_len)
        try:
            ins = enc.instructions(actions)
        except OpenFlowError:
            # Errors surface in the order they always did: an action that cannot be
            # encoded, then a bad match, then an action list too long.
            enc.encode(actions)
            oxm.encode_match(match, tlv_len)
            raise
    else:
        ins = b""
    try:
        fields = oxm.fast_oxm_fields(match.fields)
    except Exception:  # bad input: the generic path raises its usual error
        fields = None
    if fields is None:
        fields = oxm.encode_oxm_fields(match, tlv_len)
    mlen = 4 + len(fields)
    pad = _PADS[mlen & 7]
    length = 48 + mlen + len(pad) + len(ins)
    if length > P.OFP_MAX_LEN:
        raise OpenFlowError(f"flow_mod of {length} bytes is too long")
    tail = _TAIL.pack(P.OFP_NO_BUFFER, P.OFPP_ANY, P.OFPG_ANY, flags, 0, oxm.OFPMT_OXM) \
        if flags else _TAIL_NO_FLAGS
    head = _FLOW_MOD_MATCH.pack(_VERSION_TYPE, length, xid, cookie, cookie_mask, table,
                                command, idle_timeout, hard_timeout, priority, tail, mlen)
    return b"".join((head, fields, pad, ins))


def flow_mod(xid: int, command: int, table: int, priority: int, match: Match,
             actions: Iterable[Action] = (), cookie: int = 0, cookie_mask: int = 0,
             idle_timeout: int = 0, hard_timeout: int = 0, flags: int = 0,
             tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN,
             encoder: ActionEncoder | None = None) -> bytes:
    return _flow_mod(xid, command, table, priority, match, actions, cookie, cookie_mask,
                     idle_timeout, hard_timeout, flags, tlv_len, encoder)


def flow_add(xid: int, flow: Flow, encoder: ActionEncoder | None = None,
             tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    return _flow_mod(xid, FlowModCommand.ADD, flow.table, flow.priority, flow.match,
                     flow.actions, flow.cookie, 0, 0, 0, 0, tlv_len, encoder)


def flow_delete(xid: int, table: int = P.OFPTT_ALL, match: Match | None = None,
                priority: int = 0, strict: bool = False, cookie: int = 0,
                cookie_mask: int = 0, tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    """Delete flows: strict needs the exact match and priority; loose deletes every flow
    the match covers.  A nonzero cookie_mask restricts either to those cookies."""
    cmd = FlowModCommand.DELETE_STRICT if strict else FlowModCommand.DELETE
    return flow_mod_raw(xid, cmd, table, priority, oxm.encode_match(match or Match(), tlv_len),
                        b"", cookie, cookie_mask)


def flow_modify(xid: int, flow: Flow, strict: bool = True, cookie_mask: int = 0,
                encoder: ActionEncoder | None = None,
                tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> bytes:
    """Replace the actions of existing flows (OpenFlow 1.1+ never adds on modify)."""
    cmd = FlowModCommand.MODIFY_STRICT if strict else FlowModCommand.MODIFY
    return _flow_mod(xid, cmd, flow.table, flow.priority, flow.match, flow.actions,
                     flow.cookie, cookie_mask, 0, 0, 0, tlv_len, encoder)


# --- group_mod -----------------------------------------------------------------------

OFPGC15_ADD: Final = 0
OFPGC15_MODIFY: Final = 1
OFPGC15_DELETE: Final = 2
OFPGT_ALL: Final = 0
OFPGT_SELECT: Final = 1
OFPGT_INDIRECT: Final = 2
OFPGT_FF: Final = 3
OFPG15_BUCKET_ALL: Final = 0xFFFFFFFF
OFPG_ALL: Final = 0xFFFFFFFC
OFPGBPT15_WEIGHT: Final = 0
OFPGBPT15_WATCH_PORT: Final = 1
OFPGBPT15_WATCH_GROUP: Final = 2
NTR_VENDOR_ID: Final = 0x0000154D
NTRT_SELECTION_METHOD: Final = 1


@dataclass(frozen=True)
class Bucket:
    actions: tuple[Action, ...]
    bucket_id: int = 0
    weight: int | None = None
    watch_port: int | None = None
    watch_group: int | None = None


def _bucket(b: Bucket, enc: ActionEncoder) -> bytes:
    acts = enc.encode(b.actions)
    props = b""
    if b.weight is not None:
        props += struct.pack("!HHH2x", OFPGBPT15_WEIGHT, 8, b.weight)
    if b.watch_port is not None:
        props += struct.pack("!HHI", OFPGBPT15_WATCH_PORT, 8, b.watch_port)
    if b.watch_group is not None:
        props += struct.pack("!HHI", OFPGBPT15_WATCH_GROUP, 8, b.watch_group)
    return struct.pack("!HHI", 8 + len(acts) + len(props), len(acts), b.bucket_id) + acts + props


def group_mod(xid: int, command: int, group_id: int, group_type: int = OFPGT_SELECT,
              buckets: Sequence[Bucket] = (), selection_method: str = "",
              selection_method_param: int = 0,
              encoder: ActionEncoder | None = None, fields: Sequence[str] = ()) -> bytes:
    """'fields' name the fields selection method "hash" hashes; they follow the property
    as an OXM field array (each field with an all-ones value: its mask)."""
    enc = encoder or ActionEncoder()
    body_buckets = b"".join(_bucket(b, enc) for b in buckets)
    props = b""
    if selection_method:
        name = selection_method.encode()
        if len(name) > 15:
            raise OpenFlowError("selection method name too long")
        array = b""
        for f in fields:
            fs = oxm.spec(f)
            nbytes = oxm.field_nbytes(fs)
            array += oxm.encode_field(fs, (1 << min(fs.width, 8 * nbytes)) - 1, None, nbytes)
        plen = 40 + len(array)
        props = struct.pack("!HHII4x16sQ", 0xFFFF, plen, NTR_VENDOR_ID,
                            NTRT_SELECTION_METHOD, name, selection_method_param)
        props += array + b"\0" * (-plen % 8)
    elif fields:
        raise OpenFlowError("hash fields need a selection method")
    body = struct.pack("!HBxIH2xI", command, group_type, group_id, len(body_buckets),
                       OFPG15_BUCKET_ALL) + body_buckets + props
    return P.message(P.OFPT_GROUP_MOD, xid, body)


# --- meter_mod -----------------------------------------------------------------------

OFPMC13_ADD: Final = 0
OFPMC13_MODIFY: Final = 1
OFPMC13_DELETE: Final = 2
OFPMF13_KBPS: Final = 1
OFPMF13_PKTPS: Final = 2
OFPMF13_BURST: Final = 4
OFPMF13_STATS: Final = 8
OFPMBT13_DROP: Final = 1


def meter_mod(xid: int, command: int, meter_id: int, flags: int = OFPMF13_PKTPS,
              bands: Sequence[tuple[int, int]] = ()) -> bytes:
    """Meter with drop bands given as (rate, burst_size)."""
    body = struct.pack("!HHI", command, flags, meter_id)
    for rate, burst in bands:
        body += struct.pack("!HHII4x", OFPMBT13_DROP, 16, rate, burst)
    return P.message(P.OFPT_METER_MOD, xid, body)


# --- bundles -------------------------------------------------------------------------

OFPBCT_OPEN_REQUEST: Final = 0
OFPBCT_OPEN_REPLY: Final = 1
OFPBCT_CLOSE_REQUEST: Final = 2
OFPBCT_CLOSE_REPLY: Final = 3
OFPBCT_COMMIT_REQUEST: Final = 4
OFPBCT_COMMIT_REPLY: Final = 5
OFPBCT_DISCARD_REQUEST: Final = 6
OFPBCT_DISCARD_REPLY: Final = 7
OFPBF_ATOMIC: Final = 1
OFPBF_ORDERED: Final = 2


def bundle_control(xid: int, bundle_id: int, ctrl_type: int,
                   flags: int = OFPBF_ATOMIC | OFPBF_ORDERED) -> bytes:
    return P.message(P.OFPT_BUNDLE_CONTROL, xid, struct.pack("!IHH", bundle_id, ctrl_type, flags))


# The bundle_add header, then the inner message's first four bytes (version, type, length)
# and its xid, which the switch requires to equal the outer one.
_BUNDLE_ADD: Final = struct.Struct("!BBHII2xH4sI")


def bundle_add(xid: int, bundle_id: int, msg: bytes,
               flags: int = OFPBF_ATOMIC | OFPBF_ORDERED) -> bytes:
    """Wraps 'msg' for a bundle.  The switch requires the inner xid to equal the outer one,
    so the inner message's xid is rewritten."""
    if len(msg) < P.OFP_HEADER_LEN:  # not a message: wrap what slicing makes of it
        inner = msg[:4] + struct.pack("!I", xid)
        return P.pack_header(P.OFPT_BUNDLE_ADD_MESSAGE, 16 + len(inner), xid) + \
            struct.pack("!I2xH", bundle_id, flags) + inner
    length = 16 + len(msg)
    if length > P.OFP_MAX_LEN:
        raise OpenFlowError("bundled message too long")
    return _BUNDLE_ADD.pack(P.OFP_VERSION, P.OFPT_BUNDLE_ADD_MESSAGE, length, xid, bundle_id,
                            flags, msg[:4], xid) + msg[8:]


@dataclass(frozen=True)
class BundleReply:
    bundle_id: int
    type: int
    flags: int


def decode_bundle_control(msg: bytes) -> BundleReply:
    if len(msg) < 16:
        raise OpenFlowError("short bundle control")
    bid, t, flags = struct.unpack_from("!IHH", msg, 8)
    return BundleReply(bid, t, flags)


# --- packet out / in -----------------------------------------------------------------


def packet_out(xid: int, packet: bytes, actions: Iterable[Action],
               in_port: int = P.OFPP_CONTROLLER, metadata: Match | None = None,
               encoder: ActionEncoder | None = None) -> bytes:
    """OpenFlow 1.5 packet-out: the pipeline metadata (in_port, registers...) is a match."""
    m = metadata.copy() if metadata is not None else Match()
    m.fields["in_port"] = (in_port, 0xFFFFFFFF)
    match = oxm.encode_match(m)
    acts = (encoder or ActionEncoder()).encode(actions)
    body = struct.pack("!IH2x", P.OFP_NO_BUFFER, len(acts)) + match + acts + packet
    return P.message(P.OFPT_PACKET_OUT, xid, body)


NXPIF_NXT_PACKET_IN2: Final = 2
NXPINT_PACKET: Final = 0
NXPINT_FULL_LEN: Final = 1
NXPINT_BUFFER_ID: Final = 2
NXPINT_TABLE_ID: Final = 3
NXPINT_COOKIE: Final = 4
NXPINT_REASON: Final = 5
NXPINT_METADATA: Final = 6
NXPINT_USERDATA: Final = 7
NXPINT_CONTINUATION: Final = 8


def set_packet_in_format(xid: int, fmt: int = NXPIF_NXT_PACKET_IN2) -> bytes:
    return P.experimenter_message(P.NXT_SET_PACKET_IN_FORMAT, xid, struct.pack("!I", fmt))


def _props(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """Splits properties into (type, payload, raw bytes including padding)."""
    out = []
    pos = 0
    while pos + 4 <= len(data):
        t, length = struct.unpack_from("!HH", data, pos)
        if length < 4 or pos + length > len(data):
            raise OpenFlowError(f"bad property length {length}")
        end = pos + length + pad8(length)
        out.append((t, bytes(data[pos + 4:pos + length]), bytes(data[pos:min(end, len(data))])))
        pos = end
    return out


@dataclass
class PacketIn2:
    """A decoded NXT_PACKET_IN2.  'raw_props' keeps every property as received, so a
    resume can send back exactly what the switch froze (continuation included)."""

    xid: int
    packet: bytes
    table_id: int = 0
    cookie: int = 0
    reason: int = 0
    metadata: dict[str, tuple[int, int]] = field(default_factory=dict)
    userdata: bytes = b""
    continuation: bytes | None = None
    full_len: int = 0
    raw_props: list[tuple[int, bytes]] = field(default_factory=list)


def decode_packet_in2(msg: bytes) -> PacketIn2:
    h = P.parse_header(msg)
    if h.type != P.OFPT_EXPERIMENTER or len(msg) < 16:
        raise OpenFlowError("not an experimenter message")
    vendor, subtype = struct.unpack_from("!II", msg, 8)
    if vendor != P.NX_VENDOR_ID or subtype != P.NXT_PACKET_IN2:
        raise OpenFlowError("not an NXT_PACKET_IN2")
    pin = PacketIn2(h.xid, b"")
    have_packet = False
    for t, payload, raw in _props(msg[16:h.length]):
        pin.raw_props.append((t, raw))
        if t == NXPINT_PACKET:
            pin.packet, have_packet = payload, True
        elif t == NXPINT_FULL_LEN:
            (pin.full_len,) = struct.unpack_from("!I", payload)
        elif t == NXPINT_TABLE_ID:
            pin.table_id = payload[0]
        elif t == NXPINT_COOKIE:
            (pin.cookie,) = struct.unpack_from("!Q", payload)
        elif t == NXPINT_REASON:
            pin.reason = payload[0]
        elif t == NXPINT_METADATA:
            pin.metadata = oxm.decode_oxm_fields(payload)
        elif t == NXPINT_USERDATA:
            pin.userdata = payload
        elif t == NXPINT_CONTINUATION:
            pin.continuation = payload
    if not have_packet:
        raise OpenFlowError("NXT_PACKET_IN2 without a packet")
    return pin


def resume(xid: int, pin: PacketIn2, packet: bytes | None = None) -> bytes:
    """NXT_RESUME: the packet-in's properties sent back (the packet possibly replaced),
    which is how the switch continues a paused pipeline."""
    if pin.continuation is None:
        raise OpenFlowError("packet-in has no continuation to resume")
    parts = []
    for t, raw in pin.raw_props:
        if t == NXPINT_PACKET and packet is not None:
            length = 4 + len(packet)
            raw = struct.pack("!HH", NXPINT_PACKET, length) + packet + b"\0" * pad8(length)
        elif (t == NXPINT_FULL_LEN and packet is not None) or t == NXPINT_USERDATA:
            continue
        parts.append(raw + b"\0" * pad8(len(raw)))
    return P.experimenter_message(P.NXT_RESUME, xid, b"".join(parts))


# --- async config, TLV map -----------------------------------------------------------

OFPACPT_PACKET_IN_SLAVE: Final = 0
OFPACPT_PACKET_IN_MASTER: Final = 1
OFPACPT_PORT_STATUS_SLAVE: Final = 2
OFPACPT_PORT_STATUS_MASTER: Final = 3
OFPACPT_FLOW_REMOVED_SLAVE: Final = 4
OFPACPT_FLOW_REMOVED_MASTER: Final = 5
OFPR_NO_MATCH: Final = 0
OFPR_ACTION: Final = 1
OFPR_INVALID_TTL: Final = 2
OFPR_ACTION_SET: Final = 3
OFPR_GROUP: Final = 4
OFPR_PACKET_OUT: Final = 5


def set_async(xid: int, packet_in: int = 1 << OFPR_ACTION | 1 << OFPR_INVALID_TTL,
              port_status: int = 0x7, flow_removed: int = 0) -> bytes:
    """OFPT_SET_ASYNC: which asynchronous messages the switch sends, by reason bit, the same
    for the master and slave roles."""
    props = b""
    for t, mask in ((OFPACPT_PACKET_IN_SLAVE, packet_in), (OFPACPT_PACKET_IN_MASTER, packet_in),
                    (OFPACPT_PORT_STATUS_SLAVE, port_status),
                    (OFPACPT_PORT_STATUS_MASTER, port_status),
                    (OFPACPT_FLOW_REMOVED_SLAVE, flow_removed),
                    (OFPACPT_FLOW_REMOVED_MASTER, flow_removed)):
        props += struct.pack("!HHI", t, 8, mask)
    return P.message(P.OFPT_SET_ASYNC, xid, props)


NXTTMC_ADD: Final = 0
NXTTMC_DELETE: Final = 1
NXTTMC_CLEAR: Final = 2


@dataclass(frozen=True)
class TlvMap:
    """Geneve option (class, type, length in bytes) -> tun_metadata<index>."""

    option_class: int
    option_type: int
    option_len: int
    index: int


# OVN's Geneve option carrying the logical ingress/egress ports.
OVN_GENEVE_TLV: Final = TlvMap(0x0102, 0x80, 4, 0)


def tlv_table_mod(xid: int, command: int, maps: Sequence[TlvMap]) -> bytes:
    body = struct.pack("!H6x", command)
    for m in maps:
        if m.option_len % 4 or not 0 < m.option_len <= 124 or not 0 <= m.index < 64:
            raise OpenFlowError(f"bad TLV mapping {m}")
        body += struct.pack("!HBBH2x", m.option_class, m.option_type, m.option_len, m.index)
    return P.experimenter_message(P.NXT_TLV_TABLE_MOD, xid, body)


# --- decoding replies ----------------------------------------------------------------


@dataclass(frozen=True)
class ErrorMsg:
    xid: int
    type: int
    code: int
    data: bytes

    def __str__(self) -> str:
        return f"{P.error_type_name(self.type)} code {self.code}"


def decode_error(msg: bytes) -> ErrorMsg:
    h = P.parse_header(msg)
    if h.type != P.OFPT_ERROR or len(msg) < 12:
        raise OpenFlowError("not an error message")
    t, code = struct.unpack_from("!HH", msg, 8)
    return ErrorMsg(h.xid, t, code, bytes(msg[12:h.length]))


@dataclass(frozen=True)
class Features:
    datapath_id: int
    n_buffers: int
    n_tables: int
    capabilities: int


def decode_features_reply(msg: bytes) -> Features:
    h = P.parse_header(msg)
    if h.type != P.OFPT_FEATURES_REPLY or len(msg) < 32:
        raise OpenFlowError("not a features reply")
    dpid, n_buffers, n_tables, _aux, caps = struct.unpack_from("!QIBB2xI", msg, 8)
    return Features(dpid, n_buffers, n_tables, caps)


def decode_hello_versions(msg: bytes) -> set[int]:
    """The versions a peer's hello offers: its bitmap if any, else its header version."""
    h = P.parse_header(msg)
    versions: set[int] = set()
    pos = 8
    while pos + 4 <= h.length:
        t, length = struct.unpack_from("!HH", msg, pos)
        if length < 4:
            break
        if t == OFPHET_VERSIONBITMAP:
            for i in range((length - 4) // 4):
                (bits,) = struct.unpack_from("!I", msg, pos + 4 + 4 * i)
                versions |= {32 * i + b for b in range(32) if bits >> b & 1}
        pos += length + pad8(length)
    return versions or {h.version}


