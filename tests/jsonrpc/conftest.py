"""Fixtures for the jsonrpc tests: temp dirs and a real ovsdb-server."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

_counter = itertools.count()


def unique_dir(tag: str) -> str:
    # Short, because unix socket paths are limited to 107 bytes.
    return tempfile.mkdtemp(prefix=f"pyovn-{tag}-{os.getpid()}-{next(_counter)}-", dir="/tmp")


@pytest.fixture
def tmpdir_short() -> Iterator[str]:
    d = unique_dir("t")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@dataclass
class OvsdbServer:
    dir: str
    db_sock: str
    ctl_sock: str
    pid: int


def wait_for(path: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.02)


@pytest.fixture
def ovsdb_server() -> Iterator[OvsdbServer]:
    if shutil.which("ovsdb-server") is None or shutil.which("ovsdb-tool") is None:
        pytest.skip("ovsdb-server not installed")
    d = unique_dir("ovsdb")
    db = os.path.join(d, "conf.db")
    subprocess.run(
        ["ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"], check=True
    )
    db_sock = os.path.join(d, "db.sock")
    ctl_sock = os.path.join(d, "ovsdb-server.ctl")
    proc = subprocess.Popen(
        ["ovsdb-server", db, f"--remote=punix:{db_sock}", f"--unixctl={ctl_sock}",
         "--no-chdir", f"--log-file={d}/ovsdb-server.log", "-vconsole:off"],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(db_sock)
        wait_for(ctl_sock)
        yield OvsdbServer(d, db_sock, ctl_sock, proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)
