"""Tunnel keys when a chassis uses VXLAN (ovn-architecture(7), "Tunnel Encapsulations"):
datapath keys from 12 bits, port keys from 11, options:max_tunid 4095 in NB_Global and
SB_Global; keys given out before stay.  pyovn's northd against the real ovn-northd 23.03 on
the same steps; the key ranges also as pure functions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from pyovn.northd.sync import KeyAllocator
from pyovn.northd.tunnel_keys import (
    GENEVE_LIMITS,
    MAX_DP_KEY,
    VXLAN_LIMITS,
    key_limits,
    vxlan_mode,
)
from tests.integration.procs import Central, require_tools

from .deploy import PyovnCentral, wait_for

# ---- pure ----------------------------------------------------------------------------------


@dataclass
class _Row:
    cols: dict[str, Any]

    def raw(self, col: str) -> Any:
        return self.cols[col]


@dataclass
class _Table:
    rows: dict[str, _Row] = field(default_factory=dict)


def _sb(*chassis: tuple[str, ...]) -> dict[str, Any]:
    """SB tables with one Chassis per argument, holding Encaps of those types."""
    encap, ch = _Table(), _Table()
    for i, types in enumerate(chassis):
        refs = []
        for j, t in enumerate(types):
            encap.rows[f"e{i}.{j}"] = _Row({"type": t})
            refs.append(f"e{i}.{j}")
        ch.rows[f"c{i}"] = _Row({"encaps": tuple(refs)})
    return {"Chassis": ch, "Encap": encap}


def test_vxlan_mode_needs_one_chassis_with_a_vxlan_encap() -> None:
    assert not vxlan_mode(_sb())
    assert not vxlan_mode(_sb(("geneve",), ("stt",)))
    assert vxlan_mode(_sb(("geneve",), ("geneve", "vxlan")))
    assert vxlan_mode(_sb(("vxlan",)))
    assert not vxlan_mode({})  # SB not replicated yet: the wide ranges
    # An Encap no chassis refers to does not count (the real northd walks Chassis.encaps).
    t = _sb(("geneve",))
    cast(_Table, t["Encap"]).rows["orphan"] = _Row({"type": "vxlan"})
    assert not vxlan_mode(t)


def test_limits_are_ovn_northds() -> None:
    assert key_limits(False) == GENEVE_LIMITS and key_limits(True) == VXLAN_LIMITS
    assert (GENEVE_LIMITS.dp, GENEVE_LIMITS.port) == (16711680, 32767) == (MAX_DP_KEY, 32767)
    assert (VXLAN_LIMITS.dp, VXLAN_LIMITS.port) == (4095, 2047)
    assert (GENEVE_LIMITS.max_tunid, VXLAN_LIMITS.max_tunid) == ("16711680", "4095")


def test_narrowed_allocator_keeps_old_keys_and_wraps_into_the_new_range() -> None:
    a = KeyAllocator(1, GENEVE_LIMITS.port)
    used = {k: None for k in range(1, 2101)}  # 1..2100 given out under Geneve
    a.hint = 2100
    a.hi = VXLAN_LIMITS.port
    assert a.alloc(used) is None  # 1..2047 all taken: nothing, not 2101
    del used[7]
    assert a.alloc(used) == 7
    used[7] = None
    a.hi = GENEVE_LIMITS.port  # the VXLAN chassis left: the wide range again
    assert a.alloc(used) == 2101


# ---- pyovn's northd and the real one, step by step -----------------------------------------


def _max_tunid(c: Central) -> tuple[str, str]:
    nb = c.nbctl("get", "NB_Global", ".", "options:max_tunid").stdout.strip().strip('"')
    sb = c.sbctl("get", "SB_Global", ".", "options:max_tunid").stdout.strip().strip('"')
    return nb, sb


def _port_keys(c: Central) -> dict[str, int]:
    r = c.sbctl("--format=json", "--columns=logical_port,tunnel_key", "list", "Port_Binding")
    return {name: key for name, key in json.loads(r.stdout)["data"]}


def _dp_keys(c: Central) -> dict[str, int]:
    r = c.sbctl("--format=json", "--columns=external_ids,tunnel_key", "list",
                "Datapath_Binding")
    return {dict(ids[1])["name"]: key for ids, key in json.loads(r.stdout)["data"]}


def _ok(r: Any) -> None:
    assert r.returncode == 0, r.stderr


def _steps(c: Central) -> dict[str, Any]:
    """The same steps on either northd; what they showed."""
    seen: dict[str, Any] = {}
    _ok(c.nbctl("init"))
    _ok(c.sync())
    wait_for(lambda: _max_tunid(c) == ("16711680", "16711680"), what="Geneve max_tunid")
    # 2050 ports on one switch while no chassis uses VXLAN: keys up to 2050; one under 2048
    # freed again.
    _ok(c.nbctl("ls-add", "big", *[a for i in range(1, 2051)
                                   for a in ("--", "lsp-add", "big", f"p{i}")]))
    _ok(c.sync(timeout=120))
    freed = 100
    _ok(c.nbctl("lsp-del", next(p for p, k in _port_keys(c).items() if k == freed)))
    _ok(c.sync())
    before = _port_keys(c)
    seen["geneve_max_port_key"] = max(before.values())
    # A VXLAN chassis arrives.
    _ok(c.sbctl("chassis-add", "hv9", "vxlan", "172.31.0.9"))
    wait_for(lambda: _max_tunid(c) == ("4095", "4095"), what="VXLAN max_tunid")
    _ok(c.nbctl("lsp-add", "big", "late", "--", "ls-add", "small", "--",
                "lsp-add", "small", "s1", "--", "lsp-add", "small", "s2"))
    _ok(c.sync())
    after = _port_keys(c)
    seen["old_keys_kept"] = all(after.get(p) == k for p, k in before.items())
    # The one key under 2048 still free on "big" (not 2051, after the last one given out).
    seen["late_gets_the_freed_key"] = after.get("late") == freed
    seen["small_keys"] = sorted(after[p] for p in ("s1", "s2"))
    seen["small_dp_key_fits"] = _dp_keys(c)["small"] <= 4095
    # The last VXLAN chassis leaves: the wide ranges again.
    _ok(c.sbctl("chassis-del", "hv9"))
    wait_for(lambda: _max_tunid(c) == ("16711680", "16711680"), what="max_tunid back")
    _ok(c.nbctl("lsp-add", "big", "later"))
    _ok(c.sync())
    seen["later_port_key"] = _port_keys(c).get("later")
    return seen


@pytest.fixture(params=["real-northd", "pyovn-northd"])
def central(request: pytest.FixtureRequest) -> Iterator[Central]:
    require_tools()
    if request.param == "real-northd":
        c: Central = Central("real", northd=True, tag="vx-ref")
    else:
        p = PyovnCentral("real", tag="vx-sut")
        p.start_northd()
        c = p
    try:
        yield c
    finally:
        c.stop()


EXPECTED = {"geneve_max_port_key": 2050, "old_keys_kept": True, "late_gets_the_freed_key": True,
            "small_keys": [1, 2], "small_dp_key_fits": True, "later_port_key": 2051}


@pytest.mark.real
def test_vxlan_key_ranges_as_the_real_northd(central: Central) -> None:
    assert _steps(central) == EXPECTED
