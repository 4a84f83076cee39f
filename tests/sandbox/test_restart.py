"""Restarting pyovn's controller does not interrupt traffic: the flows the old process left
keep forwarding until the new one replaces them, in one bundle, with the same table (not a
partial one computed before SB sent the rows of its own ports).  The data-plane test needs
root and Open vSwitch; the gate's own rules are checked without them.

Two chassis, a router between two switches; vm1, vm3, vm4 on hv1, vm2 on hv2.  During each
restart of hv1's controller a ping from vm1 to each of the others runs every 10 ms, and
br-int's flow count is sampled back to back.  Nothing here waits a fixed time: the ping runs
until the new controller has installed its table and another 100 replies came back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyovn.controller.daemon import Controller
from pyovn.sandbox.components import Stack
from pyovn.sandbox.proc import Daemon, run, start_daemon, stop_daemons, wait_socket
from pyovn.sandbox.sandbox import Sandbox
from pyovn.sandbox.scenario import build, evaluate, parse
from tests.sandbox.helpers import running_sandbox

# Shared with bench/restart_bench.py.
TOPOLOGY = json.loads((Path(__file__).parent / "restart_topology.json").read_text())
SEQ_RE = re.compile(r"icmp_seq=(\d+)")
WAIT = 60.0  # only a bound on failure


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("rst") / "sb", Stack.parse(None)) as sb:
        sc = parse(TOPOLOGY, "test_restart")
        hosts = build(sb, sc, lambda s: None)
        bad = [c.check.label() for c in evaluate(sb, sc, hosts) if not c.ok]
        assert not bad, f"no connectivity before any restart: {bad}"
        yield sb


def ofctl(sb: Sandbox, *args: str) -> str:
    return run(["ovs-ofctl", *args, f"unix:{sb.state.hv_dir(1)}/br-int.mgmt"]).stdout


def flow_count(sb: Sandbox) -> int:
    return int(ofctl(sb, "dump-aggregate").split("flow_count=")[1].split()[0])


def flow_dump(sb: Sandbox) -> list[str]:
    return sorted(ln for ln in ofctl(sb, "--no-stats", "dump-flows").splitlines()
                  if "actions=" in ln)


def bundles(sb: Sandbox, d: Daemon) -> int:
    ctl = os.path.join(sb.state.hv_dir(1), f"ovn-controller.{d.pid}.ctl")
    out = run(["ovs-appctl", "-t", ctl, "inc-engine/show-stats"]).stdout
    return int(out.split("bundles:")[1].split()[0])


class Sampler(threading.Thread):
    def __init__(self, sb: Sandbox) -> None:
        super().__init__(daemon=True)
        self.sb = sb
        self.counts: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.counts.append(flow_count(self.sb))


class Ping:
    def __init__(self, sb: Sandbox, src: str, dst: str) -> None:
        ip = sb.state.host(dst).ip
        assert ip is not None
        self.dst = dst
        self.p = subprocess.Popen(["ip", "netns", "exec", sb.state.host(src).netns, "ping",
                                   "-n", "-i", "0.01", ip], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append(line)

    def replies(self) -> list[int]:
        return [int(m.group(1)) for ln in list(self.lines) if (m := SEQ_RE.search(ln))]

    def stop(self) -> list[int]:
        """The requests between the first and the last reply that got none (those after
        the last reply were still in flight)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)  # `ip netns exec` execs ping: this is ping
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.reader.join(timeout=10)
        got = set(self.replies())
        assert got, f"no reply at all to vm1 -> {self.dst}:\n{''.join(self.lines[-20:])}"
        return sorted(set(range(min(got), max(got) + 1)) - got)


def restart(sb: Sandbox) -> Daemon:
    """hv1's controller stopped by its pid and started again with the same command line
    and environment; recorded in the sandbox state so teardown stops it."""
    st = sb.state
    old = st.daemon("hv1 controller")
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
    d = start_daemon(old.name, argv, log=old.log, out=old.out, env=env, netns=st.ns("hv1"))
    st.daemons.append(d)
    st.save()
    wait_socket(d, os.path.join(st.hv_dir(1), f"ovn-controller.{d.pid}.ctl"))
    return d


def until(what: str, pred: Callable[[], bool], d: Daemon) -> None:
    deadline = time.monotonic() + WAIT
    while not pred():
        assert d.alive(), f"controller exited:\n{d.tail()}"
        assert time.monotonic() < deadline, f"{what}: not within {WAIT:g}s\n{d.tail()}"
        time.sleep(0.02)


@pytest.mark.netns
@pytest.mark.real
@pytest.mark.parametrize("round_", [1, 2])
def test_restart_loses_no_packet_and_never_shrinks_the_flow_table(sandbox: Sandbox,
                                                                  round_: int) -> None:
    sb = sandbox
    before = flow_dump(sb)
    steady = len(before)
    sampler = Sampler(sb)
    pings = [Ping(sb, "vm1", dst) for dst in ("vm2", "vm3", "vm4")]
    try:
        sampler.start()
        old = sb.state.daemon("hv1 controller")
        assert old is not None
        until("pings under way", lambda: all(len(p.replies()) >= 20 for p in pings), old)
        d = restart(sb)
        until("the new controller's first install", lambda: bundles(sb, d) >= 1, d)
        marks = [max(p.replies(), default=0) for p in pings]
        until("100 more replies on every path",
              lambda: all(max(p.replies(), default=0) >= m + 100
                          for p, m in zip(pings, marks, strict=True)), d)
    finally:
        missing = {p.dst: p.stop() for p in pings}
        sampler.done.set()
        sampler.join(timeout=30)
    sb.check_alive()
    assert not any(missing.values()), f"lost across the restart: {missing}"
    assert sampler.counts and min(sampler.counts) >= steady, \
        f"br-int shrank from {steady} to {min(sampler.counts)} flows during the restart"
    after = flow_dump(sb)
    assert after == before, ("the restarted controller installed a different table:\n"
                             + "\n".join([f"- {x}" for x in sorted(set(before) - set(after))]
                                          + [f"+ {x}" for x in sorted(set(after) - set(before))]))


def test_gate_holds_while_conditions_bring_rows_then_opens() -> None:
    ctl = Controller("unix:/nonexistent/db.sock")
    assert not ctl.settled
    assert not ctl._conditions_settled(True)  # wider conditions brought rows: compute again
    assert not ctl._conditions_settled(True)
    assert ctl._conditions_settled(False)  # nothing new came: the table is complete
    assert ctl.settled
    assert ctl._conditions_settled(True)  # once open, later changes never hold it


def test_gate_opens_at_its_deadline_even_if_sb_keeps_widening() -> None:
    ctl = Controller("unix:/nonexistent/db.sock")
    assert not ctl._conditions_settled(True)
    assert ctl._settle_deadline is not None
    ctl._settle_deadline = time.monotonic() - 1  # as if SETTLE_TIMEOUT had passed
    assert ctl._conditions_settled(True)
    assert ctl.settled
