"""Monitors: what a client sees of the database, initially and after each commit.

One Monitor serves the three protocol generations: "monitor" (update notifications, whole
rows), "monitor_cond" (update2: conditions, and modifications as differences) and
"monitor_cond_since" (update3: update2 plus the transaction id, for resuming).
Composing updates is pure; the server sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.condition import Condition, find_column, parse_condition
from pyovn.ovsdb.database import Changes, Database, Row, RowChange
from pyovn.ovsdb.datum import datum_diff, datum_to_json, diff_to_json, json_error
from pyovn.ovsdb.error import OvsdbError, json_text
from pyovn.ovsdb.schema import TableSchema
from pyovn.ovsdb.transact import _ARRAY, _BOOLEAN, _OBJECT, Parser

SELECT_KEYS = ("initial", "insert", "delete", "modify")
INITIAL, INSERT, DELETE, MODIFY = 1, 2, 4, 8
_ALL = INITIAL | INSERT | DELETE | MODIFY
_SPECIAL = ("_uuid", "_version")


@dataclass
class TableMonitor:
    schema: TableSchema
    # Monitored columns in request order (_uuid and _version included when asked for),
    # each with the selection of the request that named it.
    selects: dict[str, int]
    select: int = _ALL  # union of the requests' selections
    condition: Condition | None = None  # None: every row
    condition_json: Any = None

    def __post_init__(self) -> None:
        self.has_condition = False
        self.refresh()

    def refresh(self) -> None:
        user = self.schema.columns
        self.columns = tuple(n for n in self.selects if n in user)
        self.all_columns = tuple(self.selects)
        self.version_column = "_version" in self.selects
        self.special = tuple(n for n in self.selects if n not in user)
        # Columns to print for each kind of update.
        self.by_type = {
            t: tuple(n for n, sel in self.selects.items() if sel & t)
            for t in (INITIAL, INSERT, DELETE, MODIFY)
        }
        self.uniform = all(sel == _ALL for sel in self.selects.values())

    @property
    def initial(self) -> bool:
        return bool(self.select & INITIAL)

    @property
    def insert(self) -> bool:
        return bool(self.select & INSERT)

    @property
    def delete(self) -> bool:
        return bool(self.select & DELETE)

    @property
    def modify(self) -> bool:
        return bool(self.select & MODIFY)

    def matches(self, row: Row) -> bool:
        return self.condition is None or self.condition.matches_any(row)

    def key(self) -> str:
        return json_text([list(self.selects.items()), self.select, self.condition_json])


def _error(details: str) -> OvsdbError:
    return OvsdbError("syntax error", details)


def parse_monitor_requests(
    db: Database, requests: Any, conditional: bool
) -> dict[str, TableMonitor]:
    if not isinstance(requests, dict):
        raise json_error(requests, "monitor-requests must be object")
    tables: dict[str, TableMonitor] = {}
    for table_name, request in requests.items():
        tschema = db.schema.tables.get(table_name)
        if tschema is None:
            raise _error(f"no table named {table_name}")
        tm = TableMonitor(tschema, {}, 0)
        items = request if isinstance(request, list) else [request]
        for item in items:
            _parse_one(tm, item, conditional)
        tm.refresh()
        tables[table_name] = tm
    return tables


def _parse_one(tm: TableMonitor, item: Any, conditional: bool) -> None:
    """ovsdb_jsonrpc_parse_monitor_request(): adds one request's columns to the table's."""
    tschema = tm.schema
    parser = Parser(item, f"table {tschema.name}")
    where = parser.member("where", _ARRAY, optional=True) if conditional else None
    columns_json = parser.member("columns", _ARRAY, optional=True)
    select_json = parser.member("select", _OBJECT, optional=True)
    error = parser.finish()
    if error is not None:
        raise error
    if select_json is not None:
        select = 0
        sparser = Parser(select_json, f"table {tschema.name} select")
        for bit, flag in zip((INITIAL, INSERT, DELETE, MODIFY), SELECT_KEYS, strict=True):
            value = sparser.member(flag, _BOOLEAN, optional=True)
            if value is None or value:
                select |= bit
        error = sparser.finish()
        if error is not None:
            raise error
    else:
        select = _ALL
    tm.select |= select
    if columns_json is not None:
        for name in columns_json:
            if not isinstance(name, str):
                raise json_error(columns_json, "array of column names expected")
            if find_column(tschema, name) is None:
                raise json_error(columns_json, f"{name} is not a valid column name")
            if name in tm.selects:
                raise json_error(columns_json, f"column {name} mentioned more than once")
            tm.selects[name] = select
    else:
        for name in (*tschema.columns, "_version"):
            if name in tm.selects:
                raise _error(f"column {name} mentioned more than once")
            tm.selects[name] = select
    if conditional and not tm.has_condition:
        # Several requests for a table: the first one's condition is the one that counts.
        tm.has_condition = True
        tm.condition_json = where
        condition = parse_condition(tschema, where if where is not None else [])
        tm.condition = None if condition.any_is_true else condition


class Monitor:
    def __init__(
        self, db: Database, monitor_id: Any, version: int, tables: dict[str, TableMonitor]
    ) -> None:
        self.db = db
        self.monitor_id = monitor_id
        self.version = version
        self.tables = tables
        self.key = f"{version}|" + "|".join(
            f"{name}:{tm.key()}" for name, tm in sorted(tables.items())
        )

    # --- rows in wire form -------------------------------------------------------------

    def _full_row(
        self, tm: TableMonitor, row: Row, kind: int, skip_defaults: bool
    ) -> dict[str, Any]:
        """The row's columns selected for this kind of update (update2 leaves out default
        values, as ovsdb_datum_is_default() sees them)."""
        names = tm.all_columns if tm.uniform else tm.by_type[kind]
        if row._json is None and len(names) * 4 < len(row.data):
            # A few columns of a row nobody has serialised yet (a status column's
            # monitor): just those, not the whole row.
            return self._some_columns(tm, row, names, skip_defaults)
        columns_json = row.columns_json(tm.schema)
        out: dict[str, Any] = {}
        if skip_defaults:
            cschemas = tm.schema.columns
            data = row.data
            for n in names:
                column = cschemas.get(n)
                if column is None:
                    out[n] = ["uuid", row.uuid if n == "_uuid" else row.version]
                elif data[n] != column.default:
                    out[n] = columns_json[n]
            return out
        for n in names:
            value = columns_json.get(n)
            out[n] = value if value is not None else [
                "uuid", row.uuid if n == "_uuid" else row.version]
        return out


    def _some_columns(self, tm: TableMonitor, row: Row, names: Any,
                      skip_defaults: bool) -> dict[str, Any]:
        cschemas = tm.schema.columns
        data = row.data
        out: dict[str, Any] = {}
        for n in names:
            column = cschemas.get(n)
            if column is None:
                out[n] = ["uuid", row.uuid if n == "_uuid" else row.version]
            elif not skip_defaults or data[n] != column.default:
                out[n] = datum_to_json(column.type, data[n])
        return out

    def initial(self) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        v1 = self.version == 1
        for name, tm in self.tables.items():
            if not tm.initial:
                continue
            rows = self.db.tables[name].rows
            out: dict[str, Any] = {}
            cond = tm.condition
            for uuid, row in rows.items():
                if cond is None or cond.matches_any(row):
                    if v1:
                        out[uuid] = {"new": self._full_row(tm, row, INITIAL, False)}
                    else:
                        out[uuid] = {"initial": self._full_row(tm, row, INITIAL, True)}
            if out:
                updates[name] = out
        return updates

    def updates(self, changes: Changes) -> dict[str, Any]:
        """The table-updates (v1) or table-updates2 (v2, v3) for one commit's changes."""
        updates: dict[str, Any] = {}
        for name, rows in changes.items():
            tm = self.tables.get(name)
            if tm is None:
                continue
            out: dict[str, Any] = {}
            for uuid, change in rows.items():
                update = self._row_update(tm, change)
                if update is not None:
                    out[uuid] = update
            if out:
                updates[name] = out
        return updates

    def _row_update(self, tm: TableMonitor, change: RowChange) -> dict[str, Any] | None:
        old, new = change.old, change.new
        cond = tm.condition
        if cond is not None:
            if old is not None and not cond.matches_any(old):
                old = None
            if new is not None and not cond.matches_any(new):
                new = None
        v1 = self.version == 1
        if old is None:
            if new is None or not tm.select & INSERT:
                return None
            if v1:
                return {"new": self._full_row(tm, new, INSERT, False)}
            return {"insert": self._full_row(tm, new, INSERT, True)}
        if new is None:
            if not tm.select & DELETE:
                return None
            if v1:
                return {"old": self._full_row(tm, old, DELETE, False)}
            return {"delete": None}
        if not tm.select & MODIFY:
            return None
        changed = change.changed
        if changed is None:
            changed = frozenset(n for n in tm.columns if old.data[n] != new.data[n])
        columns = [n for n in tm.columns if n in changed]
        # _version changes with every modification, so monitoring it reports them all.
        version_changed = tm.version_column and old.version != new.version
        if not columns and not version_changed:
            return None
        if not tm.uniform:
            selected = tm.by_type[MODIFY]
            columns = [n for n in columns if n in selected]
            version_changed = version_changed and "_version" in selected
        cschemas = tm.schema.columns
        if v1:
            old_json = old.columns_json(tm.schema)
            old_part = {n: old_json[n] for n in columns}
            if version_changed:
                old_part["_version"] = ["uuid", old.version]
            return {"old": old_part, "new": self._full_row(tm, new, MODIFY, False)}
        diff: dict[str, Any] = {}
        new_json = None
        for n in columns:
            ctype = cschemas[n].type
            if ctype.max == 1:
                # The whole row's wire form only if it is there already: a status
                # update changes one column of a wide row.
                if new_json is None:
                    new_json = new._json
                diff[n] = new_json[n] if new_json is not None else datum_to_json(
                    ctype, new.data[n])
            else:
                diff[n] = diff_to_json(ctype, datum_diff(ctype, old.data[n], new.data[n]))
        if version_changed:
            diff["_version"] = ["uuid", new.version]
        return {"modify": diff}

    def condition_change_updates(self, new_tables: dict[str, TableMonitor]) -> dict[str, Any]:
        """Rows entering or leaving the monitor's view when its conditions change."""
        updates: dict[str, Any] = {}
        for name, new_tm in new_tables.items():
            old_tm = self.tables[name]
            if new_tm is old_tm:
                continue
            out: dict[str, Any] = {}
            for uuid, row in self.db.tables[name].rows.items():
                was, now = old_tm.matches(row), new_tm.matches(row)
                if now and not was and new_tm.select & INSERT:
                    if self.version == 1:
                        out[uuid] = {"new": self._full_row(new_tm, row, INSERT, False)}
                    else:
                        out[uuid] = {"insert": self._full_row(new_tm, row, INSERT, True)}
                elif was and not now and new_tm.select & DELETE:
                    if self.version == 1:
                        out[uuid] = {"old": self._full_row(old_tm, row, DELETE, False)}
                    else:
                        out[uuid] = {"delete": None}
            if out:
                updates[name] = out
        return updates

    def with_conditions(self, requests: Any) -> dict[str, TableMonitor]:
        """New table monitors: this monitor's with the conditions of a monitor_cond_change
        (a plain "monitor" has no conditions: the change is checked, then ignored)."""
        if not isinstance(requests, dict):
            raise _error("monitor-cond-change-requests must be object")
        result = dict(self.tables)
        for name, request in requests.items():
            tschema = self.db.schema.tables.get(name)
            if tschema is None:
                raise _error(f"no table named {name}")
            tm = self.tables.get(name)
            if tm is None:
                raise _error(f"no table named {name} in monitor session")
            if not isinstance(request, list):
                raise _error(f"table {name} no monitor-cond-change JSON array")
            for item in request:
                parser = Parser(item, f"table {name}")
                columns = parser.member("columns", _ARRAY, optional=True)
                where = parser.member("where", _ARRAY, optional=True)
                error = parser.finish()
                if error is not None:
                    raise error
                if columns is not None:
                    raise json_error(item, "changing columns is unsupported")
                condition = parse_condition(tschema, where if where is not None else [])
                if self.version == 1:
                    continue
                copy = TableMonitor(tm.schema, dict(tm.selects), tm.select)
                copy.condition = None if condition.any_is_true else condition
                copy.condition_json = where
                result[name] = tm = copy
        return result

    def set_tables(self, tables: dict[str, TableMonitor]) -> None:
        self.tables = tables
        self.key = f"{self.version}|" + "|".join(
            f"{name}:{tm.key()}" for name, tm in sorted(tables.items())
        )


def merge_changes(commits: list[Changes]) -> Changes:
    """Folds several commits' changes into one (first old, last new, union of columns)."""
    merged: Changes = {}
    for changes in commits:
        for table, rows in changes.items():
            out = merged.setdefault(table, {})
            for uuid, change in rows.items():
                prior = out.get(uuid)
                if prior is None:
                    out[uuid] = RowChange(change.old, change.new, change.changed)
                    continue
                columns: frozenset[str] | None
                if prior.old is None or change.new is None:
                    columns = None
                else:
                    columns = (prior.changed or frozenset()) | (change.changed or frozenset())
                out[uuid] = RowChange(prior.old, change.new, columns)
    for table in list(merged):
        rows = merged[table]
        for uuid in [u for u, c in rows.items() if c.old is None and c.new is None]:
            del rows[uuid]
    return merged


def row_json_for_tests(table: TableSchema, row: Row) -> dict[str, Any]:
    return {n: datum_to_json(table.columns[n].type, v) for n, v in row.data.items()}
