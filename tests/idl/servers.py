"""Servers for the IDL tests and bench: the real ovsdb-server or pyovn's, each in its own temp
dir, stopped by pid; and a unix-socket proxy that can cut a client off without touching the
server (how a client is made to miss updates while the server keeps its history)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
TEST_SCHEMA = str(Path(__file__).with_name("idltest.ovsschema"))
SERVER_CMDS = {
    "real": ["ovsdb-server"],
    "pyovn": [str(ROOT / ".venv" / "bin" / "pyovn"), "ovsdb-server"],
}
KINDS = ("real", "pyovn")

_counter = itertools.count()


def missing_tools(kind: str) -> str | None:
    if shutil.which("ovsdb-tool") is None:
        return "ovsdb-tool is not installed"
    if kind == "real" and shutil.which("ovsdb-server") is None:
        return "ovsdb-server is not installed"
    if kind == "pyovn" and not Path(SERVER_CMDS["pyovn"][0]).exists():
        return "pyovn is not installed in .venv"
    return None


class DbServer:
    """One OVSDB server on a unix socket in a fresh temp dir."""

    def __init__(self, kind: str, schema: str = TEST_SCHEMA, tag: str = "idl") -> None:
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"pyovn-{tag}-{kind}-{os.getpid()}-"
                                                f"{next(_counter)}-"))
        self.db = str(self.dir / "db")
        self.sock = str(self.dir / "db.sock")
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(["ovsdb-tool", "create", self.db, schema], check=True,
                       capture_output=True)
        self.start()

    @property
    def remote(self) -> str:
        return f"unix:{self.sock}"

    def start(self) -> None:
        with open(self.dir / "server.out", "ab") as out:
            self.proc = subprocess.Popen(
                [*SERVER_CMDS[self.kind], "-vconsole:off", "--no-chdir",
                 f"--log-file={self.dir / 'server.log'}", f"--remote=punix:{self.sock}",
                 f"--unixctl={self.dir / 'server.ctl'}", self.db],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} ovsdb-server exited: {self.log()}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(self.sock)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} ovsdb-server did not start: {self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        parts = []
        for name in ("server.out", "server.log"):
            p = self.dir / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """Forwards a unix socket to a server's; cut() drops every client and stops listening,
    restore() listens again."""

    def __init__(self, target: str, directory: Path) -> None:
        self.target = target
        self.path = str(directory / f"proxy-{next(_counter)}.sock")
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def remote(self) -> str:
        return f"unix:{self.path}"

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.server = await asyncio.start_unix_server(self._client, self.path)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ureader, uwriter = await asyncio.open_unix_connection(self.target)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, uwriter))
        pumps = [asyncio.ensure_future(self._pump(reader, uwriter)),
                 asyncio.ensure_future(self._pump(ureader, writer))]
        self.tasks.update(pumps)
        with contextlib.suppress(asyncio.CancelledError):  # the loop ending: not an error
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for t in pumps:
            t.cancel()
        for w in (writer, uwriter):
            w.close()
            self.writers.discard(w)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.close()
        self.writers.clear()
        for t in list(self.tasks):
            t.cancel()
        self.tasks.clear()
        await asyncio.sleep(0)

    async def restore(self) -> None:
        await self.start()
