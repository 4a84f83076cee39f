"""Gratuitous ARP on the wire: the localnet scenario, a host on the physical network
capturing (a raw socket in its own namespace) while VMs' ports are bound again, and while a
gateway router with SNAT appears.  The VMs on the provider switch must be announced (GARP:
broadcast ARP request, sender = target = the VM's address), the VM on the overlay switch
must not, and the gateway's router and NAT addresses must be announced with the router
port's MAC.  Run on the real controller (the reference) and on pyovn's; the NAT part needs
a northd that fills Port_Binding.nat_addresses (the real one).  Needs root and Open
vSwitch."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.hosts import Hosts
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import build, load

from .helpers import running_sandbox

pytestmark = [pytest.mark.netns, pytest.mark.real]

STACKS = [Stack.parse("all"), Stack.parse("northd"), Stack.parse(None)]

# Runs in the external host's namespace: prints every ARP/RARP frame its interface
# receives as a JSON line, until each wanted (MAC, IPv4) was seen in 'need' gratuitous ARPs
# or the time is up.  "ready" first, once the socket is bound.
CAPTURE = r"""
import json, socket, sys, time
iface, seconds, need = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
wanted = {tuple(w.split(",")) for w in sys.argv[4:]}
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.2)
print("ready", flush=True)
seen = {}
end = time.monotonic() + seconds
while time.monotonic() < end and any(seen.get(w, 0) < need for w in wanted):
    try:
        data = s.recv(65535)
    except socket.timeout:
        continue
    if data[12:14] in (b"\x08\x06", b"\x80\x35"):
        print(json.dumps(data.hex()), flush=True)
        if data[12:14] == b"\x08\x06" and data[28:32] == data[38:42]:
            key = (data[6:12].hex(":"), socket.inet_ntoa(data[28:32]))
            seen[key] = seen.get(key, 0) + 1
"""


@pytest.fixture(scope="module", params=STACKS, ids=[s.label() for s in STACKS])
def sandbox(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("garp") / "sb", request.param) as sb:
        yield sb


class Capture:
    """The capture script running in a host's namespace (our child: killed by its pid)."""

    def __init__(self, sb: Sandbox, host: str, wanted: list[tuple[str, str]],
                 need: int = 2, seconds: float = 25.0) -> None:
        h = sb.state.host(host)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", h.netns, sys.executable, "-c", CAPTURE, h.iface,
             str(seconds), str(need), *(f"{m},{ip}" for m, ip in wanted)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def frames(self, timeout: float = 60.0) -> list[bytes]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return [bytes.fromhex(json.loads(x)) for x in out.splitlines() if x.strip()]


def garps(frames: list[bytes]) -> dict[tuple[str, str], int]:
    """(sender MAC, IPv4) -> how many gratuitous ARP requests, checked field by field."""
    out: dict[tuple[str, str], int] = {}
    for f in frames:
        if len(f) < 42 or f[12:14] != b"\x08\x06":
            continue
        if f[:6] != b"\xff" * 6 or f[14:22] != bytes.fromhex("0001080006040001"):
            continue
        sha, spa, tha, tpa = f[22:28], f[28:32], f[32:38], f[38:42]
        if spa != tpa or tha != b"\0" * 6 or sha != f[6:12]:
            continue
        key = (sha.hex(":"), ".".join(map(str, spa)))
        out[key] = out.get(key, 0) + 1
    return out


def rebind(sb: Sandbox, hosts: Hosts, name: str, port: str) -> None:
    """Unplug the VM's interface from br-int and plug it in again: a new binding."""
    chassis, ovs_port = sb.state.host(name).ovs_ports[0]
    sb.vsctl(chassis, "del-port", "br-int", ovs_port)
    # The controller must see the port gone (it releases it) before it comes back.
    deadline = time.monotonic() + 30
    while sb.nbctl("lsp-get-up", port).stdout.strip() != "down":
        assert time.monotonic() < deadline, f"{port} never went down"
        time.sleep(0.1)
    sb.vsctl(chassis, "add-port", "br-int", ovs_port, "--", "set", "interface", ovs_port,
             f"external_ids:iface-id={port}")


def test_vms_on_the_provider_network_are_announced_when_bound(sandbox: Sandbox) -> None:
    sb = sandbox
    sc = load("localnet")
    hosts = build(sb, sc, lambda _s: None)
    vm1, vm2, vm3 = (("00:00:00:00:00:01", "10.0.5.1"), ("00:00:00:00:00:02", "10.0.5.2"),
                     ("00:00:00:00:00:03", "10.0.5.3"))
    cap = Capture(sb, "ext", [vm1, vm2])
    for name in ("vm1", "vm2", "vm3"):
        rebind(sb, hosts, name, name)
    seen = garps(cap.frames())
    # Announced again after the new binding (on hv1 and on hv2), more than once (backoff).
    assert seen.get(vm1, 0) >= 2, seen
    assert seen.get(vm2, 0) >= 2, seen
    # vm3's switch has no localnet port: nothing of it reaches the physical network.
    assert vm3 not in seen, seen
    assert not any(mac == vm3[0] for mac, _ip in seen), seen


def test_gateway_router_addresses_are_announced(sandbox: Sandbox) -> None:
    sb = sandbox
    if sb.stack.of("northd") == "pyovn":
        pytest.skip("pyovn's northd has no NAT yet (writes no Port_Binding.nat_addresses)")
    sc = load("localnet")
    build(sb, sc, lambda _s: None)
    gw_mac = "00:00:00:00:ee:01"
    cap = Capture(sb, "ext", [(gw_mac, "10.0.5.254"), (gw_mac, "10.0.5.200")], need=1)
    sb.nbctl("lr-add", "gw", "--", "set", "logical_router", "gw", "options:chassis=hv1")
    sb.nbctl("lrp-add", "gw", "gw-pub", gw_mac, "10.0.5.254/24")
    sb.nbctl("lsp-add", "pub", "pub-gw", "--", "lsp-set-type", "pub-gw", "router", "--",
             "lsp-set-addresses", "pub-gw", "router", "--", "lsp-set-options", "pub-gw",
             "router-port=gw-pub", "nat-addresses=router")
    sb.nbctl("lr-nat-add", "gw", "snat", "10.0.5.200", "192.168.0.0/24")
    seen = garps(cap.frames())
    assert seen.get((gw_mac, "10.0.5.254"), 0) >= 1, seen
    assert seen.get((gw_mac, "10.0.5.200"), 0) >= 1, seen
