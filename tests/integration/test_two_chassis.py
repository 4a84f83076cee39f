"""The reference two-chassis deployment (../shared/reference/real-ovn-two-chassis.sh) with the
server under test serving NB and SB, and the real ovn-northd, ovn-controller and ovs-vswitchd:
two hypervisor namespaces, each with its own ovsdb-server + ovs-vswitchd (userspace datapath)
+ ovn-controller, Geneve over a veth underlay, VMs as namespaces, two switches and a router.
vm1 must ping vm2 (same switch, across Geneve) and vm3 (across the router).

Parametrised over the NB/SB server: "real" is the sanity run of the test itself.  Namespaces
and veths are global to the machine, so every name carries the pid and a counter; veths are
created directly inside their namespaces and go away with them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .procs import VS_SCHEMA, Central, Procs, require_server, require_tools, run, wait_socket

pytestmark = [pytest.mark.netns, pytest.mark.real]

_counter = itertools.count()


@dataclass(frozen=True)
class Vm:
    name: str
    hv: int
    switch: str
    ip: str
    mac: str
    gw: str


VMS = (
    Vm("vm1", 1, "sw0", "10.0.0.1/24", "00:00:00:00:00:01", "10.0.0.254"),
    Vm("vm2", 2, "sw0", "10.0.0.2/24", "00:00:00:00:00:02", "10.0.0.254"),
    Vm("vm3", 2, "sw1", "10.0.1.3/24", "00:00:00:00:00:03", "10.0.1.254"),
)


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces and veth pairs")
    require_tools("ovs-vswitchd", "ovs-vsctl", "ovn-controller", "ip", "ping", "ethtool")


class TwoChassis:
    """Everything outside ``central``: namespaces, veths, per-chassis daemons."""

    def __init__(self, central: Central) -> None:
        self.central = central
        n = next(_counter)
        self.tag = f"{os.getpid()}{n}"  # <= 9 characters: veth names stay <= 15
        self.procs = Procs(f"hv-{central.kind}")
        self.namespaces: list[str] = []
        self.root_links: list[str] = []

    def ns(self, name: str) -> str:
        return f"pyovn-{self.tag}-{name}"

    def sh(self, *argv: str, netns: str | None = None) -> str:
        full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
        return run(full, check=True).stdout

    def add_ns(self, name: str) -> str:
        ns = self.ns(name)
        self.sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        self.sh("ip", "link", "set", "lo", "up", netns=ns)
        return ns

    def veth(self, a: str, ns_a: str, b: str, ns_b: str) -> None:
        # Created straight inside the namespaces; remembered in case creation half-fails.
        self.root_links += [a, b]
        self.sh("ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b,
                "netns", ns_b)

    def hv_dir(self, i: int) -> str:
        d = self.procs.path(f"hv{i}")
        os.makedirs(d, exist_ok=True)
        return d

    def vsctl(self, i: int, *args: str) -> str:
        return self.sh("ovs-vsctl", "--timeout=30", f"--db=unix:{self.hv_dir(i)}/db.sock", *args)

    def start(self) -> None:
        hv = {i: self.add_ns(f"hv{i}") for i in (1, 2)}
        under = {i: f"pu{self.tag}{'ab'[i - 1]}" for i in (1, 2)}
        self.veth(under[1], hv[1], under[2], hv[2])
        for i in (1, 2):
            h, ns = self.hv_dir(i), hv[i]
            self.sh("ip", "link", "set", under[i], "up", netns=ns)
            run(["ovsdb-tool", "create", f"{h}/conf.db", VS_SCHEMA], check=True)
            pr = self.procs.start(f"hv{i}/db", [
                "ovsdb-server", "-vconsole:off", "--no-chdir", f"--pidfile={h}/db.pid",
                f"--log-file={h}/db.log", f"--remote=punix:{h}/db.sock",
                f"--unixctl={h}/db.ctl", f"{h}/conf.db"], netns=ns)
            wait_socket(f"{h}/db.sock", pr, f"hv{i}/db", self.procs)
            self.vsctl(i, "--no-wait", "init")
            pr = self.procs.start(f"hv{i}/vs", [
                "ovs-vswitchd", "-vconsole:off", "--no-chdir", f"--pidfile={h}/vs.pid",
                f"--log-file={h}/vs.log", f"--unixctl={h}/vs.ctl", f"unix:{h}/db.sock"],
                env={"OVS_RUNDIR": h}, netns=ns)
            wait_socket(f"{h}/vs.ctl", pr, f"hv{i}/vs", self.procs)
            self.vsctl(i, "add-br", "br-phy", "--", "set", "bridge", "br-phy",
                       "datapath_type=netdev", "--", "add-port", "br-phy", under[i])
            self.sh("ip", "addr", "add", f"172.31.0.{i}/24", "dev", "br-phy", netns=ns)
            self.sh("ip", "link", "set", "br-phy", "up", netns=ns)
            self.sh("ovs-appctl", "-t", f"{h}/vs.ctl", "ovs/route/add", "172.31.0.0/24",
                    "br-phy")
            self.vsctl(i, "add-br", "br-int", "--", "set", "bridge", "br-int",
                       "datapath_type=netdev", "fail-mode=secure")
            self.vsctl(i, "set", "open", ".", f"external-ids:system-id=hv{i}",
                       f"external-ids:ovn-remote=unix:{self.central.sb}",
                       "external-ids:ovn-encap-type=geneve",
                       f"external-ids:ovn-encap-ip=172.31.0.{i}")
            self.procs.start(f"hv{i}/ovnc", [
                "ovn-controller", "-vconsole:off", "--no-chdir", f"--pidfile={h}/ovnc.pid",
                f"--log-file={h}/ovnc.log", f"unix:{h}/db.sock"],
                env={"OVS_RUNDIR": h, "OVN_RUNDIR": h}, netns=ns)
        nb = self.central.nbctl
        for args in (
            ["ls-add", "sw0", "--", "ls-add", "sw1", "--", "lr-add", "lr0"],
            ["lrp-add", "lr0", "lr0-sw0", "00:00:00:00:ff:01", "10.0.0.254/24", "--",
             "lsp-add", "sw0", "sw0-lr0", "--", "lsp-set-type", "sw0-lr0", "router", "--",
             "lsp-set-addresses", "sw0-lr0", "router", "--",
             "lsp-set-options", "sw0-lr0", "router-port=lr0-sw0"],
            ["lrp-add", "lr0", "lr0-sw1", "00:00:00:00:ff:02", "10.0.1.254/24", "--",
             "lsp-add", "sw1", "sw1-lr0", "--", "lsp-set-type", "sw1-lr0", "router", "--",
             "lsp-set-addresses", "sw1-lr0", "router", "--",
             "lsp-set-options", "sw1-lr0", "router-port=lr0-sw1"],
        ):
            r = nb(*args)
            assert r.returncode == 0, (args, r.stderr)
        for k, vm in enumerate(VMS):
            self.add_vm(vm, hv[vm.hv], k)

    def add_vm(self, vm: Vm, hv_ns: str, k: int) -> None:
        ns = self.add_ns(vm.name)
        eth, vif = f"pv{self.tag}{k}e", f"pv{self.tag}{k}v"
        self.veth(eth, ns, vif, hv_ns)
        self.sh("ip", "link", "set", eth, "address", vm.mac, netns=ns)
        # The userspace datapath sees veth packets before the kernel fills in checksums.
        run(["ip", "netns", "exec", ns, "ethtool", "-K", eth, "tx", "off"])
        self.sh("ip", "addr", "add", vm.ip, "dev", eth, netns=ns)
        self.sh("ip", "link", "set", eth, "up", netns=ns)
        self.sh("ip", "route", "add", "default", "via", vm.gw, netns=ns)
        self.sh("ip", "link", "set", vif, "up", netns=hv_ns)
        self.vsctl(vm.hv, "add-port", "br-int", vif, "--", "set", "interface", vif,
                   f"external_ids:iface-id={vm.name}")
        r = self.central.nbctl("lsp-add", vm.switch, vm.name, "--", "lsp-set-addresses",
                               vm.name, f"{vm.mac} {vm.ip.split('/')[0]}")
        assert r.returncode == 0, r.stderr

    def ping(self, src: str, dst: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Wait (bounded) until one ping gets through, then return a 3-ping run."""
        ns = self.ns(src)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", dst]).returncode == 0:
                break
        return run(["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.3", "-W", "2", dst])

    def logs(self) -> str:
        parts = [self.central.logs(n) for n in ("nb", "sb", "northd")]
        parts += [self.procs.logs(f"hv{i}/{n}") for i in (1, 2) for n in ("ovnc", "vs")]
        return "\n".join(parts)

    def stop(self) -> None:
        self.procs.stop(remove=False)
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns])
        for link in self.root_links:  # only if a veth was left in the root namespace
            if os.path.exists(f"/sys/class/net/{link}"):
                run(["ip", "link", "del", link])
        shutil.rmtree(self.procs.dir, ignore_errors=True)


@pytest.fixture(params=["real", "pyovn"])
def deployment(request: pytest.FixtureRequest) -> Iterator[TwoChassis]:
    need_root()
    kind: str = request.param
    require_server(kind)
    central = Central(kind, northd=True, tag="2ch")
    dep = TwoChassis(central)
    try:
        dep.start()
        yield dep
    finally:
        try:
            dep.stop()
        finally:
            central.stop()


def test_vms_ping_across_geneve_and_router(deployment: TwoChassis) -> None:
    d = deployment
    r = d.central.nbctl("--wait=hv", "--timeout=30", "sync", timeout=45)
    assert r.returncode == 0, f"--wait=hv sync: {r.stderr}\n{d.logs()}"
    # ovn-controller claims the ports on its own schedule: a bounded wait, not a race.
    want = ["Chassis hv1", "Chassis hv2", *(f"Port_Binding {vm.name}" for vm in VMS)]
    deadline = time.monotonic() + 30
    while not all(w in (show := d.central.sbctl("show").stdout) for w in want):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert all(w in show for w in want), f"ovn-sbctl show:\n{show}\n{d.logs()}"
    same = d.ping("vm1", "10.0.0.2")
    assert same.returncode == 0, f"vm1 -> vm2 (same switch):\n{same.stdout}\n{d.logs()}"
    routed = d.ping("vm1", "10.0.1.3")
    assert routed.returncode == 0, f"vm1 -> vm3 (across lr0):\n{routed.stdout}\n{d.logs()}"
    # status flows back north: ovn-controller claimed the ports, northd set up=true in NB
    deadline = time.monotonic() + 20
    for vm in VMS:
        while (up := d.central.nbctl("lsp-get-up", vm.name).stdout.strip()) != "up":
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert up == "up", f"{vm.name} never came up in NB\n{d.logs()}"
    assert not d.central.dead(), d.logs()
    assert not d.procs.dead(), d.logs()
