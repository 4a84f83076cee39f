"""Small constructors for OVSDB operations, so that case files read like the protocol."""

from __future__ import annotations

from typing import Any

from ..harness import Case, Script

__all__ = [
    "ATOM_ROWS",
    "FAKE_UUID",
    "Case",
    "Script",
    "delete",
    "ins",
    "mutate",
    "named",
    "omap",
    "omap_empty",
    "oset",
    "populate",
    "select",
    "update",
    "uuid",
    "wait",
]

FAKE_UUID = "c0ffee00-1234-4321-8765-0123456789ab"


def ins(table: str, row: dict[str, Any] | None = None, name: str | None = None,
        **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"op": "insert", "table": table}
    if row is not None:
        op["row"] = row
    if name is not None:
        op["uuid-name"] = name
    op.update(extra)
    return op


def select(table: str, where: list[Any] | None = None,
           columns: list[str] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"op": "select", "table": table, "where": where or []}
    if columns is not None:
        op["columns"] = columns
    return op


def update(table: str, where: list[Any], row: dict[str, Any]) -> dict[str, Any]:
    return {"op": "update", "table": table, "where": where, "row": row}


def mutate(table: str, where: list[Any], mutations: list[Any]) -> dict[str, Any]:
    return {"op": "mutate", "table": table, "where": where, "mutations": mutations}


def delete(table: str, where: list[Any] | None = None) -> dict[str, Any]:
    return {"op": "delete", "table": table, "where": where or []}


def wait(table: str, where: list[Any], columns: list[str], until: str,
         rows: list[Any], timeout: int | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"op": "wait", "table": table, "where": where, "columns": columns,
                          "until": until, "rows": rows}
    if timeout is not None:
        op["timeout"] = timeout
    return op


def oset(*items: Any) -> list[Any]:
    return ["set", list(items)]


def omap(*pairs: tuple[Any, Any]) -> list[Any]:
    return ["map", [list(p) for p in pairs]]


def uuid(u: str) -> list[str]:
    return ["uuid", u]


def named(n: str) -> list[str]:
    return ["named-uuid", n]


def omap_empty() -> list[Any]:
    return ["map", []]


# Four Atoms rows with distinct values in every column type, used by select/update/mutate and
# monitor cases.  Row k has i == k.
ATOM_ROWS: list[dict[str, Any]] = [
    {"i": 0, "r": -1.5, "b": False, "s": "alpha", "ie": 1, "se": "red", "irange": 0,
     "opt_i": oset(), "set_s": oset(), "set_i": oset(1), "map_ss": omap(("a", "1")),
     "map_ii": omap((1, 10)), "set_u": oset(), "imm": "zero", "rrange": 0.5},
    {"i": 1, "r": 0.0, "b": True, "s": "beta", "ie": 2, "se": "green", "irange": 10,
     "opt_i": 1, "set_s": oset("x"), "set_i": oset(1, 2), "map_ss": omap(("a", "2"), ("b", "1")),
     "map_ii": omap((1, 10), (2, 20)), "set_u": oset(uuid(FAKE_UUID)), "imm": "one",
     "rrange": 1.5},
    {"i": 2, "r": 2.5, "b": False, "s": "gamma", "ie": 3, "se": "blue", "irange": 20,
     "opt_i": 2, "set_s": oset("x", "y"), "set_i": oset(2, 3), "map_ss": omap(("b", "2")),
     "map_ii": omap_empty(), "set_u": oset(), "imm": "two", "rrange": -1.0},
    {"i": 3, "r": 100.25, "b": True, "s": "", "ie": oset(), "se": oset(), "irange": 30,
     "opt_i": oset(), "set_s": oset("y", "z", "x"), "set_i": oset(), "map_ss": omap_empty(),
     "map_ii": omap((3, 30)), "set_u": oset(), "imm": "three", "rrange": 2.5},
]


def populate(s: Script, c: int = 0) -> None:
    s.tx(*[ins("Atoms", row) for row in ATOM_ROWS], c=c)
