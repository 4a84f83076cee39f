"""Logical flows -> OpenFlow, for the datapaths that are local to this chassis, through
pyovn.logical.  Results are cached per (logical flow, datapath) together with everything
the compilation read (the datapath's ports and groups, residency, address sets and port
groups it names), so that a change recompiles only the logical flows it can affect.

A logical flow that does not compile is counted and logged once, never silently dropped.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from pyovn.controller.binding import Bindings
from pyovn.controller.model import Datapath, LogicalFlow, SbState
from pyovn.logical import ofrep as O
from pyovn.logical.compile import CompileContext, Compiler

log = logging.getLogger("pyovn.controller.lflow")

_REF_RE = re.compile(r"([$@])([A-Za-z_.][A-Za-z_.0-9]*)")
_RESIDENT_RE = re.compile(r'is_chassis_resident\(\s*"([^"]*)"')
LOCAL_ONLY_TYPES = frozenset({"", "virtual", "localport"})


def conj_base(lflow_uuid: str, dp_key: int) -> int:
    """Conjunction ids for one (logical flow, datapath): a function of both, so that an
    incremental run and a full recompute agree.  Ids only need to be distinct among flows
    of one table, priority and datapath."""
    return (zlib.crc32(f"{lflow_uuid}/{dp_key}".encode()) & 0x0FFFFFFF) << 3 | 1


@dataclass
class DpContext:
    """Everything compiling a logical flow on one datapath can read."""

    ctx: CompileContext
    fingerprint: tuple[object, ...]
    is_switch: bool
    key: int
    resident: frozenset[str] = frozenset()


@dataclass
class LflowStats:
    compiled: int = 0
    cached: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # lflow uuid -> error


def _dp_port_groups(sb: SbState, dp: Datapath) -> dict[str, tuple[str, ...]]:
    """Port groups as seen from a datapath: the per-datapath ones that northd writes as
    "<datapath key>_<name>" override the global ones."""
    out = {n: v for n, v in sb.port_groups.items()}
    prefix = f"{dp.key}_"
    for n, v in sb.port_groups.items():
        if n.startswith(prefix):
            out[n[len(prefix):]] = v
    return out


def datapath_contexts(sb: SbState, b: Bindings, me: str, groups: O.GroupTable,
                      meters: O.GroupTable) -> dict[str, DpContext]:
    ports_by_dp: dict[str, dict[str, int]] = {}
    types: dict[str, str] = {}
    resident: set[str] = set(b.local_ports())
    for pb in sb.ports.values():
        if pb.datapath in b.local_datapaths:
            ports_by_dp.setdefault(pb.datapath, {})[pb.logical_port] = pb.key
            types[pb.logical_port] = pb.type
            if pb.type == "chassisredirect" and pb.chassis == me:
                resident.add(pb.logical_port)
            if pb.type == "l3gateway" and pb.options.get("l3gateway-chassis") == me:
                resident.add(pb.logical_port)
    for mc in sb.mcast_groups.values():
        if mc.datapath in b.local_datapaths:
            ports_by_dp.setdefault(mc.datapath, {})[mc.name] = mc.key
    local = set(b.local_ports())
    frozen_resident = frozenset(resident)
    out: dict[str, DpContext] = {}
    for dpu in b.local_datapaths:
        dp = sb.datapaths.get(dpu)
        if dp is None:
            continue
        names = ports_by_dp.get(dpu, {})
        pgs = _dp_port_groups(sb, dp)

        def is_local(p: str, types: dict[str, str] = types) -> bool:
            return p in local or types.get(p, "") not in LOCAL_ONLY_TYPES

        fp = (dp.key, dp.is_switch, tuple(sorted(names.items())),
              tuple(sorted(p for p in names if p in resident)),
              tuple(sorted(p for p in names if p in local)))
        ctx = CompileContext(sb.address_sets, pgs, names.get, resident.__contains__,
                             is_port_local=is_local, groups=groups, meters=meters)
        out[dpu] = DpContext(ctx, fp, dp.is_switch, dp.key, frozen_resident)
    return out


def _refs_key(lf: LogicalFlow, dc: DpContext) -> tuple[object, ...]:
    """What the flow reads beyond its datapath: the address sets and port groups it
    names, and the residency of the ports its is_chassis_resident() names (any port)."""
    ctx = dc.ctx
    refs: list[object] = []
    if "is_chassis_resident" in lf.match:
        refs += [(n, n in dc.resident) for n in _RESIDENT_RE.findall(lf.match)]
    if "$" not in lf.match and "@" not in lf.match:
        return tuple(refs)
    for kind, name in _REF_RE.findall(lf.match):
        src = ctx.address_sets if kind == "$" else ctx.port_groups
        vals = src.get(name)
        refs.append((kind, name, None if vals is None else tuple(vals)))
    return tuple(refs)


class LflowTranslator:
    """Keeps, per (logical flow uuid, datapath uuid), the OpenFlow flows and the key of
    what they were compiled from."""

    def __init__(self, compiler: Compiler | None = None) -> None:
        self.compiler = compiler or Compiler()
        self.cache: dict[tuple[str, str], tuple[tuple[object, ...], list[O.Flow]]] = {}
        self.groups = O.GroupTable()
        self.meters = O.GroupTable()
        self.logged: set[str] = set()

    def translate(self, sb: SbState, contexts: dict[str, DpContext],
                  on_error: Callable[[LogicalFlow, str], None] | None = None
                  ) -> tuple[list[O.Flow], LflowStats]:
        stats = LflowStats()
        flows: list[O.Flow] = []
        seen: set[tuple[str, str]] = set()
        for lf in sb.lflows.values():
            for dpu in lf.datapaths:
                dc = contexts.get(dpu)
                if dc is None:
                    continue
                k = (lf.uuid, dpu)
                seen.add(k)
                key = (lf.match, lf.actions, lf.pipeline, lf.table, lf.priority,
                       lf.in_out_port, lf.controller_meter, dc.fingerprint, _refs_key(lf, dc))
                hit = self.cache.get(k)
                if hit is not None and hit[0] == key:
                    stats.cached += 1
                    flows.extend(hit[1])
                    continue
                dc.ctx.next_conj_id = conj_base(lf.uuid, dc.key)
                # The packet-ins of a flow with a controller meter go through it (like
                # ovn-controller, by the SB Meter row's name).
                meter = self.meters.get(lf.controller_meter) if lf.controller_meter else None
                try:
                    out = self.compiler.compile(
                        lf.match, lf.actions, lf.pipeline, lf.table, lf.priority,
                        dc.key, dc.ctx, dc.is_switch,
                        lf.cookie, ctrl_meter_id=meter, in_out_port=lf.in_out_port)
                except Exception as e:  # a flow pyovn cannot translate: count and log it
                    stats.failed[lf.uuid] = str(e)
                    if lf.uuid not in self.logged:
                        self.logged.add(lf.uuid)
                        log.warning("logical flow %s not translated (%s): match=%r "
                                    "actions=%r", lf.uuid, e, lf.match, lf.actions)
                    if on_error is not None:
                        on_error(lf, str(e))
                    out = []
                self.cache[k] = (key, out)
                stats.compiled += 1
                flows.extend(out)
        for k in [k for k in self.cache if k not in seen]:
            del self.cache[k]
        return flows, stats
