"""An in-memory NB for northd's pure tests: rows in the IDL's internal form, written through
ovn-nbctl-like helpers that also record the changes (as the IDL's change sets would)."""

from __future__ import annotations

import itertools
import uuid as uuidlib
from typing import Any

from pyovn.northd.nb import NB_TABLES, NbChange
from pyovn.ovsdb.idl import Replica, SchemaHelper

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
_helper = SchemaHelper.from_file(NB_SCHEMA)
_helper.register_all()
_replica = Replica(_helper)
_counter = itertools.count(1)


def _norm(table: str, col: str, value: Any) -> Any:
    t = _replica.tables[table].columns[col].type
    if t.is_map:
        return dict(sorted(dict(value).items()))
    if t.is_scalar:
        return value
    if value is None:
        return ()
    if isinstance(value, str | int | bool):
        value = (value,)
    return tuple(sorted(set(value)))


class NbBuilder:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in NB_TABLES}
        self.changes: list[NbChange] = []

    def take(self) -> list[NbChange]:
        c, self.changes = self.changes, []
        return c

    # --- raw rows ---------------------------------------------------------------------------

    def insert(self, table: str, **cols: Any) -> str:
        u = str(uuidlib.UUID(int=next(_counter)))
        row = dict(_replica.tables[table].defaults)
        for c, v in cols.items():
            row[c] = _norm(table, c, v)
        self.tables[table][u] = row
        self.changes.append(NbChange(table, u, None, row))
        return u

    def update(self, table: str, u: str, **cols: Any) -> None:
        old = self.tables[table][u]
        new = dict(old)
        for c, v in cols.items():
            new[c] = _norm(table, c, v)
        self.tables[table][u] = new
        self.changes.append(NbChange(table, u, old, new))

    def delete(self, table: str, u: str) -> None:
        old = self.tables[table].pop(u)
        self.changes.append(NbChange(table, u, old, None))

    def get(self, table: str, u: str) -> dict[str, Any]:
        return self.tables[table][u]

    def add_ref(self, table: str, u: str, col: str, ref: str) -> None:
        self.update(table, u, **{col: (*self.get(table, u)[col], ref)})

    def del_ref(self, table: str, u: str, col: str, ref: str) -> None:
        self.update(table, u, **{col: tuple(x for x in self.get(table, u)[col] if x != ref)})

    # --- nbctl-like -------------------------------------------------------------------------

    def ls_add(self, name: str) -> str:
        return self.insert("Logical_Switch", name=name)

    def lsp_add(self, ls: str, name: str, addresses: tuple[str, ...] = (), **cols: Any) -> str:
        p = self.insert("Logical_Switch_Port", name=name, addresses=addresses, **cols)
        self.add_ref("Logical_Switch", ls, "ports", p)
        return p

    def lsp_del(self, ls: str, p: str) -> None:
        self.del_ref("Logical_Switch", ls, "ports", p)
        self.delete("Logical_Switch_Port", p)

    def lr_add(self, name: str) -> str:
        return self.insert("Logical_Router", name=name)

    def lrp_add(self, lr: str, name: str, mac: str, networks: tuple[str, ...]) -> str:
        p = self.insert("Logical_Router_Port", name=name, mac=mac, networks=networks)
        self.add_ref("Logical_Router", lr, "ports", p)
        return p

    def connect(self, ls: str, lr: str, name: str, mac: str, networks: tuple[str, ...]) -> str:
        """A router port and its peer switch port (type router)."""
        self.lrp_add(lr, f"{name}-rp", mac, networks)
        return self.lsp_add(ls, f"{name}-sp", ("router",), type="router",
                            options={"router-port": f"{name}-rp"})

    def acl_add(self, owner_table: str, owner: str, direction: str, priority: int, match: str,
                action: str, **cols: Any) -> str:
        a = self.insert("ACL", direction=direction, priority=priority, match=match,
                        action=action, **cols)
        self.add_ref(owner_table, owner, "acls", a)
        return a

    def route_add(self, lr: str, prefix: str, nexthop: str) -> str:
        r = self.insert("Logical_Router_Static_Route", ip_prefix=prefix, nexthop=nexthop)
        self.add_ref("Logical_Router", lr, "static_routes", r)
        return r
