"""Deployments for comparing northds: NB and SB servers with the real ovn-northd, or with
pyovn's northd, in temp dirs (tests/integration/procs.py does the process work)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.integration.procs import Central, run

ROOT = Path(__file__).resolve().parents[2]


class PyovnCentral(Central):
    """NB and SB servers of `kind` with pyovn's northd (or several, for fail-over)."""

    def __init__(self, kind: str = "real", tag: str = "pyovn-northd") -> None:
        super().__init__(kind, northd=False, tag=tag)
        self.northds: list[subprocess.Popen[bytes]] = []

    def start_northd(self, n: int = 0) -> subprocess.Popen[bytes]:
        pr = self.start(f"northd{n}", [
            sys.executable, "-m", "pyovn", "northd", "-vconsole:off", "--no-chdir",
            f"--log-file={self.path(f'northd{n}.log')}", f"--unixctl={self.path(f'northd{n}.ctl')}",
            f"--ovnnb-db=unix:{self.nb}", f"--ovnsb-db=unix:{self.sb}"],
            env={"PYTHONPATH": str(ROOT)})
        self.northds.append(pr)
        return pr

    def status(self, n: int) -> str:
        """The instance's "status" reply ("" while its control socket is not up)."""
        r = run(["ovs-appctl", "-t", self.path(f"northd{n}.ctl"), "status"])
        return r.stdout.strip() if r.returncode == 0 else ""

    def appctl(self, n: int, *args: str) -> str:
        return run(["ovs-appctl", "-t", self.path(f"northd{n}.ctl"), *args], check=True).stdout


def nbctl_all(c: Central, cmds: list[list[str]]) -> None:
    r = c.nbctl("init")
    assert r.returncode == 0, r.stderr
    for cmd in cmds:
        r = c.nbctl(*cmd)
        assert r.returncode == 0, f"{cmd}: {r.stderr}"
    r = c.sync()
    assert r.returncode == 0, f"sync: {r.stderr}\n{c.logs('northd0')}"


_DP = re.compile(r'Datapath: "([^"]*)" \(\S+\)\s+Pipeline: (\w+)')
_FLOW = re.compile(r"\s+table=(\d+)\s*\(\s*(\S+)\s*\), priority=(\d+)\s*, "
                   r"match=\((.*)\), action=\((.*)\)$")


def lflows(c: Central) -> set[str]:
    """`ovn-sbctl lflow-list` as a set of "dp pipeline table stage prio match actions"."""
    r = c.sbctl("lflow-list")
    assert r.returncode == 0, r.stderr
    dp = pipe = ""
    out = set()
    for line in r.stdout.splitlines():
        m = _DP.match(line)
        if m:
            dp, pipe = m.groups()
            continue
        m = _FLOW.match(line)
        if m:
            t, st, p, ma, ac = m.groups()
            out.add(f"{dp} {pipe} {t} {st} {p} ({ma}) ({ac})")
    return out


def trace(c: Central, dp: str, ct: str, flow: str) -> str:
    args = ["ovn-trace", f"--db=unix:{c.sb}", "--minimal"]
    if ct:
        args.append(f"--ct={ct}")
    r = run([*args, dp, flow])
    text = r.stdout + r.stderr
    # The first line is the microflow, with port tunnel keys that may differ.
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def lflow_rows(c: Central) -> list[str]:
    """Like lflows, but a list: duplicates show."""
    r = c.sbctl("--format=csv", "--no-headings", "--columns=logical_datapath,pipeline,"
                "table_id,priority,match,actions", "list", "Logical_Flow")
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def wait_for(pred: object, timeout: float = 10.0, what: str = "condition") -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        if pred():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
