"""pyovn's northd against the real ovn-northd on the same NB: the same logical flows stage by
stage, and the same ovn-trace verdicts for a battery of packets (L2 unicast and broadcast,
port security, ACLs with connection states, ARP/ND for known addresses, DHCP, DNS, routed
IPv4/IPv6, TTL expiry, static routes).  Real ovsdb-servers on both sides; the real ovn-trace
reads both SBs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.procs import Central, require_tools

from . import topos
from .deploy import PyovnCentral, lflows, nbctl_all, trace

pytestmark = [pytest.mark.real]


@pytest.fixture(scope="module", params=topos.ALL, ids=lambda f: f.__name__)
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[topos.Topo, Central, PyovnCentral]]:
    require_tools("ovn-trace")
    topo = request.param()
    real = Central("real", northd=True, tag=f"ref-{topo.name}")
    mine = PyovnCentral("real", tag=f"sut-{topo.name}")
    try:
        mine.start_northd()
        nbctl_all(real, topo.cmds)
        nbctl_all(mine, topo.cmds)
        yield topo, real, mine
    finally:
        real.stop()
        mine.stop()


def test_logical_flows_equal_real_northd(pair: tuple[topos.Topo, Central, PyovnCentral]) -> None:
    _topo, real, mine = pair
    want, got = lflows(real), lflows(mine)
    assert len(want) > 80
    missing = sorted(want - got)
    extra = sorted(got - want)
    assert not missing and not extra, (
        "missing:\n" + "\n".join(missing[:40]) + "\nextra:\n" + "\n".join(extra[:40]))


def test_trace_verdicts_equal_real_northd(pair: tuple[topos.Topo, Central, PyovnCentral]) -> None:
    topo, real, mine = pair
    cases = topos.packets(topo)
    assert len(cases) >= 40
    bad = []
    delivered = 0
    for dp, ct, flow in cases:
        want = trace(real, dp, ct, flow)
        got = trace(mine, dp, ct, flow)
        delivered += "output(" in want
        if want != got:
            bad.append(f"{dp} ct={ct} {flow}\n--- real:\n{want}\n--- pyovn:\n{got}")
    assert not bad, f"{len(bad)}/{len(cases)} differ:\n" + "\n\n".join(bad[:5])
    # The battery is not all drops.
    assert delivered > len(cases) // 10
