"""The traced packet: a microflow laid out like Open vSwitch's `struct flow`.

OVS keeps one slot for fields that never coexist (the ARP opcode lives in nw_proto, the ARP
addresses in nw_src/nw_dst, TCP/UDP/SCTP ports and ICMP type/code in tp_src/tp_dst, ND's
link-layer addresses in arp_sha/arp_tha).  ovn-trace relies on that: `arp { }` turns an IPv4
packet into an ARP request whose spa/tpa are the old IP addresses.  Packet keeps the same
layout and answers pyovn.logical's OpenFlow field names through aliases, so the evaluator can
read it directly and the tracer's transformations behave like ovn-trace's.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from pyovn.logical import ofrep as O

# OpenFlow field name (pyovn.logical) -> slot in the packet.
ALIAS: Final[dict[str, str]] = {
    "arp_spa": "nw_src", "arp_tpa": "nw_dst", "arp_op": "nw_proto",
    "tcp_src": "tp_src", "udp_src": "tp_src", "sctp_src": "tp_src",
    "icmp_type": "tp_src", "icmpv6_type": "tp_src",
    "tcp_dst": "tp_dst", "udp_dst": "tp_dst", "sctp_dst": "tp_dst",
    "icmp_code": "tp_dst", "icmpv6_code": "tp_dst",
    "nd_sll": "arp_sha", "nd_tll": "arp_tha",
}

ETH_TYPE_IP: Final = 0x0800
ETH_TYPE_IPV6: Final = 0x86DD
ETH_TYPE_ARP: Final = 0x0806
ETH_TYPE_RARP: Final = 0x8035

CS_NEW: Final = 1 << 0
CS_ESTABLISHED: Final = 1 << 1
CS_RELATED: Final = 1 << 2
CS_REPLY_DIR: Final = 1 << 3
CS_INVALID: Final = 1 << 4
CS_TRACKED: Final = 1 << 5
CS_SRC_NAT: Final = 1 << 6
CS_DST_NAT: Final = 1 << 7
CT_STATE_NAMES: Final = ("new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat")

REGISTER_FIELDS: Final = frozenset([f"reg{i}" for i in range(16)] + [f"xreg{i}" for i in range(8)]
                                   + [f"xxreg{i}" for i in range(4)])


def slot(name: str) -> str:
    return ALIAS.get(name, name)


_SLOT_WIDTH: Final = {"tp_src": 16, "tp_dst": 16, "ct_nw_dst": 32, "ct_ipv6_dst": 128,
                      "ct_tp_dst": 16}


def _width(name: str) -> int:
    w = _SLOT_WIDTH.get(name)
    return w if w is not None else O.field_width(name)


class Packet(dict[str, int]):
    """{slot: value}; missing slots are 0.  get() accepts pyovn.logical field names."""

    def get(self, key: str, default: int | None = 0) -> int:  # type: ignore[override]
        v = dict.get(self, ALIAS.get(key, key))
        if v is None:
            return 0 if default is None else default
        return v

    def read(self, name: str) -> int:
        return O.read_field(self, name)

    def copy(self) -> Packet:
        return Packet(self)

    def write(self, name: str, value: int) -> None:
        self.write_bits(name, 0, _width(name) if name not in O.COMPOSITE else
                        32 * len(O.COMPOSITE[name]), value)

    def write_bits(self, name: str, ofs: int, n_bits: int, value: int, mask: int | None = None
                   ) -> None:
        """Writes 'value' (under 'mask', both relative to the subfield) into bits
        ofs..ofs+n_bits-1 of field 'name'."""
        full = (1 << n_bits) - 1
        m = (full if mask is None else mask & full) << ofs
        v = (value << ofs) & m
        regs = O.COMPOSITE.get(name)
        if regs is not None:
            n = len(regs)
            for k, reg in enumerate(regs):
                shift = 32 * (n - 1 - k)
                rm = (m >> shift) & 0xFFFFFFFF
                if rm:
                    old = dict.get(self, reg, 0)
                    self[reg] = (old & ~rm) | ((v >> shift) & rm)
            return
        s = slot(name)
        old = dict.get(self, s, 0)
        self[s] = ((old & ~m) | v) & ((1 << max(_width(s), _width(name))) - 1)

    # -- helpers the tracer uses
    @property
    def dl_type(self) -> int:
        return self.get("dl_type")

    def is_ip(self) -> bool:
        return self.dl_type in (ETH_TYPE_IP, ETH_TYPE_IPV6)

    def clear_conntrack(self) -> None:
        for f in ("ct_state", "ct_zone", "ct_mark", "ct_label", "ct_nw_dst", "ct_ipv6_dst",
                  "ct_tp_dst"):
            self.pop(f, None)


def fmt_mac(v: int) -> str:
    h = f"{v:012x}"
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def fmt_ip4(v: int) -> str:
    return str(ipaddress.IPv4Address(v))


def fmt_ip6(v: int) -> str:
    return str(ipaddress.IPv6Address(v))


def ct_state_string(state: int, sep: str = "|") -> str:
    return sep.join(n for i, n in enumerate(CT_STATE_NAMES) if state >> i & 1)


_FRAG = {0: "no", 1: "first", 3: "later", 2: "later"}


def flow_format(p: Packet) -> str:
    """The packet as Open vSwitch's flow_format() prints it (the first line of a trace)."""
    out: list[str] = []
    dl_type = p.dl_type
    proto = p.get("nw_proto")
    ct_state = p.get("ct_state")
    if ct_state:
        out.append("ct_state=" + ct_state_string(ct_state))
    skip_type = True
    skip_proto = False
    if dl_type == ETH_TYPE_IP:
        name = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 132: "sctp"}.get(proto)
        skip_proto = name is not None
        out.append(name or "ip")
    elif dl_type == ETH_TYPE_IPV6:
        name = {6: "tcp6", 17: "udp6", 132: "sctp6", 58: "icmp6"}.get(proto)
        skip_proto = name is not None
        out.append(name or "ipv6")
    elif dl_type == ETH_TYPE_ARP:
        out.append("arp")
    elif dl_type == ETH_TYPE_RARP:
        out.append("rarp")
    else:
        skip_type = False
    if p.get("metadata"):
        out.append(f"metadata={p.get('metadata'):#x}")
    for i in range(16):
        v = dict.get(p, f"reg{i}", 0)
        if v:
            out.append(f"reg{i}={v:#x}")
    if p.get("pkt_mark"):
        out.append(f"pkt_mark={p.get('pkt_mark'):#x}")
    out.append(f"vlan_tci=0x{p.get('vlan_tci'):04x}")
    out.append(f"dl_src={fmt_mac(p.get('dl_src'))}")
    out.append(f"dl_dst={fmt_mac(p.get('dl_dst'))}")
    if not skip_type:
        out.append(f"dl_type=0x{dl_type:04x}")
    if dl_type == ETH_TYPE_IPV6:
        out.append(f"ipv6_src={fmt_ip6(p.get('ipv6_src'))}")
        out.append(f"ipv6_dst={fmt_ip6(p.get('ipv6_dst'))}")
        out.append(f"ipv6_label=0x{p.get('ipv6_label'):05x}")
    elif dl_type in (ETH_TYPE_IP,):
        out.append(f"nw_src={fmt_ip4(p.get('nw_src'))}")
        out.append(f"nw_dst={fmt_ip4(p.get('nw_dst'))}")
    elif dl_type in (ETH_TYPE_ARP, ETH_TYPE_RARP):
        out.append(f"arp_spa={fmt_ip4(p.get('nw_src'))}")
        out.append(f"arp_tpa={fmt_ip4(p.get('nw_dst'))}")
        out.append(f"arp_op={proto}")
        out.append(f"arp_sha={fmt_mac(p.get('arp_sha'))}")
        out.append(f"arp_tha={fmt_mac(p.get('arp_tha'))}")
    if dl_type in (ETH_TYPE_IP, ETH_TYPE_IPV6):
        if not skip_proto:
            out.append(f"nw_proto={proto}")
        out.append(f"nw_tos={p.get('ip_dscp') << 2}")
        out.append(f"nw_ecn={p.get('nw_ecn')}")
        out.append(f"nw_ttl={p.get('nw_ttl')}")
        out.append(f"nw_frag={_FRAG.get(p.get('nw_frag'), 'no')}")
        if proto in (1, 58) and skip_proto:
            out.append(f"icmp_type={p.get('tp_src') & 0xFF}")
            out.append(f"icmp_code={p.get('tp_dst') & 0xFF}")
            if dl_type == ETH_TYPE_IPV6 and p.get("tp_dst") == 0 and p.get("tp_src") in (135, 136):
                out.append(f"nd_target={fmt_ip6(p.get('nd_target'))}")
                out.append(f"nd_sll={fmt_mac(p.get('arp_sha'))}")
                out.append(f"nd_tll={fmt_mac(p.get('arp_tha'))}")
        elif skip_proto and proto != 2:
            out.append(f"tp_src={p.get('tp_src')}")
            out.append(f"tp_dst={p.get('tp_dst')}")
        if proto == 6 and skip_proto:
            out.append(f"tcp_flags={_tcp_flags(p.get('tcp_flags'))}")
    return ",".join(out)


_TCP_FLAGS = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns")


def _tcp_flags(v: int) -> str:
    if not v:
        return "0"
    return "+".join(n for i, n in enumerate(_TCP_FLAGS) if v >> i & 1)
