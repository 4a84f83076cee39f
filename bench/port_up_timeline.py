#!/usr/bin/env python3
"""Where port-up time goes, hop by hop, on the real OVN stack and on pyovn's, one command.

For each port, one NB transaction inserts a Logical_Switch_Port into a switch; the clock
starts just before it is sent.  The bench watches NB (Logical_Switch_Port name, up) and SB
(Port_Binding logical_port, chassis, up) through monitors and stamps each update on
arrival, giving per port:

    NB txn sent -> NB reply -> SB Port_Binding inserted -> chassis set -> up set -> NB up

Two hops are northd's (with its NB and SB servers), and get their own rows:

    hop 1: NB txn sent -> SB Port_Binding inserted  (NB server, northd, SB server)
    hop 2: SB Port_Binding.up = true -> NB up = true  (SB server, northd, NB server)

The chassis comes in two kinds (``--chassis``):

- ``real``: a sandbox chassis (Open vSwitch + each stack's own controller, as in
  port_up_bench.py); the VIF (internal port with iface-id) is added right after the NB
  transaction, so the middle of the timeline is the controller's.
- ``sim``: no data plane; the bench plays the controller: when the SB monitor shows the new
  Port_Binding it sends one SB transaction setting chassis and up=true.  This isolates
  northd's hops from the controller and runs without root.

Every stack runs one after the other in its own sandbox (pyovn/sandbox); figures are the
median over ports of each per-port difference; ratios are real/pyovn (above 1.0 pyovn is
faster).

    .venv/bin/python bench/port_up_timeline.py [-n 30] [--chassis real|sim] [--impl real,pyovn]
        [--per-switch K] [--gap S]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    Conn,
    SandboxBench,
    cpu_seconds,
    exit_on_sigterm,
    machine_facts,
    oset,
    print_side_by_side,
    vif_ops,
)

from pyovn.sandbox.components import Stack  # noqa: E402

NB = "OVN_Northbound"
SB = "OVN_Southbound"
VS = "Open_vSwitch"

# The sandbox's central daemons, whose CPU time per port is reported too.
CENTRAL = ("nb", "sb", "northd")
# Events of one port, in the order they happen; times are perf_counter seconds.
EVENTS = ("nb_reply", "sb_pb", "sb_chassis", "sb_up", "nb_up")
HOPS: tuple[tuple[str, str, str], ...] = (
    # key, from, to
    ("NB txn -> NB reply", "t0", "nb_reply"),
    ("hop 1: NB txn -> SB Port_Binding", "t0", "sb_pb"),
    ("SB Port_Binding -> chassis set", "sb_pb", "sb_chassis"),
    ("chassis set -> SB up", "sb_chassis", "sb_up"),
    ("hop 2: SB up -> NB up", "sb_up", "nb_up"),
    ("total: NB txn -> NB up", "t0", "nb_up"),
)


def stack_of(impl: str) -> Stack:
    """"real", "pyovn", or "real:<components>": those real, the rest pyovn's (e.g.
    "real:nb,sb" is pyovn's northd between real servers), to see who costs what."""
    if impl == "real":
        return Stack.parse("all")
    if impl == "pyovn":
        return Stack.parse(None)
    return Stack.parse(impl.split(":", 1)[1].replace("+", ","))


def _truthy_set(v: Any) -> bool:
    """An OVSDB optional column's JSON value is non-empty (["set", []] is empty)."""
    if isinstance(v, list) and len(v) == 2 and v[0] == "set":
        return bool(v[1]) and v[1] != [False]
    return v not in (None, False)


class Timeline(SandboxBench):
    """One stack's sandbox, its NB and SB monitors, and the per-port event times."""

    def __init__(self, impl: str, chassis: str, keep: bool, verbose: bool) -> None:
        self.sim = chassis == "sim"
        super().__init__(impl, stack_of(impl), "put", keep, verbose, dataplane=not self.sim)
        # name -> event -> first time seen.
        self.times: dict[str, dict[str, float]] = {}
        self.lsp_names: dict[str, str] = {}  # NB uuid -> name
        self.pb_names: dict[str, str] = {}  # SB uuid -> logical_port
        self.pending_ids: dict[int, str] = {}  # NB transact id -> port name

    def start(self) -> None:
        self.box.start()
        st = self.box.state
        self.nb = self._conn(st.nb)
        self.sb = self._conn(st.sb)
        self.ovs: Conn | None = None
        if not self.sim:
            self.ovs = self._conn(os.path.join(st.hv_dir(1), "db.sock"))
            r = self.ovs.transact(VS, [{"op": "select", "table": "Bridge",
                                        "where": [["name", "==", "br-int"]],
                                        "columns": ["_uuid"]}])
            self.br_int = r["result"][0]["rows"][0]["_uuid"]
        r = self.sb.transact(SB, [{"op": "select", "table": "Chassis",
                                   "where": [["name", "==", "hv1"]], "columns": ["_uuid"]}])
        self.chassis_uuid = r["result"][0]["rows"][0]["_uuid"][1]
        for c, db, mon in ((self.nb, NB, {"Logical_Switch_Port": {"columns": ["name", "up"]}}),
                           (self.sb, SB, {"Port_Binding": {
                               "columns": ["logical_port", "chassis", "up"]}})):
            rep = c.call("monitor", [db, "put", mon])
            if rep.get("error") is not None:
                raise RuntimeError(f"{self.impl}: {db} monitor failed: {rep!r:.300}")
            self._note(c, {"method": "update", "params": ["put", rep["result"]]}, 0.0)
        self.ls: list[str] = []
        self.switches = 0
        self.in_switch = 0

    def new_switch(self) -> None:
        r = self.nb.transact(NB, [{"op": "insert", "table": "Logical_Switch",
                                   "row": {"name": f"put_ls{self.switches}"}}])
        self.ls = ["uuid", r["result"][0]["uuid"][1]]
        self.switches += 1
        self.in_switch = 0


    # ---- events -------------------------------------------------------------------------

    def _mark(self, name: str, event: str, t: float) -> None:
        ev = self.times.get(name)
        if ev is not None and event not in ev:
            ev[event] = t

    def _note(self, c: Conn, m: dict[str, Any], t: float) -> None:
        if "method" not in m:
            name = self.pending_ids.pop(m.get("id"), None) if c is self.nb else None
            if name is not None:
                self._mark(name, "nb_reply", t)
            return
        params = m.get("params")
        if m.get("method") != "update" or not isinstance(params, list) or len(params) != 2:
            return
        upd = params[1] or {}
        for u, ch in upd.get("Logical_Switch_Port", {}).items():
            new = ch.get("new")
            if new is None:
                continue
            name = new.get("name") or self.lsp_names.get(u, "")
            self.lsp_names[u] = name
            if new.get("up") is True:
                self._mark(name, "nb_up", t)
        for u, ch in upd.get("Port_Binding", {}).items():
            new = ch.get("new")
            if new is None:
                continue
            name = new.get("logical_port") or self.pb_names.get(u, "")
            if u not in self.pb_names:
                self.pb_names[u] = name
                self._mark(name, "sb_pb", t)
                if self.sim and name in self.times:
                    self._claim(u)
            if _truthy_set(new.get("chassis")):
                self._mark(name, "sb_chassis", t)
            if new.get("up") is True or new.get("up") == ["set", [True]]:
                self._mark(name, "sb_up", t)

    def _claim(self, pb_uuid: str) -> None:
        """What a controller does for a port it binds, in one SB transaction (by UUID, as
        a controller that has the row in its replica writes it)."""
        self.sb.send("transact", [SB, {
            "op": "update", "table": "Port_Binding", "where": [["_uuid", "==", ["uuid", pb_uuid]]],
            "row": {"chassis": ["uuid", self.chassis_uuid], "up": True}}])

    def _pump(self, until: float) -> None:
        """Read whatever NB and SB sent, stamping each message on arrival."""
        conns = [self.nb, self.sb]
        left = max(0.0, until - time.monotonic())
        ready, _, _ = select.select(conns, [], [], min(left, 1.0))
        for c in ready:
            t = time.perf_counter()
            for m in c.feed():
                self._note(c, m, t)
        for c in conns:
            while c.notes:
                self._note(c, c.notes.pop(0), time.perf_counter())

    # ---- one port -----------------------------------------------------------------------

    def vif_ops(self, iface: str, lsp: str) -> list[dict[str, Any]]:
        return vif_ops(self.br_int, iface, lsp)

    def port(self, i: int, timeout: float, per_switch: int) -> dict[str, float]:
        if not self.ls or (per_switch and self.in_switch >= per_switch):
            self.new_switch()
        self.in_switch += 1
        name = f"put_p{i}"
        mac = f"0a:00:00:00:{i >> 8:02x}:{i & 255:02x}"
        ip = f"192.168.{i // 250}.{i % 250 + 2}"
        ops = [{"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "lsp",
                "row": {"name": name, "addresses": oset([f"{mac} {ip}"])}},
               {"op": "mutate", "table": "Logical_Switch", "where": [["_uuid", "==", self.ls]],
                "mutations": [["ports", "insert", oset([["named-uuid", "lsp"]])]]}]
        ev: dict[str, float] = {}
        self.times[name] = ev
        t0 = time.perf_counter()
        ev["t0"] = t0
        self.pending_ids[self.nb.send("transact", [NB, *ops])] = name
        if self.ovs is not None:
            vs_id = self.ovs.send("transact",
                                  [VS, *self.vif_ops(self.box.state.link(f"v{i}"), name)])
            self.ovs.wait_reply(vs_id)
        deadline = time.monotonic() + timeout
        while "nb_up" not in ev or "nb_reply" not in ev:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.impl}: {name} not up after {timeout:g}s; "
                                   f"events {sorted(ev)}; sandbox {self.dir}")
            self._pump(deadline)
        return ev


def cpu_ms(pid: int) -> float:
    return cpu_seconds(pid) * 1000


def run_stack(impl: str, a: argparse.Namespace) -> tuple[list[dict[str, float]], dict[str, float]]:
    """One stack, from start to teardown: the timed ports' events, and the CPU time each
    central daemon spent on them (less noisy than latencies on a shared machine)."""
    tl = Timeline(impl, a.chassis, a.keep, a.verbose)
    try:
        tl.start()
        for i in range(a.warmup):
            tl.port(10_000 + i, a.timeout, a.per_switch)
            time.sleep(a.gap)
        pids = {name: d.pid for name in CENTRAL
                if (d := tl.box.state.daemon(name)) is not None}
        before = {name: cpu_ms(pid) for name, pid in pids.items()}
        per_port = []
        for i in range(a.n):
            per_port.append(tl.port(i, a.timeout, a.per_switch))
            time.sleep(a.gap)
        cpu = {name: cpu_ms(pid) - before[name] for name, pid in pids.items()}
    finally:
        tl.stop()
    return per_port, cpu


def summarize(impl: str, per_port: list[dict[str, float]], cpu: dict[str, float]
              ) -> dict[str, Any]:
    res: dict[str, Any] = {"impl": impl, "ports": len(per_port)}
    for name, ms in cpu.items():
        res[f"{name} CPU per port"] = round(ms / len(per_port), 2)
    for label, src, dst in HOPS:
        xs = [(ev[dst] - ev[src]) * 1e3 for ev in per_port if src in ev and dst in ev]
        if xs:
            res[label] = round(statistics.median(xs), 2)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=30, help="ports timed")
    ap.add_argument("--warmup", type=int, default=3, help="ports made first, not timed")
    ap.add_argument("--chassis", choices=("real", "sim"), default=None,
                    help="real: Open vSwitch + each stack's controller (default as root); "
                         "sim: the bench sets chassis and up itself")
    ap.add_argument("--impl", default="real,pyovn",
                    help="comma-separated stacks: real, pyovn, real:nb+sb (those real, the "
                         "rest pyovn's)")
    ap.add_argument("--gap", type=float, default=0.1, help="pause between ports (s)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each stack this many times, alternating, and pool the ports")
    ap.add_argument("--per-switch", type=int, default=0,
                    help="start a new switch after this many ports (0: one switch for all)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per port (s)")
    ap.add_argument("--json", action="store_true", help="one JSON line per stack")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox dirs (logs)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show sandbox progress")
    a = ap.parse_args()
    if a.chassis is None:
        a.chassis = "real" if os.geteuid() == 0 else "sim"
    impls = [x.strip() for x in a.impl.split(",") if x.strip()]
    if not impls or not all(i in ("real", "pyovn") or i.startswith("real:") for i in impls):
        ap.error("--impl: real, pyovn or real:<components joined by +>")
    if a.n < 1 or a.rounds < 1 or a.warmup < 0 or a.per_switch < 0:
        ap.error("-n and --rounds must be >= 1, --warmup and --per-switch >= 0")
    exit_on_sigterm()
    # The machine's load drifts: alternate the stacks, round after round (real, pyovn,
    # pyovn, real, ...), so that both see the same conditions on average.
    pooled: dict[str, list[dict[str, float]]] = {impl: [] for impl in impls}
    cpu: dict[str, dict[str, float]] = {impl: {} for impl in impls}
    for r in range(a.rounds):
        for impl in (impls if r % 2 == 0 else impls[::-1]):
            ports, spent = run_stack(impl, a)
            pooled[impl] += ports
            for name, ms in spent.items():
                cpu[impl][name] = cpu[impl].get(name, 0.0) + ms
    results = [summarize(impl, pooled[impl], cpu[impl]) for impl in impls]
    if a.json:
        for r in results:
            print(json.dumps({"test": "port_up_timeline", **machine_facts(), "n": a.n,
                              "rounds": a.rounds,
                              "chassis": a.chassis, **r}))
        return 0
    print(f"port-up timeline: {a.n} ports x {a.rounds} rounds per stack, chassis "
          f"{a.chassis}, medians of per-port differences in ms; nproc={os.cpu_count()}")
    labels = [h[0] for h in HOPS] + [f"{c} CPU per port" for c in CENTRAL]
    print_side_by_side(results, [(x, x, True) for x in labels], "hop", 38, 13,
                       "ratio real/pyovn: above 1.0 pyovn is faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
