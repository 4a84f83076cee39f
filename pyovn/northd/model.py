"""What the stage modules work from: a switch port, a switch (from its ports' summaries) or
a router with its ports, addresses parsed and cross-references resolved (router-type switch
ports to their router ports, ACLs of the port groups that reach into a switch).  Built
through an NbView, so every NB read (and every value read from another unit) is recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pyovn.northd.addresses import (
    LportAddresses,
    parse_lrp_networks,
    try_lport_addresses,
)
from pyovn.northd.nb import NbView, Row, column_group, opt

log = logging.getLogger("pyovn.northd")


@dataclass
class Acl:
    uuid: str
    direction: str  # "from-lport" | "to-lport"
    priority: int
    match: str
    action: str
    log: bool
    name: str | None
    severity: str | None
    meter: str | None
    label: int
    options: dict[str, str]


@dataclass
class RouterPort:
    uuid: str
    name: str
    networks: LportAddresses
    enabled: bool
    options: dict[str, str]
    peer: str | None  # the peer port's name (switch port or router port)
    row: Row


@dataclass
class SwitchPort:
    """A switch port as its own unit (units.port_unit) sees it."""

    uuid: str
    name: str
    type: str  # NB type: "", "router", "localnet", "localport", ...
    addresses: list[LportAddresses]  # the "MAC IP..." entries
    has_unknown: bool
    addresses_raw: tuple[str, ...]
    port_security: tuple[str, ...]
    enabled: bool
    options: dict[str, str]
    parent: str | None
    tag: int | None
    tag_request: int | None
    router_port: RouterPort | None = None  # type=router: the peer router port
    dhcpv4: Row | None = None
    dhcpv6: Row | None = None

    @property
    def is_router(self) -> bool:
        return self.type == "router"

    @property
    def is_vif(self) -> bool:
        return self.type == ""


@dataclass(frozen=True, slots=True)
class PortSummary:
    """What its switch's own unit needs of a port (multicast groups, flood, unknown and
    conntrack-bypass flows, the switch's ACLs through port groups), derived by the port's
    unit: the switch reads one value per port instead of parsing every port again, and is
    not recomputed when a port changes in a way that leaves this alone."""

    name: str
    enabled: bool
    is_router: bool
    has_unknown: bool
    router_mac: str | None  # an enabled router-type port's peer router port MAC
    special: bool  # a router port (peer found) or localnet port: skips conntrack
    dhcp_acl: tuple[str, ...]  # matches of the egress ACL exceptions for its DHCP replies
    port_groups: tuple[str, ...]  # UUIDs of the port groups holding it


@dataclass(frozen=True)
class SwitchWide:
    """Everything a switch's switch-wide flows are made from, derived by the switch's unit
    and read by its flows unit, which is thus rebuilt only when one of these changes (not
    for every port that comes or goes)."""

    acls: tuple[Acl, ...]
    stateful: bool  # an ACL reaching the switch is allow-related (see ls_acl.py)
    vlan_passthru: bool
    router_macs: tuple[str, ...]
    any_unknown: bool  # an enabled port has "unknown" addresses
    special_ports: tuple[str, ...]
    dhcp_acl: tuple[str, ...]
    has_dns: bool

    @property
    def has_acls(self) -> bool:
        return bool(self.acls)


@dataclass
class Switch:
    uuid: str
    name: str
    ports: list[PortSummary]
    acls: list[Acl]
    dns: list[tuple[str, dict[str, str]]]  # (DNS uuid, records)
    other_config: dict[str, str] = field(default_factory=dict)

    @property
    def wide(self) -> SwitchWide:
        ports = self.ports
        return SwitchWide(
            tuple(self.acls), any(a.action == "allow-related" for a in self.acls),
            self.other_config.get("vlan-passthru") == "true",
            tuple(sorted({p.router_mac for p in ports if p.router_mac is not None})),
            any(p.has_unknown and p.enabled for p in ports),
            tuple(sorted(p.name for p in ports if p.special)),
            tuple(sorted(m for p in ports for m in p.dhcp_acl)),
            any(records for _u, records in self.dns))


@dataclass
class StaticRoute:
    uuid: str
    prefix: str
    nexthop: str
    output_port: str | None
    policy: str
    route_table: str
    options: dict[str, str]


@dataclass
class Neighbor:
    """A MAC/IP on a switch attached to one of the router's ports (lr_in_arp_resolve)."""

    lrp: str  # the router port's name
    mac: str
    ip4: list[str]
    ip6: list[str]


@dataclass
class Router:
    uuid: str
    name: str
    row: Row
    ports: list[RouterPort]
    routes: list[StaticRoute]
    neighbors: list[Neighbor]
    options: dict[str, str]


def _acl(u: str, r: Row) -> Acl:
    return Acl(u, r["direction"], int(r["priority"]), r["match"], r["action"],
               bool(r.get("log", False)), opt(r, "name"), opt(r, "severity"), opt(r, "meter"),
               int(r.get("label", 0)), dict(r.get("options") or {}))


def _router_port(nb: NbView, u: str, r: Row) -> RouterPort | None:
    networks = parse_lrp_networks(r["mac"], r.get("networks", ())) if _mac_ok(r["mac"]) else None
    if networks is None:
        log.warning("router port %s: bad MAC %r", r["name"], r["mac"])
        return None
    peer = opt(r, "peer")
    if peer is None:
        for _pu, pr in nb.router_port_peers(r["name"]):
            if pr.get("type") == "router":
                peer = pr["name"]
                break
    enabled = opt(r, "enabled")
    return RouterPort(u, r["name"], networks, enabled is not False,
                      dict(r.get("options") or {}), peer, r)


def _mac_ok(mac: str) -> bool:
    from pyovn.northd.addresses import is_mac

    return is_mac(mac)


# The columns of a switch port its own unit reads (not "up", "external_ids", ...: northd
# writing "up" back must not recompute the port).
PORT_COLUMNS = column_group("Logical_Switch_Port", "port", (
    "name", "type", "addresses", "dynamic_addresses", "port_security", "enabled",
    "options", "parent_name", "tag", "tag_request", "dhcpv4_options", "dhcpv6_options"))


def _peer_router_port(nb: NbView, options: Row) -> RouterPort | None:
    rp_name = options.get("router-port")
    found = nb.by_name("Logical_Router_Port", rp_name) if rp_name else None
    return _router_port(nb, found[0], found[1]) if found is not None else None


def _switch_port(nb: NbView, u: str, r: Row) -> SwitchPort:
    addrs: list[LportAddresses] = []
    unknown = False
    raw: list[str] = []
    for a in r.get("addresses", ()):
        raw.append(a)
        if a == "unknown":
            unknown = True
        elif a == "router" or a == "dynamic":
            continue
        else:
            la = try_lport_addresses(a)
            if la is not None:
                addrs.append(la)
    if "dynamic" in raw:
        dyn = opt(r, "dynamic_addresses")
        la = try_lport_addresses(dyn) if dyn else None
        if la is not None:
            addrs.append(la)
    options = dict(r.get("options") or {})
    enabled = opt(r, "enabled")
    sp = SwitchPort(
        uuid=u, name=r["name"], type=r.get("type", ""), addresses=addrs, has_unknown=unknown,
        addresses_raw=tuple(raw), port_security=tuple(r.get("port_security", ())),
        enabled=enabled is not False, options=options,
        parent=opt(r, "parent_name"), tag=opt(r, "tag"), tag_request=opt(r, "tag_request"),
    )
    if sp.is_router:
        sp.router_port = _peer_router_port(nb, options)
        if "router" in raw and sp.router_port is not None:
            sp.addresses.append(LportAddresses(sp.router_port.networks.mac,
                                               sp.router_port.networks.ip4,
                                               tuple(a for a in sp.router_port.networks.ip6)))
    d4 = opt(r, "dhcpv4_options")
    if d4 is not None:
        sp.dhcpv4 = nb.row("DHCP_Options", d4)
    d6 = opt(r, "dhcpv6_options")
    if d6 is not None:
        sp.dhcpv6 = nb.row("DHCP_Options", d6)
    return sp


def build_port(nb: NbView, u: str) -> tuple[str | None, SwitchPort] | None:
    """A switch port and the UUID of its switch (None: no such port)."""
    r = nb.columns(PORT_COLUMNS, u)
    if r is None:
        return None
    return nb.owner(u), _switch_port(nb, u, r)


def summarize(p: SwitchPort, dhcp_acl: tuple[str, ...], port_groups: tuple[str, ...]
              ) -> PortSummary:
    rp = p.router_port
    return PortSummary(
        p.name, p.enabled, p.is_router, p.has_unknown,
        rp.networks.mac if p.is_router and rp is not None and p.enabled else None,
        (p.is_router and rp is not None) or p.type == "localnet", dhcp_acl, port_groups)


def build_switch(nb: NbView, u: str) -> Switch | None:
    r = nb.row("Logical_Switch", u)
    if r is None:
        return None
    ports: list[PortSummary] = []
    pgs: set[str] = set()
    for pu in r.get("ports", ()):
        ps = nb.derived("lsp", pu)
        if ps is not None:
            ports.append(ps)
            pgs.update(ps.port_groups)
    acls: dict[str, Acl] = {}
    for au, ar in nb.rows("ACL", r.get("acls", ())):
        acls[au] = _acl(au, ar)
    # Of a port group only its ACLs matter here (which ports are in it came from the
    # ports' summaries), so a port joining or leaving a group elsewhere costs nothing.
    for _gu, gr in nb.row_columns(_PG_ACLS, pgs):
        for au, ar in nb.rows("ACL", gr.get("acls", ())):
            acls[au] = _acl(au, ar)
    dns = [(du, dict(dr.get("records") or {}))
           for du, dr in nb.rows("DNS", r.get("dns_records", ()))]
    return Switch(u, r["name"], ports, sorted(acls.values(), key=lambda a: a.uuid),
                  dns, dict(r.get("other_config") or {}))


_PG_ACLS = column_group("Port_Group", "acls", ("acls",))
_LS_PORTS = column_group("Logical_Switch", "ports", ("ports",))
_NEIGHBOR_COLUMNS = column_group("Logical_Switch_Port", "neighbor",
                                 ("type", "options", "addresses"))


def build_router(nb: NbView, u: str) -> Router | None:
    r = nb.row("Logical_Router", u)
    if r is None:
        return None
    ports: list[RouterPort] = []
    for pu, pr in nb.rows("Logical_Router_Port", r.get("ports", ())):
        rp = _router_port(nb, pu, pr)
        if rp is not None:
            ports.append(rp)
    routes = []
    for su, sr in nb.rows("Logical_Router_Static_Route", r.get("static_routes", ())):
        routes.append(StaticRoute(su, sr["ip_prefix"], sr["nexthop"], opt(sr, "output_port"),
                                  opt(sr, "policy") or "dst-ip", sr.get("route_table", ""),
                                  dict(sr.get("options") or {})))
    neighbors: list[Neighbor] = []
    for rp in ports:
        for _lu, lr_ in nb.router_port_peers(rp.name):
            if lr_.get("type") != "router":
                continue
            ls_u = nb.owner(_lu)
            ls = nb.columns(_LS_PORTS, ls_u) if ls_u else None
            if ls is None:
                continue
            for _pu, pr in nb.row_columns(_NEIGHBOR_COLUMNS, ls.get("ports", ())):
                if pr.get("type") == "router":
                    other = (pr.get("options") or {}).get("router-port")
                    if not other or other == rp.name:
                        continue
                    f = nb.by_name("Logical_Router_Port", other)
                    if f is None or not _mac_ok(f[1]["mac"]):
                        continue
                    nets = parse_lrp_networks(f[1]["mac"], f[1].get("networks", ()))
                    neighbors.append(Neighbor(rp.name, nets.mac, nets.ip4_addrs,
                                              [a for a in nets.ip6_addrs
                                               if not a.startswith("fe80:")]))
                    continue
                for a in pr.get("addresses", ()):
                    la = try_lport_addresses(a)
                    if la is not None:
                        neighbors.append(Neighbor(rp.name, la.mac, la.ip4_addrs,
                                                  la.ip6_addrs))
    return Router(u, r["name"], r, ports, routes, neighbors, dict(r.get("options") or {}))


def smap(row: Row, column: str) -> dict[str, Any]:
    return dict(row.get(column) or {})
