"""Where the server listens: --remote options, including remotes kept in the database.

"db:DB,TABLE,COLUMN" names a column whose values are remotes (strings) or references to rows
with a "target" column (and optionally "inactivity_probe"), as OVN's Connection tables are.
The set of listeners follows the database: `ovn-nbctl set-connection ptcp:6641` takes effect
at once, as with ovsdb-server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pyovn.jsonrpc.connection import Connection, parse_remote, start_server
from pyovn.jsonrpc.stream import FramingError
from pyovn.ovsdb.server import Server, Session

log = logging.getLogger("pyovn.ovsdb.remotes")

DEFAULT_PROBE_MS = 5000  # for TCP; unix sockets are not probed, as in ovsdb-server


def check_remote(remote: str) -> None:
    """Raises ValueError for a remote that can never work."""
    if remote.startswith("db:"):
        parts = remote[3:].split(",")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f'"{remote}": bad remote syntax (want "db:DB,TABLE,COLUMN")')
        return
    parse_remote(remote)


@dataclass(frozen=True)
class Target:
    remote: str
    probe_ms: int | None  # None: the default


class Listener:
    """Serves one passive remote; for TCP, with the inactivity probe."""

    def __init__(self, server: Server, target: Target, max_size: int) -> None:
        self.server = server
        self.target = target
        kind = parse_remote(target.remote).kind
        probe_ms = target.probe_ms if target.probe_ms is not None else DEFAULT_PROBE_MS
        self.probe = probe_ms / 1000.0 if kind == "ptcp" else 0.0
        self.max_size = max_size
        self.aserver: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.aserver = await start_server(self.target.remote, self.handle,
                                          max_size=self.max_size)

    async def handle(self, conn: Connection) -> None:
        session = Session(self.server, conn)
        self.server.sessions[session] = None
        try:
            if self.probe > 0:
                await self._run_probed(session)
            else:
                await session.run()
        finally:
            self.server.sessions.pop(session, None)
            session.close()

    async def _run_probed(self, session: Session) -> None:
        conn = session.conn
        probing = False
        while True:
            try:
                msg = await asyncio.wait_for(conn.recv(), self.probe)
            except TimeoutError:
                if probing:
                    log.warning("%s: no response to inactivity probe after %.3g seconds, "
                                "disconnecting", conn.peer, self.probe)
                    return
                session.send({"id": "echo", "method": "echo", "params": []})
                probing = True
                continue
            except FramingError as error:
                log.warning("%s: %s, closing connection", conn.peer, error)
                return
            if msg is None:
                return
            probing = False
            if not session.handle(msg):
                return
            if conn.backlog > 16 * 1024 * 1024:
                await conn.drain()

    def close(self) -> None:
        if self.aserver is not None:
            self.aserver.close()


class Remotes:
    def __init__(self, server: Server, probe_ms: int | None, max_size: int) -> None:
        self.server = server
        self.probe_ms = probe_ms
        self.max_size = max_size
        self.configured: list[str] = []
        self.listeners: dict[Target, Listener] = {}
        self._pending: asyncio.Task[None] | None = None
        server.commit_hooks.append(self._on_commit)

    def add(self, remote: str) -> None:
        check_remote(remote)
        if remote not in self.configured:
            self.configured.append(remote)

    def remove(self, remote: str) -> bool:
        if remote not in self.configured:
            return False
        self.configured.remove(remote)
        return True

    def wanted(self) -> set[Target]:
        targets: set[Target] = set()
        for remote in self.configured:
            if remote.startswith("db:"):
                targets.update(self._from_db(remote))
            else:
                targets.add(Target(remote, self.probe_ms))
        return targets

    def _from_db(self, remote: str) -> set[Target]:
        db_name, table_name, column_name = remote[3:].split(",")
        state = self.server.dbs.get(db_name)
        table = state.db.tables.get(table_name) if state else None
        column = table.schema.columns.get(column_name) if table else None
        if state is None or table is None or column is None:
            log.warning("%s: no such database, table or column", remote)
            return set()
        targets: set[Target] = set()
        ref_table = column.type.key.ref_table
        for row in table.rows.values():
            value = row.data[column_name]
            atoms = (value,) if column.type.is_scalar else value
            for atom in atoms:
                if ref_table is None:
                    targets.add(Target(str(atom), self.probe_ms))
                    continue
                target_row = state.db.get_row(ref_table, atom)
                if target_row is None or "target" not in target_row.data:
                    continue
                probe = target_row.data.get("inactivity_probe", ())
                probe_ms = probe[0] if isinstance(probe, tuple) and probe else self.probe_ms
                targets.add(Target(str(target_row.data["target"]), probe_ms))
        return targets

    async def reconcile(self) -> None:
        wanted = self.wanted()
        for target in list(self.listeners):
            if target not in wanted:
                self.listeners.pop(target).close()
                log.info("%s: stopped listening", target.remote)
        for target in wanted - set(self.listeners):
            try:
                kind = parse_remote(target.remote).kind
            except ValueError as error:
                log.warning("%s: %s", target.remote, error)
                continue
            if kind not in ("punix", "ptcp"):
                log.warning("%s: active remotes are not supported; listening only",
                            target.remote)
                continue
            listener = Listener(self.server, target, self.max_size)
            try:
                await listener.start()
            except OSError as error:
                log.error("%s: listen failed: %s", target.remote, error.strerror or error)
                continue
            self.listeners[target] = listener
            log.info("%s: listening", target.remote)

    def _on_commit(self, db_name: str) -> None:
        if not any(r.startswith(f"db:{db_name},") for r in self.configured):
            return
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self.reconcile())

    def close(self) -> None:
        for listener in self.listeners.values():
            listener.close()
        self.listeners.clear()
