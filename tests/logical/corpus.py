"""The logical-flow corpus of tests/logical/data: loading and compiling it (tests only)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pyovn.logical import ofrep as O
from pyovn.logical.compile import CompileContext, Compiler

DATA = Path(__file__).parent / "data" / "lflows_rich.json.gz"
ROOT = Path(__file__).resolve().parents[2]


def load(path: Path = DATA) -> dict[str, Any]:
    with gzip.open(path) as f:
        return json.load(f)  # type: ignore[no-any-return]


def contexts(data: dict[str, Any]) -> dict[int, tuple[CompileContext, bool]]:
    """One compile context per datapath, for the chassis that recorded the data: every
    gateway is resident, and a VIF is local only if that chassis claimed it."""
    claimed = set(data.get("real_controller", {}).get("bound_ports", []))
    out = {}
    for dp in data["datapaths"]:
        names = dict(dp["ports"])
        names.update(dp["mcast_groups"])
        prefix = f"{dp['key']}_"
        pgs = {n[len(prefix):]: v for n, v in data["port_groups"].items() if n.startswith(prefix)}
        types = dp.get("port_types", {})

        def local(p: str, types: dict[str, str] = types) -> bool:
            # VIF-like ports (including localports) need a local interface.
            return not claimed or p in claimed or \
                types.get(p, "") not in ("", "virtual", "localport")

        out[dp["key"]] = (CompileContext(data["address_sets"], pgs, names.get,
                                         lambda _p: True, is_port_local=local),
                          dp["kind"] == "switch")
    return out


def compile_all(data: dict[str, Any]) -> tuple[int, int, list[str], list[O.Flow]]:
    comp = Compiler()
    ctxs = contexts(data)
    ok = total = 0
    failures: list[str] = []
    flows: list[O.Flow] = []
    for f in data["flows"]:
        for key in f["datapaths"]:
            total += 1
            ctx, is_switch = ctxs[key]
            try:
                flows += comp.compile(f["match"], f["actions"], f["pipeline"], f["table"],
                                      f["priority"], key, ctx, is_switch,
                                      int(f["uuid"][:8], 16),
                                      in_out_port=f.get("in_out_port"))
                ok += 1
            except Exception as e:
                failures.append(f"{f['match']!r} / {f['actions']!r}: {e}")
    return ok, total, failures, flows


