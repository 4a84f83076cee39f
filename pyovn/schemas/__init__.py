"""The OVN database schemas pyovn serves and its tools read: copies of OVN 23.03's
ovn-nb.ovsschema (OVN_Northbound 7.0.0) and ovn-sb.ovsschema (OVN_Southbound 20.27.0).

Shipping them means pyovn does not need an OVN installation to create or read its databases;
tests/ctl/test_schemas.py keeps them equal, table by table and column by column, to the
installed OVN's when there is one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyovn.ovsdb.schema import DatabaseSchema

__all__ = ["SCHEMA_FILES", "load_schema", "load_schema_json", "schema_path"]

_DIR = Path(__file__).resolve().parent

# Accepted names: the database name, or the short names the tools use.
SCHEMA_FILES: dict[str, str] = {
    "OVN_Northbound": "ovn-nb.ovsschema",
    "OVN_Southbound": "ovn-sb.ovsschema",
}
_ALIASES = {"nb": "OVN_Northbound", "sb": "OVN_Southbound"}


def schema_path(name: str) -> str:
    """The file of a shipped schema: "OVN_Northbound"/"nb" or "OVN_Southbound"/"sb"."""
    db = _ALIASES.get(name.lower(), name)
    try:
        return str(_DIR / SCHEMA_FILES[db])
    except KeyError:
        raise KeyError(f"no shipped schema named {name!r}") from None


@functools.cache
def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def load_schema_json(name: str) -> dict[str, Any]:
    """The schema's JSON (a fresh object each call: callers may change it)."""
    import orjson

    result: dict[str, Any] = orjson.loads(_read(schema_path(name)))
    return result


@functools.cache
def load_schema(name: str) -> DatabaseSchema:
    """The parsed schema (shared: do not change it)."""
    from pyovn.ovsdb.schema import DatabaseSchema

    return DatabaseSchema.from_json(load_schema_json(name))
