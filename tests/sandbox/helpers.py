"""Running ``pyovn sandbox`` as a user would, and checking that nothing is left behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.proc import start_time
from pyovn.sandbox.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
CONTROL_TOOLS = ("ovsdb-server", "ovsdb-tool", "ovn-northd", "ovn-nbctl", "ovn-sbctl",
                 "ovn-trace")
DATA_TOOLS = ("ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ovn-controller", "ip", "ping",
              "ethtool")


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing: {' '.join(missing)} (run scripts/setup.sh)")


def need_dataplane() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces and veth pairs")
    need(*CONTROL_TOOLS, *DATA_TOOLS)


def pyovn_sandbox(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyovn", "sandbox", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def snapshot(directory: Path) -> tuple[str, list[tuple[int, int]]]:
    """The sandbox id and (pid, start time) of every process it recorded."""
    st = json.loads((directory / "state.json").read_text())
    procs = [(d["pid"], d["started"]) for d in st["daemons"]]
    procs += [(h["listener"]["pid"], h["listener"]["started"]) for h in st["hosts"]
              if h["listener"]]
    return st["id"], procs


def leftovers(sid: str, procs: list[tuple[int, int]]) -> list[str]:
    left = [f"process {pid}" for pid, started in procs if start_time(pid) == started]
    netns = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    left += [f"namespace {n}" for n in netns if n.startswith(f"pyovn-{sid}-")]
    left += [f"link {n}" for n in os.listdir("/sys/class/net") if n.startswith(f"ps{sid}")]
    return left


def remove(sb: Sandbox) -> None:
    """Tears a sandbox down and asserts it left no process, namespace or link behind."""
    sid, procs = snapshot(Path(sb.state.dir)) if Path(sb.state.path).exists() else ("", [])
    sb.teardown()
    assert not sid or leftovers(sid, procs) == []


@contextlib.contextmanager
def running_sandbox(directory: Path, stack: Stack, chassis: int = 2,
                    out: Callable[[str], None] = lambda _s: None,
                    **options: Any) -> Iterator[Sandbox]:
    """A started sandbox with a data plane (skips without root or Open vSwitch), removed
    afterwards, failing if anything it made is left."""
    need_dataplane()
    sb = Sandbox.create(str(directory), stack, chassis=chassis, out=out, **options)
    try:
        sb.start()
        yield sb
    finally:
        remove(sb)
