#!/usr/bin/env python3
"""Bench: what a reconnect costs a client holding 10,000 replicated rows (issue 3).

    .venv/bin/python bench/idl_resync_bench.py [--rows N] [--only real|pyovn] [--json]

For each server (the real ovsdb-server of Open vSwitch 3.1 and pyovn's), in its own temp dir,
on an OVN_Northbound database with N Logical_Switch_Port rows in N/100 switches, a pyovn Idl
(all columns of both tables) connects through a unix-socket proxy and syncs.  Then, twice:
the client is cut off (1: the proxy drops it while the server runs on; 2: the server is
restarted as well), another client modifies 10 ports, deletes 5 and adds 5, and the client
comes back and resynchronises with monitor_cond_since.  Printed: whether the server resumed
(found), row updates and bytes in its reply, and the time from request to updated replica.
Also the time to apply the N-row initial update to an empty replica, without the network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pyovn.jsonrpc.connection import RpcClient  # noqa: E402
from pyovn.ovsdb.idl import Idl, Replica, SchemaHelper, SyncStats  # noqa: E402
from tests.idl.servers import KINDS, NB_SCHEMA, DbServer, Proxy, missing_tools  # noqa: E402

PER_SWITCH = 100
N_MODIFY, N_DELETE, N_INSERT = 10, 5, 5


def helper() -> SchemaHelper:
    h = SchemaHelper.from_file(NB_SCHEMA)
    h.register_table("Logical_Switch")
    h.register_table("Logical_Switch_Port")
    return h


def mac(i: int) -> str:
    return "0a:00:" + ":".join(f"{i >> shift & 255:02x}" for shift in (24, 16, 8, 0))


async def load(remote: str, n: int) -> None:
    rpc = await RpcClient.connect(remote)
    try:
        ops: list[Any] = ["OVN_Northbound"]
        for s in range((n + PER_SWITCH - 1) // PER_SWITCH):
            ports = []
            for i in range(s * PER_SWITCH, min(n, (s + 1) * PER_SWITCH)):
                name = f"lsp{i}"
                ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"p{i}",
                            "row": {"name": name,
                                    "addresses": f"{mac(i)} 10.{i >> 16 & 255}.{i >> 8 & 255}."
                                                 f"{i & 255}",
                                    "external_ids": ["map", [["neutron:port_name", name]]]}})
                ports.append(["named-uuid", f"p{i}"])
            ops.append({"op": "insert", "table": "Logical_Switch",
                        "row": {"name": f"ls{s}", "ports": ["set", ports]}})
        result = await rpc.call("transact", ops)
        errors = [r for r in result if r and "error" in r]
        if errors:
            raise RuntimeError(f"load failed: {errors[0]}")
    finally:
        await rpc.close()


async def change(remote: str, round_: int) -> None:
    """10 ports readdressed, 5 removed from their switch (and so deleted), 5 added."""
    rpc = await RpcClient.connect(remote)
    try:
        ops: list[Any] = ["OVN_Northbound"]
        base = round_ * 100
        for i in range(base, base + N_MODIFY):
            ops.append({"op": "update", "table": "Logical_Switch_Port",
                        "where": [["name", "==", f"lsp{i}"]],
                        "row": {"addresses": f"{mac(i)} 172.16.{round_}.{i & 255}"}})
        sel = await rpc.call("transact", ["OVN_Northbound", *(
            {"op": "select", "table": "Logical_Switch_Port", "columns": ["_uuid"],
             "where": [["name", "==", f"lsp{i}"]]}
            for i in range(base + N_MODIFY, base + N_MODIFY + N_DELETE))])
        gone = [r["rows"][0]["_uuid"] for r in sel]
        ops.append({"op": "mutate", "table": "Logical_Switch",
                    "where": [["name", "==", f"ls{base // PER_SWITCH}"]],
                    "mutations": [["ports", "delete", ["set", gone]]]})
        new = []
        for k in range(N_INSERT):
            name = f"new{round_}-{k}"
            ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"n{k}",
                        "row": {"name": name, "addresses": "unknown"}})
            new.append(["named-uuid", f"n{k}"])
        ops.append({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "ls0"]],
                    "mutations": [["ports", "insert", ["set", new]]]})
        result = await rpc.call("transact", ops)
        errors = [r for r in result if r and "error" in r]
        if errors:
            raise RuntimeError(f"change failed: {errors[0]}")
        if len(gone) != N_DELETE or result[N_MODIFY]["count"] != 1:
            raise RuntimeError("change did not remove the ports it meant to")
    finally:
        await rpc.close()


async def apply_time(remote: str, repeats: int = 3) -> tuple[float, float, int]:
    """Best times to apply the initial update to an empty replica (seconds), pure; and to
    replace a full replica with the same contents (a found=false resync, nothing changed)."""
    rpc = await RpcClient.connect(remote)
    try:
        h = helper()
        requests = {t: {"columns": cols} for t, cols in h.tables.items()}
        reply = await rpc.call("monitor_cond_since",
                               ["OVN_Northbound", ["bench"], requests, "0" * 8 + "-0000" * 3
                                + "-" + "0" * 12])
    finally:
        await rpc.close()
    updates = reply[2]
    rows = sum(len(r) for r in updates.values())
    best_initial = best_replace = float("inf")
    for _ in range(repeats):
        replica = Replica(h)
        t0 = time.perf_counter()
        replica.apply_update2(updates)
        best_initial = min(best_initial, time.perf_counter() - t0)
        t0 = time.perf_counter()
        replica.replace(updates)
        best_replace = min(best_replace, time.perf_counter() - t0)
    return best_initial, best_replace, rows


def synced_times(client: Idl, n: int) -> bool:
    return len(client.syncs) == n


def stats(s: SyncStats) -> dict[str, Any]:
    return {"found": s.found, "rows": s.rows, "bytes": s.bytes, "ms": round(s.seconds * 1e3, 1)}


async def run_one(kind: str, n: int) -> dict[str, Any]:
    server = DbServer(kind, NB_SCHEMA, tag="idl-bench")
    try:
        await load(server.remote, n)
        initial, replace, rows = await apply_time(server.remote)
        proxy = Proxy(server.sock, server.dir)
        await proxy.start()
        client = Idl(proxy.remote, helper(), backoff_min=0.05, backoff_max=0.2)
        try:
            await client.wait_synced(120)
            for round_, restart in ((1, False), (2, True)):
                await proxy.cut()
                if restart:
                    server.restart()
                await change(server.remote, round_)
                await proxy.restore()
                await client.wait_until(partial(synced_times, client, round_ + 1), 120)
            fresh = Idl(server.remote, helper())
            try:
                await fresh.wait_synced(120)
                exact = all(
                    {u: r.to_dict() for u, r in client.tables[t].rows.items()}
                    == {u: r.to_dict() for u, r in fresh.tables[t].rows.items()}
                    for t in client.tables)
            finally:
                await fresh.close()
            full, lost, restarted = client.syncs
        finally:
            await client.close()
        return {
            "rows": rows,
            "apply_initial_ms": round(initial * 1e3, 1),
            "replace_unchanged_ms": round(replace * 1e3, 1),
            "initial": stats(full),
            "resume_after_connection_loss": stats(lost),
            "resync_after_server_restart": stats(restarted),
            "replica_exact": exact,
        }
    finally:
        server.cleanup()


def table(results: dict[str, dict[str, Any]]) -> str:
    kinds = list(results)
    lines = [f"{'':56}" + "".join(f"{k:>22}" for k in kinds)]

    def line(label: str, get: Any) -> None:
        lines.append(f"{label:56}" + "".join(f"{get(results[k])!s:>22}" for k in kinds))

    line("replicated rows (ports + switches)", lambda r: r["rows"])
    line("apply initial update, pure (ms, best of 3)", lambda r: r["apply_initial_ms"])
    line("full resync, nothing changed, pure (ms)", lambda r: r["replace_unchanged_ms"])
    for key, label in (("initial", "initial sync"),
                       ("resume_after_connection_loss", "reconnect, server kept running"),
                       ("resync_after_server_restart", "reconnect, server restarted")):
        line(f"{label}: found", lambda r, k=key: r[k]["found"])
        line(f"{label}: row updates", lambda r, k=key: r[k]["rows"])
        line(f"{label}: bytes", lambda r, k=key: r[k]["bytes"])
        line(f"{label}: request->replica (ms)", lambda r, k=key: r[k]["ms"])
    line("replica equals a fresh client's", lambda r: r["replica_exact"])
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--rows", type=int, default=10_000, help="Logical_Switch_Port rows")
    ap.add_argument("--only", choices=KINDS, help="run one server only")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    # Refused connections while the proxy is down are the point, not news.
    logging.getLogger("pyovn.ovsdb.idl").setLevel(logging.ERROR)
    if args.rows < 200:
        ap.error("--rows must be at least 200")
    results: dict[str, dict[str, Any]] = {}
    for kind in ([args.only] if args.only else list(KINDS)):
        why = missing_tools(kind)
        if why:
            print(f"{kind}: skipped ({why})", file=sys.stderr)
            continue
        results[kind] = asyncio.run(run_one(kind, args.rows))
    print(json.dumps(results) if args.json else table(results))
    return 0 if all(r["replica_exact"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
