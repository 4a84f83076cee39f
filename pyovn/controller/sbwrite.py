"""Writes to SB, each building into one open transaction: this chassis' Chassis, Encap
and Chassis_Private rows, port claims and releases with Port_Binding.up, and the nb_cfg
acknowledgement."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Mapping

from pyovn.ovsdb.idl import Row, Table, Transaction

SB_COLUMNS: dict[str, list[str] | None] = {
    "SB_Global": ["nb_cfg", "options"],
    "Chassis": None, "Chassis_Private": None, "Encap": None,
    "Datapath_Binding": None, "Port_Binding": None, "Multicast_Group": None,
    "Logical_Flow": None, "Logical_DP_Group": None, "MAC_Binding": None,
    "Address_Set": None, "Port_Group": None, "DHCP_Options": None, "DHCPv6_Options": None,
    "DNS": None,  # dns_lookup answers from it (pinctrl)
}


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


def sb_nb_cfg(tables: Mapping[str, Table]) -> int:
    rows = list(tables["SB_Global"].rows.values())
    return int(rows[0].raw("nb_cfg")) if rows else 0
