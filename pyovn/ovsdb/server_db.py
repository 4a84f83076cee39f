"""The `_Server` database that ovsdb-server(5) describes: one row per served database."""

from __future__ import annotations

from typing import Any

SERVER_SCHEMA_JSON: dict[str, Any] = {
    "name": "_Server",
    "version": "1.2.0",
    "cksum": "3009684573 744",
    "tables": {
        "Database": {
            "columns": {
                "name": {"type": "string"},
                "model": {
                    "type": {
                        "key": {
                            "type": "string",
                            "enum": ["set", ["standalone", "clustered", "relay"]],
                        }
                    }
                },
                "connected": {"type": "boolean"},
                "leader": {"type": "boolean"},
                "schema": {"type": {"key": "string", "min": 0}},
                "cid": {"type": {"key": "uuid", "min": 0}},
                "sid": {"type": {"key": "uuid", "min": 0}},
                "index": {"type": {"key": "integer", "min": 0}},
            },
        }
    },
}


def server_db_row(name: str, schema_text: str) -> dict[str, Any]:
    """The Database row of a standalone database: always connected, always the leader."""
    return {
        "name": name,
        "model": "standalone",
        "connected": True,
        "leader": True,
        "schema": schema_text,
    }
