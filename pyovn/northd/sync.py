"""Writes desired SB contents into an SB transaction: only the rows whose keys are dirty (or,
for a full sync, every key either side has), with minimal column updates.

Tunnel keys are allocated here and never change for an existing datapath or port (a port
that moves to another datapath gets a key there), so that chassis need not reprogram and
restarts keep them.  Datapath keys come from 1..16711680, port keys from 1..32767 (4095 and
2047 once a chassis uses VXLAN: tunnel_keys.py), each picked after the last one given out,
as ovn-northd's hint does.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from typing import Any, cast

from pyovn.logical.dhcp import DHCPV4_OPTS, DHCPV6_OPTS
from pyovn.northd.sbindex import SbIndex
from pyovn.northd.stages import LFlow
from pyovn.northd.translate import Desired
from pyovn.northd.tunnel_keys import MAX_PORT_KEY
from pyovn.northd.units import SB_TABLES, PortRow
from pyovn.ovsdb.idl import Replica, Row, Transaction

log = logging.getLogger("pyovn.northd")

DHCPV6_SB = ("server_id", "ia_addr", "dns_server", "domain_search")


class KeyAllocator:
    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi, self.hint = lo, hi, lo - 1

    def alloc(self, used: Iterable[int] | dict[int, Any]) -> int | None:
        used_set = used if isinstance(used, dict | set) else set(used)
        n = self.hi - self.lo + 1
        k = self.hint
        for _ in range(n):
            k = k + 1 if k < self.hi else self.lo
            if k not in used_set:
                self.hint = k
                return k
        return None


class SbWriter:
    """One sync pass into an open transaction on the SB replica."""

    def __init__(self, replica: Replica, index: SbIndex, dp_alloc: KeyAllocator,
                 port_allocs: dict[str, KeyAllocator], port_max: int = MAX_PORT_KEY) -> None:
        self.replica = replica
        self.port_max = port_max  # for datapaths whose first port this pass keys
        self.tables = replica.tables
        self.index = index
        self.dp_alloc = dp_alloc
        self.port_allocs = port_allocs
        self.new_dps: dict[str, Row] = {}  # NB uuid -> inserted row
        self.new_dp_keys: dict[str, int] = {}
        self.new_pbs: dict[str, Row] = {}
        self.used_dp_keys: set[int] = set()
        self.used_port_keys: dict[str, set[int]] = {}
        self.ops = 0

    # --- helpers ------------------------------------------------------------------------

    def _row(self, table: str, uuid: str) -> Row | None:
        return self.tables[table].rows.get(uuid)

    def _one(self, table: str, key: Hashable) -> tuple[Row | None, list[Row]]:
        """The row with `key` and any duplicates (to delete)."""
        rows = [r for u in sorted(self.index.find(table, key))
                if (r := self._row(table, u)) is not None]
        return (rows[0] if rows else None), rows[1:]

    def dp_ref(self, nb_uuid: str) -> Row | None:
        new = self.new_dps.get(nb_uuid)
        if new is not None:
            return new
        row, _ = self._one("Datapath_Binding", nb_uuid)
        return row

    def dp_key(self, nb_uuid: str) -> int | None:
        if nb_uuid in self.new_dp_keys:
            return self.new_dp_keys[nb_uuid]
        row = self.dp_ref(nb_uuid)
        return None if row is None else int(row.raw("tunnel_key"))

    def _set(self, row: Row, column: str, value: Any, current: Any) -> None:
        if current != value:
            setattr(row, column, value)
            self.ops += 1

    # --- tables -------------------------------------------------------------------------

    def sync_datapaths(self, desired: dict[Hashable, Any], keys: Iterable[Hashable]) -> None:
        for k in keys:
            nb = str(k)
            want = desired.get(nb)
            row, dups = self._one("Datapath_Binding", nb)
            for d in dups:
                self._delete_dp(d)
            if want is None:
                if row is not None:
                    self._delete_dp(row)
                continue
            kind, name = want
            ids = {"logical-switch" if kind == "ls" else "logical-router": nb, "name": name}
            if row is None:
                used = self.index.dp_keys.keys() | self.used_dp_keys
                key = self.dp_alloc.alloc(used)
                if key is None:
                    log.error("no free datapath tunnel key for %s", name)
                    continue
                self.used_dp_keys.add(key)
                row = self.replica.txn.insert("Datapath_Binding")  # type: ignore[union-attr]
                row.tunnel_key = key
                row.external_ids = ids
                self.new_dps[nb] = row
                self.new_dp_keys[nb] = key
                self.ops += 1
            else:
                self._set(row, "external_ids", ids, row.raw("external_ids"))

    def _delete_dp(self, row: Row) -> None:
        # MAC_Binding rows hold strong references to their datapath.
        for mb in list(self.tables["MAC_Binding"].rows.values()):
            if mb.raw("datapath") == row.uuid:
                mb.delete()
        row.delete()
        self.ops += 1

    def sync_ports(self, desired: dict[Hashable, Any], keys: Iterable[Hashable]) -> None:
        for k in keys:
            name = str(k)
            want: PortRow | None = desired.get(name)
            row, dups = self._one("Port_Binding", name)
            for d in dups:
                d.delete()
                self.ops += 1
            if want is None:
                if row is not None:
                    row.delete()
                    self.ops += 1
                continue
            dp = self.dp_ref(want.datapath)
            if dp is None:
                continue
            values = {
                "type": want.type, "options": dict(want.options),
                "mac": tuple(sorted(set(want.mac))),
                "port_security": tuple(sorted(set(want.port_security))),
                "parent_port": (want.parent_port,) if want.parent_port else (),
                "tag": (want.tag,) if want.tag is not None else ()}
            if row is None or row.raw("datapath") != dp.uuid:
                key = self._port_key(dp, want.datapath)
                if key is None:
                    log.error("no free port tunnel key for %s", name)
                    continue
                self.ops += 1
                if row is None:
                    self.new_pbs[name] = txn_of(self.replica).insert("Port_Binding", values={
                        "logical_port": name, "datapath": dp, "tunnel_key": key, **values})
                    continue
                row.datapath = dp
                row.tunnel_key = key
            for column, value in values.items():
                self._set(row, column, value, row.raw(column))

    def _port_key(self, dp: Row, dp_nb: str) -> int | None:
        used = self.used_port_keys.setdefault(dp.uuid, set())
        existing = self.index.port_keys.get(dp.uuid, {})
        # By NB uuid: an inserted datapath's SB uuid is provisional until commit.
        alloc = self.port_allocs.setdefault(dp_nb, KeyAllocator(1, self.port_max))
        key = alloc.alloc(existing.keys() | used)
        if key is not None:
            used.add(key)
        return key

    def pb_ref(self, name: str) -> Row | None:
        new = self.new_pbs.get(name)
        if new is not None:
            return new
        uuids = self.index.find("Port_Binding", name)
        if len(uuids) == 1:  # the usual case, without _one()'s sorting and copying
            for u in uuids:
                return self._row("Port_Binding", u)
        row, _ = self._one("Port_Binding", name)
        return row

    def sync_mcgroups(self, desired: dict[Hashable, Any], keys: Iterable[Hashable]) -> None:
        txn = txn_of(self.replica)
        for k in keys:
            dp_nb, name = cast(tuple[str, str], k)
            dp = self.dp_ref(dp_nb)
            want = desired.get(k)
            rows = []
            if dp is not None and dp_nb not in self.new_dps:
                rows = [r for u in sorted(self.index.find("Multicast_Group", (dp.uuid, name)))
                        if (r := self._row("Multicast_Group", u)) is not None]
            row = rows[0] if rows else None
            for d in rows[1:]:
                d.delete()
            if want is None or dp is None:
                if row is not None:
                    row.delete()
                    self.ops += 1
                continue
            tkey, ports = want
            if row is None:
                refs = [r for p in ports if (r := self.pb_ref(p)) is not None]
                txn.insert("Multicast_Group", values={
                    "datapath": dp, "name": name, "tunnel_key": tkey, "ports": refs})
                self.ops += 1
                continue
            self._set(row, "tunnel_key", tkey, row.raw("tunnel_key"))
            # A port joining or leaving a big switch: send the difference (a mutate), not
            # the whole set, which the server would parse and check again, in full; and
            # find it by name, without resolving every member's row.
            pb_name = self.index.pb_name
            want_names = set(ports)
            have = row.raw("ports")
            have_names = {pb_name.get(u) for u in have}
            added = [r for p in want_names - have_names if (r := self.pb_ref(p)) is not None]
            removed = [u for u in have if pb_name.get(u) not in want_names]
            if added:
                txn.add_to_set(row, "ports", added)
            if removed:
                txn.remove_from_set(row, "ports", removed)
            self.ops += bool(added or removed)

    def sync_flows(self, desired: dict[Hashable, Any], keys: Iterable[Hashable]) -> None:
        txn = self.replica.txn
        assert txn is not None
        for k in keys:
            assert isinstance(k, LFlow)
            dp = self.dp_ref(k.dp)
            existing: list[Row] = []
            if dp is not None and k.dp not in self.new_dps:
                sbk = (dp.uuid, k.pipeline, k.table, k.priority, k.match, k.actions)
                existing = [r for u in sorted(self.index.find("Logical_Flow", sbk))
                            if (r := self._row("Logical_Flow", u)) is not None]
            want = k in desired and dp is not None
            for r in existing[1:] if want else existing:
                r.delete()
                self.ops += 1
            if want and not existing:
                txn.insert("Logical_Flow", values={
                    "logical_datapath": dp, "pipeline": k.pipeline, "table_id": k.table,
                    "priority": k.priority, "match": k.match, "actions": k.actions,
                    "external_ids": {"stage-name": k.stage_name}})
                self.ops += 1

    def sync_port_groups(self, desired: dict[Hashable, Any], keys: Iterable[Hashable],
                         full: bool) -> None:
        # SB names embed the datapath's tunnel key: "<key>_<name>".
        names: dict[str, tuple[str, ...] | None] = {}
        for k in keys:
            dp_nb, pg = cast(tuple[str, str], k)
            key = self.dp_key(dp_nb)
            if key is None:
                continue
            want = desired.get(k)
            names[f"{key}_{pg}"] = want
        if full:
            for n in list(self.index.by_key["Port_Group"]):
                names.setdefault(str(n), None)
        self._sync_named("Port_Group", "ports", names)

    def sync_address_sets(self, desired: dict[Hashable, Any], keys: Iterable[Hashable]) -> None:
        self._sync_named("Address_Set", "addresses", {str(k): desired.get(k) for k in keys})

    def _sync_named(self, table: str, column: str,
                    wants: dict[str, tuple[str, ...] | None]) -> None:
        for name, want in wants.items():
            row, dups = self._one(table, name)
            for d in dups:
                d.delete()
            if want is None:
                if row is not None:
                    row.delete()
                    self.ops += 1
                continue
            value = tuple(sorted(set(want)))
            if row is None:
                row = self.replica.txn.insert(table)  # type: ignore[union-attr]
                row.name = name
                setattr(row, column, value)
                self.ops += 1
            else:
                self._set(row, column, value, row.raw(column))

    def sync_dns(self, desired: dict[Hashable, Any], keys: Iterable[Hashable],
                 full: bool) -> None:
        ids = {cast(tuple[str, str], k)[0] for k in keys}
        if full:
            ids |= {str(k) for k in self.index.by_key["DNS"]}
        if not ids:
            return
        per: dict[str, tuple[dict[str, str], list[Row]]] = {}
        for dk, records in desired.items():
            du, dp_nb = cast(tuple[str, str], dk)
            if du in ids:
                _rec, dps = per.setdefault(du, (dict(records), []))
                dp = self.dp_ref(dp_nb)
                if dp is not None:
                    dps.append(dp)
        for du in ids:
            row, dups = self._one("DNS", du)
            for d in dups:
                d.delete()
            want = per.get(du)
            if want is None or not want[1]:
                if row is not None:
                    row.delete()
                    self.ops += 1
                continue
            records, dps = want
            if row is None:
                row = self.replica.txn.insert("DNS")  # type: ignore[union-attr]
                row.external_ids = {"dns_id": du}
                row.records = records
                row.datapaths = dps
                self.ops += 1
                continue
            self._set(row, "records", records, row.raw("records"))
            if tuple(sorted(d.uuid for d in dps)) != row.raw("datapaths"):
                row.datapaths = dps
                self.ops += 1

    def sync_global(self, desired: dict[Hashable, Any]) -> None:
        options = dict(desired.get("options", ()))
        rows = list(self.tables["SB_Global"].rows.values())
        if not rows:
            row = self.replica.txn.insert("SB_Global")  # type: ignore[union-attr]
            row.options = options
            self.ops += 1
            return
        self._set(rows[0], "options", options, rows[0].raw("options"))

    def sync_dhcp_defs(self) -> None:
        """The DHCP option names ovn-controller and ovn-trace look codes up by."""
        for table, defs in (("DHCP_Options", [o for o in DHCPV4_OPTS.values()]),
                            ("DHCPv6_Options", [o for o in DHCPV6_OPTS.values()
                                                if o.name in DHCPV6_SB])):
            for o in defs:
                row, dups = self._one(table, o.name)
                for d in dups:
                    d.delete()
                if row is None:
                    row = self.replica.txn.insert(table)  # type: ignore[union-attr]
                    row.name = o.name
                    row.code = o.code
                    row.type = o.type
                    self.ops += 1
                else:
                    self._set(row, "code", o.code, row.raw("code"))
                    self._set(row, "type", o.type, row.raw("type"))

    # --- a pass -------------------------------------------------------------------------

    def run(self, desired: Desired, dirty: dict[str, set[Hashable]], full: bool) -> None:
        """Writes the dirty keys (all keys with full=True) of every table."""
        t = desired.tables
        if full:
            dirty = {name: set(dirty.get(name, ())) | set(t[name]) for name in SB_TABLES}
            ix = self.index
            dirty["Datapath_Binding"] |= set(ix.by_key["Datapath_Binding"])
            dirty["Port_Binding"] |= set(ix.by_key["Port_Binding"])
            for mk in list(ix.by_key["Multicast_Group"]):
                dp_sb, name = cast(tuple[str, str], mk)
                nb = ix.dp_nb.get(dp_sb)
                if nb is None:
                    for u in ix.by_key["Multicast_Group"][(dp_sb, name)]:
                        self._delete_stray("Multicast_Group", u)
                else:
                    dirty["Multicast_Group"].add((nb, name))
            for k in list(ix.by_key["Logical_Flow"]):
                dp_sb, pipeline, table, prio, match, actions = cast(
                    tuple[str, str, int, int, str, str], k)
                nb = ix.dp_nb.get(dp_sb)
                row = self._row("Logical_Flow", next(iter(ix.by_key["Logical_Flow"][k])))
                stage = (row.raw("external_ids") or {}).get("stage-name", "") if row else ""
                if nb is None:
                    for u in ix.by_key["Logical_Flow"][k]:
                        self._delete_stray("Logical_Flow", u)
                    continue
                lf = LFlow(nb, pipeline, table, prio, match, actions, stage)
                if lf not in t["Logical_Flow"]:
                    dirty["Logical_Flow"].add(lf)
            dirty["Address_Set"] |= {k for k in ix.by_key["Address_Set"]}
            for tname in ("Logical_Flow", "Datapath_Binding", "Port_Binding",
                          "Multicast_Group", "DNS"):
                for u in list(ix.strays[tname]):
                    self._delete_stray(tname, u)
        self.sync_datapaths(t["Datapath_Binding"], sorted(dirty["Datapath_Binding"], key=str))
        self.sync_ports(t["Port_Binding"], sorted(dirty["Port_Binding"], key=str))
        self.sync_mcgroups(t["Multicast_Group"], dirty["Multicast_Group"])
        self.sync_flows(t["Logical_Flow"], dirty["Logical_Flow"])
        self.sync_port_groups(t["Port_Group"], dirty["Port_Group"], full)
        self.sync_address_sets(t["Address_Set"], dirty["Address_Set"])
        self.sync_dns(t["DNS"], dirty["DNS"], full)
        if full or dirty["SB_Global"]:
            self.sync_global(t["SB_Global"])
        if full:
            self.sync_dhcp_defs()

    def _delete_stray(self, table: str, u: str) -> None:
        row = self._row(table, u)
        if row is not None:
            if table == "Datapath_Binding":
                self._delete_dp(row)
            else:
                row.delete()
                self.ops += 1


def txn_of(replica: Replica) -> Transaction:
    txn = replica.txn
    assert txn is not None
    return txn
