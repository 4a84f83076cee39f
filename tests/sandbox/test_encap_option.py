"""``--encap``: each chassis' ovn-encap-type in the sandbox.  Parsing (pure), the state file,
and a control-plane sandbox whose simulated chassis register VXLAN, which makes northd (the
real one and pyovn's) narrow the tunnel keys (max_tunid 4095)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.sandbox import parse_encaps
from pyovn.sandbox.state import State, StateError

from .helpers import CONTROL_TOOLS, leftovers, need, pyovn_sandbox, snapshot


@pytest.mark.parametrize("spec, n, want", [
    (None, 2, ["geneve", "geneve"]),
    ("", 3, ["geneve"] * 3),
    ("vxlan", 3, ["vxlan"] * 3),
    (" VXLAN ", 1, ["vxlan"]),
    ("geneve,vxlan", 2, ["geneve", "vxlan"]),
])
def test_encap_spec(spec: str | None, n: int, want: list[str]) -> None:
    assert parse_encaps(spec, n) == want


@pytest.mark.parametrize("spec, n, message", [
    ("stt", 2, "unknown encapsulation.*stt"),
    ("vxlan,", 2, "unknown encapsulation.*''"),
    ("gre", 1, "choose from geneve, vxlan"),
    ("geneve,vxlan", 3, "2 types for 3 chassis"),
])
def test_bad_encap_spec_is_refused(spec: str, n: int, message: str) -> None:
    with pytest.raises(StateError, match=message):
        parse_encaps(spec, n)


def test_state_keeps_the_encaps_and_reads_old_files_as_geneve(tmp_path: Path) -> None:
    st = State(dir=str(tmp_path), id="abcde", status="running",
               stack=Stack.parse(None).as_dict(), dataplane=False, chassis=2,
               encaps=["geneve", "vxlan"])
    st.save()
    back = State.load(str(tmp_path))
    assert back == st and (back.encap(1), back.encap(2)) == ("geneve", "vxlan")
    raw = json.loads((tmp_path / "state.json").read_text())
    del raw["encaps"]  # written before --encap existed
    (tmp_path / "state.json").write_text(json.dumps(raw))
    old = State.load(str(tmp_path))
    assert old is not None and old.encap(1) == old.encap(2) == "geneve"


def test_bad_encap_on_the_command_line_names_the_option(tmp_path: Path) -> None:
    r = pyovn_sandbox("start", "--control-plane-only", "--encap", "stt", "--dir",
                      str(tmp_path / "sb"))
    assert r.returncode == 1 and "--encap: unknown encapsulation(s) stt" in r.stderr
    assert not (tmp_path / "sb").exists()


@pytest.mark.real
@pytest.mark.parametrize("real", [[], ["--real"]])
def test_vxlan_chassis_narrow_the_tunnel_keys(tmp_path: Path, real: list[str]) -> None:
    need(*CONTROL_TOOLS)
    d = tmp_path / "sb"
    r = pyovn_sandbox("start", "--control-plane-only", "--encap", "vxlan", "--dir", str(d),
                      *real)
    assert r.returncode == 0, r.stdout + r.stderr
    sid, procs = snapshot(d)
    try:
        st = pyovn_sandbox("status", "--dir", str(d))
        assert "2 chassis (encap vxlan,vxlan)" in st.stdout
        sh = pyovn_sandbox("shell", "--dir", str(d), "-c",
                           "ovn-sbctl --bare --columns=type list Encap && "
                           "ovn-nbctl --wait=sb sync && "
                           "ovn-nbctl get NB_Global . options:max_tunid && "
                           "ovn-sbctl get SB_Global . options:max_tunid")
        assert sh.returncode == 0, sh.stderr
        assert sh.stdout.split() == ["vxlan", "vxlan", '"4095"', '"4095"']
    finally:
        stop = pyovn_sandbox("stop", "--dir", str(d))
    assert stop.returncode == 0, stop.stderr
    assert leftovers(sid, procs) == []
