#!/usr/bin/env python3
"""Bench: encode and install N OVN flows into a real ovs-vswitchd through pyovn's OpenFlow,
beside the same flows installed by `ovs-ofctl --bundle add-flows` on the same switch.

    .venv/bin/python bench/openflow_bench.py [--corpus ovn|synthetic] [--set-size 25000]
        [--flows 100000] [--repeat 3] [--encode-only] [--modes bundle,phased,...] [--json]

Corpora: "ovn" (default) is what ovn-controller installs at start-up for an ACL over a big
address set: the real ovn-northd's logical flows of tests/logical/data compiled by pyovn,
with the ACL's address set grown to --set-size addresses (25,000 give ~101,500 flows,
one conjunction clause per address, plus every pipeline stage's flows); "synthetic" is
tests/openflow/flowgen's mix of every match field and action kind (--flows of them).

Encoding is timed for pyovn's encoder and for the original one kept in
tests/openflow/legacy_flowmod.py, interleaved in the same run (ratio = legacy/current,
> 1: current faster).  Installation modes (each from an empty table, ending with a flow
count check; the encoded messages are reused so only the switch path is timed):

  bundle        SwitchConnection.bundle() of the encoded messages: the controller's path
                (open, adds, barrier, commit)
  encode+bundle the same, the encoding (with a fresh action encoder) timed in
  lazy          the same, the messages encoded by a generator inside bundle(), so that
                encoding overlaps with the switch checking the adds already sent
  phased        the same steps done here so that each is timed: send the adds, barrier
                (vswitchd has checked every add), commit (vswitchd applies them)
  bundles:K     K bundles of N/K flows one after the other (not atomic as a whole)
  overlap:K     K bundles open at once, all adds sent, one barrier, K commits pipelined
  plain         no bundle: the flow_mods then one barrier (not atomic)

For each mode: wall time, this process's CPU and ovs-vswitchd's CPU over that time, which
says which side the time is spent on.  The switch is a private ovsdb-server + ovs-vswitchd
(netdev) in a temp dir; only those processes are stopped, by pid.

Instruction counts (stable on a busy machine): run under callgrind with instrumentation
off, and --instr turns it on around one encoding of the corpus (fresh encoder, cold caches):

    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/openflow_bench.py \
        --instr current        # or legacy; "Collected" / flows = instructions per flow_mod
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import machine_facts  # noqa: E402

from pyovn.controller.ofencode import ControllerEncoder  # noqa: E402
from pyovn.logical import ofrep as O  # noqa: E402
from pyovn.openflow import messages as M  # noqa: E402
from pyovn.openflow.actions import ActionEncoder  # noqa: E402
from pyovn.openflow.connection import SwitchConnection  # noqa: E402
from tests.openflow import legacy_flowmod as L  # noqa: E402
from tests.openflow.flowgen import flows as synthetic_flows  # noqa: E402
from tests.openflow.ovn_corpus import ovn_flows  # noqa: E402
from tests.openflow.ovs_sandbox import OvsSandbox  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def ofctl_action(a: O.Action, enc: ActionEncoder) -> str:
    """ovs-ofctl syntax; a controller action's nested actions go into its userdata as
    their encoding (which is what the switch gets from pyovn too)."""
    if isinstance(a, O.Controller) and a.nested is not None:
        ud = a.userdata_prefix() + enc.encode(a.nested)
        s = "controller(userdata=" + ".".join(f"{b:02x}" for b in ud)
        s += ",pause" if a.pause else ""
        s += f",meter_id={a.meter_id}" if a.meter_id is not None else ""
        return s + ")"
    if isinstance(a, O.SetField) and O.field_width(a.field) % 8 and \
            a.mask == (1 << O.field_width(a.field)) - 1:
        # ofrep prints a whole sub-byte field (ip_dscp) masked; ovs-ofctl wants it plain.
        return f"set_field:{a.value:#x}->{a.field}"
    if isinstance(a, O.Clone):
        return "clone(" + ",".join(ofctl_action(x, enc) for x in a.actions) + ")"
    return str(a)


def ofctl_line(f: O.Flow, enc: ActionEncoder) -> str:
    m = str(f.match)
    head = f"cookie={hex(f.cookie)}, table={f.table}, priority={f.priority}"
    acts = ",".join(ofctl_action(a, enc) for a in f.actions) or "drop"
    return f"{head},{m} actions={acts}\n" if m else f"{head} actions={acts}\n"


def count_flows(sb: OvsSandbox) -> int:
    out = sb.ofctl("dump-aggregate", sb.mgmt)
    return int(out.split("flow_count=")[1].split()[0])


# --- encoding ------------------------------------------------------------------------

def encode_current(fl: Sequence[O.Flow]) -> list[bytes]:
    enc = ControllerEncoder()
    return [M.flow_add(i, f, encoder=enc) for i, f in enumerate(fl, 1)]


def encode_legacy(fl: Sequence[O.Flow]) -> list[bytes]:
    enc = ControllerEncoder()
    return [L.flow_add(i, f, encoder=enc) for i, f in enumerate(fl, 1)]


def count_instructions(fl: Sequence[O.Flow], which: str) -> None:
    """Encodes 'fl' once with callgrind's instrumentation on (see the module doc)."""
    fn = encode_current if which == "current" else encode_legacy
    fn(fl[:1])  # imports and first calls outside the count

    def ctl(state: str) -> None:
        subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True,
                       capture_output=True, timeout=60)
    ctl("on")
    fn(fl)
    ctl("off")
    print(f"{which}: {len(fl)} flow_mods encoded under callgrind")


def bundle_current(msgs: Sequence[bytes]) -> list[bytes]:
    return [M.bundle_add(i, 1, m) for i, m in enumerate(msgs, 1)]


def bundle_legacy(msgs: Sequence[bytes]) -> list[bytes]:
    return [L.bundle_add(i, 1, m) for i, m in enumerate(msgs, 1)]


def time_encoding(fl: Sequence[O.Flow], repeat: int) -> dict[str, Any]:
    """Current and legacy encoders interleaved, each run on the whole corpus; the bytes
    are checked equal once."""
    assert encode_current(fl) == encode_legacy(fl), "encoders disagree"
    msgs = encode_current(fl)
    runs: dict[str, list[float]] = {"current": [], "legacy": [], "bundle_current": [],
                                    "bundle_legacy": []}
    work: dict[str, Callable[[], object]] = {
        "current": lambda: encode_current(fl), "legacy": lambda: encode_legacy(fl),
        "bundle_current": lambda: bundle_current(msgs),
        "bundle_legacy": lambda: bundle_legacy(msgs)}
    for _ in range(repeat):
        for name, fn in work.items():
            t0 = time.process_time()
            fn()
            runs[name].append(time.process_time() - t0)
    res: dict[str, Any] = {"flows": len(fl), "bytes": sum(map(len, msgs))}
    for name, ts in runs.items():
        res[f"{name}_median_s"] = round(statistics.median(ts), 4)
        res[f"{name}_min_s"] = round(min(ts), 4)
    res["encode_ratio_median"] = round(statistics.median(runs["legacy"]) /
                                       statistics.median(runs["current"]), 2)
    res["encode_ratio_min"] = round(min(runs["legacy"]) / min(runs["current"]), 2)
    res["bundle_add_ratio_median"] = round(statistics.median(runs["bundle_legacy"]) /
                                           statistics.median(runs["bundle_current"]), 2)
    return res


# --- installation --------------------------------------------------------------------

async def _prepare(sb: OvsSandbox) -> None:
    """The TLV mapping, groups and meters the OVN corpus' flows refer to (a flow naming
    a missing group or meter is refused)."""
    conn = await SwitchConnection.open(sb.mgmt)
    conn.send(M.tlv_table_mod(conn.xid(), M.NXTTMC_ADD, [M.OVN_GENEVE_TLV]))
    await conn.barrier()
    enc = ActionEncoder()
    for gid in range(1, 17):
        conn.send(M.group_mod(conn.xid(), M.OFPGC15_ADD, gid, M.OFPGT_SELECT,
                              [M.Bucket((O.Resubmit(37),), 0, weight=100)], encoder=enc))
    for mid in range(1, 5):
        conn.send(M.meter_mod(conn.xid(), M.OFPMC13_ADD, mid, M.OFPMF13_PKTPS, [(100, 0)]))
    await conn.check_barrier()
    await conn.close()


async def _send_adds(conn: SwitchConnection, bid: int, msgs: Sequence[bytes]) -> None:
    chunk: list[bytes] = []
    for m in msgs:
        chunk.append(M.bundle_add(conn.xid(), bid, m))
        if len(chunk) >= 256:
            conn.send_many(chunk)
            chunk = []
            await conn.drain()
    conn.send_many(chunk)
    await conn.drain()


async def _ctrl(conn: SwitchConnection, bid: int, ctrl: int) -> None:
    reply = await conn.request(M.bundle_control(conn.xid(), bid, ctrl), 600)
    assert M.decode_bundle_control(reply[0]).type == ctrl + 1


async def _install(conn: SwitchConnection, fl: Sequence[O.Flow], msgs: Sequence[bytes],
                   mode: str) -> dict[str, float]:
    """Runs one mode; returns its phase times (seconds since the start)."""
    kind, _, arg = mode.partition(":")
    k = int(arg or 1)
    t0 = time.perf_counter()
    ph: dict[str, float] = {}
    if kind == "bundle":
        await conn.bundle(msgs, timeout=600)
    elif kind == "encode+bundle":
        enc = ControllerEncoder()
        encoded = [M.flow_add(x, f, encoder=enc) for x, f in enumerate(fl, 1)]
        ph["encoded_s"] = time.perf_counter() - t0
        await conn.bundle(encoded, timeout=600)
    elif kind == "lazy":
        enc = ControllerEncoder()
        await conn.bundle((M.flow_add(x, f, encoder=enc) for x, f in enumerate(fl, 1)),
                          timeout=600)
    elif kind == "phased":
        await _ctrl(conn, 1, M.OFPBCT_OPEN_REQUEST)
        ph["open_s"] = time.perf_counter() - t0
        await _send_adds(conn, 1, msgs)
        ph["sent_s"] = time.perf_counter() - t0
        await conn.check_barrier(600)
        ph["adds_checked_s"] = time.perf_counter() - t0
        await _ctrl(conn, 1, M.OFPBCT_COMMIT_REQUEST)
    elif kind == "bundles":
        step = -(-len(msgs) // k)
        for i in range(0, len(msgs), step):
            await conn.bundle(msgs[i:i + step], timeout=600)
    elif kind == "overlap":
        step = -(-len(msgs) // k)
        bids = list(range(10, 10 + k))
        await asyncio.gather(*(_ctrl(conn, b, M.OFPBCT_OPEN_REQUEST) for b in bids))
        for b, i in zip(bids, range(0, len(msgs), step), strict=False):
            await _send_adds(conn, b, msgs[i:i + step])
        ph["sent_s"] = time.perf_counter() - t0
        await conn.check_barrier(600)
        ph["adds_checked_s"] = time.perf_counter() - t0
        await asyncio.gather(*(_ctrl(conn, b, M.OFPBCT_COMMIT_REQUEST) for b in bids))
    elif kind == "plain":
        for i in range(0, len(msgs), 256):
            conn.send_many(msgs[i:i + 256])
            await conn.drain()
        ph["sent_s"] = time.perf_counter() - t0
        await conn.check_barrier(600)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    ph["total_s"] = time.perf_counter() - t0
    return ph


async def pyovn_install(sb: OvsSandbox, fl: Sequence[O.Flow], msgs: Sequence[bytes],
                        mode: str) -> dict[str, float]:
    conn = await SwitchConnection.open(sb.mgmt)
    try:
        conn.send(M.flow_delete(conn.xid()))
        await conn.check_barrier()
        vsw = sb.pids[-1]
        c_py, c_vs = time.process_time(), cpu_of(vsw)
        res = await _install(conn, fl, msgs, mode)
        res["python_cpu_s"] = time.process_time() - c_py
        res["vswitchd_cpu_s"] = cpu_of(vsw) - c_vs
    finally:
        await conn.close()
    return res


def real_install(sb: OvsSandbox, path: Path) -> dict[str, float]:
    sb.ofctl("del-flows", sb.mgmt)
    vsw = sb.pids[-1]
    c_vs = cpu_of(vsw)
    t0 = time.perf_counter()
    subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "--bundle", "add-flows", sb.mgmt,
                    str(path)], check=True, capture_output=True, timeout=1200)
    return {"total_s": time.perf_counter() - t0, "vswitchd_cpu_s": cpu_of(vsw) - c_vs}


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def install_all(fl: Sequence[O.Flow], modes: list[str], repeat: int) -> dict[str, Any]:
    msgs = encode_current(fl)
    out: dict[str, Any] = {}
    with OvsSandbox() as sb:
        asyncio.run(_prepare(sb))
        path = sb.dir / "flows.txt"
        enc = ControllerEncoder()
        path.write_text("".join(ofctl_line(f, enc) for f in fl))
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in ["ofctl", *modes]}
        for _ in range(repeat):
            runs["ofctl"].append(real_install(sb, path))
            assert count_flows(sb) == len(fl), "ovs-ofctl did not install every flow"
            for m in modes:
                runs[m].append(asyncio.run(pyovn_install(sb, fl, msgs, m)))
                assert count_flows(sb) == len(fl), f"{m} did not install every flow"
        for m, r in runs.items():
            out[m] = _median(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", choices=("ovn", "synthetic"), default="ovn")
    ap.add_argument("--set-size", type=int, default=25_000,
                    help="addresses in the ACL's address set (ovn corpus)")
    ap.add_argument("--flows", type=int, default=100_000, help="synthetic corpus size")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--encode-only", action="store_true", help="no switch")
    ap.add_argument("--modes",
                    default="bundle,phased,encode+bundle,lazy,bundles:4,overlap:4,plain")
    ap.add_argument("--instr", choices=("current", "legacy"),
                    help="only encode once, callgrind instrumentation on (see above)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    fl = ovn_flows(a.set_size) if a.corpus == "ovn" else synthetic_flows(a.flows)
    if a.instr:
        count_instructions(fl, a.instr)
        return
    res: dict[str, Any] = {"test": "openflow_bench", **machine_facts(), "corpus": a.corpus,
                           "flows": len(fl), "repeat": a.repeat}
    res["encode"] = time_encoding(fl, a.repeat)
    if not a.encode_only:
        res["install"] = install_all(fl, [m for m in a.modes.split(",") if m], a.repeat)
    if a.json:
        print(json.dumps(res))
        return
    e = res["encode"]
    print(f"{a.corpus} corpus: {len(fl)} flows, {e['bytes']} bytes of flow_mods "
          f"(median of {a.repeat}, CPU seconds)")
    print(f"{'':<26} {'legacy':>9} {'current':>9} {'ratio':>6}")
    print(f"{'encode flow_mods (s)':<26} {e['legacy_median_s']:>9.3f} "
          f"{e['current_median_s']:>9.3f} {e['encode_ratio_median']:>6.2f}")
    print(f"{'  per flow (us)':<26} {e['legacy_median_s'] / len(fl) * 1e6:>9.2f} "
          f"{e['current_median_s'] / len(fl) * 1e6:>9.2f}")
    print(f"{'wrap in bundle_add (s)':<26} {e['bundle_legacy_median_s']:>9.3f} "
          f"{e['bundle_current_median_s']:>9.3f} {e['bundle_add_ratio_median']:>6.2f}")
    if "install" in res:
        print(f"\ninstall into ovs-vswitchd (median of {a.repeat}; times in s):")
        print(f"{'mode':<12} {'total':>7} {'py cpu':>7} {'vsw cpu':>8}  phases")
        for m, r in res["install"].items():
            phases = ", ".join(f"{k[:-2]} {v:.3f}" for k, v in r.items()
                               if k not in ("total_s", "python_cpu_s", "vswitchd_cpu_s"))
            print(f"{m:<12} {r['total_s']:>7.3f} {r.get('python_cpu_s', 0):>7.3f} "
                  f"{r['vswitchd_cpu_s']:>8.3f}  {phases}")


if __name__ == "__main__":
    main()
