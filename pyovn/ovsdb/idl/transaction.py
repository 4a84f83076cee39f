"""Transactions on the replica, turned into one OVSDB "transact" request.

Pure: `Transaction.build()` gives the request's params and `Transaction.process_reply()` reads
the reply; the session sends and waits.  The operations follow Open vSwitch's IDL, so a server
sees the same requests from pyovn as from ovn-northd or python-ovs:

- `verify(row, column)` becomes a `wait` (`until "=="`, `timeout 0`) on the replica's value of
  the column: if another client changed it first, the server answers "timed out" and the
  commit reports TRY_AGAIN instead of overwriting the other change;
- `increment(row, column)` becomes a mutate `+= 1` followed by a select of the column, whose
  result is the new value (nb_cfg);
- a delete of a row in a non-root table is left to the server's garbage collection;
- with a lock configured, an `assert` of it comes first, so that a client that lost the lock
  cannot write (NOT_LOCKED).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from pyovn.ovsdb.database import new_uuid
from pyovn.ovsdb.datum import (
    atom_is_valid,
    datum_from_json,
    datum_is_valid,
    datum_to_json,
    sorted_map,
)
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.idl.replica import Replica, Row, Table
from pyovn.ovsdb.schema import UNLIMITED, ColumnSchema, Type

__all__ = ["Transaction", "TransactionError", "TxnStatus"]


class TxnStatus(StrEnum):
    """Commit outcomes, spelled as python-ovs's Transaction statuses."""

    UNCOMMITTED = "uncommitted"
    UNCHANGED = "unchanged"
    INCOMPLETE = "incomplete"
    ABORTED = "aborted"
    SUCCESS = "success"
    TRY_AGAIN = "try again"
    NOT_LOCKED = "not locked"
    ERROR = "error"


class TransactionError(Exception):
    """A commit that ended in ERROR (or gave up retrying); `status` and the server's message."""

    def __init__(self, status: TxnStatus, message: str) -> None:
        super().__init__(f"{status.value}: {message}" if message else status.value)
        self.status = status
        self.message = message


def _where_uuid(uuid: str) -> list[Any]:
    return [["_uuid", "==", ["uuid", uuid]]]


def _named(uuid: str) -> str:
    return "row" + uuid.replace("-", "_")


class Transaction:
    """Changes to the replica, applied by the server atomically on commit.

    Values are given in the user's form (what Row attributes return): Row objects or UUID
    strings for references, any iterable for a set, a dict for a map, None or an empty
    iterable for an empty optional column.  They are checked against the column type here,
    so a bad value fails at the call, not at commit.  Reading a written column through the
    row returns the new value until the transaction ends.
    """

    def __init__(self, replica: Replica, lock_name: str | None = None) -> None:
        if replica.txn is not None:
            raise RuntimeError("a transaction is already open on this replica")
        self.replica = replica
        self.lock_name = lock_name
        self.status = TxnStatus.UNCOMMITTED
        self.error = ""
        self.comments: list[str] = []
        self.extra_ops: list[dict[str, Any]] = []
        self._inserted: dict[str, Row] = {}
        self._writes: dict[Row, dict[str, Any]] = {}
        self._mutations: dict[Row, list[list[Any]]] = {}
        self._deleted: dict[str, Row] = {}
        self._verify: dict[Row, dict[str, Any]] = {}
        self._inc: tuple[Row, str] | None = None
        self._inc_index: int | None = None
        self._insert_index: dict[str, int] = {}
        self._n_ops = 0
        # Results of a successful commit.
        self.insert_uuids: dict[str, str] = {}
        self.increment_new_value: int | None = None
        replica.txn = self

    # --- building ----------------------------------------------------------------------------

    def insert(self, table: str | Table, uuid: str | None = None,
               values: Mapping[str, Any] | None = None) -> Row:
        """A new row (with default values, and `values` if given, as by setting each
        column); its UUID is provisional until commit, see `get_insert_uuid`.  References
        to it in this transaction go out as named-uuids."""
        self._check_open()
        t = self.replica.tables[table] if isinstance(table, str) else table
        provisional = uuid or new_uuid()
        row = Row(t, provisional, dict(t.defaults))
        self._inserted[provisional] = row
        pending = self._pending(row)
        if values:
            columns = t.columns
            for column, value in values.items():
                col = columns.get(column)
                if col is None:
                    raise KeyError(f"table {t.name} has no replicated column {column}")
                pending[column] = _writer(col)(value)
        return row

    def set(self, row: Row, column: str, value: Any) -> None:
        self._check_row(row)
        col = self._column(row, column)
        if not col.mutable and row.uuid not in self._inserted:
            raise ValueError(f"{row.table.name}.{column} is immutable")
        self._pending(row)[column] = _writer(col)(value)

    def delete(self, row: Row) -> None:
        self._check_row(row)
        if row.uuid in self._inserted:
            del self._inserted[row.uuid]
        else:
            self._deleted[row.uuid] = row
        self._writes.pop(row, None)
        self._mutations.pop(row, None)
        object.__setattr__(row, "_pending", None)

    def verify(self, row: Row, column: str) -> None:
        """Makes the commit conditional on the column still holding, in the server, the
        value the replica had at this call (not the one written in this transaction).

        OVS's IDL takes the replica's value at commit time, which is the same thing in its
        single-threaded loop; here the replica may be updated while a coroutine awaits
        between building and committing, so the value is taken now."""
        self._check_row(row)
        self._column(row, column)
        if row.uuid not in self._inserted:
            self._verify.setdefault(row, {}).setdefault(column, row._data[column])

    def increment(self, row: Row, column: str) -> None:
        """Increments an integer column in the server (whatever its value there) and fetches
        the new value into `increment_new_value`.  One per transaction, as in OVS."""
        self._check_row(row)
        col = self._column(row, column)
        if not (col.type.is_scalar and col.type.key.type == "integer"):
            raise ValueError(f"{row.table.name}.{column} is not an integer column")
        self._inc = (row, column)

    def add_to_set(self, row: Row, column: str, values: Iterable[Any]) -> None:
        self._partial(row, column, "insert", list(values), is_map=False)

    def remove_from_set(self, row: Row, column: str, values: Iterable[Any]) -> None:
        self._partial(row, column, "delete", list(values), is_map=False)

    def set_key(self, row: Row, column: str, key: Any, value: Any) -> None:
        """Sets one key of a map without rewriting the column (other clients' keys survive)."""
        col = self._column(row, column)
        if not col.type.is_map:
            raise ValueError(f"{row.table.name}.{column} is not a map")
        self._partial(row, column, "delete", [key], is_map=True)
        self._partial(row, column, "insert", {key: value}, is_map=True)

    def remove_key(self, row: Row, column: str, key: Any) -> None:
        col = self._column(row, column)
        if not col.type.is_map:
            raise ValueError(f"{row.table.name}.{column} is not a map")
        self._partial(row, column, "delete", [key], is_map=True)

    def add_comment(self, comment: str) -> None:
        self.comments.append(comment)

    def add_op(self, op: dict[str, Any]) -> None:
        """A raw operation, sent after the others (as python-ovs's add_op)."""
        self.extra_ops.append(op)

    def _partial(self, row: Row, column: str, mutator: str, values: Any, is_map: bool) -> None:
        self._check_row(row)
        col = self._column(row, column)
        if not col.mutable and row.uuid not in self._inserted:
            raise ValueError(f"{row.table.name}.{column} is immutable")
        type_ = col.type
        if is_map:
            if isinstance(values, Mapping):
                arg_type = Type(type_.key, type_.value, 0, UNLIMITED)
                arg = _check(arg_type, {_ref(k): _ref(v) for k, v in values.items()})
            else:  # keys to delete
                arg_type = Type(type_.key, None, 0, UNLIMITED)
                arg = _check(arg_type, tuple(sorted({_ref(k) for k in values})))
        else:
            if type_.is_map:
                raise ValueError(f"{row.table.name}.{column} is a map, not a set")
            arg_type = Type(type_.key, None, 0, UNLIMITED)
            arg = _check(arg_type, tuple(sorted({_ref(v) for v in values})))
        pending = self._pending(row)
        if column in pending or row.uuid in self._inserted:
            # Already rewritten here: fold the mutation into the new value.
            pending[column] = _apply_mutation(col, row.raw(column), mutator, arg, is_map)
            return
        self._mutations.setdefault(row, []).append(
            [column, mutator, datum_to_json(arg_type, arg)]
        )

    # --- helpers -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.status is not TxnStatus.UNCOMMITTED:
            raise RuntimeError(f"transaction already {self.status.value}")

    def _check_row(self, row: Row) -> None:
        self._check_open()
        if row.uuid in self._deleted:
            raise ValueError(f"{row!r} is deleted in this transaction")
        if row.deleted:
            raise ValueError(f"{row!r} was deleted from the database")
        if row.uuid not in self._inserted and row.table.rows.get(row.uuid) is not row:
            raise ValueError(f"{row!r} is not a row of the replica")

    def _column(self, row: Row, column: str) -> ColumnSchema:
        col = row.table.columns.get(column)
        if col is None:
            raise KeyError(f"table {row.table.name} has no replicated column {column}")
        return col

    def _pending(self, row: Row) -> dict[str, Any]:
        pending = self._writes.get(row)
        if pending is None:
            pending = self._writes[row] = {}
            object.__setattr__(row, "_pending", pending)
        return pending

    def get_insert_uuid(self, provisional: str) -> str | None:
        """The UUID the server gave a row inserted by this transaction (after SUCCESS)."""
        return self.insert_uuids.get(provisional)

    def abort(self) -> None:
        if self.status is TxnStatus.UNCOMMITTED:
            self.status = TxnStatus.ABORTED
        self.close()

    def close(self) -> None:
        """Ends the transaction's hold on the replica (rows read their replicated values)."""
        for row in self._writes:
            object.__setattr__(row, "_pending", None)
        if self.replica.txn is self:
            self.replica.txn = None

    # --- the request -------------------------------------------------------------------------

    def build(self) -> list[Any] | None:
        """The "transact" params, or None when nothing would change (UNCHANGED)."""
        self._check_open()
        ops: list[Any] = [self.replica.schema.name]
        if self.lock_name:
            ops.append({"op": "assert", "lock": self.lock_name})
        for row, values in self._verify.items():
            cols = sorted(values)
            table = row.table
            ops.append({
                "op": "wait", "table": table.name, "timeout": 0,
                "where": _where_uuid(row.uuid), "until": "==", "columns": cols,
                "rows": [{c: datum_to_json(table.columns[c].type, values[c]) for c in cols}],
            })
        any_updates = bool(self.extra_ops)
        for row in self._deleted.values():
            if row.table.schema.is_root:
                ops.append({"op": "delete", "table": row.table.name,
                            "where": _where_uuid(row.uuid)})
                any_updates = True
        for uuid, row in self._inserted.items():
            table = row.table
            values = self._writes.get(row, {})
            self._insert_index[uuid] = len(ops) - 1
            ops.append({
                "op": "insert", "table": table.name, "uuid-name": _named(uuid),
                "row": {c: self._json(table.columns[c], v) for c, v in values.items()
                        if v != table.defaults[c]},
            })
            any_updates = True
        for row, values in self._writes.items():
            if row.uuid in self._inserted:
                continue
            table = row.table
            changed = {c: v for c, v in values.items() if row._data[c] != v}
            if changed:
                # Unchanged writes are dropped: they would only make the commit non-atomic
                # with respect to concurrent writers for no effect (verify covers intent).
                ops.append({"op": "update", "table": table.name, "where": _where_uuid(row.uuid),
                            "row": {c: self._json(table.columns[c], v)
                                    for c, v in changed.items()}})
                any_updates = True
        for row, mutations in self._mutations.items():
            ops.append({"op": "mutate", "table": row.table.name,
                        "where": _where_uuid(row.uuid),
                        "mutations": [self._subst(m) for m in mutations]})
            any_updates = True
        if self._inc is not None and any_updates:
            row, column = self._inc
            where = self._subst(_where_uuid(row.uuid))
            self._inc_index = len(ops) - 1
            ops.append({"op": "mutate", "table": row.table.name, "where": where,
                        "mutations": [[column, "+=", 1]]})
            ops.append({"op": "select", "table": row.table.name, "where": where,
                        "columns": [column]})
        if self.comments:
            ops.append({"op": "comment", "comment": "\n".join(self.comments)})
        ops.extend(self.extra_ops)
        self._n_ops = len(ops) - 1
        if not any_updates:
            return None
        return ops

    def _json(self, column: ColumnSchema, value: Any) -> Any:
        type_ = column.type
        json = datum_to_json(type_, value)
        if self._inserted and (type_.key.ref_table is not None or (
                type_.value is not None and type_.value.ref_table is not None)):
            json = self._subst(json)
        return json

    def _subst(self, json: Any) -> Any:
        """Replaces references to rows inserted here with their named-uuids."""
        if isinstance(json, list):
            if len(json) == 2 and json[0] == "uuid" and json[1] in self._inserted:
                return ["named-uuid", _named(json[1])]
            return [self._subst(x) for x in json]
        return json

    # --- the reply ---------------------------------------------------------------------------

    def process_reply(self, results: Any) -> TxnStatus:
        """Reads the transact reply's result array (as OVS's IDL classifies errors)."""
        hard = soft = lock = False
        messages: list[str] = []
        if not isinstance(results, list):
            hard = True
            messages.append(f"reply to transact is not an array: {results!r}")
            results = []
        for result in results:
            if result is None:
                soft = True  # a prior operation failed
            elif isinstance(result, dict):
                err = result.get("error")
                if err is None:
                    continue
                if err == "timed out":
                    soft = True
                elif err == "not owner":
                    lock = True
                elif err != "aborted":
                    hard = True
                    details = result.get("details")
                    messages.append(f"{err}: {details}" if details else str(err))
            else:
                hard = True
                messages.append(f"operation reply is not an object: {result!r}")
        if not (hard or soft or lock):
            hard = not self._read_results(results, messages)
        if hard:
            self.status = TxnStatus.ERROR
        elif lock:
            self.status = TxnStatus.NOT_LOCKED
        elif soft:
            self.status = TxnStatus.TRY_AGAIN
        else:
            self.status = TxnStatus.SUCCESS
        self.error = "; ".join(messages)
        return self.status

    def _read_results(self, results: list[Any], messages: list[str]) -> bool:
        if len(results) < self._n_ops:
            messages.append(f"reply has {len(results)} results for {self._n_ops} operations")
            return False
        for provisional, index in self._insert_index.items():
            result = results[index]
            u = result.get("uuid") if isinstance(result, dict) else None
            if not (isinstance(u, list) and len(u) == 2 and u[0] == "uuid"):
                messages.append(f"insert reply has no uuid: {result!r}")
                return False
            self.insert_uuids[provisional] = u[1]
        if self._inc is not None and self._inc_index is not None:
            _, column = self._inc
            count = results[self._inc_index].get("count")
            if count != 1:
                messages.append(f'"mutate" reply "count" is {count} instead of 1')
                return False
            rows = results[self._inc_index + 1].get("rows")
            if not (isinstance(rows, list) and len(rows) == 1
                    and isinstance(rows[0].get(column), int)):
                messages.append(f'"select" reply has no integer "{column}": {rows!r}')
                return False
            self.increment_new_value = rows[0][column]
        return True


def _ref(value: Any) -> Any:
    return value.uuid if isinstance(value, Row) else value


def _check(type_: Type, value: Any) -> Any:
    """Checks an internal value against a type, by its wire form (constraints included).

    Values built by to_internal are sorted and deduplicated already, so the common case
    only needs the atoms' types and constraints checked (datum_is_valid); the round trip
    through JSON, several times slower, is left for what fails that, to give the error."""
    if datum_is_valid(type_, value):
        return value
    try:
        return datum_from_json(type_, datum_to_json(type_, value))
    except OvsdbError as error:
        raise ValueError(f"bad value {value!r}: {error}") from None
    except (TypeError, AttributeError):
        raise ValueError(f"bad value {value!r} for a column of type {type_.to_json()}") from None


@functools.lru_cache(maxsize=4096)  # per ColumnSchema object
def _writer(column: ColumnSchema) -> Callable[[Any], Any]:
    """to_internal for one column, with fast paths for the values programs write most
    (a plain string, integer or boolean, a row reference, a string-to-string map), which
    are already in the internal form once their type and constraints check out."""

    def slow(value: Any) -> Any:
        return to_internal(column, value)

    type_ = column.type
    key = type_.key
    if type_.value is None and type_.min == 1 and type_.max == 1:
        pytype = _PLAIN.get(key.type)
        if pytype is not None:
            def plain(value: Any) -> Any:
                return value if type(value) is pytype and atom_is_valid(key, value) else slow(value)

            return plain
        if key.type == "uuid":
            def ref(value: Any) -> Any:
                # A Row's UUID (provisional ones too) is a valid lowercase UUID.
                return value.uuid if type(value) is Row else slow(value)

            return ref
    vbase = type_.value
    if (vbase is not None and key.type == "string" and vbase.type == "string"
            and not key.has_constraints and not vbase.has_constraints):
        lo, hi = type_.min, type_.max

        def smap(value: Any) -> Any:
            if type(value) is dict and lo <= len(value) <= hi and all(
                    type(k) is str and type(v) is str for k, v in value.items()):
                return sorted_map(value)
            return slow(value)

        return smap
    return slow


_PLAIN: dict[str, type] = {"string": str, "integer": int, "boolean": bool}


def to_internal(column: ColumnSchema, value: Any) -> Any:
    """The stored form of a user-form value for `column`, checked against its type."""
    type_ = column.type
    try:
        if type_.is_map:
            if not isinstance(value, Mapping):
                raise ValueError(f"{column.name}: a map needs a dict, not {value!r}")
            internal: Any = sorted_map({_ref(k): _ref(v) for k, v in value.items()})
        elif type_.is_scalar:
            internal = _ref(value)
        elif value is None:
            internal = ()
        elif isinstance(value, str | int | float | bool | Row):
            internal = (_ref(value),)
        else:
            internal = tuple(sorted({_ref(v) for v in value}))
    except TypeError:
        raise ValueError(f"{column.name}: bad value {value!r}") from None
    if type_.key.type == "real":
        internal = _floats(type_, internal)
    try:
        return _check(type_, internal)
    except ValueError as error:
        raise ValueError(f"{column.name}: {error}") from None


def _floats(type_: Type, internal: Any) -> Any:
    if type_.is_scalar:
        return float(internal) if isinstance(internal, int) else internal
    if isinstance(internal, tuple):
        return tuple(float(v) for v in internal)
    return internal


def _apply_mutation(col: ColumnSchema, old: Any, mutator: str, arg: Any, is_map: bool) -> Any:
    type_ = col.type
    if is_map:
        result = dict(old)
        if mutator == "insert":
            for k, v in arg.items():
                result.setdefault(k, v)
        else:
            for k in arg:
                result.pop(k, None)
        return sorted_map(result)
    atoms = set((old,) if type_.is_scalar else old)
    atoms = atoms | set(arg) if mutator == "insert" else atoms - set(arg)
    return tuple(sorted(atoms))
