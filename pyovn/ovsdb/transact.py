"""Executing a `transact` request's operations (RFC 7047 section 5.2) against a database.

execute() is pure: it returns the reply's result array and, if the transaction is to commit,
the checked changes.  The server applies them, logs them and notifies monitors.  The order of
checks, and so which error a bad request reports, follows ovsdb/execution.c.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyovn.ovsdb.condition import Condition, find_column, parse_condition
from pyovn.ovsdb.database import Changes, Database, Row, hashable, new_uuid
from pyovn.ovsdb.datum import (
    ID_RE,
    UUID_RE,
    check_atom,
    column_parser,
    datum_to_json,
    json_error,
    shash_order,
)
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.mutation import apply_mutation, parse_mutations
from pyovn.ovsdb.schema import ColumnSchema, TableSchema, Type
from pyovn.ovsdb.txn import Txn


class WouldBlock(Exception):
    """A "wait" operation's condition is not met yet and its timeout has not expired."""

    def __init__(self, timeout_ms: int | None) -> None:
        super().__init__("wait")
        self.timeout_ms = timeout_ms  # None: wait forever


@dataclass
class TxnResult:
    results: list[Any]
    changes: Changes | None = None  # None: nothing to commit (read-only or failed)
    comment: str | None = None
    durable: bool = False
    error: bool = False


@dataclass
class _Symbols:
    """uuid-name bindings of one transaction."""

    names: dict[str, str] = field(default_factory=dict)
    inserted: set[str] = field(default_factory=set)

    def resolve(self, name: str) -> str:
        uuid = self.names.get(name)
        if uuid is None:
            # OVS binds an unknown name to a fresh UUID (it may be inserted later on).
            uuid = self.names[name] = new_uuid()
        return uuid


# ovsdb_parser_member() type flags.
_OBJECT, _ARRAY, _STRING, _INTEGER, _BOOLEAN, _ID = 1, 2, 4, 8, 16, 32


_SIMPLE_KINDS: dict[int, type] = {_OBJECT: dict, _ARRAY: list, _STRING: str}


def _json_kind(value: Any) -> int:
    if isinstance(value, str):
        return _STRING | (_ID if ID_RE.match(value) else 0)
    if isinstance(value, bool):
        return _BOOLEAN
    if isinstance(value, int):
        return _INTEGER
    if isinstance(value, dict):
        return _OBJECT
    if isinstance(value, list):
        return _ARRAY
    return 0


class Parser:
    """ovsdb_parser: takes an object's members one by one; the first problem is the error,
    and members nobody asked for are an error too (reported by finish())."""

    __slots__ = ("error", "json", "name", "used")

    def __init__(self, json: Any, name: str) -> None:
        self.name = name
        self.used: set[str] = set()
        self.error: OvsdbError | None = None
        self.json: dict[str, Any] | None = json if isinstance(json, dict) else None
        if self.json is None:
            self.raise_error("Object expected.")

    def member(self, name: str, kinds: int, optional: bool = False) -> Any:
        """The member's value, or None if it is missing or has the wrong type."""
        if self.json is None:
            return None
        value = self.json.get(name, _MISSING)
        if value is _MISSING:
            if not optional:
                self.raise_error(f"Required '{name}' member is missing.")
            return None
        # The common single-kind checks without classifying the value.
        kind_type = _SIMPLE_KINDS.get(kinds)
        if (type(value) is kind_type) if kind_type is not None else (_json_kind(value) & kinds):
            self.used.add(name)
            return value
        self.raise_error(f"Type mismatch for member '{name}'.")
        return None

    def raise_error(self, message: str) -> None:
        if self.error is None:
            details = f"Parsing {self.name} failed: {message}"
            if self.json is None:
                self.error = OvsdbError("syntax error", details)
            else:
                self.error = json_error(self.json, details)

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def finish(self) -> OvsdbError | None:
        if self.error is None and self.json is not None and len(self.json) > len(self.used):
            unused = [k for k in shash_order(self.json) if k not in self.used]
            if len(unused) > 1:
                n = len(unused) - 1
                self.raise_error(
                    f"Member '{unused[0]}' and {n} other member{'s' if n > 1 else ''} "
                    "are present but not allowed here."
                )
            else:
                self.raise_error(f"Member '{unused[0]}' is present but not allowed here.")
        return self.error


_MISSING = object()


class _Execution:
    __slots__ = ("comment", "db", "durable", "expired", "held_locks", "symbols", "timeout",
                 "txn")

    def __init__(self, db: Database, held_locks: Callable[[str], bool], expired: bool) -> None:
        self.db = db
        self.txn = Txn(db)
        self.symbols = _Symbols()
        self.held_locks = held_locks
        self.expired = expired
        self.comment: str | None = None
        self.durable = False
        self.timeout: int | None = None  # smallest "wait" timeout so far (None: forever)


def execute(
    db: Database,
    params: list[Any],
    held_locks: Callable[[str], bool] = lambda _: False,
    expired: bool = False,
    enforce_reserved: bool = False,
) -> TxnResult:
    """Runs the operations in params (the request's params after the database name).

    `expired` is set when re-running a waiting transaction whose wait timeout has passed,
    so that a failed "wait" reports "timed out" instead of blocking again.  With
    `enforce_reserved`, operations that write are refused on a database whose name starts
    with "_" (as clients must not write _Server).
    """
    x = _Execution(db, held_locks, expired)
    results: list[Any] = []
    n = len(params)
    reserved = enforce_reserved and db.name.startswith("_")
    failed = False
    for index, op in enumerate(params):
        parser = Parser(op, f"ovsdb operation {index + 1} of {n}")
        name = parser.member("op", _ID)
        result: dict[str, Any] = {}
        error: OvsdbError | None = None
        writes = False
        if name is not None:
            entry = _OPS.get(name)
            if entry is None:
                parser.raise_error(f'No operation "{name}"')
            else:
                handler, writes = entry
                try:
                    handler(x, parser, result)
                except OvsdbError as e:
                    error = e
        parse_error = parser.finish()
        if parse_error is not None:
            error = parse_error
        if error is None and writes and reserved:
            error = OvsdbError(
                "not allowed",
                f"{name} operation not allowed on table in reserved database {db.name}",
            )
        if error is not None:
            if error.tag == "not supported":
                raise WouldBlock(x.timeout)
            results.append(error.to_json())
            failed = True
            break
        results.append(result)
    if failed:
        results.extend([None] * (n - len(results)))
        return TxnResult(results, error=True)
    try:
        changes = x.txn.precommit()
    except OvsdbError as error:
        results.append(error.to_json())
        return TxnResult(results, error=True)
    return TxnResult(results, changes or None, x.comment, x.durable)


# --- shared parsing ---------------------------------------------------------------------


def _table(x: _Execution, parser: Parser, member: str = "table") -> TableSchema | None:
    name = parser.member(member, _ID)
    if name is None:
        return None
    table = x.db.schema.tables.get(name)
    if table is None:
        parser.raise_error(f"No table named {name}.")
    return table


def _parse_row(
    table: TableSchema, row_json: dict[str, Any], x: _Execution
) -> dict[str, Any]:
    """ovsdb_row_from_json(): the given columns' values, by name (_uuid and _version too)."""
    try:
        return _parse_row_in(table, row_json, row_json, x)
    except OvsdbError:
        if len(row_json) < 2:
            raise
    # Report the error OVS meets first, walking the members in its hash order.
    return _parse_row_in(table, row_json, shash_order(row_json), x)


def _parse_row_in(
    table: TableSchema, row_json: dict[str, Any], order: Iterable[str], x: _Execution
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    resolve = x.symbols.resolve
    for name in order:
        column = find_column(table, name)
        if column is None:
            raise json_error(row_json, f"No column {name} in table {table.name}.",
                             "unknown column")
        data[name] = column_parser(column.type)(row_json[name], resolve)
    return data


def _check_value(type_: Type, value: Any) -> None:
    if type_.value is None:
        for atom in (value,) if type_.is_scalar else value:
            check_atom(type_.key, atom)
    else:
        for k, v in value.items():
            check_atom(type_.key, k)
            check_atom(type_.value, v)


@functools.cache
def _defaults(table: TableSchema) -> dict[str, Any]:
    """Column defaults in schema order (copied by each insert)."""
    return {n: c.default for n, c in table.columns.items()}


@functools.cache
def _bad_defaults(table: TableSchema) -> list[str]:
    """Columns whose default breaks a constraint, in the order OVS checks them."""
    bad = []
    for name in _column_order(table):
        try:
            _check_value(table.columns[name].type, table.columns[name].default)
        except OvsdbError:
            bad.append(name)
    return bad


@functools.cache
def _column_order(table: TableSchema) -> list[str]:
    """The order in which OVS walks a table's columns: its shash of columns gets _uuid and
    _version first, then the schema's columns in the order it parsed them."""
    order = shash_order(["_uuid", "_version", *shash_order(table.columns)])
    return [n for n in order if n in table.columns]


def _condition(table: TableSchema, where: Any, x: _Execution) -> Condition:
    return parse_condition(table, where, x.symbols.resolve)


def _column_set(table: TableSchema, json: Any) -> list[ColumnSchema] | None:
    """ovsdb_column_set_from_json(); None when the member is absent (meaning every column)."""
    if json is None:
        return None
    columns: list[ColumnSchema] = []
    seen: set[str] = set()
    for name in json:
        if not isinstance(name, str):
            break
        column = find_column(table, name)
        if column is None:
            raise json_error(json, f"{name} is not a valid column name")
        if name in seen:
            break
        seen.add(name)
        columns.append(column)
    else:
        return columns
    raise json_error(json, "array of distinct column names expected")


def _matching(txn: Txn, table: TableSchema, cond: Condition) -> list[Row]:
    pinned = cond.uuid_lookup()
    if pinned is not None:
        row = txn.get(table.name, pinned)
        return [row] if row is not None and cond.matches(row) else []
    if cond.is_true:
        return list(txn.table_rows(table.name))
    return [row for row in txn.table_rows(table.name) if cond.matches(row)]


def _value(row: Row, name: str) -> Any:
    if name == "_uuid":
        return row.uuid
    if name == "_version":
        return row.version
    return row.data[name]


# --- operations ----------------------------------------------------------------------------


def _op_insert(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    table = _table(x, parser)
    uuid_json = parser.member("uuid", _STRING, optional=True)
    uuid_name = parser.member("uuid-name", _ID, optional=True)
    row_json = parser.member("row", _OBJECT)
    parser.check()
    assert table is not None
    txn = x.txn
    if uuid_json is not None:
        if not UUID_RE.match(uuid_json):
            raise json_error(uuid_json, "bad uuid")
        uuid = uuid_json.lower()
        if txn.get(table.name, uuid) is not None or txn.was_deleted(table.name, uuid):
            raise json_error(
                uuid_json,
                "This UUID would duplicate a UUID already present within the table or "
                "deleted within the same transaction.",
                "duplicate uuid",
            )
    if uuid_name is not None:
        if uuid_name in x.symbols.inserted:
            raise json_error(
                uuid_name, 'This "uuid-name" appeared on an earlier "insert" operation.',
                "duplicate uuid-name",
            )
        if uuid_json is not None:
            x.symbols.names[uuid_name] = uuid
        else:
            uuid = x.symbols.resolve(uuid_name)
        x.symbols.inserted.add(uuid_name)
    elif uuid_json is None:
        uuid = new_uuid()
    values = _parse_row(table, row_json, x)
    # Given values were checked as they were parsed; a default may still break a constraint
    # (an enum without ""), which ovsdb_execute_insert reports, in its column order.
    for name in _bad_defaults(table):
        if name not in values:
            _check_value(table.columns[name].type, table.columns[name].default)
    data = dict(_defaults(table))
    columns = table.columns
    # (OVS accepts _uuid and _version in an insert's row, and ignores them.)
    data.update((n, v) for n, v in values.items() if n in columns)
    txn.insert(table.name, uuid, data)
    result["uuid"] = ["uuid", uuid]


def _op_select(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    table = _table(x, parser)
    where = parser.member("where", _ARRAY)
    columns_json = parser.member("columns", _ARRAY, optional=True)
    sort_json = parser.member("sort", _ARRAY, optional=True)
    parser.check()
    assert table is not None
    cond = _condition(table, where, x)
    columns = _column_set(table, columns_json)
    _column_set(table, sort_json)
    rows = _matching(x.txn, table, cond)
    if columns is None:
        out = []
        for row in rows:
            obj = {"_uuid": ["uuid", row.uuid], "_version": ["uuid", row.version]}
            obj.update(row.columns_json(table))
            out.append(obj)
        result["rows"] = out
        return
    names = [c.name for c in columns]
    if "_uuid" not in names:
        # ovsdb_query_distinct(): rows that look the same through these columns are one row.
        distinct: dict[tuple[Any, ...], Row] = {}
        for row in rows:
            distinct.setdefault(tuple(hashable(_value(row, n)) for n in names), row)
        rows = list(distinct.values())
    result["rows"] = [
        {c.name: datum_to_json(c.type, _value(row, c.name)) for c in columns} for row in rows
    ]


def _op_update(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    table = _table(x, parser)
    where = parser.member("where", _ARRAY)
    row_json = parser.member("row", _OBJECT)
    parser.check()
    assert table is not None
    values = _parse_row(table, row_json, x)
    columns = table.columns
    if any(name.startswith("_") or not columns[name].mutable for name in values):
        # Report the column OVS meets first, in its hash order (only worked out here, on
        # the way to an error).
        for name in shash_order(values) if len(values) > 1 else values:
            column = find_column(table, name)
            assert column is not None
            if not column.mutable or name.startswith("_"):
                raise json_error(
                    parser.json,
                    f"Cannot update immutable column {name} in table {table.name}.",
                    "constraint violation",
                )
    cond = _condition(table, where, x)
    rows = _matching(x.txn, table, cond)
    txn = x.txn
    for row in rows:
        data = row.data
        if any(data[n] != v for n, v in values.items()):
            writable = txn.writable(table.name, row)
            writable.data.update(values)
            writable._refs = None
            writable._json = None
    result["count"] = len(rows)


def _op_mutate(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    table = _table(x, parser)
    where = parser.member("where", _ARRAY)
    mutations_json = parser.member("mutations", _ARRAY)
    parser.check()
    assert table is not None
    mutations = parse_mutations(table, mutations_json, x.symbols.resolve)
    cond = _condition(table, where, x)
    rows = _matching(x.txn, table, cond)
    result["count"] = len(rows)
    for row in rows:
        writable = x.txn.writable(table.name, row)
        data = writable.data
        for mutation in mutations:
            name = mutation.column.name
            data[name] = apply_mutation(table, mutation, data[name])
        writable._refs = None
        writable._json = None


def _op_delete(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    where = parser.member("where", _ARRAY)
    table = _table(x, parser)
    parser.check()
    assert table is not None
    cond = _condition(table, where, x)
    rows = _matching(x.txn, table, cond)
    for row in rows:
        x.txn.delete(table.name, row)
    result["count"] = len(rows)


def _op_wait(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    timeout = parser.member("timeout", _INTEGER, optional=True)
    where = parser.member("where", _ARRAY)
    columns_json = parser.member("columns", _ARRAY, optional=True)
    until = parser.member("until", _STRING)
    rows_json = parser.member("rows", _ARRAY)
    table = _table(x, parser)
    parser.check()
    assert table is not None
    cond = _condition(table, where, x)
    columns = _column_set(table, columns_json)
    if columns is None:
        columns = [*table.columns.values(), *(
            c for c in (find_column(table, "_uuid"), find_column(table, "_version"))
            if c is not None)]
    if timeout is not None:
        if timeout < 0:
            raise json_error(timeout, "timeout must be nonnegative")
        if x.timeout is None or timeout < x.timeout:
            x.timeout = timeout
    if until not in ("==", "!="):
        raise json_error(until, '"until" must be "==" or "!="')
    names = [c.name for c in columns]
    expected: set[tuple[Any, ...]] = set()
    for row_json in rows_json:
        if not isinstance(row_json, dict):
            raise json_error(row_json, "row must be JSON object")
        values = _parse_row(table, row_json, x)
        expected.add(tuple(
            hashable(values[n]) if n in values else _default(table, n) for n in names
        ))
    actual: set[tuple[Any, ...]] = set()
    equal = True
    for row in _matching(x.txn, table, cond):
        key = tuple(hashable(_value(row, n)) for n in names)
        if key not in expected:
            equal = False
            break
        actual.add(key)
    if equal:
        equal = len(actual) == len(expected)
    if equal != (until == "=="):
        if timeout is not None and x.expired:
            # The wait ran out of time (OVS reports the elapsed time, about the timeout).
            raise OvsdbError("timed out", f'"wait" timed out after {timeout} ms')
        if timeout == 0:
            raise OvsdbError("timed out", '"where" clause test failed')
        raise OvsdbError("not supported", "triggers not supported")


def _default(table: TableSchema, name: str) -> Any:
    column = table.columns.get(name)
    if column is None:
        return "00000000-0000-0000-0000-000000000000"
    return hashable(column.default)


def _op_commit(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    durable = parser.member("durable", _BOOLEAN)
    if durable:
        x.durable = True


def _op_abort(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    raise OvsdbError("aborted", "aborted by request")


def _op_comment(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    text = parser.member("comment", _STRING)
    if text is not None:
        x.comment = text if x.comment is None else f"{x.comment}\n{text}"


def _op_assert(x: _Execution, parser: Parser, result: dict[str, Any]) -> None:
    lock = parser.member("lock", _ID)
    if lock is None:
        return
    if not x.held_locks(lock):
        raise OvsdbError("not owner", f"Asserted lock {lock} not held.")


_Handler = Callable[[_Execution, Parser, dict[str, Any]], None]

# name -> (executor, whether it writes: refused in a reserved database)
_OPS: dict[str, tuple[_Handler, bool]] = {
    "insert": (_op_insert, True),
    "select": (_op_select, False),
    "update": (_op_update, True),
    "mutate": (_op_mutate, True),
    "delete": (_op_delete, True),
    "wait": (_op_wait, False),
    "commit": (_op_commit, True),
    "abort": (_op_abort, False),
    "comment": (_op_comment, False),
    "assert": (_op_assert, False),
}
