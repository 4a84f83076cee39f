"""Realistic OpenFlow flows for the flow_mod encoding test and bench: the real ovn-northd's
logical flows of tests/logical/data (every pipeline stage of a rich topology) compiled by
pyovn, with the address set of its allow-related ACL
(`outport == @pg_web && ip4.src == $as_web && tcp.dst == {80, 443}`) grown to N addresses.
That ACL then expands to one conjunction clause flow per address and per (flow, datapath)
pair, which is what makes ovn-controller install ~100,000 flows at start-up: 25,000
addresses give ~101,500 flows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pyovn.logical import ofrep as O
from pyovn.logical.compile import CompileContext, Compiler

DATA = Path(__file__).resolve().parents[1] / "logical" / "data" / "lflows_rich.json.gz"
BIG_SET = "as_web"


def _contexts(data: dict[str, Any]) -> dict[int, tuple[CompileContext, bool]]:
    """One compile context per datapath: every port is resident and local (the chassis
    that holds all of them), so every logical flow yields its OpenFlow flows."""
    out = {}
    for dp in data["datapaths"]:
        names = dict(dp["ports"])
        names.update(dp["mcast_groups"])
        prefix = f"{dp['key']}_"
        pgs = {n[len(prefix):]: v for n, v in data["port_groups"].items()
               if n.startswith(prefix)}
        out[dp["key"]] = (CompileContext(data["address_sets"], pgs, names.get,
                                         lambda _p: True),
                          dp["kind"] == "switch")
    return out


def addresses(n: int) -> list[str]:
    return [f"10.{(j >> 16) & 255}.{(j >> 8) & 255}.{j & 255}" for j in range(n)]


def ovn_flows(set_size: int = 25_000) -> list[O.Flow]:
    """The compiled flows, in logical-flow order (as the controller produces them), each
    (table, priority, match) once: a few logical flows compile to the same OpenFlow flow
    under another cookie, which the switch would hold once (the first one is kept)."""
    with gzip.open(DATA) as f:
        data: dict[str, Any] = json.load(f)
    if set_size:
        data["address_sets"][BIG_SET] = addresses(set_size)
    comp = Compiler()
    ctxs = _contexts(data)
    flows: list[O.Flow] = []
    for lf in data["flows"]:
        for key in lf["datapaths"]:
            ctx, is_switch = ctxs[key]
            flows += comp.compile(lf["match"], lf["actions"], lf["pipeline"], lf["table"],
                                  lf["priority"], key, ctx, is_switch,
                                  int(lf["uuid"][:8], 16), in_out_port=lf.get("in_out_port"))
    seen: set[tuple[int, int, O.Match]] = set()
    out = []
    for f in flows:
        k = (f.table, f.priority, f.match)
        if k not in seen:
            seen.add(k)
            out.append(f)
    return out
