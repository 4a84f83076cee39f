"""Serialisation of the neutral actions (pyovn.logical.ofrep) into OpenFlow 1.5 actions,
standard where OpenFlow 1.5 has one (output, group, set_field, copy_field, dec_ttl,
set_queue, meter) and Nicira experimenter actions otherwise.

Open vSwitch decodes NXAST_REG_LOAD/REG_MOVE only for OpenFlow <= 1.4, so loads are
OFPAT_SET_FIELD (masked when partial) and moves OFPAT_COPY_FIELD."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from pyovn.logical import ofrep as O
from pyovn.logical.ofrep import Output
from pyovn.openflow import oxm
from pyovn.openflow.learn import encode_learn
from pyovn.openflow.protocol import NX_VENDOR_ID, OFP_MAX_LEN, OpenFlowError, pad8

# Standard action types (OpenFlow 1.5).
OFPAT_OUTPUT: Final = 0
OFPAT_SET_QUEUE: Final = 21
OFPAT_GROUP: Final = 22
OFPAT_DEC_NW_TTL: Final = 24
OFPAT_SET_FIELD: Final = 25
OFPAT_COPY_FIELD: Final = 28
OFPAT_METER: Final = 29
OFPAT_EXPERIMENTER: Final = 0xFFFF

# Nicira action subtypes.
NXAST_RESUBMIT_TABLE: Final = 14
NXAST_NOTE: Final = 8
NXAST_CONTROLLER: Final = 20
NXAST_STACK_PUSH: Final = 27
NXAST_STACK_POP: Final = 28
NXAST_SAMPLE: Final = 29
NXAST_CONJUNCTION: Final = 34
NXAST_CT: Final = 35
NXAST_NAT: Final = 36
NXAST_CONTROLLER2: Final = 37
NXAST_CLONE: Final = 42
NXAST_CT_CLEAR: Final = 43
NXAST_RESUBMIT_TABLE_CT: Final = 44
NXAST_CHECK_PKT_LARGER: Final = 49

NX_CT_F_COMMIT: Final = 1
NX_CT_F_FORCE: Final = 2
NX_CT_RECIRC_NONE: Final = 0xFF
NX_NAT_F_SRC: Final = 1
NX_NAT_F_DST: Final = 2
NX_NAT_F_PERSISTENT: Final = 4
NX_NAT_F_PROTO_HASH: Final = 8
NX_NAT_F_PROTO_RANDOM: Final = 16
NX_NAT_RANGE_IPV4_MIN: Final = 1
NX_NAT_RANGE_IPV4_MAX: Final = 2
NX_NAT_RANGE_IPV6_MIN: Final = 4
NX_NAT_RANGE_IPV6_MAX: Final = 8
NX_NAT_RANGE_PROTO_MIN: Final = 16
NX_NAT_RANGE_PROTO_MAX: Final = 32

NXAC2PT_MAX_LEN: Final = 0
NXAC2PT_CONTROLLER_ID: Final = 1
NXAC2PT_REASON: Final = 2
NXAC2PT_USERDATA: Final = 3
NXAC2PT_PAUSE: Final = 4
NXAC2PT_METER_ID: Final = 5
OFPR_ACTION: Final = 1
OFPP_IN_PORT16: Final = 0xFFF8


def _nx(subtype: int, body: bytes) -> bytes:
    """A Nicira action: experimenter header + subtype + body, padded to 8 bytes."""
    length = 10 + len(body)
    p = pad8(length)
    return struct.pack("!HHIH", OFPAT_EXPERIMENTER, length + p, NX_VENDOR_ID, subtype) + \
        body + b"\0" * p


def _nx_nested(subtype: int, nested: bytes) -> bytes:
    """A Nicira action with a 16-byte extended header followed by nested actions."""
    return struct.pack("!HHIH6x", OFPAT_EXPERIMENTER, 16 + len(nested), NX_VENDOR_ID,
                       subtype) + nested


def _ofs_nbits(ofs: int, n_bits: int) -> int:
    return (ofs << 6) | (n_bits - 1)


class ActionEncoder:
    """Encodes action lists; 'tlv_len' gives the length of each mapped tun_metadataN."""

    def __init__(self, tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> None:
        self.tlv_len = tlv_len
        self._cache: dict[tuple[O.Action, ...], bytes] = {}
        self._ins_cache: dict[tuple[O.Action, ...], bytes] = {}
        self._ins_by_id: dict[int, tuple[tuple[O.Action, ...], bytes]] = {}
        self._dispatch: dict[type, Callable[[O.Action], bytes]] = {
            O.Resubmit: self._resubmit, O.SetField: self._set_field, O.Move: self._move,
            O.Push: self._push, O.Pop: self._pop, O.DecTTL: self._dec_ttl,
            O.Conjunction: self._conjunction, O.CT: self._ct, O.CTClear: self._ct_clear,
            O.Controller: self._controller, O.Group: self._group, O.Meter: self._meter,
            O.Clone: self._clone, O.CheckPktLarger: self._check_pkt_larger,
            O.SetQueue: self._set_queue, O.Learn: self._learn, O.Sample: self._sample,
            O.Note: self._note, Output: self._output,
        }

    _CACHE_MAX: Final = 1 << 16
    # Entries by identity keep their tuples alive: fewer of them (a start-up table's
    # flows share a few hundred tuples).
    _BY_ID_MAX: Final = 1 << 13

    def encode(self, actions: Iterable[O.Action]) -> bytes:
        """Action lists repeat a lot across flows (every "next;" is one resubmit), so
        encodings are memoised by the (hashable, frozen) action tuple."""
        key = actions if isinstance(actions, tuple) else tuple(actions)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        data = self._encode(key)
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[key] = data
        return data

    def instructions(self, actions: Iterable[O.Action]) -> bytes:
        """The flow_mod instructions for 'actions' (apply-actions, or none for a drop).

        ~100,000 start-up flows share a few hundred distinct action lists, and the flows
        of one logical flow share one tuple object: found by identity first, that costs
        no hashing of the (dataclass) actions at all; equal tuples are found by value."""
        hit = self._ins_by_id.get(id(actions))
        if hit is not None and hit[0] is actions:
            return hit[1]
        key = actions if isinstance(actions, tuple) else tuple(actions)
        data = self._ins_cache.get(key)
        if data is None:
            data = apply_actions(self.encode(key))
            if len(self._ins_cache) >= self._CACHE_MAX:
                self._ins_cache.clear()
            self._ins_cache[key] = data
        if key is actions:
            # Only a tuple (immutable) is remembered by identity; holding it keeps its id
            # from being reused by another object while the entry exists.
            if len(self._ins_by_id) >= self._BY_ID_MAX:
                self._ins_by_id.clear()
            self._ins_by_id[id(key)] = (key, data)
        return data

    def _encode(self, actions: tuple[O.Action, ...]) -> bytes:
        out = []
        for a in actions:
            fn = self._dispatch.get(type(a))
            if fn is None:
                raise OpenFlowError(f"no OpenFlow encoding for action {type(a).__name__}")
            out.append(fn(a))
        return b"".join(out)

    # -- standard actions --------------------------------------------------------

    def _output(self, a: O.Action) -> bytes:
        assert isinstance(a, Output)
        return struct.pack("!HHIH6x", OFPAT_OUTPUT, 16, a.port, a.max_len)

    def _group(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Group)
        return struct.pack("!HHI", OFPAT_GROUP, 8, a.group_id)

    def _meter(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Meter)
        return struct.pack("!HHI", OFPAT_METER, 8, a.meter_id)

    def _set_queue(self, a: O.Action) -> bytes:
        assert isinstance(a, O.SetQueue)
        return struct.pack("!HHI", OFPAT_SET_QUEUE, 8, a.queue_id)

    def _dec_ttl(self, a: O.Action) -> bytes:
        return struct.pack("!HH4x", OFPAT_DEC_NW_TTL, 8)

    def _set_field(self, a: O.Action) -> bytes:
        assert isinstance(a, O.SetField)
        s = oxm.spec(a.field)
        n = oxm.field_nbytes(s, self.tlv_len)
        tlv = oxm.encode_field(s, a.value, a.mask, n)
        length = 4 + len(tlv)
        p = pad8(length)
        return struct.pack("!HH", OFPAT_SET_FIELD, length + p) + tlv + b"\0" * p

    def _move(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Move)
        if a.src.n_bits != a.dst.n_bits:
            raise OpenFlowError(f"move of {a.src.n_bits} bits into {a.dst.n_bits}")
        body = struct.pack("!HHH2xII", a.src.n_bits, a.src.ofs, a.dst.ofs,
                           oxm.nxm_header(a.src.field, self.tlv_len),
                           oxm.nxm_header(a.dst.field, self.tlv_len))
        length = 4 + len(body)
        p = pad8(length)
        return struct.pack("!HH", OFPAT_COPY_FIELD, length + p) + body + b"\0" * p

    # -- Nicira actions ----------------------------------------------------------

    def _resubmit(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Resubmit)
        port = OFPP_IN_PORT16 if a.in_port in ("", "in_port") else int(a.in_port, 0)
        return _nx(NXAST_RESUBMIT_TABLE, struct.pack("!HB3x", port, a.table))

    def _stack(self, subtype: int, sf: O.SubField) -> bytes:
        return _nx(subtype, struct.pack("!HIH6x", sf.ofs,
                                        oxm.nxm_header(sf.field, self.tlv_len), sf.n_bits))

    def _push(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Push)
        return self._stack(NXAST_STACK_PUSH, a.src)

    def _pop(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Pop)
        return self._stack(NXAST_STACK_POP, a.dst)

    def _conjunction(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Conjunction)
        if not 1 <= a.clause <= a.n_clauses <= 64 or a.n_clauses < 2:
            raise OpenFlowError(f"bad conjunction clause {a.clause}/{a.n_clauses}")
        return _nx(NXAST_CONJUNCTION, struct.pack("!BBI", a.clause - 1, a.n_clauses, a.id))

    def _ct_clear(self, a: O.Action) -> bytes:
        return _nx(NXAST_CT_CLEAR, b"\0" * 6)

    def _ct(self, a: O.Action) -> bytes:
        assert isinstance(a, O.CT)
        flags = (NX_CT_F_COMMIT if a.commit else 0) | (NX_CT_F_FORCE if a.force else 0)
        if a.force:
            flags |= NX_CT_F_COMMIT
        if isinstance(a.zone, O.SubField):
            if a.zone.n_bits != 16:
                raise OpenFlowError("ct zone must come from a 16-bit subfield")
            zone_src = oxm.nxm_header(a.zone.field, self.tlv_len)
            zone = _ofs_nbits(a.zone.ofs, a.zone.n_bits)
        else:
            zone_src, zone = 0, a.zone or 0
        table = NX_CT_RECIRC_NONE if a.table is None else a.table
        nested = (self._nat(a.nat) if a.nat is not None else b"") + self.encode(a.exec_)
        head = struct.pack("!HHIHHIHB3xH", OFPAT_EXPERIMENTER, 24 + len(nested), NX_VENDOR_ID,
                           NXAST_CT, flags, zone_src, zone, table, 0)
        return head + nested

    def _nat(self, n: O.NAT) -> bytes:
        flags = {"src": NX_NAT_F_SRC, "dst": NX_NAT_F_DST, "": 0}.get(n.kind)
        if flags is None:
            raise OpenFlowError(f"bad nat kind {n.kind!r}")
        flags |= (NX_NAT_F_PERSISTENT if n.persistent else 0) | \
            (NX_NAT_F_PROTO_HASH if n.hash else 0) | (NX_NAT_F_PROTO_RANDOM if n.random else 0)
        present = 0
        ranges = b""
        if n.ip_min:
            lo = ipaddress.ip_address(n.ip_min)
            v6 = lo.version == 6
            present |= NX_NAT_RANGE_IPV6_MIN if v6 else NX_NAT_RANGE_IPV4_MIN
            ranges += lo.packed
            if n.ip_max:
                hi = ipaddress.ip_address(n.ip_max)
                if hi.version != lo.version:
                    raise OpenFlowError("nat range mixes IPv4 and IPv6")
                present |= NX_NAT_RANGE_IPV6_MAX if v6 else NX_NAT_RANGE_IPV4_MAX
                ranges += hi.packed
        if n.port_min:
            present |= NX_NAT_RANGE_PROTO_MIN
            ranges += struct.pack("!H", n.port_min)
            if n.port_max and n.port_max != n.port_min:
                present |= NX_NAT_RANGE_PROTO_MAX
                ranges += struct.pack("!H", n.port_max)
        return _nx(NXAST_NAT, struct.pack("!2xHH", flags, present) + ranges)

    def _controller(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Controller)
        userdata = a.userdata_prefix()
        if a.nested is not None:
            userdata += self.encode(a.nested)
        props = [_prop(NXAC2PT_USERDATA, userdata)]
        if a.pause:
            props.append(_prop(NXAC2PT_PAUSE, b""))
        if a.meter_id is not None:
            props.append(_prop(NXAC2PT_METER_ID, struct.pack("!I", a.meter_id)))
        return _nx_nested(NXAST_CONTROLLER2, b"".join(props))

    def _clone(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Clone)
        return _nx_nested(NXAST_CLONE, self.encode(a.actions))

    def _check_pkt_larger(self, a: O.Action) -> bytes:
        assert isinstance(a, O.CheckPktLarger)
        if a.dst.n_bits != 1:
            raise OpenFlowError("check_pkt_larger writes a single bit")
        return _nx(NXAST_CHECK_PKT_LARGER, struct.pack(
            "!HHI", a.pkt_len, a.dst.ofs, oxm.nxm_header(a.dst.field, self.tlv_len)))

    def _learn(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Learn)
        return encode_learn(a, self.tlv_len)

    def _sample(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Sample)
        return _nx(NXAST_SAMPLE, struct.pack("!HIII", a.probability, a.collector_set_id,
                                             a.obs_domain_id, a.obs_point_id))

    def _note(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Note)
        data = a.data + b"\0" * max(0, 6 - len(a.data))
        return _nx(NXAST_NOTE, data)


OFPIT_APPLY_ACTIONS: Final = 4
_INSTR: Final = struct.Struct("!HH4x")


def apply_actions(actions: bytes) -> bytes:
    """Apply-actions instruction around encoded actions; none at all when there are no
    actions (drop)."""
    if not actions:
        return b""
    if len(actions) > OFP_MAX_LEN:
        raise OpenFlowError(f"{len(actions)} bytes of actions is too long")
    return _INSTR.pack(OFPIT_APPLY_ACTIONS, 8 + len(actions)) + actions


def _prop(ptype: int, data: bytes) -> bytes:
    """An OpenFlow property: type, length (without padding), data, padding to 8."""
    length = 4 + len(data)
    return struct.pack("!HH", ptype, length) + data + b"\0" * pad8(length)


_DEFAULT = ActionEncoder()


def default_encoder(tlv_len: Mapping[int, int] = oxm.DEFAULT_TLV_LEN) -> ActionEncoder:
    """A shared encoder for the default TLV mapping (its cache then serves every caller
    that passes no encoder), a new one for any other mapping."""
    return _DEFAULT if tlv_len is oxm.DEFAULT_TLV_LEN else ActionEncoder(tlv_len)


def encode_actions(actions: Iterable[O.Action],
                   tlv_len: Mapping[int, int] | None = None) -> bytes:
    enc = _DEFAULT if tlv_len is None else ActionEncoder(tlv_len)
    return enc.encode(actions)
