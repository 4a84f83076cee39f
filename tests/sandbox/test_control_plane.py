"""The control plane alone (no root needed): databases, northd and simulated chassis, driven
through the ``pyovn sandbox`` command; start/stop across invocations; a failing component
named with its log."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pyovn.sandbox import components
from pyovn.sandbox.components import Stack
from pyovn.sandbox.proc import SandboxError
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.state import State

from .helpers import CONTROL_TOOLS, leftovers, need, pyovn_sandbox, snapshot

pytestmark = pytest.mark.real


@pytest.mark.parametrize("real", [[], ["--real"]])
def test_start_shell_stop_across_invocations(tmp_path: Path, real: list[str]) -> None:
    need(*CONTROL_TOOLS)
    d = tmp_path / "sb"
    r = pyovn_sandbox("start", "--control-plane-only", "--chassis", "3", "--dir", str(d), *real)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert "NO DATA PLANE" in r.stdout
        label = "real" if real else "pyovn"
        assert f"NB ovsdb-server ({label}) serving" in r.stdout
        assert f"SB ovsdb-server ({label}) serving" in r.stdout
        assert "sandbox: ready" in r.stdout
        sid, procs = snapshot(d)
        again = pyovn_sandbox("start", "--control-plane-only", "--dir", str(d))
        assert again.returncode == 1 and "already running" in again.stderr
        sh = pyovn_sandbox("shell", "--dir", str(d), "-c",
                           "ovn-nbctl ls-add swx && ovn-nbctl --wait=sb sync && "
                           "ovn-sbctl show && ovn-sbctl --bare --columns=external_ids "
                           "list Datapath_Binding && echo \"$PS1\"")
        assert sh.returncode == 0, sh.stderr
        for i in (1, 2, 3):
            assert f"Chassis hv{i}" in sh.stdout
        assert "name=swx" in sh.stdout  # northd ran between the two databases
        assert f"pyovn sandbox {sid}" in sh.stdout
        st = pyovn_sandbox("status", "--dir", str(d))
        assert st.returncode == 0 and "data plane: NO" in st.stdout
    finally:
        stop = pyovn_sandbox("stop", "--dir", str(d))
    assert stop.returncode == 0, stop.stderr
    assert leftovers(sid, procs) == []
    assert not d.exists()
    none = pyovn_sandbox("shell", "--dir", str(d), "-c", "true")
    assert none.returncode == 1 and "no sandbox" in none.stderr


def test_demo_without_data_plane_says_so_and_cleans_up(tmp_path: Path) -> None:
    need(*CONTROL_TOOLS)
    d = tmp_path / "sb"
    r = pyovn_sandbox("demo", "--control-plane-only", "--dir", str(d))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    for want in ("$ ovn-nbctl show", "(sw0)", "(lr0)", "$ ovn-sbctl show", "Chassis hv2",
                 "Port_Binding vm3", "NO DATA PLANE", "$ pyovn trace"):
        assert want in out, want
    # the simulated bindings follow the placement: vm1 on hv1, vm2 on hv2
    sbshow = out.split("$ ovn-sbctl show")[1].split("$ pyovn trace")[0]
    blocks = {m.group(1): m.group(2) for m in
              re.finditer(r"Chassis (hv\d+)\n(.*?)(?=Chassis|\Z)", sbshow, re.S)}
    assert "Port_Binding vm1" in blocks["hv1"] and "Port_Binding vm3" in blocks["hv1"]
    assert "Port_Binding vm2" in blocks["hv2"] and "Port_Binding vm4" in blocks["hv2"]
    assert not d.exists()


def test_failing_component_is_named_with_its_log(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    need(*CONTROL_TOOLS)
    monkeypatch.setitem(components.REAL, "northd",
                        ["sh", "-c", "echo northd-broke-here >&2; exit 3", "ovn-northd"])
    said: list[str] = []
    sb = Sandbox.create(str(tmp_path / "sb"), Stack.parse("northd"), dataplane=False,
                        out=said.append)
    with pytest.raises(SandboxError) as e:
        sb.start()
    assert e.value.component == "northd"
    assert e.value.log is not None and os.path.exists(e.value.log)
    text = "\n".join(said)
    assert re.search(r"FAILED: northd: exited", text), text
    assert f"log: {e.value.log}" in text
    logs = Path(e.value.log).read_text() + Path(str(tmp_path / "sb" / "ovn-northd.out")) \
        .read_text()
    assert "northd-broke-here" in logs
    # what did start (the two servers) is gone again; the logs stay for reading
    st = State.load(str(tmp_path / "sb"))
    assert st is not None and st.status == "failed" and st.daemons == []
    assert not sb.leftovers()
    r = pyovn_sandbox("stop", "--dir", str(tmp_path / "sb"))
    assert r.returncode == 0 and not (tmp_path / "sb").exists()
