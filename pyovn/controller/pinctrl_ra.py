"""Periodic IPv6 router advertisements (ovn-controller's prepare_ipv6_ras / ipv6_ra_send).

A logical router port with ipv6_ra_configs:send_periodic=true gets, from northd, Port_Binding
options ipv6_ra_send_periodic, ipv6_ra_address_mode, ipv6_ra_{min,max}_interval,
ipv6_ra_src_eth, ipv6_ra_src_addr and, when configured, ipv6_ra_mtu, ipv6_ra_prefixes,
ipv6_ra_prf, ipv6_ra_rdnss, ipv6_ra_dnssl and ipv6_ra_route_info.  Every chassis on which the
router's datapath is local sends the advertisement into the switch on the other side (the
port's "peer"), as if it came from that switch's router port, with the local-only flag set:
each chassis reaches its own VMs, nothing crosses a tunnel.  The first goes out between
min_interval and max_interval seconds after the port is first seen, then again after a
random time in that range, as 23.03 does.

The bytes are 23.03's (compose_nd_ra, then packet_put_ra_{prefix,rdnss,dnssl,route_info}_opt
of Open vSwitch's lib/packets.c), checked against a capture of the real ovn-controller's
advertisements in tests/sandbox/test_ipv6_ra.py.  A port whose options do not make a valid
configuration is skipped with a warning, as ovn-controller does.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyovn.controller.binding import Bindings
from pyovn.controller.model import SbState
from pyovn.controller.pinctrl import packet_out_raw
from pyovn.controller.pinctrl_garp import OFPP_CONTROLLER16, parse_mac
from pyovn.controller.pinctrl_inject import Injector
from pyovn.controller.pinctrl_pkt import l4_csum
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S
from pyovn.logical.nd_ra import (
    INFINITE,
    MAX_INTERVAL_DEFAULT,
    PRF,
    dnssl_option,
    min_interval_default,
    rdnss_option,
    route_info_options,
    smap_int,
)
from pyovn.openflow import SwitchConnection
from pyovn.openflow.actions import encode_actions

log = logging.getLogger("pyovn.controller.ra")

ND_ROUTER_ADVERT = 134
IPPROTO_ICMPV6 = 58
RA_LIFETIME = 0xFFFF  # IPV6_ND_RA_LIFETIME
FLAG_MANAGED = 0x80
FLAG_OTHER = 0x40
PREFIX_ON_LINK = 0x80
PREFIX_AUTONOMOUS = 0x40
ALL_NODES_MAC = bytes.fromhex("333300000001")
ALL_NODES = ipaddress.IPv6Address("ff02::1").packed


@dataclass(frozen=True)
class RaConfig:
    eth_src: bytes
    ipv6_src: bytes
    min_interval: int
    max_interval: int
    mo_flags: int
    la_flags: int
    mtu: int
    prefixes: tuple[tuple[int, bytes], ...]  # (prefix length, 16-byte address)
    rdnss: bytes | None
    dnssl: str
    route_info: str


def ra_config(options: Mapping[str, str]) -> RaConfig | None:
    """ipv6_ra_update_config(): the advertisement a Port_Binding's options describe, or
    None (logged) when they do not make one."""
    max_i = smap_int(options, "ipv6_ra_max_interval", MAX_INTERVAL_DEFAULT)
    min_i = smap_int(options, "ipv6_ra_min_interval", min_interval_default(max_i))
    mtu = smap_int(options, "ipv6_ra_mtu", 0)
    mode = options.get("ipv6_ra_address_mode")
    mo, la = 0, PREFIX_ON_LINK
    if mode is None:
        log.warning("No address mode specified")
        return None
    if mode == "dhcpv6_stateless":
        mo, la = FLAG_OTHER, la | PREFIX_AUTONOMOUS
    elif mode == "dhcpv6_stateful":
        mo = FLAG_MANAGED
    elif mode == "slaac":
        la |= PREFIX_AUTONOMOUS
    else:
        log.warning("Invalid address mode %s", mode)
        return None
    prefixes = []
    text = options.get("ipv6_ra_prefixes")
    if text:
        for token in text.split():
            try:
                net = ipaddress.IPv6Interface(token)
            except ValueError:
                continue  # (extract_ip_addresses skips IPv4 ones; 23.03 sends IPv6 only)
            prefixes.append((net.network.prefixlen, net.ip.packed))
        if not prefixes and not all(_is_ipv4(t) for t in text.split()):
            log.warning("Invalid IPv6 prefixes: %s", text)
            return None
    eth = parse_mac(options.get("ipv6_ra_src_eth", ""))
    if eth is None:
        log.warning("Invalid ethernet source %s", options.get("ipv6_ra_src_eth"))
        return None
    try:
        src = ipaddress.IPv6Address(options.get("ipv6_ra_src_addr", "")).packed
    except ValueError:
        log.warning("Invalid IP source %s", options.get("ipv6_ra_src_addr"))
        return None
    mo |= PRF.get(options.get("ipv6_ra_prf", ""), 0)
    rdnss = None
    if "ipv6_ra_rdnss" in options:
        try:
            rdnss = ipaddress.IPv6Address(options["ipv6_ra_rdnss"]).packed
        except ValueError:
            log.warning("Invalid RDNSS source %s", options["ipv6_ra_rdnss"])
            return None
    return RaConfig(eth, src, min_i, max_i, mo, la, mtu, tuple(prefixes), rdnss,
                    options.get("ipv6_ra_dnssl", ""), options.get("ipv6_ra_route_info", ""))


def _is_ipv4(token: str) -> bool:
    try:
        ipaddress.IPv4Interface(token)
    except ValueError:
        return False
    return True


# --- the packet ------------------------------------------------------------------------------


def ra_packet(cfg: RaConfig) -> bytes:
    """The Ethernet frame: to all nodes (33:33:00:00:00:01, ff02::1) from the router port,
    hop limit 255; RA with the M/O and preference flags, router lifetime 0xffff; options
    source link-layer address, MTU (when set), prefixes, RDNSS, DNSSL, route information."""
    msg = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 255, cfg.mo_flags, RA_LIFETIME,
                      0, 0)
    msg += bytes([1, 1]) + cfg.eth_src
    if cfg.mtu:
        msg += struct.pack("!BBHI", 5, 1, 0, cfg.mtu & 0xFFFFFFFF)
    for plen, addr in cfg.prefixes:
        msg += struct.pack("!BBBBIII", 3, 4, plen, cfg.la_flags, INFINITE, INFINITE, 0) + addr
    if cfg.rdnss is not None:
        msg += rdnss_option(cfg.rdnss)
    if cfg.dnssl:
        msg += dnssl_option(cfg.dnssl)
    if cfg.route_info:
        msg += route_info_options(cfg.route_info)
    csum = l4_csum(True, cfg.ipv6_src, ALL_NODES, IPPROTO_ICMPV6, msg)
    msg = msg[:2] + struct.pack("!H", csum) + msg[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(msg), IPPROTO_ICMPV6, 255) + cfg.ipv6_src + ALL_NODES
    return ALL_NODES_MAC + cfg.eth_src + b"\x86\xdd" + ip6 + msg


@dataclass(frozen=True)
class Advertisement:
    """One router port's periodic advertisement and where it enters the logical switch."""

    name: str  # the router port's logical_port
    cfg: RaConfig
    dp_key: int  # the peer switch port's datapath
    port_key: int  # the peer switch port (logical inport)

    def actions(self) -> tuple[O.Action, ...]:
        local_only = 1 << S.MLF_LOCAL_ONLY_BIT
        return (O.SetField(S.LOG_DATAPATH, self.dp_key, (1 << 64) - 1),
                O.SetField(S.LOG_INPORT, self.port_key, 0xFFFFFFFF),
                O.SetField(S.LOG_FLAGS, local_only, local_only),
                O.Resubmit(O.OFTABLE_LOG_INGRESS_PIPELINE, hex(OFPP_CONTROLLER16)))

    def packet_out(self, xid: int) -> bytes:
        return packet_out_raw(xid, ra_packet(self.cfg), encode_actions(self.actions()),
                              O.Match())


def wanted_advertisements(sb: SbState, b: Bindings) -> dict[str, Advertisement]:
    """prepare_ipv6_ras(): the router ports of local datapaths that advertise, with a peer
    that exists and options that make a configuration."""
    out: dict[str, Advertisement] = {}
    local = b.local_datapaths
    ras = [p for p in sb.ports.values()
           if p.options.get("ipv6_ra_send_periodic") == "true" and p.datapath in local]
    if not ras:
        return out
    by_name = sb.port_by_name()
    for pb in sorted(ras, key=lambda p: p.logical_port):
        peer = by_name.get(pb.options.get("peer", ""))
        if peer is None:
            continue
        dp = sb.datapaths.get(peer.datapath)
        cfg = ra_config(pb.options)
        if dp is None or cfg is None:
            continue
        out[pb.logical_port] = Advertisement(pb.logical_port, cfg, dp.key, peer.key)
    return out


# --- when ------------------------------------------------------------------------------------


@dataclass
class _Entry:
    ra: Advertisement
    next_time: float
    sent: int = 0


class RaScheduler:
    """Each advertisement at a random time between its minimum and maximum interval
    (whole milliseconds, as ipv6_ra_calc_next_announce), the first too."""

    def __init__(self, rng: Callable[[int], int] | None = None) -> None:
        self.entries: dict[str, _Entry] = {}
        self.rng = rng or random.SystemRandom().randrange

    def _next(self, cfg: RaConfig, now: float) -> float:
        span = max(0, (cfg.max_interval - cfg.min_interval) * 1000)
        return now + (cfg.min_interval * 1000 + (self.rng(span) if span else 0)) / 1000

    def update(self, wanted: Mapping[str, Advertisement], now: float) -> bool:
        started = False
        for name in [n for n in self.entries if n not in wanted]:
            del self.entries[name]
        for name, ra in wanted.items():
            e = self.entries.get(name)
            if e is None:
                self.entries[name] = _Entry(ra, self._next(ra.cfg, now))
                started = True
                continue
            old = e.ra.cfg
            if (old.min_interval, old.max_interval) != (ra.cfg.min_interval,
                                                         ra.cfg.max_interval):
                e.next_time = self._next(ra.cfg, now)
                started = True
            e.ra = ra
        return started

    def due(self, now: float) -> list[Advertisement]:
        out = []
        for name in sorted(self.entries):
            e = self.entries[name]
            if now >= e.next_time:
                out.append(e.ra)
                e.sent += 1
                e.next_time = self._next(e.ra.cfg, now)
        return out

    def next_time(self) -> float | None:
        return min((e.next_time for e in self.entries.values()), default=None)


class RaAnnouncer(Injector):
    """The daemon's hook: refresh() after each computation that installed flows, close()
    when it stops (pinctrl_inject.Injector)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[int], int] | None = None) -> None:
        super().__init__(RaScheduler(rng), "IPv6 router advertisements", clock)

    def refresh(self, sb: SbState, b: Bindings, conn: SwitchConnection | None) -> None:
        self.offer(wanted_advertisements(sb, b), conn)
