"""The incremental path equals the full recompute: a long-lived LflowTranslator (which
reuses what it compiled) and a fresh one give the same flow table after every change of a
random sequence; and an unchanged input recompiles nothing."""

from __future__ import annotations

import random
from dataclasses import replace

from pyovn.controller import model as M
from pyovn.controller.flows import compute_flows
from pyovn.controller.lflow import LflowTranslator
from tests.controller.topo import lflow, two_chassis_switch, uid

MATCHES = [
    ('inport == "{p}"', "next;"),
    ('outport == "{p}" && ip4.src == $as1', "drop;"),
    ("eth.dst == 00:00:00:00:00:0{n}", 'outport = "{p}"; output;'),
    ("ip4 && tcp.dst == {{80, 443}} && ip4.src == {{10.0.0.1, 10.0.0.{n}}}", "next;"),
    ('is_chassis_resident("{p}")', "next;"),
    ('inport == @pg1 && udp', "ct_next;"),
    ("arp.op == 1", "put_arp(inport, arp.spa, arp.sha); next;"),
]
PORTS = ["vm1", "vm2", "vm3", "vm9"]


def _table(flows: list[M.LogicalFlow] | object) -> list[str]:
    assert isinstance(flows, list)
    return sorted(str(f) for f in flows)


def _random_lflow(rng: random.Random, i: int) -> M.LogicalFlow:
    m, a = rng.choice(MATCHES)
    p = rng.choice(PORTS)
    n = rng.randint(1, 9)
    return lflow(f"lf{i}", rng.choice(["sw0", "sw1"]), rng.randint(0, 5),
                 rng.randint(1, 200), m.format(p=p, n=n), a.format(p=p, n=n))


def _mutate(rng: random.Random, local: M.LocalState, sb: M.SbState, i: int) -> None:
    k = rng.randrange(7)
    if k == 0 or not sb.lflows:
        lf = _random_lflow(rng, i)
        sb.lflows[lf.uuid] = lf
    elif k == 1:
        del sb.lflows[rng.choice(sorted(sb.lflows))]
    elif k == 2:
        u = rng.choice(sorted(sb.ports))
        sb.ports[u] = replace(sb.ports[u], chassis=rng.choice(["hv1", "hv2", "hv3", None]))
    elif k == 3:
        if "tap3" in local.interfaces:
            del local.interfaces["tap3"]
        else:
            local.interfaces["tap3"] = M.Interface("tap3", 7, "vm3")
    elif k == 4:
        sb.address_sets["as1"] = tuple(f"10.0.0.{rng.randint(1, 5)}"
                                       for _ in range(rng.randint(0, 3)))
    elif k == 5:
        sb.port_groups["pg1"] = tuple(rng.sample(PORTS, rng.randint(0, 3)))
    else:
        u = uid("vm3")
        if u in sb.ports:
            del sb.ports[u]
        else:
            sb.ports[u] = M.PortBinding(u, "vm3", uid("sw1"), 3, chassis="hv1")


def test_incremental_flow_table_equals_full_recompute_over_random_changes() -> None:
    rng = random.Random(20230)
    for _run in range(5):
        local, sb = two_chassis_switch()
        sb.address_sets["as1"] = ("10.0.0.1",)
        sb.port_groups["pg1"] = ("vm1",)
        for i in range(30):
            lf = _random_lflow(rng, i)
            sb.lflows[lf.uuid] = lf
        inc = LflowTranslator()
        for step in range(40):
            _mutate(rng, local, sb, 100 + step)
            zones: dict[str, int] = {}
            a = compute_flows(local, sb, zones, inc)
            b = compute_flows(local, sb, zones, LflowTranslator())
            assert _table(a.flows) == _table(b.flows), f"step {step}"
            assert a.lflow_stats.failed == b.lflow_stats.failed


def test_no_change_recompiles_nothing() -> None:
    local, sb = two_chassis_switch()
    rng = random.Random(7)
    for i in range(20):
        lf = _random_lflow(rng, i)
        sb.lflows[lf.uuid] = replace(lf, datapaths=(uid("sw0"),))
    tr = LflowTranslator()
    first = compute_flows(local, sb, {}, tr)
    again = compute_flows(local, sb, first.zones, tr)
    assert first.lflow_stats.compiled == 20 and again.lflow_stats.compiled == 0
    lf = _random_lflow(rng, 99)
    sb.lflows[lf.uuid] = replace(lf, datapaths=(uid("sw0"),))
    third = compute_flows(local, sb, first.zones, tr)
    assert third.lflow_stats.compiled == 1


def test_untranslatable_flow_is_counted_not_dropped_silently() -> None:
    local, sb = two_chassis_switch()
    bad = lflow("bad", "sw0", 0, 10, "no_such_field == 1", "next;")
    sb.lflows[bad.uuid] = bad
    c = compute_flows(local, sb, {})
    assert c.untranslated == 1 and bad.uuid in c.lflow_stats.failed
