#!/usr/bin/env python3
"""Bench: the real ovsdb-server and pyovn's, side by side, on the same workload.

    .venv/bin/python bench/ovsdb_bench.py [--quick] [--json] [--only real|pyovn]

Each server runs in its own temp dir on a database made by the real ``ovsdb-tool create`` from
the OVN_Northbound schema, over a unix socket, driven by the same Python client
(bench/common.py).  The methodology is that of ../shared/reference/anchors/ovsdb_txn.py, so the
real column is comparable with RESULTS.md:
  (a) sequential single-row Logical_Switch insert transactions, one at a time;
  (b) one transaction inserting many Logical_Switch rows;
  (c) a fresh client's ``monitor`` (v1, all columns) initial reply over all rows, and likewise
      ``monitor_cond`` (where [true]);
  (d) N ``monitor_cond`` clients, one writer updates one row: time until all N got the
      update2, median over repeats;
plus each server's RSS at the end.  The servers run one after the other, never concurrently.
"""

from __future__ import annotations

import argparse
import json
import select
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    NB_SCHEMA,
    PYOVN_SERVER_CMD,
    PYOVN_SERVER_MODULE,
    REAL_SERVER_CMD,
    Conn,
    Stack,
    machine_facts,
    rss_kb,
)

DB = "OVN_Northbound"
FULL = {"seq": 2000, "bulk": 10000, "clients": 50, "repeats": 20}
QUICK = {"seq": 200, "bulk": 1000, "clients": 5, "repeats": 3}
IMPLS = ("real", "pyovn")


def workload(impl: str, server_cmd: Sequence[str], seq: int, bulk: int, clients: int,
             repeats: int, keep: bool, res: dict[str, Any]) -> None:
    """Run the anchor's workload on a fresh server, filling ``res`` as it goes (so a failure
    half-way still reports what was measured)."""
    st = Stack(f"pyovn-ovsdb-bench-{impl}.", keep=keep)
    res["dir"] = st.dir
    mons: list[Conn] = []
    ok = False
    try:
        srv, sock = st.ovsdb("nb", NB_SCHEMA, server_cmd)
        c = Conn(sock)
        # (a) sequential single-row inserts
        t0 = time.perf_counter()
        for i in range(seq):
            c.transact(DB, [{"op": "insert", "table": "Logical_Switch",
                             "row": {"name": f"seq{i}"}}])
        dt = time.perf_counter() - t0
        res["a_seq_txns"] = seq
        res["a_seq_seconds"] = round(dt, 4)
        res["a_seq_txn_per_s"] = round(seq / dt, 1)
        # (b) bulk insert in one transaction
        ops = [{"op": "insert", "table": "Logical_Switch", "row": {"name": f"bulk{i}"}}
               for i in range(bulk)]
        t0 = time.perf_counter()
        c.transact(DB, ops)
        res["b_bulk_rows"] = bulk
        res["b_bulk_seconds"] = round(time.perf_counter() - t0, 4)
        # (c) a fresh client's monitor initial reply (all columns of Logical_Switch)
        c2 = Conn(sock)
        t0 = time.perf_counter()
        r = c2.call("monitor", [DB, "m", {"Logical_Switch": {}}])
        res["c_monitor_initial_seconds"] = round(time.perf_counter() - t0, 4)
        res["c_monitor_rows"] = len((r.get("result") or {}).get("Logical_Switch", {}))
        c2.close()
        c3 = Conn(sock)
        t0 = time.perf_counter()
        r = c3.call("monitor_cond", [DB, "m", {"Logical_Switch": {"where": [True]}}])
        res["c_monitor_cond_initial_seconds"] = round(time.perf_counter() - t0, 4)
        res["c_monitor_cond_rows"] = len((r.get("result") or {}).get("Logical_Switch", {}))
        c3.close()
        raw = json.dumps(r)
        res["c_reply_bytes"] = len(raw)
        t0 = time.perf_counter()
        json.loads(raw)
        res["c_client_json_parse_seconds"] = round(time.perf_counter() - t0, 4)
        # (d) fan-out: N monitor_cond clients, one writer updates one row
        sel = c.transact(DB, [{"op": "select", "table": "Logical_Switch",
                               "where": [["name", "==", "seq0"]], "columns": ["_uuid"]}])
        target = sel["result"][0]["rows"][0]["_uuid"][1]
        t0 = time.perf_counter()
        for i in range(clients):
            m = Conn(sock)
            mons.append(m)
            m.pending = m.send("monitor_cond", [DB, f"m{i}",
                                                {"Logical_Switch": {"where": [True]}}])
        for m in mons:
            rep = m.wait_reply(m.pending)
            if rep.get("error") is not None:
                raise RuntimeError(f"monitor_cond failed: {rep!r:.300}")
            m.notes.clear()
        res["d_monitor_setup_seconds"] = round(time.perf_counter() - t0, 3)
        fd2m = {m.fileno(): m for m in mons}
        lats: list[float] = []
        for rep_no in range(repeats):
            got: dict[int, float] = {}
            t0 = time.perf_counter()
            wid = c.send("transact", [DB, {"op": "update", "table": "Logical_Switch",
                                           "where": [["_uuid", "==", ["uuid", target]]],
                                           "row": {"external_ids":
                                                   ["map", [["k", f"v{rep_no}"]]]}}])
            pending = set(fd2m)
            while pending:
                rl, _, _ = select.select(list(pending), [], [], 30)
                if not rl:
                    raise TimeoutError(f"fan-out: {len(pending)} clients got no update in 30 s")
                for fd in rl:
                    for msg in fd2m[fd].feed():
                        if msg.get("method") == "update2":
                            upd = msg["params"][1].get("Logical_Switch", {}).get(target)
                            if upd and "modify" in upd:
                                got[fd] = time.perf_counter()
                                pending.discard(fd)
            lats.append(max(got.values()) - t0)
            c.wait_reply(wid)
        res["d_fanout_clients"] = clients
        res["d_fanout_all_received_ms_median"] = round(statistics.median(lats) * 1e3, 3)
        res["d_fanout_all_received_ms_min"] = round(min(lats) * 1e3, 3)
        res["d_fanout_all_received_ms_max"] = round(max(lats) * 1e3, 3)
        res["server_rss_kb_end"] = rss_kb(srv.pid)
        c.close()
        ok = True
    finally:
        for m in mons:
            m.close()
        st.keep = keep or not ok  # a failed run keeps its logs
        st.stop()


# metric key, label, direction: "time" (lower is better), "rate" (higher is better), "info"
Row = tuple[str, str, str]


def rows(p: dict[str, int]) -> list[Row]:
    rows_total = p["seq"] + p["bulk"]
    return [
        ("a_seq_txn_per_s", f"(a) {p['seq']} sequential 1-row inserts, txn/s", "rate"),
        ("a_seq_seconds", "    ... total, s", "time"),
        ("b_bulk_seconds", f"(b) 1 txn inserting {p['bulk']} rows, s", "time"),
        ("c_monitor_initial_seconds", f"(c) monitor v1 initial reply, {rows_total} rows, s",
         "time"),
        ("c_monitor_rows", "    ... rows in the reply", "info"),
        ("c_monitor_cond_initial_seconds", "(c') monitor_cond initial reply, s", "time"),
        ("c_monitor_cond_rows", "    ... rows in the reply", "info"),
        ("c_reply_bytes", "    ... monitor_cond reply size, bytes", "info"),
        ("d_fanout_all_received_ms_median",
         f"(d) 1 update -> {p['clients']} monitor_cond clients, median of {p['repeats']}, ms",
         "time"),
        ("d_fanout_all_received_ms_min", "    ... min, ms", "time"),
        ("d_fanout_all_received_ms_max", "    ... max, ms", "time"),
        ("d_monitor_setup_seconds", f"    setup of the {p['clients']} monitors, s", "time"),
        ("server_rss_kb_end", "RSS of the server at the end, KB", "time"),
    ]


def ratio(real: Any, pyovn: Any, direction: str) -> float | None:
    """>= 1.0 means pyovn is at least as good as real (faster, or no more memory)."""
    if not isinstance(real, int | float) or not isinstance(pyovn, int | float):
        return None
    if direction == "time":
        return round(real / pyovn, 3) if pyovn > 0 else None
    if direction == "rate":
        return round(pyovn / real, 3) if real > 0 else None
    return None


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(results: dict[str, dict[str, Any]], p: dict[str, int]) -> str:
    w = 62
    out = [
        "OVSDB server bench: real ovsdb-server (C) vs pyovn, OVN_Northbound, unix socket, "
        "same Python client",
        "ratio = real_time / pyovn_time (for rates pyovn / real; for RSS real / pyovn): "
        ">= 1.0 means pyovn is at least as fast (or as small)",
        "",
        f"{'metric':<{w}} {'real':>12} {'pyovn':>12} {'ratio':>8}",
        "-" * (w + 35),
    ]
    real, py = results.get("real", {}), results.get("pyovn", {})
    for key, label, direction in rows(p):
        rv, pv = real.get(key), py.get(key)
        r = ratio(rv, pv, direction)
        out.append(f"{label:<{w}} {fmt(rv):>12} {fmt(pv):>12} {fmt(r):>8}")
    for impl, res in results.items():
        if "error" in res:
            out.append(f"\n{impl}: FAILED: {res['error']}")
            if res.get("dir"):
                out.append(f"{impl}: logs kept in {res['dir']}")
        elif "skipped" in res:
            out.append(f"\n{impl}: skipped: {res['skipped']}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    ap.add_argument("--only", choices=IMPLS, help="run one server only")
    ap.add_argument("--seq", type=int, help="sequential 1-row transactions (default 2000)")
    ap.add_argument("--bulk", type=int, help="rows in the bulk transaction (default 10000)")
    ap.add_argument("--clients", type=int, help="fan-out monitor clients (default 50)")
    ap.add_argument("--repeats", type=int, help="fan-out repeats (default 20)")
    ap.add_argument("--pyovn-cmd", default=None,
                    help="command that starts pyovn's server (default: "
                    f"'{' '.join(PYOVN_SERVER_CMD)}'); space-separated")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs and logs")
    a = ap.parse_args(argv)
    p = dict(QUICK if a.quick else FULL)
    for k in p:
        v = getattr(a, k)
        if v is not None:
            if v < 1:
                ap.error(f"--{k} must be at least 1")
            p[k] = v
    cmds = {"real": REAL_SERVER_CMD,
            "pyovn": a.pyovn_cmd.split() if a.pyovn_cmd else PYOVN_SERVER_CMD}
    results: dict[str, dict[str, Any]] = {}
    failed = False
    for impl in IMPLS:
        res: dict[str, Any] = {"cmd": " ".join(cmds[impl])}
        results[impl] = res
        if a.only and a.only != impl:
            res["skipped"] = "not selected (--only)"
            continue
        if impl == "pyovn" and not a.pyovn_cmd and not PYOVN_SERVER_MODULE.exists():
            res["error"] = f"pyovn's server is not written yet ({PYOVN_SERVER_MODULE} missing)"
            failed = True
            continue
        if not a.json:
            print(f"running {impl}: {res['cmd']} ...", file=sys.stderr, flush=True)
        try:
            workload(impl, cmds[impl], keep=a.keep, res=res, **p)
        except Exception as e:  # report and go on with the other server
            res["error"] = f"{type(e).__name__}: {e}"
            res["traceback"] = traceback.format_exc()
            failed = True
        if not a.keep and "error" not in res:
            res.pop("dir", None)
    ratios = {key: ratio(results["real"].get(key), results["pyovn"].get(key), d)
              for key, _, d in rows(p) if d != "info"}
    if a.json:
        print(json.dumps({"test": "ovsdb_bench", **machine_facts(), "params": p,
                          "ratio_meaning": "real/pyovn time (pyovn/real rate): >=1 pyovn "
                          "at least as fast",
                          "results": {k: {kk: vv for kk, vv in v.items() if kk != "traceback"}
                                      for k, v in results.items()},
                          "ratios": ratios}))
    else:
        print(table(results, p))
        for impl, res in results.items():
            if "traceback" in res:
                print(f"\n{impl} traceback:\n{res['traceback']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
