"""The sandbox's pure parts: stack choice, scenario files and their validation, state files,
the TCP/UDP probe (on loopback only), and the report."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pyovn.sandbox import components, probe
from pyovn.sandbox.components import COMPONENTS, Stack, StackError, available_mixes
from pyovn.sandbox.proc import Daemon, start_time
from pyovn.sandbox.sandbox import Sandbox, dataplane_unavailable
from pyovn.sandbox.scenario import (
    SCENARIO_DIR,
    CaseResult,
    Check,
    ScenarioError,
    ScenarioResult,
    load,
    names,
    parse,
    report,
    substitute,
)
from pyovn.sandbox.state import Host, State, StateError, sandbox_dir

# ---- stacks --------------------------------------------------------------------------------


def test_default_stack_uses_pyovn_where_pyovn_has_the_program() -> None:
    s = Stack.parse(None)
    for c in COMPONENTS:
        assert s.of(c) == ("pyovn" if components.PYOVN[c] is not None else "real")
    assert s.of("nb") == "pyovn" and s.of("sb") == "pyovn"
    assert s.command("nb")[:3] == [sys.executable, "-m", "pyovn"]
    assert s.command("northd") == [sys.executable, "-m", "pyovn", "northd"]
    assert s.label() == "all-pyovn"


@pytest.mark.parametrize("spec", ["", "all", " all "])
def test_bare_real_is_all_real(spec: str) -> None:
    s = Stack.parse(spec)
    assert all(s.of(c) == "real" for c in COMPONENTS)
    assert s.command("nb") == ["ovsdb-server"]
    assert s.label() == "all-real"


def test_real_per_component() -> None:
    s = Stack.parse("sb, northd")
    assert s.of("sb") == "real" and s.of("nb") == "pyovn"
    assert s.label() == "pyovn:nb,controller,trace"


@pytest.mark.parametrize("spec", ["northd,bogus", "nbdb", ",", "NB"])
def test_bad_real_spec_names_the_component(spec: str) -> None:
    with pytest.raises(StackError, match="--real"):
        Stack.parse(spec)


def test_stack_round_trips_through_state_and_rejects_junk() -> None:
    s = Stack.parse("nb")
    assert Stack.from_dict(s.as_dict()) == s
    with pytest.raises(StackError):
        Stack.from_dict({"nb": "real"})
    with pytest.raises(StackError):
        Stack.from_dict({**s.as_dict(), "nb": "c"})


def test_mixes_cover_real_pyovn_and_each_pyovn_server_alone() -> None:
    labels = [s.label() for s in available_mixes()]
    assert labels[:2] == ["all-real", "all-pyovn"]
    assert "pyovn:nb" in labels and "pyovn:sb" in labels
    assert len(set(labels)) == len(labels)


# ---- scenarios -----------------------------------------------------------------------------


def test_shipped_scenarios_load_and_cover_the_issue() -> None:
    have = names()
    for want in ("l2", "acl", "routing", "dhcp", "containers", "localnet", "lb"):
        assert want in have
    assert "demo" not in have and "demo" in names(include_demo=True)
    for n in names(include_demo=True):
        sc = load(n)
        assert sc.checks, n
        assert any(c.expect for c in sc.checks), n
    assert any(not c.expect for c in load("acl").checks)
    assert any(v["ip"] == "dhcp" for v in load("dhcp").vms)
    assert load("containers").containers and load("localnet").externals
    # lb: a check to an address that is no host (the VIP), its backends on both chassis
    # (their listeners start because each backend is also checked directly).
    lb = load("lb")
    hosts = {v["name"]: v["chassis"] for v in lb.vms}
    assert any(c.dst not in hosts and c.expect and c.proto == "tcp" for c in lb.checks)
    assert {hosts[c.dst] for c in lb.checks if c.dst in hosts} == {1, 2}
    demo = load("demo")
    assert demo.trace is not None and any(v["ip"] == "dhcp" for v in demo.vms)
    # ping_all: every ordered pair of VMs gets a ping check
    pings = {(c.src, c.dst) for c in demo.checks if c.proto == "ping"}
    vms = [v["name"] for v in demo.vms]
    assert pings == {(a, b) for a in vms for b in vms if a != b}


def base() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((Path(SCENARIO_DIR) / "l2.json").read_text())
    return copy.deepcopy(raw)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("name"), "missing 'name'"),
    (lambda d: d.update(nb="ls-add sw0"), "'nb' must be list"),
    (lambda d: d["nb"].append([]), "non-empty list of strings"),
    (lambda d: d["nb"].append({"cmd": ["ls-add", "x"]}), "missing 'save'"),
    (lambda d: d.update(extra=1), "unknown field"),
    (lambda d: d["vms"][0].update(mac="00:00:00:00:00"), "bad MAC"),
    (lambda d: d["vms"][0].update(ip="10.0.0.300/24"), "bad ip"),
    (lambda d: d["vms"][0].update(ip="10.0.0.1"), "prefix length"),
    (lambda d: d["vms"][0].update(name="hv1"), "bad host name"),
    (lambda d: d["vms"][0].update(name="Vm1"), "bad host name"),
    (lambda d: d["vms"][0].update(chassis="1"), "'chassis' must be int"),
    (lambda d: d["vms"][0].update(chassis=True), "'chassis' must be int"),
    (lambda d: d["vms"][0].update(chassis=0), "chassis must be >= 1"),
    (lambda d: d["vms"][0].update(colour="red"), "unknown field"),
    (lambda d: d["vms"].append(dict(d["vms"][0])), "used twice"),
    (lambda d: d["checks"][0].update(proto="icmp"), "proto must be"),
    (lambda d: d["checks"][0].update(expect="maybe"), "expect must be"),
    (lambda d: d["checks"][0].update(to="nowhere"), "neither a host"),
    (lambda d: d["checks"][0].update(port=22), "ping takes no port"),
    (lambda d: d["checks"][4].pop("port"), "needs a port"),
    (lambda d: d["checks"][4].update(port=70000), "needs a port"),
    (lambda d: d["checks"][0].update(**{"from": "ghost"}), "unknown host"),
    (lambda d: d.update(ping_all="yes"), "ping_all"),
    (lambda d: d.update(trace={"datapath": "sw0"}), "trace must be"),
    (lambda d: d.update(externals=[{"name": "ext", "mac": "00:00:00:00:00:09",
                                    "ip": "dhcp"}]), "needs 'ip'"),
    (lambda d: d.update(containers=[{"name": "c1", "vm": "vm9", "port": "c1", "tag": 1,
                                     "mac": "00:00:00:00:00:09", "ip": "10.0.0.9/24"}]),
     "unknown VM"),
    (lambda d: d.update(containers=[{"name": "c1", "vm": "vm1", "port": "c1", "tag": 4095,
                                     "mac": "00:00:00:00:00:09", "ip": "10.0.0.9/24"}]),
     "tag must be"),
])
def test_bad_scenarios_are_refused_with_the_spot_named(mutate: Any, message: str) -> None:
    d = base()
    parse(d)  # the unmodified one is fine
    mutate(d)
    with pytest.raises(ScenarioError, match=message):
        parse(d)


def test_scenario_that_is_not_an_object_or_not_json(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="JSON object"):
        parse([1, 2])
    bad = tmp_path / "x.json"
    bad.write_text("{nope")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load(str(bad))
    with pytest.raises(ScenarioError, match=r"no scenario 'nosuch'.*l2"):
        load("nosuch")


def test_substitute_saved_values() -> None:
    assert substitute(["set", "x", "{{a}}", "k={{a}}"], {"a": "u-1"}) == \
        ["set", "x", "u-1", "k=u-1"]
    with pytest.raises(ScenarioError, match="unknown"):
        substitute(["{{b}}"], {"a": "1"})


def test_report_is_case_by_case_per_stack_and_flags_mismatches() -> None:
    good = Check("vm1", "vm2", "ping", None, True)
    blocked = Check("vm1", "vm2", "tcp", 22, False)
    r1 = ScenarioResult("acl", "all-real", [CaseResult(good, True), CaseResult(blocked, False)])
    r2 = ScenarioResult("acl", "all-pyovn", [CaseResult(good, True), CaseResult(blocked, True)])
    assert r1.ok and not r2.ok
    assert "1 of 2 cases NOT as expected" in r2.summary()
    text = report([r1, r2])
    lines = text.splitlines()
    assert "all-real" in lines[0] and "all-pyovn" in lines[0]
    row = next(x for x in lines if "tcp/22" in x)
    assert row.split()[-2:] == ["✓", "✗"]
    assert lines[-1] == "SOME CASES NOT AS EXPECTED"
    assert report([r1]).splitlines()[-1] == "all cases as expected"
    err = ScenarioResult("l2", "all-real", error="hv1: boom")
    assert not err.ok and "ERROR" in report([err])
    # not run (no data plane) is not a failure, and says so
    cp = ScenarioResult("l2", "all-pyovn", [CaseResult(good, None)], note="no data plane")
    assert cp.ok and cp.cases[0].mark() == "-"


# ---- state ---------------------------------------------------------------------------------


def test_state_round_trip(tmp_path: Path) -> None:
    st = State(dir=str(tmp_path), id="abcde", status="running",
               stack=Stack.parse(None).as_dict(), dataplane=True, chassis=2)
    st.daemons.append(Daemon("nb", 1, 2, "/l", "/o"))
    st.hosts.append(Host("vm1", "vm", st.ns("vm1"), st.link("e1"), "10.0.0.1", 1,
                         ovs_ports=[(1, "x")], listener=Daemon("p", 3, 4, "/l", "/o")))
    st.save()
    back = State.load(str(tmp_path))
    assert back == st
    assert st.link("e123") == "psabcdee123" and len(st.link("d200")) <= 15


@pytest.mark.parametrize("content", ["{", "[]", '{"marker": "other"}',
                                     '{"marker": "pyovn-sandbox"}'])
def test_bad_state_file_is_an_error_not_a_crash(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)
    with pytest.raises(StateError):
        State.load(str(tmp_path))


def test_sandbox_dir_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PYOVN_SANDBOX_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert sandbox_dir() == str(tmp_path / "sandbox")
    monkeypatch.setenv("PYOVN_SANDBOX_DIR", "rel")
    assert sandbox_dir() == str(tmp_path / "rel")
    assert sandbox_dir("/x/y") == "/x/y"


def test_create_refuses_a_directory_that_is_not_a_sandbox(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(StateError, match="not a sandbox directory"):
        Sandbox.create(str(tmp_path), Stack.parse(None), out=lambda s: None)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    with pytest.raises(StateError, match="--chassis"):
        Sandbox.create(str(tmp_path / "new"), Stack.parse(None), chassis=0)


def test_without_root_there_is_no_data_plane(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "root" in (dataplane_unavailable() or "")
    said: list[str] = []
    sb = Sandbox.create(str(tmp_path / "sb"), Stack.parse(None), out=said.append)
    assert not sb.state.dataplane
    assert any("no data plane" in s and "root" in s for s in said)
    with pytest.raises(StateError, match="no data plane possible"):
        Sandbox.create(str(tmp_path / "sb2"), Stack.parse(None), dataplane=True)


def test_start_time_of_gone_process_is_none() -> None:
    pr = subprocess.Popen(["true"])
    pr.wait()
    assert start_time(pr.pid) is None
    assert start_time(os.getpid()) is not None
    d = Daemon("x", os.getpid(), (start_time(os.getpid()) or 0) + 1, "", "")
    assert not d.alive()  # same pid, other start time: never signalled


# ---- probe (loopback only) -----------------------------------------------------------------


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_probe_serves_tcp_and_udp_and_connect_reports(tmp_path: Path) -> None:
    tcp, udp = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    ready = tmp_path / "ready"
    pr = subprocess.Popen([sys.executable, probe.__file__, "serve", str(ready),
                           "--tcp", str(tcp), "--udp", str(udp)])
    try:
        deadline = time.monotonic() + 10
        while not ready.exists():
            assert pr.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        assert probe.connect("tcp", "127.0.0.1", tcp, 2) == 0
        assert probe.connect("udp", "127.0.0.1", udp, 2) == 0
        closed = free_port(socket.SOCK_STREAM)
        assert probe.connect("tcp", "127.0.0.1", closed, 1) == 1
        assert probe.connect("udp", "127.0.0.1", free_port(socket.SOCK_DGRAM), 0.5) == 1
    finally:
        pr.terminate()
        pr.wait()


@pytest.mark.parametrize("argv", [["connect", "sctp", "127.0.0.1", "1"],
                                  ["serve", "r", "--tcp", "0"],
                                  ["serve", "r", "--udp", "x"], []])
def test_probe_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        probe.main(argv)
    assert e.value.code == 2
