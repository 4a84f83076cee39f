"""The OVS "unixctl" control socket, server and client.

Wire format as in Open vSwitch's lib/unixctl.c: JSON-RPC over a unix socket, the
request's method is the command name and its params are strings; the reply's result
(success) or error (failure) is a string ending in a newline.  The real ovs-appctl
talks to a UnixctlServer, and `pyovn appctl` talks to real OVS daemons.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pyovn import __version__
from pyovn.jsonrpc.connection import Connection, open_connection, start_server
from pyovn.jsonrpc.message import ErrorReply, Reply, Request
from pyovn.jsonrpc.vlog import Vlog, VlogError

__all__ = [
    "UnixctlError",
    "UnixctlHandler",
    "UnixctlServer",
    "default_rundir",
    "resolve_path",
    "unixctl_call",
]

log = logging.getLogger("pyovn.unixctl")

UnixctlHandler = Callable[[list[str]], str | Awaitable[str]]

INT_MAX = 2**31 - 1


class UnixctlError(Exception):
    """Raised by a command handler to send an error reply; raised by unixctl_call() when
    the daemon replied with an error."""


def default_rundir() -> str:
    return os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")


def resolve_path(path: str, rundir: str | None = None) -> str:
    """A relative control socket name lives in the rundir (OVS's abs_file_name)."""
    if path.startswith("/"):
        return path
    return os.path.join(rundir if rundir is not None else default_rundir(), path)


@dataclass(frozen=True, slots=True)
class _Command:
    usage: str
    min_args: int
    max_args: int
    handler: UnixctlHandler


class UnixctlServer:
    """A control socket with OVS's built-in commands plus the ones registered.

    Built-ins: list-commands (alias help), version, and, given a Vlog, vlog/set,
    vlog/list, vlog/list-pattern, vlog/reopen, vlog/close.
    """

    def __init__(
        self,
        program_name: str = "pyovn",
        version: str | None = None,
        vlog: Vlog | None = None,
    ) -> None:
        self.program_name = program_name
        self.version = version or f"{program_name} (pyovn) {__version__}"
        self.vlog = vlog
        self.path: str | None = None
        self._server: asyncio.AbstractServer | None = None
        self._commands: dict[str, _Command] = {}
        self.register("list-commands", 0, 0, "", self._list_commands)
        self.register("help", 0, 0, "", self._list_commands)
        self.register("version", 0, 0, "", lambda args: self.version)
        if vlog is not None:
            self.register("vlog/set", 0, INT_MAX, "{spec | PATTERN:destination:pattern}",
                          self._vlog_set)
            self.register("vlog/list", 0, 0, "", lambda args: vlog.list_levels())
            self.register("vlog/list-pattern", 0, 0, "", lambda args: vlog.list_patterns())
            self.register("vlog/reopen", 0, 0, "", self._vlog_reopen)
            self.register("vlog/close", 0, 0, "", self._vlog_close)

    def register(
        self, name: str, min_args: int, max_args: int, usage: str, handler: UnixctlHandler
    ) -> None:
        """Adds command `name` taking min_args..max_args string arguments.

        `handler(args)` gets the arguments (not the command name) and returns the reply
        text, directly or as an awaitable; it raises UnixctlError for an error reply.
        Registering a name again replaces the command.
        """
        if min_args < 0 or max_args < min_args:
            raise ValueError(f"{name}: bad argument counts {min_args}..{max_args}")
        self._commands[name] = _Command(usage, min_args, max_args, handler)

    def commands(self) -> list[str]:
        return sorted(self._commands)

    async def start(self, path: str | None = None) -> str:
        """Listens on `path` (relative: in the rundir; None: <rundir>/<program>.<pid>.ctl).

        Returns the socket's path.
        """
        if path is None:
            path = f"{self.program_name}.{os.getpid()}.ctl"
        self.path = resolve_path(path)
        self._server = await start_server(f"punix:{self.path}", self._serve)
        return self.path

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    async def run_command(self, method: str, params: list[object]) -> tuple[bool, str]:
        """Runs one request as the socket would; returns (success, reply body)."""
        cmd = self._commands.get(method)
        if cmd is None:
            return False, (f'"{method}" is not a valid command (use "list-commands" to see '
                           "a list of valid commands)")
        if len(params) < cmd.min_args:
            return False, f'"{method}" command requires at least {cmd.min_args} arguments'
        if len(params) > cmd.max_args:
            return False, f'"{method}" command takes at most {cmd.max_args} arguments'
        args: list[str] = []
        for p in params:
            if not isinstance(p, str):
                return False, f'"{method}" command has non-string argument'
            args.append(p)
        try:
            result = cmd.handler(args)
            if inspect.isawaitable(result):
                result = await result
        except UnixctlError as exc:
            return False, str(exc)
        except Exception as exc:
            log.exception("unixctl command %s failed", method)
            return False, f"{method}: internal error: {exc}"
        return True, str(result) if result is not None else ""

    async def _serve(self, conn: Connection) -> None:
        # One request at a time per connection, as in OVS.
        while True:
            msg = await conn.recv_msg()
            if msg is None:
                return
            if not isinstance(msg, Request):
                log.warning("%s: received unexpected %s message", conn.peer, msg.kind)
                return
            ok, body = await self.run_command(msg.method, msg.params)
            if body and not body.endswith("\n"):
                body += "\n"
            if ok:
                conn.send({"result": body, "error": None, "id": msg.id})
            else:
                conn.send({"result": None, "error": body, "id": msg.id})
            await conn.drain()

    def _list_commands(self, args: list[str]) -> str:
        lines = ["The available commands are:\n"]
        for name in sorted(self._commands):
            lines.append(f"  {name:<23} {self._commands[name].usage}\n")
        return "".join(lines)

    def _vlog_set(self, args: list[str]) -> str:
        assert self.vlog is not None
        try:
            if not args:
                self.vlog.set_level(None, None, "dbg")
            for spec in args:
                self.vlog.set_levels_from_string(spec)
        except VlogError as exc:
            raise UnixctlError(str(exc)) from None
        return ""

    def _vlog_reopen(self, args: list[str]) -> str:
        assert self.vlog is not None
        if self.vlog.log_file is None:
            raise UnixctlError("Logging to file not configured")
        try:
            self.vlog.reopen_log_file()
        except OSError as exc:
            raise UnixctlError(f"could not reopen log file: {exc.strerror}") from None
        return ""

    def _vlog_close(self, args: list[str]) -> str:
        assert self.vlog is not None
        self.vlog.close_log_file()
        return ""


async def unixctl_call(
    path: str, cmd: str, args: list[str], timeout: float | None = None
) -> str:
    """Runs `cmd` on the daemon listening on control socket `path` (relative: in the
    rundir) and returns its output.

    Raises UnixctlError for an error reply, OSError if the socket cannot be reached or
    the connection breaks, TimeoutError after `timeout` seconds.
    """
    async def transact() -> str:
        conn = await open_connection(f"unix:{resolve_path(path)}")
        try:
            conn.send({"method": cmd, "params": args, "id": 0})
            await conn.drain()
            while True:
                msg = await conn.recv_msg()
                if msg is None:
                    raise ConnectionResetError(f"{conn.peer}: connection closed by peer")
                if isinstance(msg, Reply | ErrorReply) and msg.id == 0:
                    break
            if isinstance(msg, ErrorReply):
                if not isinstance(msg.error, str):
                    raise ConnectionError(f"{conn.peer}: unexpected error type in JSON RPC "
                                          f"reply: {type(msg.error).__name__}")
                raise UnixctlError(msg.error)
            if not isinstance(msg.result, str):
                raise ConnectionError(f"{conn.peer}: unexpected result type in JSON RPC "
                                      f"reply: {type(msg.result).__name__}")
            return msg.result
        finally:
            conn.close()
            await conn.wait_closed()

    if timeout is None:
        return await transact()
    return await asyncio.wait_for(transact(), timeout)
