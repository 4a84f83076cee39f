"""Process fixtures for the integration tests: OVSDB servers (real or pyovn) and the real
ovn-northd in a temp dir, real clients run against them, and text normalisation for comparing
what two deployments print.

Only processes started here are stopped, by pid.  Which server stands for "pyovn" comes from
``INTEGRATION_SERVER=pyovn|real`` (default pyovn); ``real`` runs every comparison real against
real, a sanity check of the tests themselves.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
PYOVN_SERVER_MODULE = ROOT / "pyovn" / "ovsdb" / "server_main.py"
SERVER_CMDS: dict[str, list[str]] = {
    "real": ["ovsdb-server"],
    "pyovn": [str(ROOT / ".venv" / "bin" / "pyovn"), "ovsdb-server"],
}
TOOLS = ("ovsdb-server", "ovsdb-tool", "ovsdb-client", "ovn-nbctl", "ovn-sbctl", "ovn-northd",
         "ovs-appctl")
START_TIMEOUT = 30.0
CMD_TIMEOUT = 60.0

_counter = itertools.count()


def under_test() -> str:
    """The server compared with the real one: "pyovn" unless INTEGRATION_SERVER=real."""
    kind = os.environ.get("INTEGRATION_SERVER", "pyovn")
    if kind not in SERVER_CMDS:
        raise ValueError(f"INTEGRATION_SERVER must be pyovn or real, not {kind!r}")
    return kind


def require_tools(*extra: str) -> None:
    missing = [t for t in (*TOOLS, *extra) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"real OVN/OVS tools missing: {' '.join(missing)} (run scripts/setup.sh)")


def require_server(kind: str) -> None:
    if kind == "pyovn" and not PYOVN_SERVER_MODULE.exists():
        pytest.skip(f"pyovn's ovsdb-server is not written yet ({PYOVN_SERVER_MODULE} missing)")


def unique(tag: str) -> str:
    return f"{tag}-{os.getpid()}-{next(_counter)}"


class ProcError(RuntimeError):
    pass


class Procs:
    """A temp dir and the processes started in it."""

    def __init__(self, tag: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"pyovn-it-{unique(tag)}-"))
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
              netns: str | None = None) -> subprocess.Popen[bytes]:
        full = [*(("ip", "netns", "exec", netns) if netns else ()), *argv]
        with open(self.path(f"{name}.out"), "ab") as out:
            pr = subprocess.Popen(full, env={**os.environ, **(env or {})},
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append((name, pr))
        return pr

    def logs(self, name: str) -> str:
        """The tail of a component's log and captured output, for failure messages."""
        parts = [f"--- {n} exited with {pr.returncode}" for n, pr in self.procs
                 if n == name and pr.poll() is not None]
        for suffix in (".log", ".out"):
            p = self.dir / f"{name}{suffix}"
            if p.exists():
                parts.append(f"--- {p}:\n{p.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def dead(self) -> list[str]:
        return [f"{n} (exit {pr.returncode})" for n, pr in self.procs if pr.poll() is not None]

    def stop(self, remove: bool = True) -> None:
        for _, pr in reversed(self.procs):
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, pr in self.procs:
            try:
                pr.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
        self.procs.clear()
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_socket(path: str, pr: subprocess.Popen[bytes], what: str, procs: Procs) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if pr.poll() is not None:
            raise ProcError(f"{what} exited with {pr.returncode}\n{procs.logs(what)}")
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except OSError:
                pass
            finally:
                s.close()
        if time.monotonic() > deadline:
            raise ProcError(f"{what} did not open {path}\n{procs.logs(what)}")
        time.sleep(0.02)


def run(argv: Sequence[str], check: bool = False, timeout: float = CMD_TIMEOUT,
        env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    if check and r.returncode != 0:
        raise ProcError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


class Central(Procs):
    """NB and SB OVSDB servers of one kind, optionally with the real ovn-northd between them."""

    def __init__(self, kind: str, northd: bool = False, tag: str = "central") -> None:
        super().__init__(f"{tag}-{kind}")
        self.kind = kind
        self.nb = self.path("nb.sock")
        self.sb = self.path("sb.sock")
        try:
            for name, schema in (("nb", NB_SCHEMA), ("sb", SB_SCHEMA)):
                db = self.path(f"{name}.db")
                run(["ovsdb-tool", "create", db, schema], check=True)
                pr = self.start(name, [
                    *SERVER_CMDS[kind], "-vconsole:off", "--no-chdir",
                    f"--pidfile={self.path(name + '.pid')}",
                    f"--log-file={self.path(name + '.log')}",
                    f"--remote=punix:{self.path(name + '.sock')}",
                    f"--unixctl={self.path(name + '.ctl')}", db])
                wait_socket(self.path(name + ".sock"), pr, name, self)
            if northd:
                self.start("northd", [
                    "ovn-northd", "-vconsole:off", "--no-chdir",
                    f"--pidfile={self.path('northd.pid')}",
                    f"--log-file={self.path('northd.log')}",
                    f"--unixctl={self.path('northd.ctl')}",
                    f"--ovnnb-db=unix:{self.nb}", f"--ovnsb-db=unix:{self.sb}"],
                    env={"OVN_RUNDIR": str(self.dir)})
        except BaseException:
            self.stop()
            raise

    def nbctl(self, *args: str, timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return run(["ovn-nbctl", f"--db=unix:{self.nb}", *args], timeout=timeout)

    def sbctl(self, *args: str, timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return run(["ovn-sbctl", f"--db=unix:{self.sb}", *args], timeout=timeout)

    def client(self, cmd: str, *args: str, db: str = "nb") -> subprocess.CompletedProcess[str]:
        sock = self.nb if db == "nb" else self.sb
        return run(["ovsdb-client", cmd, f"unix:{sock}", *args])

    def sync(self, timeout: int = 30) -> subprocess.CompletedProcess[str]:
        return self.nbctl("--wait=sb", f"--timeout={timeout}", "sync", timeout=timeout + 10)


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# ovsdb-client prints row UUIDs abbreviated to their first 8 hex digits in some tables.
SHORT_UUID_RE = re.compile(r"\b[0-9a-f]{8}\b")


def norm(text: str) -> str:
    """Replace UUIDs (which differ between servers) with a placeholder."""
    return UUID_RE.sub("<uuid>", text)


def lines(text: str) -> list[str]:
    """Normalised lines as a sorted list: for outputs whose row order follows UUID hashes."""
    return sorted(norm(text).splitlines())


def records(text: str) -> list[str]:
    """``ovn-nbctl list``-style output (records separated by blank lines), normalised and
    sorted, each record kept whole."""
    recs = [r.strip("\n") for r in norm(text).split("\n\n")]
    return sorted(r for r in recs if r)
