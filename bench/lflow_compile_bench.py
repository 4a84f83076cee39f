#!/usr/bin/env python3
"""Bench: compile the real ovn-northd's logical flows for a large topology with pyovn,
and compare with the real ovn-controller compiling the same flows on the same machine.

    .venv/bin/python bench/lflow_compile_bench.py [--switches 40] [--ports 10] [--no-real]
    .venv/bin/python bench/lflow_compile_bench.py --acl-addresses 100000 [--acls 4]

Steps: a real NB/SB + ovn-northd build the topology (scripts/gen_lflows.py), or with
--acl-addresses the address-set case instead: one switch, one port "vm1", --acls ACLs
`outport == "vm1" && ip4 && ip4.src == $asK && tcp.dst == 1000+K', each over its own
address set, one OpenFlow flow per address (as bench/port_up_bench.py's flow install); a real
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


def build_acl_sets(ovn: Any, n_addrs: int, n_acls: int) -> None:
    """One switch with one port and 'n_acls' ACLs over address sets of 'n_addrs' in all."""
    ovn.nb_batch([["ls-add", "sw0"], ["lsp-add", "sw0", "vm1"],
                  ["lsp-set-addresses", "vm1", "0a:00:00:00:00:01 172.16.0.2"]])
    per = -(-n_addrs // n_acls)
    for k in range(n_acls):
        addrs = [f"10.{k}.{(j >> 8) & 255}.{j & 255}" for j in range(min(per, n_addrs - k * per))]
        # One argument per address: a single `addresses=...' argument would exceed the
        # kernel's limit on the length of one argument.
        ovn.nb_batch([["create", "Address_Set", f"name=as{k}"],
                      ["add", "Address_Set", f"as{k}", "addresses", *addrs],
                      ["acl-add", "sw0", "to-lport", "1001",
                       f'outport == "vm1" && ip4 && ip4.src == $as{k} && tcp.dst == {1000 + k}',
                       "drop"]])
    ovn.nbctl("--wait=sb", "--timeout=600", "sync")


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
    ap.add_argument("--acl-addresses", type=int, default=0, metavar="N",
                    help="instead of the topology: ACLs over address sets of N addresses in all")
    ap.add_argument("--acls", type=int, default=4, help="ACLs (address sets) for --acl-addresses")
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
        if args.acl_addresses:
            build_acl_sets(ovn, args.acl_addresses, args.acls)
        else:
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
    if args.acl_addresses:
        print(f"address sets: 1 switch, {args.acls} ACLs over {args.acl_addresses} addresses "
              f"in all; python {sys.version.split()[0]}")
    else:
        print(f"topology: {args.switches} switches x {args.ports} ports, 1 router; "
              f"python {sys.version.split()[0]}")
    print(f"logical flows (SB rows): {n_lflows}; (flow, datapath) pairs: {pairs}; "
          f"pyovn OpenFlow flows: {of_flows}")
    per_of = max(of_flows, 1)
    print(f"pyovn cold (empty caches): {best_cold * 1e3:.1f} ms total, "
          f"{best_cold / pairs * 1e6:.1f} us per logical flow, "
          f"{best_cold / per_of * 1e6:.2f} us per OpenFlow flow")
    print(f"pyovn warm (string caches): {best_warm * 1e3:.1f} ms total, "
          f"{best_warm / pairs * 1e6:.1f} us per logical flow, "
          f"{best_warm / per_of * 1e6:.2f} us per OpenFlow flow")
    if real_ms:
        best_real = min(real_ms) / 1e3
        rounds = ", ".join(f"{x:.1f}" for x in real_ms)
        print(f"real ovn-controller 23.03, full recompute (inc-engine/recompute, "
              f"'flow-generation' stopwatch, lflow cache off): {min(real_ms):.1f} ms "
              f"(rounds: {rounds}), {best_real / pairs * 1e6:.1f} us per logical flow, "
              f"{best_real / max(real_lt, 1) * 1e6:.2f} us per OpenFlow flow of its "
              f"{real_lt} in the logical tables")
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
