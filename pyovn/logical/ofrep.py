"""A neutral representation of OpenFlow flows: what the logical compiler produces and
what the OpenFlow encoder serialises.  Fields use ovs-ofctl names; values are ints.

Composite registers (xxregN, xregN) are split into the 32-bit regN they overlay when
matched, so that two spellings of the same bits compare equal and conflict properly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

# OpenFlow table numbers of OVN 23.03 (ovn-architecture(7)).
OFTABLE_PHY_TO_LOG: Final = 0
OFTABLE_LOG_INGRESS_PIPELINE: Final = 8
OFTABLE_OUTPUT_LARGE_PKT_DETECT: Final = 37
OFTABLE_OUTPUT_LARGE_PKT_PROCESS: Final = 38
OFTABLE_REMOTE_OUTPUT: Final = 39
OFTABLE_LOCAL_OUTPUT: Final = 40
OFTABLE_CHECK_LOOPBACK: Final = 41
OFTABLE_LOG_EGRESS_PIPELINE: Final = 42
OFTABLE_SAVE_INPORT: Final = 64
OFTABLE_LOG_TO_PHY: Final = 65
OFTABLE_MAC_BINDING: Final = 66
OFTABLE_MAC_LOOKUP: Final = 67
OFTABLE_CHK_LB_HAIRPIN: Final = 68
OFTABLE_CHK_LB_HAIRPIN_REPLY: Final = 69
OFTABLE_CT_SNAT_HAIRPIN: Final = 70
OFTABLE_GET_FDB: Final = 71
OFTABLE_LOOKUP_FDB: Final = 72
OFTABLE_CHK_IN_PORT_SEC: Final = 73
OFTABLE_CHK_IN_PORT_SEC_ND: Final = 74
OFTABLE_CHK_OUT_PORT_SEC: Final = 75
OFTABLE_ECMP_NH_MAC: Final = 76
OFTABLE_ECMP_NH: Final = 77
OFTABLE_CHK_LB_AFFINITY: Final = 78
LOG_PIPELINE_LEN: Final = 29
# Reserved OpenFlow 1.5 port numbers.
OFPP_IN_PORT: Final = 0xFFFFFFF8
OFPP_CONTROLLER: Final = 0xFFFFFFFD
DEFAULT_PRIORITY: Final = 32768

# Field name -> (width in bits, print format).
FIELDS: Final[dict[str, tuple[int, str]]] = {
    "metadata": (64, "hex"), "in_port": (32, "dec"), "conj_id": (32, "dec"),
    "pkt_mark": (32, "hex"), "tun_id": (64, "hex"),
    "dl_src": (48, "mac"), "dl_dst": (48, "mac"), "dl_type": (16, "hex"),
    "vlan_tci": (16, "hex"), "nw_proto": (8, "dec"), "ip_dscp": (6, "dec"),
    "nw_ecn": (2, "dec"), "nw_ttl": (8, "dec"), "nw_frag": (2, "hex"),
    "nw_src": (32, "ipv4"), "nw_dst": (32, "ipv4"),
    "ipv6_src": (128, "ipv6"), "ipv6_dst": (128, "ipv6"), "ipv6_label": (20, "hex"),
    "arp_op": (16, "dec"), "arp_spa": (32, "ipv4"), "arp_tpa": (32, "ipv4"),
    "arp_sha": (48, "mac"), "arp_tha": (48, "mac"),
    "tcp_src": (16, "dec"), "tcp_dst": (16, "dec"), "tcp_flags": (12, "hex"),
    "udp_src": (16, "dec"), "udp_dst": (16, "dec"),
    "sctp_src": (16, "dec"), "sctp_dst": (16, "dec"),
    "icmp_type": (8, "dec"), "icmp_code": (8, "dec"),
    "icmpv6_type": (8, "dec"), "icmpv6_code": (8, "dec"),
    "nd_target": (128, "ipv6"), "nd_sll": (48, "mac"), "nd_tll": (48, "mac"),
    "ct_state": (32, "ct_state"), "ct_mark": (32, "hex"), "ct_label": (128, "hex"),
    "ct_zone": (16, "dec"),
    "tun_src": (32, "ipv4"), "tun_dst": (32, "ipv4"),
    "ct_nw_proto": (8, "dec"), "ct_nw_src": (32, "ipv4"), "ct_nw_dst": (32, "ipv4"),
    "ct_ipv6_src": (128, "ipv6"), "ct_ipv6_dst": (128, "ipv6"),
    "ct_tp_src": (16, "dec"), "ct_tp_dst": (16, "dec"),
    "dp_hash": (32, "hex"), "recirc_id": (32, "dec"),
}
# OVN maps its one Geneve option (4 bytes) to tun_metadata0; ovs-ofctl calls a field as
# wide as its TLV mapping, so a 32-bit value is the whole field.
for _i in range(64):
    FIELDS[f"tun_metadata{_i}"] = (32, "hex")
for _i in range(16):
    FIELDS[f"reg{_i}"] = (32, "hex")
for _i in range(8):
    FIELDS[f"xreg{_i}"] = (64, "hex")
for _i in range(4):
    FIELDS[f"xxreg{_i}"] = (128, "hex")

# Composite field -> its 32-bit registers, most significant first.
COMPOSITE: Final[dict[str, tuple[str, ...]]] = {}
for _i in range(8):
    COMPOSITE[f"xreg{_i}"] = (f"reg{2 * _i}", f"reg{2 * _i + 1}")
for _i in range(4):
    COMPOSITE[f"xxreg{_i}"] = tuple(f"reg{4 * _i + k}" for k in range(4))

CT_STATE_BITS: Final = ("new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat")


def field_width(name: str) -> int:
    return FIELDS[name][0]


def split_composite(name: str, value: int, mask: int) -> list[tuple[str, int, int]]:
    """Splits a (value, mask) on a composite register into its 32-bit registers."""
    regs = COMPOSITE.get(name)
    if regs is None:
        return [(name, value, mask)]
    out = []
    n = len(regs)
    for k, reg in enumerate(regs):
        shift = 32 * (n - 1 - k)
        m = (mask >> shift) & 0xFFFFFFFF
        if m:
            out.append((reg, (value >> shift) & m, m))
    return out


def read_field(packet: Mapping[str, int], name: str) -> int:
    """Reads field 'name' from a packet given as {field: value}; missing fields are 0."""
    regs = COMPOSITE.get(name)
    if regs is None:
        return packet.get(name, 0)
    v = 0
    for reg in regs:
        v = (v << 32) | packet.get(reg, 0)
    return v


_PORT_NAMES: Final = {0xFFFFFFFF: "ANY", 0xFFFFFFFD: "CONTROLLER", 0xFFFFFFF8: "IN_PORT",
                      0xFFFFFFFE: "LOCAL"}


def hex0(value: int) -> str:
    """ovs-ofctl's hexadecimal: zero prints as "0", never "0x0"."""
    return hex(value) if value else "0"


def format_value(name: str, value: int, fmt: str | None = None) -> str:
    fmt = fmt or FIELDS.get(name, (0, "hex"))[1]
    if name == "in_port" and value in _PORT_NAMES:
        return _PORT_NAMES[value]
    if fmt == "mac":
        h = f"{value:012x}"
        return ":".join(h[i:i + 2] for i in range(0, 12, 2))
    if fmt == "ipv4":
        return str(ipaddress.IPv4Address(value))
    if fmt == "ipv6":
        return str(ipaddress.IPv6Address(value))
    if fmt == "dec":
        return str(value)
    return hex0(value)


def _format_ct_state(value: int, mask: int) -> str:
    parts = []
    for i, name in enumerate(CT_STATE_BITS):
        if mask >> i & 1:
            parts.append(("+" if value >> i & 1 else "-") + name)
    rest = mask & ~0xFF
    s = "".join(parts)
    if rest:
        s += f"/{hex0(rest)}"
    return s


_PROTO_NAMES: Final = {(0x800, None): "ip", (0x86DD, None): "ipv6", (0x806, None): "arp",
                       (0x8035, None): "rarp", (0x800, 6): "tcp", (0x800, 17): "udp",
                       (0x800, 132): "sctp", (0x800, 1): "icmp", (0x86DD, 6): "tcp6",
                       (0x86DD, 17): "udp6", (0x86DD, 132): "sctp6", (0x86DD, 58): "icmp6"}
_TP_NAMES: Final = {"tcp_src": "tp_src", "tcp_dst": "tp_dst", "udp_src": "tp_src",
                    "udp_dst": "tp_dst", "sctp_src": "tp_src", "sctp_dst": "tp_dst",
                    "icmpv6_type": "icmp_type", "icmpv6_code": "icmp_code"}
_FRAG_NAMES: Final = {(0, 1): "no", (0, 3): "no", (1, 1): "yes", (1, 3): "first",
                      (3, 3): "later", (2, 2): "later", (0, 2): "not_later"}


def _is_prefix(mask: int, width: int) -> bool:
    inv = ~mask & ((1 << width) - 1)
    return (inv & (inv + 1)) == 0


class Match:
    """A conjunction of masked field tests.  Immutable once built (hashable key)."""

    __slots__ = ("_hash", "_key", "fields")

    def __init__(self, fields: dict[str, tuple[int, int]] | None = None) -> None:
        self.fields: dict[str, tuple[int, int]] = fields if fields is not None else {}
        self._key: tuple[tuple[str, tuple[int, int]], ...] | None = None
        self._hash: int | None = None

    def copy(self) -> Match:
        return Match(dict(self.fields))

    def add(self, name: str, value: int, mask: int) -> bool:
        """ANDs 'name & mask == value' into the match; False if that contradicts it."""
        for reg, v, m in split_composite(name, value, mask):
            if not m:
                continue  # a test of no bits matches everything
            old = self.fields.get(reg)
            if old is None:
                self.fields[reg] = (v & m, m)
                continue
            ov, om = old
            common = om & m
            if (ov ^ v) & common:
                return False
            self.fields[reg] = ((ov & om) | (v & m), om | m)
        self._key = self._hash = None
        return True

    def key(self) -> tuple[tuple[str, tuple[int, int]], ...]:
        """The fields in a canonical order (computed once: a flow's match is hashed and
        compared many times on its way to the switch)."""
        if self._key is None:
            self._key = tuple(sorted(self.fields.items()))
        return self._key

    def __eq__(self, other: object) -> bool:
        # (Dict equality ignores order: no need to sort.)
        return self is other or (isinstance(other, Match) and self.fields == other.fields)

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            # Order-independent without sorting, and cached: a flow's match is hashed
            # several times on its way to the switch.
            h = self._hash = hash(frozenset(self.fields.items()))
        return h

    def matches(self, packet: Mapping[str, int]) -> bool:
        return all(packet.get(name, 0) & m == v for name, (v, m) in self.fields.items())

    def __str__(self) -> str:
        f = self.fields
        parts: list[str] = []
        dl = f.get("dl_type")
        proto = f.get("nw_proto")
        skip: set[str] = set()
        shorthand = None
        if dl and dl[1] == 0xFFFF:
            if proto and proto[1] == 0xFF:
                shorthand = _PROTO_NAMES.get((dl[0], proto[0]))
                if shorthand:
                    skip.add("nw_proto")
            if shorthand is None:
                shorthand = _PROTO_NAMES.get((dl[0], None))
            if shorthand:
                skip.add("dl_type")
        # ovs-ofctl's order: conj_id and conntrack fields, protocol, registers and
        # metadata, then packet fields.
        for name in sorted(f, key=_field_order):
            if shorthand and _field_order(name) >= _FIRST_AFTER_PROTO:
                parts.append(shorthand)
                shorthand = None
            if name in skip:
                continue
            v, m = f[name]
            width = FIELDS.get(name, (128, "hex"))[0]
            shown = _TP_NAMES.get(name, name)
            fmt = FIELDS.get(name, (0, "hex"))[1]
            if fmt == "ct_state":
                parts.append(f"ct_state={_format_ct_state(v, m)}")
            elif name == "vlan_tci" and m == 0x1FFF and v & 0x1000:
                parts.append(f"dl_vlan={v & 0xFFF}")
            elif m == (1 << width) - 1:
                parts.append(f"{shown}={format_value(name, v)}")
            elif fmt in ("ipv4", "ipv6") and _is_prefix(m, width):
                parts.append(f"{shown}={format_value(name, v)}/{bin(m).count('1')}")
            elif fmt in ("ipv4", "ipv6", "mac"):
                parts.append(f"{shown}={format_value(name, v)}/{format_value(name, m)}")
            elif name == "nw_frag" and (v, m) in _FRAG_NAMES:
                parts.append(f"nw_frag={_FRAG_NAMES[(v, m)]}")
            else:
                parts.append(f"{shown}={hex0(v)}/{hex0(m)}")
        if shorthand:
            parts.append(shorthand)
        return ",".join(parts)


_ORDER: dict[str, int] = {}
for _n in (["conj_id", "ct_state", "ct_mark", "ct_label", "ct_zone"]
           + [f"reg{i}" for i in range(16)] + ["metadata", "pkt_mark", "in_port", "tun_id"]
           + list(FIELDS)):
    _ORDER.setdefault(_n, len(_ORDER))
_FIRST_AFTER_PROTO = _ORDER["reg0"]


def _field_order(name: str) -> int:
    return _ORDER.get(name, 10_000)


# ---------------------------------------------------------------------------
# Actions.  Each has __str__ in ovs-ofctl syntax.


@dataclass(frozen=True)
class SubField:
    """Bits [ofs, ofs+n_bits) of OpenFlow field 'field'."""

    field: str
    ofs: int
    n_bits: int

    def __str__(self) -> str:
        width = FIELDS.get(self.field, (0, ""))[0]
        if self.ofs == 0 and self.n_bits == width:
            return f"{_nxm(self.field)}[]"
        if self.n_bits == 1:
            return f"{_nxm(self.field)}[{self.ofs}]"
        return f"{_nxm(self.field)}[{self.ofs}..{self.ofs + self.n_bits - 1}]"


_NXM = {"metadata": "OXM_OF_METADATA", "dl_src": "NXM_OF_ETH_SRC", "dl_dst": "NXM_OF_ETH_DST",
        "dl_type": "NXM_OF_ETH_TYPE", "vlan_tci": "NXM_OF_VLAN_TCI",
        "nw_proto": "NXM_OF_IP_PROTO", "nw_ttl": "NXM_NX_IP_TTL", "nw_src": "NXM_OF_IP_SRC",
        "nw_dst": "NXM_OF_IP_DST", "ipv6_src": "NXM_NX_IPV6_SRC", "ipv6_dst": "NXM_NX_IPV6_DST",
        "ipv6_label": "NXM_NX_IPV6_LABEL", "arp_op": "NXM_OF_ARP_OP",
        "arp_spa": "NXM_OF_ARP_SPA", "arp_tpa": "NXM_OF_ARP_TPA", "arp_sha": "NXM_NX_ARP_SHA",
        "arp_tha": "NXM_NX_ARP_THA", "tcp_src": "NXM_OF_TCP_SRC", "tcp_dst": "NXM_OF_TCP_DST",
        "udp_src": "NXM_OF_UDP_SRC", "udp_dst": "NXM_OF_UDP_DST",
        "sctp_src": "OXM_OF_SCTP_SRC", "sctp_dst": "OXM_OF_SCTP_DST",
        "icmp_type": "NXM_OF_ICMP_TYPE", "icmp_code": "NXM_OF_ICMP_CODE",
        "icmpv6_type": "NXM_NX_ICMPV6_TYPE", "icmpv6_code": "NXM_NX_ICMPV6_CODE",
        "nd_target": "NXM_NX_ND_TARGET", "nd_sll": "NXM_NX_ND_SLL", "nd_tll": "NXM_NX_ND_TLL",
        "ct_mark": "NXM_NX_CT_MARK", "ct_label": "NXM_NX_CT_LABEL",
        "ct_state": "NXM_NX_CT_STATE", "pkt_mark": "NXM_NX_PKT_MARK",
        "in_port": "NXM_OF_IN_PORT", "ip_dscp": "NXM_OF_IP_TOS", "nw_ecn": "NXM_NX_IP_ECN",
        "ct_zone": "NXM_NX_CT_ZONE", "tun_id": "NXM_NX_TUN_ID", "tcp_flags": "NXM_NX_TCP_FLAGS",
        "tun_src": "NXM_NX_TUN_IPV4_SRC", "tun_dst": "NXM_NX_TUN_IPV4_DST",
        "ct_nw_proto": "NXM_NX_CT_NW_PROTO", "ct_nw_src": "NXM_NX_CT_NW_SRC",
        "ct_nw_dst": "NXM_NX_CT_NW_DST", "ct_ipv6_src": "NXM_NX_CT_IPV6_SRC",
        "ct_ipv6_dst": "NXM_NX_CT_IPV6_DST", "ct_tp_src": "NXM_NX_CT_TP_SRC",
        "ct_tp_dst": "NXM_NX_CT_TP_DST", "dp_hash": "NXM_NX_DP_HASH"}


def _nxm(name: str) -> str:
    if name in _NXM:
        return _NXM[name]
    if name.startswith(("reg", "xreg", "xxreg", "tun_metadata")):
        return "NXM_NX_" + name.upper()
    return name


class Action:
    """Base class of the neutral OpenFlow actions."""

    __slots__ = ()


@dataclass(frozen=True)
class Resubmit(Action):
    table: int
    in_port: str = ""

    def __str__(self) -> str:
        return f"resubmit({self.in_port},{self.table})"


@dataclass(frozen=True)
class SetField(Action):
    """set_field:value/mask->field (a masked load)."""

    field: str
    value: int
    mask: int

    def __str__(self) -> str:
        width = FIELDS.get(self.field, (128, "hex"))[0]
        v = format_value(self.field, self.value)
        name = _SET_FIELD_NAMES.get(self.field, self.field)
        # Like ovs-ofctl, a mask is "exact" only if it covers whole bytes.
        if self.mask == (1 << width) - 1 and width % 8 == 0:
            return f"set_field:{v}->{name}"
        m = format_value(self.field, self.mask) if FIELDS.get(self.field, (0, "hex"))[1] in (
            "mac", "ipv4", "ipv6") else hex0(self.mask)
        if FIELDS.get(self.field, (0, "hex"))[1] == "dec":
            v = hex0(self.value)
        return f"set_field:{v}/{m}->{name}"


# set_field prints Ethernet addresses by their OXM names (ovs-ofctl does).
_SET_FIELD_NAMES: Final = {"dl_src": "eth_src", "dl_dst": "eth_dst"}


@dataclass(frozen=True)
class Output(Action):
    """output:PORT (the physical flows' way out of the pipeline)."""

    port: int
    max_len: int = 0

    def __str__(self) -> str:
        if self.port == OFPP_CONTROLLER:
            return f"CONTROLLER:{self.max_len}"
        if self.port == OFPP_IN_PORT:
            return "IN_PORT"
        return f"output:{self.port}"


@dataclass(frozen=True)
class PushVlan(Action):
    ethertype: int = 0x8100

    def __str__(self) -> str:
        return f"push_vlan:{hex(self.ethertype)}"


@dataclass(frozen=True)
class PopVlan(Action):
    def __str__(self) -> str:
        return "pop_vlan"


@dataclass(frozen=True)
class Move(Action):
    src: SubField
    dst: SubField

    def __str__(self) -> str:
        return f"move:{self.src}->{self.dst}"


@dataclass(frozen=True)
class Push(Action):
    src: SubField

    def __str__(self) -> str:
        return f"push:{self.src}"


@dataclass(frozen=True)
class Pop(Action):
    dst: SubField

    def __str__(self) -> str:
        return f"pop:{self.dst}"


@dataclass(frozen=True)
class DecTTL(Action):
    def __str__(self) -> str:
        return "dec_ttl"


@dataclass(frozen=True)
class Conjunction(Action):
    id: int
    clause: int  # 1-based, as ovs-ofctl prints it
    n_clauses: int

    def __str__(self) -> str:
        return f"conjunction({self.id},{self.clause}/{self.n_clauses})"


@dataclass(frozen=True)
class NAT:
    kind: str  # "src", "dst" or "" (nat with no arguments)
    ip_min: str = ""
    ip_max: str = ""
    port_min: int = 0
    port_max: int = 0
    random: bool = False
    persistent: bool = False
    hash: bool = False

    def __str__(self) -> str:
        if not self.kind:
            return "nat"
        s = f"nat({self.kind}"
        if self.ip_min:
            ip = f"[{self.ip_min}]" if ":" in self.ip_min and self.port_min else self.ip_min
            s += f"={ip}"
            if self.ip_max:
                s += f"-{self.ip_max}"
            if self.port_min:
                s += f":{self.port_min}"
                if self.port_max and self.port_max != self.port_min:
                    s += f"-{self.port_max}"
        flags = [n for n, on in (("random", self.random), ("persistent", self.persistent),
                                 ("hash", self.hash)) if on]
        if flags:
            s += "," + ",".join(flags)
        return s + ")"


@dataclass(frozen=True)
class CT(Action):
    """ct(...): conntrack, optionally committing, NATting and executing set-fields."""

    commit: bool = False
    zone: SubField | int | None = None
    table: int | None = None
    nat: NAT | None = None
    exec_: tuple[Action, ...] = ()
    force: bool = False

    def __str__(self) -> str:
        parts = []
        if self.commit:
            parts.append("force" if self.force else "commit")
        if self.table is not None:
            parts.append(f"table={self.table}")
        if self.zone is not None:
            parts.append(f"zone={self.zone}")
        if self.nat is not None:
            parts.append(str(self.nat))
        if self.exec_:
            parts.append("exec(" + ",".join(str(a) for a in self.exec_) + ")")
        return "ct(" + ",".join(parts) + ")"


@dataclass(frozen=True)
class CTClear(Action):
    def __str__(self) -> str:
        return "ct_clear"


@dataclass(frozen=True)
class Controller(Action):
    """controller(...): a packet-in with OVN userdata (action_header + payload).

    'nested' holds actions that ovn-controller receives encoded after the header (e.g.
    the body of arp { ... }); the OpenFlow encoder serialises them into the userdata."""

    opcode: int
    payload: bytes = b""
    nested: tuple[Action, ...] | None = None
    pause: bool = False
    meter_id: int | None = None

    def userdata_prefix(self) -> bytes:
        return self.opcode.to_bytes(4, "big") + b"\0" * 4 + self.payload

    def __str__(self) -> str:
        ud = ".".join(f"{b:02x}" for b in self.userdata_prefix())
        s = f"controller(userdata={ud}"
        if self.nested is not None:
            s += ",nested(" + ",".join(str(a) for a in self.nested) + ")"
        if self.pause:
            s += ",pause"
        if self.meter_id is not None:
            s += f",meter_id={self.meter_id}"
        return s + ")"


@dataclass(frozen=True)
class Group(Action):
    group_id: int

    def __str__(self) -> str:
        return f"group:{self.group_id}"


@dataclass(frozen=True)
class Meter(Action):
    meter_id: int

    def __str__(self) -> str:
        return f"meter:{self.meter_id}"


@dataclass(frozen=True)
class Clone(Action):
    actions: tuple[Action, ...]

    def __str__(self) -> str:
        return "clone(" + ",".join(str(a) for a in self.actions) + ")"


@dataclass(frozen=True)
class CheckPktLarger(Action):
    pkt_len: int
    dst: SubField

    def __str__(self) -> str:
        return f"check_pkt_larger({self.pkt_len})->{self.dst}"


@dataclass(frozen=True)
class SetQueue(Action):
    queue_id: int

    def __str__(self) -> str:
        return f"set_queue:{self.queue_id}"


@dataclass(frozen=True)
class Learn(Action):
    """learn(...) kept as its ovs-ofctl argument text (used by commit_lb_aff and
    commit_ecmp_nh); 'specs' is the ordered list of learn specifications."""

    table: int
    priority: int
    specs: tuple[str, ...]
    idle_timeout: int = 0
    hard_timeout: int = 0
    cookie: int = 0
    delete_learned: bool = False

    def __str__(self) -> str:
        head = [f"table={self.table}"]
        if self.idle_timeout:
            head.append(f"idle_timeout={self.idle_timeout}")
        if self.hard_timeout:
            head.append(f"hard_timeout={self.hard_timeout}")
        if self.priority != DEFAULT_PRIORITY:
            head.append(f"priority={self.priority}")
        if self.cookie:
            head.append(f"cookie={hex(self.cookie)}")
        if self.delete_learned:
            head.append("delete_learned")
        return "learn(" + ",".join(head + list(self.specs)) + ")"


@dataclass(frozen=True)
class Sample(Action):
    probability: int
    collector_set_id: int
    obs_domain_id: int
    obs_point_id: int

    def __str__(self) -> str:
        return (f"sample(probability={self.probability},collector_set_id="
                f"{self.collector_set_id},obs_domain_id={self.obs_domain_id},"
                f"obs_point_id={self.obs_point_id})")


@dataclass(frozen=True)
class Note(Action):
    data: bytes

    def __str__(self) -> str:
        return "note:" + ".".join(f"{b:02x}" for b in self.data)


def format_actions(actions: Iterable[Action]) -> str:
    s = ",".join(str(a) for a in actions)
    return s or "drop"


@dataclass(slots=True)
class Flow:
    """One OpenFlow flow.  (Slots: a chassis holds 10^5 of them, each made once per
    compilation.)"""

    table: int
    priority: int
    match: Match
    actions: tuple[Action, ...]
    cookie: int = 0

    def __str__(self) -> str:
        m = str(self.match)
        head = f"cookie={hex(self.cookie)}, table={self.table}, priority={self.priority}"
        if m:
            head += "," + m
        return f"{head} actions={format_actions(self.actions)}"


@dataclass(frozen=True)
class GroupBucket:
    bucket_id: int
    actions: tuple[Action, ...]
    weight: int = 100
    watch_port: int | None = None


@dataclass(frozen=True)
class GroupSpec:
    """What a group description says, in the form the switch is sent (the description
    string is ovs-ofctl's spelling of it, and the key ids are allocated by)."""

    buckets: tuple[GroupBucket, ...]
    type: str = "select"
    selection_method: str = ""
    fields: tuple[str, ...] = ()
    selection_method_param: int = 0


@dataclass
class GroupTable:
    """Allocates OpenFlow group ids by group description (like ovn_extend_table).  For
    groups, 'specs' keeps what each id stands for, so that the controller can install it."""

    ids: dict[str, int] = field(default_factory=dict)
    next_id: int = 1
    specs: dict[int, GroupSpec] = field(default_factory=dict)

    def get(self, desc: str, spec: GroupSpec | None = None) -> int:
        gid = self.ids.get(desc)
        if gid is None:
            gid = self.ids[desc] = self.next_id
            self.next_id += 1
        if spec is not None:
            self.specs[gid] = spec
        return gid


def parse_ip(s: str) -> int:
    return int(ipaddress.ip_address(s))
