"""Address parsing and normalisation as ovn-nbctl does it (ovn-util.c's normalize_*_str,
OVS's ip_parse_cidr, eth_addr_from_string, inet_parse_active)."""

from __future__ import annotations

import ipaddress
import re

_MAC = re.compile(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}\Z")
_V4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}\Z")

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_mac(text: str) -> bool:
    return _MAC.match(text) is not None


def parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    if not _V4.match(text):
        return None
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def parse_ipv6(text: str) -> ipaddress.IPv6Address | None:
    if ":" not in text:
        return None
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def parse_cidr(text: str, v6: bool) -> tuple[IPAddr, int] | None:
    """ADDR[/PLEN] (or ADDR/MASK for IPv4): the address and prefix length."""
    addr_text, _, plen_text = text.partition("/")
    addr: IPAddr | None = parse_ipv6(addr_text) if v6 else parse_ipv4(addr_text)
    if addr is None:
        return None
    bits = 128 if v6 else 32
    if not plen_text:
        return addr, bits
    if plen_text.isdigit():
        plen = int(plen_text)
        if plen > bits:
            return None
        return addr, plen
    if not v6 and parse_ipv4(plen_text) is not None:
        mask = int(ipaddress.IPv4Address(plen_text))
        plen = bin(mask).count("1")
        if mask != ((1 << 32) - 1) ^ ((1 << (32 - plen)) - 1):
            return None
        return addr, plen
    return None


def normalize_prefix(text: str, v6: bool | None = None) -> str | None:
    """The network of ADDR/PLEN ("10.0.0.5/24" -> "10.0.0.0/24"); a host route is the bare
    address.  v6=None tries IPv4, then IPv6."""
    for fam in ((False, True) if v6 is None else (v6,)):
        parsed = parse_cidr(text, fam)
        if parsed is None:
            continue
        addr, plen = parsed
        bits = 128 if fam else 32
        if plen == bits:
            return str(addr)
        net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
        return f"{net.network_address}/{plen}"
    return None


def normalize_addr(text: str, v6: bool) -> str | None:
    addr: IPAddr | None = parse_ipv6(text) if v6 else parse_ipv4(text)
    return None if addr is None else str(addr)


def parse_host_port(text: str, port_required: bool) -> tuple[IPAddr, int] | None:
    """inet_parse_active: "IP", "IP:PORT", "[IP6]" or "[IP6]:PORT"; port 0 if absent."""
    host, port = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    addr: IPAddr | None = parse_ipv4(host) or parse_ipv6(host)
    if addr is None:
        return None
    if port:
        if not port.isdigit() or int(port) > 65535:
            return None
        return addr, int(port)
    if port_required:
        return None
    return addr, 0
