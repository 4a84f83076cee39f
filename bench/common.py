"""Shared bench helpers: a lean OVSDB JSON-RPC client and a launcher for OVSDB servers (real or
pyovn) and ovn-northd that stops exactly the processes it started.

The client follows the reference anchors' ``ovnreal_common.Conn`` (blocking AF_UNIX, one
``recv`` then drain, echo answered inline) so that figures stay comparable with
../shared/reference/anchors/RESULTS.md; it only swaps in orjson where that cannot change what is
measured on the server side: encoding requests, and decoding a buffer that holds exactly one
reply (the usual case).  Anything else falls back to the stdlib decoder, which can split
concatenated messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

REAL_SERVER_CMD: list[str] = ["ovsdb-server"]
PYOVN_SERVER_CMD: list[str] = [str(ROOT / ".venv" / "bin" / "pyovn"), "ovsdb-server"]
PYOVN_SERVER_MODULE = ROOT / "pyovn" / "ovsdb" / "server_main.py"

Msg = dict[str, Any]


class Conn:
    """Blocking OVSDB JSON-RPC connection over a unix socket; notifications queue in ``notes``."""

    def __init__(self, path: str, timeout: float = 60.0, io_timeout: float | None = 300.0) -> None:
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        # A dead or wedged server must fail the bench, not hang it.
        self.io_timeout = io_timeout
        self.s.settimeout(io_timeout)
        self._dec = json.JSONDecoder()
        self.buf = b""
        self.fail_len = 0
        self.next_id = 0
        self.notes: list[Msg] = []
        self.pending: int | None = None

    def fileno(self) -> int:
        return self.s.fileno()

    def send(self, method: str, params: Any, id_: Any = None) -> Any:
        if id_ is None:
            self.next_id += 1
            id_ = self.next_id
        self.s.sendall(orjson.dumps({"method": method, "params": params, "id": id_}))
        return id_

    def _split(self) -> list[Any]:
        """Every complete message in the buffer; the incomplete tail stays buffered."""
        try:
            one = orjson.loads(self.buf)
        except orjson.JSONDecodeError:
            pass
        else:
            self.buf = b""
            return [one]
        text = self.buf.decode("utf-8")  # the buffer ends with '}', so no split character
        out: list[Any] = []
        while True:
            stripped = text.lstrip()
            if not stripped:
                text = ""
                break
            try:
                msg, end = self._dec.raw_decode(stripped)
            except ValueError:
                text = stripped
                break
            out.append(msg)
            text = stripped[end:]
        self.buf = text.encode("utf-8")
        return out

    def feed(self) -> list[Msg]:
        """Read once (blocking) and return the complete messages; echo requests are answered."""
        data = self.s.recv(1 << 20)
        if not data:
            raise EOFError(f"{self.path}: connection closed by the server")
        parts = [data]
        while select.select([self.s], [], [], 0)[0]:
            more = self.s.recv(1 << 20)
            if not more:
                break
            parts.append(more)
        self.buf += b"".join(parts)
        if not self.buf.rstrip().endswith(b"}"):
            return []
        # Avoid quadratic re-parsing of one huge partial message: after a failed attempt,
        # retry only once the buffer doubled or the sender paused for 2 ms.
        if len(self.buf) < 2 * self.fail_len and select.select([self.s], [], [], 0.002)[0]:
            return []
        parsed = self._split()
        self.fail_len = len(self.buf) if self.buf.strip() else 0
        msgs: list[Msg] = []
        for m in parsed:
            if not isinstance(m, dict):
                raise ValueError(f"{self.path}: non-object JSON-RPC message {m!r:.200}")
            if m.get("method") == "echo" and m.get("id") is not None:
                self.s.sendall(orjson.dumps({"result": m.get("params"), "error": None,
                                             "id": m["id"]}))
                continue
            msgs.append(m)
        return msgs

    def wait_reply(self, id_: Any) -> Msg:
        while True:
            rep: Msg | None = None
            for m in self.feed():
                if rep is None and "method" not in m and m.get("id") == id_:
                    rep = m
                else:
                    self.notes.append(m)
            if rep is not None:
                return rep

    def call(self, method: str, params: Any) -> Msg:
        return self.wait_reply(self.send(method, params))

    def transact(self, db: str, ops: Sequence[Any], check: bool = True) -> Msg:
        r = self.call("transact", [db, *ops])
        if check:
            res = r.get("result")
            if r.get("error") is not None or not isinstance(res, list):
                raise RuntimeError(f"transact error: {r!r:.500}")
            for x in res:
                if isinstance(x, dict) and "error" in x:
                    raise RuntimeError(f"op error: {x!r} (ops {json.dumps(list(ops))[:300]})")
        return r

    def wait_note(self, pred: Callable[[Msg], bool], timeout: float = 120.0) -> tuple[float, Msg]:
        """Wait for a notification matching ``pred``; returns (perf_counter time, message)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.notes:
                m = self.notes.pop(0)
                if pred(m):
                    return time.perf_counter(), m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.path}: notification not seen")
            self.s.settimeout(max(0.01, left))
            try:
                self.notes.extend(self.feed())
            except TimeoutError:
                continue
            finally:
                self.s.settimeout(self.io_timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.s.close()


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pct(xs: Sequence[float], p: float) -> float | None:
    ys = sorted(xs)
    if not ys:
        return None
    k = (len(ys) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ys) - 1)
    return ys[lo] + (ys[hi] - ys[lo]) * (k - lo)


def machine_facts() -> dict[str, Any]:
    model = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu_model": model}


def pyovn_server_available() -> bool:
    return PYOVN_SERVER_MODULE.exists()


class Stack:
    """Daemons in a fresh temp dir; ``stop()`` ends exactly the processes started here."""

    def __init__(self, prefix: str = "pyovn-bench.", keep: bool = False) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.keep = keep

    def p(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def run(self, *cmd: str, env: Mapping[str, str] | None = None) -> str:
        e = {**os.environ, **(env or {})}
        r = subprocess.run(list(cmd), env=e, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
        return r.stdout

    def start(self, *cmd: str, env: Mapping[str, str] | None = None,
              log: str | None = None) -> subprocess.Popen[bytes]:
        e = {**os.environ, **(env or {})}
        argv = list(cmd)
        if log is None:
            pr = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            with open(log, "ab") as out:
                pr = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT)
        self.procs.append(pr)
        return pr

    def ovsdb(self, name: str, schema: str, server_cmd: Sequence[str] = REAL_SERVER_CMD,
              timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str]:
        """Create ``name``.db with the real ovsdb-tool and serve it on ``name``.sock."""
        db = self.p(name + ".db")
        self.run("ovsdb-tool", "create", db, schema)
        sock = self.p(name + ".sock")
        log = self.p(name + ".log")
        pr = self.start(*server_cmd, "-vconsole:off", "--no-chdir",
                        f"--pidfile={self.p(name + '.pid')}", f"--log-file={log}",
                        f"--remote=punix:{sock}", f"--unixctl={self.p(name + '.ctl')}", db,
                        log=self.p(name + ".out"))
        deadline = time.monotonic() + timeout
        while True:
            if pr.poll() is not None:
                raise RuntimeError(f"{' '.join(server_cmd)} ({name}) exited with "
                                   f"{pr.returncode}; see {log} and {self.p(name + '.out')}")
            if os.path.exists(sock):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(sock)
                    break
                except OSError:
                    pass
                finally:
                    s.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(server_cmd)} ({name}) did not open {sock}")
            time.sleep(0.01)
        return pr, sock

    def northd(self, nb_sock: str, sb_sock: str) -> subprocess.Popen[bytes]:
        return self.start("ovn-northd", "-vconsole:off", "--no-chdir",
                          f"--pidfile={self.p('northd.pid')}",
                          f"--log-file={self.p('northd.log')}",
                          f"--unixctl={self.p('northd.ctl')}",
                          f"--ovnnb-db=unix:{nb_sock}", f"--ovnsb-db=unix:{sb_sock}",
                          env={"OVN_RUNDIR": self.dir})

    def stop(self) -> None:
        for pr in self.procs:
            if pr.poll() is None:
                pr.terminate()
        deadline = time.monotonic() + 5
        for pr in self.procs:
            try:
                pr.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- OVSDB JSON values and the benches' shared bits -------------------------------------------


def oset(items: list[Any]) -> list[Any]:
    return ["set", items]


def omap(d: dict[str, str]) -> list[Any]:
    return ["map", [[k, v] for k, v in d.items()]]


def vif_ops(br_uuid: str, iface: str, lsp: str) -> list[dict[str, Any]]:
    """An internal port on the bridge bound to logical port ``lsp``: the VIF, as
    ovs-vsctl add-port would write it (vswitchd creates the tap device)."""
    return [
        {"op": "insert", "table": "Interface", "uuid-name": "i",
         "row": {"name": iface, "type": "internal", "external_ids": omap({"iface-id": lsp})}},
        {"op": "insert", "table": "Port", "uuid-name": "p",
         "row": {"name": iface, "interfaces": ["named-uuid", "i"]}},
        {"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", br_uuid]],
         "mutations": [["ports", "insert", oset([["named-uuid", "p"]])]]}]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exit_on_sigterm() -> None:
    """SIGTERM ends the bench through its finally blocks (which remove what it made)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


class SandboxBench:
    """One stack's sandbox in a fresh directory under /tmp, and the bench's own OVSDB
    connections to it: stop() closes them, tears the sandbox down and removes the
    directory (all kept with 'keep', for the logs)."""

    def __init__(self, impl: str, stack: Any, prefix: str, keep: bool, verbose: bool,
                 dataplane: bool = True) -> None:
        # (Imported here: the rest of this module serves benches that run without pyovn's
        # sandbox on the path.)
        from pyovn.sandbox.sandbox import Sandbox

        self.impl = impl
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix=f"{prefix}-{os.getpid()}-{impl}-", dir="/tmp")
        out = (lambda s: print(f"[{impl}] {s}", flush=True)) if verbose else (lambda s: None)
        try:
            self.box = Sandbox.create(self.dir, stack, chassis=1, dataplane=dataplane, out=out)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.conns: list[Conn] = []

    def _conn(self, path: str) -> Conn:
        c = Conn(path)
        self.conns.append(c)
        return c

    def stop(self) -> None:
        for c in self.conns:
            c.close()
        self.box.teardown(remove_dir=not self.keep)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def print_side_by_side(results: Sequence[Mapping[str, Any]],
                       rows: Sequence[tuple[str, str, bool]], head: str, label_width: int,
                       col_width: int, footer: str) -> None:
    """One line per (key, label, with ratio) row that some stack measured: each stack's
    figure (results' "impl" names the columns) and, when both real and pyovn ran and the
    row asks for it, real/pyovn; 'footer' says how to read that ratio."""
    by = {r["impl"]: r for r in results}
    both = "real" in by and "pyovn" in by
    print(f"{head:<{label_width}}" + "".join(f"{r['impl']:>{col_width}}" for r in results)
          + (f"{'real/pyovn':>12}" if both else ""))
    for key, label, ratio in rows:
        if not any(key in r for r in results):
            continue
        line = f"{label:<{label_width}}" + "".join(f"{r.get(key, '-')!s:>{col_width}}"
                                                  for r in results)
        if both and ratio:
            x, y = by["real"].get(key), by["pyovn"].get(key)
            if isinstance(x, int | float) and isinstance(y, int | float) and y > 0:
                line += f"{x / y:>12.2f}"
        print(line)
    if both:
        print(footer)
