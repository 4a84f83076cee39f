"""Writes to the chassis' own Open vSwitch database, each building one transaction on the
local IDL: the integration bridge (fail-mode=secure, in-band control off), tunnel ports to
the chassis that share a datapath with this one, patch ports to the physical bridges of
localnet ports, conntrack zones in br-int's external_ids, and ovn-installed on interfaces
whose flows are in the switch."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping

from pyovn.controller.ct_zones import PREFIX as ZONE_PREFIX
from pyovn.controller.model import Chassis, Encap
from pyovn.controller.state import (
    find_bridge,
    local_encap_types,
    open_vswitch_row,
    tunnel_chassis_of,
)
from pyovn.ovsdb.idl import Row, Table, Transaction

log = logging.getLogger("pyovn.controller")

OVS_TABLES: dict[str, list[str]] = {
    "Open_vSwitch": ["external_ids", "bridges", "other_config", "iface_types",
                     "datapath_types"],
    "Bridge": ["name", "ports", "fail_mode", "external_ids", "other_config", "datapath_type"],
    "Port": ["name", "interfaces", "external_ids"],
    "Interface": ["name", "type", "options", "external_ids", "ofport", "bfd", "bfd_status"],
}


def _new_port(txn: Transaction, bridge: Row, name: str, itype: str,
              options: Mapping[str, str], port_ext: Mapping[str, str],
              bfd: Mapping[str, str] | None = None) -> None:
    iface = txn.insert("Interface")
    iface.name = name
    iface.type = itype
    iface.options = dict(options)
    if bfd:
        iface.bfd = dict(bfd)
    port = txn.insert("Port")
    port.name = name
    port.interfaces = [iface]
    port.external_ids = dict(port_ext)
    txn.add_to_set(bridge, "ports", [port])


def _remove_port(txn: Transaction, bridge: Row, port: Row) -> None:
    txn.remove_from_set(bridge, "ports", [port.uuid])


def ensure_bridge(txn: Transaction, tables: Mapping[str, Table], name: str,
                  datapath_type: str | None) -> bool:
    """Creates the integration bridge, or fixes its settings; True if anything changed."""
    br = find_bridge(tables, name)
    if br is None:
        ovs = open_vswitch_row(tables)
        if ovs is None:
            return False
        iface = txn.insert("Interface")
        iface.name = name
        iface.type = "internal"
        port = txn.insert("Port")
        port.name = name
        port.interfaces = [iface]
        br = txn.insert("Bridge")
        br.name = name
        br.fail_mode = "secure"
        br.other_config = {"disable-in-band": "true"}
        if datapath_type:
            br.datapath_type = datapath_type
        br.ports = [port]
        txn.add_to_set(ovs, "bridges", [br])
        return True
    changed = False
    if br.raw("fail_mode") != ("secure",):
        br.fail_mode = "secure"
        changed = True
    if br.raw("other_config").get("disable-in-band") != "true":
        txn.set_key(br, "other_config", "disable-in-band", "true")
        changed = True
    return changed


def _ports_of(tables: Mapping[str, Table], br: Row) -> list[Row]:
    rows = tables["Port"].rows
    return [rows[u] for u in br.raw("ports") if u in rows]


def tunnel_port_name(chassis: str, taken: set[str]) -> str:
    base = f"ovn-{chassis[:6]}"
    n = 0
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# ovn-controller's preference when a chassis offers several encapsulations.
ENCAP_RANK = {"geneve": 3, "stt": 2, "vxlan": 1}


def sync_tunnels(txn: Transaction, tables: Mapping[str, Table], br_int: str,
                 wanted: Mapping[str, Chassis], encap_type: str, *,
                 bfd_chassis: Collection[str] = (),
                 bfd: Mapping[str, str] | None = None) -> bool:
    """Tunnel ports to exactly the chassis in 'wanted' (by name), as ovn-controller makes
    them: over the remote's most preferred encapsulation that this chassis also has
    (ovn-encap-type, else 'encap_type'), none if they share none.  A new tunnel to one of
    'bfd_chassis' is made with BFD on ('bfd', see sync_bfd) in the same transaction, as
    ovn-controller's bfd_run sees the ports encaps_run just added: a gateway's sessions
    start one OVS round trip sooner, and the port never exists without BFD."""
    br = find_bridge(tables, br_int)
    if br is None:
        return False
    local_types = set(local_encap_types(tables) or [encap_type])
    changed = False
    have: dict[str, Row] = {}
    names = set()
    for p in _ports_of(tables, br):
        names.add(p.raw("name"))
        ch = p.raw("external_ids").get("ovn-chassis-id")
        if ch:
            have[tunnel_chassis_of(ch)] = p
    keep: set[str] = set()
    for ch, p in have.items():
        enc = pick_encap(wanted.get(ch), local_types)
        if enc is not None and _tunnel_matches(tables, p, enc):
            keep.add(ch)
            cid = tunnel_id(ch, enc)
            if p.raw("external_ids").get("ovn-chassis-id") != cid:
                # Same tunnel under an older id: relabel it rather than renumber its port.
                txn.set_key(p, "external_ids", "ovn-chassis-id", cid)
                changed = True
        else:
            _remove_port(txn, br, p)
            names.discard(p.raw("name"))
            changed = True
    for ch, c in sorted(wanted.items()):
        if ch in keep:
            continue
        enc = pick_encap(c, local_types)
        if enc is None:
            continue
        name = tunnel_port_name(ch, names)
        names.add(name)
        on = bfd if bfd and ch in bfd_chassis else None
        _new_port(txn, br, name, enc.type, tunnel_options(enc),
                  {"ovn-chassis-id": tunnel_id(ch, enc)}, on)
        if on:
            log.info("Enabled BFD on interface %s", name)
        changed = True
    return changed


def pick_encap(c: Chassis | None, local_types: Iterable[str]) -> Encap | None:
    """The remote's encapsulation of the most preferred type this chassis also uses (the
    first of that type); None if they share no type, which leaves them without a tunnel,
    as with ovn-controller."""
    if c is None:
        return None
    local = set(local_types)
    best: Encap | None = None
    for e in c.encaps:
        if e.type in local and ENCAP_RANK.get(e.type, 0) > \
                (ENCAP_RANK.get(best.type, 0) if best is not None else 0):
            best = e
    return best


def tunnel_options(enc: Encap) -> dict[str, str]:
    """The Interface options: the remote's address, the key from the flows, and the
    remote's csum and dst_port choices (Encap.options), as ovn-controller sets them."""
    opts = {"remote_ip": enc.ip, "key": "flow"}
    eo = dict(enc.options)
    if eo.get("csum") in ("true", "false"):
        opts["csum"] = eo["csum"]
    if eo.get("dst_port"):
        opts["dst_port"] = eo["dst_port"]
    return opts


def tunnel_id(chassis: str, enc: Encap) -> str:
    """external_ids:ovn-chassis-id as ovn-controller writes it: chassis@remote_ip."""
    return f"{chassis}@{enc.ip}"


def _tunnel_matches(tables: Mapping[str, Table], port: Row, enc: Encap) -> bool:
    want = tunnel_options(enc)
    for iu in port.raw("interfaces"):
        i = tables["Interface"].rows.get(iu)
        if i is not None and i.raw("type") == enc.type and dict(i.raw("options")) == want:
            return True
    return False


def sync_bfd(txn: Transaction, tables: Mapping[str, Table], br_int: str,
             chassis: Collection[str], settings: Mapping[str, str],
             staying: Collection[str] | None = None) -> bool:
    """BFD on the tunnels to 'chassis' (ha.bfd_chassis) with 'settings' (ha.bfd_settings),
    off on the other tunnels (ovn-controller's bfd_run).  The whole column is replaced
    whenever it differs, so that settings someone else put there do not linger (as
    bfd_run, which compares the column with what it wants).  With 'staying' (the chassis
    sync_tunnels keeps tunnels to, in the same transaction), the tunnels on their way out
    are left alone rather than written to (and logged) just before they go."""
    br = find_bridge(tables, br_int)
    if br is None:
        return False
    changed = False
    for p in _ports_of(tables, br):
        cid = p.raw("external_ids").get("ovn-chassis-id")
        if not cid:
            continue
        # The id is "<chassis>@<remote ip>": BFD follows the chassis, whichever address.
        ch = tunnel_chassis_of(cid)
        if staying is not None and ch not in staying:
            continue
        on = ch in chassis
        for iu in p.raw("interfaces"):
            i = tables["Interface"].rows.get(iu)
            if i is None:
                continue
            have = dict(i.raw("bfd"))
            want = dict(settings) if on else {}
            if have != want:
                i.bfd = want
                changed = True
                # The real ovn-controller's words, so that logs read alike.
                log.info("%s BFD on interface %s", "Enabled" if want else "Disabled",
                         i.raw("name"))
    return changed


def sync_localnet_patches(txn: Transaction, tables: Mapping[str, Table], br_int: str,
                          wanted: Mapping[str, str]) -> bool:
    """Patch port pairs br-int <-> physical bridge for each localnet port in 'wanted'
    (localnet port -> bridge name)."""
    changed = False
    bridges = {r.raw("name"): r for r in tables["Bridge"].rows.values()}
    have: dict[tuple[str, str], tuple[Row, Row]] = {}
    for br in bridges.values():
        for p in _ports_of(tables, br):
            ln = p.raw("external_ids").get("ovn-localnet-port")
            if ln:
                have[(br.raw("name"), ln)] = (br, p)
    need: set[tuple[str, str]] = set()
    for ln, phys in wanted.items():
        if phys not in bridges or br_int not in bridges:
            continue
        a, b = f"patch-br-int-to-{ln}", f"patch-{ln}-to-br-int"
        need |= {(br_int, ln), (phys, ln)}
        if (br_int, ln) not in have:
            _new_port(txn, bridges[br_int], a, "patch", {"peer": b}, {"ovn-localnet-port": ln})
            changed = True
        if (phys, ln) not in have:
            _new_port(txn, bridges[phys], b, "patch", {"peer": a}, {"ovn-localnet-port": ln})
            changed = True
    for k, (br, p) in have.items():
        if k not in need:
            _remove_port(txn, br, p)
            changed = True
    return changed


def sync_zones(txn: Transaction, tables: Mapping[str, Table], br_int: str,
               zones: Mapping[str, int]) -> bool:
    br = find_bridge(tables, br_int)
    if br is None:
        return False
    ext = br.raw("external_ids")
    want = {f"{ZONE_PREFIX}{k}": str(v) for k, v in zones.items()}
    changed = False
    for k in ext:
        if k.startswith(ZONE_PREFIX) and k not in want:
            txn.remove_key(br, "external_ids", k)
            changed = True
    for k, v in want.items():
        if ext.get(k) != v:
            txn.set_key(br, "external_ids", k, v)
            changed = True
    return changed


def sync_installed(txn: Transaction, tables: Mapping[str, Table],
                   installed: set[str]) -> bool:
    """external_ids:ovn-installed=true on the interfaces of ports in 'installed' (by
    iface-id), removed from the others."""
    changed = False
    for i in tables["Interface"].rows.values():
        ext = i.raw("external_ids")
        iid = ext.get("iface-id")
        on = ext.get("ovn-installed") == "true"
        if iid and iid in installed and not on:
            txn.set_key(i, "external_ids", "ovn-installed", "true")
            changed = True
        elif on and (not iid or iid not in installed):
            txn.remove_key(i, "external_ids", "ovn-installed")
            changed = True
    return changed
