#!/usr/bin/env python3
"""Controller restart under traffic, the real ovn-controller and pyovn's side by side: how
many packets a steady ping loses while one chassis' controller is stopped and started again.

Each stack is a two-chassis sandbox (pyovn/sandbox): "real" is every component real,
"pyovn" every component pyovn has, "pyovn-ctl" the real servers and northd with pyovn's
controller.  The chassis' Open vSwitch is the real one in all.  Stacks run one after the
other, never together.

Topology: switches sw0 and sw1 joined by router lr0; on hv1 vm1 (sw0), vm3 (sw0), vm4 (sw1),
on hv2 vm2 (sw1).  Three pings run from vm1 at once, every ``--interval`` seconds: to vm2
(routed, across the Geneve tunnel), to vm3 (same switch, same chassis) and to vm4 (routed,
same chassis).  Each restart: pings and a br-int flow-count sampler (ovs-ofctl
dump-aggregate, as fast as it answers) start; after ``--before`` s the controller of
``--chassis`` is sent SIGTERM and, once gone (plus ``--down`` s), started again with the
same command line and environment (read from /proc); about ``--after`` s later the pings end
(each ping sends (before + after) / interval requests and then waits for the replies
in flight).  Reported per restart and path: packets sent, lost, and the longest time between
two replies (ping -D timestamps); and the lowest br-int flow count seen against the count
before the restart.

    .venv/bin/python bench/restart_bench.py [--restarts 3] [--impl real,pyovn] [--json]

Everything (namespaces, processes, the sandbox directories) is removed at the end, also on
failure, unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import exit_on_sigterm, machine_facts  # noqa: E402

from pyovn.sandbox.components import Stack  # noqa: E402
from pyovn.sandbox.proc import Daemon, start_daemon, stop_daemons, wait_socket  # noqa: E402
from pyovn.sandbox.sandbox import Sandbox  # noqa: E402
from pyovn.sandbox.scenario import build, evaluate, parse  # noqa: E402

STACKS = {"real": "all", "pyovn": None, "pyovn-ctl": "nb,sb,northd,trace,nbctl,sbctl"}

# The test suite's topology (tests/sandbox/test_restart.py reads the same file).
TOPOLOGY: dict[str, Any] = json.loads((ROOT / "tests/sandbox/restart_topology.json").read_text())
# (source, destination, label)
PATHS = (("vm1", "vm2", "routed, other chassis"), ("vm1", "vm3", "L2, same chassis"),
         ("vm1", "vm4", "routed, same chassis"))

REPLY_RE = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", re.M)
SENT_RE = re.compile(r"(\d+) packets transmitted, (\d+) received")


@dataclass
class PingResult:
    sent: int
    received: int
    longest_gap_ms: float

    @property
    def lost(self) -> int:
        return self.sent - self.received


class Ping:
    """``ping -D -i INTERVAL -c COUNT`` inside a namespace.  It ends by itself, after
    waiting for the replies still in flight, so that no packet counts as lost only because
    the ping was stopped while it was on its way."""

    def __init__(self, netns: str, dst: str, interval: float, count: int) -> None:
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", netns, "ping", "-n", "-D", "-i", f"{interval:g}",
             "-c", str(count), "-W", "1", dst],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout: float) -> PingResult:
        try:
            out, _ = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # `ip netns exec` execs ping: this pid is ping's; SIGINT makes it sum up.
            with contextlib.suppress(ProcessLookupError):
                self.p.send_signal(signal.SIGINT)
            out, _ = self.p.communicate(timeout=10)
        m = SENT_RE.search(out)
        if m is None:
            raise RuntimeError(f"ping gave no summary:\n{out[-1000:]}")
        stamps = sorted(float(t) for t, _seq in REPLY_RE.findall(out))
        gap = max((b - a for a, b in itertools.pairwise(stamps)), default=0.0)
        return PingResult(int(m.group(1)), int(m.group(2)), round(gap * 1e3, 1))

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def flow_count(hv_dir: str) -> int | None:
    r = subprocess.run(["ovs-ofctl", "dump-aggregate", f"unix:{hv_dir}/br-int.mgmt"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or "flow_count=" not in r.stdout:
        return None
    return int(r.stdout.split("flow_count=")[1].split()[0])


class FlowSampler(threading.Thread):
    """br-int's flow count, sampled back to back until stopped."""

    def __init__(self, hv_dir: str) -> None:
        super().__init__(daemon=True)
        self.hv_dir = hv_dir
        self.samples: list[tuple[float, int]] = []
        self._stop_ev = threading.Event()

    def run(self) -> None:
        while not self._stop_ev.is_set():
            c = flow_count(self.hv_dir)
            if c is not None:
                self.samples.append((time.monotonic(), c))

    def stop(self) -> list[tuple[float, int]]:
        self._stop_ev.set()
        self.join(timeout=30)
        return self.samples


@dataclass
class RestartResult:
    paths: dict[str, PingResult] = field(default_factory=dict)
    flows_before: int = 0
    flows_min: int = 0
    flows_after: int = 0
    samples: int = 0
    down_s: float = 0.0


def restart_controller(sb: Sandbox, chassis: int, down: float = 0.0) -> tuple[Daemon, float]:
    """Stops chassis ``chassis``' controller by its pid and starts it again with the same
    command line and environment; the new daemon is recorded in the sandbox state (so
    teardown stops it).  Returns it and the seconds the controller was not running."""
    st = sb.state
    name = f"hv{chassis} controller"
    old = st.daemon(name)
    if old is None or not old.alive():
        raise RuntimeError(f"{name} is not running")
    argv = [a.decode() for a in
            Path(f"/proc/{old.pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")]
    environ = Path(f"/proc/{old.pid}/environ").read_bytes().split(b"\0")
    keep = ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVN_RUNDIR")
    env = {k: v for k, _, v in (e.decode().partition("=") for e in environ) if k in keep}
    # ``ip netns exec NS`` execs the controller: the recorded argv is the controller's own.
    t0 = time.monotonic()
    stop_daemons([old])
    st.daemons.remove(old)
    st.save()
    if down > 0:
        time.sleep(down)
    d = start_daemon(name, argv, log=old.log, out=old.out, env=env,
                     netns=st.ns(f"hv{chassis}"))
    st.daemons.append(d)
    st.save()
    h = st.hv_dir(chassis)
    wait_socket(d, os.path.join(h, f"ovn-controller.{d.pid}.ctl"))
    return d, time.monotonic() - t0


def one_restart(sb: Sandbox, chassis: int, a: argparse.Namespace) -> RestartResult:
    st = sb.state
    res = RestartResult()
    hv = st.hv_dir(chassis)
    res.flows_before = flow_count(hv) or 0
    pings: dict[str, Ping] = {}
    sampler = FlowSampler(hv)
    try:
        count = round((a.before + a.after) / a.interval)
        for src, dst, _ in PATHS:
            ip = st.host(dst).ip
            assert ip is not None
            pings[dst] = Ping(st.host(src).netns, ip, a.interval, count)
        sampler.start()
        time.sleep(a.before)
        _, res.down_s = restart_controller(sb, chassis, a.down)
        res.down_s = round(res.down_s, 3)
        for dst, p in pings.items():
            # A busy machine sends slower than asked: allow for it, then stop the ping.
            res.paths[dst] = p.wait(timeout=4 * (a.before + a.after) + 10)
    finally:
        for p in pings.values():
            p.kill()
        samples = sampler.stop()
    res.samples = len(samples)
    counts = [c for _, c in samples]
    res.flows_min = min(counts, default=0)
    res.flows_after = counts[-1] if counts else 0
    return res


def run_stack(impl: str, a: argparse.Namespace) -> dict[str, Any]:
    directory = tempfile.mkdtemp(prefix=f"rb-{os.getpid()}-{impl}-", dir="/tmp")
    out = (lambda s: print(f"[{impl}] {s}", flush=True)) if a.verbose else (lambda s: None)
    sb = Sandbox.create(directory, Stack.parse(STACKS[impl]), chassis=2, dataplane=True,
                        out=out)
    res: dict[str, Any] = {"impl": impl, "stack": sb.stack.label(), "restarts": []}
    try:
        sb.start()
        sc = parse(TOPOLOGY, "restart_bench")
        hosts = build(sb, sc, out)
        bad = [c.check.label() for c in evaluate(sb, sc, hosts) if not c.ok]
        if bad:
            raise RuntimeError(f"{impl}: no connectivity before any restart: {bad}")
        for i in range(a.restarts):
            time.sleep(a.settle)
            r = one_restart(sb, a.chassis, a)
            sb.check_alive()
            res["restarts"].append({
                "n": i + 1, "down_s": r.down_s, "flows_before": r.flows_before,
                "flows_min": r.flows_min, "flows_after": r.flows_after,
                "flow_samples": r.samples,
                **{f"{dst}_{k}": v for dst, p in r.paths.items()
                   for k, v in (("sent", p.sent), ("lost", p.lost),
                                ("gap_ms", p.longest_gap_ms))}})
            if a.verbose:
                print(f"[{impl}] restart {i + 1}: {res['restarts'][-1]}", flush=True)
    except BaseException:
        d = sb.state.daemon(f"hv{a.chassis} controller")
        if d is not None:
            print(f"[{impl}] controller log tail:\n{d.tail(1500)}", file=sys.stderr)
        raise
    finally:
        sb.teardown(remove_dir=not a.keep)
        if not a.keep:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"[{impl}] kept {directory}", file=sys.stderr)
    return res


def report(results: list[dict[str, Any]], a: argparse.Namespace) -> str:
    lines = [f"controller restart bench: hv{a.chassis}'s controller restarted {a.restarts}x "
             f"under ping -i {a.interval:g} from vm1 (hv1); nproc={os.cpu_count()}",
             "per path: lost/sent, longest gap between replies (ms); br-int flows: "
             "before -> lowest seen -> after"]
    head = f"{'stack':<10}{'#':>3}{'down s':>8}"
    for _, dst, label in PATHS:
        head += f"  {'vm1->' + dst + ' (' + label + ')':>34}"
    head += f"  {'br-int flows':>22}"
    lines.append(head)
    for r in results:
        for x in r["restarts"]:
            line = f"{r['impl']:<10}{x['n']:>3}{x['down_s']:>8.2f}"
            for _, dst, _l in PATHS:
                cell = f"{x[dst + '_lost']}/{x[dst + '_sent']}, {x[dst + '_gap_ms']:.0f} ms"
                line += f"  {cell:>34}"
            fl = f"{x['flows_before']} -> {x['flows_min']} -> {x['flows_after']}"
            lines.append(line + f"  {fl:>22}")
        total = sum(x[dst + "_lost"] for x in r["restarts"] for _, dst, _l in PATHS)
        sent = sum(x[dst + "_sent"] for x in r["restarts"] for _, dst, _l in PATHS)
        lines.append(f"{r['impl']:<10} total lost {total}/{sent} ({r['stack']})")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", default="real,pyovn",
                    help=f"comma-separated stacks: {', '.join(STACKS)}")
    ap.add_argument("--restarts", type=int, default=3, help="restarts per stack")
    ap.add_argument("--chassis", type=int, default=1, choices=(1, 2),
                    help="whose controller restarts (vm1, vm3, vm4 are on hv1)")
    ap.add_argument("--interval", type=float, default=0.01, help="ping interval (s)")
    ap.add_argument("--before", type=float, default=1.0, help="ping before the stop (s)")
    ap.add_argument("--after", type=float, default=6.0,
                    help="ping from the stop until the end of the round (s)")
    ap.add_argument("--down", type=float, default=0.0,
                    help="wait between the old controller's exit and the new start (s)")
    ap.add_argument("--settle", type=float, default=2.0, help="pause between restarts (s)")
    ap.add_argument("--json", action="store_true", help="one JSON line per stack")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox dirs (logs)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show progress")
    a = ap.parse_args()
    impls = [x.strip() for x in a.impl.split(",") if x.strip()]
    if not impls or not set(impls) <= set(STACKS):
        ap.error(f"--impl: choose from {', '.join(STACKS)}")
    if a.restarts < 1 or a.interval < 0.002 or a.after <= 0:
        ap.error("--restarts >= 1, --interval >= 0.002, --after > 0")
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces)")
    exit_on_sigterm()
    results = [run_stack(impl, a) for impl in impls]
    if a.json:
        for r in results:
            print(json.dumps({"test": "restart_bench", **machine_facts(),
                              "interval": a.interval, **r}))
        return 0
    print(report(results, a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
