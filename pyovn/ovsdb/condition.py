"""OVSDB conditions: "where" clauses of transactions and the conditions of monitor_cond.

A condition is parsed once into a list of clause predicates over rows, so that a monitor's
condition is evaluated on each changed row without re-parsing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyovn.ovsdb.datum import (
    LOWER_UUID_RE,
    SymbolResolver,
    as_set,
    datum_from_json,
    json_error,
)
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.schema import UNLIMITED, UUID_ZERO, BaseType, ColumnSchema, TableSchema, Type

if TYPE_CHECKING:
    from pyovn.ovsdb.database import Row

ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
FUNCTIONS = ("<", "<=", "==", "!=", ">=", ">", "includes", "excludes")

UUID_COLUMN = ColumnSchema("_uuid", Type(BaseType("uuid")), mutable=False, default=UUID_ZERO)
VERSION_COLUMN = ColumnSchema(
    "_version", Type(BaseType("uuid")), mutable=False, default=UUID_ZERO
)

RowPredicate = Callable[["Row"], bool]


def lookup_column(table: TableSchema, name: Any, syntax: Any) -> ColumnSchema:
    """A column of the table, including the implicit _uuid and _version."""
    column = find_column(table, name)
    if column is None:
        raise json_error(syntax, f"No column {name} in table {table.name}.", "unknown column")
    return column


def find_column(table: TableSchema, name: Any) -> ColumnSchema | None:
    if isinstance(name, str):
        column = table.columns.get(name)
        if column is not None:
            return column
        if name == "_uuid":
            return UUID_COLUMN
        if name == "_version":
            return VERSION_COLUMN
    return None


def row_value(row: Row, column: str) -> Any:
    if column == "_uuid":
        return row.uuid
    if column == "_version":
        return row.version
    return row.data[column]


def type_to_english(type_: Type) -> str:
    """A type in words, as ovsdb_type_to_english() prints it in error messages."""
    key = type_.key.type
    if type_.is_scalar:
        return key
    if type_.value is None:
        noun = type_.key.describe()
        kind = "set"
    else:
        noun = f"({key}, {type_.value.type}) pairs"
        kind = "map"
    if type_.max == UNLIMITED:
        size = f" of {type_.min} or more" if type_.min else " of"
    elif type_.min:
        size = f" of {type_.min} to {type_.max}"
    else:
        size = f" of up to {type_.max}"
    return f"{kind}{size} {noun}"


@dataclass(frozen=True)
class Clause:
    column: str
    function: str  # "true" and "false" for the boolean literals
    arg: Any  # internal value of the argument
    test: RowPredicate

    def __call__(self, row: Row) -> bool:
        return self.test(row)


# ovsdb_function's order, by which OVS sorts a condition's clauses.
_FUNCTION_ORDER = {
    f: i for i, f in enumerate(
        ("false", "true", "==", "includes", "<=", "<", ">=", ">", "excludes", "!="))
}


class Condition:
    """A parsed condition.  A transaction's "where" needs every clause to hold; a monitor's
    condition needs any one (see matches_any)."""

    __slots__ = ("_any", "clauses")

    def __init__(self, clauses: tuple[Clause, ...]) -> None:
        self.clauses = clauses
        self._any: Callable[[Row], bool] | None = None

    def matches(self, row: Row) -> bool:
        return all(clause.test(row) for clause in self.clauses)

    @property
    def is_true(self) -> bool:
        """Every row matches the conjunction."""
        return all(c.function == "true" for c in self.clauses)

    @property
    def any_is_true(self) -> bool:
        """ovsdb_condition_is_true(): every row matches the disjunction (monitor use)."""
        if not self.clauses:
            return True
        ordered = self._sorted()
        return any(c.function == "true" for c in ordered[:2])

    def _sorted(self) -> list[Clause]:
        return sorted(self.clauses, key=lambda c: _FUNCTION_ORDER[c.function])

    def matches_any(self, row: Row) -> bool:
        """ovsdb_condition_empty_or_match_any(), including its fast path: a condition made of
        only "==", true and false clauses is true if it looks true from its first two clauses,
        and otherwise matches through its "==" clauses alone."""
        test = self._any
        if test is None:
            test = self._any = self._make_any()
        return test(row)

    def _make_any(self) -> Callable[[Row], bool]:
        if self.any_is_true:
            return lambda row: True
        if all(_FUNCTION_ORDER[c.function] <= 2 for c in self.clauses):
            by_column: dict[str, set[Any]] = {}
            for c in self.clauses:
                if c.function == "==":
                    by_column.setdefault(c.column, set()).add(_hashable(c.arg))
            lookups = [(_getter(name), values) for name, values in by_column.items()]
            if not lookups:
                return lambda row: False
            if len(lookups) == 1:
                get, values = lookups[0]
                return lambda row: _hashable(get(row)) in values
            return lambda row: any(_hashable(get(row)) in values for get, values in lookups)
        tests = [c.test for c in self.clauses]
        return lambda row: any(t(row) for t in tests)

    def uuid_lookup(self) -> str | None:
        """The row UUID this condition pins with `_uuid == X`, for a direct lookup."""
        for clause in self.clauses:
            if clause.column == "_uuid" and clause.function == "==":
                return str(clause.arg)
        return None


def _hashable(value: Any) -> Any:
    return tuple(value.items()) if isinstance(value, dict) else value


_TRUE = Clause("_uuid", "true", None, lambda row: True)
_FALSE = Clause("_uuid", "false", None, lambda row: False)


def parse_condition(
    table: TableSchema, json: Any, symbols: SymbolResolver | None = None
) -> Condition:
    """Parses a JSON array of clauses (the caller has checked that it is an array)."""
    if len(json) == 1:
        # The where of nearly every update, mutate and delete: [["_uuid", "==", ["uuid", U]]]
        # with U already in canonical form; parse_clause would build the same clause.
        clause = json[0]
        if (type(clause) is list and len(clause) == 3 and clause[0] == "_uuid"
                and clause[1] == "==" and type(clause[2]) is list and len(clause[2]) == 2
                and clause[2][0] == "uuid" and type(clause[2][1]) is str
                and LOWER_UUID_RE.fullmatch(clause[2][1])):
            uuid: str = clause[2][1]
            return Condition((Clause("_uuid", "==", uuid, lambda row: row.uuid == uuid),))
    return Condition(tuple(parse_clause(table, item, symbols) for item in json))


def parse_clause(table: TableSchema, json: Any, symbols: SymbolResolver | None) -> Clause:
    if json is True:
        return _TRUE
    if json is False:
        return _FALSE
    if not (isinstance(json, list) and len(json) == 3 and isinstance(json[0], str)
            and isinstance(json[1], str)):
        raise json_error(json, "Parse error in condition.")
    column_name, function, arg_json = json
    column = lookup_column(table, column_name, json)
    if function not in FUNCTIONS:
        raise OvsdbError("unknown function", f"No function named {function}.")
    type_ = column.type
    if function in ORDERING:
        if not (type_.is_scalar or type_.is_optional_scalar) or type_.key.type not in (
            "integer", "real"
        ):
            raise json_error(
                json,
                f'Type mismatch: "{function}" operator may not be applied to column '
                f"{column.name} of type {type_to_english(type_)}.",
            )
    elif function == "includes" and not type_.is_scalar:
        type_ = Type(type_.key, type_.value, 0, type_.max)
    elif function == "excludes" and not type_.is_scalar:
        type_ = Type(type_.key, type_.value, 0, UNLIMITED)
    arg = datum_from_json(type_, arg_json, symbols)
    return Clause(column.name, function, arg, _make_test(column.name, column.type, function, arg))


def _make_test(name: str, type_: Type, function: str, arg: Any) -> RowPredicate:
    get = _getter(name)
    if function in ORDERING:
        op = ORDERING[function]
        if type_.is_optional_scalar:
            if not arg:
                return lambda row: False
            atom = arg[0]
            return lambda row: bool(v := get(row)) and op(v[0], atom)
        return lambda row: op(get(row), arg)
    if type_.is_scalar:
        # A scalar compared with a one-element set behaves like equality for every function.
        if function in ("==", "includes"):
            return lambda row: get(row) == arg
        return lambda row: get(row) != arg
    if function == "==":
        return lambda row: get(row) == arg
    if function == "!=":
        return lambda row: get(row) != arg
    if type_.value is not None:
        items = list(arg.items())
        if function == "includes":
            return lambda row: all(
                k in (m := get(row)) and m[k] == v for k, v in items
            )
        return lambda row: not any(k in (m := get(row)) and m[k] == v for k, v in items)
    wanted = frozenset(as_set(type_, arg))
    if function == "includes":
        return lambda row: wanted.issubset(get(row))
    return lambda row: wanted.isdisjoint(get(row))


def _getter(name: str) -> Callable[[Row], Any]:
    if name == "_uuid":
        return lambda row: row.uuid
    if name == "_version":
        return lambda row: row.version
    return lambda row: row.data[name]
