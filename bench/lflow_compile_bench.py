#!/usr/bin/env python3
"""Bench: compile the real ovn-northd's logical flows for a large topology with pyovn,
and compare with the real ovn-controller compiling the same flows on the same machine.

    .venv/bin/python bench/lflow_compile_bench.py [--switches 40] [--ports 10] [--no-real]

Steps: a real NB/SB + ovn-northd build the topology (scripts/gen_lflows.py); a real
ovn-controller joins as chassis "ch1" with its own ovsdb-server and ovs-vswitchd (dummy
netdevs, inside a network namespace this script creates), with every logical switch port
bound locally so it compiles every logical flow; we force full recomputes
(inc-engine/recompute) with its lflow cache disabled and read its "flow-generation"
stopwatch.  pyovn then compiles the dumped flows cold (empty caches) and warm.

Only processes started here are stopped (by pid); the namespace and temp dir are removed.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyovn.logical.compile import CompileContext, Compiler  # noqa: E402

_spec = importlib.util.spec_from_file_location("gen_lflows", ROOT / "scripts" / "gen_lflows.py")
assert _spec and _spec.loader
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def contexts(data: dict[str, Any], claimed: set[str]) -> dict[int, tuple[CompileContext, bool]]:
    """Per-datapath compile contexts as the chassis sees them: gateways resident, and
    VIF-like ports local only if claimed (like ovn-controller's related ports)."""
    ctxs: dict[int, tuple[CompileContext, bool]] = {}
    for dp in data["datapaths"]:
        names = dict(dp["ports"])
        names.update(dp["mcast_groups"])
        prefix = f"{dp['key']}_"
        pgs = {n[len(prefix):]: v for n, v in data["port_groups"].items()
               if n.startswith(prefix)}
        types = dp.get("port_types", {})

        def local(p: str, types: dict[str, str] = types) -> bool:
            return not claimed or p in claimed or \
                types.get(p, "") not in ("", "virtual", "localport")

        ctxs[dp["key"]] = (CompileContext(data["address_sets"], pgs, names.get,
                                          lambda _p: True, is_port_local=local),
                           dp["kind"] == "switch")
    return ctxs


def pyovn_compile(data: dict[str, Any], comp: Compiler,
                  claimed: set[str]) -> tuple[float, int, int]:
    """Compiles every (logical flow, datapath) pair; returns (seconds, pairs, OF flows)."""
    ctxs = contexts(data, claimed)
    n_pairs = n_flows = 0
    t0 = time.perf_counter()
    for f in data["flows"]:
        io_port = f.get("in_out_port")
        for key in f["datapaths"]:
            ctx, is_switch = ctxs[key]
            flows = comp.compile(f["match"], f["actions"], f["pipeline"], f["table"],
                                 f["priority"], key, ctx, is_switch, int(f["uuid"][:8], 16),
                                 in_out_port=io_port)
            n_pairs += 1
            n_flows += len(flows)
    return time.perf_counter() - t0, n_pairs, n_flows


def logical_table_flows(dump: list[str]) -> int:
    n = 0
    for line in dump:
        m = re.search(r"table=(\d+)", line)
        if m and (8 <= int(m.group(1)) < 37 or 42 <= int(m.group(1)) < 64):
            n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--switches", type=int, default=40)
    ap.add_argument("--ports", type=int, default=10, help="ports per switch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-real", action="store_true", help="skip the real ovn-controller")
    ap.add_argument("--save", help="also save the dumped logical flows (json.gz)")
    args = ap.parse_args()

    ovn = gen.RealOVN()
    chassis: Any = None
    real_ms: list[float] = []
    real_cached_ms: list[float] = []
    real_lt = 0
    claimed: set[str] = set()
    try:
        ovn.start()
        gen.build_large(ovn, args.switches, args.ports)
        if not args.no_real:
            chassis = gen.RealChassis(f"{ovn.dir}/sb.sock")
            chassis.start(gen.switch_ports(ovn))
            chassis.wait_stable()
            ovn.nbctl("--wait=sb", "sync")  # northd reacts to the chassis' features
            chassis.wait_stable()
            claimed = set(gen.claimed_ports(ovn))
            real_lt = logical_table_flows(chassis.dump("dump-flows"))
            real_ms = chassis.flow_generation_ms(args.rounds)
            real_cached_ms = chassis.flow_generation_ms(args.rounds, cache=True)
        data = gen.dump_sb(ovn)
    finally:
        if chassis is not None:
            chassis.stop()
        ovn.stop()
    if args.save:
        with gzip.open(args.save, "wb") as fh:
            fh.write(json.dumps(data).encode())

    n_lflows = len(data["flows"])
    cold = [pyovn_compile(data, Compiler(), claimed) for _ in range(args.rounds)]
    comp = Compiler()
    pyovn_compile(data, comp, claimed)
    warm = [pyovn_compile(data, comp, claimed) for _ in range(args.rounds)]
    best_cold = min(c[0] for c in cold)
    best_warm = min(w[0] for w in warm)
    _, pairs, of_flows = cold[0]
    print(f"topology: {args.switches} switches x {args.ports} ports, 1 router; "
          f"python {sys.version.split()[0]}")
    print(f"logical flows (SB rows): {n_lflows}; (flow, datapath) pairs: {pairs}; "
          f"pyovn OpenFlow flows: {of_flows}")
    print(f"pyovn cold (empty caches): {best_cold * 1e3:.1f} ms total, "
          f"{best_cold / pairs * 1e6:.1f} us per logical flow")
    print(f"pyovn warm (string caches): {best_warm * 1e3:.1f} ms total, "
          f"{best_warm / pairs * 1e6:.1f} us per logical flow")
    if real_ms:
        best_real = min(real_ms) / 1e3
        rounds = ", ".join(f"{x:.1f}" for x in real_ms)
        print(f"real ovn-controller 23.03, full recompute (inc-engine/recompute, "
              f"'flow-generation' stopwatch, lflow cache off): {min(real_ms):.1f} ms "
              f"(rounds: {rounds}), {best_real / pairs * 1e6:.1f} us per logical flow; its "
              f"flows in the logical tables: {real_lt}")
        print(f"ratio pyovn cold / ovn-controller (cache off): {best_cold / best_real:.2f}x")
    if real_cached_ms:
        best_rc = min(real_cached_ms) / 1e3
        rounds = ", ".join(f"{x:.1f}" for x in real_cached_ms)
        print(f"real ovn-controller 23.03, full recompute, lflow cache on (warm): "
              f"{min(real_cached_ms):.1f} ms (rounds: {rounds}), "
              f"{best_rc / pairs * 1e6:.1f} us per logical flow")
        print(f"ratio pyovn warm / ovn-controller (cache on): {best_warm / best_rc:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
