"""asyncio JSON-RPC connections, OVS-style remotes, and a small request/response client.

Remote syntax follows ovsdb-server(1): active "unix:PATH", "tcp:IP[:PORT]"; passive
"punix:PATH", "ptcp:[PORT][:IP]".  IPv6 addresses go in brackets.  The default port is
6640 (IANA's OVSDB port), the default listening address 0.0.0.0, as in OVS.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import os
import socket
import stat
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from pyovn.jsonrpc.message import (
    ErrorReply,
    Notification,
    ProtocolError,
    Reply,
    Request,
    classify,
)
from pyovn.jsonrpc.stream import DEFAULT_MAX_SIZE, FramingError, JsonSplitter

__all__ = [
    "OVSDB_PORT",
    "READ_SIZE",
    "Connection",
    "Remote",
    "RemoteError",
    "RpcClient",
    "RpcError",
    "open_connection",
    "parse_remote",
    "start_server",
]

log = logging.getLogger("pyovn.jsonrpc")

OVSDB_PORT = 6640
READ_SIZE = 256 * 1024

_unix_conn_counter = itertools.count(1)


class RemoteError(ValueError):
    """A connection method string that cannot be used."""


@dataclass(frozen=True, slots=True)
class Remote:
    """A parsed connection method.  kind is "unix", "tcp", "punix" or "ptcp"."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 0

    @property
    def passive(self) -> bool:
        return self.kind.startswith("p")

    def __str__(self) -> str:
        if self.kind in ("unix", "punix"):
            return f"{self.kind}:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.kind == "tcp":
            return f"tcp:{host}:{self.port}"
        return f"ptcp:{self.port}:{host}"


def _parse_host(text: str, remote: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise RemoteError(f"{remote}: unterminated '[' in IPv6 address")
        text = text[1:-1]
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise RemoteError(f"{remote}: {text!r} is not an IPv6 address") from None
        return text
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        hint = " (put IPv6 addresses in brackets)" if ":" in text else ""
        raise RemoteError(f"{remote}: {text!r} is not an IP address{hint}") from None
    return text


def _parse_port(text: str, remote: str, passive: bool) -> int:
    if text == "":
        return OVSDB_PORT
    if not text.isdigit():
        raise RemoteError(f"{remote}: bad port number {text!r}")
    port = int(text)
    if port > 65535 or (port == 0 and not passive):
        raise RemoteError(f"{remote}: port {port} out of range")
    return port


def _split_host_port(text: str, remote: str) -> tuple[str, str]:
    """Splits "HOST[:PORT]" where HOST may be a bracketed IPv6 address."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise RemoteError(f"{remote}: unterminated '[' in IPv6 address")
        host, rest = text[: close + 1], text[close + 1 :]
        if rest and not rest.startswith(":"):
            raise RemoteError(f"{remote}: unexpected {rest!r} after address")
        return host, rest[1:]
    if text.count(":") > 1:
        raise RemoteError(f"{remote}: put IPv6 addresses in brackets, as in tcp:[::1]:6640")
    host, _, port = text.partition(":")
    return host, port


def parse_remote(remote: str) -> Remote:
    """Parses an OVS connection method; raises RemoteError with a message naming it."""
    kind, sep, rest = remote.partition(":")
    if not sep:
        raise RemoteError(
            f"{remote}: not a connection method (expected unix:PATH, tcp:IP[:PORT], "
            "punix:PATH or ptcp:[PORT][:IP])"
        )
    if kind in ("unix", "punix"):
        if not rest:
            raise RemoteError(f"{remote}: missing socket file name")
        return Remote(kind, path=rest)
    if kind == "tcp":
        host, port = _split_host_port(rest, remote)
        if not host:
            raise RemoteError(f"{remote}: missing IP address")
        return Remote("tcp", host=_parse_host(host, remote), port=_parse_port(port, remote, False))
    if kind == "ptcp":
        port, sep, host = rest.partition(":")
        if sep and not host:
            raise RemoteError(f"{remote}: missing IP address after ':'")
        return Remote(
            "ptcp",
            host=_parse_host(host, remote) if host else "0.0.0.0",
            port=_parse_port(port, remote, True),
        )
    if kind in ("ssl", "pssl"):
        raise RemoteError(f"{remote}: SSL connections are not supported by pyovn")
    raise RemoteError(f"{remote}: unknown connection method {kind!r}")


def _peer_name(writer: asyncio.StreamWriter, fallback: str) -> str:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        peer = writer.get_extra_info("peername")
        if peer:
            host = f"[{peer[0]}]" if sock.family == socket.AF_INET6 else peer[0]
            return f"tcp:{host}:{peer[1]}"
    return fallback


class Connection:
    """One JSON-RPC stream.  recv() decodes, send() encodes; framing errors propagate."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.peer = peer if peer is not None else _peer_name(writer, "unix")
        self._splitter = JsonSplitter(max_size)
        self._pending: deque[object] = deque()
        self._eof = False

    def __repr__(self) -> str:
        return f"<Connection {self.peer}>"

    async def recv(self) -> object | None:
        """The next decoded JSON value, or None at end of stream.

        Raises FramingError on bad input, including a stream that ends mid-message.
        """
        while not self._pending:
            if self._eof:
                return None
            if self._splitter.error is not None:
                raise self._splitter.error
            data = await self.reader.read(READ_SIZE)
            if not data:
                self._eof = True
                if self._splitter.has_partial():
                    raise FramingError(f"{self.peer}: connection closed in the middle of a message")
                return None
            self._pending.extend(self._splitter.feed(data))
        return self._pending.popleft()

    async def recv_msg(self) -> Request | Notification | Reply | ErrorReply | None:
        """Like recv() but classified; raises ProtocolError for non-JSON-RPC values."""
        obj = await self.recv()
        return None if obj is None else classify(obj)

    def send(self, obj: Any) -> None:
        """Queues `obj` for sending; silently dropped once the connection is closing."""
        self.send_bytes(orjson.dumps(obj))

    def send_bytes(self, data: bytes) -> None:
        """Queues an already-serialised message (handy when broadcasting one update)."""
        if not self.writer.is_closing():
            self.writer.write(data)

    @property
    def backlog(self) -> int:
        """Bytes queued but not yet accepted by the kernel."""
        transport = self.writer.transport
        return 0 if transport.is_closing() else transport.get_write_buffer_size()

    async def drain(self) -> None:
        await self.writer.drain()

    def is_closing(self) -> bool:
        return self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            await self.writer.wait_closed()


async def open_connection(remote: str, max_size: int = DEFAULT_MAX_SIZE) -> Connection:
    """Connects to an active remote ("unix:PATH", "tcp:IP[:PORT]")."""
    r = parse_remote(remote)
    if r.passive:
        raise RemoteError(f"{remote}: passive connection method where an active one is needed")
    if r.kind == "unix":
        reader, writer = await asyncio.open_unix_connection(r.path, limit=READ_SIZE)
    else:
        reader, writer = await asyncio.open_connection(r.host, r.port, limit=READ_SIZE)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Connection(reader, writer, peer=str(r), max_size=max_size)


async def start_server(
    remote: str,
    handler: Callable[[Connection], Awaitable[None]],
    max_size: int = DEFAULT_MAX_SIZE,
) -> asyncio.AbstractServer:
    """Listens on a passive remote ("punix:PATH", "ptcp:[PORT][:IP]").

    `handler` owns each connection; it is closed when the handler returns or raises.
    Port 0 picks a free port (read it from server.sockets).
    """
    r = parse_remote(remote)
    if not r.passive:
        raise RemoteError(f"{remote}: active connection method where a passive one is needed")

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fallback = f"unix#{next(_unix_conn_counter)}"
        conn = Connection(reader, writer, peer=_peer_name(writer, fallback), max_size=max_size)
        try:
            await handler(conn)
        except (ConnectionError, FramingError, ProtocolError) as exc:
            log.warning("%s: %s", conn.peer, exc)
        except Exception:
            log.exception("%s: connection handler failed", conn.peer)
        finally:
            conn.close()
            await conn.wait_closed()

    if r.kind == "punix":
        _remove_stale_socket(r.path)
        return await asyncio.start_unix_server(on_client, r.path, limit=READ_SIZE)
    server = await asyncio.start_server(on_client, r.host, r.port, limit=READ_SIZE)
    for sock in server.sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


def _remove_stale_socket(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise RemoteError(f"punix:{path}: file exists and is not a socket")
    os.unlink(path)


class RpcError(Exception):
    """The peer answered a request with an error reply; `error` is its error member."""

    def __init__(self, error: Any) -> None:
        super().__init__(error)
        self.error = error


class RpcClient:
    """Request/response over a Connection, for tools and tests.

    Replies are matched to calls by id.  Notifications go to `on_notify` if given,
    else to the `notifications` queue.  The peer's "echo" requests (ovsdb-server's
    inactivity probe) are answered automatically; other requests get an error reply.
    """

    def __init__(
        self,
        conn: Connection,
        on_notify: Callable[[Notification], None] | None = None,
    ) -> None:
        self.conn = conn
        self.on_notify = on_notify
        self.notifications: asyncio.Queue[Notification] = asyncio.Queue()
        self._ids = itertools.count()
        self._calls: dict[Any, asyncio.Future[Any]] = {}
        self._closed_exc: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    @classmethod
    async def connect(
        cls, remote: str, on_notify: Callable[[Notification], None] | None = None
    ) -> RpcClient:
        return cls(await open_connection(remote), on_notify)

    async def call(self, method: str, params: list[Any], timeout: float | None = None) -> Any:
        """Sends a request and returns its result; raises RpcError for an error reply."""
        if self._closed_exc is not None:
            raise ConnectionError(f"{self.conn.peer}: connection closed") from self._closed_exc
        id_ = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[id_] = fut
        try:
            self.conn.send({"method": method, "params": params, "id": id_})
            await self.conn.drain()
            if timeout is None:
                return await fut
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._calls.pop(id_, None)

    def notify(self, method: str, params: list[Any]) -> None:
        self.conn.send({"method": method, "params": params, "id": None})

    async def _read_loop(self) -> None:
        exc: BaseException = ConnectionError(f"{self.conn.peer}: connection closed by peer")
        try:
            while True:
                msg = await self.conn.recv_msg()
                if msg is None:
                    break
                if isinstance(msg, Reply | ErrorReply):
                    fut = self._calls.get(msg.id)
                    if fut is not None and not fut.done():
                        if isinstance(msg, Reply):
                            fut.set_result(msg.result)
                        else:
                            fut.set_exception(RpcError(msg.error))
                elif isinstance(msg, Notification):
                    if self.on_notify is not None:
                        self.on_notify(msg)
                    else:
                        self.notifications.put_nowait(msg)
                elif msg.method == "echo":
                    self.conn.send({"result": msg.params, "error": None, "id": msg.id})
                else:
                    self.conn.send({"result": None, "error": "unknown method", "id": msg.id})
        except asyncio.CancelledError:
            exc = ConnectionError(f"{self.conn.peer}: client closed")
            raise
        except (OSError, FramingError, ProtocolError) as e:
            exc = e
        finally:
            self._closed_exc = exc
            for fut in self._calls.values():
                if not fut.done():
                    fut.set_exception(exc)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.conn.close()
        await self.conn.wait_closed()

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
