"""Differential OVSDB conformance harness: run one scripted case against an OVSDB server.

A case is a list of steps sent over raw unix-socket connections (raw so that malformed bytes
can be sent).  Each ``recv`` step ends with an ``echo`` round trip used as a barrier: every
server answers requests and flushes monitor updates in order, so everything a client was owed
has arrived once the barrier reply is back, and no sleeps are needed.  The result is a
transcript per case that is normalised (UUIDs, unordered collections) so that two servers'
transcripts can be compared with ``==``.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

SCHEMAS: dict[str, Path] = {
    "conf": HERE / "schemas" / "conformance.ovsschema",
    "nb": Path("/usr/share/ovn/ovn-nb.ovsschema"),
    "sb": Path("/usr/share/ovn/ovn-sb.ovsschema"),
}

REAL_CMD: list[str] = ["ovsdb-server"]
# CONFORMANCE_PYOVN_CMD overrides the command prefix (e.g. to run under a profiler).
PYOVN_CMD: list[str] = shlex.split(
    os.environ.get("CONFORMANCE_PYOVN_CMD", f"{ROOT / '.venv' / 'bin' / 'pyovn'} ovsdb-server")
)
PYOVN_SERVER_MODULE = ROOT / "pyovn" / "ovsdb" / "server_main.py"

BARRIER_TIMEOUT = 3.0
START_TIMEOUT = 20.0

_counter = itertools.count()

# Echoed deeply nested JSON is a test case; normalising and diffing recurse once per level.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


def schema_json(key: str) -> dict[str, Any]:
    with open(SCHEMAS[key]) as f:
        data: dict[str, Any] = json.load(f)
    return data


def db_name(key: str) -> str:
    return str(schema_json(key)["name"])


# --------------------------------------------------------------------------- cases


Step = tuple[Any, ...]


@dataclass
class Case:
    """One scripted conversation.  ``fresh`` asks for a newly started server (instead of a
    pooled one reset by deleting every row), for cases whose effect outlives their connections
    (locks, closed sockets) or which look at server-wide state."""

    name: str
    steps: list[Step]
    dbs: tuple[str, ...] = ("conf",)
    clients: int = 1
    fresh: bool = False


class Script:
    """Builder for a Case; ids are deterministic (a counter per case)."""

    def __init__(
        self, name: str, dbs: Sequence[str] = ("conf",), clients: int = 1, fresh: bool = False
    ) -> None:
        self.name = name
        self.dbs = tuple(dbs)
        self.clients = clients
        self.fresh = fresh
        self.steps: list[Step] = []
        self._ids = itertools.count(1)
        self.db = db_name(self.dbs[0])

    def case(self) -> Case:
        return Case(self.name, list(self.steps), self.dbs, self.clients, self.fresh)

    # raw building blocks
    def send(self, c: int, method: str, params: Any, notify: bool = False) -> int | None:
        """Queue a request (or notification) on client ``c``; returns its id."""
        if notify:
            self.steps.append(("send", c, {"method": method, "params": params, "id": None}))
            return None
        rid = next(self._ids)
        self.steps.append(("send", c, {"method": method, "params": params, "id": rid}))
        return rid

    def send_obj(self, c: int, obj: Any) -> None:
        self.steps.append(("send", c, obj))

    def raw(self, c: int, data: bytes) -> None:
        self.steps.append(("raw", c, data))

    def recv(self, c: int = 0) -> None:
        self.steps.append(("recv", c))

    def recv_all(self) -> None:
        for c in range(self.clients):
            self.recv(c)

    def wait_id(self, c: int, rid: int | None, timeout: float = 3.0) -> None:
        """Collect client ``c``'s messages until the reply to ``rid`` (for delayed replies)."""
        self.steps.append(("wait_id", c, rid, timeout))

    def wait_method(self, c: int, method: str, timeout: float = 3.0) -> None:
        """Collect client ``c``'s messages until a notification ``method`` arrives (for events
        whose timing the client does not control, such as another connection closing)."""
        self.steps.append(("wait_method", c, method, timeout))

    def sleep(self, seconds: float) -> None:
        self.steps.append(("sleep", seconds))

    def close(self, c: int) -> None:
        self.steps.append(("close", c))

    # conveniences: send and collect
    def call(self, c: int, method: str, *params: Any) -> None:
        self.send(c, method, list(params))
        self.recv(c)

    def tx(self, *ops: Any, c: int = 0, db: str | None = None) -> None:
        self.call(c, "transact", db or self.db, *ops)

    def tx_send(self, *ops: Any, c: int = 0, db: str | None = None) -> int | None:
        return self.send(c, "transact", [db or self.db, *ops])


# --------------------------------------------------------------------------- servers


class ServerError(RuntimeError):
    pass


class Server:
    """One server process (real or pyovn) with its own temp dir, socket and db files."""

    def __init__(self, cmd: Sequence[str], dbs: Sequence[str], templates: dict[str, Path]) -> None:
        self.cmd = list(cmd)
        self.dbs = tuple(dbs)
        self.dir = Path(tempfile.mkdtemp(prefix=f"pyovn-conf-{os.getpid()}-{next(_counter)}-"))
        self.sock = str(self.dir / "db.sock")
        self.ctl = str(self.dir / "db.ctl")
        self.log = self.dir / "server.log"
        files = []
        for i, key in enumerate(self.dbs):
            f = self.dir / f"{i}-{key}.db"
            shutil.copyfile(templates[key], f)
            files.append(str(f))
        argv = [
            *self.cmd,
            f"--remote=punix:{self.sock}",
            f"--unixctl={self.ctl}",
            "-vconsole:off",
            "--no-chdir",
            *files,
        ]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                shutil.rmtree(self.dir, ignore_errors=True)
                raise ServerError(f"{argv!r} exited with {self.proc.returncode}: {tail}")
            if os.path.exists(self.sock):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(self.sock)
                    s.close()
                    break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"{argv!r} did not open {self.sock}")
            time.sleep(0.01)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def reset(self) -> bool:
        """Delete every row of every database; True if the server confirms they are gone."""
        try:
            c = Client(self.sock)
        except OSError:
            return False
        try:
            for key in self.dbs:
                tables = sorted(schema_json(key)["tables"])
                ops: list[Any] = [{"op": "delete", "table": t, "where": []} for t in tables]
                ops += [{"op": "select", "table": t, "where": [], "columns": ["_uuid"]}
                        for t in tables]
                c.send({"method": "transact", "params": [db_name(key), *ops], "id": "reset"})
                msgs, end = c.collect(until_id="reset", timeout=BARRIER_TIMEOUT)
                if end != "ok" or not msgs:
                    return False
                result = msgs[-1].get("result")
                if not isinstance(result, list) or len(result) != 2 * len(tables):
                    return False
                for r in result[len(tables):]:
                    if not isinstance(r, dict) or r.get("rows") != []:
                        return False
            return True
        finally:
            c.close()


class ServerPool:
    """Keeps one running server per database set; resets it between cases."""

    def __init__(self, cmd: Sequence[str], always_fresh: bool = False) -> None:
        self.cmd = list(cmd)
        self.always_fresh = always_fresh
        self.servers: dict[tuple[str, ...], Server] = {}
        self.tmpl_dir = Path(tempfile.mkdtemp(prefix=f"pyovn-conf-tmpl-{os.getpid()}-"))
        self.templates: dict[str, Path] = {}
        # After repeated start failures every case fails at once instead of waiting each time.
        self.start_failures = 0

    def _template(self, key: str) -> Path:
        if key not in self.templates:
            f = self.tmpl_dir / f"{key}.db"
            subprocess.run(["ovsdb-tool", "create", str(f), str(SCHEMAS[key])], check=True)
            self.templates[key] = f
        return self.templates[key]

    def acquire(self, case: Case) -> Server:
        for key in case.dbs:
            self._template(key)
        old = self.servers.pop(case.dbs, None)
        if old is not None:
            if not case.fresh and not self.always_fresh and old.alive() and old.reset():
                self.servers[case.dbs] = old
                return old
            old.stop()
        if self.start_failures >= 3:
            raise ServerError(f"{self.cmd!r} failed to start 3 times; not trying again")
        try:
            server = Server(self.cmd, case.dbs, self.templates)
        except ServerError:
            self.start_failures += 1
            raise
        self.start_failures = 0
        self.servers[case.dbs] = server
        return server

    def release(self, case: Case, server: Server) -> None:
        if case.fresh or self.always_fresh:
            self.servers.pop(case.dbs, None)
            server.stop()

    def close(self) -> None:
        for s in self.servers.values():
            s.stop()
        self.servers.clear()
        shutil.rmtree(self.tmpl_dir, ignore_errors=True)


# --------------------------------------------------------------------------- clients


class Client:
    """A blocking JSON-RPC stream client that parses concatenated JSON values."""

    def __init__(self, path: str | None, sock: socket.socket | None = None) -> None:
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
        self.sock = sock
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.text = ""
        self.pending: list[Any] = []
        self.eof = False
        self.write_failed = False
        self._json = json.JSONDecoder()

    @classmethod
    def from_socket(cls, sock: socket.socket) -> Client:
        return cls(None, sock)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, obj: Any) -> None:
        self.send_bytes(json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogateescape"))

    def send_bytes(self, data: bytes) -> None:
        if self.write_failed:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.write_failed = True

    def _parse(self) -> None:
        while True:
            stripped = self.text.lstrip(" \t\r\n")
            if not stripped:
                self.text = ""
                return
            try:
                obj, end = self._json.raw_decode(stripped)
            except ValueError:
                self.text = stripped
                return
            self.pending.append(obj)
            self.text = stripped[end:]

    def _read(self, deadline: float) -> bool:
        """Read once; False on timeout or EOF."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return False
        except OSError:
            data = b""
        if not data:
            self.eof = True
            self.text += self.decoder.decode(b"", final=True)
            self._parse()
            return False
        self.text += self.decoder.decode(data)
        # Only try to parse when a value may have ended: keeps huge messages linear.
        tail = self.text.rstrip(" \t\r\n")
        if tail.endswith(("}", "]")) or (len(self.pending) == 0 and len(self.text) < 65536):
            self._parse()
        return True

    def collect(
        self,
        until_id: Any = None,
        timeout: float = BARRIER_TIMEOUT,
        quiet: bool = False,
        until_method: str | None = None,
    ) -> tuple[list[Any], str]:
        """Messages up to and including the reply whose id is ``until_id``.

        Returns (messages, end) with end "ok", "eof" or "timeout".  With ``quiet`` it simply
        reads until ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        out: list[Any] = []
        while True:
            while self.pending:
                msg = self.pending.pop(0)
                out.append(msg)
                if quiet or not isinstance(msg, dict):
                    continue
                if until_method is not None:
                    if msg.get("method") == until_method:
                        return out, "ok"
                elif (
                    "method" not in msg
                    and type(msg.get("id")) is type(until_id)
                    and msg.get("id") == until_id
                ):
                    return out, "ok"
            if self.eof:
                self._flush_unparsed(out)
                return out, "eof"
            if not self._read(deadline):
                if self.eof:
                    continue
                self._flush_unparsed(out)
                return out, "quiet" if quiet else "timeout"

    def _flush_unparsed(self, out: list[Any]) -> None:
        """Bytes that never became a JSON value are part of the transcript too."""
        self._parse()
        leftover = self.text.strip(" \t\r\n")
        if leftover:
            out.append({"$unparsed": leftover[:200]})
            self.text = ""


# --------------------------------------------------------------------------- running


def run_case(server: Server, case: Case) -> list[dict[str, Any]]:
    """Run ``case`` against ``server``; the raw (unnormalised) transcript."""
    clients = [Client(server.sock) for _ in range(case.clients)]
    transcript: list[dict[str, Any]] = []
    barrier = itertools.count(1)
    methods: dict[tuple[int, str], str] = {}
    # Once a server failed to answer, later waits in the same case are short.
    patience = [BARRIER_TIMEOUT]

    def record(c: int, msgs: list[Any], end: str) -> None:
        for m in msgs:
            # list_dbs answers in the real server's hash order.
            if (
                isinstance(m, dict)
                and isinstance(m.get("result"), list)
                and methods.get((c, json.dumps(m.get("id")))) == "list_dbs"
            ):
                m["result"] = sorted(m["result"], key=str)
        transcript.append({"client": c, "msgs": msgs, "end": end})
        if end == "timeout":
            patience[0] = 0.5

    try:
        for step in case.steps:
            kind = step[0]
            if kind == "send":
                msg = step[2]
                if isinstance(msg, dict) and msg.get("id") is not None:
                    methods[(step[1], json.dumps(msg["id"]))] = str(msg.get("method"))
                clients[step[1]].send(msg)
            elif kind == "raw":
                clients[step[1]].send_bytes(step[2])
            elif kind == "recv":
                c = clients[step[1]]
                bid = f"barrier-{next(barrier)}"
                c.send({"method": "echo", "params": [bid], "id": bid})
                msgs, end = c.collect(until_id=bid, timeout=patience[0])
                if end == "ok":
                    last = msgs.pop()
                    if last != {"id": bid, "result": [bid], "error": None}:
                        msgs.append(last)
                        end = "bad-barrier-reply"
                record(step[1], msgs, end)
            elif kind == "wait_id":
                msgs, end = clients[step[1]].collect(
                    until_id=step[2], timeout=min(step[3], patience[0])
                )
                record(step[1], msgs, end)
            elif kind == "wait_method":
                msgs, end = clients[step[1]].collect(
                    until_method=step[2], timeout=min(step[3], patience[0])
                )
                record(step[1], msgs, end)
            elif kind == "sleep":
                time.sleep(step[1])
            elif kind == "close":
                clients[step[1]].close()
            else:  # pragma: no cover - programming error in a case file
                raise ValueError(f"unknown step {step!r}")
        transcript.append({"server_alive": server.alive()})
    finally:
        for c in clients:
            c.close()
    return transcript


# --------------------------------------------------------------------------- normalising

ZERO_UUID = "00000000-0000-0000-0000-000000000000"

# Elapsed times measured by the server.
_TIMING_RE = re.compile(r"(timed out after )\d+( ms)")
# The real server names the two rows of an index conflict in hash order.
_DUP_ROWS_RE = re.compile(
    r"First row, with UUID (\S+), (.*?)\.  Second row, with UUID (\S+), (.*?)\.$"
)
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_uuid(s: str) -> bool:
    if len(s) != 36:
        return False
    for i, ch in enumerate(s):
        if i in (8, 13, 18, 23):
            if ch != "-":
                return False
        elif ch not in _HEX:
            return False
    return True


def _find_uuids(s: str) -> Iterable[tuple[int, str]]:
    i = s.find("-")
    while i != -1:
        start = i - 8
        if start >= 0 and _is_uuid(s[start : start + 36]):
            yield start, s[start : start + 36]
            i = s.find("-", start + 36)
        else:
            i = s.find("-", i + 1)


class Normaliser:
    """Replaces UUIDs by placeholders in order of first appearance and canonicalises the
    collections whose order is arbitrary on the real server (rows keyed by UUID, select results,
    sets and maps ordered by UUID)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, u: str) -> str:
        if u == ZERO_UUID:
            return u
        if u.lower() not in self.names:
            self.names[u.lower()] = f"<uuid-{len(self.names) + 1}>"
        return self.names[u.lower()]

    def _string(self, s: str, assign: bool) -> Any:
        if s[:1] in ("{", "[") and len(s) > 1:
            try:
                parsed = json.loads(s)
            except ValueError:
                pass
            else:
                return {"$json": self.norm(parsed, assign)}
        out = []
        pos = 0
        for start, u in _find_uuids(s):
            out.append(s[pos:start])
            if assign or u.lower() in self.names or u == ZERO_UUID:
                out.append(self._name(u))
            else:
                out.append("<uuid-?>")
            pos = start + 36
        if out:
            out.append(s[pos:])
            s = "".join(out)
        s = _TIMING_RE.sub(r"\1<ms>\2", s)
        m = _DUP_ROWS_RE.search(s)
        if m:
            rows = sorted([f"[{m[1]} {m[2]}]", f"[{m[3]} {m[4]}]"])
            s = s[: m.start()] + "Rows (any order): " + " ".join(rows)
        return s

    def _key(self, v: Any) -> str:
        """Sort key that does not depend on not-yet-named UUIDs."""
        return json.dumps(self.norm(v, assign=False), sort_keys=True, ensure_ascii=False)

    def _unordered(self, items: list[Any]) -> list[Any]:
        items = sorted(items, key=self._key)
        normed = [self.norm(x) for x in items]
        return sorted(normed, key=lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))

    def norm(self, v: Any, assign: bool = True) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, int):
            return v
        if isinstance(v, float):
            return {"$real": repr(v)}
        if isinstance(v, str):
            return self._string(v, assign)
        if isinstance(v, list):
            if (
                len(v) == 2
                and v[0] in ("set", "map")
                and isinstance(v[1], list)
                and _mentions_uuid(v[1])
            ):
                if not assign:
                    return [v[0], sorted(self._key(x) for x in v[1])]
                return [v[0], self._unordered(v[1])]
            return [self.norm(x, assign) for x in v]
        if isinstance(v, dict):
            keys = list(v)
            if any(isinstance(k, str) and _is_uuid(k) for k in keys):
                if not assign:
                    return {"$rows": sorted(self._key([k, v[k]]) for k in keys)}
                order = sorted(keys, key=lambda k: self._key([k, v[k]]))
                return {self._string(k, True): self.norm(v[k]) for k in order}
            out: dict[str, Any] = {}
            for k in sorted(keys):
                val = v[k]
                if k == "rows" and isinstance(val, list) and assign:
                    out[k] = self._unordered(val)
                else:
                    out[k] = self.norm(val, assign)
            return out
        return v


def _mentions_uuid(v: Any) -> bool:
    if isinstance(v, list):
        if len(v) == 2 and v[0] == "uuid" and isinstance(v[1], str):
            return True
        return any(_mentions_uuid(x) for x in v)
    return False


def normalise(transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    n = Normaliser()
    return [n.norm(_hide_txn_ids(entry)) for entry in transcript]


TXN_ID = "<last-txn-id>"


def _hide_txn_ids(entry: dict[str, Any]) -> dict[str, Any]:
    """Hides monitor_cond_since's last-txn-id (in its reply and in update3 notifications).

    A deliberate difference: the real ovsdb-server keeps a transaction history only for
    clustered databases, so for a standalone one it always answers found=false with the
    all-zero id; pyovn keeps one for standalone databases too (so a reconnecting client gets
    only what changed) and reports real ids.  `found` is still compared.
    """
    msgs = entry.get("msgs")
    if not isinstance(msgs, list):
        return entry
    out = []
    for m in msgs:
        if isinstance(m, dict):
            result = m.get("result")
            params = m.get("params")
            if (isinstance(result, list) and len(result) == 3 and isinstance(result[0], bool)
                    and isinstance(result[1], str) and _is_uuid(result[1])):
                m = {**m, "result": [result[0], TXN_ID, result[2]]}
            elif (m.get("method") == "update3" and isinstance(params, list)
                    and len(params) == 3 and isinstance(params[1], str)):
                m = {**m, "params": [params[0], TXN_ID, params[2]]}
        out.append(m)
    return {**entry, "msgs": out}


def drop_details(v: Any) -> Any:
    """The transcript without error ``details`` texts (for the looser report column only)."""
    if isinstance(v, dict):
        return {k: drop_details(x) for k, x in v.items() if k != "details"}
    if isinstance(v, list):
        return [drop_details(x) for x in v]
    return v


def render(transcript: list[dict[str, Any]]) -> list[str]:
    lines = []
    for entry in transcript:
        if "msgs" in entry:
            lines.append(f"client {entry['client']} ({entry['end']}):")
            for m in entry["msgs"]:
                lines.append("    " + json.dumps(m, sort_keys=True))
        else:
            lines.append(json.dumps(entry, sort_keys=True))
    return lines


def diff(a: list[dict[str, Any]], b: list[dict[str, Any]], names: tuple[str, str]) -> str:
    import difflib

    return "\n".join(
        difflib.unified_diff(render(a), render(b), names[0], names[1], lineterm="", n=2)
    )


def summarise(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    """One line: where two normalised transcripts first differ, and how."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        if "msgs" in x and "msgs" in y:
            for j in range(max(len(x["msgs"]), len(y["msgs"]))):
                mx = x["msgs"][j] if j < len(x["msgs"]) else "<nothing>"
                my = y["msgs"][j] if j < len(y["msgs"]) else "<nothing>"
                if mx != my:
                    path, vx, vy = _first_diff(mx, my, "")
                    return (
                        f"step {i} client {x['client']} msg {j} at {path or '.'}: expected "
                        f"{_short(vx)} got {_short(vy)}"
                    )
            return f"step {i}: expected end {x['end']} got {y['end']}"
        return f"step {i}: expected {_short(x)} got {_short(y)}"
    if len(a) != len(b):
        return f"transcript lengths differ: {len(a)} vs {len(b)}"
    return "identical"


def _first_diff(a: Any, b: Any, path: str) -> tuple[str, Any, Any]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b) and len(set(a) ^ set(b)) > 0 and not (set(a) & set(b)):
            return path, a, b
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>")
            if a[k] != b[k]:
                return _first_diff(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (p, q) in enumerate(zip(a, b)):
            if p != q:
                return _first_diff(p, q, f"{path}[{n}]")
    return path, a, b


def _short(v: Any, n: int = 220) -> str:
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= n else s[: n - 3] + "..."


@dataclass
class Outcome:
    name: str
    ok: bool
    ok_ignoring_details: bool
    expected: list[dict[str, Any]] = field(default_factory=list)
    actual: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    # The reference server gave different transcripts on reruns: the case itself is at fault.
    nondeterministic: bool = False

    def summary(self) -> str:
        if self.error:
            return self.error
        return summarise(self.expected, self.actual)


def compare_case(
    case: Case,
    ref: ServerPool,
    other: ServerPool,
    pool_exec: Any = None,
    recheck: int = 3,
) -> Outcome:
    """Run ``case`` on both pools' servers (concurrently if an executor is given).

    On a difference the reference server runs the case ``recheck`` more times: if it does not
    reproduce its own transcript, the case depends on the real server's hash order and the
    outcome is marked nondeterministic instead of blaming the other server."""

    def one(pool: ServerPool) -> list[dict[str, Any]]:
        server = pool.acquire(case)
        try:
            return run_case(server, case)
        finally:
            pool.release(case, server)

    try:
        if pool_exec is not None:
            fa = pool_exec.submit(one, ref)
            fb = pool_exec.submit(one, other)
            ta, tb = fa.result(), fb.result()
        else:
            ta, tb = one(ref), one(other)
    except ServerError as e:
        return Outcome(case.name, False, False, error=f"server error: {e}")
    na, nb = normalise(ta), normalise(tb)
    ok = na == nb
    ok2 = ok or drop_details(na) == drop_details(nb)
    outcome = Outcome(case.name, ok, ok2, na, nb)
    if not ok:
        try:
            for _ in range(recheck):
                if normalise(one(ref)) != na:
                    outcome.nondeterministic = True
                    break
        except ServerError:
            pass
    return outcome
