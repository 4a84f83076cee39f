"""The asyncio side of the IDL: one connection at a time to one of the remotes, kept alive.

Life of a connection: connect -> get_schema (replicate only what the server has) ->
monitor_cond_since with the last transaction id seen -> (re)take the lock -> serve updates,
transactions and condition changes -> on loss, back off and start again with the next remote.

Resuming: the server answers monitor_cond_since with found=true and only the changes since our
last transaction id when it has the history (pyovn's server), or found=false and everything
(the real ovsdb-server for a standalone database, any server after a restart).  found=false
goes through Replica.replace, so rows deleted while we were away disappear and the change set
reads as if we had seen every update.  A condition changed while disconnected makes the
replica's last id meaningless (the server would filter old history by the new condition), so
the request then asks for everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from pyovn.jsonrpc.connection import RpcClient, RpcError, open_connection, parse_remote
from pyovn.jsonrpc.message import Notification, ProtocolError
from pyovn.jsonrpc.stream import FramingError
from pyovn.ovsdb.condition import parse_condition
from pyovn.ovsdb.datum import datum_to_json
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.idl.replica import ChangeSet, Replica, ReplicaError, SchemaHelper, Table
from pyovn.ovsdb.idl.transaction import Transaction, TransactionError, TxnStatus, to_internal
from pyovn.ovsdb.schema import UNLIMITED, BaseType, ColumnSchema, Type

__all__ = ["ZERO_TXN_ID", "Clause", "Condition", "Idl", "SyncStats", "TxnOutcome"]

log = logging.getLogger("pyovn.ovsdb.idl")

ZERO_TXN_ID = "00000000-0000-0000-0000-000000000000"

# A clause is (column, function, value) with the value in the user's form (as for writes);
# a condition is a list of clauses (all must hold) or True/False.
Clause = tuple[str, str, Any]
Condition = Sequence[Clause] | bool

T = TypeVar("T")

_monitor_ids = itertools.count(1)
_CONNECT_ERRORS = (OSError, ConnectionError, RpcError, FramingError, ProtocolError,
                   asyncio.TimeoutError, ReplicaError, OvsdbError, ValueError)


@dataclass
class SyncStats:
    """One (re)synchronisation: what was asked, what came back, and how big it was."""

    remote: str
    since: str  # the last transaction id sent (all zeros: a full sync was asked for)
    found: bool  # the server resumed from `since` (only the changes came back)
    rows: int  # row updates in the reply
    bytes: int  # bytes received between the request and the reply (the reply's size)
    seconds: float  # request to replica updated


@dataclass
class TxnOutcome(Generic[T]):
    status: TxnStatus
    value: T
    txn: Transaction

    @property
    def ok(self) -> bool:
        """Committed, or nothing to commit."""
        return self.status in (TxnStatus.SUCCESS, TxnStatus.UNCHANGED)


class _CountingReader:
    """Stands in for the connection's StreamReader to count bytes and notice the end."""

    def __init__(self, reader: asyncio.StreamReader, on_close: Callable[[], None]) -> None:
        self.reader = reader
        self.on_close = on_close
        self.bytes = 0
        self.last_rx = time.monotonic()

    async def read(self, n: int = -1) -> bytes:
        try:
            data = await self.reader.read(n)
        except BaseException:
            self.on_close()
            raise
        if not data:
            self.on_close()
        self.bytes += len(data)
        self.last_rx = time.monotonic()
        return data


def split_remotes(remotes: str | Sequence[str]) -> list[str]:
    """"unix:A,tcp:B" or a list; each must be an active remote (RemoteError otherwise)."""
    items = remotes.split(",") if isinstance(remotes, str) else list(remotes)
    items = [r.strip() for r in items if r.strip()]
    if not items:
        raise ValueError("no remote given")
    for r in items:
        if parse_remote(r).passive:
            raise ValueError(f"{r}: a client needs an active remote (unix: or tcp:)")
    return items


class Idl:
    """A replica of one database kept in sync with a server, and transactions against it.

    Modelled on python-ovs's Idl, asyncio-first: `await start()`, then read `tables`, take
    changes with `take_changes()` after `wait_for_change()`, and write with `transact()`.
    """

    def __init__(
        self,
        remotes: str | Sequence[str],
        helper: SchemaHelper,
        *,
        probe_interval: float = 5.0,
        backoff_min: float = 1.0,
        backoff_max: float = 8.0,
        request_timeout: float = 60.0,
    ) -> None:
        self.remotes = split_remotes(remotes)
        self.replica = Replica(helper)
        self.db_name = helper.schema.name
        self.probe_interval = probe_interval
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self.last_txn_id = ZERO_TXN_ID
        self.syncs: list[SyncStats] = []
        self.change_seqno = 0
        self.remote: str | None = None
        self.has_lock = False
        self.is_lock_contended = False
        self._lock_name: str | None = None
        self._conditions: dict[str, list[Any]] = {}
        self._acked_conditions: dict[str, list[Any]] = {}
        self._rpc: RpcClient | None = None
        self._closed: asyncio.Event | None = None
        self._monitor_id: list[Any] | None = None
        self._buffer: list[Notification] | None = None
        self._synced: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._listeners: list[Callable[[], None]] = []
        self._bytes_before = 0
        self._reader: _CountingReader | None = None

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Starts connecting in the background (see wait_synced)."""
        if self._task is None:
            self._synced = asyncio.Event()
            self._changed = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> Idl:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def tables(self) -> dict[str, Table]:
        return self.replica.tables

    @property
    def is_connected(self) -> bool:
        return self._synced is not None and self._synced.is_set()

    @property
    def bytes_received(self) -> int:
        return self._bytes_before + (self._reader.bytes if self._reader else 0)

    @property
    def last_sync(self) -> SyncStats | None:
        return self.syncs[-1] if self.syncs else None

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Waits until the replica is in sync with a server (raises TimeoutError)."""
        if self._synced is None:
            await self.start()
        assert self._synced is not None
        await asyncio.wait_for(self._synced.wait(), timeout)

    def force_reconnect(self) -> None:
        """Drops the connection; the replica resynchronises on the next one."""
        if self._rpc is not None:
            self._rpc.conn.close()
        if self._closed is not None:
            self._closed.set()
        self._mark_down()

    def _mark_down(self) -> None:
        """No connection: no lock, not in sync (idempotent; reported once)."""
        was = self.is_connected or self.has_lock
        self.has_lock = self.is_lock_contended = False
        if self._synced is not None:
            self._synced.clear()
        if was:
            self._note_change()

    # --- changes -------------------------------------------------------------------------

    def take_changes(self) -> ChangeSet:
        return self.replica.take_changes()

    def omit_alert(self, table: str, column: str) -> None:
        """See Replica.omit_alert: changes to the column alone do not wake waiters."""
        self.replica.omit_alert(table, column)

    def _note_change(self) -> None:
        self.change_seqno += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()
        for listener in self._listeners:
            listener()

    def add_change_listener(self, listener: Callable[[], None]) -> None:
        """Calls `listener()` whenever change_seqno moves: a daemon waiting on several
        Idls (northd on NB and SB) wakes on one event instead of racing a task per Idl
        through asyncio.wait, which costs more than the wake-up itself."""
        self._listeners.append(listener)

    async def wait_for_change(self, seqno: int, timeout: float | None = None) -> bool:
        """Waits until change_seqno differs from `seqno` (replica, lock or connection
        changed); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.change_seqno == seqno:
            if self._changed is None:
                await self.start()
            assert self._changed is not None
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return False
        return True

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Waits until predicate() holds of the replica (raises TimeoutError)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0 or not await self.wait_for_change(self.change_seqno, left):
                if predicate():
                    return
                raise TimeoutError("condition not reached in time")

    # --- conditions ----------------------------------------------------------------------

    def condition_json(self, table: str, condition: Condition) -> list[Any]:
        """The wire form of a condition, checked against the table's schema."""
        t = self.replica.tables.get(table)
        if t is None:
            raise KeyError(f"table {table} is not replicated")
        if condition is True or condition is False:
            return [condition]
        assert not isinstance(condition, bool)
        json: list[Any] = []
        for clause in condition:
            if not (isinstance(clause, tuple | list) and len(clause) == 3):
                raise ValueError(f"{table}: a clause is (column, function, value): {clause!r}")
            column, function, value = clause
            json.append([column, function, self._clause_value(t.schema.columns, table, column,
                                                               value)])
        try:
            parse_condition(t.schema, json)
        except OvsdbError as error:
            raise ValueError(f"{table}: bad condition: {error}") from None
        return json

    @staticmethod
    def _clause_value(columns: dict[str, ColumnSchema], table: str, column: str,
                      value: Any) -> Any:
        if column in ("_uuid", "_version"):
            col = ColumnSchema(column, Type(BaseType("uuid")))
        else:
            c = columns.get(column)
            if c is None:
                raise ValueError(f"table {table} has no column {column}")
            col = c
            if not c.type.is_scalar:
                col = ColumnSchema(column, Type(c.type.key, c.type.value, 0, UNLIMITED))
        return datum_to_json(col.type, to_internal(col, value))

    async def set_condition(self, table: str, condition: Condition) -> None:
        """Replicates only the rows of `table` that match (monitor_cond_change when
        connected; the rows that leave or enter arrive as ordinary changes)."""
        json = self.condition_json(table, condition)
        if self._conditions.get(table, [True]) == json:
            return
        self._conditions[table] = json
        rpc = self._rpc
        if rpc is not None and self.is_connected:
            await self._send_conditions(rpc)
        # Otherwise the next monitor request (or the end of the one under way) carries it.

    async def _send_conditions(self, rpc: RpcClient) -> None:
        """Tells the server the conditions it does not have yet."""
        mid = self._monitor_id
        changed = {t: c for t, c in self._conditions.items()
                   if self._acked_conditions.get(t, [True]) != c}
        if not changed or mid is None:
            return
        await rpc.call("monitor_cond_change",
                       [mid, mid, {t: [{"where": c}] for t, c in changed.items()}],
                       timeout=self.request_timeout)
        if self._rpc is rpc:
            self._acked_conditions.update(changed)

    # --- locks ---------------------------------------------------------------------------

    @property
    def lock_name(self) -> str | None:
        return self._lock_name

    async def set_lock(self, name: str | None) -> None:
        """Asks for the named lock (None: gives it up); transactions then assert it.

        `has_lock` says whether we hold it; the server tells us when we get it or lose it.
        """
        if name == self._lock_name:
            return
        old, rpc = self._lock_name, self._rpc
        self._lock_name = name
        self.has_lock = self.is_lock_contended = False
        if rpc is not None and self.is_connected:
            if old is not None:
                with contextlib.suppress(RpcError):
                    await rpc.call("unlock", [old], timeout=self.request_timeout)
            if name is not None:
                await self._request_lock(rpc)
        self._note_change()

    async def _request_lock(self, rpc: RpcClient) -> None:
        name = self._lock_name
        reply = await rpc.call("lock", [name], timeout=self.request_timeout)
        if self._lock_name == name and isinstance(reply, dict):
            if reply.get("locked") is True:
                self.has_lock, self.is_lock_contended = True, False
            elif not self.has_lock:  # a "locked" notification may have come first
                self.is_lock_contended = True

    async def wait_for_lock(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._wait_lock(), timeout)

    async def _wait_lock(self) -> None:
        while not self.has_lock:
            await self.wait_for_change(self.change_seqno)

    # --- transactions --------------------------------------------------------------------

    def transaction(self) -> Transaction:
        return Transaction(self.replica, self._lock_name)

    async def commit(self, txn: Transaction, timeout: float | None = None) -> TxnStatus:
        """Sends the transaction and waits for the server's answer (commit_block).

        TRY_AGAIN when not connected, on a failed verify, or when the connection drops
        before the reply; NOT_LOCKED without the lock; ERROR with `txn.error` set to the
        server's message for anything else that fails.
        """
        try:
            rpc = self._rpc
            if rpc is None or not self.is_connected:
                txn.status = TxnStatus.TRY_AGAIN
            elif self._lock_name is not None and not self.has_lock:
                txn.status = TxnStatus.NOT_LOCKED
            else:
                params = txn.build()
                if params is None:
                    txn.status = TxnStatus.UNCHANGED
                else:
                    txn.status = TxnStatus.INCOMPLETE
                    try:
                        results = await rpc.call("transact", params,
                                                 timeout or self.request_timeout)
                    except RpcError as error:
                        txn.status, txn.error = TxnStatus.ERROR, str(error.error)
                    except TimeoutError:
                        txn.status = TxnStatus.ERROR
                        txn.error = "no reply to transact in time (outcome unknown)"
                    except (ConnectionError, OSError, FramingError, ProtocolError):
                        txn.status = TxnStatus.TRY_AGAIN
                    else:
                        txn.process_reply(results)
        finally:
            txn.close()
        return txn.status

    async def try_transact(self, build: Callable[[Transaction], T],
                           timeout: float | None = None) -> TxnOutcome[T]:
        """One try: build(txn) on the replica as it is, then commit.  A build that raises
        leaves nothing behind (the transaction is aborted) and the exception goes on."""
        txn = self.transaction()
        try:
            value = build(txn)
        except BaseException:
            txn.abort()
            raise
        return TxnOutcome(await self.commit(txn, timeout), value, txn)

    async def transact(
        self,
        build: Callable[[Transaction], T],
        *,
        max_tries: int = 50,
        timeout: float = 60.0,
    ) -> TxnOutcome[T]:
        """Runs build(txn) and commits, again on TRY_AGAIN once the replica has changed (so
        that the retry sees the change that made the last try fail).  Raises
        TransactionError on ERROR or NOT_LOCKED, or when out of tries."""
        deadline = time.monotonic() + timeout
        for _ in range(max_tries):
            await self.wait_synced(max(0.0, deadline - time.monotonic()))
            seqno = self.change_seqno
            out = await self.try_transact(build, max(0.1, deadline - time.monotonic()))
            if out.ok:
                return out
            if out.status is not TxnStatus.TRY_AGAIN:
                raise TransactionError(out.status, out.txn.error)
            await self.wait_for_change(seqno, min(1.0, max(0.0, deadline - time.monotonic())))
        raise TransactionError(TxnStatus.TRY_AGAIN, f"gave up after {max_tries} tries")

    # --- the connection ------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = self.backoff_min
        for remote in itertools.cycle(self.remotes):
            synced = False
            try:
                synced = await self._connection(remote)
            except asyncio.CancelledError:
                raise
            except _CONNECT_ERRORS as error:
                log.warning("%s: %s", remote, error)
            except Exception:
                log.exception("%s: unexpected error", remote)
            finally:
                self._disconnected()
            if synced:
                backoff = self.backoff_min
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _connection(self, remote: str) -> bool:
        """One connection, from connecting until it is lost; True if it got in sync."""
        closed = self._closed = asyncio.Event()
        conn = await asyncio.wait_for(open_connection(remote), self.request_timeout)
        reader = _CountingReader(conn.reader, closed.set)
        conn.reader = cast(asyncio.StreamReader, reader)
        self._reader = reader
        self._buffer = []
        rpc = self._rpc = RpcClient(conn, on_notify=self._on_notify)
        probe: asyncio.Task[None] | None = None
        try:
            server_schema = await rpc.call("get_schema", [self.db_name],
                                           timeout=self.request_timeout)
            requests = self._monitor_requests(server_schema)
            conditions = {t: list(c) for t, c in self._conditions.items()}
            resume = conditions == self._acked_conditions
            since = self.last_txn_id if resume else ZERO_TXN_ID
            mid = self._monitor_id = ["pyovn-idl", next(_monitor_ids)]
            start, before = time.monotonic(), reader.bytes
            reply = await rpc.call("monitor_cond_since", [self.db_name, mid, requests, since],
                                   timeout=self.request_timeout)
            nbytes = reader.bytes - before
            if not (isinstance(reply, list) and len(reply) == 3 and isinstance(reply[0], bool)
                    and isinstance(reply[1], str)):
                raise ReplicaError(f"bad monitor_cond_since reply: {str(reply)[:200]}")
            found, last_id, updates = reply
            try:
                if found:
                    self.replica.apply_update2(updates)
                else:
                    self.replica.replace(updates)
            except ReplicaError:
                self.last_txn_id = ZERO_TXN_ID  # partly applied: only a full resync will do
                raise
            self.last_txn_id = last_id
            self._acked_conditions = conditions
            rows = sum(len(r) for r in updates.values()) if isinstance(updates, dict) else 0
            self.syncs.append(SyncStats(remote, since, found, rows, nbytes,
                                        time.monotonic() - start))
            buffered, self._buffer = self._buffer, None
            for msg in buffered or ():
                self._handle(msg)
            self.remote = remote
            # A condition set while the monitor request was on its way.
            await self._send_conditions(rpc)
            if self._lock_name is not None:
                await self._request_lock(rpc)
            assert self._synced is not None
            self._synced.set()
            self._note_change()
            if self.probe_interval > 0:
                probe = asyncio.get_running_loop().create_task(self._probe(rpc, reader, closed))
            await closed.wait()
            return True
        finally:
            if probe is not None:
                probe.cancel()
            await rpc.close()

    def _disconnected(self) -> None:
        if self._reader is not None:
            self._bytes_before += self._reader.bytes
        self._reader = None
        self._rpc = None
        self._monitor_id = None
        self._buffer = None
        self.remote = None
        self._mark_down()

    async def _probe(self, rpc: RpcClient, reader: _CountingReader, closed: asyncio.Event) -> None:
        """Echo when the server has been quiet for a probe interval; no answer in another
        interval means the connection is dead (as OVS's inactivity probe)."""
        interval = self.probe_interval
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - reader.last_rx < interval:
                continue
            try:
                await rpc.call("echo", [], timeout=interval)
            except (RpcError, TimeoutError, ConnectionError, OSError) as error:
                log.warning("%s: no answer to echo (%s), reconnecting", rpc.conn.peer, error)
                rpc.conn.close()
                closed.set()
                return

    def _monitor_requests(self, server_schema: Any) -> dict[str, Any]:
        """Registered tables and columns the server has (a newer or older schema there
        only narrows what is replicated, as in OVS's IDL)."""
        server_tables = server_schema.get("tables", {}) if isinstance(server_schema, dict) else {}
        requests: dict[str, Any] = {}
        for name, table in self.replica.tables.items():
            stable = server_tables.get(name)
            if not isinstance(stable, dict):
                log.warning("%s: server has no table %s; not replicated", self.db_name, name)
                continue
            scols = stable.get("columns", {})
            columns = [c for c in table.columns if c in scols]
            missing = [c for c in table.columns if c not in scols]
            if missing:
                log.warning("%s: server's %s lacks %s", self.db_name, name, ", ".join(missing))
            request: dict[str, Any] = {"columns": columns}
            cond = self._conditions.get(name)
            if cond is not None and cond != [True]:
                request["where"] = cond
            requests[name] = request
        return requests

    def _on_notify(self, msg: Notification) -> None:
        if self._buffer is not None:
            self._buffer.append(msg)  # before the monitor reply: applied after it
            return
        self._handle(msg)

    def _handle(self, msg: Notification) -> None:
        method, params = msg.method, msg.params
        try:
            if method == "update3" and len(params) == 3 and params[0] == self._monitor_id:
                alert = self.replica.apply_update2(params[2])
                if isinstance(params[1], str):
                    self.last_txn_id = params[1]
                if not alert:
                    return  # only columns set with omit_alert() changed
            elif method == "update2" and len(params) == 2 and params[0] == self._monitor_id:
                if not self.replica.apply_update2(params[1]):
                    return
            elif method == "locked" and params == [self._lock_name]:
                self.has_lock, self.is_lock_contended = True, False
            elif method == "stolen" and params == [self._lock_name]:
                self.has_lock, self.is_lock_contended = False, True
            else:
                return
        except ReplicaError as error:
            # The replica may have missed part of this update: start again from scratch.
            log.error("%s: %s; resynchronising", self.db_name, error)
            self.last_txn_id = ZERO_TXN_ID
            self.force_reconnect()
        self._note_change()
