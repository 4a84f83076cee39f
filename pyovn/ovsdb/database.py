"""The in-memory database: rows, tables, reference counts and indexes, and applying commits.

Rows are never changed once committed: a transaction works on private copies and a commit
swaps them in.  That makes a committed Row safe to share with monitors and to cache its JSON.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from pyovn.ovsdb.datum import (
    datum_apply_diff,
    datum_from_json,
    datum_to_json,
    diff_from_json,
)
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema

# A PRNG seeded from the OS, as OVS's uuid_generate() is: os.urandom per UUID is a syscall.
_random = random.Random(os.urandom(32))


def new_uuid() -> str:
    """A random (version 4) UUID as text; several times faster than str(uuid.uuid4())."""
    h = f"{_random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# The variant bits of RFC 4122: the first hex digit of the fourth group is 8, 9, a or b.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}



def _decref(counts: dict[str, int], key: str) -> None:
    """One strong reference fewer to 'key' (forgotten at zero, as the count's absence
    means no strong referrer)."""
    n = counts[key] - 1
    if n:
        counts[key] = n
    else:
        del counts[key]

class Row:
    """One row: its UUID, version and column values (pyovn's internal form, see datum.py)."""

    __slots__ = ("_json", "_refs", "data", "uuid", "version")

    def __init__(self, uuid: str, version: str, data: dict[str, Any]) -> None:
        self.uuid = uuid
        self.version = version
        self.data = data
        self._json: dict[str, Any] | None = None
        # References held, computed on first use (see row_refs); reset when data changes.
        self._refs: list[tuple[str, str, str, bool]] | None = None

    def columns_json(self, table: TableSchema) -> dict[str, Any]:
        """Every user column in wire form; cached, since committed rows never change."""
        cached = self._json
        if cached is None:
            columns = table.columns
            cached = {name: datum_to_json(columns[name].type, v) for name, v in self.data.items()}
            self._json = cached
        return cached

    def copy(self, version: str) -> Row:
        return Row(self.uuid, version, dict(self.data))

    def __repr__(self) -> str:
        return f"Row({self.uuid}, {self.data!r})"


@dataclass
class RowChange:
    """What a commit did to one row.  `changed` lists modified columns (None: insert/delete)."""

    old: Row | None
    new: Row | None
    changed: frozenset[str] | None = None


# table name -> row uuid -> change
Changes = dict[str, dict[str, RowChange]]


@dataclass
class Commit:
    """A committed transaction, as monitors, storage and monitor_cond_since see it."""

    txn_id: str
    changes: Changes
    comment: str | None = None
    date_ms: int = 0


def hashable(value: Any) -> Any:
    return tuple(value.items()) if isinstance(value, dict) else value


@dataclass
class Index:
    columns: tuple[str, ...]
    rows: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def key(self, row: Row) -> tuple[Any, ...]:
        data = row.data
        return tuple(hashable(data[c]) for c in self.columns)


class Table:
    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.name = schema.name
        self.rows: dict[str, Row] = {}
        self.indexes = [Index(cols) for cols in schema.indexes]


def row_refs(table: TableSchema, row: Row) -> list[tuple[str, str, str, bool]]:
    """(column, target table, target uuid, strong) for every reference in the row; cached on
    the row, so whoever changes a row's data in place must reset row._refs."""
    refs = row._refs
    if refs is None:
        refs = row._refs = list(_iter_refs(table, row)) if table.ref_columns else []
    return refs


Ref = tuple[str, str, str, bool]
_NO_REFS: frozenset[Ref] = frozenset()


def ref_sets(table: TableSchema, old: Row, new: Row) -> tuple[AbstractSet[Ref],
                                                              AbstractSet[Ref]] | None:
    """The references of a modified row before and after, as sets to take differences of
    (both empty when they did not change); None when either holds the same reference
    twice (a map's values), which a difference cannot count."""
    old_refs = row_refs(table, old)
    new_refs = row_refs(table, new)
    if old_refs == new_refs:
        return _NO_REFS, _NO_REFS
    old_set, new_set = set(old_refs), set(new_refs)
    if len(old_set) != len(old_refs) or len(new_set) != len(new_refs):
        return None
    return old_set, new_set


def _iter_refs(table: TableSchema, row: Row) -> Iterator[tuple[str, str, str, bool]]:
    data = row.data
    for column, bases in table.ref_columns:
        value = data[column.name]
        if not value and not isinstance(value, str):
            continue  # an empty set or map references nothing
        type_ = column.type
        for base in bases:
            assert base.ref_table is not None
            if type_.value is None:
                atoms = (value,) if type_.is_scalar else value
            elif base is type_.key:
                atoms = value.keys()
            else:
                atoms = value.values()
            strong = base.ref_strong
            for atom in atoms:
                if strong and atom == row.uuid:
                    continue  # self-references do not count (as in OVS)
                yield column.name, base.ref_table, atom, strong


class Database:
    def __init__(self, schema: DatabaseSchema) -> None:
        self.schema = schema
        self.name = schema.name
        self.tables: dict[str, Table] = {n: Table(t) for n, t in schema.tables.items()}
        # Strong references held on each row (all tables: UUIDs are unique database-wide).
        self.strong_refs: dict[str, int] = {}
        # Rows that hold weak references to a row: target uuid -> {(table, source uuid)}.
        self.weak_referrers: dict[str, set[tuple[str, str]]] = {}
        # Deleted rows that weak references still name: OVS lets a modified row keep one
        # to a row deleted later in the same transaction's walk (see txn.py).
        self.dangling: set[str] = set()
        self.last_txn_id = "00000000-0000-0000-0000-000000000000"

    def n_rows(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())

    def get_row(self, table: str, uuid: str) -> Row | None:
        return self.tables[table].rows.get(uuid)

    # --- applying commits --------------------------------------------------------------

    def apply(self, changes: Changes) -> None:
        """Makes a checked set of changes part of the database."""
        strong = self.strong_refs
        weak = self.weak_referrers
        for table_name, rows in changes.items():
            table = self.tables[table_name]
            tschema = table.schema
            has_refs = bool(tschema.ref_columns)
            for uuid, change in rows.items():
                old, new = change.old, change.new
                if old is not None:
                    for ix in table.indexes:
                        key = ix.key(old)
                        if ix.rows.get(key) == uuid:
                            del ix.rows[key]
                    if has_refs and new is not None and self._apply_ref_delta(
                            tschema, table_name, uuid, old, new):
                        table.rows[uuid] = new
                        continue
                    if has_refs:
                        for _, _, target, is_strong in row_refs(tschema, old):
                            if is_strong:
                                _decref(strong, target)
                            else:
                                referrers = weak.get(target)
                                if referrers is not None:
                                    referrers.discard((table_name, uuid))
                                    if not referrers:
                                        del weak[target]
                                        self.dangling.discard(target)
                if new is None:
                    table.rows.pop(uuid, None)
                    continue
                table.rows[uuid] = new
                if has_refs:
                    for _, _, target, is_strong in row_refs(tschema, new):
                        if is_strong:
                            strong[target] = strong.get(target, 0) + 1
                        else:
                            weak.setdefault(target, set()).add((table_name, uuid))
        for rows in changes.values():
            for uuid, change in rows.items():
                if change.new is None and uuid in weak:
                    self.dangling.add(uuid)
        # Indexes after all removals, so that rows swapping keys do not clobber each other.
        for table_name, rows in changes.items():
            table = self.tables[table_name]
            if table.indexes:
                for uuid, change in rows.items():
                    if change.new is not None:
                        for ix in table.indexes:
                            ix.rows[ix.key(change.new)] = uuid

    def _apply_ref_delta(self, tschema: TableSchema, table_name: str, uuid: str, old: Row,
                         new: Row) -> bool:
        """Reference bookkeeping for a modified row by the difference of its references (a
        port joining a big multicast group touches one reference, not all); False, having
        done nothing, when a row holds the same reference twice (a map's values), which
        the long way counts right."""
        sets = ref_sets(tschema, old, new)
        if sets is None:
            return False
        old_set, new_set = sets
        strong = self.strong_refs
        weak = self.weak_referrers
        me = (table_name, uuid)
        ref_columns = [c.name for c, _ in tschema.ref_columns]
        for _, target_table, target, is_strong in old_set - new_set:
            if is_strong:
                _decref(strong, target)
            elif not any((c, target_table, target, False) in new_set for c in ref_columns):
                # (The row may still refer to the target weakly through another column.)
                referrers = weak.get(target)
                if referrers is not None:
                    referrers.discard(me)
                    if not referrers:
                        del weak[target]
                        self.dangling.discard(target)
        for _, _, target, is_strong in new_set - old_set:
            if is_strong:
                strong[target] = strong.get(target, 0) + 1
            else:
                weak.setdefault(target, set()).add(me)
        return True

    # --- the on-disk form ----------------------------------------------------------------

    def changes_to_record(self, changes: Changes) -> dict[str, Any]:
        """A log record for a commit: full values of inserted rows' non-default columns and
        of modified rows' changed columns; null for deleted rows.  Ephemeral columns are not
        stored, as in ovsdb-server."""
        record: dict[str, Any] = {}
        for table_name, rows in changes.items():
            tschema = self.schema.tables[table_name]
            columns = tschema.columns
            out: dict[str, Any] = {}
            for uuid, change in rows.items():
                new = change.new
                if new is None:
                    if change.old is not None:
                        out[uuid] = None
                    continue
                if change.old is None:
                    # An inserted row's wire form is needed by the monitors as well: make
                    # it once (columns_json caches it on the row) and take it from there.
                    wire = new.columns_json(tschema)
                    out[uuid] = {n: wire[n] for n, v in new.data.items()
                                 if v != columns[n].default and not columns[n].ephemeral}
                    continue
                out[uuid] = {
                    n: datum_to_json(columns[n].type, new.data[n])
                    for n in change.changed or ()
                    if not columns[n].ephemeral
                }
            if out:
                record[table_name] = out
        return record

    def record_to_changes(self, record: dict[str, Any]) -> Changes:
        """Parses a log record (plain or "_is_diff") into changes against this database."""
        is_diff = record.get("_is_diff") is True
        changes: Changes = {}
        for table_name, rows in record.items():
            if table_name.startswith("_"):
                continue
            table = self.tables.get(table_name)
            if table is None or not isinstance(rows, dict):
                raise OvsdbError("syntax error", f"log record names unknown table {table_name}")
            columns = table.schema.columns
            out: dict[str, RowChange] = {}
            for uuid, row_json in rows.items():
                old = table.rows.get(uuid)
                if row_json is None:
                    if old is not None:
                        out[uuid] = RowChange(old, None)
                    continue
                if not isinstance(row_json, dict):
                    raise OvsdbError("syntax error", f"bad row {uuid} in log record")
                if old is None:
                    data = {n: c.default for n, c in columns.items()}
                else:
                    data = dict(old.data)
                for name, value_json in row_json.items():
                    column = columns.get(name)
                    if column is None:
                        if name.startswith("_"):
                            continue
                        raise OvsdbError("syntax error", f"unknown column {name} in log record")
                    if is_diff and old is not None and not column.type.is_scalar:
                        diff = diff_from_json(column.type, value_json)
                        data[name] = datum_apply_diff(column.type, data[name], diff)
                    else:
                        data[name] = datum_from_json(column.type, value_json, _log_symbols)
                version = row_json.get("_version")
                new = Row(uuid, version[1] if isinstance(version, list) else new_uuid(), data)
                out[uuid] = RowChange(old, new, None if old is None else frozenset(row_json))
            if out:
                changes[table_name] = out
        return changes

    def apply_log_record(self, record: dict[str, Any]) -> Changes:
        changes = self.record_to_changes(record)
        self.apply(changes)
        return changes

    def snapshot_record(self) -> dict[str, Any]:
        """One record holding every row, as written at the head of a compacted file."""
        record: dict[str, Any] = {}
        for table_name, table in self.tables.items():
            if not table.rows:
                continue
            columns = table.schema.columns
            record[table_name] = {
                uuid: {
                    n: datum_to_json(columns[n].type, v)
                    for n, v in row.data.items()
                    if v != columns[n].default and not columns[n].ephemeral
                }
                for uuid, row in table.rows.items()
            }
        return record


def _log_symbols(name: str) -> str:
    raise OvsdbError("syntax error", f"named-uuid {name} in a log record")


def now_ms() -> int:
    return int(time.time() * 1000)
