"""What a running command sees: the replica as this batch has changed it so far.

The C IDL puts rows a transaction inserts into its tables at once and hides the ones it
deletes, so that `ls-add sw0 -- lsp-add sw0 p0` finds sw0.  pyovn's Transaction keeps inserted
rows aside, so this context keeps the batch's view: `rows(table)` is the replica minus this
batch's deletions plus its insertions, and reads go through `raw()` (UUID strings, which
resolve to inserted rows too).  Writes rewrite whole columns after a `verify`, so that later
commands in the batch read what earlier ones wrote and a concurrent change makes the commit
"try again" instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.values import SymbolTable, is_uuid
from pyovn.ovsdb.idl import Row, Table, Transaction
from pyovn.ovsdb.schema import BaseType, ColumnSchema, DatabaseSchema, TableSchema, Type

__all__ = ["Context", "RowId"]


@dataclass(frozen=True)
class RowId:
    """How a record is named on the command line (db-ctl-base's ctl_row_id): rows of `table`
    whose `column` (or its `key`, for a map) equals the name; with `uuid_column`, the record
    is the row that column of the matching row refers to."""

    table: str
    column: str
    key: str | None = None
    uuid_column: str | None = None


def _match_score(name: str, s: str) -> int:
    """db-ctl-base's score_partial_match: exact > case-insensitive > prefix (by length)."""
    if name == s:
        return 1 << 62
    n = 0
    for a, b in zip(name, s):
        if a.lower().replace("-", "_") != b.lower().replace("-", "_"):
            break
        n += 1
    if n == len(name) == len(s):
        return (1 << 62) - 1
    return n if n == len(s) else 0


def best_match(names: Iterable[str], s: str) -> tuple[list[str], int]:
    best: list[str] = []
    best_score = 0
    for name in names:
        score = _match_score(name, s)
        if score > best_score:
            best, best_score = [name], score
        elif score == best_score and score:
            best.append(name)
    return best, best_score


class Context:
    def __init__(
        self,
        schema: DatabaseSchema,
        tables: dict[str, Table],
        txn: Transaction,
        row_ids: dict[str, list[RowId]],
        program: str,
    ) -> None:
        self.schema = schema
        self.tables = tables
        self.txn = txn
        self.row_ids = row_ids
        self.program = program
        self.symtab = SymbolTable()
        self.inserted: dict[str, dict[str, Row]] = {}
        self.deleted: set[str] = set()
        self.written: set[tuple[str, str]] = set()
        self._indexes: dict[tuple[str, str], dict[Any, list[Row]]] = {}
        self.cache: dict[str, Any] = {}  # per-batch state of tool-specific helpers
        self.warnings: list[str] = []
        self.force_commit = False

    # --- tables and columns ------------------------------------------------------------------

    def table_schema(self, name: str) -> TableSchema:
        """A table by (partial, case-insensitive) name, as db-ctl-base's get_table."""
        if name in self.schema.tables:
            return self.schema.tables[name]
        matches, _ = best_match(self.schema.tables, name)
        if not matches:
            raise CtlError(f'unknown table "{name}"')
        if len(matches) > 1:
            raise CtlError(f'"{name}" matches multiple table names: '
                           + ", ".join(sorted(matches)))
        return self.schema.tables[matches[0]]

    def column(self, table: TableSchema, name: str) -> ColumnSchema:
        columns = dict(table.columns)
        columns.setdefault("_uuid", _UUID_COLUMN)
        if name in columns:
            return columns[name]
        matches, _ = best_match(columns, name)
        if not matches:
            raise CtlError(f'{table.name} does not contain a column whose name matches '
                           f'"{name}"')
        if len(matches) > 1:
            raise CtlError(f'{table.name} contains more than one column whose name matches '
                           f'"{name}": ' + ", ".join(sorted(matches)))
        return columns[matches[0]]

    # --- rows as this batch sees them ----------------------------------------------------------

    def rows(self, table: str) -> Iterator[Row]:
        deleted = self.deleted
        for row in self.tables[table].rows.values():
            if row.uuid not in deleted:
                yield row
        ins = self.inserted.get(table)
        if ins:
            yield from list(ins.values())

    def row(self, table: str, uuid: str) -> Row | None:
        if uuid in self.deleted:
            return None
        row = self.tables[table].rows.get(uuid)
        if row is None:
            ins = self.inserted.get(table)
            if ins is not None:
                row = ins.get(uuid)
        return row

    def refs(self, row: Row, column: str) -> list[Row]:
        """The rows a reference column points to (dangling ones left out)."""
        col = row.table.columns[column]
        ref_table = col.type.key.ref_table
        assert ref_table is not None
        value = row.raw(column)
        uuids = (value,) if isinstance(value, str) else value
        out = []
        for u in uuids:
            r = self.row(ref_table, u)
            if r is not None:
                out.append(r)
        return out

    def ref(self, row: Row, column: str) -> Row | None:
        refs = self.refs(row, column)
        return refs[0] if refs else None

    def insert(self, table: str, uuid: str | None = None) -> Row:
        row = self.txn.insert(table, uuid)
        self.inserted.setdefault(table, {})[row.uuid] = row
        self._drop_indexes(table)
        return row

    def is_inserted(self, row: Row) -> bool:
        return row.uuid in self.inserted.get(row.table.name, {})

    def delete(self, row: Row) -> None:
        table = row.table.name
        ins = self.inserted.get(table)
        if ins is not None and row.uuid in ins:
            del ins[row.uuid]
        self.txn.delete(row)
        self.deleted.add(row.uuid)
        self._drop_indexes(table)

    # --- writes ------------------------------------------------------------------------------

    def verify(self, row: Row, column: str) -> None:
        if not self.is_inserted(row):
            self.txn.verify(row, column)

    def write(self, row: Row, column: str, value: Any) -> None:
        """Rewrites a whole column (value in internal or user form)."""
        self.verify(row, column)
        try:
            self.txn.set(row, column, value)
        except ValueError as error:
            text = str(error)
            marker = "constraint violation: "
            if marker in text:
                # The C tools leave this check to the server: report it as they do.
                from pyovn.cli.ctl.runner import log_warn
                from pyovn.ovsdb.error import json_text

                obj = json_text({"details": text.split(marker, 1)[1],
                                 "error": "constraint violation"})
                log_warn(f"ovsdb_idl|WARN|transaction error: {obj}")
                raise CtlError(f"transaction error: {obj}") from None
            raise CtlError(text) from None
        self.written.add((row.uuid, column))
        self._drop_indexes(row.table.name, column)

    def add_values(self, row: Row, column: str, values: Iterable[Any]) -> None:
        """Adds atoms (or Row references) to a set column."""
        vals = [v.uuid if isinstance(v, Row) else v for v in values]
        if (row.uuid, column) in self.written or self.is_inserted(row):
            self.txn.add_to_set(row, column, vals)
            self._drop_indexes(row.table.name, column)
            return
        old = row.raw(column)
        self.write(row, column, tuple(sorted(set(old) | set(vals))))

    def remove_values(self, row: Row, column: str, values: Iterable[Any]) -> None:
        vals = {v.uuid if isinstance(v, Row) else v for v in values}
        old = row.raw(column)
        self.write(row, column, tuple(v for v in old if v not in vals))

    def set_key(self, row: Row, column: str, key: Any, value: Any) -> None:
        old = dict(row.raw(column))
        old[key] = value
        self.write(row, column, old)

    def del_key(self, row: Row, column: str, key: Any) -> None:
        old = dict(row.raw(column))
        old.pop(key, None)
        self.write(row, column, old)

    # --- finding rows ------------------------------------------------------------------------

    def _drop_indexes(self, table: str, column: str | None = None) -> None:
        if not self._indexes:
            return
        for key in [k for k in self._indexes if k[0] == table and column in (None, k[1])]:
            del self._indexes[key]

    def find(self, table: str, column: str, value: Any) -> list[Row]:
        """Rows whose column equals value (an index built once per batch and kept up to
        date by this context's writes)."""
        key = (table, column)
        index = self._indexes.get(key)
        if index is None:
            index = {}
            for row in self.rows(table):
                v = row.raw(column)
                index.setdefault(v if not isinstance(v, dict) else None, []).append(row)
            self._indexes[key] = index
        return list(index.get(value, ()))

    def note_insert(self, row: Row) -> None:
        """Keeps the indexes of a just-inserted row's table right after its columns are set."""
        self._drop_indexes(row.table.name)

    def get_row(self, table: TableSchema, record: str, must_exist: bool = True) -> Row | None:
        """A record by UUID, name (the table's row ids) or UUID prefix (get_row)."""
        row: Row | None = None
        if is_uuid(record):
            row = self.row(table.name, record.lower())
        if row is None:
            for rid in self.row_ids.get(table.name, ()):
                row = self._get_by_id(table, rid, record)
                if row is not None:
                    break
        if row is None and _is_partial_uuid(record):
            prefix = record.lower()
            for r in self.rows(table.name):
                if r.uuid.startswith(prefix):
                    if row is not None:
                        raise CtlError(
                            f"{table.name} contains 2 or more rows whose UUIDs begin with "
                            f"{record}: at least {row.uuid} and {r.uuid}")
                    row = r
        if row is None and must_exist:
            raise CtlError(f'no row "{record}" in table {table.name}')
        return row

    def _get_by_id(self, table: TableSchema, rid: RowId, record: str) -> Row | None:
        if not rid.column:
            # "." names the table's only row (NB_Global, SB_Global).
            if record != ".":
                return None
            rows = list(self.rows(rid.table))
            return rows[0] if len(rows) == 1 else None
        if rid.key is None:
            matches = self.find(rid.table, rid.column, record)
        else:
            matches = [r for r in self.rows(rid.table)
                       if r.raw(rid.column).get(rid.key) == record]
        if not matches:
            return None
        if len(matches) > 1:
            raise CtlError(f'multiple rows in {rid.table} match "{record}"')
        referrer = matches[0]
        if rid.uuid_column is None:
            return referrer
        value = referrer.raw(rid.uuid_column)
        uuids = (value,) if isinstance(value, str) else value
        if len(uuids) != 1:
            return None
        return self.row(table.name, uuids[0])


def _is_partial_uuid(s: str) -> bool:
    """At least 4 hex digits of a UUID's beginning (uuid_is_partial_string)."""
    n = 0
    for i, c in enumerate(s):
        if c == "-" and i in (8, 13, 18, 23):
            continue
        if c not in "0123456789abcdefABCDEF":
            return False
        n += 1
    return n >= 4 and len(s) <= 36


_UUID_COLUMN = ColumnSchema("_uuid", Type(BaseType("uuid")), mutable=False)
