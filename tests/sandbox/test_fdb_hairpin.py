"""FDB (tables 71/72, put_fdb) and load-balancer hairpin (tables 68-70) for real: the
all-real sandbox runs a scenario, then pyovn's controller takes over on both chassis
with the SB the real one had, and must install the same flows and carry the same traffic.

- flood (ports with unknown addresses): tables 71 and 72 as the real ovn-controller
  23.03's; then every FDB row deleted, and pyovn's put_fdb learns the VMs' MACs again on
  the same ports, with the same flows.
- lb, whose last check is a backend connecting to its own VIP (hairpin): tables 68 and 70
  as the real one's (SB_Global options:lb_hairpin_use_ct_mark unset: the ct_mark
  flavour), table 69's reply flows learned the same; and without tables 68/70 that check
  fails (so it does test hairpin).
Needs root and Open vSwitch."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.proc import Daemon, run
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import build, evaluate, load
from tests.sandbox.helpers import running_sandbox

from .test_vxlan import take_over

pytestmark = [pytest.mark.netns, pytest.mark.real]

WAIT = 60.0  # only a bound on failure


def dump(sb: Sandbox, i: int, tables: set[int]) -> list[str]:
    """hv<i>'s flows of 'tables' as ovs-ofctl prints them, without statistics."""
    out = run(["ovs-ofctl", "-O", "OpenFlow15", "--no-stats", "dump-flows",
               f"unix:{sb.state.hv_dir(i)}/br-int.mgmt"]).stdout
    flows = []
    for line in out.splitlines():
        line = line.strip()
        if "actions=" in line and table_of(line) in tables:
            flows.append(line)
    return sorted(flows)


def table_of(line: str) -> int:
    head = line.split(" actions=")[0]
    return int(head.split("table=")[1].split(",")[0]) if "table=" in head else 0


def diff(want: list[str], got: list[str]) -> str:
    return "\n".join([f"- {x}" for x in sorted(set(want) - set(got))]
                     + [f"+ {x}" for x in sorted(set(got) - set(want))])


def wait_equal(sb: Sandbox, tables: set[int], want: dict[int, list[str]],
               daemons: dict[int, Daemon]) -> None:
    deadline = time.monotonic() + WAIT
    while any(dump(sb, i, tables) != want[i] for i in want):
        for d in daemons.values():
            assert d.alive(), f"pyovn's controller exited:\n{d.tail()}"
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for i in want:
        got = dump(sb, i, tables)
        assert got == want[i], f"hv{i}, tables {sorted(tables)}:\n{diff(want[i], got)}"


def fdb_rows(sb: Sandbox) -> set[tuple[str, int, int]]:
    out = sb.sbctl("--format=csv", "--no-headings", "--columns=mac,dp_key,port_key",
                   "list", "FDB").stdout
    rows = set()
    for line in out.splitlines():
        mac, dp, port = line.split(",")
        rows.add((mac.strip('"'), int(dp), int(port)))
    return rows


def cookies(flows: list[str]) -> set[str]:
    return {f.split(", ", 1)[0] for f in flows}


def without_cookie(flows: list[str]) -> list[str]:
    return sorted(f.split(", ", 1)[1] for f in flows)


@pytest.fixture
def real_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    said: list[str] = []
    with running_sandbox(tmp_path_factory.mktemp("fdbhp") / "sb", Stack.parse("all"),
                         out=said.append) as sb:
        yield sb


def test_fdb_flows_and_learning_as_the_real_controller(real_sandbox: Sandbox) -> None:
    sb = real_sandbox
    sc = load("flood")
    said: list[str] = []
    hosts = build(sb, sc, said.append)
    assert all(c.ok for c in evaluate(sb, sc, hosts))
    fdb = {71, 72}
    real = {i: dump(sb, i, fdb) for i in (1, 2)}
    assert any("dl_dst=00:00:00:00:00:01" in f for f in real[1]), real[1]
    learned = fdb_rows(sb)
    vm_macs = {v["mac"] for v in sc.vms}
    mine = take_over(sb)
    wait_equal(sb, fdb, real, mine)
    assert all(c.ok for c in evaluate(sb, sc, hosts))

    # Forget everything: pyovn's put_fdb learns the VMs' MACs again, on the same ports.
    # A flow's cookie is its row's UUID, so the old rows' flows are told from relearned
    # ones even when the VMs' own chatter relearns a MAC before a dump sees none.
    old_cookies = cookies(dump(sb, 1, fdb) + dump(sb, 2, fdb))
    assert old_cookies
    sb.sbctl("--all", "destroy", "FDB")
    deadline = time.monotonic() + WAIT
    while cookies(dump(sb, 1, fdb) + dump(sb, 2, fdb)) & old_cookies:
        assert time.monotonic() < deadline, "FDB flows stayed after their rows went"
        time.sleep(0.2)
    want = {r for r in learned if r[0] in vm_macs}
    assert len(want) >= 3
    assert all(c.ok for c in evaluate(sb, sc, hosts))
    while not want <= fdb_rows(sb):
        assert time.monotonic() < deadline, f"not relearned: {want - fdb_rows(sb)}"
        hosts.check("vm4", "10.0.0.2", "ping")  # vm4 speaks only when spoken to
        time.sleep(0.2)
    for i in (1, 2):
        vm_flows = [f for f in real[i] if any(m in f for m in vm_macs)]
        deadline = time.monotonic() + WAIT
        while not set(without_cookie(vm_flows)) <= set(without_cookie(dump(sb, i, fdb))):
            assert time.monotonic() < deadline, diff(without_cookie(vm_flows),
                                                     without_cookie(dump(sb, i, fdb)))
            time.sleep(0.2)
    for d in mine.values():
        assert d.alive(), d.tail()
    sb.check_alive()


def test_hairpin_flows_and_traffic_as_the_real_controller(real_sandbox: Sandbox) -> None:
    sb = real_sandbox
    sc = load("lb")
    said: list[str] = []
    hosts = build(sb, sc, said.append)
    hairpin = sc.checks[-1]
    assert (hairpin.src, hairpin.dst) == ("vm3", "172.16.0.150")
    res = evaluate(sb, sc, hosts)
    assert all(c.ok for c in res), [c.check.label() for c in res if not c.ok]
    real = {i: dump(sb, i, {68, 69, 70}) for i in (1, 2)}
    # vm3 (hv2) hairpinned through 172.16.0.150: its reply flow was learned there.
    assert any(table_of(f) == 69 and "nw_dst=172.16.0.150" in f for f in real[2]), real[2]
    assert any("ct_mark=0x2/0x2" in f for f in real[1])
    mine = take_over(sb)
    # The learned flows went with the real controller's table; the rest is installed.
    wait_equal(sb, {68, 70}, {i: [f for f in real[i] if table_of(f) != 69] for i in real}, mine)
    res = evaluate(sb, sc, hosts)
    assert all(c.ok for c in res), [c.check.label() for c in res if not c.ok]
    wait_equal(sb, {68, 69, 70}, real, mine)

    # Without the hairpin tables, the backend no longer reaches itself through its VIP.
    vm3 = sb.state.host("vm3")
    assert vm3.chassis == 2
    run(["ovs-ofctl", "-O", "OpenFlow15", "del-flows", f"unix:{sb.state.hv_dir(2)}/br-int.mgmt",
         "table=68"])
    run(["ovs-ofctl", "-O", "OpenFlow15", "del-flows", f"unix:{sb.state.hv_dir(2)}/br-int.mgmt",
         "table=70"])
    sb.vs_appctl(2, "dpctl/flush-conntrack")
    assert not hosts.check("vm3", "172.16.0.150", "tcp", 80)
    assert hosts.check("vm1", "172.16.0.100", "tcp", 80)  # (the rest still works)
    for d in mine.values():
        assert d.alive(), d.tail()
