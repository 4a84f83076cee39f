"""OpenFlow 1.5 framing: the common header, message type numbers, and the Nicira and ONF
experimenter ids.  Everything here is wire fact; encoding lives in the sibling modules."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

OFP_VERSION: Final = 0x06  # OpenFlow 1.5
OFP_HEADER = struct.Struct("!BBHI")
OFP_HEADER_LEN: Final = 8
OFP_MAX_LEN: Final = 0xFFFF

NX_VENDOR_ID: Final = 0x00002320
ONF_VENDOR_ID: Final = 0x4F4E4600

# ofp_type (OpenFlow 1.5).
OFPT_HELLO: Final = 0
OFPT_ERROR: Final = 1
OFPT_ECHO_REQUEST: Final = 2
OFPT_ECHO_REPLY: Final = 3
OFPT_EXPERIMENTER: Final = 4
OFPT_FEATURES_REQUEST: Final = 5
OFPT_FEATURES_REPLY: Final = 6
OFPT_GET_CONFIG_REQUEST: Final = 7
OFPT_GET_CONFIG_REPLY: Final = 8
OFPT_SET_CONFIG: Final = 9
OFPT_PACKET_IN: Final = 10
OFPT_FLOW_REMOVED: Final = 11
OFPT_PORT_STATUS: Final = 12
OFPT_PACKET_OUT: Final = 13
OFPT_FLOW_MOD: Final = 14
OFPT_GROUP_MOD: Final = 15
OFPT_PORT_MOD: Final = 16
OFPT_TABLE_MOD: Final = 17
OFPT_MULTIPART_REQUEST: Final = 18
OFPT_MULTIPART_REPLY: Final = 19
OFPT_BARRIER_REQUEST: Final = 20
OFPT_BARRIER_REPLY: Final = 21
OFPT_ROLE_REQUEST: Final = 24
OFPT_ROLE_REPLY: Final = 25
OFPT_GET_ASYNC_REQUEST: Final = 26
OFPT_GET_ASYNC_REPLY: Final = 27
OFPT_SET_ASYNC: Final = 28
OFPT_METER_MOD: Final = 29
OFPT_ROLE_STATUS: Final = 30
OFPT_TABLE_STATUS: Final = 31
OFPT_REQUESTFORWARD: Final = 32
OFPT_BUNDLE_CONTROL: Final = 33
OFPT_BUNDLE_ADD_MESSAGE: Final = 34

# Nicira experimenter message subtypes (nicira-ext.h).
NXT_SET_PACKET_IN_FORMAT: Final = 16
NXT_SET_CONTROLLER_ID: Final = 20
NXT_TLV_TABLE_MOD: Final = 24
NXT_TLV_TABLE_REQUEST: Final = 25
NXT_TLV_TABLE_REPLY: Final = 26
NXT_RESUME: Final = 28
NXT_CT_FLUSH_ZONE: Final = 29
NXT_PACKET_IN2: Final = 30

# Special port numbers (32-bit, OpenFlow 1.1+).
OFPP_MAX: Final = 0xFFFFFF00
OFPP_IN_PORT: Final = 0xFFFFFFF8
OFPP_TABLE: Final = 0xFFFFFFF9
OFPP_NORMAL: Final = 0xFFFFFFFA
OFPP_FLOOD: Final = 0xFFFFFFFB
OFPP_ALL: Final = 0xFFFFFFFC
OFPP_CONTROLLER: Final = 0xFFFFFFFD
OFPP_LOCAL: Final = 0xFFFFFFFE
OFPP_ANY: Final = 0xFFFFFFFF
OFPG_ANY: Final = 0xFFFFFFFF
OFP_NO_BUFFER: Final = 0xFFFFFFFF
OFPTT_ALL: Final = 0xFF

# Error types needed to interpret replies.
OFPET_HELLO_FAILED: Final = 0
OFPET_BAD_REQUEST: Final = 1
OFPET_BAD_ACTION: Final = 2
OFPET_BAD_INSTRUCTION: Final = 3
OFPET_BAD_MATCH: Final = 4
OFPET_FLOW_MOD_FAILED: Final = 5
OFPET_GROUP_MOD_FAILED: Final = 6
OFPET_METER_MOD_FAILED: Final = 12
OFPET_BUNDLE_FAILED: Final = 17
OFPET_EXPERIMENTER: Final = 0xFFFF

_ERROR_TYPE_NAMES: Final = {
    0: "OFPET_HELLO_FAILED", 1: "OFPET_BAD_REQUEST", 2: "OFPET_BAD_ACTION",
    3: "OFPET_BAD_INSTRUCTION", 4: "OFPET_BAD_MATCH", 5: "OFPET_FLOW_MOD_FAILED",
    6: "OFPET_GROUP_MOD_FAILED", 7: "OFPET_PORT_MOD_FAILED", 8: "OFPET_TABLE_MOD_FAILED",
    9: "OFPET_QUEUE_OP_FAILED", 10: "OFPET_SWITCH_CONFIG_FAILED",
    11: "OFPET_ROLE_REQUEST_FAILED", 12: "OFPET_METER_MOD_FAILED",
    13: "OFPET_TABLE_FEATURES_FAILED", 14: "OFPET_BAD_PROPERTY",
    15: "OFPET_ASYNC_CONFIG_FAILED", 16: "OFPET_FLOW_MONITOR_FAILED",
    17: "OFPET_BUNDLE_FAILED", 0xFFFF: "OFPET_EXPERIMENTER",
}


class OpenFlowError(Exception):
    """A malformed message, or one this library cannot represent."""


@dataclass(frozen=True)
class Header:
    version: int
    type: int
    length: int
    xid: int


def pack_header(msg_type: int, length: int, xid: int) -> bytes:
    if length > OFP_MAX_LEN:
        raise OpenFlowError(f"message of {length} bytes exceeds the OpenFlow maximum")
    return OFP_HEADER.pack(OFP_VERSION, msg_type, length, xid)


def message(msg_type: int, xid: int, body: bytes = b"") -> bytes:
    """A whole message: header + body, with the length filled in."""
    return pack_header(msg_type, OFP_HEADER_LEN + len(body), xid) + body


def experimenter_message(subtype: int, xid: int, body: bytes = b"",
                         vendor: int = NX_VENDOR_ID) -> bytes:
    return message(OFPT_EXPERIMENTER, xid, struct.pack("!II", vendor, subtype) + body)


def parse_header(data: bytes | memoryview) -> Header:
    if len(data) < OFP_HEADER_LEN:
        raise OpenFlowError(f"short OpenFlow header ({len(data)} bytes)")
    version, msg_type, length, xid = OFP_HEADER.unpack_from(data)
    if length < OFP_HEADER_LEN:
        raise OpenFlowError(f"OpenFlow header claims length {length} < 8")
    return Header(version, msg_type, length, xid)


def pad8(n: int) -> int:
    """Bytes of padding that bring 'n' up to a multiple of 8."""
    return -n % 8


def error_type_name(t: int) -> str:
    return _ERROR_TYPE_NAMES.get(t, f"type {t}")


class XidAllocator:
    """Transaction ids: never 0, wrapping at 32 bits."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def __call__(self) -> int:
        x = self._next
        self._next = x + 1 if x < 0xFFFFFFFF else 1
        return x
