"""The NB contents northd reads, as plain rows in the IDL's internal form, with the indexes
the translation needs, and a view that records every key a computation reads.

Rows are `Mapping[str, Any]` in pyovn's internal datum form (see ovsdb/datum.py): a one-atom
column holds the atom, an optional or multi-valued column a sorted tuple, a map a dict.
Both the IDL replica (through `RowsAdapter`) and plain dicts (tests) serve as storage.

Dependency keys (what a unit of translation read, so that a change to NB recomputes exactly
the units that read something it touched):

- ("r", uuid): the row itself;
- ("g", uuid, group): some columns of a row, a group declared with `column_group()` (a
  reader that needs only some columns is not recomputed when the others change, e.g. a
  switch reading a port group's ACLs but not its ports, or a port's unit when northd
  writes the port's "up");
- ("t", table): the set of rows of a table (only whole-table readers use it);
- ("n", table, name): which row has this name (lookups by name, including misses);
- ("o", port_uuid): which switch or router owns a port;
- ("pg", lsp_uuid): which port groups hold a switch port;
- ("rp", lrp_name): which switch ports name this router port in options:router-port;
- ("d", kind, uuid): a value the unit (kind, uuid) derived (see translate.py), e.g. what
  a switch needs to know of each of its ports.

Readers that need only some columns of a row read it through `columns()`, which records one
("g", uuid, group) dep and hands back a view that refuses any other column, so that a
forgotten declaration fails loudly instead of making the incremental result stale.  Groups
are declared up front so that `NbDb.apply` knows which ones a change touched: one dep per
row read, however many columns, keeps the dependency index small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]
DepKey = tuple[str, ...]

# Tables northd reads (and, in the IDL, registers).
NB_TABLES = (
    "NB_Global", "Logical_Switch", "Logical_Switch_Port", "Logical_Router",
    "Logical_Router_Port", "Logical_Router_Static_Route", "ACL", "Port_Group",
    "Address_Set", "DHCP_Options", "DNS",
)
_NAMED = ("Logical_Switch", "Logical_Switch_Port", "Logical_Router", "Logical_Router_Port",
          "Port_Group", "Address_Set")
# Tables whose "ports" column owns ports (a port belongs to at most one of them).
_OWNERS = {"Logical_Switch": "ports", "Logical_Router": "ports"}


@dataclass(frozen=True)
class ColumnGroup:
    table: str
    name: str
    columns: frozenset[str]


_GROUPS: dict[str, list[ColumnGroup]] = {}


def column_group(table: str, name: str, columns: Iterable[str]) -> ColumnGroup:
    """Declares (once, at import) a set of columns some reader reads of `table`'s rows."""
    g = ColumnGroup(table, name, frozenset(columns))
    for old in _GROUPS.get(table, ()):
        if old.name == name:
            if old != g:
                raise ValueError(f"column group {table}/{name} declared twice, differently")
            return old
    _GROUPS.setdefault(table, []).append(g)
    return g


class UndeclaredColumn(RuntimeError):
    """A reader used a column it did not declare (its deps would miss changes to it)."""


class Cols(Mapping[str, Any]):
    """A row seen through the columns a reader declared."""

    __slots__ = ("_cols", "_row")

    def __init__(self, row: Row, cols: frozenset[str]) -> None:
        self._row = row
        self._cols = cols

    def __getitem__(self, column: str) -> Any:
        if column not in self._cols:
            raise UndeclaredColumn(column)
        return self._row[column]

    def get(self, column: str, default: Any = None) -> Any:
        if column not in self._cols:
            raise UndeclaredColumn(column)
        return self._row.get(column, default)

    def __iter__(self) -> Iterator[str]:
        return (c for c in self._row if c in self._cols)

    def __len__(self) -> int:
        return sum(1 for c in self._row if c in self._cols)


@dataclass(frozen=True, slots=True)
class NbChange:
    """One NB row changed: `old` None for an insert, `new` None for a delete."""

    table: str
    uuid: str
    old: Row | None
    new: Row | None


class RowsAdapter(Mapping[str, Row]):
    """The IDL replica's rows of one table as uuid -> internal row data, without copying."""

    def __init__(self, rows: Mapping[str, Any]) -> None:
        self._rows = rows

    def __getitem__(self, uuid: str) -> Row:
        data: Row = self._rows[uuid]._data
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def opt(row: Row, column: str) -> Any:
    """An optional (0 or 1 atom) column's value, or None."""
    v = row.get(column, ())
    return v[0] if v else None


def as_set(v: Any) -> tuple[Any, ...]:
    if isinstance(v, tuple):
        return v
    return (v,) if v not in ("", None) else ()


class NbDb:
    """The NB tables plus the reverse indexes the translation uses, kept up to date by
    `apply` in time proportional to the change."""

    def __init__(self, tables: Mapping[str, Mapping[str, Row]]) -> None:
        self.tables: dict[str, Mapping[str, Row]] = {t: tables.get(t, {}) for t in NB_TABLES}
        self.names: dict[str, dict[str, set[str]]] = {t: {} for t in _NAMED}
        # A port listed by several owners (a broken NB) belongs to the smallest UUID, so
        # that the full and the incremental translation agree on it.
        self.owners: dict[str, set[str]] = {}
        self.pgs_of: dict[str, set[str]] = {}
        self.rp_peers: dict[str, set[str]] = {}
        for u, r in self.tables["Logical_Switch_Port"].items():
            rp = _router_port(r)
            if rp:
                self.rp_peers.setdefault(rp, set()).add(u)
        for t in _NAMED:
            for u, r in self.tables[t].items():
                self.names[t].setdefault(_name(r), set()).add(u)
        for t, col in _OWNERS.items():
            for u, r in self.tables[t].items():
                for p in r.get(col, ()):
                    self.owners.setdefault(p, set()).add(u)
        for u, r in self.tables["Port_Group"].items():
            for p in r.get("ports", ()):
                self.pgs_of.setdefault(p, set()).add(u)

    def apply(self, changes: Iterable[NbChange]) -> set[DepKey]:
        """Updates the indexes for changes already made to the tables; returns the
        dependency keys the changes touched."""
        touched: set[DepKey] = set()
        for c in changes:
            touched.add(("r", c.uuid))
            touched.add(("t", c.table))
            groups = _GROUPS.get(c.table)
            if groups:
                if c.old is None or c.new is None:
                    touched.update(("g", c.uuid, g.name) for g in groups)
                else:
                    before = c.old
                    changed = {col for col, v in c.new.items() if before.get(col) != v}
                    touched.update(("g", c.uuid, g.name) for g in groups
                                   if not g.columns.isdisjoint(changed))
            if c.table in self.names:
                idx = self.names[c.table]
                if c.old is not None:
                    n = _name(c.old)
                    touched.add(("n", c.table, n))
                    s = idx.get(n)
                    if s is not None:
                        s.discard(c.uuid)
                        if not s:
                            del idx[n]
                if c.new is not None:
                    n = _name(c.new)
                    touched.add(("n", c.table, n))
                    idx.setdefault(n, set()).add(c.uuid)
            col = _OWNERS.get(c.table)
            if col is not None:
                old = set(c.old.get(col, ())) if c.old is not None else set()
                new = set(c.new.get(col, ())) if c.new is not None else set()
                for p in old - new:
                    s = self.owners.get(p)
                    if s is not None:
                        s.discard(c.uuid)
                        if not s:
                            del self.owners[p]
                    touched.add(("o", p))
                for p in new - old:
                    self.owners.setdefault(p, set()).add(c.uuid)
                    touched.add(("o", p))
            if c.table == "Logical_Switch_Port":
                orp = _router_port(c.old) if c.old is not None else ""
                nrp = _router_port(c.new) if c.new is not None else ""
                if orp != nrp or c.old is None or c.new is None:
                    if orp:
                        s = self.rp_peers.get(orp)
                        if s is not None:
                            s.discard(c.uuid)
                            if not s:
                                del self.rp_peers[orp]
                        touched.add(("rp", orp))
                    if nrp:
                        self.rp_peers.setdefault(nrp, set()).add(c.uuid)
                        touched.add(("rp", nrp))
            if c.table == "Port_Group":
                old = set(c.old.get("ports", ())) if c.old is not None else set()
                new = set(c.new.get("ports", ())) if c.new is not None else set()
                for p in old - new:
                    s = self.pgs_of.get(p)
                    if s is not None:
                        s.discard(c.uuid)
                        if not s:
                            del self.pgs_of[p]
                    touched.add(("pg", p))
                for p in new - old:
                    self.pgs_of.setdefault(p, set()).add(c.uuid)
                    touched.add(("pg", p))
        return touched


def _router_port(row: Row) -> str:
    opts = row.get("options") or {}
    return str(opts.get("router-port", ""))


def _name(row: Row) -> str:
    n = row.get("name", "")
    if isinstance(n, tuple):
        return n[0] if n else ""
    return str(n)


class NbView:
    """Read access to an NbDb (and to values other units derived) that records what was
    read into `deps`."""

    __slots__ = ("_derived", "db", "deps")

    def __init__(self, db: NbDb,
                 derived: Mapping[tuple[str, str], Any] | None = None) -> None:
        self.db = db
        self.deps: set[DepKey] = set()
        self._derived = derived if derived is not None else {}

    def row(self, table: str, uuid: str) -> Row | None:
        self.deps.add(("r", uuid))
        return self.db.tables[table].get(uuid)

    def rows(self, table: str, uuids: Iterable[str]) -> list[tuple[str, Row]]:
        """The rows that exist among `uuids` (a reference column's value), in UUID order."""
        t = self.db.tables[table]
        out = []
        for u in sorted(uuids):
            self.deps.add(("r", u))
            r = t.get(u)
            if r is not None:
                out.append((u, r))
        return out

    def row_columns(self, group: ColumnGroup, uuids: Iterable[str]) -> list[tuple[str, Row]]:
        """Like rows(), for a reader that uses only the group's columns."""
        t = self.db.tables[group.table]
        deps = self.deps
        name = group.name
        cols = group.columns
        out: list[tuple[str, Row]] = []
        for u in sorted(uuids):
            deps.add(("g", u, name))
            r = t.get(u)
            if r is not None:
                out.append((u, Cols(r, cols)))
        return out

    def columns(self, group: ColumnGroup, uuid: str) -> Cols | None:
        """One row, for a reader that uses only the group's columns."""
        self.deps.add(("g", uuid, group.name))
        r = self.db.tables[group.table].get(uuid)
        return None if r is None else Cols(r, group.columns)

    def derived(self, kind: str, uuid: str) -> Any:
        """The value the unit (kind, uuid) derived for others (None if none)."""
        self.deps.add(("d", kind, uuid))
        return self._derived.get((kind, uuid))

    def all_rows(self, table: str) -> list[tuple[str, Row]]:
        self.deps.add(("t", table))
        t = self.db.tables[table]
        for u in t:
            self.deps.add(("r", u))
        return sorted(t.items())

    def by_name(self, table: str, name: str) -> tuple[str, Row] | None:
        """The row named `name` (the smallest UUID when several are)."""
        self.deps.add(("n", table, name))
        s = self.db.names[table].get(name)
        if not s:
            return None
        u = min(s)
        self.deps.add(("r", u))
        return u, self.db.tables[table][u]

    def owner(self, port_uuid: str) -> str | None:
        self.deps.add(("o", port_uuid))
        s = self.db.owners.get(port_uuid)
        return min(s) if s else None

    def port_groups_of(self, lsp_uuid: str) -> set[str]:
        self.deps.add(("pg", lsp_uuid))
        return set(self.db.pgs_of.get(lsp_uuid, ()))

    def router_port_peers(self, lrp_name: str) -> list[tuple[str, Row]]:
        """Switch ports whose options:router-port names this router port."""
        self.deps.add(("rp", lrp_name))
        return self.rows("Logical_Switch_Port", self.db.rp_peers.get(lrp_name, ()))
