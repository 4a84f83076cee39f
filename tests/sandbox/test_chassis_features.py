"""The real ovn-northd 23.03 seeing pyovn's chassis: real NB and SB servers and northd,
pyovn's controller on two chassis.  The chassis advertise the features of ovn-controller
23.03, so northd writes the flows of a current controller (ct_mark.blocked, ct_lb_mark,
ct_mark.natted, ct_commit_nat for related traffic, never ct_label.blocked or ct_lb), which
pyovn's controller translates to the last flow while the scenarios' traffic passes; and it
ages out the MAC bindings pyovn's pinctrl learned, by the timestamps pinctrl wrote.  Needs
root and Open vSwitch."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyovn.controller.sbwrite import CHASSIS_FEATURES
from pyovn.sandbox.components import Stack
from pyovn.sandbox.hosts import Hosts
from pyovn.sandbox.proc import run
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import ScenarioResult, evaluate, load, parse, run_one
from tests.sandbox.helpers import running_sandbox

pytestmark = [pytest.mark.netns, pytest.mark.real]

CHASSIS = ("hv1", "hv2")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, list[str]]]:
    said: list[str] = []
    with running_sandbox(tmp_path_factory.mktemp("feat") / "sb", Stack.parse("nb,sb,northd"),
                         out=said.append) as sb:
        assert sb.stack.of("controller") == "pyovn" and sb.stack.of("northd") == "real"
        yield sb, said


@pytest.fixture(scope="module")
def ran(sandbox: tuple[Sandbox, list[str]]) -> dict[str, tuple[ScenarioResult, str]]:
    """Scenario name -> (its result, the SB logical flows right after it), filled in turn."""
    return {}


def untranslated(sb: Sandbox, hv: str) -> str:
    d = sb.state.daemon(f"{hv} controller")
    assert d is not None
    ctl = Path(sb.state.dir) / hv / f"ovn-controller.{d.pid}.ctl"
    return run([sys.executable, "-m", "pyovn", "appctl", "-t", str(ctl),
                "lflow/untranslated"], component=f"{hv} appctl").stdout


def scenario(sandbox: tuple[Sandbox, list[str]], ran: dict[str, tuple[ScenarioResult, str]],
             name: str) -> tuple[ScenarioResult, str]:
    if name not in ran:
        sb, said = sandbox
        res = run_one(sb, load(name), out=said.append)
        lflows = sb.sbctl("--bare", "--columns=match,actions", "list", "Logical_Flow").stdout
        ran[name] = (res, lflows)
    return ran[name]


def test_pyovn_chassis_advertise_the_features_of_ovn_controller_23_03(
        sandbox: tuple[Sandbox, list[str]]) -> None:
    sb, _ = sandbox
    for hv in CHASSIS:
        for flag, value in CHASSIS_FEATURES.items():
            got = sb.sbctl("get", "Chassis", hv, f"other_config:{flag}").stdout.strip()
            assert got.strip('"') == value, (hv, flag, got)
        types = sb.sbctl("get", "Chassis", hv, "other_config:iface-types").stdout
        assert "geneve" in types and "patch" in types


# Per scenario: what the real northd writes because every chassis has the features (and
# would not write otherwise), and the old flavour that must be gone.
FLAVOUR = {
    "acl": (("ct_mark.blocked == 1", "ct_commit { ct_mark.blocked = 1; }", "ct_lb_mark;",
             "ct_commit_nat;"),
            ("ct_label.blocked", "ct_label.natted")),
    "lb": (("ct_mark.blocked == 0", "ct_lb_mark(backends=", "ct_mark.natted",
            "ct_mark.skip_snat == 1", "ct_commit_nat;"),
           ("ct_label.blocked", "ct_label.natted", "ct_label.skip_snat")),
}


@pytest.mark.parametrize("name", sorted(FLAVOUR))
def test_real_northd_writes_the_ct_mark_flavour_and_pyovn_translates_all_of_it(
        sandbox: tuple[Sandbox, list[str]], ran: dict[str, tuple[ScenarioResult, str]],
        name: str) -> None:
    sb, said = sandbox
    res, lflows = scenario(sandbox, ran, name)
    assert res.error is None, "\n".join(said[-60:])
    bad = [c.check.label() for c in res.cases if not c.ok]
    assert not bad, f"{name}: not as expected: {bad}\n" + "\n".join(said[-60:])
    want, gone = FLAVOUR[name]
    for w in want:
        assert w in lflows, w
    for g in gone:
        assert g not in lflows, g
    assert not re.search(r"\bct_lb[;(]", lflows)  # ct_lb_mark only
    for hv in CHASSIS:
        assert untranslated(sb, hv).splitlines()[0] == "0", untranslated(sb, hv)
    sb.check_alive()


def _router_port(lr: str, sw: str, mac: str, cidr: str) -> list[str]:
    return ["lrp-add", lr, f"{lr}-{sw}", mac, cidr, "--", "lsp-add", sw, f"{sw}-{lr}", "--",
            "lsp-set-type", f"{sw}-{lr}", "router", "--", "lsp-set-addresses", f"{sw}-{lr}",
            "router", "--", "lsp-set-options", f"{sw}-{lr}", f"router-port={lr}-{sw}"]


# vm2's port has a MAC and no IP, so northd gives lr0 no static binding for it: lr0 must
# ARP for vm2 and learn the answer (put_arp) into a MAC_Binding row.
LEARN = {
    "name": "learn",
    "description": "lr0 learns vm2's address by ARP (its port has no IP in NB)",
    "nb": [
        ["ls-add", "sw0", "--", "ls-add", "sw1", "--", "lr-add", "lr0"],
        _router_port("lr0", "sw0", "00:00:00:00:ff:01", "10.0.0.254/24"),
        _router_port("lr0", "sw1", "00:00:00:00:ff:02", "10.0.1.254/24"),
        ["lsp-add", "sw0", "vm1", "--", "lsp-set-addresses", "vm1",
         "00:00:00:00:00:01 10.0.0.1"],
        ["lsp-add", "sw1", "vm2", "--", "lsp-set-addresses", "vm2", "00:00:00:00:00:02"],
    ],
    "vms": [
        {"name": "vm1", "chassis": 1, "port": "vm1", "mac": "00:00:00:00:00:01",
         "ip": "10.0.0.1/24", "gw": "10.0.0.254"},
        {"name": "vm2", "chassis": 2, "port": "vm2", "mac": "00:00:00:00:00:02",
         "ip": "10.0.1.2/24", "gw": "10.0.1.254"},
    ],
    "checks": [{"from": "vm1", "to": "vm2", "proto": "ping", "expect": "pass"}],
}


def _mac_bindings(sb: Sandbox) -> dict[tuple[str, str], int]:
    """(logical_port, ip) -> timestamp."""
    out = sb.sbctl("--bare", "--columns=logical_port,ip,timestamp", "list",
                   "MAC_Binding").stdout
    rows = {}
    for block in out.strip().split("\n\n"):
        if block.strip():
            port, ip, ts = block.split("\n")
            rows[(port, ip)] = int(ts)
    return rows


def _wait_for(what: str, cond: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_learned_mac_bindings_are_stamped_and_real_northd_ages_them_out(
        sandbox: tuple[Sandbox, list[str]]) -> None:
    sb, said = sandbox
    sc = parse(LEARN)
    before = int(time.time() * 1000)
    res = run_one(sb, sc, out=said.append)
    assert res.ok, "\n".join(said[-40:])
    key = ("lr0-sw1", "10.0.1.2")
    _wait_for("lr0 learned vm2", lambda: key in _mac_bindings(sb))
    first = _mac_bindings(sb)[key]
    assert before <= first <= int(time.time() * 1000)
    # Aging is northd's, and it ages only when every chassis writes timestamps: with a
    # threshold of one second, the binding goes...
    sb.nbctl("set", "Logical_Router", "lr0", "options:mac_binding_age_threshold=1")
    _wait_for("northd aged the binding out", lambda: key not in _mac_bindings(sb))
    # ... and the next packet that needs it has it learned again, stamped anew.
    sb.nbctl("remove", "Logical_Router", "lr0", "options", "mac_binding_age_threshold")
    assert [c.ok for c in evaluate(sb, sc, Hosts(sb))] == [True]
    _wait_for("lr0 learned vm2 again", lambda: key in _mac_bindings(sb))
    assert _mac_bindings(sb)[key] > first
    sb.check_alive()
