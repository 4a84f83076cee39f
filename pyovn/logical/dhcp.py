"""Option tables of put_dhcp_opts, put_dhcpv6_opts and put_nd_ra_opts (the names, codes
and types of OVN's lib/ovn-l7.h) with their type checks and wire encodings.

The encoding is the payload ovn-controller's packet-in handler decodes: DHCPv4 and
ND RA options as (code:8, len:8, value), DHCPv6 options as (code:16, len:16, value).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pyovn.logical import lexer as lx

if TYPE_CHECKING:
    from pyovn.logical.expr import Parser


@dataclass(frozen=True)
class OptDef:
    name: str
    code: int
    # ipv4 ipv6 ipv6_prefix mac str bool uint8 uint16 uint32 static_routes host_id domains
    type: str
    wide: bool = False  # 16-bit code and length (DHCPv6)

    def _value_ok(self, v: lx.Token) -> bool:
        t = self.type
        if t in ("str", "domains"):
            return v.type == lx.STRING
        if v.type != lx.INTEGER:
            return t == "host_id" and v.type == lx.STRING
        if t == "host_id":
            return v.fmt == lx.IPV4 and v.mask is None
        if t == "ipv4":
            return v.fmt == lx.IPV4 and v.mask is None
        if t == "static_routes":
            return v.fmt == lx.IPV4
        if t in ("ipv6", "ipv6_prefix"):
            return v.fmt == lx.IPV6
        if t == "mac":
            return v.fmt == lx.ETHERNET and v.mask is None
        limit = {"bool": 1, "uint8": 0xFF, "uint16": 0xFFFF, "uint32": 0xFFFFFFFF}[t]
        return v.fmt in (lx.DEC, lx.HEX) and v.mask is None and int(v.value) <= limit

    def check(self, vals: list[lx.Token], p: Parser) -> None:
        t = self.type
        if not vals:
            p.error(f"Option {self.name} needs a value.")
        for v in vals:
            if not self._value_ok(v):
                p.error(f"Invalid value for option {self.name} (expecting {t}).", v.pos)
        if t == "static_routes" and len(vals) % 2:
            p.error(f"Option {self.name} needs pairs of prefix and router.", vals[-1].pos)
        if t not in ("ipv4", "ipv6", "static_routes", "domains") and len(vals) != 1:
            p.error(f"Option {self.name} takes exactly one value.", vals[0].pos)

    def value_bytes(self, vals: list[lx.Token]) -> bytes:
        t = self.type
        out = b""
        if t == "ipv4":
            for v in vals:
                out += int(v.value).to_bytes(4, "big")
        elif t == "ipv6":
            for v in vals:
                out += int(v.value).to_bytes(16, "big")
        elif t == "ipv6_prefix":
            v = vals[0]
            plen = 128 if v.mask is None else bin(v.mask).count("1")
            out = bytes([plen]) + int(v.value).to_bytes(16, "big")
        elif t == "mac":
            out = int(vals[0].value).to_bytes(6, "big")
        elif t == "str":
            out = str(vals[0].value).encode()
        elif t == "host_id":
            v = vals[0]
            out = str(v.value).encode() if v.type == lx.STRING else \
                int(v.value).to_bytes(4, "big")
        elif t in ("bool", "uint8"):
            out = bytes([int(vals[0].value)])
        elif t == "uint16":
            out = struct.pack("!H", int(vals[0].value))
        elif t == "uint32":
            out = struct.pack("!I", int(vals[0].value))
        elif t == "static_routes":
            for i in range(0, len(vals), 2):
                pfx, rtr = vals[i], vals[i + 1]
                plen = 32 if pfx.mask is None else bin(pfx.mask).count("1")
                nbytes = (plen + 7) // 8
                out += bytes([plen]) + int(pfx.value).to_bytes(4, "big")[:nbytes]
                out += int(rtr.value).to_bytes(4, "big")
        elif t == "domains":
            for v in vals:
                for name in str(v.value).split(","):
                    for label in name.strip().strip(".").split("."):
                        if label:
                            out += bytes([len(label)]) + label.encode()
                    out += b"\0"
        return out

    def encode(self, vals: list[lx.Token]) -> bytes:
        body = self.value_bytes(vals)
        if self.wide:
            return struct.pack("!HH", self.code, len(body)) + body
        return bytes([self.code, len(body) & 0xFF]) + body


def _table(items: list[tuple[str, int, str]], wide: bool = False) -> dict[str, OptDef]:
    return {n: OptDef(n, c, t, wide) for n, c, t in items}


DHCPV4_OPTS: Final = _table([
    ("offerip", 0, "ipv4"), ("netmask", 1, "ipv4"), ("router", 3, "ipv4"),
    ("dns_server", 6, "ipv4"), ("log_server", 7, "ipv4"), ("lpr_server", 9, "ipv4"),
    ("hostname", 12, "str"), ("domain_name", 15, "str"), ("swap_server", 16, "ipv4"),
    ("ip_forward_enable", 19, "bool"), ("policy_filter", 21, "ipv4"),
    ("default_ttl", 23, "uint8"), ("mtu", 26, "uint16"), ("broadcast_address", 28, "ipv4"),
    ("router_discovery", 31, "bool"), ("router_solicitation", 32, "ipv4"),
    ("arp_cache_timeout", 35, "uint32"), ("ethernet_encap", 36, "bool"),
    ("tcp_ttl", 37, "uint8"), ("tcp_keepalive_interval", 38, "uint32"),
    ("nis_server", 41, "ipv4"), ("ntp_server", 42, "ipv4"),
    ("netbios_name_server", 44, "ipv4"), ("netbios_node_type", 46, "uint8"),
    ("lease_time", 51, "uint32"), ("server_id", 54, "ipv4"), ("T1", 58, "uint32"),
    ("T2", 59, "uint32"), ("tftp_server", 66, "host_id"), ("bootfile_name", 67, "str"),
    ("domain_search_list", 119, "domains"), ("classless_static_route", 121, "static_routes"),
    ("tftp_server_address", 150, "ipv4"), ("path_prefix", 210, "str"),
    ("ms_classless_static_route", 249, "static_routes"), ("wpad", 252, "str"),
    ("next_server", 253, "ipv4"), ("bootfile_name_alt", 254, "str"),
])

DHCPV6_OPTS: Final = _table([
    ("server_id", 2, "mac"), ("ia_addr", 5, "ipv6"), ("dns_server", 23, "ipv6"),
    ("domain_search", 24, "str"), ("fqdn", 39, "str"), ("bootfile_name", 59, "str"),
], wide=True)

ND_RA_OPTS: Final = _table([
    ("addr_mode", 0, "str"), ("slla", 1, "mac"), ("prefix", 3, "ipv6_prefix"),
    ("mtu", 5, "uint32"), ("route_info", 24, "str"), ("rdnss", 25, "ipv6"),
    ("dnssl", 31, "str"), ("router_preference", 253, "str"),
])
