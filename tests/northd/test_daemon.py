"""The `pyovn northd` daemon against real and pyovn OVSDB servers: status feedback
(nb_cfg -> sb_cfg -> hv_cfg, Logical_Switch_Port.up), stable tunnel keys across changes and
restarts, the control socket, and active/standby fail-over on the SB lock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.integration.procs import Central, require_server, require_tools

from . import topos
from .deploy import ROOT, PyovnCentral, lflow_rows, lflows, nbctl_all, wait_for

pytestmark = [pytest.mark.real]


@pytest.fixture
def central() -> Iterator[PyovnCentral]:
    require_tools()
    c = PyovnCentral("real")
    try:
        yield c
    finally:
        c.stop()


def _keys(c: Central) -> dict[str, int]:
    """Tunnel keys by "Datapath_Binding:<name>" and "Port_Binding:<logical_port>"."""
    out = {}
    for table, col in (("Datapath_Binding", "external_ids"), ("Port_Binding", "logical_port")):
        r = c.sbctl("--format=json", f"--columns={col},tunnel_key", "list", table)
        for name, key in json.loads(r.stdout)["data"]:
            if col == "external_ids":
                name = dict(name[1])["name"]
            out[f"{table}:{name}"] = key
    return out


def test_same_flows_as_real_northd_with_pyovn_servers() -> None:
    """pyovn's northd on pyovn's ovsdb-server gives the real northd's flows."""
    require_tools("ovn-trace")
    require_server("pyovn")
    topo = topos.routed()
    real = Central("real", northd=True, tag="ref-srv")
    try:
        # (Started inside: if pyovn's side cannot start, the real one is still stopped.)
        mine = PyovnCentral("pyovn", tag="sut-srv")
        try:
            mine.start_northd()
            nbctl_all(real, topo.cmds)
            nbctl_all(mine, topo.cmds)
            assert lflows(mine) == lflows(real)
        finally:
            mine.stop()
    finally:
        real.stop()


def test_nb_cfg_flows_to_sb_and_back(central: PyovnCentral) -> None:
    central.start_northd()
    nbctl_all(central, topos.l2().cmds)
    r = central.nbctl("--wait=hv", "--timeout=10", "lsp-add", "sw1", "extra")
    assert r.returncode == 0, r.stderr
    nb_cfg = int(central.nbctl("get", "NB_Global", ".", "nb_cfg").stdout)
    assert nb_cfg >= 2
    assert int(central.sbctl("get", "SB_Global", ".", "nb_cfg").stdout) == nb_cfg
    assert int(central.nbctl("get", "NB_Global", ".", "sb_cfg").stdout) == nb_cfg
    assert int(central.nbctl("get", "NB_Global", ".", "hv_cfg").stdout) == nb_cfg
    # A chassis that lags holds hv_cfg back, so --wait=hv waits for it.
    r = central.sbctl("--", "--id=@c", "create", "Chassis_Private", "name=hv1",
                      f"nb_cfg={nb_cfg - 1}")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: int(central.nbctl("get", "NB_Global", ".", "hv_cfg").stdout)
             == nb_cfg - 1, what="hv_cfg to follow the chassis")
    r = central.nbctl("--wait=hv", "--timeout=1", "sync")
    assert r.returncode != 0
    # (the failed wait bumped nb_cfg too: the chassis must be past both.)
    central.sbctl("set", "Chassis_Private", "hv1", f"nb_cfg={nb_cfg + 100}")
    r = central.nbctl("--wait=hv", "--timeout=10", "sync")
    assert r.returncode == 0, r.stderr


def test_port_up_follows_port_binding(central: PyovnCentral) -> None:
    central.start_northd()
    nbctl_all(central, topos.routed().cmds)
    get_up = lambda p: central.nbctl("get", "Logical_Switch_Port", p, "up").stdout.strip()  # noqa: E731
    wait_for(lambda: get_up("vm11") == "false", what="vm11 down")
    assert get_up("sw1-lr0") == "true"
    central.sbctl("set", "Port_Binding", "vm11", "up=true")
    wait_for(lambda: get_up("vm11") == "true", what="vm11 up")
    central.sbctl("set", "Port_Binding", "vm11", "up=false")
    wait_for(lambda: get_up("vm11") == "false", what="vm11 down again")


def test_tunnel_keys_stable_across_changes_and_restarts(central: PyovnCentral) -> None:
    pr = central.start_northd()
    nbctl_all(central, topos.routed().cmds)
    before = _keys(central)
    assert len(set(k for n, k in before.items() if n.startswith("Datapath"))) == 5
    central.nbctl("--wait=sb", "lsp-del", "vm12")
    central.nbctl("--wait=sb", "ls-del", "sw3")
    central.nbctl("--wait=sb", "lsp-add", "sw1", "new1", "--", "ls-add", "sw9")
    after = _keys(central)
    for name, key in before.items():
        if name in after:
            assert after[name] == key, name
    # The freed keys are not handed out again at once.
    assert after["Port_Binding:new1"] != before["Port_Binding:vm12"]
    pr.send_signal(signal.SIGTERM)
    pr.wait(10)
    central.start_northd(1)
    r = central.nbctl("--wait=sb", "--timeout=10", "lsp-add", "sw2", "new2")
    assert r.returncode == 0, r.stderr
    restarted = _keys(central)
    for name, key in after.items():
        assert restarted[name] == key, name


def test_control_socket_status_recompute_stats(central: PyovnCentral) -> None:
    central.start_northd()
    nbctl_all(central, topos.acl().cmds)
    assert central.status(0) == "Status: active"
    before = lflows(central)
    central.appctl(0, "recompute")
    r = central.nbctl("--wait=sb", "sync")
    assert r.returncode == 0
    assert lflows(central) == before
    stats = central.appctl(0, "inc-engine/show-stats")
    assert "Node: northd" in stats and "recompute:" in stats
    assert "units recomputed" in stats


def test_bad_option_is_an_error() -> None:
    r = subprocess.run([sys.executable, "-m", "pyovn", "northd", "--ovnnb-db=punix:/x",
                        "--unixctl=none"], capture_output=True, text=True, timeout=30,
                       cwd=ROOT)
    assert r.returncode != 0
    assert "active remote" in r.stderr


def test_standby_takes_over_without_losing_or_repeating_changes(central: PyovnCentral) -> None:
    require_tools()
    a = central.start_northd(0)
    nbctl_all(central, topos.acl().cmds)
    central.start_northd(1)
    wait_for(lambda: central.status(1) == "Status: standby",
             what="second instance on standby")
    assert central.status(0) == "Status: active"
    # Changes while the active one dies: some land before, some after.
    central.nbctl("lsp-add", "sw1", "late1")
    a.send_signal(signal.SIGKILL)
    a.wait(10)
    central.nbctl("lsp-add", "sw2", "late2", "--", "acl-add", "sw2", "to-lport", "10", "ip6",
                  "drop")
    wait_for(lambda: central.status(1) == "Status: active", timeout=5,
             what="standby to take over")
    r = central.nbctl("--wait=sb", "--timeout=10", "sync")
    assert r.returncode == 0, r.stderr
    # The same SB as a northd that never failed over would write.
    ref = Central("real", northd=True, tag="ref-failover")
    try:
        nbctl_all(ref, [*topos.acl().cmds, ["lsp-add", "sw1", "late1"],
                        ["lsp-add", "sw2", "late2"],
                        ["acl-add", "sw2", "to-lport", "10", "ip6", "drop"]])
        assert lflows(central) == lflows(ref)
    finally:
        ref.stop()
    rows = lflow_rows(central)
    assert len(rows) == len(set(rows)), "duplicate Logical_Flow rows"
    pbs = central.sbctl("--format=csv", "--no-headings", "--columns=logical_port", "list",
                        "Port_Binding").stdout.split()
    assert len(pbs) == len(set(pbs))
