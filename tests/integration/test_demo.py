"""`pyovn db-demo` (the README's main job before the sandbox): it must bring everything up,
show what the real clients see, and leave nothing behind; a failing component must be
named with its log."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from .procs import ROOT, require_server, require_tools, run, under_test

pytestmark = pytest.mark.real


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyovn", "db-demo", *args], capture_output=True,
                          text=True, timeout=180, cwd=ROOT)


def workdir(out: str) -> str:
    m = re.search(r"^demo: working in (\S+)$", out, re.M)
    assert m, out
    return m.group(1)


def check_output(r: subprocess.CompletedProcess[str], label: str) -> None:
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert f"NB ovsdb-server ({label}) serving" in out
    assert f"SB ovsdb-server ({label}) serving" in out
    for name in ("(sw0)", "(sw1)", "(lr0)", "port vm1", "port vm3", "router-port: lr0-sw1"):
        assert name in out, name
    assert "Chassis hv1" in out and "Port_Binding vm1" in out
    m = re.search(r"logical flows in the southbound database: (\d+)", out)
    assert m and int(m.group(1)) > 50, out
    assert "OVN_Northbound" in out and "OVN_Southbound" in out
    assert "demo: OK" in out
    assert not os.path.exists(workdir(out)), "temp dir left behind"


@pytest.mark.parametrize("kind", ["real", "pyovn"])
def test_demo_runs_and_cleans_up(kind: str) -> None:
    require_tools()
    require_server(kind)
    r = demo("--real") if kind == "real" else demo()
    check_output(r, kind)


def test_demo_keep_leaves_a_working_deployment() -> None:
    require_tools()
    kind = under_test()
    require_server(kind)
    r = demo("--keep", *(["--real"] if kind == "real" else []))
    d = workdir(r.stdout)
    pids = [int(p) for p in re.findall(r"^  pids: (.*)$", r.stdout, re.M)[0].split()]
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        nb = re.findall(r"NB: unix:(\S+)", r.stdout)[0]
        assert "(sw0)" in run(["ovn-nbctl", f"--db=unix:{nb}", "show"]).stdout
        stops = re.findall(r"^    (ovs-appctl -t \S+ exit)", r.stdout, re.M)
        assert len(stops) == 3
        for cmd in stops:
            assert run(cmd.split()).returncode == 0, cmd
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if alive(p)], "printed stop commands left processes"
    finally:
        for p in pids:  # these were started (in their own session) by the demo we ran
            if alive(p):
                os.kill(p, 9)
        shutil.rmtree(d, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_demo_names_the_component_that_failed() -> None:
    require_tools()
    r = demo("--real", "--server-cmd", "false")
    assert r.returncode == 1
    assert "demo: FAILED: NB ovsdb-server (false) exited with status 1" in r.stderr
    m = re.search(r"^demo: see (\S+)$", r.stderr, re.M)
    assert m and os.path.exists(m.group(1)), r.stderr
    kept = re.search(r"temp dir kept for the logs: (\S+)$", r.stderr, re.M)
    assert kept and os.path.isdir(kept.group(1))
    shutil.rmtree(kept.group(1))


def test_demo_rejects_unknown_options() -> None:
    r = demo("--bogus")
    assert r.returncode == 2
    assert "unrecognized arguments: --bogus" in r.stderr
    r = demo("--help")
    assert r.returncode == 0 and "--keep" in r.stdout and "--real" in r.stdout
