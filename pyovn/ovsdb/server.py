"""The OVSDB server: databases, client sessions and their methods (RFC 7047, ovsdb-server(7)).

Everything here runs on one asyncio loop, so a transaction, its log write and the monitor
updates it causes happen with no interleaving: each commit is on disk (written to the OS;
fsynced when durable) before its reply and its updates leave.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pyovn.jsonrpc.connection import Connection
from pyovn.jsonrpc.message import Notification, ProtocolError, Reply, Request, classify
from pyovn.jsonrpc.stream import FramingError
from pyovn.ovsdb import storage
from pyovn.ovsdb.database import Changes, Commit, Database, new_uuid
from pyovn.ovsdb.datum import datum_from_json, datum_to_json, is_valid_uuid
from pyovn.ovsdb.error import OvsdbError, json_text, syntax_error
from pyovn.ovsdb.monitor import Monitor, merge_changes, parse_monitor_requests
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server_db import SERVER_SCHEMA_JSON, server_db_row
from pyovn.ovsdb.transact import TxnResult, WouldBlock, execute
from pyovn.ovsdb.txn import Txn

log = logging.getLogger("pyovn.ovsdb.server")

ZERO_TXN_ID = "00000000-0000-0000-0000-000000000000"
HISTORY_LIMIT = 100  # commits kept for monitor_cond_since, as ovsdb-server keeps
COMPACT_MIN_INTERVAL = 600.0  # seconds between online compactions (ovsdb-server: 10 min)


@dataclass
class DbState:
    """One served database with its file and history."""

    db: Database
    path: str | None = None
    writer: storage.LogWriter | None = None
    history: deque[Commit] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    last_compact: float = field(default_factory=time.monotonic)
    read_only: bool = False

    @property
    def name(self) -> str:
        return self.db.name


def open_database(path: str) -> DbState:
    """Loads a standalone database file, dropping a torn last record as ovsdb-server does."""
    contents = storage.read_log(path)
    schema = DatabaseSchema.from_json(contents.schema)
    db = Database(schema)
    history: deque[Commit] = deque(maxlen=HISTORY_LIMIT)
    applied = 0
    for record, sha1 in zip(contents.records, contents.record_hashes):
        try:
            changes = db.apply_log_record(record)
        except OvsdbError as error:
            log.warning("%s: dropping record %d and later ones: %s", path, applied + 1, error)
            break
        applied += 1
        # The history survives a restart: a client resuming with monitor_cond_since after
        # the server came back still gets only what changed.
        txn_id = chain_txn_id(db.last_txn_id, sha1)
        db.last_txn_id = txn_id
        history.append(Commit(txn_id, changes, record.get("_comment")))
    if contents.dropped:
        log.warning("%s", contents.dropped)
    writer = storage.LogWriter.open_for_append(path, contents, keep_records=applied)
    return DbState(db, path, writer, history)


def chain_txn_id(previous: str, record_sha1: str) -> str:
    """A transaction's id: a hash of the previous id and its log record's SHA-1, so ids are
    the same after a restart (the file format has no room for them: ovsdb-tool refuses
    unknown members) and two records with equal contents still get different ids."""
    h = hashlib.sha1(f"{previous}{record_sha1}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@dataclass
class _Trigger:
    """A transaction waiting on a "wait" operation."""

    session: Session
    request_id: Any
    db: DbState
    params: list[Any]
    deadline: float | None
    timer: asyncio.TimerHandle | None = None


class Server:
    def __init__(self) -> None:
        self.dbs: dict[str, DbState] = {}
        # In connection order (an ordered set): monitors are sent their updates in that
        # order, as ovsdb-server does, rather than in an order that varies with memory
        # addresses from one run to the next.
        self.sessions: dict[Session, None] = {}
        self.server_id = new_uuid()
        self.locks: dict[str, deque[Session]] = {}
        self.triggers: list[_Trigger] = []
        self.server_db = DbState(Database(DatabaseSchema.from_json(SERVER_SCHEMA_JSON)))
        self.dbs["_Server"] = self.server_db
        self.n_transactions = 0
        # Called with the database's name after each commit (e.g. to follow db: remotes).
        self.commit_hooks: list[Callable[[str], None]] = []
        self._refresh_server_db()

    # --- databases ----------------------------------------------------------------------

    def add_database(self, state: DbState) -> None:
        if state.name in self.dbs:
            raise OvsdbError("duplicate database", f"{state.name}: duplicate database name")
        self.dbs[state.name] = state
        self._refresh_server_db()

    def _refresh_server_db(self, force: bool = False) -> None:
        """Rewrites _Server's Database table as a transaction, so its monitors see it."""
        db = self.server_db.db
        table = db.tables["Database"]
        ops: list[Any] = [{"op": "delete", "table": "Database", "where": []}]
        for name in sorted(self.dbs):
            state = self.dbs[name]
            ops.append({"op": "insert", "table": "Database",
                        "row": server_db_row(name, json_text(state.db.schema.to_json()))})
        if len(table.rows) == len(self.dbs) and not force:
            return
        result = execute(db, ops)
        assert result.changes is not None, result.results
        self._commit(self.server_db, result, None)

    # --- committing ---------------------------------------------------------------------

    def _commit(self, state: DbState, result: TxnResult, origin: Session | None) -> None:
        changes = result.changes
        assert changes is not None
        db = state.db
        txn_id = None
        if state.writer is not None:
            record = db.changes_to_record(changes)
            if record:
                record["_date"] = storage.now_ms()
                if result.comment is not None:
                    record["_comment"] = result.comment
                sha1 = state.writer.append(record, result.durable)
                txn_id = chain_txn_id(db.last_txn_id, sha1)
        db.apply(changes)
        if txn_id is None:
            txn_id = new_uuid()  # nothing stored (ephemeral columns only, or no file)
        db.last_txn_id = txn_id
        commit = Commit(txn_id, changes, result.comment)
        state.history.append(commit)
        self.n_transactions += 1
        self._notify(state, commit)
        self._maybe_compact(state)
        for hook in self.commit_hooks:
            hook(db.name)

    def _notify(self, state: DbState, commit: Commit) -> None:
        cache: dict[str, bytes | None] = {}
        for session in list(self.sessions):
            for monitor in session.monitors.values():
                if monitor.db is not state.db:
                    continue
                body = cache.get(monitor.key, b"")
                if body == b"":
                    updates = monitor.updates(commit.changes)
                    body = orjson.dumps(updates) if updates else None
                    cache[monitor.key] = body
                if body is not None:
                    session.send_update(monitor, body, commit.txn_id)

    def _maybe_compact(self, state: DbState) -> None:
        writer = state.writer
        if writer is None or not writer.should_compact():
            return
        if time.monotonic() - state.last_compact < COMPACT_MIN_INTERVAL:
            return
        self.compact(state)

    def compact(self, state: DbState) -> None:
        if state.writer is None:
            return
        state.writer = state.writer.replace(
            state.db.schema.source or state.db.schema.to_json(), state.db.snapshot_record()
        )
        state.last_compact = time.monotonic()
        log.info("%s: compacted", state.path)

    # --- schema conversion --------------------------------------------------------------

    def prepare_conversion(self, state: DbState, schema_json: Any) -> Database:
        """The database converted to a new schema (ovsdb-server(7), "convert"), not yet
        installed.  The rows are re-inserted under the new schema in one transaction, so every
        constraint of the new schema applies; tables and columns it lacks are dropped."""
        schema = DatabaseSchema.from_json(schema_json)
        if schema.name != state.name:
            raise OvsdbError(
                "syntax error",
                f"new schema name ({schema.name}) does not match database name "
                f"({state.name})", schema_json,
            )
        new_db = Database(schema)
        txn = Txn(new_db)
        for table_name, new_table in schema.tables.items():
            old_table = state.db.tables.get(table_name)
            if old_table is None:
                continue
            old_columns = old_table.schema.columns
            for uuid, row in old_table.rows.items():
                data = {name: column.default for name, column in new_table.columns.items()}
                for name, column in new_table.columns.items():
                    if name in old_columns:
                        wire = datum_to_json(old_columns[name].type, row.data[name])
                        data[name] = datum_from_json(column.type, wire)
                txn.insert(table_name, uuid, data)
        new_db.apply(txn.precommit())
        new_db.last_txn_id = new_uuid()
        return new_db

    def install_conversion(self, state: DbState, schema_json: Any, new_db: Database) -> None:
        if state.writer is not None:
            state.writer = state.writer.replace(schema_json, new_db.snapshot_record(),
                                                "converted by pyovn ovsdb-server")
        old_db = state.db
        state.db = new_db
        state.history.clear()
        self._retire(old_db)
        self._refresh_server_db(force=True)

    def _retire(self, old_db: Database) -> None:
        """After a conversion: change-aware clients lose their monitors and waiting
        transactions on the old database; the others are disconnected (after their replies
        are sent), so that they notice the change when they reconnect."""
        for session in list(self.sessions):
            if not session.db_change_aware:
                session.conn.close()
                continue
            for key, monitor in list(session.monitors.items()):
                if monitor.db is old_db:
                    del session.monitors[key]
                    session.notify("monitor_canceled", [monitor.monitor_id])
        for trigger in list(self.triggers):
            if trigger.db.db is not old_db and trigger.session.db_change_aware:
                continue
            self.triggers.remove(trigger)
            if trigger.timer is not None:
                trigger.timer.cancel()
            trigger.session.error(trigger.request_id, "canceled")

    # --- transactions -------------------------------------------------------------------

    def transact(self, session: Session, request_id: Any, params: list[Any]) -> None:
        if not params or not isinstance(params[0], str):
            raise syntax_error(params, "transact request params must begin with <db-name>")
        state = self.dbs.get(params[0])
        if state is None:
            raise OvsdbError(
                "unknown database",
                f"transact request specifies unknown database {params[0]}", params,
            )
        trigger = _Trigger(session, request_id, state, params[1:], None)
        if not self._run_trigger(trigger, expired=False):
            self._park(trigger)

    def _run_trigger(self, trigger: _Trigger, expired: bool) -> bool:
        """Runs a transaction; False if it must wait for a change or its timeout."""
        state = trigger.db
        try:
            result = execute(state.db, trigger.params, trigger.session.holds_lock, expired,
                             enforce_reserved=True)
        except WouldBlock as block:
            if trigger.deadline is None and block.timeout_ms is not None:
                trigger.deadline = time.monotonic() + block.timeout_ms / 1000.0
            return False
        # (execute() refuses writes to _Server, which only the server itself changes.)
        if result.changes is not None and state is not self.server_db:
            try:
                self._commit(state, result, trigger.session)
            except storage.LogError as error:
                log.error("%s", error)
                result.results.append(OvsdbError("I/O error", str(error)).to_json())
        trigger.session.reply(trigger.request_id, result.results)
        self._run_triggers()
        return True

    def _park(self, trigger: _Trigger) -> None:
        self.triggers.append(trigger)
        if trigger.deadline is not None:
            delay = max(0.0, trigger.deadline - time.monotonic())
            loop = asyncio.get_running_loop()
            trigger.timer = loop.call_later(delay, self._expire, trigger)

    def _expire(self, trigger: _Trigger) -> None:
        if trigger in self.triggers:
            self.triggers.remove(trigger)
            self._run_trigger(trigger, expired=True)

    def _run_triggers(self) -> None:
        """Re-runs waiting transactions after a commit (a wait may now be satisfied)."""
        for trigger in list(self.triggers):
            if trigger not in self.triggers:
                continue
            self.triggers.remove(trigger)
            if self._run_trigger(trigger, expired=False):
                if trigger.timer is not None:
                    trigger.timer.cancel()
            else:
                self.triggers.append(trigger)

    def cancel(self, session: Session, request_id: Any) -> None:
        for trigger in list(self.triggers):
            if trigger.session is session and trigger.request_id == request_id:
                self.triggers.remove(trigger)
                if trigger.timer is not None:
                    trigger.timer.cancel()
                # ovsdb-server drops a canceled request without a reply.

    def drop_session_triggers(self, session: Session) -> None:
        for trigger in [t for t in self.triggers if t.session is session]:
            self.triggers.remove(trigger)
            if trigger.timer is not None:
                trigger.timer.cancel()

    # --- locks --------------------------------------------------------------------------

    def lock(self, session: Session, name: str, steal: bool) -> bool:
        waiters = self.locks.setdefault(name, deque())
        if steal:
            # The victim keeps its place in line, as in ovsdb-server: it gets the lock back
            # ("locked") when the thief lets go.
            if waiters:
                waiters[0].notify("stolen", [name])
            waiters.appendleft(session)
        else:
            waiters.append(session)
        session.locks.add(name)
        return waiters[0] is session

    def unlock(self, session: Session, name: str) -> None:
        waiters = self.locks.get(name)
        session.locks.discard(name)
        if not waiters or session not in waiters:
            return
        waiters.remove(session)
        if not waiters:
            del self.locks[name]
        else:
            # ovsdb-server tells the owner "locked" whenever a waiter leaves, even a waiter
            # behind it: a harmless repeat that clients ignore, reproduced for fidelity.
            waiters[0].notify("locked", [name])

    def owns_lock(self, session: Session, name: str) -> bool:
        waiters = self.locks.get(name)
        return bool(waiters) and waiters[0] is session  # type: ignore[index]

    # --- monitors -----------------------------------------------------------------------

    def history_since(self, state: DbState, txn_id: str) -> Changes | None:
        """Changes committed after txn_id, or None when txn_id is not in the history."""
        if txn_id == state.db.last_txn_id:
            return {}
        commits = list(state.history)
        for index, commit in enumerate(commits):
            if commit.txn_id == txn_id:
                return merge_changes([c.changes for c in commits[index + 1:]])
        return None

    def stats(self) -> dict[str, int]:
        return {
            "sessions": len(self.sessions),
            "monitors": sum(len(s.monitors) for s in self.sessions),
            "triggers": len(self.triggers),
            "cells": sum(
                len(t.rows) * len(t.schema.columns)
                for st in self.dbs.values() for t in st.db.tables.values()
            ),
            "rows": sum(st.db.n_rows() for st in self.dbs.values()),
            "transactions": self.n_transactions,
        }


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        # orjson refuses nesting deeper than 255, which the protocol allows (up to 1024).
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


_DBL_MIN = 2.2250738585072014e-308


def ovs_numbers(value: Any) -> Any:
    """JSON numbers as Open vSwitch's parser reads them: an integral number that fits in 64
    bits is an integer (1.0 -> 1, -0.0 -> 0), a bigger integer is a real, reals keep 15
    significant digits, and a real that over- or underflows a normal double is an error
    (SessionError: the peer is dropped).  Rewrites freshly parsed lists and dicts in place,
    without recursion, since messages may nest 1024 deep."""
    holder = [value]
    stack: list[list[Any] | dict[Any, Any]] = [holder]
    while stack:
        container = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in list(items):
            if isinstance(item, list | dict):
                stack.append(item)
            elif isinstance(item, float) or (
                isinstance(item, int) and not isinstance(item, bool)
            ):
                container[key] = _ovs_number(item)
    return holder[0]


def _ovs_number(value: float) -> float | int:
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else float(f"{float(value):.15g}")
    if not math.isfinite(value) or (value != 0 and abs(value) < _DBL_MIN):
        raise SessionError(f"number {value!r} outside valid range")
    if value.is_integer() and -(2**63) <= value < 2**63:
        return int(value)
    return float(f"{value:.15g}")


class SessionError(Exception):
    """A request after which the session is dropped rather than answered."""


class Session:
    """One client connection and what it holds: monitors, locks, waiting transactions."""

    def __init__(self, server: Server, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.monitors: dict[str, Monitor] = {}  # keyed by the monitor id's JSON text
        self.locks: set[str] = set()
        self.db_change_aware = False
        self.last_recv = time.monotonic()

    def holds_lock(self, name: str) -> bool:
        return self.server.owns_lock(self, name)

    # --- sending ------------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        self.conn.send(msg)

    def reply(self, request_id: Any, result: Any) -> None:
        self.conn.send_bytes(
            b'{"id":' + _dumps(request_id) + b',"result":' + _dumps(result) + b',"error":null}'
        )

    def error(self, request_id: Any, error: Any) -> None:
        # ovsdb-server's error replies carry no "result" member.
        self.conn.send({"id": request_id, "error": error})

    def notify(self, method: str, params: list[Any]) -> None:
        self.conn.send({"id": None, "method": method, "params": params})

    def send_update(self, monitor: Monitor, body: bytes, txn_id: str) -> None:
        mid = orjson.dumps(monitor.monitor_id)
        if monitor.version == 1:
            head = b'{"id":null,"method":"update","params":[' + mid + b","
        elif monitor.version == 2:
            head = b'{"id":null,"method":"update2","params":[' + mid + b","
        else:
            head = (b'{"id":null,"method":"update3","params":[' + mid + b',"'
                    + txn_id.encode() + b'",')
        self.conn.send_bytes(head + body + b"]}")

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        conn = self.conn
        while True:
            try:
                msg = await conn.recv()
            except FramingError as error:
                log.warning("%s: %s, closing connection", conn.peer, error)
                return
            if msg is None:
                return
            self.last_recv = time.monotonic()
            if not self.handle(msg):
                return
            if conn.backlog > 16 * 1024 * 1024:
                await conn.drain()

    def close(self) -> None:
        server = self.server
        server.drop_session_triggers(self)
        for name in list(self.locks):
            server.unlock(self, name)
        self.monitors.clear()

    def handle(self, msg: Any) -> bool:
        """Handles one message; False when it broke the protocol and the session must end
        (ovsdb-server drops such a connection rather than answering)."""
        if type(msg) is dict and len(msg) == 3:
            # The common case, a well-formed request, without building a Message object.
            method = msg.get("method")
            params = msg.get("params")
            request_id = msg.get("id")
            if type(method) is str and type(params) is list and request_id is not None:
                return self.dispatch(method, params, request_id)
        try:
            message = classify(msg)
        except ProtocolError as error:
            log.warning("%s: received bad JSON-RPC message: %s", self.conn.peer, error)
            return False
        if isinstance(message, Request):
            return self.dispatch(message.method, message.params, message.id)
        if isinstance(message, Notification):
            if message.method == "cancel" and message.params:
                self.server.cancel(self, message.params[0])
        elif isinstance(message, Reply) and message.id == "echo":
            pass  # the answer to our inactivity probe
        else:
            log.warning("%s: received unexpected %s message", self.conn.peer, message.kind)
            return False
        return True

    def dispatch(self, method: str, params: list[Any], request_id: Any) -> bool:
        handler = _METHODS.get(method)
        if handler is None:
            self.error(request_id, "unknown method")
            return True
        try:
            handler(self, request_id, params)
        except OvsdbError as error:
            self.error(request_id, error.to_json())
        except SessionError as error:
            log.warning("%s: %s, closing connection", self.conn.peer, error)
            return False
        return True

    # --- methods ------------------------------------------------------------------------

    def _db(self, params: list[Any], what: str) -> DbState:
        if not params or not isinstance(params[0], str):
            raise syntax_error(params, f"{what} request params must begin with <db-name>")
        state = self.server.dbs.get(params[0])
        if state is None:
            raise OvsdbError(
                "unknown database", f"{what} request specifies unknown database {params[0]}",
                params,
            )
        return state

    def m_list_dbs(self, request_id: Any, params: list[Any]) -> None:
        self.reply(request_id, sorted(self.server.dbs))

    def m_get_schema(self, request_id: Any, params: list[Any]) -> None:
        state = self._db(params, "get_schema")
        self.reply(request_id, state.db.schema.to_json())

    def m_echo(self, request_id: Any, params: list[Any]) -> None:
        self.reply(request_id, ovs_numbers(params))

    def m_transact(self, request_id: Any, params: list[Any]) -> None:
        self.server.transact(self, request_id, params)

    def m_convert(self, request_id: Any, params: list[Any]) -> None:
        state = self._db(params, "convert")
        if len(params) != 2:
            raise syntax_error(params, "convert request params must be <db-name>, <schema>")
        if state is self.server.server_db:
            raise OvsdbError("not allowed", "_Server database may not be converted")
        new_db = self.server.prepare_conversion(state, params[1])
        # The reply goes out before the disconnections that installing the new database causes.
        self.reply(request_id, {})
        try:
            self.server.install_conversion(state, params[1], new_db)
        except storage.LogError as error:
            log.error("%s: conversion not saved: %s", state.name, error)

    def m_get_server_id(self, request_id: Any, params: list[Any]) -> None:
        self.reply(request_id, self.server.server_id)

    def m_set_db_change_aware(self, request_id: Any, params: list[Any]) -> None:
        if len(params) != 1 or not isinstance(params[0], bool):
            raise syntax_error(params, "set_db_change_aware: true or false parameter expected")
        self.db_change_aware = params[0]
        self.reply(request_id, {})

    def _monitor(self, request_id: Any, params: list[Any], version: int) -> None:
        method = {1: "monitor", 2: "monitor_cond", 3: "monitor_cond_since"}[version]
        state = self._db(params, method)
        expected = 4 if version == 3 else 3
        if len(params) != expected:
            if version == 1:
                # ovsdb-server drops the connection of a v1 monitor request of the wrong size.
                raise SessionError(f"{method} request with {len(params)} parameters")
            raise syntax_error(params, "invalid parameters")
        key = json_text(params[1])
        if key in self.monitors:
            raise syntax_error(params[1], "duplicate monitor ID")
        since = params[3] if version == 3 else None
        if version == 3 and not isinstance(since, str):
            raise syntax_error(since, "last-txn-id must be string")
        if version == 3 and not is_valid_uuid(since):
            raise syntax_error(since, "last-txn-id must be UUID format.")
        tables = parse_monitor_requests(state.db, params[2], conditional=version > 1)
        monitor = Monitor(state.db, params[1], version, tables)
        if version == 3:
            assert isinstance(since, str)
            changes = self.server.history_since(state, since.lower())
            last = state.db.last_txn_id
            if changes is not None and since != ZERO_TXN_ID:
                self.reply(request_id, [True, last, monitor.updates(changes)])
            else:
                self.reply(request_id, [False, last, monitor.initial()])
        else:
            self.reply(request_id, monitor.initial())
        self.monitors[key] = monitor

    def m_monitor(self, request_id: Any, params: list[Any]) -> None:
        self._monitor(request_id, params, 1)

    def m_monitor_cond(self, request_id: Any, params: list[Any]) -> None:
        self._monitor(request_id, params, 2)

    def m_monitor_cond_since(self, request_id: Any, params: list[Any]) -> None:
        self._monitor(request_id, params, 3)

    def m_monitor_cond_change(self, request_id: Any, params: list[Any]) -> None:
        if len(params) != 3:
            raise syntax_error(params, "invalid parameters")
        old_key = json_text(params[0])
        monitor = self.monitors.get(old_key)
        if monitor is None:
            raise syntax_error(params[0], "unknown monitor session")
        new_key = json_text(params[1])
        if new_key != old_key and new_key in self.monitors:
            raise syntax_error(params[1], "duplicate monitor ID")
        tables = monitor.with_conditions(params[2])
        updates = monitor.condition_change_updates(tables)
        monitor.set_tables(tables)
        del self.monitors[old_key]
        monitor.monitor_id = params[1]
        self.monitors[new_key] = monitor
        if updates:
            self.send_update(monitor, orjson.dumps(updates), monitor.db.last_txn_id)
        self.reply(request_id, {})

    def m_monitor_cancel(self, request_id: Any, params: list[Any]) -> None:
        if len(params) != 1:
            self.error(request_id, "invalid parameters")
            return
        key = json_text(params[0])
        if key not in self.monitors:
            self.error(request_id, "unknown monitor")
            return
        del self.monitors[key]
        self.reply(request_id, {})

    def _lock_name(self, params: list[Any], method: str) -> str:
        if len(params) != 1 or not isinstance(params[0], str) or not _ID_RE.match(params[0]):
            raise syntax_error(params, f"{method} request params must be <id>")
        return params[0]

    def m_lock(self, request_id: Any, params: list[Any]) -> None:
        self._lock(request_id, params, steal=False)

    def m_steal(self, request_id: Any, params: list[Any]) -> None:
        self._lock(request_id, params, steal=True)

    def _lock(self, request_id: Any, params: list[Any], steal: bool) -> None:
        method = "steal" if steal else "lock"
        name = self._lock_name(params, method)
        if name in self.locks:
            raise syntax_error(params, f'must issue "unlock" before new "{method}"')
        locked = self.server.lock(self, name, steal)
        self.reply(request_id, {"locked": locked})

    def m_unlock(self, request_id: Any, params: list[Any]) -> None:
        name = self._lock_name(params, "unlock")
        if name not in self.locks:
            raise syntax_error(params, 'unlock: "unlock" without "lock" or "steal"')
        self.server.unlock(self, name)
        self.reply(request_id, {})


_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_METHODS: dict[str, Callable[[Session, Any, list[Any]], None]] = {
    "list_dbs": Session.m_list_dbs,
    "get_schema": Session.m_get_schema,
    "echo": Session.m_echo,
    "transact": Session.m_transact,
    "get_server_id": Session.m_get_server_id,
    "convert": Session.m_convert,
    "set_db_change_aware": Session.m_set_db_change_aware,
    "monitor": Session.m_monitor,
    "monitor_cond": Session.m_monitor_cond,
    "monitor_cond_since": Session.m_monitor_cond_since,
    "monitor_cond_change": Session.m_monitor_cond_change,
    "monitor_cancel": Session.m_monitor_cancel,
    "lock": Session.m_lock,
    "steal": Session.m_steal,
    "unlock": Session.m_unlock,
}
