"""NB is translated in independent units, each a pure function of what it reads through an
NbView: one per logical switch, switch port, router, port group and address set, and one
global.  A unit's output is a set of desired SB rows, keyed per SB table by their natural
identity:

- "Datapath_Binding": NB uuid -> (kind, name)
- "Port_Binding": logical_port -> PortRow
- "Multicast_Group": (datapath NB uuid, name) -> (tunnel key, port names)
- "Logical_Flow": LFlow -> None
- "Port_Group": (datapath NB uuid, port group name) -> port names
- "Address_Set": name -> addresses
- "DNS": (DNS NB uuid, datapath NB uuid) -> records
- "SB_Global": "options" -> sorted (key, value) pairs

Tunnel keys of datapaths and ports are not part of the translation: they are allocated when
SB is written (sync.py), and kept stable there.

A switch's work is split in three, so that adding, removing or changing one port costs
that port's flows plus what really depends on the set of ports, not the whole switch:

- "lsp", one per switch port: its Port_Binding and its own flows (port security, ARP/ND
  responder, DHCP, L2 lookup, ...), and a PortSummary of it for its switch (DERIVED);
- "ls", one per switch: its datapath, multicast groups and DNS rows, from its ports'
  summaries and its ACLs (its own and its ports' groups'), and the SwitchWide inputs of
  its switch-wide flows (DERIVED);
- "lsf", one per switch: the switch-wide flows (ACL stages, conntrack bypass of router and
  localnet ports, DHCP reply exceptions, flood and unknown-destination flows, ...), rebuilt
  only when SwitchWide changes, which a plain VIF coming or going leaves alone.

Derived values go from lower to higher levels (UNIT_LEVELS, see translate.py), so a unit
runs again only when what it read changed.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from pyovn.northd import lr_input, lr_routing, ls_acl, ls_arp, ls_dhcp, ls_l2
from pyovn.northd.ipv6_ra import build_nd_ra, ra_options
from pyovn.northd.model import SwitchWide, build_port, build_router, build_switch, summarize
from pyovn.northd.nb import NbView, column_group, opt
from pyovn.northd.stages import FlowSink

UnitKey = tuple[str, str]  # (kind, NB uuid or "" for "global"); kinds: UNIT_KINDS
UnitOut = dict[str, dict[Hashable, Any]]
SB_TABLES = ("Datapath_Binding", "Port_Binding", "Multicast_Group", "Logical_Flow",
             "Port_Group", "Address_Set", "DNS", "SB_Global")
# Not an SB table: values units hand to other units, keyed by the producing unit's key.
DERIVED = "_derived"
# Which NB table's rows each kind of unit stands for.
UNIT_KINDS = {"lsp": "Logical_Switch_Port", "ls": "Logical_Switch", "lsf": "Logical_Switch",
              "lr": "Logical_Router", "pg": "Port_Group", "as": "Address_Set"}
# Units of a higher level read what lower ones derived, so run after them: a port's
# summary -> its switch (multicast groups, SwitchWide) -> the switch's flows.
UNIT_LEVELS = {"lsp": 0, "ls": 1, "lsf": 2}
NORTHD_VERSION = "23.03.1-20.27.0-70.6"


@dataclass(frozen=True, slots=True)
class PortRow:
    """The columns of a Port_Binding that northd owns (tunnel_key aside)."""

    datapath: str  # NB uuid of the switch or router
    type: str
    options: tuple[tuple[str, str], ...]
    mac: tuple[str, ...]
    port_security: tuple[str, ...] = ()
    parent_port: str | None = None
    tag: int | None = None


def _empty() -> UnitOut:
    return {t: {} for t in SB_TABLES}


def port_unit(nb: NbView, uuid: str) -> UnitOut:
    out = _empty()
    built = build_port(nb, uuid)
    if built is None:
        return out
    ls, p = built
    f = FlowSink(ls or "")
    ls_l2.port_security(p, f)
    ls_l2.port_fdb(p, f)
    ls_arp.port_arp_nd_responder(p, f)
    dhcp_acl = ls_dhcp.port_dhcp(p, f)
    ls_l2.port_l2_lookup(p, f)
    pgs = tuple(sorted(nb.port_groups_of(uuid)))
    out[DERIVED] = {("lsp", uuid): summarize(p, dhcp_acl, pgs)}
    if ls is None:
        return out
    if p.is_router:
        peer = p.options.get("router-port")
        options: dict[str, str] = {"peer": peer} if peer else {}
        ptype = "patch"
    else:
        options = p.options
        ptype = p.type
    tag = p.tag if p.tag is not None else (p.tag_request if p.parent else None)
    out["Port_Binding"][p.name] = PortRow(
        ls, ptype, tuple(sorted(options.items())), p.addresses_raw,
        p.port_security, p.parent, tag if p.parent else None)
    out["Logical_Flow"] = dict.fromkeys(f.flows)
    return out


def switch_unit(nb: NbView, uuid: str) -> UnitOut:
    out = _empty()
    sw = build_switch(nb, uuid)
    if sw is None:
        return out
    out["Datapath_Binding"][uuid] = ("ls", sw.name)
    out[DERIVED] = {("ls", uuid): sw.wide}
    for name, (key, ports) in ls_l2.multicast_groups(sw).items():
        out["Multicast_Group"][(uuid, name)] = (key, ports)
    for du, records in sw.dns:
        out["DNS"][(du, uuid)] = tuple(sorted(records.items()))
    return out


def switch_flows_unit(nb: NbView, uuid: str) -> UnitOut:
    out = _empty()
    w = nb.derived("ls", uuid)
    if not isinstance(w, SwitchWide):
        return out
    f = FlowSink(uuid)
    ls_l2.build_port_security(w, f)
    ls_l2.build_fdb(f)
    ls_acl.build_pre_acl_lb(w, f)
    ls_acl.build_acls(w, f)
    ls_l2.build_passthrough(f)
    ls_arp.build_arp_nd_responder(f)
    ls_dhcp.build_dhcp(w, f)
    ls_l2.build_l2_lookup(w, f)
    out["Logical_Flow"] = dict.fromkeys(f.flows)
    return out


def router_unit(nb: NbView, uuid: str) -> UnitOut:
    out = _empty()
    r = build_router(nb, uuid)
    if r is None or opt(r.row, "enabled") is False:
        return out
    out["Datapath_Binding"][uuid] = ("lr", r.name)
    for p in r.ports:
        options = {"peer": p.peer} if p.peer else {}
        options.update(ra_options(p))
        mac = " ".join([p.networks.mac, *p.row.get("networks", ())])
        out["Port_Binding"][p.name] = PortRow(uuid, "patch", tuple(sorted(options.items())),
                                              (mac,))
    f = FlowSink(uuid)
    lr_input.build_admission(r, f)
    lr_input.build_neighbor(r, f)
    lr_input.build_ip_input(r, f)
    lr_routing.build_routing(r, f)
    lr_routing.build_arp_resolve(r, f)
    lr_routing.build_router_misc(r, f)
    build_nd_ra(r, f)
    out["Logical_Flow"] = dict.fromkeys(f.flows)
    return out


def port_group_unit(nb: NbView, uuid: str) -> UnitOut:
    """SB Port_Group rows per switch ("<dp key>_<name>" once written) and the address sets
    <name>_ip4 / <name>_ip6 of the group's ports' addresses."""
    out = _empty()
    g = nb.row("Port_Group", uuid)
    if g is None:
        return out
    name = g["name"]
    per_dp: dict[str, list[str]] = {}
    ip4: set[str] = set()
    ip6: set[str] = set()
    from pyovn.northd.addresses import try_lport_addresses

    for pu, pr in nb.row_columns(_PG_PORT_COLUMNS, g.get("ports", ())):
        owner = nb.owner(pu)
        if owner is None:
            continue
        per_dp.setdefault(owner, []).append(pr["name"])
        for a in pr.get("addresses", ()):
            la = try_lport_addresses(a)
            if la is not None:
                ip4.update(la.ip4_addrs)
                ip6.update(la.ip6_addrs)
    for dp, ports in per_dp.items():
        out["Port_Group"][(dp, name)] = tuple(sorted(ports))
    out["Address_Set"][f"{name}_ip4"] = tuple(sorted(ip4))
    out["Address_Set"][f"{name}_ip6"] = tuple(sorted(ip6))
    return out


_PG_PORT_COLUMNS = column_group("Logical_Switch_Port", "pg_member", ("name", "addresses"))


def address_set_unit(nb: NbView, uuid: str) -> UnitOut:
    out = _empty()
    a = nb.row("Address_Set", uuid)
    if a is not None:
        out["Address_Set"][a["name"]] = tuple(a.get("addresses", ()))
    return out


def global_unit(nb: NbView, _uuid: str) -> UnitOut:
    out = _empty()
    rows = nb.all_rows("NB_Global")
    options: dict[str, str] = dict(rows[0][1].get("options") or {}) if rows else {}
    options.setdefault("max_tunid", "16711680")
    options["northd_internal_version"] = NORTHD_VERSION
    out["SB_Global"]["options"] = tuple(sorted(options.items()))
    svc = options.get("svc_monitor_mac")
    out["Address_Set"]["svc_monitor_mac"] = (svc,) if svc else ()
    return out


UNIT_FUNCS = {"ls": switch_unit, "lsf": switch_flows_unit, "lsp": port_unit, "lr": router_unit,
              "pg": port_group_unit, "as": address_set_unit, "global": global_unit}


def compute_unit(nb: NbView, key: UnitKey) -> UnitOut:
    return UNIT_FUNCS[key[0]](nb, key[1])
