"""Where the rows northd manages are in the SB replica, by their natural keys, kept up to date
from the replica's change sets (so that writing a change costs lookups, not scans).

Keys as in units.py, but with the SB datapath's UUID in place of the NB one.  Rows northd
does not recognise (a datapath without an NB reference, a flow on a datapath group) are
listed in `strays` so that a full sync deletes them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from pyovn.ovsdb.idl import ChangeSet, Table

Data = Mapping[str, Any]
INDEXED = ("Datapath_Binding", "Port_Binding", "Multicast_Group", "Logical_Flow",
           "Port_Group", "Address_Set", "DNS", "SB_Global", "DHCP_Options", "DHCPv6_Options")
_INDEXED = frozenset(INDEXED)


def _opt(d: Data, col: str) -> Any:
    v = d.get(col, ())
    return v[0] if isinstance(v, tuple) and v else (None if isinstance(v, tuple) else v)


def dp_nb_uuid(d: Data) -> str | None:
    ids = d.get("external_ids") or {}
    return ids.get("logical-switch") or ids.get("logical-router")


def row_key(table: str, d: Data) -> Hashable | None:
    """The natural key of an SB row (None: not one northd recognises)."""
    if table == "Datapath_Binding":
        return dp_nb_uuid(d)
    if table == "Port_Binding":
        return str(d.get("logical_port", ""))
    if table == "Multicast_Group":
        return (_opt(d, "datapath") or d.get("datapath"), d.get("name"))
    if table == "Logical_Flow":
        dp = _opt(d, "logical_datapath")
        if dp is None:
            return None
        return (dp, d["pipeline"], d["table_id"], d["priority"], d["match"], d["actions"])
    if table in ("Port_Group", "Address_Set"):
        return str(d.get("name", ""))
    if table == "DNS":
        return (d.get("external_ids") or {}).get("dns_id")
    if table in ("DHCP_Options", "DHCPv6_Options"):
        return str(d.get("name", ""))
    if table == "SB_Global":
        return "options"
    return None


class SbIndex:
    def __init__(self) -> None:
        self.by_key: dict[str, dict[Hashable, set[str]]] = {t: {} for t in INDEXED}
        self.strays: dict[str, set[str]] = {t: set() for t in INDEXED}
        self.dp_keys: dict[int, str] = {}  # tunnel key -> SB datapath uuid
        self.dp_key_of: dict[str, int] = {}
        self.dp_nb: dict[str, str] = {}  # SB datapath uuid -> NB uuid
        self.port_keys: dict[str, dict[int, str]] = {}  # SB dp uuid -> key -> PB uuid
        self.pb_name: dict[str, str] = {}  # PB uuid -> logical_port

    def rebuild(self, tables: Mapping[str, Table]) -> None:
        self.__init__()  # type: ignore[misc]
        for t in INDEXED:
            table = tables.get(t)
            if table is None:
                continue
            for u, row in table.rows.items():
                self._add(t, u, row._data)

    def update(self, changes: ChangeSet) -> None:
        for t in changes:  # only the tables that changed (indexing makes empty ones)
            if t not in _INDEXED:
                continue
            tc = changes.tables[t]
            for u, row in tc.deleted.items():
                self._remove(t, u, row._data)
            for u, row in tc.modified.items():
                old = {**row._data, **tc.old.get(u, {})}
                self._remove(t, u, old)
                self._add(t, u, row._data)
            for u, row in tc.inserted.items():
                self._add(t, u, row._data)

    def find(self, table: str, key: Hashable) -> set[str]:
        return self.by_key[table].get(key, set())

    def _add(self, t: str, u: str, d: Data) -> None:
        k = row_key(t, d)
        if k is None:
            self.strays[t].add(u)
        else:
            self.by_key[t].setdefault(k, set()).add(u)
        if t == "Datapath_Binding":
            key = int(d.get("tunnel_key", 0))
            self.dp_keys[key] = u
            self.dp_key_of[u] = key
            if k is not None:
                self.dp_nb[u] = str(k)
        elif t == "Port_Binding":
            self.pb_name[u] = str(d.get("logical_port", ""))
            dp = _opt(d, "datapath") or d.get("datapath")
            if dp:
                self.port_keys.setdefault(dp, {})[int(d.get("tunnel_key", 0))] = u

    def _remove(self, t: str, u: str, d: Data) -> None:
        k = row_key(t, d)
        if k is None:
            self.strays[t].discard(u)
        else:
            s = self.by_key[t].get(k)
            if s is not None:
                s.discard(u)
                if not s:
                    del self.by_key[t][k]
        if t == "Datapath_Binding":
            key = int(d.get("tunnel_key", 0))
            if self.dp_keys.get(key) == u:
                del self.dp_keys[key]
            self.dp_key_of.pop(u, None)
            self.dp_nb.pop(u, None)
        elif t == "Port_Binding":
            self.pb_name.pop(u, None)
            dp = str(_opt(d, "datapath") or "")
            keys = self.port_keys.get(dp)
            if keys is not None and keys.get(int(d.get("tunnel_key", 0))) == u:
                del keys[int(d.get("tunnel_key", 0))]
                if not keys:
                    del self.port_keys[dp]
