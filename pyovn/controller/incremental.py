"""The controller's incremental core, without I/O: (this chassis, the SB state and what
changed in it, the conntrack zones in use) -> the desired flow table, kept up to date with
work in proportion to the change (ovn-controller's runtime_data, lflow_output and
pflow_output engine nodes).

The flow table is the union of owners' flows (pyovn.openflow.desired): the fixed physical
flows, one owner per tunnel, per port and multicast group of a local datapath, per
(logical flow, local datapath), per MAC binding, per FDB row (fdb.py) and per load balancer
(lb_hairpin.py).  Each owner records what it read (deps.py).  A run finds what changed (the
SB delta, plus the difference between the old and new runtime data), recomputes the owners
that read it, and creates or drops owners as datapaths become local or stop being so.
`run(..., full=True)` recomputes every owner from nothing: the reference the incremental
path is tested against (tests/controller).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pyovn.controller.binding import Bindings
from pyovn.controller.deps import Dep, DepIndex, index_add, index_discard
from pyovn.controller.fdb import fdb_flows
from pyovn.controller.lb_hairpin import lb_flows
from pyovn.controller.lflow import LflowCompiler, LflowStats, port_group_deps
from pyovn.controller.mac_binding import binding_flows, binding_key
from pyovn.controller.model import LocalState, PortBinding, SbDelta, SbState
from pyovn.controller.physical import PhysicalFlows
from pyovn.controller.runtime import Runtime, RuntimeTracker
from pyovn.logical import ofrep as O
from pyovn.openflow.desired import DesiredFlows

K = TypeVar("K")

Owner = tuple[str, ...]
FIXED: Owner = ("fixed",)


@dataclass
class RunStats:
    """What one run did (shown by `inc-engine/show-stats`)."""

    full: bool = False
    owners: dict[str, int] = field(default_factory=dict)  # recomputed, by kind
    seconds: dict[str, float] = field(default_factory=dict)  # by phase

    def note(self) -> str:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.owners.items())) or "none"
        return f"{'full recompute' if self.full else 'incremental'}: owners {kinds}"


@dataclass
class CoreTotals:
    runs: int = 0
    full: int = 0
    incremental: int = 0
    unchanged: int = 0
    owners: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class ControllerCore:
    def __init__(self, compiler: LflowCompiler | None = None) -> None:
        self.lc = compiler or LflowCompiler()
        self.desired = DesiredFlows()
        self.deps: DepIndex[Owner] = DepIndex()
        self.rt: Runtime | None = None
        self.tracker = RuntimeTracker()
        self.sb = SbState()
        # Indexes of the SB state, maintained from deltas.
        self.by_name: dict[str, PortBinding] = {}
        self.port_keys: dict[tuple[str, str], int] = {}  # (datapath, port or group) -> key
        self.ports_by_dp: dict[str, set[str]] = {}
        self.mcast_by_dp: dict[str, set[str]] = {}
        self.lflows_by_dp: dict[str, set[str]] = {}
        self.mac_rows: dict[tuple[str, str], set[str]] = {}  # (port, IP) -> MAC_Binding uuids
        # Datapaths by tunnel key: FDB rows name theirs by key (there is one, unless SB is
        # briefly inconsistent).
        self.dps_by_key: dict[int, set[str]] = {}
        self.failed: dict[Owner, str] = {}  # untranslatable (lflow, datapath) -> error
        self.last = RunStats()
        self.totals = CoreTotals()

    # --- results -------------------------------------------------------------------------

    @property
    def bindings(self) -> Bindings:
        return self.rt.bindings if self.rt is not None else Bindings()

    @property
    def zones(self) -> dict[str, int]:
        return self.rt.zones if self.rt is not None else {}

    def lflow_stats(self) -> LflowStats:
        st = LflowStats(compiled=self.last.owners.get("lflow", 0),
                        cached=sum(1 for o in self.desired.owners()
                                   if isinstance(o, tuple) and o[0] == "lflow"))
        for owner, err in self.failed.items():
            st.failed[owner[1]] = err
        return st

    # --- one run -------------------------------------------------------------------------

    def run(self, local: LocalState, sb: SbState, zones: Mapping[str, int],
            delta: SbDelta | None = None, full: bool = False) -> RunStats:
        """Brings the desired table up to date.  'delta' says what changed in 'sb' since
        the last run (None, or a delta marked full, or 'full': recompute everything)."""
        t0 = time.perf_counter()
        stats = RunStats()
        full = full or delta is None or delta.full or self.rt is None or sb is not self.sb
        # A full run starts the tracker over too (compute_runtime is its reference); so does
        # a failed update (the tracker forgot what it had half-applied).
        full = full or self.tracker.rt is None
        rt, rt_changed = self.tracker.update(local, sb, zones, None if full else delta)
        t1 = time.perf_counter()
        stats.seconds["runtime"] = t1 - t0
        if full:
            stats.full = True
            self._reset(sb)
            old_rt = None
            dirty = self._all_owners(rt)
        else:
            assert delta is not None and self.rt is not None
            old_rt = self.rt
            dirty = self._index(delta)
            changed = rt_changed | self._delta_deps(delta)
            dirty |= self.deps.owners(changed)
            # Owners that come or go with the local datapaths and the tunnels: the tracker
            # updates the Runtime in place (old_rt is rt), so its keys say which.
            for k in rt_changed:
                if k[0] == "localdp":
                    dirty |= self._owners_on(str(k[1]))
                elif k[0] == "tunnel":
                    dirty.add(("tunnel", str(k[1])))
        self.rt = rt
        t2 = time.perf_counter()
        stats.seconds["changes"] = t2 - t1
        self._compute(dirty, rt, stats)
        stats.seconds["flows"] = time.perf_counter() - t2
        self.last = stats
        self._account(stats, full, old_rt is not None and not dirty)
        return stats

    def _account(self, stats: RunStats, full: bool, unchanged: bool) -> None:
        t = self.totals
        t.runs += 1
        if full:
            t.full += 1
        elif unchanged:
            t.unchanged += 1
        else:
            t.incremental += 1
        t.owners += sum(stats.owners.values())
        for k, v in stats.seconds.items():
            t.seconds[k] = t.seconds.get(k, 0.0) + v

    # --- full ----------------------------------------------------------------------------

    def _reset(self, sb: SbState) -> None:
        self.sb = sb
        self.desired.clear()
        self.deps.clear()
        self.failed.clear()
        self.by_name = {}
        self.port_keys = {}
        self.ports_by_dp = {}
        self.mcast_by_dp = {}
        self.lflows_by_dp = {}
        self.mac_rows = {}
        self.dps_by_key = {}
        for u, dp in sb.datapaths.items():
            index_add(self.dps_by_key, dp.key, u)
        for u, pb in sb.ports.items():
            self._index_port(u, None, pb)
        for u, mc in sb.mcast_groups.items():
            index_add(self.mcast_by_dp, mc.datapath, u)
            self.port_keys[(mc.datapath, mc.name)] = mc.key
        for u, lf in sb.lflows.items():
            for dpu in lf.datapaths:
                index_add(self.lflows_by_dp, dpu, u)
        for u, mb in sb.mac_bindings.items():
            k = binding_key(mb)
            if k is not None:
                index_add(self.mac_rows, k, u)

    def _all_owners(self, rt: Runtime) -> set[Owner]:
        out: set[Owner] = {FIXED}
        out |= {("tunnel", c) for c in rt.tunnels}
        for dpu in rt.local_datapaths:
            out |= self._owners_on(dpu)
        out |= {("mb", port, ip) for port, ip in self.mac_rows}
        # FDB rows and load balancers of datapaths that are not local own no flows, but
        # their owners exist (and record what would make them local).
        out |= {("fdb", u) for u in self.sb.fdbs}
        out |= {("lb", u) for u in self.sb.load_balancers}
        return out

    def _owners_on(self, dpu: str) -> set[Owner]:
        out: set[Owner] = {("port", u) for u in self.ports_by_dp.get(dpu, ())}
        out |= {("mc", u) for u in self.mcast_by_dp.get(dpu, ())}
        out |= {("lflow", u, dpu) for u in self.lflows_by_dp.get(dpu, ())}
        return out

    # --- incremental ---------------------------------------------------------------------

    def _index_port(self, u: str, old: PortBinding | None, new: PortBinding | None) -> None:
        if old is not None:
            cur = self.by_name.get(old.logical_port)
            if cur is not None and cur.uuid == u:
                del self.by_name[old.logical_port]
            self.port_keys.pop((old.datapath, old.logical_port), None)
            index_discard(self.ports_by_dp, old.datapath, u)
        if new is not None:
            self.by_name[new.logical_port] = new
            self.port_keys[(new.datapath, new.logical_port)] = new.key
            index_add(self.ports_by_dp, new.datapath, u)

    def _index(self, d: SbDelta) -> set[Owner]:
        """Updates the indexes from the delta; the owners the changed rows own."""
        sb = self.sb
        dirty: set[Owner] = set()
        for u, old in d.ports.items():
            self._index_port(u, old, sb.ports.get(u))
            dirty.add(("port", u))
        for u, oldm in d.mcast_groups.items():
            if oldm is not None:
                index_discard(self.mcast_by_dp, oldm.datapath, u)
                self.port_keys.pop((oldm.datapath, oldm.name), None)
            mc = sb.mcast_groups.get(u)
            if mc is not None:
                index_add(self.mcast_by_dp, mc.datapath, u)
                self.port_keys[(mc.datapath, mc.name)] = mc.key
            dirty.add(("mc", u))
        for u, oldl in d.lflows.items():
            lf = sb.lflows.get(u)
            for dpu in oldl.datapaths if oldl is not None else ():
                index_discard(self.lflows_by_dp, dpu, u)
                dirty.add(("lflow", u, dpu))
            for dpu in lf.datapaths if lf is not None else ():
                index_add(self.lflows_by_dp, dpu, u)
                dirty.add(("lflow", u, dpu))
        for u, oldb in d.mac_bindings.items():
            for mb, add in ((oldb, False), (sb.mac_bindings.get(u), True)):
                k = binding_key(mb) if mb is not None else None
                if k is None:
                    continue
                if add:
                    index_add(self.mac_rows, k, u)
                else:
                    index_discard(self.mac_rows, k, u)
                dirty.add(("mb", *k))
        for dpu, oldd in d.datapaths.items():
            # A datapath row that comes or goes: everything on it (owners of a datapath
            # that does not exist record nothing to be woken by).
            dirty |= self._owners_on(dpu)
            if oldd is not None:
                index_discard(self.dps_by_key, oldd.key, dpu)
            dp = sb.datapaths.get(dpu)
            if dp is not None:
                index_add(self.dps_by_key, dp.key, dpu)
        dirty |= {("fdb", u) for u in d.fdbs}
        dirty |= {("lb", u) for u in d.load_balancers}
        return dirty

    def _delta_deps(self, d: SbDelta) -> set[Dep]:
        out: set[Dep] = set()
        sb = self.sb
        for u, old in d.ports.items():
            out.add(("pbu", u))
            for pb in (old, sb.ports.get(u)):
                if pb is not None:
                    n = pb.logical_port
                    out.update((("name", n), ("local", n), ("lookup", pb.datapath, n)))
        for u, oldm in d.mcast_groups.items():
            for mc in (oldm, sb.mcast_groups.get(u)):
                if mc is not None:
                    out.add(("lookup", mc.datapath, mc.name))
        out.update(("dp", u) for u in d.datapaths)
        for u, oldd in d.datapaths.items():
            for dp in (oldd, sb.datapaths.get(u)):
                if dp is not None:
                    out.add(("dpkey", dp.key))
        out.update(("sbopt", n) for n in d.options)
        out.update(("as", n) for n in d.address_sets)
        for n in d.port_groups:
            out.update(port_group_deps(n))
        return out

    # --- computing owners ----------------------------------------------------------------

    def _compute(self, owners: Iterable[Owner], rt: Runtime, stats: RunStats) -> None:
        sb = self.sb
        pf = PhysicalFlows(sb, rt, self.by_name)
        counts = stats.owners
        t_l = 0.0
        for o in owners:
            kind = o[0]
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "lflow":
                t = time.perf_counter()
                self._lflow(o, rt)
                t_l += time.perf_counter() - t
            elif kind == "port":
                pb = sb.ports.get(o[1])
                if pb is None or pb.datapath not in rt.local_datapaths:
                    self._drop(o)
                else:
                    self._set(o, pf.port_flows(pb), pf.deps)
            elif kind == "mc":
                mc = sb.mcast_groups.get(o[1])
                if mc is None or mc.datapath not in rt.local_datapaths:
                    self._drop(o)
                else:
                    self._set(o, pf.mcast_flows(mc), pf.deps)
            elif kind == "mb":
                rows = [sb.mac_bindings[u] for u in self.mac_rows.get((o[1], o[2]), ())
                        if u in sb.mac_bindings]
                if not rows:
                    self._drop(o)
                else:
                    deps: set[Dep] = set()
                    self._set(o, binding_flows(rows, sb, self.by_name, rt.local_datapaths,
                                               deps), deps)
            elif kind == "fdb":
                self._fdb(o, rt)
            elif kind == "lb":
                lb = sb.load_balancers.get(o[1])
                if lb is None:
                    self._drop(o)
                else:
                    deps = set()
                    self._set(o, lb_flows(lb, sb, rt.local_datapaths, deps), deps)
            elif kind == "tunnel":
                if o[1] in rt.tunnels:
                    self._set(o, pf.tunnel_flows(o[1]), pf.deps)
                else:
                    self._drop(o)
            elif kind == "fixed":
                self._set(o, pf.fixed_flows(), pf.deps)
        stats.seconds["lflow"] = t_l

    def _fdb(self, o: Owner, rt: Runtime) -> None:
        """An FDB row's flows, if a datapath with its key is local (ovn-controller looks
        the local datapath up by the row's dp_key)."""
        fdb = self.sb.fdbs.get(o[1])
        if fdb is None:
            self._drop(o)
            return
        dps = self.dps_by_key.get(fdb.dp_key, ())
        deps: set[Dep] = {("dpkey", fdb.dp_key)}
        deps.update(("localdp", u) for u in dps)
        local = any(u in rt.local_datapaths for u in dps)
        self._set(o, fdb_flows(fdb) if local else [], deps)

    def _lflow(self, o: Owner, rt: Runtime) -> None:
        _, lfu, dpu = o
        sb = self.sb
        lf = sb.lflows.get(lfu)
        dp = sb.datapaths.get(dpu)
        if lf is None or dp is None or dpu not in rt.local_datapaths or \
                lfu not in self.lflows_by_dp.get(dpu, ()):
            self._drop(o)
            return
        flows, err = self.lc.compile(lf, dp, sb, self.port_keys, self.by_name, rt.local,
                                     rt.resident)
        if err is None:
            self.failed.pop(o, None)
        else:
            self.failed[o] = err
        self._set(o, flows, self.lc.deps)

    def _set(self, o: Owner, flows: list[O.Flow], deps: set[Dep]) -> None:
        self.desired.put(o, flows)
        self.deps.record(o, deps)

    def _drop(self, o: Owner) -> None:
        self.desired.remove(o)
        self.deps.drop(o)
        self.failed.pop(o, None)
