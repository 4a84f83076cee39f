#!/usr/bin/env python3
"""northd side by side: the same NB fed to the real ovn-northd and to pyovn's, one command.

Methodology of ../shared/reference/anchors/northd_scale.py (whose topology and SB watcher
are reused): S switches x P ports, a router on the first min(S,10) switches, a port group of
all VIF ports with 4 ACLs, in ONE NB transaction that also bumps NB_Global.nb_cfg; time from
sending it until SB_Global.nb_cfg catches up.  Then single changes, each its own transaction
with an nb_cfg bump: add a port, delete a port, add an ACL, add a static route.  Logical flow
counts, northd CPU and RSS.  NB and SB are the real ovsdb-server for both northds (so the
numbers compare northds), unless --server=pyovn.

    .venv/bin/python bench/northd_bench.py -S 200 -P 50 [--impl real,pyovn] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ANCHORS = Path("/work/shared/reference/anchors")
sys.path.insert(0, str(ANCHORS))

from northd_scale import (  # type: ignore[import-not-found]  # noqa: E402
    NB,
    SB,
    SbCfg,
    bump,
    cpu_s,
    topology_ops,
)
from ovnreal_common import (  # type: ignore[import-not-found]  # noqa: E402
    NB_SCHEMA,
    SB_SCHEMA,
    Conn,
    Stack,
    machine_facts,
    oset,
    rss_kb,
)


def new_port_address(i: int, S: int) -> str:
    s, h = i % S, 200 + i % 50
    return f"0a:01:00:{s >> 8:02x}:{s & 255:02x}:{h:02x} 10.{s >> 8}.{s & 255}.{h}"


def start_northd(st: Stack, impl: str, nbsock: str, sbsock: str) -> Any:
    if impl == "real":
        return st.northd(nbsock, sbsock)
    return st.start(sys.executable, "-m", "pyovn", "northd", "-vconsole:off", "--no-chdir",
                    f"--log-file={st.p('northd.log')}", f"--unixctl={st.p('northd.ctl')}",
                    f"--ovnnb-db=unix:{nbsock}", f"--ovnsb-db=unix:{sbsock}",
                    env={"PYTHONPATH": str(ROOT)})


def start_server(st: Stack, server: str, name: str, schema: str) -> tuple[Any, str]:
    if server == "real":
        pr, sock = st.ovsdb(name, schema)
        return pr, sock
    db = st.p(name + ".db")
    st.run("ovsdb-tool", "create", db, schema)
    sock = st.p(name + ".sock")
    pr = st.start(sys.executable, "-m", "pyovn", "ovsdb-server", "-vconsole:off", "--no-chdir",
                  f"--log-file={st.p(name + '.log')}", f"--remote=punix:{sock}",
                  f"--unixctl={st.p(name + '.ctl')}", db, env={"PYTHONPATH": str(ROOT)})
    deadline = time.time() + 30
    while not os.path.exists(sock):
        if pr.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"pyovn ovsdb-server {name} failed to start")
        time.sleep(0.02)
    return pr, sock


def count(c: Conn, table: str) -> int:
    r = c.transact(SB, [{"op": "select", "table": table, "where": [], "columns": ["_uuid"]}])
    return len(r["result"][0]["rows"])


def run_one(impl: str, S: int, P: int, repeats: int, server: str, keep: bool) -> dict[str, Any]:
    st = Stack(f"northdbench-{impl}.", keep=keep)
    res: dict[str, Any] = {"impl": impl, "server": server, "S": S, "P": P}
    try:
        nbsrv, nbsock = start_server(st, server, "nb", NB_SCHEMA)
        sbsrv, sbsock = start_server(st, server, "sb", SB_SCHEMA)
        nb = Conn(nbsock)
        nb.transact(NB, [{"op": "insert", "table": "NB_Global", "row": {}}])
        northd = start_northd(st, impl, nbsock, sbsock)
        sb = Conn(sbsock)
        cfg = 1
        nb.transact(NB, [bump(cfg)])
        deadline = time.time() + 60
        while True:
            sbw = SbCfg(sbsock)
            if sbw.val is not None:
                break
            sbw.c.close()
            if time.time() > deadline:
                raise RuntimeError(f"{impl} northd did not create SB_Global")
            time.sleep(0.05)
        sbw.wait(cfg)
        cfg += 1
        ops = topology_ops(S, P, cfg)
        c0 = cpu_s(northd.pid)
        t0 = time.perf_counter()
        nb.transact(NB, ops)
        t1 = time.perf_counter()
        t2 = sbw.wait(cfg, timeout=600)
        res["topology_nb_ops"] = len(ops)
        res["topology_nb_commit_s"] = round(t1 - t0, 3)
        res["topology_to_sb_s"] = round(t2 - t0, 3)
        res["topology_northd_cpu_s"] = round(cpu_s(northd.pid) - c0, 2)
        res["logical_flows"] = count(sb, "Logical_Flow")
        res["port_bindings"] = count(sb, "Port_Binding")
        r = nb.transact(NB, [
            {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["_uuid", "name"]},
            {"op": "select", "table": "Logical_Switch_Port", "where": [],
             "columns": ["_uuid", "name"]},
            {"op": "select", "table": "Port_Group", "where": [], "columns": ["_uuid"]},
            {"op": "select", "table": "Logical_Router", "where": [], "columns": ["_uuid"]}])
        ls = {row["name"]: row["_uuid"] for row in r["result"][0]["rows"]}
        lsp = {row["name"]: row["_uuid"] for row in r["result"][1]["rows"]}
        pg = r["result"][2]["rows"][0]["_uuid"]
        lr = r["result"][3]["rows"][0]["_uuid"]

        def one(ops_: list[dict[str, Any]]) -> float:
            nonlocal cfg
            cfg += 1
            t0 = time.perf_counter()
            nb.transact(NB, [*ops_, bump(cfg)])
            return sbw.wait(cfg, timeout=120) - t0

        changes: dict[str, Callable[[int], list[dict[str, Any]]]] = {
            "add_port": lambda i: [
                {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "np",
                 "row": {"name": f"new{i}", "addresses": new_port_address(i, S)}},
                {"op": "mutate", "table": "Logical_Switch",
                 "where": [["_uuid", "==", ls[f"ls{i % S}"]]],
                 "mutations": [["ports", "insert", oset([["named-uuid", "np"]])]]}],
            "del_port": lambda i: [
                {"op": "mutate", "table": "Logical_Switch",
                 "where": [["_uuid", "==", ls[f"ls{i % S}"]]],
                 "mutations": [["ports", "delete",
                                oset([lsp[f"lsp{i % S}_{P - 1 - i // S}"]])]]}],
            "add_acl": lambda i: [
                {"op": "insert", "table": "ACL", "uuid-name": "na",
                 "row": {"direction": "to-lport", "priority": 1003, "action": "allow-related",
                         "match": f"outport == @pg_all && ip4 && tcp.dst == {1000 + i}"}},
                {"op": "mutate", "table": "Port_Group", "where": [["_uuid", "==", pg]],
                 "mutations": [["acls", "insert", oset([["named-uuid", "na"]])]]}],
            "add_route": lambda i: [
                {"op": "insert", "table": "Logical_Router_Static_Route", "uuid-name": "nr",
                 "row": {"ip_prefix": f"172.{16 + i // 250}.{i % 250}.0/24",
                         "nexthop": "10.0.0.100"}},
                {"op": "mutate", "table": "Logical_Router", "where": [["_uuid", "==", lr]],
                 "mutations": [["static_routes", "insert", oset([["named-uuid", "nr"]])]]}],
        }
        for name, make in changes.items():
            c0 = cpu_s(northd.pid)
            lat = [one(make(i)) for i in range(repeats)]
            res[f"{name}_ms_median"] = round(statistics.median(lat) * 1e3, 2)
            res[f"{name}_ms_min"] = round(min(lat) * 1e3, 2)
            res[f"{name}_ms_max"] = round(max(lat) * 1e3, 2)
            res[f"{name}_northd_cpu_ms"] = round((cpu_s(northd.pid) - c0) / repeats * 1e3, 1)
        res["logical_flows_end"] = count(sb, "Logical_Flow")
        res["rss_mb_northd"] = round(rss_kb(northd.pid) / 1024, 1)
        res["rss_mb_sb_server"] = round(rss_kb(sbsrv.pid) / 1024, 1)
        res["rss_mb_nb_server"] = round(rss_kb(nbsrv.pid) / 1024, 1)
    finally:
        st.stop()
    return res


ROWS = ("topology_to_sb_s", "topology_northd_cpu_s", "logical_flows", "port_bindings",
        "add_port_ms_median", "del_port_ms_median", "add_acl_ms_median", "add_route_ms_median",
        "add_port_northd_cpu_ms", "del_port_northd_cpu_ms", "add_acl_northd_cpu_ms",
        "add_route_northd_cpu_ms", "logical_flows_end", "rss_mb_northd", "rss_mb_sb_server")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-S", type=int, default=200, help="logical switches")
    ap.add_argument("-P", type=int, default=50, help="ports per switch")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--impl", default="real,pyovn", help="comma-separated: real,pyovn")
    ap.add_argument("--server", choices=("real", "pyovn"), default="real",
                    help="the OVSDB server for NB and SB")
    ap.add_argument("--json", action="store_true", help="one JSON line per northd")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs and logs")
    a = ap.parse_args()
    results = [run_one(impl, a.S, a.P, a.repeats, a.server, a.keep)
               for impl in a.impl.split(",")]
    if a.json:
        for r in results:
            print(json.dumps({**machine_facts(), **r}))
        return 0
    print(f"northd bench: S={a.S} P={a.P} repeats={a.repeats} server={a.server} "
          f"nproc={os.cpu_count()}")
    print(f"{'metric':<28}" + "".join(f"{r['impl']:>14}" for r in results))
    for k in ROWS:
        print(f"{k:<28}" + "".join(f"{r.get(k, '-')!s:>14}" for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
