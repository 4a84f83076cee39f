"""Gratuitous and reverse ARP announcements (ovn-controller's send_garp_rarp).

When a VM's port is bound on this chassis, or a gateway router / distributed gateway port
owns NAT addresses here, the physical network behind a localnet port must learn where those
MACs now live: switches on the segment update their MAC tables, routers their ARP caches.
OVN 23.03 does this with a short burst of broadcasts per address, and so does this module.

What is announced (as the real ovn-controller 23.03 decides it):

- a VIF whose interface is on br-int with a usable OpenFlow port, whose Port_Binding is
  bound to this chassis in SB, on a logical switch with a localnet port whose network this
  chassis maps (ovn-bridge-mappings): its first parsable ``mac`` entry, a GARP for the
  first IPv4 address there, or a RARP when the entry has no IPv4 address (IPv6-only and
  MAC-only ports; 23.03 sends no unsolicited neighbour advertisement);
- on such switches, the ports of type ``l3gateway`` bound here and every ``patch`` port:
  their Port_Binding ``nat_addresses`` ("MAC IP... [is_chassis_resident("lport")]", or
  options:nat-addresses when the column is empty, for old northds).  A patch port's entry
  counts only with an is_chassis_resident() whose port is bound here; an l3gateway port's
  entry needs none.  One GARP per IPv4 address; an entry without IPv4 addresses gets one
  RARP for its MAC (named "<port>-noip").

How (checked against the real ovn-controller 23.03 with a capture on the physical network
and vswitchd's OpenFlow log): a packet-out entering the logical switch's ingress pipeline
as if it came from the announced port (metadata = datapath key, reg14 = port key,
resubmit(CONTROLLER, 8)), so the switch floods it like any broadcast, out of the localnet
port among others.  The first announcement goes 1 s after the address is first wanted,
then after 2, 4, 8 and 16 s: five in all, at +1, +3, +7, +15 and +31 s.

The scheduling state (GarpScheduler) restarts an address when it stops being wanted and
comes back (a port unbound and bound again, a gateway moving here).  One deliberate
difference from 23.03: an entry whose MAC or IPv4 address changes while it stays wanted is
announced afresh (23.03 keeps announcing, or has finished announcing, the old one).

Everything above is pure; GarpAnnouncer at the end is the small asyncio wrapper the
daemon drives (see its docstring for the hook).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyovn.controller.binding import VIF_TYPES, Bindings
from pyovn.controller.model import LocalState, PortBinding, SbState
from pyovn.controller.pinctrl import packet_out_raw
from pyovn.controller.pinctrl_inject import Injector
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S
from pyovn.openflow import SwitchConnection
from pyovn.openflow.actions import encode_actions

log = logging.getLogger("pyovn.controller.garp")

# The real schedule: first announcement FIRST_DELAY after the address is first wanted,
# then the backoff doubles from 2 s until it reaches MAX_BACKOFF; the announcement made
# with the backoff at MAX_BACKOFF is the last (23.03's "at most 5 announcements").
FIRST_DELAY = 1.0
INITIAL_BACKOFF = 1
MAX_BACKOFF = 16
# OpenFlow's 16-bit "controller" port: resubmit(CONTROLLER, 8), as ovn-controller sends.
OFPP_CONTROLLER16 = 0xFFFD

ETH_BROADCAST = b"\xff" * 6
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ARP_OP_REQUEST = 1
RARP_OP_REQUEST_REVERSE = 3

_MAC_RE = re.compile(r"^[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}$")
_RESIDENT_RE = re.compile(r'^is_chassis_resident\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)')
_RESIDENT_START = re.compile(r"^is_chassis_resident\b")
_TOKEN_RE = re.compile(r"\S+")


# --- packets -------------------------------------------------------------------------------


def garp_packet(mac: bytes, ip: bytes) -> bytes:
    """A gratuitous ARP request, as ovn-controller composes it: broadcast, sender and
    target protocol address both the announced IPv4 address, target MAC zero."""
    return (ETH_BROADCAST + mac + struct.pack("!H", ETH_TYPE_ARP)
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, ARP_OP_REQUEST)
            + mac + ip + b"\x00" * 6 + ip)


def rarp_packet(mac: bytes) -> bytes:
    """A reverse ARP "request reverse" for a MAC without an IPv4 address: the MAC in both
    hardware address fields, the protocol addresses zero."""
    return (ETH_BROADCAST + mac + struct.pack("!H", ETH_TYPE_RARP)
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, RARP_OP_REQUEST_REVERSE)
            + mac + b"\x00" * 4 + mac + b"\x00" * 4)


@dataclass(frozen=True)
class Announcement:
    """One address to announce and where the packet enters the logical network."""

    name: str  # the VIF's logical port, or "<port>-<ip>" / "<port>-noip" (23.03's keys)
    mac: bytes  # 6 bytes
    ipv4: bytes | None  # 4 bytes; None: a RARP
    dp_key: int  # Datapath_Binding.tunnel_key of the logical switch
    port_key: int  # tunnel_key of the port it enters from (logical inport, reg14)

    def packet(self) -> bytes:
        return garp_packet(self.mac, self.ipv4) if self.ipv4 else rarp_packet(self.mac)

    def actions(self) -> tuple[O.Action, ...]:
        return (O.SetField(S.LOG_DATAPATH, self.dp_key, (1 << 64) - 1),
                O.SetField(S.LOG_INPORT, self.port_key, 0xFFFFFFFF),
                O.Resubmit(O.OFTABLE_LOG_INGRESS_PIPELINE, hex(OFPP_CONTROLLER16)))

    def packet_out(self, xid: int) -> bytes:
        """The OpenFlow packet-out that injects it (in_port=CONTROLLER)."""
        return packet_out_raw(xid, self.packet(), encode_actions(self.actions()), O.Match())


# --- address parsing (ovn-util's extract_addresses, tolerant like it) ----------------------


def parse_mac(text: str) -> bytes | None:
    if not _MAC_RE.match(text):
        return None
    return bytes(int(x, 16) for x in text.split(":"))


def _ipv4(token: str) -> bytes | None:
    """IPv4 address (or address/prefix) -> its 4 bytes; None if not IPv4."""
    try:
        return ipaddress.IPv4Interface(token).ip.packed
    except ValueError:
        return None


def _is_ipv6(token: str) -> bool:
    try:
        ipaddress.IPv6Interface(token)
    except ValueError:
        return False
    return True


def parse_addresses(text: str) -> tuple[bytes, list[bytes], str] | None:
    """"MAC [IP...] rest" -> (mac, IPv4 addresses in order, rest).  None when there is
    no MAC first (e.g. "unknown", "router", "dynamic", garbage).  The addresses end at the
    first token that is neither IPv4 nor IPv6; 'rest' is the text from there, as written
    (a quoted port name in it keeps its spaces)."""
    if not isinstance(text, str):
        return None
    tokens = list(_TOKEN_RE.finditer(text))
    if not tokens:
        return None
    mac = parse_mac(tokens[0].group())
    if mac is None:
        return None
    ips: list[bytes] = []
    for t in tokens[1:]:
        ip = _ipv4(t.group())
        if ip is not None:
            ips.append(ip)
        elif not _is_ipv6(t.group()):
            return mac, ips, text[t.start():].rstrip()
    return mac, ips, ""


def parse_nat_address(text: str) -> tuple[bytes, list[bytes], str | None] | None:
    """A nat_addresses entry -> (mac, IPv4 addresses, resident port or None).  None when
    unusable: no MAC, or an is_chassis_resident( ... ) that does not parse (anything else
    after the addresses is ignored, as ovn-controller does)."""
    parsed = parse_addresses(text)
    if parsed is None:
        return None
    mac, ips, rest = parsed
    if not _RESIDENT_START.match(rest):
        return mac, ips, None
    m = _RESIDENT_RE.match(rest)
    if m is None:
        return None
    return mac, ips, re.sub(r"\\(.)", r"\1", m.group(1))


# --- what should be announced ----------------------------------------------------------------

NatLookup = Callable[[PortBinding], Iterable[str]]


def _localnet_datapaths(by_name: Mapping[str, PortBinding], b: Bindings) -> set[str]:
    """Local datapaths with a localnet port whose network this chassis maps (23.03's
    local_datapath.localnet_port)."""
    out = set()
    for name in b.wanted_localnets:
        pb = by_name.get(name)
        if pb is not None and pb.datapath in b.local_datapaths:
            out.add(pb.datapath)
    return out


def _vif_announcement(pb: PortBinding, dp_key: int) -> Announcement | None:
    for entry in pb.mac:
        parsed = parse_addresses(entry)
        if parsed is None:
            continue
        mac, ips, _rest = parsed
        return Announcement(pb.logical_port, mac, ips[0] if ips else None, dp_key, pb.key)
    return None


def wanted_announcements(local: LocalState, sb: SbState, b: Bindings,
                         nat_addresses: NatLookup) -> dict[str, Announcement]:
    """Every address this chassis should be announcing now, by 23.03's name for it."""
    me = local.chassis
    if not b.wanted_localnets:  # the common overlay-only chassis pays nothing more
        return {}
    by_name = sb.port_by_name()
    ln_dps = _localnet_datapaths(by_name, b)
    if not ln_dps:
        return {}
    out: dict[str, Announcement] = {}
    # VIFs: the interface's iface-id names a port that SB says is bound here.
    for iface_id in sorted(local.vifs()):
        pb = by_name.get(iface_id)
        if pb is None or pb.chassis != me or pb.type not in VIF_TYPES \
                or pb.parent_port or pb.datapath not in ln_dps:
            continue
        dp = sb.datapaths.get(pb.datapath)
        if dp is None:
            continue
        a = _vif_announcement(pb, dp.key)
        if a is not None:
            out[a.name] = a
    # NAT and router addresses behind gateway ports.
    for pb in sorted(sb.ports.values(), key=lambda p: p.logical_port):
        if pb.datapath not in ln_dps:
            continue
        if not ((pb.type == "l3gateway" and pb.chassis == me) or pb.type == "patch"):
            continue
        dp = sb.datapaths.get(pb.datapath)
        if dp is None:
            continue
        entries = [e for e in nat_addresses(pb) if isinstance(e, str)]
        if not entries:
            opt = pb.options.get("nat-addresses")
            entries = [opt] if opt else []
        for entry in entries:
            parsed = parse_nat_address(entry)
            if parsed is None:
                continue
            mac, ips, lport = parsed
            if lport is None and pb.type == "patch":
                continue  # a distributed gateway port's NAT is announced where it resides
            if lport is not None:
                res = by_name.get(lport)
                if res is None or res.chassis != me:
                    continue
            for ip in ips:
                name = f"{pb.logical_port}-{ipaddress.IPv4Address(ip)}"
                out.setdefault(name, Announcement(name, mac, ip, dp.key, pb.key))
            if not ips:  # a MAC alone (or with IPv6 only): a RARP, as for VIFs
                name = f"{pb.logical_port}-noip"
                out.setdefault(name, Announcement(name, mac, None, dp.key, pb.key))
    return out


def idl_nat_addresses(tables: Mapping[str, Any]) -> NatLookup:
    """Port_Binding.nat_addresses from the SB replica (the controller's model does not
    carry the column); empty for a row or column the replica lacks."""
    def lookup(pb: PortBinding) -> Iterable[str]:
        table = tables.get("Port_Binding")
        row = table.rows.get(pb.uuid) if table is not None else None
        if row is None:
            return ()
        try:
            value = row.raw("nat_addresses")
        except AttributeError:
            return ()
        return tuple(value) if isinstance(value, (tuple, list, set, frozenset)) else ()
    return lookup


# --- when --------------------------------------------------------------------------------------


@dataclass
class _Entry:
    ann: Announcement
    next_time: float | None  # None: done
    backoff: int = INITIAL_BACKOFF
    sent: int = 0


class GarpScheduler:
    """What was announced when.  update() with the wanted set after each computation,
    due() with the clock to get what to send now."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}

    def update(self, wanted: Mapping[str, Announcement], now: float) -> bool:
        """Forget what is no longer wanted, start what is new (first announcement in
        FIRST_DELAY), follow a port's new keys.  True if something new is scheduled."""
        started = False
        for name in [n for n in self.entries if n not in wanted]:
            del self.entries[name]
        for name, ann in wanted.items():
            e = self.entries.get(name)
            if e is not None and (e.ann.mac, e.ann.ipv4) == (ann.mac, ann.ipv4):
                e.ann = ann  # same address, maybe new datapath/port keys: keep the schedule
                continue
            self.entries[name] = _Entry(ann, now + FIRST_DELAY)
            started = True
        return started

    def due(self, now: float) -> list[Announcement]:
        """The announcements to send now; each is rescheduled as after sending."""
        out: list[Announcement] = []
        for name in sorted(self.entries):
            e = self.entries[name]
            if e.next_time is None or now < e.next_time:
                continue
            out.append(e.ann)
            e.sent += 1
            if e.backoff < MAX_BACKOFF:
                e.backoff *= 2
                e.next_time = now + e.backoff
            else:
                e.next_time = None
        return out

    def next_time(self) -> float | None:
        times = [e.next_time for e in self.entries.values() if e.next_time is not None]
        return min(times) if times else None


# --- the daemon's part ---------------------------------------------------------------------------


class GarpAnnouncer(Injector):
    """The controller daemon's hook.  After each iteration that installed flows:

        self.garp.refresh(local, self.mirror.state, comp.bindings, self.sb.tables,
                          self.conn)

    and when the daemon stops: ``self.garp.close()`` (see pinctrl_inject.Injector)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(GarpScheduler(), "gratuitous ARPs", clock)

    def refresh(self, local: LocalState, sb: SbState, b: Bindings,
                sb_tables: Mapping[str, Any], conn: SwitchConnection | None) -> None:
        self.offer(wanted_announcements(local, sb, b, idl_nat_addresses(sb_tables)), conn)
