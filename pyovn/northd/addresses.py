"""Ethernet and IP addresses as northd reads them from NB: Logical_Switch_Port "addresses"
and "port_security" entries ("MAC [IP...]", "router", "unknown", "dynamic") and
Logical_Router_Port "mac"/"networks".  Text forms are normalised as OVN prints them
(lowercase MACs with leading zeros, compressed IPv6)."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

_MAC_RE = re.compile(r"^([0-9A-Fa-f]{1,2}:){5}[0-9A-Fa-f]{1,2}$")
# A plain dotted quad (no leading zeros, which ipaddress refuses) with an optional
# prefix length: the common case, parsed without the ipaddress module's objects.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IP4_RE = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(3[0-2]|[12]?[0-9]))?")


class AddressError(ValueError):
    """An address string northd cannot use (it skips the entry, as ovn-northd does)."""


@dataclass(frozen=True, slots=True)
class Ip4:
    addr: str
    plen: int
    network: str  # "10.0.0.0"
    bcast: str

    @property
    def cidr(self) -> str:
        return f"{self.network}/{self.plen}"


@dataclass(frozen=True, slots=True)
class Ip6:
    addr: str
    plen: int
    network: str  # "fd00::"

    @property
    def cidr(self) -> str:
        return f"{self.network}/{self.plen}"

    @property
    def is_lla(self) -> bool:
        return ipaddress.IPv6Address(self.addr).is_link_local

    @property
    def sn_addr(self) -> str:
        """The solicited-node multicast address (RFC 4291) that NS for addr is sent to."""
        low = int(ipaddress.IPv6Address(self.addr)) & 0xFFFFFF
        return str(ipaddress.IPv6Address((0xFF02 << 112) | (1 << 32) | (0xFF << 24) | low))


@dataclass(frozen=True, slots=True)
class LportAddresses:
    mac: str
    ip4: tuple[Ip4, ...] = ()
    ip6: tuple[Ip6, ...] = ()

    @property
    def ip4_addrs(self) -> list[str]:
        return [a.addr for a in self.ip4]

    @property
    def ip6_addrs(self) -> list[str]:
        return [a.addr for a in self.ip6]

    def text(self) -> str:
        return " ".join([self.mac, *self.ip4_addrs, *self.ip6_addrs])


def parse_mac(s: str) -> str:
    if not _MAC_RE.match(s):
        raise AddressError(f"bad MAC address {s!r}")
    return ":".join(f"{int(x, 16):02x}" for x in s.split(":"))


def is_mac(s: str) -> bool:
    return bool(_MAC_RE.match(s))


def _ip4_text(v: int) -> str:
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


def parse_ip(s: str, default_plen: bool = True) -> Ip4 | Ip6:
    """"10.0.0.1", "10.0.0.1/24", "fd00::1/64"; a bare address gets a host prefix."""
    m = _IP4_RE.fullmatch(s)
    if m is not None:
        a, b, c, d, plen_text = m.groups()
        if plen_text is None and not default_plen:
            raise AddressError(f"{s!r}: prefix length missing")
        plen = 32 if plen_text is None else int(plen_text)
        value = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        first = value & mask
        return Ip4(_ip4_text(value), plen, _ip4_text(first),
                   _ip4_text(first | (~mask & 0xFFFFFFFF)))
    try:
        iface = ipaddress.ip_interface(s)
    except ValueError:
        raise AddressError(f"bad IP address {s!r}") from None
    if "/" not in s and not default_plen:
        raise AddressError(f"{s!r}: prefix length missing")
    net = iface.network
    if isinstance(iface, ipaddress.IPv4Interface):
        return Ip4(str(iface.ip), net.prefixlen, str(net.network_address),
                   str(net.broadcast_address))
    return Ip6(str(iface.ip), net.prefixlen, str(net.network_address))


def parse_lport_addresses(s: str) -> LportAddresses:
    """"MAC [IP[/PLEN]]..." (raises AddressError)."""
    words = s.split()
    if not words:
        raise AddressError("empty address")
    mac = parse_mac(words[0])
    ip4: list[Ip4] = []
    ip6: list[Ip6] = []
    for w in words[1:]:
        a = parse_ip(w)
        if isinstance(a, Ip4):
            ip4.append(a)
        else:
            ip6.append(a)
    return LportAddresses(mac, tuple(ip4), tuple(ip6))


@functools.lru_cache(maxsize=1 << 15)
def try_lport_addresses(s: str) -> LportAddresses | None:
    """Cached: the same port's addresses are read again by its port groups and routers,
    and by every recompute of its unit; LportAddresses is immutable."""
    try:
        return parse_lport_addresses(s)
    except AddressError:
        return None


def mac_to_lla(mac: str) -> Ip6:
    """The EUI-64 link-local address of a MAC (fe80::200:ff:fe00:ff01 for
    00:00:00:00:ff:01)."""
    b = [int(x, 16) for x in mac.split(":")]
    eui = [b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]]
    value = (0xFE80 << 112) | int.from_bytes(bytes(eui), "big")
    return Ip6(str(ipaddress.IPv6Address(value)), 64, "fe80::")


def parse_lrp_networks(mac: str, networks: tuple[str, ...]) -> LportAddresses:
    """A router port's MAC and networks; IPv6 ports (any IPv6 network... and, as in OVN,
    every router port) also get the EUI-64 link-local address, after the configured
    ones."""
    m = parse_mac(mac)
    ip4: list[Ip4] = []
    ip6: list[Ip6] = []
    for n in networks:
        try:
            a = parse_ip(n, default_plen=False)
        except AddressError:
            continue
        if isinstance(a, Ip4):
            ip4.append(a)
        else:
            ip6.append(a)
    ip4.sort(key=lambda a: ipaddress.IPv4Address(a.addr))
    ip6.sort(key=lambda a: ipaddress.IPv6Address(a.addr))
    ip6.append(mac_to_lla(m))
    return LportAddresses(m, tuple(ip4), tuple(ip6))


def mac_to_int(mac: str) -> int:
    return int(mac.replace(":", ""), 16)
