"""OVSDB schemas (RFC 7047 section 3.2, ovsdb(7)): parsing, checking and serialising.

The serialised form follows Open vSwitch's ovsdb_schema_to_json() so that `get_schema` replies
match the real server's: defaults are omitted and enums are printed as sorted sets.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from pyovn.ovsdb.error import OvsdbError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DBL_MAX = 1.7976931348623157e308
UINT_MAX = 2**32 - 1
UNLIMITED = 2**63  # "max": "unlimited"

ATOMIC_TYPES = ("integer", "real", "boolean", "string", "uuid")
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UUID_ZERO = "00000000-0000-0000-0000-000000000000"


def _err(details: str, syntax: Any = None) -> OvsdbError:
    return OvsdbError("syntax error", details, syntax)


def _expect_object(obj: Any, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _err(f"{what} must be a JSON object", obj)
    return obj


def _int_member(obj: dict[str, Any], key: str, default: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(f"{key} must be an integer", obj)
    return value


def _num_member(obj: dict[str, Any], key: str, default: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(f"{key} must be a number", obj)
    return float(value)


@dataclass(eq=False)
class BaseType:
    """The type of a key or a value: an atomic type plus its constraints."""

    type: str
    enum: tuple[Any, ...] | None = None  # sorted allowed values
    min_integer: int = INT64_MIN
    max_integer: int = INT64_MAX
    min_real: float = -DBL_MAX
    max_real: float = DBL_MAX
    min_length: int = 0
    max_length: int = UINT_MAX
    ref_table: str | None = None
    ref_strong: bool = True
    enum_set: frozenset[Any] | None = None

    @functools.cached_property
    def has_constraints(self) -> bool:
        return (
            self.enum is not None
            or self.min_integer != INT64_MIN
            or self.max_integer != INT64_MAX
            or self.min_real != -DBL_MAX
            or self.max_real != DBL_MAX
            or self.min_length != 0
            or self.max_length != UINT_MAX
            or self.ref_table is not None
        )

    @classmethod
    def from_json(cls, obj: Any) -> BaseType:
        if isinstance(obj, str):
            if obj not in ATOMIC_TYPES:
                raise _err(f'unknown atomic type "{obj}"', obj)
            return cls(obj)
        obj = _expect_object(obj, "base type")
        atomic = obj.get("type")
        if atomic not in ATOMIC_TYPES:
            raise _err(f'unknown atomic type "{atomic}"', obj)
        base = cls(atomic)
        if "enum" in obj:
            from pyovn.ovsdb.datum import datum_from_json

            enum_type = Type(BaseType(atomic), None, 1, UNLIMITED)
            values = datum_from_json(enum_type, obj["enum"])
            base.enum = values if isinstance(values, tuple) else (values,)
            base.enum_set = frozenset(base.enum)
        if atomic == "integer":
            base.min_integer = _int_member(obj, "minInteger", INT64_MIN)
            base.max_integer = _int_member(obj, "maxInteger", INT64_MAX)
            if base.min_integer > base.max_integer:
                raise _err("minInteger exceeds maxInteger", obj)
        elif atomic == "real":
            base.min_real = _num_member(obj, "minReal", -DBL_MAX)
            base.max_real = _num_member(obj, "maxReal", DBL_MAX)
            if base.min_real > base.max_real:
                raise _err("minReal exceeds maxReal", obj)
        elif atomic == "string":
            base.min_length = _int_member(obj, "minLength", 0)
            base.max_length = _int_member(obj, "maxLength", UINT_MAX)
            if base.min_length > base.max_length:
                raise _err("minLength exceeds maxLength", obj)
        elif atomic == "uuid":
            ref_table = obj.get("refTable")
            if ref_table is not None:
                if not isinstance(ref_table, str):
                    raise _err("refTable must be a string", obj)
                base.ref_table = ref_table
                ref_type = obj.get("refType", "strong")
                if ref_type not in ("strong", "weak"):
                    raise _err('refType must be "strong" or "weak"', obj)
                base.ref_strong = ref_type == "strong"
        return base

    def to_json(self) -> Any:
        if not self.has_constraints:
            return self.type
        obj: dict[str, Any] = {"type": self.type}
        if self.enum is not None:
            from pyovn.ovsdb.datum import atom_to_json

            items = [atom_to_json(self.type, v) for v in self.enum]
            obj["enum"] = items[0] if len(items) == 1 else ["set", items]
        if self.min_integer != INT64_MIN:
            obj["minInteger"] = self.min_integer
        if self.max_integer != INT64_MAX:
            obj["maxInteger"] = self.max_integer
        if self.min_real != -DBL_MAX:
            obj["minReal"] = self.min_real
        if self.max_real != DBL_MAX:
            obj["maxReal"] = self.max_real
        if self.min_length != 0:
            obj["minLength"] = self.min_length
        if self.max_length != UINT_MAX:
            obj["maxLength"] = self.max_length
        if self.ref_table is not None:
            obj["refTable"] = self.ref_table
            if not self.ref_strong:
                obj["refType"] = "weak"
        return obj

    def describe(self) -> str:
        """Type name in the plural, as used in OVS error messages ("integers", "uuids")."""
        return {"integer": "integers", "real": "reals", "boolean": "booleans",
                "string": "strings", "uuid": "uuids"}[self.type]


@dataclass(eq=False)
class Type:
    """A column type: key, optional value (a map), and the number of elements allowed."""

    key: BaseType
    value: BaseType | None = None
    min: int = 1
    max: int = 1

    @property
    def is_map(self) -> bool:
        return self.value is not None

    @property
    def is_scalar(self) -> bool:
        """Exactly one atom: stored as the bare atom rather than a set."""
        return self.value is None and self.min == 1 and self.max == 1

    @property
    def is_optional_scalar(self) -> bool:
        return self.value is None and self.min == 0 and self.max == 1

    @classmethod
    def from_json(cls, obj: Any) -> Type:
        if isinstance(obj, str):
            return cls(BaseType.from_json(obj))
        obj = _expect_object(obj, "type")
        if "key" not in obj:
            raise _err("Parsing ovsdb type failed: Required 'key' member is missing.", obj)
        key = BaseType.from_json(obj["key"])
        value = BaseType.from_json(obj["value"]) if "value" in obj else None
        min_ = _int_member(obj, "min", 1)
        max_raw = obj.get("max", 1)
        if max_raw == "unlimited":
            max_ = UNLIMITED
        elif isinstance(max_raw, int) and not isinstance(max_raw, bool):
            max_ = max_raw
        else:
            raise _err('"max" must be an integer or "unlimited"', obj)
        if min_ not in (0, 1) or max_ < 1 or max_ < min_:
            raise _err("ovsdb type fails constraint checks", obj)
        return cls(key, value, min_, max_)

    def to_json(self) -> Any:
        if self.value is None and self.min == 1 and self.max == 1 and not self.key.has_constraints:
            return self.key.type
        obj: dict[str, Any] = {"key": self.key.to_json()}
        if self.value is not None:
            obj["value"] = self.value.to_json()
        if self.min != 1:
            obj["min"] = self.min
        if self.max != 1:
            obj["max"] = "unlimited" if self.max == UNLIMITED else self.max
        return obj

    def references(self) -> list[BaseType]:
        return [b for b in (self.key, self.value) if b is not None and b.ref_table is not None]


@dataclass(eq=False)
class ColumnSchema:
    name: str
    type: Type
    mutable: bool = True
    ephemeral: bool = False
    # Filled in by TableSchema: the column's default value in pyovn's internal form.
    default: Any = None

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": self.type.to_json()}
        if self.ephemeral:
            obj["ephemeral"] = True
        if not self.mutable:
            obj["mutable"] = False
        return obj


@dataclass(eq=False)
class TableSchema:
    name: str
    columns: dict[str, ColumnSchema]  # user columns only; _uuid and _version are implicit
    is_root: bool = False
    max_rows: int | None = None
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    # Derived: columns holding references, as (column, [base types with refTable]).
    ref_columns: list[tuple[ColumnSchema, list[BaseType]]] = field(default_factory=list)
    has_weak_refs: bool = False

    def to_json(self, implicit_root: bool = False) -> dict[str, Any]:
        obj: dict[str, Any] = {"columns": {n: c.to_json() for n, c in self.columns.items()}}
        if self.is_root and not implicit_root:
            obj["isRoot"] = True
        if self.max_rows is not None:
            obj["maxRows"] = self.max_rows
        if self.indexes:
            obj["indexes"] = [list(ix) for ix in self.indexes]
        return obj


@dataclass(eq=False)
class DatabaseSchema:
    name: str
    version: str
    cksum: str | None
    tables: dict[str, TableSchema]
    source: dict[str, Any] = field(default_factory=dict)
    # No table said isRoot: every table is a root (pre-isRoot schemas), and none prints it.
    implicit_root: bool = False
    non_root_tables: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, obj: Any) -> DatabaseSchema:
        obj = _expect_object(obj, "database schema")
        name = obj.get("name")
        if name is None:
            raise _err("Parsing database schema failed: Required 'name' member is missing.", obj)
        if not isinstance(name, str) or not _ID_RE.match(name):
            raise _err("Parsing database schema failed: Type mismatch for member 'name'.", obj)
        version = obj.get("version", "")
        if not isinstance(version, str) or (
            version and not re.match(r"^\d+\.\d+\.\d+$", version)
        ):
            raise _err(f'schema version "{version}" not in format x.y.z', obj)
        cksum = obj.get("cksum")
        if cksum is not None and not isinstance(cksum, str):
            raise _err("cksum must be a string", obj)
        tables_json = _expect_object(obj.get("tables"), "tables")
        any_root = any(
            isinstance(t, dict) and t.get("isRoot") is True for t in tables_json.values()
        )
        tables: dict[str, TableSchema] = {}
        for tname, tjson in tables_json.items():
            if not _ID_RE.match(tname) or tname.startswith("_"):
                raise _err(f"invalid table name {tname}", obj)
            tables[tname] = _table_from_json(tname, tjson, default_root=not any_root)
        schema = cls(name, version, cksum, tables, obj, implicit_root=not any_root)
        schema._check_refs()
        return schema

    def _check_refs(self) -> None:
        for table in self.tables.values():
            for column in table.columns.values():
                for base in column.type.references():
                    if base.ref_table not in self.tables:
                        raise _err(
                            f"column {table.name}.{column.name} refers to undefined "
                            f"table {base.ref_table}"
                        )
            table.ref_columns = [
                (c, c.type.references()) for c in table.columns.values() if c.type.references()
            ]
            table.has_weak_refs = any(
                not b.ref_strong for _, bases in table.ref_columns for b in bases
            )
        self.non_root_tables = frozenset(n for n, t in self.tables.items() if not t.is_root)

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "tables": {n: t.to_json(self.implicit_root) for n, t in self.tables.items()},
        }
        if self.cksum is not None:
            obj["cksum"] = self.cksum
        return obj


def _table_from_json(name: str, obj: Any, default_root: bool) -> TableSchema:
    from pyovn.ovsdb.datum import default_value

    obj = _expect_object(obj, f"table {name}")
    columns_json = _expect_object(obj.get("columns"), f"columns of table {name}")
    if not columns_json:
        raise _err(f"table {name} has no columns", obj)
    columns: dict[str, ColumnSchema] = {}
    for cname, cjson in columns_json.items():
        if not isinstance(cname, str) or not _ID_RE.match(cname) or cname.startswith("_"):
            raise _err(f"{name}.{cname}: invalid column name", obj)
        cjson = _expect_object(cjson, f"column {name}.{cname}")
        ctype = Type.from_json(cjson.get("type"))
        mutable = cjson.get("mutable", True)
        ephemeral = cjson.get("ephemeral", False)
        if not isinstance(mutable, bool) or not isinstance(ephemeral, bool):
            raise _err(f"{name}.{cname}: mutable and ephemeral must be booleans", cjson)
        column = ColumnSchema(cname, ctype, mutable, ephemeral)
        column.default = default_value(ctype)
        columns[cname] = column
    is_root = obj.get("isRoot", default_root)
    if not isinstance(is_root, bool):
        raise _err(f"isRoot of table {name} must be a boolean", obj)
    max_rows = obj.get("maxRows")
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1
    ):
        raise _err(f"maxRows of table {name} must be a positive integer", obj)
    indexes: list[tuple[str, ...]] = []
    for ix in obj.get("indexes", []):
        if not isinstance(ix, list) or not ix:
            raise _err(f"index of table {name} must be a non-empty array", obj)
        for cname in ix:
            if cname not in columns:
                raise _err(f"table {name} has no column {cname} (used in an index)", obj)
            if columns[cname].ephemeral:
                raise _err(f"ephemeral column {cname} may not be indexed", obj)
        indexes.append(tuple(ix))
    return TableSchema(name, columns, is_root, max_rows, indexes)
