"""VXLAN between chassis, for real: the sandbox with ovn-encap-type=vxlan on every chassis.

1. Scenarios over VXLAN on all-real, on pyovn's controller among the real servers and
   northd, and on all-pyovn: l2 and routing, acl, and flood (ARP and frames to unlearned
   MACs cross the tunnels in the broadcast and unknown multicast groups, whose 16-bit keys
   VXLAN's 12 bits must carry).
2. pyovn's controller taking over from the real ovn-controller 23.03 on a running VXLAN
   sandbox: it keeps the tunnel ports the real one made (same row, options and ofport) and
   installs the same physical flows (table 0's tunnel-in flows, the output tables with the
   VNI packing, tables 64/65), then carries traffic.
Needs root and Open vSwitch."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.proc import Daemon, run, start_daemon, stop_daemons, wait_socket
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import load, run_one

from .helpers import need_dataplane, remove

pytestmark = [pytest.mark.netns, pytest.mark.real]

STACKS = [Stack.parse("all"), Stack.parse("nb,sb,northd,trace"), Stack.parse(None)]
SCENARIOS = ["l2", "routing", "acl", "flood"]
# The physical tables (ovn-architecture(7) with 23.03's numbering).
PHYSICAL_TABLES = {0, 37, 38, 39, 40, 41, 64, 65}
WAIT = 60.0  # only a bound on failure


def new_sandbox(tmp: pytest.TempPathFactory, stack: Stack, said: list[str]) -> Sandbox:
    sb = Sandbox.create(str(tmp.mktemp("vxlan") / "sb"), stack, chassis=2,
                        out=said.append, encap="vxlan")
    sb.start()
    return sb


@pytest.fixture(scope="module", params=STACKS, ids=[s.label() for s in STACKS])
def sandbox(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, list[str]]]:
    need_dataplane()
    said: list[str] = []
    sb = new_sandbox(tmp_path_factory, request.param, said)
    try:
        yield sb, said
    finally:
        remove(sb)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_over_vxlan(sandbox: tuple[Sandbox, list[str]], name: str) -> None:
    sb, said = sandbox
    assert "VXLAN mesh up" in "\n".join(said)
    for i in (1, 2):
        assert sb.vsctl(i, "get", "Open_vSwitch", ".", "external_ids:ovn-encap-type").strip() \
            == "vxlan"
    res = run_one(sb, load(name), out=said.append)
    assert res.error is None, "\n".join(said[-60:])
    bad = [c.check.label() for c in res.cases if not c.ok]
    assert not bad, f"{name} on {res.stack} over VXLAN: {bad}\n" + "\n".join(said[-60:])
    # Every tunnel really is VXLAN (no Geneve port slipped in).
    for i in (1, 2):
        types = sb.vsctl(i, "--bare", "--columns=type", "find", "Interface",
                         "options:key=flow").split()
        assert types and set(types) == {"vxlan"}, (i, types)
    sb.check_alive()


# ---- pyovn's controller after the real one -------------------------------------------------


def physical_flows(sb: Sandbox, i: int) -> set[str]:
    out = run(["ovs-ofctl", "-O", "OpenFlow15", "--no-stats", "dump-flows",
               f"unix:{sb.state.hv_dir(i)}/br-int.mgmt"]).stdout
    flows = set()
    for line in out.splitlines():
        line = line.strip()
        if "actions=" not in line:
            continue
        table = int(line.split("table=")[1].split(",")[0]) if "table=" in line else 0
        if table in PHYSICAL_TABLES:
            flows.add(line)
    return flows


def tunnel_ports(sb: Sandbox, i: int) -> list[str]:
    ifaces = sb.vsctl(i, "--format=csv", "--columns=_uuid,name,type,options,ofport", "find",
                      "Interface", "options:key=flow")
    ports = sb.vsctl(i, "--format=csv", "--columns=name,interfaces,external_ids", "find",
                     "Port", "external_ids:ovn-chassis-id!=[]")
    return sorted(ifaces.splitlines()[1:] + ports.splitlines()[1:])


def bundles(sb: Sandbox, i: int, d: Daemon) -> int:
    """How many flow bundles pyovn's controller on hv<i> has sent to the switch."""
    ctl = os.path.join(sb.state.hv_dir(i), f"ovn-controller.{d.pid}.ctl")
    out = run(["ovs-appctl", "-t", ctl, "inc-engine/show-stats"]).stdout
    return int(out.split("bundles:")[1].split()[0])


def replace_controller(sb: Sandbox, i: int, stack: Stack) -> Daemon:
    """hv<i>'s controller stopped by its pid and ``stack``'s started with the same options
    and environment; recorded in the sandbox state so that teardown stops it."""
    st = sb.state
    old = st.daemon(f"hv{i} controller")
    assert old is not None and old.alive()
    argv = [a.decode() for a in
            Path(f"/proc/{old.pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")]
    keep = ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVN_RUNDIR")
    env = {k: v for k, _, v in (e.decode().partition("=") for e in
                                Path(f"/proc/{old.pid}/environ").read_bytes().split(b"\0"))
           if k in keep}
    stop_daemons([old])
    st.daemons.remove(old)
    st.save()
    # argv is "ip netns exec NS ovn-controller OPTIONS...": keep only the options.
    opts = argv[argv.index("ovn-controller") + 1:] if "ovn-controller" in argv else argv[1:]
    d = start_daemon(old.name, [*stack.command("controller"), *opts], log=old.log,
                     out=old.out, env=env, netns=st.ns(f"hv{i}"))
    st.daemons.append(d)
    st.save()
    wait_socket(d, os.path.join(st.hv_dir(i), f"ovn-controller.{d.pid}.ctl"))
    return d


def take_over(sb: Sandbox) -> dict[int, Daemon]:
    """pyovn's controller instead of the real one on every chassis, once its first bundle
    (which replaces the switch's whole table) is in: the real one's flows stay in the
    switch until then."""
    new = {i: replace_controller(sb, i, Stack.parse(None)) for i in (1, 2)}
    deadline = time.monotonic() + WAIT
    while not all(bundles(sb, i, d) >= 1 for i, d in new.items()):
        for d in new.values():
            assert d.alive(), f"pyovn's controller exited:\n{d.tail()}"
        assert time.monotonic() < deadline, "pyovn's controllers installed nothing"
        time.sleep(0.1)
    return new


def test_pyovn_controller_takes_over_from_the_real_one_with_the_same_tunnels_and_flows(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    need_dataplane()
    said: list[str] = []
    sb = new_sandbox(tmp_path_factory, Stack.parse("all"), said)
    try:
        sc = load("flood")
        res = run_one(sb, sc, out=said.append)
        assert res.ok, "\n".join(said[-40:])
        real_flows = {i: physical_flows(sb, i) for i in (1, 2)}
        real_ports = {i: tunnel_ports(sb, i) for i in (1, 2)}
        for i in (1, 2):
            assert any("tun_id=0x800000/0x800000" in f for f in real_flows[i]), \
                "the real controller installed no VXLAN multicast flow"
        new = take_over(sb)
        deadline = time.monotonic() + WAIT
        while any(physical_flows(sb, i) != real_flows[i] for i in (1, 2)):
            for d in new.values():
                assert d.alive(), f"pyovn's controller exited:\n{d.tail()}"
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for i in (1, 2):
            got = physical_flows(sb, i)
            assert got == real_flows[i], f"hv{i}: physical flows differ:\n" + "\n".join(
                [f"- {x}" for x in sorted(real_flows[i] - got)]
                + [f"+ {x}" for x in sorted(got - real_flows[i])])
            assert tunnel_ports(sb, i) == real_ports[i], f"hv{i}: tunnel ports changed"
        res = run_one(sb, sc, out=said.append)
        assert res.ok, "\n".join(said[-40:])
        sb.check_alive()
    finally:
        remove(sb)
