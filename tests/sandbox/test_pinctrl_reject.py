"""reject end to end: an ACL that rejects TCP/22 and UDP/53 into vm2, pyovn's controller
answering the packet-ins with a TCP RST and an ICMP port unreachable, which the client's
kernel reports as "connection refused" (a drop would time out instead).  Needs root and
Open vSwitch; runs on the all-pyovn stack only (the real controller is not under test)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from pyovn.sandbox.components import Stack
from pyovn.sandbox.proc import run
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import build, evaluate, parse

from .helpers import running_sandbox

pytestmark = [pytest.mark.netns, pytest.mark.real]

SCENARIO = {
    "name": "reject",
    "description": "to-lport ACLs rejecting TCP/22 and UDP/53 into vm2",
    "nb": [
        ["ls-add", "sw0"],
        ["lsp-add", "sw0", "vm1", "--", "lsp-set-addresses", "vm1",
         "00:00:00:00:00:01 10.0.0.1"],
        ["lsp-add", "sw0", "vm2", "--", "lsp-set-addresses", "vm2",
         "00:00:00:00:00:02 10.0.0.2"],
        ["acl-add", "sw0", "to-lport", "1002", 'outport == "vm2" && tcp.dst == 22', "reject"],
        ["acl-add", "sw0", "to-lport", "1002", 'outport == "vm2" && udp.dst == 53', "reject"],
    ],
    "vms": [
        {"name": "vm1", "chassis": 1, "port": "vm1", "mac": "00:00:00:00:00:01",
         "ip": "10.0.0.1/24"},
        {"name": "vm2", "chassis": 2, "port": "vm2", "mac": "00:00:00:00:00:02",
         "ip": "10.0.0.2/24"},
    ],
    "checks": [
        {"from": "vm1", "to": "vm2", "proto": "tcp", "port": 80, "expect": "pass"},
        {"from": "vm1", "to": "vm2", "proto": "udp", "port": 54, "expect": "pass"},
        {"from": "vm1", "to": "vm2", "proto": "tcp", "port": 22, "expect": "fail"},
        {"from": "vm1", "to": "vm2", "proto": "udp", "port": 53, "expect": "fail"},
    ],
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("rej") / "sb", Stack.parse(None)) as sb:
        yield sb


# A connected socket, so that an ICMP error reaches the UDP client too.
_CLIENT = """
import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.settimeout(5)
try:
    s.connect(("10.0.0.2", int(sys.argv[2])))
    s.send(b"x")
    s.recv(16)
    print("answered")
except OSError as e:
    print(type(e).__name__)
"""


def _connect(sb: Sandbox, proto: str, port: int) -> str:
    """How the client's attempt ends: ConnectionRefusedError for a RST or a port
    unreachable, TimeoutError for a drop."""
    r = run([sys.executable, "-c", _CLIENT, proto, str(port)],
            netns=sb.state.host("vm1").netns, check=False, timeout=20, component="vm1")
    return r.stdout.strip()


def test_rejected_tcp_and_udp_are_refused_not_dropped(sandbox: Sandbox) -> None:
    sc = parse(SCENARIO, "reject")
    said: list[str] = []
    hosts = build(sandbox, sc, said.append)
    cases = evaluate(sandbox, sc, hosts)
    assert all(c.ok for c in cases), [(c.check.label(), c.actual) for c in cases]
    assert _connect(sandbox, "tcp", 22) == "ConnectionRefusedError"  # RST
    assert _connect(sandbox, "udp", 53) == "ConnectionRefusedError"  # port unreachable
