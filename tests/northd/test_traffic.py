"""Real traffic through pyovn's northd: the two-chassis deployment of
tests/integration/test_two_chassis.py (real ovsdb-server, ovs-vswitchd and ovn-controller on
two hypervisor namespaces, Geneve between them) with pyovn's northd in place of the real one.
VMs ping within a switch across chassis and across a router; a stateful ACL drops new
connections towards a VM while the replies of the ones it opens pass; a VM gets its address
from OVN's native DHCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.procs import run
from tests.integration.test_two_chassis import VMS, TwoChassis, need_root

from .deploy import PyovnCentral, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.real]


@pytest.fixture
def deployment() -> Iterator[TwoChassis]:
    need_root()
    central = PyovnCentral("real", tag="2ch-northd")
    dep = TwoChassis(central)
    try:
        central.start_northd()
        # ovn-controller 23.03 segfaults if it connects to an SB without an SB_Global row
        # (an SB no northd has written yet); pyovn's northd, a Python process, can take
        # longer to get there than dep.start() takes to start the controllers.
        wait_for(lambda: central.sbctl("--bare", "--columns=_uuid", "list",
                                       "SB_Global").stdout.strip(),
                 timeout=30, what="SB_Global written by pyovn's northd")
        dep.start()
        yield dep
    finally:
        try:
            dep.stop()
        finally:
            central.stop()


def _wait_bound(d: TwoChassis) -> None:
    r = d.central.nbctl("--wait=hv", "--timeout=30", "sync", timeout=45)
    assert r.returncode == 0, f"--wait=hv sync: {r.stderr}\n{d.logs()}"
    for vm in VMS:
        r = d.central.nbctl("--wait=hv", "--timeout=30", "wait-until", "Logical_Switch_Port",
                            vm.name, "up=true", timeout=45)
        assert r.returncode == 0, f"{vm.name} never came up\n{d.logs()}"


def test_ping_same_switch_across_geneve_and_across_router(deployment: TwoChassis) -> None:
    d = deployment
    _wait_bound(d)
    same = d.ping("vm1", "10.0.0.2")
    assert same.returncode == 0, f"vm1 -> vm2:\n{same.stdout}\n{d.logs()}"
    routed = d.ping("vm1", "10.0.1.3")
    assert routed.returncode == 0, f"vm1 -> vm3:\n{routed.stdout}\n{d.logs()}"
    gw = d.ping("vm3", "10.0.1.254")
    assert gw.returncode == 0, f"vm3 -> its router port:\n{gw.stdout}\n{d.logs()}"
    assert not d.central.dead(), d.logs()


def test_acl_drops_new_connections_and_passes_replies(deployment: TwoChassis) -> None:
    d = deployment
    _wait_bound(d)
    assert d.ping("vm1", "10.0.0.2").returncode == 0
    for args in (["acl-add", "sw0", "to-lport", "1000", 'outport == "vm2" && icmp4', "drop"],
                 ["acl-add", "sw0", "from-lport", "1000", 'inport == "vm2" && ip4',
                  "allow-related"]):
        r = d.central.nbctl("--wait=hv", *args)
        assert r.returncode == 0, r.stderr
    blocked = run(["ip", "netns", "exec", d.ns("vm1"), "ping", "-c", "2", "-W", "1",
                   "10.0.0.2"])
    assert blocked.returncode != 0, "the drop ACL let a new ping to vm2 through"
    replies = d.ping("vm2", "10.0.0.1")
    assert replies.returncode == 0, f"replies to vm2's own pings:\n{replies.stdout}\n{d.logs()}"


def test_vm_gets_its_address_by_dhcp(deployment: TwoChassis) -> None:
    d = deployment
    _wait_bound(d)
    ns = d.add_ns("vm9")
    hv_ns = d.ns("hv1")
    eth, vif = f"pv{d.tag}9e", f"pv{d.tag}9v"
    d.veth(eth, ns, vif, hv_ns)
    mac = "00:00:00:00:00:09"
    d.sh("ip", "link", "set", eth, "address", mac, netns=ns)
    run(["ip", "netns", "exec", ns, "ethtool", "-K", eth, "tx", "off"])
    d.sh("ip", "link", "set", eth, "up", netns=ns)
    d.sh("ip", "link", "set", vif, "up", netns=hv_ns)
    d.vsctl(1, "add-port", "br-int", vif, "--", "set", "interface", vif,
            "external_ids:iface-id=vm9")
    r = d.central.nbctl(
        "lsp-add", "sw0", "vm9", "--", "lsp-set-addresses", "vm9", f"{mac} 10.0.0.9", "--",
        "--id=@d", "create", "DHCP_Options", "cidr=10.0.0.0/24",
        'options="lease_time"="3600" "router"="10.0.0.254" "server_id"="10.0.0.254" '
        '"server_mac"="00:00:00:00:ff:01"', "--", "set", "Logical_Switch_Port", "vm9",
        "dhcpv4_options=@d")
    assert r.returncode == 0, r.stderr
    r = d.central.nbctl("--wait=hv", "--timeout=30", "wait-until", "Logical_Switch_Port",
                        "vm9", "up=true", timeout=45)
    assert r.returncode == 0, d.logs()
    got = run(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-q", "-n", "-f", "-t", "5",
               "-T", "1", "-s", "/bin/true", "-i", eth], timeout=30)
    assert "10.0.0.9" in got.stdout + got.stderr, f"{got.stdout}{got.stderr}\n{d.logs()}"
