"""Replica rows and a recording transaction, in the shape the controller's OVS writers
(pyovn/controller/ovs.py) and local_state read them: enough to check what a sync asks
for without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Columns that are maps (an unset one reads as {}); every other unset column reads as an
# empty set.
MAP_COLUMNS = ("options", "external_ids", "bfd", "bfd_status", "other_config")


@dataclass
class Row:
    """A replica row: raw() reads a column, assignment records a write."""

    table: str
    cols: dict[str, Any]
    uuid: str = ""

    def raw(self, col: str) -> Any:
        return self.cols.get(col, {} if col in MAP_COLUMNS else ())

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("table", "cols", "uuid"):
            object.__setattr__(self, name, value)
        else:
            self.cols[name] = value


@dataclass
class Table:
    rows: dict[str, Row] = field(default_factory=dict)


class Txn:
    """Records what a sync asks for: rows inserted, uuids removed from sets, keys set."""

    def __init__(self) -> None:
        self.inserted: list[Row] = []
        self.removed: list[str] = []
        self.keys: list[tuple[str, str, str]] = []

    def insert(self, table: str) -> Row:
        r = Row(table, {}, f"new{len(self.inserted)}")
        self.inserted.append(r)
        return r

    def add_to_set(self, row: Row, col: str, rows: list[Row]) -> None:
        pass

    def remove_from_set(self, row: Row, col: str, uuids: list[str]) -> None:
        self.removed += uuids

    def set_key(self, row: Row, col: str, key: str, value: str) -> None:
        self.keys.append((row.uuid, key, value))
