#!/usr/bin/env python3
"""Bench: install N varied OVN-like flows into a real ovs-vswitchd through pyovn's OpenFlow
(encode + send in one atomic bundle + commit), beside the same flows installed by
`ovs-ofctl --bundle add-flows` from a file, on the same private switch.

    .venv/bin/python bench/openflow_bench.py [--flows 100000] [--repeat 3] [--json]

ratio = real_time / pyovn_time (>= 1: pyovn is faster).  The switch is a private
ovsdb-server + ovs-vswitchd (netdev) in a temp dir; only those processes are stopped, by
pid, and the temp dir is removed.  Each run starts from an empty flow table and ends with
a dump-flows count check, so both sides are timed doing the same work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import machine_facts  # noqa: E402

from pyovn.logical.ofrep import Flow  # noqa: E402
from pyovn.openflow import messages as M  # noqa: E402
from pyovn.openflow.actions import ActionEncoder  # noqa: E402
from pyovn.openflow.connection import SwitchConnection  # noqa: E402
from tests.openflow.flowgen import flows  # noqa: E402
from tests.openflow.ovs_sandbox import OvsSandbox  # noqa: E402


def count_flows(sb: OvsSandbox) -> int:
    out = sb.ofctl("dump-aggregate", sb.mgmt)
    return int(out.split("flow_count=")[1].split()[0])


async def _prepare(sb: OvsSandbox) -> None:
    conn = await SwitchConnection.open(sb.mgmt)
    conn.send(M.tlv_table_mod(conn.xid(), M.NXTTMC_ADD, [M.OVN_GENEVE_TLV]))
    await conn.barrier()
    await conn.close()


async def _pyovn_install(sb: OvsSandbox, fl: list[Flow]) -> dict[str, float]:
    conn = await SwitchConnection.open(sb.mgmt)
    try:
        conn.send(M.flow_delete(conn.xid()))
        await conn.check_barrier()
        t0 = time.perf_counter()
        enc = ActionEncoder()
        msgs = [M.flow_add(conn.xid(), f, encoder=enc) for f in fl]
        t1 = time.perf_counter()
        await conn.bundle(msgs, timeout=600)
        t2 = time.perf_counter()
    finally:
        await conn.close()
    return {"encode_s": t1 - t0, "send_commit_s": t2 - t1, "total_s": t2 - t0}


def real_install(sb: OvsSandbox, path: Path) -> float:
    sb.ofctl("del-flows", sb.mgmt)
    t0 = time.perf_counter()
    subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "--bundle", "add-flows", sb.mgmt,
                    str(path)], check=True, capture_output=True, timeout=1200)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    fl = flows(a.flows)
    with OvsSandbox() as sb:
        asyncio.run(_prepare(sb))
        path = sb.dir / "flows.txt"
        path.write_text("".join(f"{f}\n" for f in fl))
        real: list[float] = []
        py: list[dict[str, float]] = []
        for _ in range(a.repeat):
            real.append(real_install(sb, path))
            assert count_flows(sb) == len(fl), "ovs-ofctl did not install every flow"
            py.append(asyncio.run(_pyovn_install(sb, fl)))
            assert count_flows(sb) == len(fl), "pyovn did not install every flow"
    real_t = statistics.median(real)
    py_t = statistics.median(p["total_s"] for p in py)
    res = {
        "test": "openflow_bench", **machine_facts(), "flows": a.flows, "repeat": a.repeat,
        "real_ofctl_bundle_s": round(real_t, 3),
        "pyovn_total_s": round(py_t, 3),
        "pyovn_encode_s": round(statistics.median(p["encode_s"] for p in py), 3),
        "pyovn_send_commit_s": round(statistics.median(p["send_commit_s"] for p in py), 3),
        "ratio": round(real_t / py_t, 3),
        "ratio_meaning": "real/pyovn time: >=1 pyovn faster",
    }
    if a.json:
        print(json.dumps(res))
        return
    print(f"install {a.flows} flows in one bundle (median of {a.repeat}):")
    print(f"{'metric':<28} {'real':>10} {'pyovn':>10} {'ratio':>8}")
    print(f"{'total (s)':<28} {real_t:>10.3f} {py_t:>10.3f} {real_t / py_t:>8.2f}")
    print(f"{'  pyovn encode (s)':<28} {'':>10} {res['pyovn_encode_s']:>10.3f}")
    print(f"{'  pyovn send+commit (s)':<28} {'':>10} {res['pyovn_send_commit_s']:>10.3f}")
    print(f"{'flows/s':<28} {a.flows / real_t:>10.0f} {a.flows / py_t:>10.0f} "
          f"{real_t / py_t:>8.2f}")


if __name__ == "__main__":
    main()
