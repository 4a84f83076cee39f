"""The incremental core equals the full recompute: a long-lived ControllerCore fed each
change as a delta, and a fresh one recomputing everything, hold the same flow table (and
bindings, zones and untranslatable flows) after every step of random change sequences that
touch every input the flows read; and a change costs work in proportion to it."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from pyovn.controller import model as M
from pyovn.controller.incremental import FIXED, ControllerCore
from pyovn.logical import ofrep as O
from pyovn.openflow.desired import flow_key
from tests.controller.topo import lflow, two_chassis_switch, uid

MATCHES = [
    ('inport == "{p}"', "next;"),
    ('outport == "{p}" && ip4.src == $as1', "drop;"),
    ("eth.dst == 00:00:00:00:00:0{n}", 'outport = "{p}"; output;'),
    ("ip4 && tcp.dst == {{80, 443}} && ip4.src == {{10.0.0.1, 10.0.0.{n}}}", "next;"),
    ('is_chassis_resident("{p}")', "next;"),
    ('is_chassis_resident("cr-lrp0") && eth.type == 0x800', "next;"),
    ("inport == @pg1 && udp", "ct_next;"),
    ("outport == @pg2 && ip4", "drop;"),
    ("arp.op == 1", "put_arp(inport, arp.spa, arp.sha); next;"),
    ("eth.mcast", 'outport = "_MC_flood"; output;'),
    ("ip4.dst == $as2 && tcp", 'outport = "{p}"; output;'),
    ("no_such_field == 1", "next;"),  # untranslatable: counted, never installed
]
PORTS = ["vm1", "vm2", "vm3", "vm9", "c1", "lrp0", "rp0", "cr-lrp0", "ln1"]
DPS = ["sw0", "sw1", "lr0"]


def topology() -> tuple[M.LocalState, M.SbState]:
    """two_chassis_switch plus a router lr0 (key 3) patched to sw0, a distributed gateway
    port's chassisredirect, a localnet port on sw1, a container c1 in vm1."""
    local, sb = two_chassis_switch()
    sb.datapaths[uid("lr0")] = M.Datapath(uid("lr0"), 3, False, "lr0")
    for name, dp, key, kw in (
            ("rp0", "sw0", 3, {"type": "patch", "options": {"peer": "lrp0"}}),
            ("lrp0", "lr0", 1, {"type": "patch", "options": {"peer": "rp0"}}),
            ("cr-lrp0", "lr0", 2, {"type": "chassisredirect", "chassis": "hv2",
                                   "options": {"distributed-port": "lrp0"},
                                   "ha_chassis": ((20, "hv2"), (10, "hv1"))}),
            ("ln1", "sw1", 2, {"type": "localnet", "options": {"network_name": "phys"}}),
            ("c1", "sw0", 4, {"parent_port": "vm1", "tag": 10})):
        sb.ports[uid(name)] = M.PortBinding(uid(name), name, uid(dp), key, **kw)  # type: ignore[arg-type]
    local.bridge_mappings["phys"] = "br-ex"
    local.interfaces["patch-ln1"] = M.Interface("patch-ln1", 9, localnet="ln1")
    sb.address_sets.update({"as1": ("10.0.0.1",), "as2": ("10.1.0.1", "10.1.0.2")})
    sb.port_groups.update({"pg1": ("vm1",), "1_pg2": ("vm2",), "pg2": ("vm9",)})
    sb.mac_bindings[uid("mb0")] = M.MacBinding(uid("mb0"), "lrp0", "192.168.0.5",
                                               "0a:00:00:00:00:05", uid("lr0"))
    sb.fdbs[uid("fdb0")] = M.Fdb(uid("fdb0"), "0a:00:00:00:00:07", 1, 2)
    lb = _random_lb(random.Random(1), 0)
    sb.load_balancers[lb.uuid] = lb
    return local, sb


VIPS = [("172.16.0.1:80", "10.0.0.1:80,10.0.0.2:80"), ("172.16.0.2", "10.0.0.3"),
        ("[fd00::1]:443", "[fd00::2]:443"), ("fd00::5", "fd00::6,fd00::7"),
        ("172.16.0.3:80", ""), ("172.16.0.4:80", "10.0.0.4"),  # the last is malformed
        ("junk", "10.0.0.1")]


def _random_lb(rng: random.Random, i: int) -> M.LoadBalancer:
    """A load balancer on some of the datapaths (or none), any protocol, with valid and
    malformed VIPs, and either hairpin option."""
    opts = {}
    if rng.random() < 0.7:
        opts["hairpin_orig_tuple"] = "true"
    if rng.random() < 0.4:
        opts["hairpin_snat_ip"] = rng.choice(["172.16.0.99", "fd00::99 172.16.0.98", "bad"])
    return M.LoadBalancer(uid(f"lb{i % 3}"), f"lb{i % 3}", dict(rng.sample(VIPS, 2)),
                          rng.choice(["tcp", "udp", "sctp", ""]),
                          tuple(uid(d) for d in rng.sample(DPS, rng.randint(0, 2))), opts)


def _random_lflow(rng: random.Random, i: int) -> M.LogicalFlow:
    m, a = rng.choice(MATCHES)
    p = rng.choice(PORTS)
    n = rng.randint(1, 9)
    lf = lflow(f"lf{i}", rng.choice(DPS), rng.randint(0, 3), rng.choice([50, 100, 100]),
               m.format(p=p, n=n), a.format(p=p, n=n))
    r = rng.random()
    if r < 0.15:  # a datapath group
        lf = replace(lf, datapaths=tuple(uid(d) for d in rng.sample(DPS, 2)))
    elif r < 0.25:
        lf = replace(lf, in_out_port=rng.choice(PORTS))
    return lf


def _mutate_sb(rng: random.Random, sb: M.SbState, i: int) -> None:
    k = rng.randrange(15)
    if k <= 1 or not sb.lflows:
        lf = _random_lflow(rng, i)
        sb.lflows[lf.uuid] = lf
    elif k == 2:
        del sb.lflows[rng.choice(sorted(sb.lflows))]
    elif k == 3:
        u = rng.choice(sorted(sb.ports))
        sb.ports[u] = replace(sb.ports[u], chassis=rng.choice(["hv1", "hv2", "hv3", None]))
    elif k == 4:
        u = rng.choice(sorted(sb.ports))
        sb.ports[u] = replace(sb.ports[u], key=rng.randint(1, 9))
    elif k == 5:
        name = rng.choice(["as1", "as2"])
        sb.address_sets[name] = tuple(f"10.{name[-1]}.0.{rng.randint(1, 5)}"
                                      for _ in range(rng.randint(0, 3)))
    elif k == 6:
        name = rng.choice(["pg1", "pg2", "1_pg2", "3_pg1"])
        if rng.random() < 0.2:
            sb.port_groups.pop(name, None)
        else:
            sb.port_groups[name] = tuple(rng.sample(PORTS, rng.randint(0, 3)))
    elif k == 7:
        u = uid("vm3")
        if u in sb.ports:
            del sb.ports[u]
        else:
            sb.ports[u] = M.PortBinding(u, "vm3", uid(rng.choice(["sw0", "sw1"])), 5,
                                        chassis=rng.choice(["hv1", None]))
    elif k == 8:
        u = uid("flood0")
        members = tuple(uid(p) for p in rng.sample(PORTS, rng.randint(0, 4)))
        sb.mcast_groups[u] = replace(sb.mcast_groups[u], ports=members)
    elif k == 9:
        u = uid(f"mb{rng.randint(0, 3)}")
        if u in sb.mac_bindings and rng.random() < 0.4:
            del sb.mac_bindings[u]
        else:
            port = rng.choice(["lrp0", "vm2", "rp0"])
            sb.mac_bindings[u] = M.MacBinding(
                u, port, rng.choice(["192.168.0.5", "192.168.0.6", "fe80::1", "bad"]),
                rng.choice(["0a:00:00:00:00:05", "0a:00:00:00:00:06", "zz"]),
                sb.ports[uid(port)].datapath if uid(port) in sb.ports else uid("sw0"))
    elif k == 10:
        u = uid(rng.choice(DPS))
        sb.datapaths[u] = replace(sb.datapaths[u], key=rng.randint(1, 6))
    elif k == 12:
        # MAC learning: a row learned, moved to another port or datapath key, or forgotten
        # (the keys follow the datapaths' random keys of k == 10; some MACs are malformed).
        u = uid(f"fdb{rng.randint(0, 3)}")
        if u in sb.fdbs and rng.random() < 0.3:
            del sb.fdbs[u]
        else:
            sb.fdbs[u] = M.Fdb(u, rng.choice(["0a:00:00:00:00:07", "0a:00:00:00:00:08", "zz"]),
                               rng.randint(1, 6), rng.randint(1, 4))
    elif k == 13:
        u = uid(f"lb{i % 3}")
        if u in sb.load_balancers and rng.random() < 0.3:
            del sb.load_balancers[u]
        else:
            lb = _random_lb(rng, i)
            sb.load_balancers[lb.uuid] = lb
    elif k == 14:
        # northd switches the hairpin flavour (ct_mark or ct_label), or sets another option.
        name = rng.choice(["lb_hairpin_use_ct_mark", "mac_prefix"])
        if rng.random() < 0.3:
            sb.options.pop(name, None)
        else:
            sb.options[name] = rng.choice(["true", "false", "0a:00:00"])
    elif k == 11 and rng.random() < 0.5:
        # The gateway moves: who is active for cr-lrp0's HA chassis group.
        u = uid("cr-lrp0")
        if u in sb.ports:
            sb.ports[u] = replace(sb.ports[u], ha_chassis=rng.choice(
                [((20, "hv2"), (10, "hv1")), ((20, "hv1"),), ((30, "hv1"), (5, None)), ()]),
                chassis=rng.choice(["hv1", "hv2", None]))
    else:
        u = uid("c1")
        if u in sb.ports:
            sb.ports[u] = replace(sb.ports[u], tag=rng.choice([10, 11, None]),
                                  parent_port=rng.choice(["vm1", "vm2"]))


def _mutate_local(rng: random.Random, local: M.LocalState) -> None:
    k = rng.randrange(5)
    if k == 0:
        if "tap3" in local.interfaces:
            del local.interfaces["tap3"]
        else:
            local.interfaces["tap3"] = M.Interface("tap3", 7, "vm3")
    elif k == 1:
        if "tap1" in local.interfaces:
            i = local.interfaces["tap1"]
            local.interfaces["tap1"] = replace(i, ofport=rng.choice([5, 6, None]))
    elif k == 2:
        if "ovn-hv3-0" in local.interfaces:
            del local.interfaces["ovn-hv3-0"]
        else:
            local.interfaces["ovn-hv3-0"] = M.Interface("ovn-hv3-0", 2, None,
                                                        rng.choice(["geneve", "vxlan"]), "hv3")
    elif k == 3:
        if rng.random() < 0.5:
            local.encap_type = rng.choice(["geneve", "vxlan"])
        elif "ovn-hv2-0" in local.interfaces:  # BFD to hv2 up or down
            i = local.interfaces["ovn-hv2-0"]
            local.interfaces["ovn-hv2-0"] = replace(i, bfd_up=not i.bfd_up)
    else:
        if "patch-ln1" in local.interfaces:
            del local.interfaces["patch-ln1"]
        else:
            local.interfaces["patch-ln1"] = M.Interface("patch-ln1", 9, localnet="ln1")


def _table(core: ControllerCore) -> list[str]:
    return sorted(str(f) for f in core.desired.flows())


def _assert_same(inc: ControllerCore, full: ControllerCore, step: int) -> None:
    assert _table(inc) == _table(full), f"step {step}"
    assert inc.lflow_stats().failed == full.lflow_stats().failed, f"step {step}"
    assert inc.zones == full.zones and inc.bindings == full.bindings, f"step {step}"
    assert inc.desired.groups_used == full.desired.groups_used


@pytest.mark.parametrize("seed", range(6))
def test_incremental_flow_table_equals_full_recompute_over_random_changes(seed: int) -> None:
    rng = random.Random(20230 + seed)
    local, sb = topology()
    for i in range(25):
        lf = _random_lflow(rng, i)
        sb.lflows[lf.uuid] = lf
    inc = ControllerCore()
    inc.run(local, sb, {}, full=True)
    zones = inc.zones
    for step in range(60):
        before = M.copy_state(sb)
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.75:
                _mutate_sb(rng, sb, 100 + step * 4 + _)
            else:
                _mutate_local(rng, local)
        if zones and rng.random() < 0.15:
            # A zone renumbered from outside (as br-int's external_ids after a restart).
            zones = dict(zones)
            zones[rng.choice(sorted(zones))] = max(zones.values()) + rng.randint(1, 9)
        inc.run(local, sb, zones, M.diff_states(before, sb))
        full = ControllerCore()
        full.run(local, sb, zones, full=True)
        _assert_same(inc, full, step)
        zones = inc.zones


def test_unchanged_input_recomputes_nothing_and_one_new_flow_compiles_once() -> None:
    local, sb = topology()
    rng = random.Random(7)
    for i in range(20):
        lf = _random_lflow(rng, i)
        sb.lflows[lf.uuid] = replace(lf, datapaths=(uid("sw0"),))
    core = ControllerCore()
    core.run(local, sb, {}, full=True)
    assert core.last.full and core.last.owners["lflow"] == 20
    core.desired.take_dirty()
    again = core.run(local, sb, core.zones, M.SbDelta())
    assert again.owners == {} and not core.desired.dirty
    before = M.copy_state(sb)
    lf = lflow("new", "sw0", 0, 10, 'inport == "vm1"', "next;")
    sb.lflows[lf.uuid] = lf
    third = core.run(local, sb, core.zones, M.diff_states(before, sb))
    assert third.owners == {"lflow": 1}
    assert len(core.desired.dirty) == 1


def test_a_port_change_recomputes_only_the_owners_that_read_it() -> None:
    local, sb = topology()
    sb.lflows[uid("a")] = lflow("a", "sw0", 0, 10, 'inport == "vm2"', "next;")
    sb.lflows[uid("b")] = lflow("b", "sw0", 0, 10, 'inport == "vm1"', "next;")
    core = ControllerCore()
    core.run(local, sb, {}, full=True)
    core.desired.take_dirty()
    before = M.copy_state(sb)
    sb.ports[uid("vm2")] = replace(sb.ports[uid("vm2")], key=7)
    stats = core.run(local, sb, core.zones, M.diff_states(before, sb))
    # vm2's own flows, the flood group that has it, and the logical flow naming it.
    assert stats.owners == {"port": 1, "mc": 1, "lflow": 1}
    assert any("reg14=0x7" in str(f) for f in core.desired.flows_of(("lflow", uid("a"),
                                                                      uid("sw0"))))


def test_datapath_becoming_local_brings_its_flows_and_going_away_removes_them() -> None:
    local, sb = topology()
    # (hv1 is a standby gateway of lr0 in this topology: that alone would keep it local.)
    sb.ports[uid("cr-lrp0")] = replace(sb.ports[uid("cr-lrp0")], ha_chassis=())
    sb.lflows[uid("s1")] = lflow("s1", "lr0", 0, 10, "ip4", "next;")
    core = ControllerCore()
    core.run(local, sb, {}, full=True)
    assert ("lflow", uid("s1"), uid("lr0")) in core.desired  # lr0: local through sw0's patch
    del local.interfaces["tap1"]
    core.run(local, sb, core.zones, M.SbDelta())
    assert core.bindings.local_datapaths == set()
    assert core.desired.owners() == [FIXED]
    local.interfaces["tap1"] = M.Interface("tap1", 5, "vm1")
    core.run(local, sb, core.zones, M.SbDelta())
    full = ControllerCore()
    full.run(local, sb, core.zones, full=True)
    assert _table(core) == _table(full)


def test_conjunction_clauses_shared_by_two_logical_flows_are_merged() -> None:
    local, sb = topology()
    m = "ip4.src == {10.0.0.1, 10.0.0.2} && tcp.dst == {80, 443}"
    sb.lflows[uid("x")] = lflow("x", "sw0", 1, 100, m, "drop;")
    sb.lflows[uid("y")] = lflow("y", "sw0", 1, 100, m.replace("10.0.0.2", "10.0.0.3"),
                                "next;")
    core = ControllerCore()
    core.run(local, sb, {}, full=True)
    flows = core.desired.flows()
    keys = [flow_key(f) for f in flows]
    assert len(keys) == len(set(keys))
    shared = [f for f in flows if "tp_dst=80" in str(f) and f.table == 9]
    (f,) = shared
    conj = [a for a in f.actions if isinstance(a, O.Conjunction)]
    assert len(conj) == 2 and len({a.id for a in conj}) == 2
    assert core.desired.conflicts() == []
