"""Periodic IPv6 router advertisements on the wire: the routing scenario, lr0-sw0 given an
IPv6 network and ipv6_ra_configs (send_periodic, every 3-4 s, with every option the
controller encodes), a raw socket in vm1's namespace.

- All real: the real northd's Port_Binding options and the real controller's frames are
  those tests/controller/test_pinctrl_ra.py holds; then pyovn's controller takes over on
  both chassis and must send the very same frames, at the same pace, from vm1's own chassis
  only (local-only: the other chassis' copy must not come through the tunnel).
- All pyovn: pyovn's northd writes the same options, pyovn's controller the same frames.
- A router solicitation from vm1 is answered (northd's put_nd_ra_opts flows, the
  controller's encoding) with the real stack's very advertisement, in both.
Needs root and Open vSwitch."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import build, load
from tests.controller.test_pinctrl_ra import REAL_OPTIONS, REAL_RA
from tests.sandbox.helpers import running_sandbox

from .test_vxlan import take_over

pytestmark = [pytest.mark.netns, pytest.mark.real]

# Runs in the VM's namespace: prints "<monotonic time> <hex>" for every router
# advertisement to all nodes its interface receives, for the given seconds.
CAPTURE = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        d = s.recv(65535)
    except socket.timeout:
        continue
    if d[:6] == bytes.fromhex("333300000001") and len(d) > 54 and d[20] == 58 and d[54] == 134:
        print(f"{time.monotonic():.3f} {d.hex()}", flush=True)
"""

# Runs in the VM's namespace: sends one router solicitation to ff02::2 from the interface's
# MAC and EUI-64 link-local address, prints the hex of the first router advertisement sent
# back to that MAC (or nothing in the given seconds).
SOLICIT = r"""
import socket, struct, sys, time
iface, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
s.bind((iface, 0))
s.settimeout(0.2)
mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
eui = bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" + mac[3:]
src, dst = bytes.fromhex("fe80000000000000") + eui, bytes.fromhex("ff02" + "00" * 13 + "02")
rs = bytearray(struct.pack("!BBHI", 133, 0, 0, 0) + bytes([1, 1]) + mac)
pseudo = src + dst + struct.pack("!IxxxB", len(rs), 58) + rs
total = sum(struct.unpack(f"!{len(pseudo) // 2}H", pseudo))
while total >> 16:
    total = (total & 0xFFFF) + (total >> 16)
struct.pack_into("!H", rs, 2, ~total & 0xFFFF)
ip6 = struct.pack("!IHBB", 6 << 28, len(rs), 58, 255) + src + dst
s.send(bytes.fromhex("333300000002") + mac + b"\x86\xdd" + ip6 + bytes(rs))
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        d = s.recv(65535)
    except socket.timeout:
        continue
    if d[:6] == mac and len(d) > 54 and d[20] == 58 and d[54] == 134:
        print(d.hex(), flush=True)
        break
"""

# The real stack's answer to vm1's router solicitation, captured with this configuration.
REAL_RS_ANSWER = bytes.fromhex(
    "00000000000100000000ff0186dd6000000000a03afffe80000000000000020000fffe00ff01fe800000"
    "00000000020000fffe00000186003aebff18ffff0000000000000000010100000000ff0105010000000005"
    "7819030000fffffffffd0000000000000000000000000000531f040000ffffffff0161076578616d706c65"
    "03636f6d000162036f726700000018023008fffffffffd0100000000000018036018fffffffffd020000"
    "000000000000000000000000030440c0ffffffffffffffff00000000fd00001000000000000000000000"
    "0000")

RA_CONFIGS = ["send_periodic=true", "address_mode=slaac", "max_interval=4", "min_interval=3",
              "mtu=1400", "rdnss=fd00::53", "dnssl=a.example.com,b.org",
              "route_info=HIGH-fd01::/48,LOW-fd02::/96", "router_preference=LOW"]


def capture(sb: Sandbox, host: str, seconds: float) -> list[tuple[float, bytes]]:
    h = sb.state.host(host)
    proc = subprocess.Popen(["ip", "netns", "exec", h.netns, sys.executable, "-c", CAPTURE,
                             h.iface, str(seconds)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        out, _ = proc.communicate(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    frames = []
    for line in out.splitlines():
        t, data = line.split()
        frames.append((float(t), bytes.fromhex(data)))
    return frames


def configure(sb: Sandbox) -> None:
    build(sb, load("routing"), lambda _s: None)
    sb.nbctl("set", "Logical_Router_Port", "lr0-sw0",
             'networks="10.0.0.254/24" "fd00:10::1/64"',
             *(f"ipv6_ra_configs:{c}" for c in RA_CONFIGS))


def pb_options(sb: Sandbox, port: str) -> dict[str, str]:
    out = json.loads(sb.sbctl("--format=json", "--columns=options", "find", "Port_Binding",
                              f"logical_port={port}").stdout)
    return dict(out["data"][0][0][1])


def check_one_chassis_pace(frames: list[tuple[float, bytes]]) -> None:
    """The first 3-4 s after the controller saw the port, then every 3-4 s: one chassis'
    worth in 12 s (two chassis both reaching vm1 would double it)."""
    assert 2 <= len(frames) <= 4, [t for t, _f in frames]
    gaps = [b - a for (a, _f), (b, _g) in itertools.pairwise(frames)]
    assert all(2.9 <= g <= 4.2 for g in gaps), gaps


def solicit(sb: Sandbox, host: str, seconds: float = 5.0) -> bytes | None:
    """The router advertisement that answers the host's router solicitation."""
    h = sb.state.host(host)
    out = subprocess.run(["ip", "netns", "exec", h.netns, sys.executable, "-c", SOLICIT,
                          h.iface, str(seconds)], capture_output=True, text=True,
                         timeout=seconds + 30, check=True).stdout.strip()
    return bytes.fromhex(out) if out else None


@pytest.fixture
def real_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("ra") / "sb", Stack.parse("all")) as sb:
        yield sb


@pytest.fixture
def pyovn_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("ra") / "sb", Stack.parse(None)) as sb:
        yield sb


def test_periodic_router_advertisements_as_the_real_controller(real_sandbox: Sandbox) -> None:
    sb = real_sandbox
    configure(sb)
    assert pb_options(sb, "lr0-sw0") == REAL_OPTIONS
    real = capture(sb, "vm1", 9.0)
    assert real, "the real ovn-controller sent no router advertisement in 9 s"
    assert {f for _t, f in real} == {REAL_RA}

    take_over(sb)
    mine = capture(sb, "vm1", 12.0)
    assert mine, "pyovn's controller sent no router advertisement in 12 s"
    assert all(f == REAL_RA for _t, f in mine), [f.hex() for _t, f in mine]
    check_one_chassis_pace(mine)


def test_periodic_router_advertisements_all_pyovn(pyovn_sandbox: Sandbox) -> None:
    sb = pyovn_sandbox
    configure(sb)
    deadline = time.monotonic() + 30
    while pb_options(sb, "lr0-sw0") != REAL_OPTIONS:
        assert time.monotonic() < deadline, pb_options(sb, "lr0-sw0")
        time.sleep(0.2)
    mine = capture(sb, "vm1", 12.0)
    assert mine, "pyovn's controller sent no router advertisement in 12 s"
    assert all(f == REAL_RA for _t, f in mine), [f.hex() for _t, f in mine]
    check_one_chassis_pace(mine)


def test_router_solicitation_is_answered_as_by_the_real_controller(
        real_sandbox: Sandbox) -> None:
    sb = real_sandbox
    configure(sb)
    want = solicit(sb, "vm1")
    assert want == REAL_RS_ANSWER, want.hex() if want else None
    take_over(sb)
    got = solicit(sb, "vm1")
    assert got == want, got.hex() if got else None


def test_router_solicitation_is_answered_all_pyovn(pyovn_sandbox: Sandbox) -> None:
    sb = pyovn_sandbox
    configure(sb)
    deadline = time.monotonic() + 30
    while (got := solicit(sb, "vm1", 2.0)) is None:
        assert time.monotonic() < deadline, "pyovn's stack never answered vm1's solicitation"
    assert got == REAL_RS_ANSWER, got.hex()
