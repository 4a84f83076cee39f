"""The symbol table of OVN 23.03's logical flows (ovn-sb(5), lib/logical-fields.c).

A symbol is a field (maps to an OpenFlow field), a subfield (bits of another symbol),
a predicate (shorthand for an expression) or a string field (inport/outport, whose
port names map to tunnel keys in a register).  Each may carry prerequisites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pyovn.logical import ofrep

ORDINAL: Final = "ordinal"
NOMINAL: Final = "nominal"
BOOLEAN: Final = "boolean"

# Where symbols may be written: OVN's WR_* scopes.
WR_DEFAULT: Final = "default"
WR_CT_COMMIT: Final = "ct_commit"
WR_NONE: Final = "none"


@dataclass
class Symbol:
    name: str
    width: int  # 0 for string fields
    level: str
    prereqs: str | None = None
    # Fields: the OpenFlow field.  Subfields: parent symbol and bit offset.
    of_field: str | None = None
    parent: str | None = None
    ofs: int = 0
    predicate: str | None = None
    must_crossproduct: bool = False
    rw: str = WR_DEFAULT
    ovn_field: bool = False  # an OVN-only field set via the controller (icmp4.frag_mtu)

    @property
    def is_string(self) -> bool:
        return self.width == 0 and self.predicate is None


# Fields whose OpenFlow counterpart cannot be masked: they are nominal.
_NOT_MASKABLE: Final = {"dl_type", "nw_proto", "ip_dscp", "nw_ecn", "nw_ttl", "arp_op",
                        "icmp_type", "icmp_code", "icmpv6_type", "icmpv6_code"}


class SymbolTable:
    """name -> Symbol, with helpers to resolve subfields to (field symbol, offset)."""

    def __init__(self) -> None:
        self.symbols: dict[str, Symbol] = {}

    def __getitem__(self, name: str) -> Symbol:
        return self.symbols[name]

    def get(self, name: str) -> Symbol | None:
        return self.symbols.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.symbols

    def add_field(self, name: str, of_field: str, prereqs: str | None = None,
                  must_crossproduct: bool = False, rw: str = WR_DEFAULT,
                  width: int | None = None) -> None:
        w = width if width is not None else ofrep.field_width(of_field)
        level = NOMINAL if of_field in _NOT_MASKABLE else ORDINAL
        self.symbols[name] = Symbol(name, w, level, prereqs, of_field=of_field,
                                    must_crossproduct=must_crossproduct, rw=rw)

    def add_subfield(self, name: str, prereqs: str | None, parent: str, lo: int, hi: int,
                     rw: str = WR_DEFAULT) -> None:
        self.symbols[name] = Symbol(name, hi - lo + 1, ORDINAL, prereqs, parent=parent,
                                    ofs=lo, rw=rw)

    def add_predicate(self, name: str, expansion: str) -> None:
        self.symbols[name] = Symbol(name, 1, BOOLEAN, predicate=expansion, rw=WR_NONE)

    def add_string(self, name: str, of_field: str) -> None:
        self.symbols[name] = Symbol(name, 0, NOMINAL, of_field=of_field)

    def add_ovn_field(self, name: str, width: int) -> None:
        self.symbols[name] = Symbol(name, width, ORDINAL, ovn_field=True, rw=WR_DEFAULT)

    def resolve(self, name: str) -> tuple[Symbol, int]:
        """Follows subfield parents to the underlying field: (field symbol, bit offset)."""
        sym = self.symbols[name]
        ofs = 0
        while sym.parent is not None:
            ofs += sym.ofs
            sym = self.symbols[sym.parent]
        return sym, ofs

    def all_prereqs(self, name: str) -> list[str]:
        """Prerequisite expressions of a symbol and of the symbols it is part of."""
        out = []
        sym: Symbol | None = self.symbols[name]
        while sym is not None:
            if sym.prereqs:
                out.append(sym.prereqs)
            sym = self.symbols[sym.parent] if sym.parent else None
        return out


# Flag bits in reg10 (MFF_LOG_FLAGS), from include/ovn/logical-fields.h.
MLF_ALLOW_LOOPBACK_BIT: Final = 0
MLF_RCV_FROM_RAMP_BIT: Final = 1
MLF_FORCE_SNAT_FOR_DNAT_BIT: Final = 2
MLF_FORCE_SNAT_FOR_LB_BIT: Final = 3
MLF_LOCAL_ONLY_BIT: Final = 4
MLF_NESTED_CONTAINER_BIT: Final = 5
MLF_LOOKUP_MAC_BIT: Final = 6
MLF_LOOKUP_LB_HAIRPIN_BIT: Final = 7
MLF_LOOKUP_FDB_BIT: Final = 8
MLF_SKIP_SNAT_FOR_LB_BIT: Final = 9
MLF_LOCALPORT_BIT: Final = 10
MLF_USE_SNAT_ZONE: Final = 11
MLF_CHECK_PORT_SEC_BIT: Final = 12
MLF_LOOKUP_COMMIT_ECMP_NH_BIT: Final = 13
MLF_USE_LB_AFF_SESSION_BIT: Final = 14

# Logical fields' registers (ovn-architecture(7)).
LOG_FLAGS: Final = "reg10"
LOG_DNAT_ZONE: Final = "reg11"
LOG_SNAT_ZONE: Final = "reg12"
LOG_CT_ZONE: Final = "reg13"
LOG_INPORT: Final = "reg14"
LOG_OUTPORT: Final = "reg15"
LOG_DATAPATH: Final = "metadata"
N_LOG_REGS: Final = 10

CT_STATE_BITS: Final = {"new": 0, "est": 1, "rel": 2, "rpl": 3, "inv": 4, "trk": 5,
                        "snat": 6, "dnat": 7}


def _build() -> SymbolTable:
    t = SymbolTable()
    t.add_string("inport", LOG_INPORT)
    t.add_string("outport", LOG_OUTPORT)
    for i in range(N_LOG_REGS // 4):
        t.add_field(f"xxreg{i}", f"xxreg{i}")
    for i in range(N_LOG_REGS // 2):
        if i // 2 < N_LOG_REGS // 4:
            t.add_subfield(f"xreg{i}", None, f"xxreg{i // 2}", 64 * (1 - i % 2),
                           64 * (1 - i % 2) + 63)
        else:
            t.add_field(f"xreg{i}", f"xreg{i}")
    for i in range(N_LOG_REGS):
        if i // 4 < N_LOG_REGS // 4:
            lo = 32 * (3 - i % 4)
            t.add_subfield(f"reg{i}", None, f"xxreg{i // 4}", lo, lo + 31)
        else:
            lo = 32 * (1 - i % 2)
            t.add_subfield(f"reg{i}", None, f"xreg{i // 2}", lo, lo + 31)

    t.add_field("flags", LOG_FLAGS)
    for name, bit in (("loopback", MLF_ALLOW_LOOPBACK_BIT),
                      ("force_snat_for_dnat", MLF_FORCE_SNAT_FOR_DNAT_BIT),
                      ("force_snat_for_lb", MLF_FORCE_SNAT_FOR_LB_BIT),
                      ("skip_snat_for_lb", MLF_SKIP_SNAT_FOR_LB_BIT),
                      ("use_snat_zone", MLF_USE_SNAT_ZONE)):
        t.add_subfield(f"flags.{name}", None, "flags", bit, bit)

    t.add_field("ct_mark", "ct_mark", rw=WR_CT_COMMIT)
    for name, lo, hi in (("blocked", 0, 0), ("natted", 1, 1), ("ecmp_reply_port", 16, 31),
                         ("skip_snat", 2, 2), ("force_snat", 3, 3)):
        t.add_subfield(f"ct_mark.{name}", None, "ct_mark", lo, hi, rw=WR_CT_COMMIT)
    t.add_field("ct_label", "ct_label", rw=WR_CT_COMMIT)
    for name, lo, hi in (("blocked", 0, 0), ("natted", 1, 1), ("ecmp_reply_eth", 32, 79),
                         ("ecmp_reply_port", 80, 95), ("label", 96, 127)):
        t.add_subfield(f"ct_label.{name}", None, "ct_label", lo, hi, rw=WR_CT_COMMIT)
    t.add_field("ct_state", "ct_state", rw=WR_NONE)
    for name, bit in CT_STATE_BITS.items():
        t.add_subfield(f"ct.{name}", None if name == "trk" else "ct.trk", "ct_state", bit, bit,
                       rw=WR_NONE)

    t.add_field("eth.src", "dl_src")
    t.add_field("eth.dst", "dl_dst")
    t.add_field("eth.type", "dl_type", must_crossproduct=True)
    t.add_predicate("eth.bcast", "eth.dst == ff:ff:ff:ff:ff:ff")
    t.add_subfield("eth.mcast", None, "eth.dst", 40, 40)
    t.add_predicate("eth.mcastv6", "eth.dst[32..47] == 0x3333")

    t.add_field("vlan.tci", "vlan_tci")
    t.add_predicate("vlan.present", "vlan.tci[12]")
    t.add_subfield("vlan.pcp", "vlan.present", "vlan.tci", 13, 15)
    t.add_subfield("vlan.vid", "vlan.present", "vlan.tci", 0, 11)

    t.add_predicate("ip4", "eth.type == 0x800")
    t.add_predicate("ip6", "eth.type == 0x86dd")
    t.add_predicate("ip", "ip4 || ip6")
    t.add_field("ip.proto", "nw_proto", "ip", must_crossproduct=True)
    t.add_field("ip.dscp", "ip_dscp", "ip")
    t.add_field("ip.ecn", "nw_ecn", "ip")
    t.add_field("ip.ttl", "nw_ttl", "ip")

    t.add_field("ip4.src", "nw_src", "ip4")
    t.add_field("ip4.dst", "nw_dst", "ip4")
    t.add_predicate("ip4.src_mcast", "ip4.src[28..31] == 0xe")
    t.add_predicate("ip4.mcast", "eth.mcast && ip4.dst[28..31] == 0xe")

    t.add_predicate("icmp4", "ip4 && ip.proto == 1")
    t.add_field("icmp4.type", "icmp_type", "icmp4")
    t.add_field("icmp4.code", "icmp_code", "icmp4")
    t.add_predicate("igmp", "ip4 && ip.proto == 2")

    t.add_field("ip6.src", "ipv6_src", "ip6")
    t.add_field("ip6.dst", "ipv6_dst", "ip6")
    t.add_field("ip6.label", "ipv6_label", "ip6")
    t.add_predicate("ip6.mcast_rsvd", "ip6.dst[116..127] == 0xff0 && ip6.dst[0..111] == 0x0")
    t.add_predicate("ip6.mcast_all_nodes", "ip6.dst == ff01::1 || ip6.dst == ff02::1")
    t.add_predicate("ip6.mcast_all_rtrs",
                    "ip6.dst == ff01::2 || ip6.dst == ff02::2 || ip6.dst == ff05::2")
    t.add_predicate("ip6.mcast_sol_node", "ip6.dst == ff02::1:ff00:0000/104")
    t.add_predicate("ip6.mcast_flood",
                    "eth.mcastv6 && (ip6.mcast_rsvd || ip6.mcast_all_nodes || "
                    "ip6.mcast_all_rtrs || ip6.mcast_sol_node)")
    t.add_predicate("ip6.mcast", "eth.mcastv6 && ip6.dst[120..127] == 0xff")

    t.add_predicate("icmp6", "ip6 && ip.proto == 58")
    t.add_field("icmp6.type", "icmpv6_type", "icmp6", must_crossproduct=True)
    t.add_field("icmp6.code", "icmpv6_code", "icmp6", must_crossproduct=True)
    t.add_predicate("icmp", "icmp4 || icmp6")

    t.add_field("ip.frag", "nw_frag", "ip")
    t.add_predicate("ip.is_frag", "ip.frag[0]")
    t.add_predicate("ip.later_frag", "ip.frag[1]")
    t.add_predicate("ip.first_frag", "ip.is_frag && !ip.later_frag")

    t.add_predicate("arp", "eth.type == 0x806")
    for f in ("op", "spa", "sha", "tpa", "tha"):
        t.add_field(f"arp.{f}", f"arp_{f}", "arp")
    t.add_predicate("rarp", "eth.type == 0x8035")
    for f in ("op", "spa", "sha", "tpa", "tha"):
        t.add_field(f"rarp.{f}", f"arp_{f}", "rarp")

    t.add_predicate("nd", "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255")
    t.add_predicate("nd_ns", "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255")
    t.add_predicate("nd_ns_mcast",
                    "ip6.mcast && icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255")
    t.add_predicate("nd_na", "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255")
    t.add_predicate("nd_rs", "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255")
    t.add_predicate("nd_ra", "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255")
    t.add_field("nd.target", "nd_target", "nd")
    t.add_field("nd.sll", "nd_sll", "nd_ns")
    t.add_field("nd.tll", "nd_tll", "nd_na")

    # As in 23.03 (later releases also require eth.mcastv6).
    t.add_predicate("mldv1", "ip6.src == fe80::/10 && icmp6.type == {130, 131, 132}")
    t.add_predicate("mldv2", "ip6.dst == ff02::16 && icmp6.type == 143")

    t.add_predicate("tcp", "ip.proto == 6")
    t.add_field("tcp.src", "tcp_src", "tcp")
    t.add_field("tcp.dst", "tcp_dst", "tcp")
    t.add_field("tcp.flags", "tcp_flags", "tcp")
    t.add_predicate("udp", "ip.proto == 17")
    t.add_field("udp.src", "udp_src", "udp")
    t.add_field("udp.dst", "udp_dst", "udp")
    t.add_predicate("sctp", "ip.proto == 132")
    t.add_field("sctp.src", "sctp_src", "sctp")
    t.add_field("sctp.dst", "sctp_dst", "sctp")

    t.add_field("pkt.mark", "pkt_mark")
    t.add_ovn_field("icmp4.frag_mtu", 16)
    t.add_ovn_field("icmp6.frag_mtu", 32)
    return t


SYMTAB: Final = _build()


def default_symtab() -> SymbolTable:
    return SYMTAB
