"""Golden comparison of pyovn nbctl/sbctl with the real ovn-nbctl/ovn-sbctl.

The command lines live in golden_*.txt, grouped by topic: "## NAME [northd]" starts a group,
which runs from a fresh database (and, with "northd", a real ovn-northd between NB and SB);
every other non-comment line is "nbctl ARGS..." or "sbctl ARGS..." in shell quoting.  A line
starting with "sort:" compares the output's lines as a sorted list, for outputs whose order is
the C IDL's hash order (which follows the random UUIDs, so it differs from run to run even
between two runs of the real tool).

Each side runs every group against servers of its own:
  real:  ovn-nbctl   -> ovsdb-server
  pyovn: pyovn nbctl -> pyovn ovsdb-server
  cross: pyovn nbctl -> ovsdb-server
and (exit status, stdout, stderr) are compared with the real side after UUIDs are replaced by
<N> in order of first appearance and vlog's timestamp prefixes are dropped.

`python -m tests.ctl.golden [--diff] [FILE...]` prints a report.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
GOLDEN_FILES = [HERE / "golden_nbctl.txt", HERE / "golden_sbctl.txt"]
SIDES = {  # name -> (server kind, tool kind)
    "real": ("real", "real"),
    "pyovn": ("pyovn", "pyovn"),
    "cross": ("real", "pyovn"),
}
SERVER_CMD = {"real": ["ovsdb-server"], "pyovn": [sys.executable, "-m", "pyovn", "ovsdb-server"]}
TOOL_CMD = {
    ("real", "nbctl"): ["ovn-nbctl"],
    ("real", "sbctl"): ["ovn-sbctl"],
    ("pyovn", "nbctl"): [sys.executable, "-m", "pyovn", "nbctl"],
    ("pyovn", "sbctl"): [sys.executable, "-m", "pyovn", "sbctl"],
}
_counter = itertools.count()
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VLOG_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\|\d+\|", re.M)


def missing() -> str | None:
    for tool in ("ovsdb-server", "ovsdb-tool", "ovn-nbctl", "ovn-sbctl", "ovn-northd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@dataclass
class Line:
    tool: str
    args: list[str]
    sort: bool
    text: str


@dataclass
class Group:
    name: str
    northd: bool
    lines: list[Line] = field(default_factory=list)


def load(path: Path) -> list[Group]:
    groups: list[Group] = []
    for raw in path.read_text().splitlines():
        text = raw.strip()
        if not text or (text.startswith("#") and not text.startswith("##")):
            continue
        if text.startswith("##"):
            words = text[2:].split()
            groups.append(Group(words[0], "northd" in words[1:]))
            continue
        sort = text.startswith("sort:")
        body = text[5:].strip() if sort else text
        words = shlex.split(body)
        if not groups:
            raise ValueError(f"{path}: command before the first group: {text}")
        if words[0] not in ("nbctl", "sbctl"):
            raise ValueError(f"{path}: line must start with nbctl or sbctl: {text}")
        groups[-1].lines.append(Line(words[0], words[1:], sort, text))
    return groups


class Servers:
    """NB and SB servers of one kind (and optionally a real ovn-northd) in a temp dir."""

    def __init__(self, kind: str, northd: bool) -> None:
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(
            prefix=f"pyovn-ctl-{kind}-{os.getpid()}-{next(_counter)}-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            self.nb = self._server("nb", NB_SCHEMA)
            self.sb = self._server("sb", SB_SCHEMA)
            if northd:
                self._northd()
        except BaseException:
            self.stop()
            raise

    def _server(self, name: str, schema: str) -> str:
        db = self.dir / f"{name}.db"
        sock = self.dir / f"{name}.sock"
        subprocess.run(["ovsdb-tool", "create", str(db), schema], check=True,
                       capture_output=True)
        with open(self.dir / f"{name}.out", "wb") as out:
            proc = subprocess.Popen(
                [*SERVER_CMD[self.kind], f"--remote=punix:{sock}",
                 f"--unixctl={self.dir / f'{name}.ctl'}", "-vconsole:off", str(db)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.dir)
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.kind} ovsdb-server exited")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(str(sock))
                return f"unix:{sock}"
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} ovsdb-server did not start")
            time.sleep(0.02)

    def _northd(self) -> None:
        env = dict(os.environ, OVN_RUNDIR=str(self.dir))
        with open(self.dir / "northd.out", "wb") as out:
            self.procs.append(subprocess.Popen(
                ["ovn-northd", f"--ovnnb-db={self.nb}", f"--ovnsb-db={self.sb}",
                 "-vconsole:off", f"--unixctl={self.dir / 'northd.ctl'}",
                 f"--log-file={self.dir / 'northd.log'}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=self.dir))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Result:
    rc: int
    out: str
    err: str


def run_group(group: Group, side: str) -> list[Result]:
    server_kind, tool_kind = SIDES[side]
    servers = Servers(server_kind, group.northd)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OVN_NB_DAEMON", "OVN_SB_DAEMON", "OVN_NB_DB", "OVN_SB_DB")}
    env["OVN_NB_DB"] = servers.nb
    env["OVN_SB_DB"] = servers.sb
    env["OVN_RUNDIR"] = str(servers.dir)
    results = []
    try:
        for line in group.lines:
            proc = subprocess.run([*TOOL_CMD[(tool_kind, line.tool)], *line.args],
                                  capture_output=True, env=env, timeout=60,
                                  stdin=subprocess.DEVNULL, cwd=servers.dir)
            results.append(Result(proc.returncode, proc.stdout.decode(errors="replace"),
                                  proc.stderr.decode(errors="replace")))
    finally:
        servers.stop()
    return results


class Normalizer:
    """UUIDs -> <N> in order of first appearance; unknown ones in sorted lines -> <?>."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def text(self, text: str, sort: bool) -> str:
        text = VLOG_RE.sub("", text)
        if not sort:
            return UUID_RE.sub(self._sub, text)
        lines = [UUID_RE.sub(lambda m: f"<{self.ids[m.group()]}>" if m.group() in self.ids
                             else "<?>", line) for line in text.splitlines()]
        return "\n".join(sorted(lines))

    def _sub(self, m: re.Match[str]) -> str:
        return f"<{self.ids.setdefault(m.group(), len(self.ids))}>"


def normalise(group: Group, results: list[Result]) -> list[tuple[int, str, str]]:
    norm = Normalizer()
    return [(r.rc, norm.text(r.out, line.sort), norm.text(r.err, line.sort))
            for line, r in zip(group.lines, results)]


@dataclass
class Mismatch:
    group: str
    line: str
    side: str
    want: tuple[int, str, str]
    got: tuple[int, str, str]


def compare(groups: list[Group], sides: tuple[str, ...] = ("pyovn", "cross"),
            jobs: int = 8) -> tuple[int, list[Mismatch]]:
    """Runs every group on every side; returns (number of lines compared, mismatches)."""
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {(g.name, side): pool.submit(run_group, g, side)
                   for g in groups for side in ("real", *sides)}
        results = {k: f.result() for k, f in futures.items()}
    mismatches: list[Mismatch] = []
    n = 0
    for g in groups:
        want = normalise(g, results[(g.name, "real")])
        for side in sides:
            got = normalise(g, results[(g.name, side)])
            for line, w, o in zip(g.lines, want, got):
                n += 1
                if w != o:
                    mismatches.append(Mismatch(g.name, line.text, side, w, o))
    return n, mismatches


def main(argv: list[str]) -> int:
    diff = "--diff" in argv
    files = [Path(a) for a in argv if not a.startswith("--")] or GOLDEN_FILES
    groups = [g for f in files for g in load(f)]
    only = os.environ.get("GOLDEN_GROUP")
    if only:
        groups = [g for g in groups if g.name == only]
    n, mismatches = compare(groups)
    for m in mismatches:
        print(f"[{m.group}/{m.side}] {m.line}")
        if diff:
            print(f"  want rc={m.want[0]}\n{_indent(m.want[1])}{_indent(m.want[2], 'E ')}")
            print(f"  got  rc={m.got[0]}\n{_indent(m.got[1])}{_indent(m.got[2], 'E ')}")
    print(f"{n} comparisons, {len(mismatches)} mismatches")
    return 1 if mismatches else 0


def _indent(text: str, mark: str = "| ") -> str:
    return "".join(f"    {mark}{line}\n" for line in text.splitlines())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
