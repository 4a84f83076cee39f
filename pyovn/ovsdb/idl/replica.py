"""The client's in-memory replica of an OVSDB database: tables, typed rows, applying the
server's update/update2/update3 notifications, and change tracking.

Pure: no I/O.  The session (session.py) feeds it monitor replies and notifications.

Values are kept in datum.py's internal form (bare atom for a one-atom column, sorted tuple for
other sets, sorted dict for maps, UUIDs as strings), so that applying an update2 difference is
datum_apply_diff and resyncs compare rows with ==.  Row attribute access converts to the
user's form on the way out: references become Row objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyovn.ovsdb.datum import column_parser, datum_apply_diff, diff_from_json
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.schema import BaseType, ColumnSchema, DatabaseSchema, TableSchema, Type

if TYPE_CHECKING:
    from pyovn.ovsdb.idl.transaction import Transaction

log = logging.getLogger("pyovn.ovsdb.idl")

__all__ = [
    "ChangeSet",
    "Replica",
    "ReplicaError",
    "Row",
    "SchemaHelper",
    "Table",
    "TableChanges",
]


class ReplicaError(ValueError):
    """An update from the server that cannot be applied (malformed, or for an unknown row).

    The session answers it with a full resync, since the replica may now be incomplete."""


class SchemaHelper:
    """Chooses what to replicate, as python-ovs's SchemaHelper: tables and their columns.

    Fewer columns mean smaller updates and fewer wakeups; daemons register only what they read.
    """

    def __init__(self, schema: DatabaseSchema | Mapping[str, Any]) -> None:
        self.schema = (
            schema if isinstance(schema, DatabaseSchema) else DatabaseSchema.from_json(schema)
        )
        self._tables: dict[str, list[str]] = {}

    @classmethod
    def from_file(cls, path: str) -> SchemaHelper:
        import orjson

        with open(path, "rb") as f:
            return cls(orjson.loads(f.read()))

    def register_columns(self, table: str, columns: Iterable[str]) -> None:
        tschema = self._table(table)
        cols = self._tables.setdefault(table, [])
        for name in columns:
            if name not in tschema.columns:
                raise KeyError(f"table {table} has no column {name}")
            if name not in cols:
                cols.append(name)

    def register_table(self, table: str) -> None:
        self.register_columns(table, self._table(table).columns)

    def register_all(self) -> None:
        for name in self.schema.tables:
            self.register_table(name)

    def _table(self, name: str) -> TableSchema:
        tschema = self.schema.tables.get(name)
        if tschema is None:
            raise KeyError(f"database {self.schema.name} has no table {name}")
        return tschema

    @property
    def tables(self) -> dict[str, list[str]]:
        return {t: list(c) for t, c in self._tables.items()}


# --- column decoders ------------------------------------------------------------------------

Decoder = Callable[[Any], Any]


def _plain_type(type_: Type) -> Type:
    """The column type without constraints: values from the server were checked there, and a
    newer server may allow (e.g.) enum values this client's schema does not know."""
    value = BaseType(type_.value.type) if type_.value is not None else None
    return Type(BaseType(type_.key.type), value, type_.min, type_.max)


def _make_decoder(type_: Type) -> Decoder:
    """A fast path for the common one-atom columns; column_parser (datum_from_json with
    fast paths of its own for sets and maps) for everything else."""
    plain = _plain_type(type_)
    parse = column_parser(plain)

    def slow(json: Any) -> Any:
        return parse(json, None)

    if not type_.is_scalar:
        return slow
    atomic = type_.key.type
    if atomic in ("string", "integer", "boolean"):
        pytype = {"string": str, "integer": int, "boolean": bool}[atomic]

        def simple(json: Any) -> Any:
            return json if type(json) is pytype else slow(json)

        return simple
    if atomic == "uuid":

        def uuid(json: Any) -> Any:
            if (type(json) is list and len(json) == 2 and json[0] == "uuid"
                    and type(json[1]) is str and len(json[1]) == 36):
                return json[1].lower()
            return slow(json)

        return uuid
    return slow


# --- rows -----------------------------------------------------------------------------------


class Row:
    """One replicated row.  Columns read as attributes; writes go to the open transaction.

    Reading: a one-atom column gives the atom; other sets a tuple; maps a (fresh) dict;
    references are resolved to Row objects (dangling ones are left out, or None for a
    one-atom column).  `raw(column)` gives the stored form, UUIDs as strings.
    A deleted row keeps its last values and has `deleted` set.
    """

    __slots__ = ("_data", "_pending", "_table", "deleted", "uuid")

    def __init__(self, table: Table, uuid: str, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "uuid", uuid)
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_pending", None)
        object.__setattr__(self, "deleted", False)

    _table: Table
    uuid: str
    _data: dict[str, Any]
    _pending: dict[str, Any] | None
    deleted: bool

    def __repr__(self) -> str:
        return f"<Row {self._table.name} {self.uuid}>"

    def __getattr__(self, name: str) -> Any:
        table = self._table
        conv = table.readers.get(name)
        if conv is None:
            raise AttributeError(f"table {table.name} has no replicated column {name}")
        pending = self._pending
        if pending is not None and name in pending:
            return conv(pending[name])
        return conv(self._data[name])

    def __setattr__(self, name: str, value: Any) -> None:
        self.txn().set(self, name, value)

    def raw(self, column: str) -> Any:
        """The stored value (pending one inside a transaction), UUIDs as strings."""
        pending = self._pending
        if pending is not None and column in pending:
            return pending[column]
        try:
            return self._data[column]
        except KeyError:
            raise AttributeError(
                f"table {self._table.name} has no replicated column {column}"
            ) from None

    @property
    def table(self) -> Table:
        return self._table

    def to_dict(self) -> dict[str, Any]:
        """The stored values of every replicated column (a copy)."""
        return dict(self._data)

    # Sugar for the open transaction, named as python-ovs's Row methods.
    def txn(self) -> Transaction:
        txn = self._table.replica.txn
        if txn is None:
            raise RuntimeError(f"{self!r}: no open transaction (use Replica.transaction())")
        return txn

    def verify(self, column: str) -> None:
        self.txn().verify(self, column)

    def delete(self) -> None:
        self.txn().delete(self)

    def increment(self, column: str) -> None:
        self.txn().increment(self, column)

    def addvalue(self, column: str, value: Any) -> None:
        self.txn().add_to_set(self, column, [value])

    def delvalue(self, column: str, value: Any) -> None:
        self.txn().remove_from_set(self, column, [value])

    def setkey(self, column: str, key: Any, value: Any) -> None:
        self.txn().set_key(self, column, key, value)

    def delkey(self, column: str, key: Any) -> None:
        self.txn().remove_key(self, column, key)


def _make_reader(replica: Replica, column: ColumnSchema) -> Decoder:
    """Converts a stored value to what attribute access returns: references become rows."""
    type_ = column.type
    key_ref = type_.key.ref_table
    value_ref = type_.value.ref_table if type_.value is not None else None
    if type_.is_map:
        if key_ref is None and value_ref is None:
            return dict

        def read_map(value: Any) -> Any:
            kt = replica.tables.get(key_ref) if key_ref else None
            vt = replica.tables.get(value_ref) if value_ref else None
            out: dict[Any, Any] = {}
            for k, v in value.items():
                if kt is not None:
                    k = kt.rows.get(k)
                    if k is None:
                        continue
                if vt is not None:
                    v = vt.rows.get(v)
                    if v is None:
                        continue
                out[k] = v
            return out

        return read_map
    if key_ref is None:
        return _identity
    if type_.is_scalar:

        def read_ref(value: Any) -> Any:
            t = replica.tables.get(key_ref)
            return value if t is None else t.rows.get(value)

        return read_ref

    def read_refs(value: Any) -> Any:
        t = replica.tables.get(key_ref)
        if t is None:
            return value
        rows = t.rows
        return tuple(r for r in (rows.get(u) for u in value) if r is not None)

    return read_refs


def _identity(value: Any) -> Any:
    return value


# --- tables and change tracking --------------------------------------------------------------


@dataclass
class TableChanges:
    """What changed in one table: rows inserted, modified (with the old values of the columns
    that changed, so that `old[uuid].keys()` are the changed columns), and deleted."""

    inserted: dict[str, Row] = field(default_factory=dict)
    modified: dict[str, Row] = field(default_factory=dict)
    old: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, Row] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.inserted or self.modified or self.deleted)

    def changed_columns(self, uuid: str) -> set[str]:
        return set(self.old.get(uuid, ()))

    def _insert(self, row: Row) -> None:
        gone = self.deleted.pop(row.uuid, None)
        if gone is None:
            self.inserted[row.uuid] = row
            return
        # Deleted and back (a condition change, or a resync): a modification of what it was.
        old = {c: v for c, v in gone._data.items() if row._data.get(c) != v}
        if old:
            self.modified[row.uuid] = row
            self.old[row.uuid] = old

    def _modify(self, row: Row, old: dict[str, Any]) -> None:
        if row.uuid in self.inserted:
            return
        prev = self.old.get(row.uuid)
        if prev is None:
            self.modified[row.uuid] = row
            self.old[row.uuid] = old
        else:
            for c, v in old.items():
                prev.setdefault(c, v)

    def _delete(self, row: Row) -> None:
        if self.inserted.pop(row.uuid, None) is not None:
            return
        self.modified.pop(row.uuid, None)
        self.old.pop(row.uuid, None)
        self.deleted[row.uuid] = row


class ChangeSet:
    """Changes per table since the last time they were taken (see Replica.take_changes)."""

    def __init__(self) -> None:
        self.tables: dict[str, TableChanges] = {}

    def __getitem__(self, table: str) -> TableChanges:
        return self.tables.get(table) or TableChanges()

    def __bool__(self) -> bool:
        return any(self.tables.values())

    def __iter__(self) -> Iterator[str]:
        return iter(t for t, c in self.tables.items() if c)

    def _for(self, table: str) -> TableChanges:
        tc = self.tables.get(table)
        if tc is None:
            tc = self.tables[table] = TableChanges()
        return tc

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """(inserted, modified, deleted) per changed table."""
        return {
            t: (len(c.inserted), len(c.modified), len(c.deleted))
            for t, c in self.tables.items() if c
        }


class Table:
    """A replicated table: its registered columns and rows by UUID."""

    def __init__(self, replica: Replica, schema: TableSchema, columns: Sequence[str]) -> None:
        self.replica = replica
        self.name = schema.name
        self.schema = schema
        self.columns: dict[str, ColumnSchema] = {c: schema.columns[c] for c in columns}
        self.rows: dict[str, Row] = {}
        self.defaults = {c: col.default for c, col in self.columns.items()}
        self.decoders = {c: _make_decoder(col.type) for c, col in self.columns.items()}
        self.plain_types = {c: _plain_type(col.type) for c, col in self.columns.items()}
        self.readers = {c: _make_reader(replica, col) for c, col in self.columns.items()}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def get(self, uuid: str) -> Row | None:
        return self.rows.get(uuid)

    def find(self, **match: Any) -> list[Row]:
        """Rows whose stored values equal the given ones (a scan; no indexes yet)."""
        return [r for r in self.rows.values()
                if all(r._data.get(c) == v for c, v in match.items())]

    def decode_row(self, uuid: str, json: Any) -> dict[str, Any]:
        """A complete row (defaults for columns the server left out) from a row object."""
        if not isinstance(json, dict):
            raise ReplicaError(f"{self.name} row {uuid}: expected an object, got {json!r}")
        data = dict(self.defaults)
        decoders = self.decoders
        for name, value in json.items():
            dec = decoders.get(name)
            if dec is None:
                continue  # a column we did not register (or _version): not replicated
            try:
                data[name] = dec(value)
            except OvsdbError as error:
                raise ReplicaError(f"{self.name} row {uuid} column {name}: {error}") from None
        return data

    def decode_diff(self, uuid: str, old: dict[str, Any], json: Any) -> dict[str, Any]:
        """New values of the columns an update2 "modify" changes."""
        if not isinstance(json, dict):
            raise ReplicaError(f"{self.name} row {uuid}: expected an object, got {json!r}")
        new: dict[str, Any] = {}
        for name, value in json.items():
            col = self.columns.get(name)
            if col is None:
                continue
            try:
                if col.type.is_scalar:
                    new[name] = self.decoders[name](value)
                else:
                    diff = diff_from_json(self.plain_types[name], value)
                    new[name] = datum_apply_diff(col.type, old[name], diff)
            except OvsdbError as error:
                raise ReplicaError(f"{self.name} row {uuid} column {name}: {error}") from None
        return new


class Replica:
    """The replicated tables, and the changes not yet taken by the application."""

    def __init__(self, helper: SchemaHelper) -> None:
        self.schema = helper.schema
        self.tables: dict[str, Table] = {}
        for name, columns in helper.tables.items():
            self.tables[name] = Table(self, self.schema.tables[name], columns)
        self.changes = ChangeSet()
        self.change_seqno = 0
        # Columns whose changes alone are not reported (omit_alert()), per table.
        self.quiet: dict[str, frozenset[str]] = {}
        # The open transaction, if any (Row attribute writes go there).
        self.txn: Transaction | None = None

    def __getitem__(self, table: str) -> Table:
        return self.tables[table]

    def take_changes(self) -> ChangeSet:
        """The changes since the previous call; incremental daemons process exactly these."""
        changes, self.changes = self.changes, ChangeSet()
        return changes

    def omit_alert(self, table: str, column: str) -> None:
        """Changes to this column, when nothing else in the row changed, update the replica
        but are neither recorded as changes nor counted in change_seqno (OVS's
        ovsdb_idl_omit_alert()): for columns a client writes itself and needs no wake-up
        for, such as the status northd copies into NB (Logical_Switch_Port.up)."""
        if column not in self.tables[table].columns:
            raise KeyError(f"table {table} has no replicated column {column}")
        self.quiet[table] = self.quiet.get(table, frozenset()) | {column}

    def transaction(self) -> Transaction:
        from pyovn.ovsdb.idl.transaction import Transaction

        return Transaction(self)

    # --- applying updates -----------------------------------------------------------------

    def _table_updates(self, updates: Any) -> list[tuple[Table, dict[str, Any]]]:
        if not isinstance(updates, dict):
            raise ReplicaError(f"table-updates must be an object, got {updates!r}")
        out = []
        for tname, rows in updates.items():
            table = self.tables.get(tname)
            if table is None:
                raise ReplicaError(f"update for table {tname}, which is not replicated")
            if not isinstance(rows, dict):
                raise ReplicaError(f"{tname}: table-update must be an object")
            out.append((table, rows))
        return out

    def apply_update2(self, updates: Any) -> bool:
        """Applies the table-updates2 of an update2/update3 notification, or of a
        monitor_cond(_since) reply; False if it changed only quiet columns (or nothing)."""
        changed = False
        for table, rows in self._table_updates(updates):
            tc = self.changes._for(table.name)
            trows = table.rows
            quiet = self.quiet.get(table.name)
            for uuid, ru in rows.items():
                if not isinstance(ru, dict) or len(ru) != 1:
                    raise ReplicaError(f"{table.name} row {uuid}: bad row-update2 {ru!r}")
                ((kind, body),) = ru.items()
                if kind == "initial" or kind == "insert":
                    data = table.decode_row(uuid, body)
                    row = trows.get(uuid)
                    if row is not None:
                        # Already there (e.g. an insert racing with a condition change).
                        self._modify_row(tc, row, data)
                    else:
                        row = trows[uuid] = Row(table, uuid, data)
                        tc._insert(row)
                elif kind == "modify":
                    row = trows.get(uuid)
                    if row is None:
                        raise ReplicaError(f"{table.name}: modify of unknown row {uuid}")
                    diff = table.decode_diff(uuid, row._data, body)
                    if quiet is not None and quiet.issuperset(diff):
                        row._data.update(diff)
                        continue
                    self._modify_row(tc, row, diff)
                elif kind == "delete":
                    row = trows.pop(uuid, None)
                    if row is None:
                        raise ReplicaError(f"{table.name}: delete of unknown row {uuid}")
                    object.__setattr__(row, "deleted", True)
                    tc._delete(row)
                else:
                    raise ReplicaError(f"{table.name} row {uuid}: unknown update kind {kind!r}")
                changed = True
        if changed:
            self.change_seqno += 1
        return changed

    def apply_update(self, updates: Any) -> None:
        """Applies the table-updates of a (version 1) update notification or monitor reply."""
        changed = False
        for table, rows in self._table_updates(updates):
            tc = self.changes._for(table.name)
            for uuid, ru in rows.items():
                if not isinstance(ru, dict) or not ("old" in ru or "new" in ru):
                    raise ReplicaError(f"{table.name} row {uuid}: bad row-update {ru!r}")
                row = table.rows.get(uuid)
                new = ru.get("new")
                if new is None:
                    if row is None:
                        raise ReplicaError(f"{table.name}: delete of unknown row {uuid}")
                    del table.rows[uuid]
                    object.__setattr__(row, "deleted", True)
                    tc._delete(row)
                elif row is None:
                    row = table.rows[uuid] = Row(table, uuid, table.decode_row(uuid, new))
                    tc._insert(row)
                else:
                    if not isinstance(new, dict):
                        raise ReplicaError(f"{table.name} row {uuid}: bad new row")
                    data = {c: table.decoders[c](v) for c, v in new.items()
                            if c in table.columns}
                    self._modify_row(tc, row, data)
                changed = True
        if changed:
            self.change_seqno += 1

    def replace(self, updates: Any, version: int = 2) -> None:
        """A full resync: the given initial contents become the replica.

        Rows that are gone are deleted, rows that changed are modified in place (so the Row
        objects an application holds stay valid), and the change set says exactly that, as if
        the client had seen every update it missed.
        """
        for table, rows in self._table_updates(updates):
            for uuid, ru in rows.items():
                if not isinstance(ru, dict):
                    raise ReplicaError(f"{table.name} row {uuid}: bad row-update {ru!r}")
                body = ru.get("initial") if version == 2 else ru.get("new")
                if body is None:
                    raise ReplicaError(f"{table.name} row {uuid}: expected initial contents")
        new_tables = {t.name: rows for t, rows in self._table_updates(updates)}
        for table in self.tables.values():
            tc = self.changes._for(table.name)
            rows = new_tables.get(table.name, {})
            trows = table.rows
            for uuid in [u for u in trows if u not in rows]:
                gone = trows.pop(uuid)
                object.__setattr__(gone, "deleted", True)
                tc._delete(gone)
            for uuid, ru in rows.items():
                data = table.decode_row(uuid, ru["initial"] if version == 2 else ru["new"])
                row = trows.get(uuid)
                if row is None:
                    new_row = trows[uuid] = Row(table, uuid, data)
                    tc._insert(new_row)
                elif row._data != data:
                    self._modify_row(tc, row, data)
        self.change_seqno += 1

    @staticmethod
    def _modify_row(tc: TableChanges, row: Row, new: dict[str, Any]) -> None:
        data = row._data
        old = {}
        for c, v in new.items():
            if data[c] != v:
                old[c] = data[c]
                data[c] = v
        if old:
            tc._modify(row, old)

    def row_count(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())
