#!/usr/bin/env python3
"""Controller side by side: port-up latency and the time to fill br-int with ~100k flows,
the real OVN stack and pyovn's, one command.

Each stack is a one-chassis sandbox (pyovn/sandbox): "real" is every component real
(ovsdb-server NB/SB, ovn-northd, ovn-controller), "pyovn" is every component pyovn has
(its ovsdb-server NB/SB, northd, controller).  The chassis' Open vSwitch is the real one in
both.  The stacks run one after the other, never together.

1. Port-up latency, ``-n`` times: one NB transaction creates a Logical_Switch_Port and one
   transaction to the chassis' OVS database adds its VIF (an internal port on br-int with
   external_ids:iface-id); both are sent back to back and the clock starts just before the
   first.  It stops when an NB monitor reports Logical_Switch_Port.up = true.  So it covers
   NB commit, northd, SB, the controller's claim and flow install, and northd copying
   Port_Binding.up back.  Ports accumulate (port i joins a switch holding ports 0..i-1).

2. Flow install: a switch with one local port in a port group, ``--acls`` ACLs on the port
   group each matching ``ip4.src`` against its own address set, ``--flows`` addresses in
   all: one OpenFlow flow per address.  The SB content is made by each stack's own northd.
   Once the running controller has installed it (timed too: NB commit -> flow count
   steady), the controller is stopped, br-int's flows deleted, and the controller started
   again: the install time is from that start until br-int's flow count (ovs-ofctl
   dump-aggregate, polled) first shows the value it then keeps for ``--settle`` seconds.

    .venv/bin/python bench/port_up_bench.py [-n 30] [--flows 100000] [--impl real,pyovn]

Ratios are real/pyovn: above 1.0 pyovn is faster.  Everything (namespaces, processes, the
sandbox directories) is removed at the end, also on failure, unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
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
    pct,
    print_side_by_side,
    vif_ops,
)

from pyovn.sandbox.components import Stack  # noqa: E402
from pyovn.sandbox.proc import Daemon, start_daemon, stop_daemons  # noqa: E402

NB = "OVN_Northbound"
SB = "OVN_Southbound"
VS = "Open_vSwitch"
CONTROLLER = "hv1 controller"


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


class Bench(SandboxBench):
    """One stack's sandbox plus the bench's own connections to NB, SB and the chassis' OVS
    database.  Nothing here changes the sandbox code: the controller restart reuses the
    sandbox's process helpers and records the new pid in its state, so teardown stops it."""

    def __init__(self, impl: str, keep: bool, verbose: bool) -> None:
        super().__init__(impl, Stack.parse("all" if impl == "real" else None), "pub", keep,
                         verbose)
        self.lsp_rows: dict[str, dict[str, Any]] = {}
        self.nb: Conn | None = None
        self.ovs: Conn | None = None
        self.ls: list[Any] | None = None
        self.next_port = 0

    # ---- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        if not self.box.state.dataplane:
            raise RuntimeError("the bench needs the data plane (root and Open vSwitch)")
        self.box.start()
        st = self.box.state
        self.hv = st.hv_dir(1)
        self.nb = self._conn(st.nb)
        self.sbc = self._conn(st.sb)
        self.ovs = self._conn(os.path.join(self.hv, "db.sock"))
        r = self.ovs.transact(VS, [{"op": "select", "table": "Bridge",
                                    "where": [["name", "==", "br-int"]],
                                    "columns": ["_uuid"]}])
        self.br_int = r["result"][0]["rows"][0]["_uuid"]
        # LSP name and up, as NB reports them: the port-up clock stops on these updates.
        mon = self.nb.call("monitor", [NB, "pub", {"Logical_Switch_Port":
                                                   {"columns": ["name", "up"]}}])
        if mon.get("error") is not None:
            raise RuntimeError(f"NB monitor failed: {mon!r:.300}")
        self._apply({"params": ["pub", mon["result"]]})


    def controller(self) -> Daemon:
        d = self.box.state.daemon(CONTROLLER)
        if d is None:
            raise RuntimeError("the sandbox has no controller on hv1")
        return d

    def check_controller(self) -> None:
        d = self.controller()
        if not d.alive():
            d.reap()
            raise RuntimeError(f"{self.impl} controller died; log: {d.log}\n{d.tail(1500)}")

    # ---- NB monitor ---------------------------------------------------------------------

    def _apply(self, note: dict[str, Any]) -> None:
        params = note.get("params")
        if not isinstance(params, list) or len(params) != 2 or params[0] != "pub":
            return
        for uuid, ch in (params[1] or {}).get("Logical_Switch_Port", {}).items():
            new = ch.get("new")
            if new is None:
                self.lsp_rows.pop(uuid, None)
            else:
                self.lsp_rows.setdefault(uuid, {}).update(new)

    def is_up(self, name: str) -> bool:
        return any(r.get("name") == name and r.get("up") is True
                   for r in self.lsp_rows.values())

    def wait_up(self, name: str, timeout: float) -> float:
        """perf_counter time of the NB update that showed ``name`` up."""
        assert self.nb is not None
        deadline = time.monotonic() + timeout
        while True:
            while self.nb.notes:
                self._apply(self.nb.notes.pop(0))
            if self.is_up(name):
                return time.perf_counter()
            left = deadline - time.monotonic()
            if left <= 0:
                self.check_controller()
                raise TimeoutError(f"{self.impl}: port {name} not up after {timeout:g}s "
                                   f"(controller log {self.controller().log})")
            self.nb.s.settimeout(min(1.0, max(0.01, left)))
            try:
                self.nb.notes.extend(self.nb.feed())
            except TimeoutError:
                self.check_controller()
            finally:
                self.nb.s.settimeout(self.nb.io_timeout)

    # ---- building -----------------------------------------------------------------------

    def vif_ops(self, iface: str, lsp: str) -> list[dict[str, Any]]:
        """The VIF of ``lsp`` on br-int (inside the chassis namespace)."""
        return vif_ops(self.br_int, iface, lsp)

    def add_switch(self, name: str) -> list[Any]:
        assert self.nb is not None
        r = self.nb.transact(NB, [{"op": "insert", "table": "Logical_Switch",
                                   "row": {"name": name}}])
        return ["uuid", r["result"][0]["uuid"][1]]

    # ---- 1. port up ---------------------------------------------------------------------

    def port_up(self, n: int, gap: float, timeout: float) -> list[float]:
        """Ports pub_p<i> on switch pub_ls, numbered on from the ports made before."""
        assert self.nb is not None and self.ovs is not None
        if self.ls is None:
            self.ls = self.add_switch("pub_ls")
        ls = self.ls
        lat: list[float] = []
        for i in range(self.next_port, self.next_port + n):
            name = f"pub_p{i}"
            mac = f"0a:00:00:00:{i >> 8:02x}:{i & 255:02x}"
            ip = f"192.168.{i // 250}.{i % 250 + 2}"
            nb_ops = [
                {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "lsp",
                 "row": {"name": name, "addresses": oset([f"{mac} {ip}"])}},
                {"op": "mutate", "table": "Logical_Switch", "where": [["_uuid", "==", ls]],
                 "mutations": [["ports", "insert", oset([["named-uuid", "lsp"]])]]}]
            vs_ops = self.vif_ops(self.box.state.link(f"v{i}"), name)
            t0 = time.perf_counter()
            nb_id = self.nb.send("transact", [NB, *nb_ops])
            vs_id = self.ovs.send("transact", [VS, *vs_ops])
            for c, id_ in ((self.nb, nb_id), (self.ovs, vs_id)):
                rep = c.wait_reply(id_)
                if rep.get("error") is not None or any(
                        isinstance(x, dict) and "error" in x for x in rep.get("result") or []):
                    raise RuntimeError(f"{self.impl}: transaction failed: {rep!r:.400}")
            lat.append(self.wait_up(name, timeout) - t0)
            time.sleep(gap)
        self.next_port += n
        return lat

    # ---- 2. flow install ----------------------------------------------------------------

    def flow_count(self) -> int:
        r = subprocess.run(["ovs-ofctl", "dump-aggregate", f"unix:{self.hv}/br-int.mgmt"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"ovs-ofctl dump-aggregate failed: {r.stderr.strip()}")
        return int(r.stdout.split("flow_count=")[1].split()[0])

    def wait_steady(self, t0: float, settle: float, poll: float, timeout: float,
                    want: int | None = None, at_least: int = 1) -> tuple[int, float]:
        """Poll br-int's flow count until it has held one value for ``settle`` seconds and
        that value is ``want`` (if given) and at least ``at_least``: a controller may hold
        an intermediate count for seconds while it computes.  A count that holds for a
        minute ends the wait anyway (the caller compares it).  Returns the value and the
        time, after ``t0``, at which it was first seen."""
        deadline = time.perf_counter() + timeout
        val, since = -1, time.perf_counter()
        while True:
            now = time.perf_counter()
            c = self.flow_count()
            if c != val:
                val, since = c, now
            held = time.perf_counter() - since
            expected = val >= at_least and (want is None or val == want)
            if val > 0 and held >= settle and (expected or held >= max(60.0, 5 * settle)):
                return val, since - t0
            if now > deadline:
                raise TimeoutError(f"{self.impl}: br-int flow count not steady after "
                                   f"{timeout:g}s (last {val}); log {self.controller().log}")
            self.check_controller()
            time.sleep(poll)

    def flows_topology(self, flows: int, acls: int) -> list[dict[str, Any]]:
        per = -(-flows // acls)
        ops: list[dict[str, Any]] = [
            {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "lsp",
             "row": {"name": "pub_fl0",
                     "addresses": oset(["0a:00:00:01:00:01 172.16.0.2"])}},
            {"op": "insert", "table": "Logical_Switch", "row": {
                "name": "pub_fl", "ports": oset([["named-uuid", "lsp"]])}}]
        acl_refs = []
        for k in range(acls):
            n = min(per, flows - k * per)
            if n <= 0:
                break
            base = k * per
            addrs = [f"10.{(j >> 16) & 255}.{(j >> 8) & 255}.{j & 255}"
                     for j in range(base, base + n)]
            ops.append({"op": "insert", "table": "Address_Set",
                        "row": {"name": f"pub_as{k}", "addresses": oset(addrs)}})
            ops.append({"op": "insert", "table": "ACL", "uuid-name": f"acl{k}", "row": {
                "direction": "to-lport", "priority": 1001, "action": "drop",
                "match": f"outport == @pub_pg && ip4.src == $pub_as{k} && "
                         f"tcp.dst == {1000 + k}"}})
            acl_refs.append(["named-uuid", f"acl{k}"])
        ops.append({"op": "insert", "table": "Port_Group", "row": {
            "name": "pub_pg", "ports": oset([["named-uuid", "lsp"]]),
            "acls": oset(acl_refs)}})
        return ops

    def sb_count(self, table: str) -> int:
        r = self.sbc.transact(SB, [{"op": "select", "table": table, "where": [],
                                    "columns": ["_uuid"]}])
        return len(r["result"][0]["rows"])

    def flow_install(self, flows: int, acls: int, settle: float, poll: float,
                     timeout: float) -> dict[str, Any]:
        assert self.nb is not None and self.ovs is not None
        res: dict[str, Any] = {}
        base = self.flow_count()
        t0 = time.perf_counter()
        self.nb.transact(NB, self.flows_topology(flows, acls))
        vs_id = self.ovs.send("transact", [VS, *self.vif_ops(self.box.state.link("f0"),
                                                             "pub_fl0")])
        self.ovs.wait_reply(vs_id)
        self.wait_up("pub_fl0", timeout)
        # One OpenFlow flow per address: the count ends at least that much higher.
        warm, t_warm = self.wait_steady(t0, settle, poll, timeout, at_least=base + flows)
        res["flows_before_topology"] = base
        res["nb_commit_to_flows_s"] = round(t_warm, 3)
        res["flows_running"] = warm
        res["sb_logical_flows"] = self.sb_count("Logical_Flow")

        # Restart the controller on an empty br-int.
        st = self.box.state
        old = self.controller()
        argv = Path(f"/proc/{old.pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        env = {"OVS_RUNDIR": self.hv, "OVS_DBDIR": self.hv, "OVS_LOGDIR": self.hv,
               "OVN_RUNDIR": self.hv}
        stop_daemons([old])
        st.daemons.remove(old)
        st.save()
        subprocess.run(["ovs-ofctl", "del-flows", f"unix:{self.hv}/br-int.mgmt"],
                       check=True, capture_output=True, timeout=120)
        if self.flow_count() != 0:
            raise RuntimeError(f"{self.impl}: br-int not empty after del-flows")
        t0 = time.perf_counter()
        d = start_daemon(CONTROLLER, [a.decode() for a in argv], log=old.log, out=old.out,
                         env=env, netns=st.ns("hv1"))
        st.daemons.append(d)
        st.save()
        cold, t_cold = self.wait_steady(t0, settle, poll, timeout, want=warm)
        res["flows_restart"] = cold
        res["restart_install_s"] = round(t_cold, 3)
        res["controller_cpu_s"] = round(cpu_seconds(d.pid), 2)
        res["controller_rss_mb"] = rss_mb(d.pid)
        return res


def run_stack(impl: str, a: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {"impl": impl}
    b = Bench(impl, a.keep, a.verbose)
    try:
        b.start()
        if a.n > 0:
            lat = [x * 1e3 for x in b.port_up(a.n, a.gap, a.timeout)]
            res["port_up_ms"] = [round(x, 2) for x in lat]
            res["port_up_ms_min"] = round(min(lat), 1)
            res["port_up_ms_median"] = round(statistics.median(lat), 1)
            res["port_up_ms_p95"] = round(pct(lat, 95) or 0.0, 1)
        if a.flows > 0:
            res.update(b.flow_install(a.flows, a.acls, a.settle, a.poll, a.install_timeout))
            if a.loaded_n > 0:
                lat = [x * 1e3 for x in b.port_up(a.loaded_n, a.gap, a.timeout)]
                res["loaded_port_up_ms"] = [round(x, 2) for x in lat]
                res["loaded_port_up_ms_min"] = round(min(lat), 1)
                res["loaded_port_up_ms_median"] = round(statistics.median(lat), 1)
                res["loaded_port_up_ms_p95"] = round(pct(lat, 95) or 0.0, 1)
    except BaseException:
        d = b.box.state.daemon(CONTROLLER)
        if d is not None:
            print(f"[{impl}] controller log tail:\n{d.tail(1500)}", file=sys.stderr)
        raise
    finally:
        b.stop()
    return res


ROWS: tuple[tuple[str, str, bool], ...] = (
    # key, label, lower is better (gets a real/pyovn ratio)
    ("port_up_ms_min", "port up, min (ms)", True),
    ("port_up_ms_median", "port up, median (ms)", True),
    ("port_up_ms_p95", "port up, p95 (ms)", True),
    ("sb_logical_flows", "SB Logical_Flow rows", False),
    ("flows_running", "br-int flows (steady)", False),
    ("nb_commit_to_flows_s", "NB commit -> flows steady (s)", True),
    ("flows_restart", "br-int flows after restart", False),
    ("restart_install_s", "controller start -> flows (s)", True),
    ("controller_cpu_s", "controller CPU for it (s)", True),
    ("controller_rss_mb", "controller RSS (MB)", True),
    ("loaded_port_up_ms_min", "loaded port up, min (ms)", True),
    ("loaded_port_up_ms_median", "loaded port up, median (ms)", True),
    ("loaded_port_up_ms_p95", "loaded port up, p95 (ms)", True),
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=30, help="ports brought up (0: skip)")
    ap.add_argument("--flows", type=int, default=100_000,
                    help="addresses in the ACLs' address sets ~ OpenFlow flows (0: skip)")
    ap.add_argument("--loaded-n", type=int, default=10,
                    help="ports brought up after the flow install, with its flows in place")
    ap.add_argument("--acls", type=int, default=4, help="ACLs / address sets sharing --flows")
    ap.add_argument("--impl", default="real,pyovn", help="comma-separated: real,pyovn")
    ap.add_argument("--gap", type=float, default=0.2, help="pause between ports (s)")
    ap.add_argument("--timeout", type=float, default=60.0, help="per port-up (s)")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="the flow count must hold this long to count as steady (s)")
    ap.add_argument("--poll", type=float, default=0.05, help="flow count poll period (s)")
    ap.add_argument("--install-timeout", type=float, default=900.0)
    ap.add_argument("--json", action="store_true", help="one JSON line per stack")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox dirs (logs)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show sandbox progress")
    a = ap.parse_args()
    impls = [x.strip() for x in a.impl.split(",") if x.strip()]
    if not impls or not set(impls) <= {"real", "pyovn"}:
        ap.error("--impl: real and/or pyovn")
    if a.n < 0 or a.loaded_n < 0 or a.flows < 0 or a.acls < 1:
        ap.error("-n, --loaded-n and --flows must be >= 0, --acls >= 1")
    exit_on_sigterm()
    results = [run_stack(impl, a) for impl in impls]
    if a.json:
        for r in results:
            print(json.dumps({"test": "port_up_bench", **machine_facts(), "n": a.n,
                              "flows": a.flows, "acls": a.acls, **r}))
        return 0
    print(f"controller bench: one chassis, {a.n} ports up, ACL address sets of {a.flows} "
          f"addresses in {a.acls} ACLs; SB made by each stack's own northd; "
          f"nproc={os.cpu_count()}")
    print_side_by_side(results, ROWS, "metric", 32, 12,
                       "ratio real/pyovn: above 1.0 pyovn is faster (or smaller)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
