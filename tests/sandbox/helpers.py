"""Running ``pyovn sandbox`` as a user would, and checking that nothing is left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyovn.sandbox.proc import start_time

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
