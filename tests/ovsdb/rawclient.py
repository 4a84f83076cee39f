"""Test helpers: a pyovn ovsdb-server in a temp dir, and a raw JSON-RPC client over a unix
socket that can send any bytes and reads replies blocking."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"


@contextlib.contextmanager
def pyovn_server(
    name: str, schema: str = NB_SCHEMA, extra: tuple[str, ...] = ()
) -> Iterator[tuple[str, str]]:
    """Runs `pyovn ovsdb-server` on a fresh database; yields (socket path, database file)."""
    with tempfile.TemporaryDirectory(prefix=f"pyovn-{name}-{os.getpid()}-") as tmp:
        db = os.path.join(tmp, "db")
        sock = os.path.join(tmp, "db.sock")
        subprocess.run(["ovsdb-tool", "create", db, schema], check=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyovn", "ovsdb-server", f"--remote=punix:{sock}",
             f"--unixctl={tmp}/db.ctl", "-vconsole:off", *extra, db],
        )
        try:
            for _ in range(200):
                if os.path.exists(sock) or proc.poll() is not None:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "pyovn ovsdb-server exited at startup"
            yield sock, db
        finally:
            proc.terminate()
            proc.wait(10)


class Client:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self.decoder = json.JSONDecoder()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, method: str, params: Any, id_: Any = 1) -> dict[str, Any]:
        self.send_raw(json.dumps({"method": method, "params": params, "id": id_}).encode())
        return self.recv()

    def recv(self) -> dict[str, Any]:
        while True:
            text = self.buf.decode(errors="replace").lstrip()
            if text:
                try:
                    obj, end = self.decoder.raw_decode(text)
                    self.buf = text[end:].encode()
                    return obj  # type: ignore[no-any-return]
                except json.JSONDecodeError:
                    pass
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data

    def is_closed_by_peer(self) -> bool:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()
