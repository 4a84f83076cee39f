"""A transaction's working copy of the database, and the checks made when it commits.

The checks follow ovsdb_txn_precommit(): reference counts and referential integrity, garbage
collection of unreferenced non-root rows, maxRows, weak references, index uniqueness.  They
are a pure function of the database and the working copy; nothing is changed until
Database.apply() takes the resulting changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pyovn.ovsdb.condition import type_to_english
from pyovn.ovsdb.database import (
    Changes,
    Database,
    Row,
    RowChange,
    new_uuid,
    ref_sets,
    row_refs,
)
from pyovn.ovsdb.datum import _atom_text, sorted_map
from pyovn.ovsdb.error import OvsdbError, constraint_violation
from pyovn.ovsdb.schema import UUID_ZERO, TableSchema, Type


class _LongWay(Exception):
    """Counting references by difference met something to report: count the long way."""


class Txn:
    """Rows a transaction inserted, modified or deleted, on top of the committed database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._released: list[tuple[str, str]] = []
        # table -> uuid -> RowChange(old = committed row or None, new = private copy or None)
        self.rows: dict[str, dict[str, RowChange]] = {}

    def get(self, table: str, uuid: str) -> Row | None:
        changes = self.rows.get(table)
        if changes is not None:
            change = changes.get(uuid)
            if change is not None:
                return change.new
        return self.db.tables[table].rows.get(uuid)

    def table_rows(self, table: str) -> Iterator[Row]:
        committed = self.db.tables[table].rows
        changes = self.rows.get(table)
        if not changes:
            yield from committed.values()
            return
        for uuid, row in committed.items():
            change = changes.get(uuid)
            if change is None:
                yield row
            elif change.new is not None:
                yield change.new
        for change in list(changes.values()):
            if change.old is None and change.new is not None:
                yield change.new

    def was_deleted(self, table: str, uuid: str) -> bool:
        change = self.rows.get(table, {}).get(uuid)
        return change is not None and change.old is not None and change.new is None

    def insert(self, table: str, uuid: str, data: dict[str, Any]) -> Row:
        row = Row(uuid, new_uuid(), data)
        self.rows.setdefault(table, {})[uuid] = RowChange(None, row)
        return row

    def writable(self, table: str, row: Row) -> Row:
        """A private copy of the row that the transaction may change in place."""
        changes = self.rows.setdefault(table, {})
        change = changes.get(row.uuid)
        if change is not None and change.new is row:
            return row
        # The new _version is given at commit (update_version()), to rows that changed.
        copy = row.copy(row.version)
        changes[row.uuid] = RowChange(row, copy)
        return copy

    def delete(self, table: str, row: Row) -> None:
        changes = self.rows.setdefault(table, {})
        change = changes.get(row.uuid)
        if change is not None and change.old is None:
            del changes[row.uuid]  # inserted and deleted in the same transaction
        else:
            changes[row.uuid] = RowChange(change.old if change else row, None)

    # --- commit-time checks ------------------------------------------------------------

    def precommit(self) -> Changes:
        """Checks and completes the transaction; returns the changes to apply."""
        self._drop_unchanged()
        delta = self._update_ref_counts()
        self._collect_garbage(delta)
        self._check_max_rows()
        self._assess_weak_refs()
        self._drop_unchanged()
        self._check_indexes()
        for rows in self.rows.values():
            for change in rows.values():
                if change.old is not None and change.new is not None:
                    change.new.version = new_uuid()
        return {t: rows for t, rows in self.rows.items() if rows}

    def _drop_unchanged(self) -> None:
        """Modifications that changed nothing are no modifications (no new _version)."""
        for rows in self.rows.values():
            for uuid, change in list(rows.items()):
                old, new = change.old, change.new
                if old is not None and new is not None:
                    changed = frozenset(n for n, v in new.data.items() if old.data[n] != v)
                    if changed:
                        change.changed = changed
                    else:
                        del rows[uuid]

    def _strong_targets(self, table: TableSchema, row: Row | None) -> list[tuple[str, str, str]]:
        if row is None or not table.ref_columns:
            return []
        return [(c, t, u) for c, t, u, strong in row_refs(table, row) if strong]

    def _update_ref_counts(self) -> dict[str, int]:
        try:
            delta = self._ref_deltas(by_difference=True)
        except _LongWay:
            # A reference to a missing row: find the one OVS reports, walking every row.
            delta = self._ref_deltas(by_difference=False)
        strong = self.db.strong_refs
        for table_name, rows in self.rows.items():
            for uuid, change in rows.items():
                if change.new is None and change.old is not None:
                    n = strong.get(uuid, 0) + delta.get(uuid, 0)
                    if n > 0:
                        raise OvsdbError(
                            "referential integrity violation",
                            f"cannot delete {table_name} row {uuid} because of {n} "
                            f"remaining reference(s)",
                        )
        return delta

    def _ref_deltas(self, by_difference: bool) -> dict[str, int]:
        """Changes in strong reference counts; also notes in _released the targets whose
        count may have dropped (for garbage collection).  By difference, a modified row
        costs what changed in its references, not all of them (a switch gaining a port
        among thousands)."""
        schema = self.db.schema
        delta: dict[str, int] = {}
        released: list[tuple[str, str]] = []
        self._released = released
        for table_name, rows in self.rows.items():
            tschema = schema.tables[table_name]
            if not tschema.ref_columns:
                continue
            for uuid, change in rows.items():
                if by_difference and self._ref_delta(tschema, change, delta, released):
                    continue
                old_refs = self._strong_targets(tschema, change.old)
                for _, target_table, target in old_refs:
                    delta[target] = delta.get(target, 0) - 1
                    released.append((target_table, target))
                old_set = {u for _, _, u in old_refs}
                for column, target_table, target in self._strong_targets(tschema, change.new):
                    delta[target] = delta.get(target, 0) + 1
                    if target not in old_set and not self._known(target_table, target):
                        if by_difference:
                            raise _LongWay
                        raise OvsdbError(
                            "referential integrity violation",
                            f"Table {table_name} column {column} row {uuid} references "
                            f"nonexistent row {target} in table {target_table}.",
                        )
        return delta

    def _ref_delta(self, tschema: TableSchema, change: RowChange, delta: dict[str, int],
                   released: list[tuple[str, str]]) -> bool:
        """One modified row's part of _ref_deltas by difference; False (nothing done) for
        an insert, a delete, or a row holding the same reference twice."""
        old, new = change.old, change.new
        if old is None or new is None:
            return False
        sets = ref_sets(tschema, old, new)
        if sets is None:
            return False
        old_set, new_set = sets
        columns = [c.name for c, _ in tschema.ref_columns]
        for _, target_table, target, strong in old_set - new_set:
            if strong:
                delta[target] = delta.get(target, 0) - 1
                released.append((target_table, target))
        for _, target_table, target, strong in new_set - old_set:
            if strong:
                delta[target] = delta.get(target, 0) + 1
                if not any((c, target_table, target, True) in old_set for c in columns) \
                        and not self._known(target_table, target):
                    raise _LongWay
        return True

    def _known(self, table: str, uuid: str) -> bool:
        """The row exists, or existed before this transaction deleted it (then the error is
        about the deletion, as OVS reports it)."""
        changes = self.rows.get(table)
        if changes is not None and uuid in changes:
            return True
        return uuid in self.db.tables[table].rows

    def _collect_garbage(self, delta: dict[str, int]) -> None:
        schema = self.db.schema
        non_root = schema.non_root_tables
        if not non_root:
            return
        strong = self.db.strong_refs
        candidates: list[tuple[str, str]] = []
        for table_name, rows in self.rows.items():
            if table_name not in non_root:
                continue
            for uuid, change in rows.items():
                if change.new is not None:
                    candidates.append((table_name, uuid))
        # Targets whose count may have dropped (noted by _update_ref_counts), not every
        # target of every changed row.
        for target_table, target in self._released:
            if target_table in non_root:
                candidates.append((target_table, target))
        while candidates:
            table_name, uuid = candidates.pop()
            if strong.get(uuid, 0) + delta.get(uuid, 0) > 0:
                continue
            row = self.get(table_name, uuid)
            if row is None:
                continue
            tschema = schema.tables[table_name]
            self.delete(table_name, row)
            for _, target_table, target in self._strong_targets(tschema, row):
                delta[target] = delta.get(target, 0) - 1
                if target_table in non_root:
                    candidates.append((target_table, target))

    def _check_max_rows(self) -> None:
        for table_name, rows in self.rows.items():
            table = self.db.tables[table_name]
            max_rows = table.schema.max_rows
            if max_rows is None:
                continue
            n = len(table.rows)
            for change in rows.values():
                n += (change.new is not None) - (change.old is not None)
            if n > max_rows:
                raise constraint_violation(
                    f'transaction causes "{table_name}" table to contain {n} rows, greater '
                    f"than the schema-defined limit of {max_rows} row(s)"
                )

    def _assess_weak_refs(self) -> None:
        """Removes weak references to rows that are deleted (or never existed)."""
        schema = self.db.schema
        todo: set[tuple[str, str]] = set()
        referrers = self.db.weak_referrers
        deleted: set[str] = set()
        for rows in list(self.rows.values()):
            for uuid, change in rows.items():
                if change.new is None and change.old is not None:
                    todo.update(referrers.get(uuid, ()))
                    deleted.add(uuid)
        for table_name, rows in self.rows.items():
            tschema = schema.tables[table_name]
            if tschema.has_weak_refs:
                for uuid, change in rows.items():
                    new = change.new
                    if new is not None and any(not r[3] for r in row_refs(tschema, new)):
                        todo.add((table_name, uuid))
        # OVS walks the transaction's rows table by table, in the order the transaction
        # first touched the tables.  A row it modified keeps a weak reference it already
        # had to a row deleted in a table walked after its own: the deletion is noticed too
        # late (a quirk of ovsdb/transaction.c that clients can observe).
        position = {name: i for i, name in enumerate(self.rows)}
        for table_name, uuid in todo:
            row = self.get(table_name, uuid)
            if row is None:
                continue
            tschema = schema.tables[table_name]
            row_change = self.rows.get(table_name, {}).get(uuid)
            here = position.get(table_name, len(position))
            if row_change is not None and row_change.old is not None:
                dead = self._dead_in_modified(tschema, row_change.old, row, deleted,
                                              position, here)
                if dead:
                    self._remove_weak_refs(tschema, row, dead)
                continue
            # Inserted here, or untouched but referring to a row deleted here.
            dead = {
                (column, target)
                for column, target_table, target, is_strong in row_refs(tschema, row)
                if not is_strong and self.get(target_table, target) is None
            }
            if dead:
                self._remove_weak_refs(tschema, row, dead)

    def _dead_in_modified(self, tschema: TableSchema, old: Row, new: Row, deleted: set[str],
                          position: dict[str, int], here: int) -> set[tuple[str, str]]:
        """_assess_weak_refs for a modified row, in time proportional to what changed
        (a port joining a big multicast group must not cost the whole group): weak
        references the committed row had pointed at rows that existed, so only the ones
        added here, and old ones to rows this transaction deletes, can be dead (unless the
        row kept one to a row deleted before: then every reference is checked)."""
        referrers = self.db.weak_referrers
        me = (tschema.name, new.uuid)
        if self.db.dangling and any(me in referrers.get(t, ()) for t in self.db.dangling):
            return self._dead_the_long_way(tschema, old, new, position, here)
        new_refs = row_refs(tschema, new)
        old_refs = row_refs(tschema, old)
        dead: set[tuple[str, str]] = set()
        for column, target_table, target, is_strong in set(new_refs).difference(old_refs):
            if not is_strong and self.get(target_table, target) is None:
                dead.add((column, target))
        for target in deleted:
            if me not in referrers.get(target, ()):
                continue
            had = {c for c, _, t, strong in old_refs if t == target and not strong}
            for column, target_table, t, is_strong in new_refs:
                # The quirk kept in _assess_weak_refs: a reference the row already had,
                # to a row deleted in a table walked after its own, survives.
                if (t == target and not is_strong and self.get(target_table, t) is None
                        and not (column in had and position.get(target_table, -1) > here)):
                    dead.add((column, t))
        return dead

    def _dead_the_long_way(self, tschema: TableSchema, old: Row, new: Row,
                           position: dict[str, int], here: int) -> set[tuple[str, str]]:
        old_refs = {(c, t) for c, _, t, strong in row_refs(tschema, old) if not strong}
        return {
            (column, target)
            for column, target_table, target, is_strong in row_refs(tschema, new)
            if not is_strong and self.get(target_table, target) is None
            and not ((column, target) in old_refs and position.get(target_table, -1) > here)
        }

    def _remove_weak_refs(self, tschema: TableSchema, row: Row, dead: set[tuple[str, str]]) -> None:
        writable = self.writable(tschema.name, row)
        for column in {c for c, _ in dead}:
            type_ = tschema.columns[column].type
            gone = {t for c, t in dead if c == column}
            value = writable.data[column]
            key_weak = type_.key.ref_table is not None and not type_.key.ref_strong
            if type_.value is not None:
                val_weak = type_.value.ref_table is not None and not type_.value.ref_strong
                new_value: Any = sorted_map(
                    {
                        k: v
                        for k, v in value.items()
                        if not (key_weak and k in gone) and not (val_weak and v in gone)
                    }
                )
            elif type_.is_scalar:
                new_value = value  # cannot shrink below one: reported as a violation below
            else:
                new_value = tuple(a for a in value if a not in gone)
            n_removed = _size(type_, value) - _size(type_, new_value)
            if type_.is_scalar or _size(type_, new_value) < type_.min:
                inserted = self.rows[tschema.name][row.uuid].old is None
                if inserted and UUID_ZERO in gone:
                    raise constraint_violation(
                        f'Weak reference column "{column}" in "{tschema.name}" row '
                        f"{row.uuid} (inserted within this transaction) contained all-zeros "
                        "UUID (probably as the default value for this column) but deleting "
                        "this value caused a constraint volation because this column is not "
                        "allowed to be empty."
                    )
                where = "(inserted within this transaction) " if inserted else ""
                raise constraint_violation(
                    f'Deletion of {max(n_removed, 1)} weak reference(s) to deleted (or '
                    f'never-existing) rows from column "{column}" in "{tschema.name}" row '
                    f"{row.uuid} {where}caused this column to become empty, but constraints "
                    "on this column disallow an empty column."
                )
            writable.data[column] = new_value
        writable._refs = None
        writable._json = None
    def _check_indexes(self) -> None:
        for table_name, rows in self.rows.items():
            table = self.db.tables[table_name]
            for ix in table.indexes:
                seen: dict[tuple[Any, ...], Row] = {}
                for uuid, change in rows.items():
                    new = change.new
                    if new is None:
                        continue
                    key = ix.key(new)
                    other = seen.get(key)
                    if other is None:
                        existing = ix.rows.get(key)
                        if existing is not None and existing != uuid:
                            current = self.get(table_name, existing)
                            if current is not None and ix.key(current) == key:
                                other = current
                    if other is not None:
                        raise constraint_violation(
                            self._duplicate_message(table_name, ix.columns, other, new)
                        )
                    seen[key] = new

    def _duplicate_message(
        self, table: str, columns: tuple[str, ...], first: Row, second: Row
    ) -> str:
        tschema = self.db.schema.tables[table]
        values = _english_list(
            [datum_to_string(tschema.columns[c].type, first.data[c]) for c in columns]
        )
        names = _english_list([f'"{c}"' for c in columns])
        plural = "s" if len(columns) > 1 else ""
        return (
            f'Transaction causes multiple rows in "{table}" table to have identical values '
            f"({values}) for index on column{plural} {names}.  "
            f"{self._row_origin(tschema, columns, first, 'First')}  "
            f"{self._row_origin(tschema, columns, second, 'Second')}"
        )

    def _row_origin(
        self, tschema: TableSchema, columns: tuple[str, ...], row: Row, title: str
    ) -> str:
        change = self.rows.get(tschema.name, {}).get(row.uuid)
        text = f"{title} row, with UUID {row.uuid}, "
        if change is None or change.new is not row:
            return text + (
                "existed in the database before this transaction and was not modified by "
                "the transaction."
            )
        if change.old is None:
            return text + "was inserted by this transaction."
        old = change.old
        if all(old.data[c] == row.data[c] for c in columns):
            return text + (
                "existed in the database before this transaction, which modified some of "
                "the row's columns but not any columns in this index."
            )
        values = _english_list(
            [datum_to_string(tschema.columns[c].type, old.data[c]) for c in columns]
        )
        return text + f"had the following index values before the transaction: {values}."


def _english_list(items: list[str]) -> str:
    """Items joined as english_list_delimiter() joins them: "a", "a and b", "a, b, and c"."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _size(type_: Type, value: Any) -> int:
    return 1 if type_.is_scalar else len(value)


def datum_to_string(type_: Type, value: Any) -> str:
    """A value as ovsdb_datum_to_string() prints it: atoms bare, sets in [], maps in {}."""
    key = type_.key.type
    if type_.value is not None:
        vtype = type_.value.type
        return "{" + ", ".join(
            f"{_atom_text(key, k)}={_atom_text(vtype, v)}" for k, v in value.items()
        ) + "}"
    if type_.is_scalar:
        return _atom_text(key, value)
    return "[" + ", ".join(_atom_text(key, a) for a in value) + "]"


def english(type_: Type) -> str:
    return type_to_english(type_)


def iter_rows(rows: Iterable[Row]) -> list[Row]:
    return list(rows)
