"""The "mutate" operation's mutators (RFC 7047 section 5.1): parsing and applying them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.condition import lookup_column, type_to_english
from pyovn.ovsdb.datum import (
    SymbolResolver,
    as_set,
    check_atom,
    datum_from_json,
    datum_size,
    from_set,
    json_error,
    sorted_map,
)
from pyovn.ovsdb.error import OvsdbError, constraint_violation
from pyovn.ovsdb.schema import (
    INT64_MAX,
    INT64_MIN,
    UNLIMITED,
    BaseType,
    ColumnSchema,
    TableSchema,
    Type,
)

ARITHMETIC = ("+=", "-=", "*=", "/=", "%=")
MUTATORS = (*ARITHMETIC, "insert", "delete")


@dataclass(frozen=True)
class Mutation:
    column: ColumnSchema
    mutator: str
    arg: Any
    arg_type: Type


def parse_mutations(
    table: TableSchema, json: Any, symbols: SymbolResolver | None
) -> list[Mutation]:
    """Parses a JSON array of mutations (the caller has checked that it is an array)."""
    return [_parse_mutation(table, item, symbols) for item in json]


def _type_mismatch(json: Any, mutator: str, column: ColumnSchema) -> OvsdbError:
    return json_error(
        json,
        f'Type mismatch: "{mutator}" operator may not be applied to column {column.name} '
        f"of type {type_to_english(column.type)}.",
    )


def _parse_mutation(table: TableSchema, json: Any, symbols: SymbolResolver | None) -> Mutation:
    if not (isinstance(json, list) and len(json) == 3 and isinstance(json[0], str)
            and isinstance(json[1], str)):
        raise json_error(json, "Parse error in mutation.")
    name, mutator, arg_json = json
    column = lookup_column(table, name, json)
    if not column.mutable or name.startswith("_"):
        raise json_error(
            json, f"Cannot mutate immutable column {name} in table {table.name}.",
            "constraint violation",
        )
    if mutator not in MUTATORS:
        raise OvsdbError("unknown mutator", f"No mutator named {mutator}.")
    type_ = column.type
    if mutator in ARITHMETIC:
        key = type_.key.type
        if type_.value is not None or key not in ("integer", "real") or (
            mutator == "%=" and key != "integer"
        ):
            raise _type_mismatch(json, mutator, column)
        # One atom of the key's atomic type, without the column's constraints.
        arg_type = Type(BaseType(key))
        arg = datum_from_json(arg_type, arg_json, symbols)
        return Mutation(column, mutator, arg, arg_type)
    if type_.is_scalar:
        raise _type_mismatch(json, mutator, column)
    max_ = UNLIMITED if mutator == "delete" else type_.max
    arg_type = Type(type_.key, type_.value, 0, max_)
    try:
        arg = datum_from_json(arg_type, arg_json, symbols, relax_size=True)
    except OvsdbError:
        if type_.value is None or mutator != "delete":
            raise
        # Deleting from a map by a set of keys.
        arg_type = Type(type_.key, None, 0, UNLIMITED)
        arg = datum_from_json(arg_type, arg_json, symbols, relax_size=True)
    return Mutation(column, mutator, arg, arg_type)


def apply_mutation(table: TableSchema, mutation: Mutation, value: Any) -> Any:
    """Returns the column's new value; raises OvsdbError for the RFC's error cases."""
    column = mutation.column
    type_ = column.type
    mutator = mutation.mutator
    if mutator in ARITHMETIC:
        op = _arith(mutator, type_.key.type)
        atoms = [op(a, mutation.arg) for a in as_set(type_, value)]
        if not atoms:
            return value
        for atom in atoms:
            check_atom(type_.key, atom)
        if len(set(atoms)) != len(atoms):
            raise constraint_violation(
                f'Result of "{mutator}" operation contains duplicates.'
            )
        result = from_set(type_, atoms)
    elif type_.value is not None:
        result = _mutate_map(mutation, value)
    elif mutator == "insert":
        result = tuple(sorted(set(value).union(mutation.arg)))
    else:
        result = tuple(sorted(set(value).difference(mutation.arg)))
    n = datum_size(type_, result)
    if n < type_.min or n > type_.max:
        raise constraint_violation(
            f"Attempted to store {n} elements in {type_to_english(type_)}."
        )
    return result


def _mutate_map(mutation: Mutation, value: dict[Any, Any]) -> dict[Any, Any]:
    arg = mutation.arg
    result = dict(value)
    if mutation.mutator == "insert":
        for k, v in arg.items():
            result.setdefault(k, v)  # existing keys keep their value
    elif mutation.arg_type.value is None:
        for k in arg:
            result.pop(k, None)
    else:
        for k, v in arg.items():
            if k in result and result[k] == v:
                del result[k]
    return sorted_map(result)


def _arith(mutator: str, atomic: str) -> Callable[[Any, Any], Any]:
    if atomic == "integer":
        return lambda a, b: _int_op(mutator, a, b)
    return lambda a, b: _real_op(mutator, a, b)


def _c_div(a: int, b: int) -> int:
    """C's integer division, which truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _wrap(r: int) -> int:
    return (r + 2**63) % 2**64 - 2**63


def _int_op(mutator: str, a: int, b: int) -> int:
    """The arithmetic of ovsdb/mutation.c, overflow checks included, quirks and all."""
    if mutator == "+=":
        r = a + b
    elif mutator == "-=":
        r = a - b
    elif mutator == "*=":
        # mul_int()'s check; where it lets an overflow through, C wraps around.
        if a > 0:
            bad = a >= _c_div(INT64_MAX, b) if b > 0 else b < _c_div(INT64_MIN, a)
        elif b > 0:
            bad = a < _c_div(INT64_MIN, b)
        else:
            bad = a != 0 and b != 0 and b < _c_div(INT64_MAX, b)
        if bad:
            raise _range_error(mutator)
        return _wrap(a * b)
    else:
        if b == 0:
            raise OvsdbError("domain error", "Division by zero.")
        if a == INT64_MIN and b == -1:
            raise _range_error(mutator)
        q = _c_div(a, b)
        r = q if mutator == "/=" else a - q * b
    if not INT64_MIN <= r <= INT64_MAX:
        raise _range_error(mutator)
    return r


def _range_error(mutator: str) -> OvsdbError:
    return OvsdbError("range error", f'Result of "{mutator}" operation is out of range.')


def _real_op(mutator: str, a: float, b: float) -> float:
    if mutator == "+=":
        r = a + b
    elif mutator == "-=":
        r = a - b
    elif mutator == "*=":
        r = a * b
    else:
        if b == 0:
            raise OvsdbError("domain error", "Division by zero.")
        r = a / b
    if not math.isfinite(r):
        raise OvsdbError("range error", f'Result of "{mutator}" operation is out of range.')
    return r
