"""The runtime tracker equals the reference: after every step of random change sequences
(ports added, removed, rebound, retyped, moved, renamed; containers; requested chassis;
patch graphs; interfaces, tunnels, localnet patches, bridge mappings, encapsulation; zones
renumbered from outside) RuntimeTracker's Runtime equals compute_runtime's, and the keys
it reports equal runtime_changes between the two references.  And a one-port change on a
10,000-port state re-derives a bounded number of ports (counted, not timed)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from pyovn.controller import model as M
from pyovn.controller.binding import compute_bindings
from pyovn.controller.runtime import (
    Runtime,
    RuntimeTracker,
    compute_runtime,
    runtime_changes,
)
from tests.controller.topo import uid

ME = "hv1"
CHASSIS = [ME, "hv2", "hv3", None]
DPS = [f"dp{i}" for i in range(6)]
NAMES = [f"p{i}" for i in range(24)]
LOCALNETS = NAMES[:4]
VMS = NAMES[4:10]  # the names interfaces and containers' parents mostly point at
TYPES = ["", "", "", "virtual", "localport", "patch", "patch", "localnet", "l3gateway",
         "chassisredirect", "vtep"]


def _random_port(rng: random.Random, u: str, name: str, sb: M.SbState) -> M.PortBinding:
    t = rng.choice(TYPES)
    if name in LOCALNETS and rng.random() < 0.4:  # names our patch interfaces point at
        t = "localnet"
    opts: dict[str, str] = {}
    if t == "patch" or (t == "l3gateway" and rng.random() < 0.7):
        opts["peer"] = rng.choice(NAMES)
    if t == "localnet":
        opts["network_name"] = rng.choice(["phys", "phys2", "nowhere"])
    if t == "l3gateway":
        opts["l3gateway-chassis"] = rng.choice([ME, "hv2"])
    parent = tag = None
    if t in ("", "localnet") and rng.random() < 0.3:  # a container (or a nonsense one)
        parent = rng.choice([*VMS, rng.choice(NAMES)])
        tag = rng.choice([10, 11, None])
    return M.PortBinding(u, name, uid(rng.choice(DPS)), rng.randint(1, 50), t,
                         rng.choice(CHASSIS), parent, tag, opts,
                         requested_chassis=rng.choice([None, None, None, ME, "hv2"]),
                         **_random_ha(rng, t))


def _random_ha(rng: random.Random, t: str) -> dict[str, Any]:
    """An HA chassis group for a chassisredirect port (who binds it depends on BFD)."""
    if t != "chassisredirect" or rng.random() < 0.2:
        return {}
    members = [(rng.randint(1, 30), c) for c in rng.sample(CHASSIS, rng.randint(1, 3))]
    return {"ha_chassis": tuple(sorted(members, key=lambda m: (-m[0], m[1] or ""))),
            "ha_ref_chassis": tuple(rng.sample(["hv2", "hv3", "hv4"], rng.randint(0, 2)))}


def _free_name(rng: random.Random, sb: M.SbState) -> str | None:
    used = {pb.logical_port for pb in sb.ports.values()}
    free = [n for n in NAMES if n not in used]
    return rng.choice(free) if free else None


def _topology(rng: random.Random) -> tuple[M.LocalState, M.SbState]:
    sb = M.SbState()
    for i, d in enumerate(DPS):
        sb.datapaths[uid(d)] = M.Datapath(uid(d), i + 1, i % 3 != 0, d)
    for i, name in enumerate(NAMES[:18]):
        u = uid(f"row{i}")
        sb.ports[u] = _random_port(rng, u, name, sb)
        if name in LOCALNETS:
            sb.ports[u] = replace(sb.ports[u], type="localnet", options={
                "network_name": rng.choice(["phys", "phys2"])}, parent_port=None)
    local = M.LocalState(ME, "geneve", ("172.31.0.1",), {"phys": "br-ex"})
    for i in range(6):
        local.interfaces[f"tap{i}"] = M.Interface(f"tap{i}", 10 + i, VMS[i])
    for c in ("hv2", "hv3"):
        local.interfaces[f"ovn-{c}-0"] = M.Interface(f"ovn-{c}-0", 2, None, "geneve", c,
                                                    bfd_up=rng.random() < 0.5)
    for i, name in enumerate(("patch-a", "patch-b", "patch-c")):
        local.interfaces[name] = M.Interface(name, 30 + i, localnet=LOCALNETS[i])
    return local, sb


def _mutate_port(rng: random.Random, sb: M.SbState, step: int) -> None:
    k = rng.randrange(12)
    if k == 0 or not sb.ports:
        name = _free_name(rng, sb)
        if name is not None:
            u = uid(f"new{step}-{rng.random()}")
            sb.ports[u] = _random_port(rng, u, name, sb)
        return
    u = rng.choice(sorted(sb.ports))
    pb = sb.ports[u]
    if k == 1:
        del sb.ports[u]
    elif k == 2:
        sb.ports[u] = replace(pb, chassis=rng.choice(CHASSIS))
    elif k == 3:  # retyped, with whatever options it had
        sb.ports[u] = replace(_random_port(rng, u, pb.logical_port, sb),
                              datapath=pb.datapath, chassis=pb.chassis)
    elif k == 4:
        sb.ports[u] = replace(pb, datapath=uid(rng.choice(DPS)))
    elif k == 5:
        sb.ports[u] = replace(pb, parent_port=rng.choice([None, *VMS, "p1", "p11"]),
                              tag=rng.choice([None, 10, 12]))
    elif k == 6:
        sb.ports[u] = replace(pb, requested_chassis=rng.choice([None, ME, "hv2"]))
    elif k == 7:
        opts = dict(pb.options)
        key = rng.choice(["peer", "l3gateway-chassis", "network_name"])
        opts[key] = rng.choice([*NAMES[:8], ME, "hv2", "phys", "phys2"])
        sb.ports[u] = replace(pb, options=opts)
    elif k == 8:  # renamed in place
        name = _free_name(rng, sb)
        if name is not None:
            sb.ports[u] = replace(pb, logical_port=name)
    elif k == 9:  # the same name on a new row, within one delta
        del sb.ports[u]
        nu = uid(f"again{step}-{rng.random()}")
        sb.ports[nu] = replace(_random_port(rng, nu, pb.logical_port, sb),
                               type=rng.choice([pb.type, ""]))
    elif k == 10:
        sb.ports[u] = replace(pb, key=rng.randint(1, 50), mac=("0a:00:00:00:00:01",))
    elif k == 11 and pb.type == "chassisredirect":
        sb.ports[u] = replace(pb, **_random_ha(rng, pb.type))
    else:
        sb.ports[u] = replace(pb, type=rng.choice(TYPES))


def _mutate_sb(rng: random.Random, sb: M.SbState, step: int) -> None:
    if rng.random() < 0.06:
        d = rng.choice(DPS[3:])
        if uid(d) in sb.datapaths:
            del sb.datapaths[uid(d)]
        else:
            sb.datapaths[uid(d)] = M.Datapath(uid(d), 40, True, d)
    elif rng.random() < 0.04:
        d = uid(rng.choice(DPS))
        if d in sb.datapaths:
            sb.datapaths[d] = replace(sb.datapaths[d], key=rng.randint(1, 60))
    else:
        _mutate_port(rng, sb, step)


def _mutate_local(rng: random.Random, local: M.LocalState) -> M.LocalState:
    k = rng.randrange(9)
    ifs = local.interfaces
    if k == 0:
        name = f"tap{rng.randrange(9)}"
        if name in ifs and rng.random() < 0.5:
            del ifs[name]
        else:
            ifs[name] = M.Interface(name, rng.choice([20, 21, 22]), rng.choice(NAMES[:10]))
    elif k == 1:
        name = rng.choice(sorted(ifs))
        ifs[name] = replace(ifs[name], ofport=rng.choice([None, -1, 0, 7, 8, 40]))
    elif k == 2:
        name = rng.choice(sorted(ifs))
        ifs[name] = replace(ifs[name], iface_id=rng.choice([None, *NAMES[:10]]))
    elif k == 3:
        c = rng.choice(["hv2", "hv3", "hv4"])
        name = f"ovn-{c}-0"
        if name in ifs and rng.random() < 0.5:
            del ifs[name]
        else:
            ifs[name] = M.Interface(name, rng.choice([2, 3, None]), None,
                                    rng.choice(["geneve", "vxlan"]), c)
    elif k == 4:
        name = rng.choice(["patch-a", "patch-b", "patch-c"])
        if name in ifs and rng.random() < 0.5:
            del ifs[name]
        else:
            ifs[name] = M.Interface(name, rng.choice([30, 31]),
                                    localnet=rng.choice([*LOCALNETS, "p9"]))
    elif k == 5:
        local.bridge_mappings = {n: b for n, b in (("phys", "br-ex"), ("phys2", "br-2"))
                                 if rng.random() < 0.6}
    elif k == 6:
        if rng.random() < 0.5:
            local.encap_type = rng.choice(["geneve", "vxlan"])
        else:  # a BFD session comes up or goes down
            tun = [n for n, i in ifs.items() if i.tunnel_chassis]
            if tun:
                name = rng.choice(tun)
                ifs[name] = replace(ifs[name], bfd_up=not ifs[name].bfd_up)
    elif k == 7:  # a new LocalState, new Interface objects (as the daemon builds them)
        return M.LocalState(local.chassis, local.encap_type, local.encap_ips,
                            dict(local.bridge_mappings),
                            {n: replace(i) for n, i in ifs.items()})
    elif rng.random() < 0.15:  # the chassis renamed: everything is someone else's
        local.chassis = rng.choice([ME, "hv2"])
    return local


def _zones(rng: random.Random, rt: Runtime, older: dict[str, int]) -> dict[str, int]:
    r = rng.random()
    if r < 0.1 and rt.zones:  # renumbered from outside (br-int external_ids)
        z = dict(rt.zones)
        z[rng.choice(sorted(z))] = max(z.values()) + rng.randint(0, 3)
        return z
    if r < 0.15:  # the daemon's fallback: an older result
        return older
    if r < 0.2:
        return dict(rt.zones)  # equal, not the same object
    return rt.zones


def _assert_consistent(tracker: RuntimeTracker, sb: M.SbState) -> None:
    """The tracker's own state is what deriving it port by port gives: a rebuild reads
    the ports' contributions back from the reference, updates derive them (_bind, _place),
    and the two must agree for later updates to diff against the right values."""
    rt = tracker.rt
    assert rt is not None
    assert tracker._rows == sb.ports and tracker._by_name == sb.port_by_name()
    assert tracker._ports.keys() == tracker._by_name.keys()
    for n in tracker._by_name:
        s1 = tracker._bind(n)
        assert s1 is not None
        assert tracker._place(n, s1, rt.bindings.local_datapaths) == tracker._ports[n], n
    ports = tracker._ports.values()
    assert tracker._seeds == Counter(p.dp for p in ports if p.seed)
    assert tracker._remote_n == Counter(p.remote for p in ports if p.remote is not None)
    assert tracker._parent_n == Counter(p.parent for p in ports if p.parent is not None)
    assert tracker._local == rt.local and tracker._resident == rt.resident


@pytest.mark.parametrize("seed", range(10))
def test_tracker_equals_reference_over_random_changes(seed: int) -> None:
    rng = random.Random(7100 + seed)
    local, sb = _topology(rng)
    tracker = RuntimeTracker()
    rt, _ = tracker.update(local, sb, {}, None)
    ref = compute_runtime(local, sb, {})
    assert rt == ref
    _assert_consistent(tracker, sb)
    older = dict(rt.zones)
    for step in range(120):
        before = M.copy_state(sb)
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.7:
                _mutate_sb(rng, sb, step)
            else:
                local = _mutate_local(rng, local)
        zones = _zones(rng, rt, older)
        if step % 10 == 0:
            older = dict(rt.zones)
        delta = M.diff_states(before, sb)
        # Rows in any order: the tracker must not depend on which it looks at first.
        delta.ports = dict(rng.sample(sorted(delta.ports.items()), len(delta.ports)))
        if rng.random() < 0.03:
            delta.full = True
        rt, keys = tracker.update(local, sb, zones, delta)
        new_ref = compute_runtime(local, sb, zones)
        assert rt == new_ref, f"step {step}"
        assert keys == runtime_changes(ref, new_ref), f"step {step}"
        b = compute_bindings(local, sb)
        assert (rt.bindings.claims, rt.bindings.releases) == (b.claims, b.releases)
        _assert_consistent(tracker, sb)
        ref = new_ref


def test_a_container_of_a_container_is_not_bound_whatever_the_row_order() -> None:
    for order in ((0, 1, 2), (2, 1, 0)):
        sb = M.SbState()
        sb.datapaths[uid("sw")] = M.Datapath(uid("sw"), 1, True, "sw")
        rows = [M.PortBinding(uid("vm"), "vm", uid("sw"), 1),
                M.PortBinding(uid("c1"), "c1", uid("sw"), 2, parent_port="vm", tag=10),
                M.PortBinding(uid("c2"), "c2", uid("sw"), 3, parent_port="c1", tag=11)]
        for i in order:
            sb.ports[rows[i].uuid] = rows[i]
        local = M.LocalState(ME, interfaces={"tap": M.Interface("tap", 5, "vm")})
        b = compute_bindings(local, sb)
        assert b.containers == {"c1": (5, 10)} and b.claims == {"vm", "c1"}
        rt, _ = RuntimeTracker().update(local, sb, {}, None)
        assert rt == compute_runtime(local, sb, {})


# --- work on a large state --------------------------------------------------------------

def big_state(me: str = "hv0") -> tuple[M.LocalState, M.SbState]:
    """100 datapaths (10 routers, each patched to 9 switches), 50 chassis with tunnels
    here, 10,000 ports in all, 200 of them VIFs bound here with an interface, spread over
    every switch (so every datapath is local)."""
    sb = M.SbState()
    local = M.LocalState(me, "geneve", ("172.31.0.1",))
    for d in range(100):
        sb.datapaths[uid(f"dp{d}")] = M.Datapath(uid(f"dp{d}"), d + 1, d % 10 != 0, f"dp{d}")
    for r in range(0, 100, 10):
        for s in range(r + 1, r + 10):
            a, b = f"r{r}-s{s}", f"s{s}-r{r}"
            sb.ports[uid(a)] = M.PortBinding(uid(a), a, uid(f"dp{r}"), s, "patch",
                                             options={"peer": b})
            sb.ports[uid(b)] = M.PortBinding(uid(b), b, uid(f"dp{s}"), 1, "patch",
                                             options={"peer": a})
    i = 0
    while len(sb.ports) < 10000:
        s = i % 90
        dp = uid(f"dp{s + s // 9 + 1}")  # the 90 switches
        name = f"p{i}"
        ch = me if i < 200 else f"hv{1 + i % 49}"
        sb.ports[uid(name)] = M.PortBinding(uid(name), name, dp, 2 + i // 90, chassis=ch)
        if ch == me:
            local.interfaces[f"tap{i}"] = M.Interface(f"tap{i}", 100 + i, name)
        i += 1
    for c in range(1, 50):
        local.interfaces[f"ovn-hv{c}-0"] = M.Interface(f"ovn-hv{c}-0", c, None, "geneve",
                                                       f"hv{c}")
    return local, sb


def test_a_one_port_change_on_10000_ports_rederives_a_bounded_number_of_ports() -> None:
    local, sb = big_state()
    tracker = RuntimeTracker()
    rt, _ = tracker.update(local, sb, {}, None)
    assert len(rt.local) == 200 and len(rt.local_datapaths) == 100
    assert tracker.work.full and tracker.work.ports == 10000
    _assert_consistent(tracker, sb)
    ref = compute_runtime(local, sb, rt.zones)

    def change(ports: dict[str, M.PortBinding | None], zones: dict[str, int]) -> set:
        nonlocal ref
        delta = M.SbDelta()
        for u, pb in ports.items():
            delta.ports[u] = sb.ports.get(u)
            if pb is None:
                del sb.ports[u]
            else:
                sb.ports[u] = pb
        _, keys = tracker.update(local, sb, zones, delta)
        new_ref = compute_runtime(local, sb, zones)
        assert tracker.rt == new_ref and keys == runtime_changes(ref, new_ref)
        ref = new_ref
        return keys

    # A remote port rebound to another chassis: one port, no closure.
    u = uid("p5000")
    keys = change({u: replace(sb.ports[u], chassis="hv7")}, tracker.rt.zones)
    assert keys == {("role", "p5000")}
    assert (tracker.work.ports, tracker.work.closures) == (1, 0)

    # A new port, a VIF with an interface here: it, and no closure (its switch is local).
    local.interfaces["tap-new"] = M.Interface("tap-new", 9000, "new")
    nu = uid("new")
    keys = change({nu: M.PortBinding(nu, "new", uid("dp1"), 999)}, tracker.rt.zones)
    assert {("local", "new"), ("role", "new"), ("zone", "new")} <= keys
    assert tracker.work.ports == 1 and tracker.work.closures == 0

    # A container in a VIF, then the VIF's interface gone: the VIF and its container.
    cu = uid("cont")
    change({cu: M.PortBinding(cu, "cont", uid("dp1"), 998, parent_port="p0", tag=5)},
           tracker.rt.zones)
    assert tracker.work.ports == 1
    del local.interfaces["tap0"]
    keys = change({}, tracker.rt.zones)
    assert {("parent", "p0"), ("local", "cont"), ("local", "p0")} <= keys
    assert tracker.work.ports == 2 and tracker.work.closures == 0

    # A patch port changed: the local datapaths are closed again (over datapaths, not
    # ports), and the ports re-derived are still only the one that changed.
    pu = uid("s1-r0")
    change({pu: replace(sb.ports[pu], options={"peer": "nowhere"})}, tracker.rt.zones)
    assert tracker.work.ports == 1 and tracker.work.closures == 1
    assert tracker.work.datapaths <= 100

    # The last VIF of a switch gone: its datapath stays local (its router reaches it) and
    # nothing else moves; a port removed outright.
    keys = change({uid("p5001"): None}, tracker.rt.zones)
    assert keys == {("role", "p5001")} and tracker.work.ports == 1
