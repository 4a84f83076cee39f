"""Gateway high availability with real BFD, three chassis: router lr0's distributed gateway
port lr0-pub has two gateway chassis, hv2 (priority 20) and hv3 (10); vm1 sits on hv1, an
external host on the provider network.  The chassisredirect port cr-lr0-pub is bound to the
active gateway, chosen by each gateway from its own BFD sessions (ovn-architecture(7),
"Active-Standby for Distributed Gateway Ports"; ovn-controller(8), "active tunnels").

The gateway fails by losing its underlay (its tunnel veth set down inside its namespace):
BFD notices, hv2 lets go, hv3 takes the port and the traffic; once the link is back, hv2
takes the port back (priority).  The BFD settings on the tunnels follow SB_Global's options
and the HA group's size.  Run on the real controller (the reference) and on pyovn's; the
all-pyovn stack needs a northd that writes the HA chassis group (skipped until it does).
Timings are reported, never asserted: failover only has to happen within a generous bound.
Needs root and Open vSwitch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.hosts import Hosts
from pyovn.sandbox.proc import run
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import build, parse
from tests.sandbox.helpers import running_sandbox

pytestmark = [pytest.mark.netns, pytest.mark.real]

# all-real; pyovn's controller with the real servers and northd; pyovn's servers and
# controller with the real northd; all-pyovn.
STACKS = [Stack.parse("all"), Stack.parse("nb,sb,northd,trace"), Stack.parse("northd"),
          Stack.parse(None)]
# Failover needs BFD to notice (3 x 1 s with OVS' default timers), then SB round trips;
# on a loaded machine that can take several times as long.  A bound, not a measurement.
WITHIN = 45.0
VM1, EXT = "10.0.0.1", "172.16.5.100"
# What every OVN-made BFD session carries when SB_Global sets no timers (observed on the
# real ovn-controller 23.03: check_tnl_key keeps logical ports from injecting BFD).
BFD_ON = {"enable": "true", "check_tnl_key": "true"}

TOPOLOGY: dict[str, Any] = {
    "name": "dgpha",
    "description": "lr0 joins sw0 (vm1 on hv1) to the provider switch pub through lr0-pub, "
                   "whose gateway chassis are hv2 (20) and hv3 (10)",
    "nb": [
        ["ls-add", "sw0", "--", "ls-add", "pub", "--", "lr-add", "lr0"],
        ["lrp-add", "lr0", "lr0-sw0", "00:00:00:00:ff:01", "10.0.0.254/24", "--",
         "lsp-add", "sw0", "sw0-lr0", "--", "lsp-set-type", "sw0-lr0", "router", "--",
         "lsp-set-addresses", "sw0-lr0", "router", "--",
         "lsp-set-options", "sw0-lr0", "router-port=lr0-sw0"],
        ["lrp-add", "lr0", "lr0-pub", "00:00:00:00:ff:02", "172.16.5.1/24", "--",
         "lsp-add", "pub", "pub-lr0", "--", "lsp-set-type", "pub-lr0", "router", "--",
         "lsp-set-addresses", "pub-lr0", "router", "--",
         "lsp-set-options", "pub-lr0", "router-port=lr0-pub"],
        ["lrp-set-gateway-chassis", "lr0-pub", "hv2", "20"],
        ["lrp-set-gateway-chassis", "lr0-pub", "hv3", "10"],
        ["lsp-add", "pub", "pub-ln", "--", "lsp-set-type", "pub-ln", "localnet", "--",
         "lsp-set-addresses", "pub-ln", "unknown", "--",
         "lsp-set-options", "pub-ln", "network_name=physnet"],
        ["lsp-add", "sw0", "vm1", "--", "lsp-set-addresses", "vm1",
         f"00:00:00:00:00:01 {VM1}"],
    ],
    "vms": [{"name": "vm1", "chassis": 1, "port": "vm1", "mac": "00:00:00:00:00:01",
             "ip": f"{VM1}/24", "gw": "10.0.0.254"}],
    "externals": [{"name": "ext", "mac": "00:00:00:00:aa:05", "ip": f"{EXT}/24",
                   "gw": "172.16.5.1"}],
    # build() starts vm1's TCP listener for this one.
    "checks": [{"from": "ext", "to": "vm1", "proto": "tcp", "port": 80, "expect": "pass"}],
}


@pytest.fixture(scope="module", params=STACKS, ids=[s.label() for s in STACKS])
def sandbox(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("ha") / "sb", request.param,
                         chassis=3) as sb:
        yield sb


def _map(v: Any) -> dict[str, str]:
    """An OVSDB map in ovs-vsctl's JSON output: ["map", [[k, v], ...]]."""
    return {k: x for k, x in v[1]} if isinstance(v, list) and v and v[0] == "map" else {}


class Gateway:
    """The topology on a sandbox, and what the test looks at and does."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.hosts: Hosts = build(sb, parse(TOPOLOGY), lambda _s: None)

    def cr_chassis(self) -> str | None:
        """Where SB says cr-lr0-pub is bound (None: nowhere)."""
        r = self.sb.sbctl("--bare", "--columns=chassis", "find", "Port_Binding",
                          "logical_port=cr-lr0-pub", check=False)
        u = r.stdout.strip()
        if not u:
            return None
        return self.sb.sbctl("--bare", "--columns=name", "list", "Chassis", u,
                             check=False).stdout.strip() or None

    def tunnels(self, i: int) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """hv<i>'s tunnels: remote chassis -> (Interface.bfd, Interface.bfd_status)."""
        out = self.sb.vsctl(i, "--format=json", "--", "--columns=name,external_ids", "list",
                            "Port", "--", "--columns=name,bfd,bfd_status", "list", "Interface")
        ports, ifaces = (json.loads(x) for x in out.strip().splitlines())
        chassis = {row[0]: _map(row[1]).get("ovn-chassis-id", "").partition("@")[0]
                   for row in ports["data"]}
        return {chassis[row[0]]: (_map(row[1]), _map(row[2])) for row in ifaces["data"]
                if chassis.get(row[0])}

    def bfd_peers(self, i: int) -> dict[str, dict[str, str]]:
        """hv<i>'s tunnels with BFD configured: remote chassis -> Interface.bfd."""
        return {c: bfd for c, (bfd, _st) in self.tunnels(i).items() if bfd}

    def underlay(self, i: int, up: bool) -> None:
        run(["ip", "link", "set", self.sb.state.link(f"a{i}"), "up" if up else "down"],
            netns=self.sb.state.ns(f"hv{i}"), component=f"hv{i} underlay")

    def works(self) -> bool:
        """vm1 reaches the outside and the outside vm1, through whichever gateway.  vm1
        goes first: its packets teach the provider network's bridge where the router's
        MAC now is (nothing here announces it on a failover: no nat-addresses)."""
        h = self.hosts
        return (h.check("vm1", EXT, "ping", timeout=1) and h.check("ext", VM1, "ping", timeout=1)
                and h.check("ext", VM1, "tcp", 80, timeout=1))

    def wait(self, what: str, ok: Callable[[], bool], within: float = WITHIN) -> float:
        """Seconds until ok(); fails, showing each chassis' tunnels, if that takes longer
        than 'within'."""
        t0 = time.monotonic()
        while not ok():
            self.sb.check_alive()
            if time.monotonic() - t0 > within:
                state = {f"hv{i}": self.tunnels(i) for i in (1, 2, 3)}
                pytest.fail(f"{what}: not within {within:g}s on {self.sb.stack.label()}; "
                            f"cr-lr0-pub on {self.cr_chassis()}; tunnels {state}")
            time.sleep(0.1)
        return time.monotonic() - t0

    def all_bfd_up(self) -> bool:
        return all(st.get("state") == "up" for i in (1, 2, 3)
                   for bfd, st in self.tunnels(i).values() if bfd)


def gateway(sb: Sandbox) -> Gateway:
    gw = Gateway(sb)
    sb.nbctl("--wait=sb", "--timeout=30", "sync")
    if not sb.sbctl("--bare", "--columns=_uuid", "list", "HA_Chassis_Group").stdout.strip():
        if sb.stack.of("northd") == "pyovn":
            pytest.skip("pyovn's northd writes no chassisredirect port / HA_Chassis_Group "
                        "for a distributed gateway port yet")
        pytest.fail(f"northd ({sb.stack.of('northd')}) wrote no HA_Chassis_Group")
    return gw


def test_gateway_fails_over_to_the_backup_and_back(sandbox: Sandbox) -> None:
    sb = sandbox
    gw = gateway(sb)
    label = sb.stack.label()
    gw.wait("cr-lr0-pub bound to hv2", lambda: gw.cr_chassis() == "hv2")
    gw.wait("traffic through hv2", gw.works)
    # BFD between every pair: the gateways with each other and with hv1, which uses them
    # (ref_chassis), on a tunnel each chassis made to the other two.
    for i in (1, 2, 3):
        others = {f"hv{j}" for j in (1, 2, 3) if j != i}
        assert set(gw.tunnels(i)) == others, (label, i, gw.tunnels(i))
        assert gw.bfd_peers(i) == {c: BFD_ON for c in others}, (label, i, gw.tunnels(i))
    gw.wait("every BFD session up", gw.all_bfd_up)
    assert gw.cr_chassis() == "hv2"

    gw.underlay(2, up=False)
    try:
        t_sb = gw.wait("hv3 takes cr-lr0-pub", lambda: gw.cr_chassis() == "hv3")
        t_traffic = t_sb + gw.wait("traffic through hv3", gw.works)
        # Settled: hv2, which reaches nobody, does not take the port back.
        gw.wait("hv2's sessions down", lambda: all(
            st.get("state") != "up" for bfd, st in gw.tunnels(2).values() if bfd))
        assert gw.cr_chassis() == "hv3" and gw.works()
    finally:
        gw.underlay(2, up=True)
    t_back = gw.wait("hv2 takes cr-lr0-pub back", lambda: gw.cr_chassis() == "hv2")
    t_back_traffic = t_back + gw.wait("traffic through hv2 again", gw.works)
    gw.wait("every BFD session up again", gw.all_bfd_up)
    assert gw.cr_chassis() == "hv2"
    print(f"\n{label}: failover: SB {t_sb:.2f}s, traffic {t_traffic:.2f}s; "
          f"failback: SB {t_back:.2f}s, traffic {t_back_traffic:.2f}s")


def test_bfd_settings_follow_sb_global_and_the_group(sandbox: Sandbox) -> None:
    sb = sandbox
    gw = gateway(sb)
    label = sb.stack.label()
    gw.wait("cr-lr0-pub bound to hv2", lambda: gw.cr_chassis() == "hv2")
    # The CMS sets BFD timers in NB_Global; northd copies them to SB_Global, where every
    # controller reads them (ovn-sb(5)).
    timers = {"bfd-min-rx": "300", "bfd-min-tx": "200", "bfd-decay-min-rx": "2000",
              "bfd-mult": "4"}
    want = {**BFD_ON, "min_rx": "300", "min_tx": "200", "decay_min_rx": "2000", "mult": "4"}
    sb.nbctl("set", "NB_Global", ".", *(f"options:{k}={v}" for k, v in timers.items()))
    try:
        mesh = {i: {f"hv{j}" for j in (1, 2, 3) if j != i} for i in (1, 2, 3)}
        gw.wait("the timers on every BFD session", lambda: all(
            gw.bfd_peers(i) == {c: want for c in mesh[i]} for i in (1, 2, 3)))
        gw.wait("every BFD session up", gw.all_bfd_up)
        # A group of one gateway needs no BFD: off everywhere; hv2 keeps the port.
        sb.nbctl("lrp-del-gateway-chassis", "lr0-pub", "hv3")
        gw.wait("BFD off everywhere", lambda: not any(gw.bfd_peers(i) for i in (1, 2, 3)))
        assert gw.cr_chassis() == "hv2", label
        gw.wait("traffic through hv2 alone", gw.works)
        # Two HA_Chassis rows, one for a chassis that never registered: still a group of
        # two for ovn-controller, so hv2 and hv1 run BFD (hv3 is out of it).
        sb.nbctl("lrp-set-gateway-chassis", "lr0-pub", "hv9", "5")
        gw.wait("BFD between hv1 and hv2 only", lambda: (
            gw.bfd_peers(1) == {"hv2": want} and gw.bfd_peers(2) == {"hv1": want}
            and not gw.bfd_peers(3)))
        assert gw.cr_chassis() == "hv2", label
        gw.wait("traffic through hv2", gw.works)
        # hv2 is the only member with a chassis: it stays active even when it reaches
        # nobody (ovn-controller's is_local_chassis_only_candidate; observed on 23.03).
        gw.wait("hv2-hv1 BFD up", gw.all_bfd_up)
        gw.underlay(2, up=False)
        try:
            gw.wait("hv2's session down", lambda: all(
                st.get("state") != "up" for bfd, st in gw.tunnels(2).values() if bfd))
            for _ in range(5):  # it would have let go within an iteration or two
                assert gw.cr_chassis() == "hv2", label
                time.sleep(0.2)
        finally:
            gw.underlay(2, up=True)
        gw.wait("hv2-hv1 BFD up again", gw.all_bfd_up)
    finally:
        sb.nbctl("remove", "NB_Global", ".", "options", *timers)
