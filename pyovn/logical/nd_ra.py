"""Router advertisement options as OVN 23.03 encodes them, shared by put_nd_ra_opts (the
answer to a router solicitation, actions_encode.py) and the controller's periodic
advertisements (controller/pinctrl_ra.py): RDNSS, DNSSL and route information options
(lib/packets.c's packet_put_ra_*_opt, ovn's encode_put_nd_ra_option), and the router
preference bits of the RA header; and the option readers and interval default both
northd and the controller use."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping

INFINITE = 0xFFFFFFFF  # the options' lifetimes
MAX_INTERVAL_DEFAULT = 600  # ND_RA_MAX_INTERVAL_DEFAULT, seconds
PRF = {"HIGH": 0x08, "LOW": 0x18}  # RA header flags; anything else: medium (0)
_DNSSL_MAX = 255  # the C encoders' buffer


def min_interval_default(max_interval: int) -> int:
    """nd_ra_min_interval_default(): a third of the maximum from 9 s up, three quarters
    of it below."""
    return max_interval // 3 if max_interval >= 9 else max_interval * 3 // 4


def smap_int(options: Mapping[str, str], key: str, default: int) -> int:
    """smap_get_int(): the default when missing or not an integer."""
    try:
        return int(options.get(key, ""))
    except ValueError:
        return default


def rdnss_option(server: bytes) -> bytes:
    """One recursive DNS server (16 bytes)."""
    return struct.pack("!BBHI", 25, 3, 0, INFINITE) + server


def dnssl_option(text: str) -> bytes:
    """Comma-separated domains, each as DNS labels.  The option's size counts each
    domain's text length (not its encoding) and is rounded up to 8, as 23.03 does; empty
    (no option) when the list is too long for the C encoders' 255-byte buffer."""
    size = 8
    buf = bytearray(_DNSSL_MAX)
    i = 0
    for domain in text.split(","):
        if not domain:
            continue
        size += len(domain.encode())
        if size > _DNSSL_MAX:
            return b""
        for label in domain.split("."):
            if not label:
                continue
            raw = label.encode()
            if i + 1 + len(raw) >= _DNSSL_MAX:
                return b""
            buf[i] = len(raw)
            buf[i + 1:i + 1 + len(raw)] = raw
            i += 1 + len(raw)
        i += 1
    size = (size + 7) // 8 * 8
    return struct.pack("!BBHI", 31, size // 8, 0, INFINITE) + bytes(buf[:size - 8])


def route_info_options(text: str) -> bytes:
    """"PRF-prefix/len,..." (PRF HIGH, LOW or anything else for medium), one option per
    entry; an entry without an IPv6 prefix ends the list, as in 23.03."""
    out = b""
    for entry in text.split(","):
        parts = [p for p in entry.split("-") if p]
        if not parts:
            continue
        flags = PRF.get(parts[0], 0)
        if len(parts) < 2:
            break
        try:
            net = ipaddress.IPv6Interface(parts[1].strip()).network
        except ValueError:
            break
        words = (net.prefixlen + 63) // 64
        out += struct.pack("!BBBBI", 24, 1 + words, net.prefixlen, flags, INFINITE)
        out += net.network_address.packed[:words * 8]
    return out
