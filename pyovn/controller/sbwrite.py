"""Writes to SB, each building into one open transaction: this chassis' Chassis, Encap
and Chassis_Private rows (with the feature flags of CHASSIS_FEATURES), port claims and
releases with Port_Binding.up, and the nb_cfg acknowledgement."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Mapping

from pyovn.controller.state import find_bridge, open_vswitch_row
from pyovn.ovsdb.idl import Row, Table, Transaction

SB_COLUMNS: dict[str, list[str] | None] = {
    "SB_Global": ["nb_cfg", "options"],
    "Chassis": None, "Chassis_Private": None, "Encap": None,
    "Datapath_Binding": None, "Port_Binding": None, "Multicast_Group": None,
    "Logical_Flow": None, "Logical_DP_Group": None, "MAC_Binding": None,
    "Address_Set": None, "Port_Group": None, "DHCP_Options": None, "DHCPv6_Options": None,
    "DNS": None,  # dns_lookup answers from it (pinctrl)
    # Who claims a chassisredirect port (ha.py).
    "HA_Chassis_Group": None, "HA_Chassis": None, "Gateway_Chassis": None,
    # Tables 71/72 and put_fdb (fdb.py); tables 68-70 (lb_hairpin.py).
    "FDB": None, "Load_Balancer": None,
}


# The features this controller implements, under the names and values ovn-controller 23.03
# writes into its Chassis row's other_config.  ovn-northd uses a feature only when every
# chassis advertises it and otherwise writes the older flavour of the flows concerned, so a
# flag here is a promise: claim one only when what it stands for is implemented.
CHASSIS_FEATURES: dict[str, str] = {
    # Port_Binding.up: set to true once the port's flows are in the switch (sync_claims),
    # and back to false on release.  northd then reports NB Logical_Switch_Port.up from it
    # instead of from the mere presence of a chassis.
    "port-up-notif": "true",
    # The ct_mark flavour of conntrack state: ct_mark.blocked, ct_mark.natted,
    # ct_mark.skip_snat, ct_mark.force_snat, ct_mark.ecmp_reply_port (symbols.py) and the
    # ct_lb_mark action, which marks a load-balanced connection in ct_mark rather than with
    # a masked write to ct_label (actions_encode.py).  northd then uses ct_mark.blocked for
    # ACLs and ct_lb_mark for load balancers instead of ct_label.blocked and ct_lb.
    # (The load-balancer hairpin flows, tables 68-70, follow SB_Global
    # options:lb_hairpin_use_ct_mark, which northd sets from these flags: lb_hairpin.py
    # installs either flavour.)
    "ct-no-masked-label": "true",
    # MAC_Binding.timestamp (msec, wall clock) written whenever put_arp/put_nd learns a
    # binding or changes its MAC (pinctrl_handlers.write_mac_bindings).  northd then ages
    # bindings out by it (Logical_Router options:mac_binding_age_threshold); without the
    # timestamp it would see every binding as learned in 1970 and delete it at once.
    "mac-binding-timestamp": "true",
    # The ct_commit_nat action: commit a related packet (an ICMP error about a NATed or
    # load-balanced connection) in the connection's zone with nat, so its headers, inner
    # ones included, are translated like the connection's.  northd then uses it in the ACL
    # and load-balancer stages for ct.rel traffic instead of a plain next.
    "ovn-ct-lb-related": "true",
}


def chassis_other_config(ext_ids: Mapping[str, str], iface_types: Iterable[str] = (),
                         datapath_type: str = "") -> dict[str, str]:
    """This chassis' SB other_config: the feature flags, and the local settings that
    ovn-controller mirrors there for northd and the CMS to read: the Open_vSwitch row's
    external_ids and iface_types, and the integration bridge's datapath_type (the
    ovn-bridge-datapath-type it is to be created with, while it does not exist).  Local
    settings pyovn does not act on (the lflow cache limits, ovn-chassis-mac-mappings) are
    left out rather than advertised."""
    return {
        **CHASSIS_FEATURES,
        "ovn-bridge-mappings": ext_ids.get("ovn-bridge-mappings", ""),
        "datapath-type": datapath_type or ext_ids.get("ovn-bridge-datapath-type", ""),
        "iface-types": ",".join(sorted(set(iface_types))),
        "ovn-cms-options": ext_ids.get("ovn-cms-options", ""),
        # Never an interconnection gateway: pyovn handles no ovn-ic transit switch ports.
        "is-interconn": "false",
    }


def local_chassis_other_config(ovs_tables: Mapping[str, Table], br_int: str) -> dict[str, str]:
    """chassis_other_config from the local Open vSwitch database's replica."""
    ovs = open_vswitch_row(ovs_tables)
    br = find_bridge(ovs_tables, br_int)
    dp_type = br.raw("datapath_type") if br is not None else ""
    return chassis_other_config(
        ovs.raw("external_ids") if ovs is not None else {},
        ovs.raw("iface_types") if ovs is not None else (),
        dp_type if isinstance(dp_type, str) else "")


def find_by_name(table: Table, name: str, column: str = "name") -> Row | None:
    for r in table.rows.values():
        if r.raw(column) == name:
            return r
    return None


def register_chassis(txn: Transaction, tables: Mapping[str, Table], name: str,
                     encap_types: Iterable[str], encap_ips: Iterable[str],
                     other_config: Mapping[str, str]) -> tuple[Row, bool]:
    """Chassis, one Encap per (type, ip), and Chassis_Private: (the Chassis row, whether
    anything changed)."""
    changed = False
    ch = find_by_name(tables["Chassis"], name)
    want_encaps = sorted({(t, ip) for t in encap_types for ip in encap_ips})
    if ch is None:
        ch = txn.insert("Chassis")
        ch.name = name
        ch.hostname = socket.gethostname()
        changed = True
        have: list[tuple[str, str]] = []
    else:
        encs = [tables["Encap"].rows.get(u) for u in ch.raw("encaps")]
        have = sorted((e.raw("type"), e.raw("ip")) for e in encs if e is not None)
    if have != want_encaps:
        rows = []
        for t, ip in want_encaps:
            e = txn.insert("Encap")
            e.type = t
            e.ip = ip
            e.chassis_name = name
            e.options = {"csum": "true"}
            rows.append(e)
        ch.encaps = rows
        changed = True
    cur = dict(ch.raw("other_config"))
    merged = {**cur, **other_config}
    if merged != cur:
        ch.other_config = merged
        changed = True
    cp = find_by_name(tables["Chassis_Private"], name)
    if cp is None:
        cp = txn.insert("Chassis_Private")
        cp.name = name
        cp.chassis = ch
        changed = True
    elif cp.raw("chassis") != (ch.uuid,):
        cp.chassis = ch
        changed = True
    return ch, changed


def sync_claims(txn: Transaction, tables: Mapping[str, Table], chassis: Row,
                claims: set[str], releases: set[str], installed: set[str]) -> int:
    """Binds 'claims' here, sets up=true on those whose flows are installed, and unbinds
    'releases'.  Returns the number of rows written."""
    n = 0
    for pb in tables["Port_Binding"].rows.values():
        name = pb.raw("logical_port")
        if name in claims:
            if pb.raw("chassis") != (chassis.uuid,):
                pb.chassis = chassis
                n += 1
            if name in installed and pb.raw("up") != (True,):
                pb.up = True
                n += 1
        elif name in releases and pb.raw("chassis") == (chassis.uuid,):
            pb.chassis = None
            if pb.raw("up") == (True,):
                pb.up = False
            n += 1
    return n


def ack_nb_cfg(txn: Transaction, tables: Mapping[str, Table], name: str, nb_cfg: int) -> bool:
    cp = find_by_name(tables["Chassis_Private"], name)
    if cp is None or cp.raw("nb_cfg") == nb_cfg:
        return False
    cp.nb_cfg = nb_cfg
    cp.nb_cfg_timestamp = int(time.time() * 1000)
    return True


def sb_options(tables: Mapping[str, Table]) -> dict[str, str]:
    rows = list(tables["SB_Global"].rows.values())
    return dict(rows[0].raw("options")) if rows else {}


def sb_nb_cfg(tables: Mapping[str, Table]) -> int:
    rows = list(tables["SB_Global"].rows.values())
    return int(rows[0].raw("nb_cfg")) if rows else 0
