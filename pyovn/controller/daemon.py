"""The chassis agent's loop around the pure core (flows.py): two IDLs (the local Open
vSwitch database and SB), the OpenFlow connection to br-int, and the writes that follow
a computation.

One iteration: local state + SB change set -> compute the flow table -> local OVS writes
(bridge, tunnels, localnet patches, ct zones) -> flows to the switch in one bundle (the
first after a connection replaces the switch's whole table atomically, so a restart never
leaves a moment without flows) -> SB writes (chassis, claims, up, nb_cfg acknowledged
only after the switch confirmed) -> ovn-installed on the interfaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Coroutine, Iterator
from typing import Any

from pyovn.controller import groups as G
from pyovn.controller import ha as HA
from pyovn.controller import ovs as OV
from pyovn.controller import sbwrite as SW
from pyovn.controller.binding import Bindings
from pyovn.controller.ct_zones import zones_from_external_ids
from pyovn.controller.incremental import ControllerCore
from pyovn.controller.ofencode import ControllerEncoder
from pyovn.controller.pinctrl import Pinctrl
from pyovn.controller.pinctrl_garp import GarpAnnouncer
from pyovn.controller.pinctrl_ra import RaAnnouncer
from pyovn.controller.state import (
    SbMirror,
    find_bridge,
    ha_groups,
    local_state,
    open_vswitch_row,
)
from pyovn.openflow import FlowTable, SwitchConnection
from pyovn.openflow import messages as M
from pyovn.openflow import protocol as P
from pyovn.openflow.flowtable import iter_diff_messages
from pyovn.ovsdb.idl import Idl, SchemaHelper

log = logging.getLogger("pyovn.controller")

SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
PIPELINE_TYPES = ("patch", "l3gateway", "chassisredirect", "localnet", "localport")
# How long a starting controller waits for SB to answer its monitor conditions before it
# installs whatever it has (a server that never answers must not keep a chassis unwired).
SETTLE_TIMEOUT = 10.0


def _schema(path: str, fallback: str) -> str:
    if os.path.exists(path):
        return path
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", fallback)


def ovs_helper() -> SchemaHelper:
    h = SchemaHelper.from_file(VS_SCHEMA)
    for t, cols in OV.OVS_TABLES.items():
        h.register_columns(t, cols)
    return h


def sb_helper() -> SchemaHelper:
    h = SchemaHelper.from_file(_schema(SB_SCHEMA, "ovn-sb.ovsschema"))
    for t, cols in SW.SB_COLUMNS.items():
        if cols is None:
            h.register_table(t)
        else:
            h.register_columns(t, cols)
    for t in ("Meter", "Meter_Band"):  # the named meters (groups.sb_meters)
        h.register_table(t)
    return h


def ovs_rundir() -> str:
    return os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")


class Controller:
    def __init__(self, ovs_remote: str, monitor_all: bool = False) -> None:
        self.ovs = Idl(ovs_remote, ovs_helper(), backoff_min=0.1, backoff_max=1.0,
                       probe_interval=0)
        self.ovs.add_change_listener(self.wake)
        self.sb: Idl | None = None
        self.sb_remote = ""
        self.conn: SwitchConnection | None = None
        self.fresh_conn = False
        self.flowtable = FlowTable()
        self.encoder = ControllerEncoder()
        self.mirror = SbMirror()
        self.mirror_built = False
        self.core = ControllerCore()
        self._full = True  # the next computation recomputes everything
        self.zones: dict[str, int] | None = None
        self.installed: set[str] = set()
        self.extend = G.Installed()  # groups and meters in the switch
        self.monitor_all = monitor_all
        # Startup gate (see _conditions_settled): nothing is written to the switch, OVS or
        # SB until the SB rows this chassis needs have arrived, or SETTLE_TIMEOUT passed.
        self.settled = False
        self._settle_deadline: float | None = None
        self._conds: Any = None
        self.chassis = ""
        self.br_int = "br-int"
        self.exiting = False
        self.pinctrl: Pinctrl | None = None
        self._wake = asyncio.Event()
        self._pin_task: asyncio.Task[None] | None = None
        self._ovs_task: asyncio.Task[None] | None = None  # see _ovs_later
        self._tasks: set[asyncio.Task[object]] = set()  # see _background
        self.garp = GarpAnnouncer()  # gratuitous ARP/RARP (pinctrl_garp.py)
        self.ra = RaAnnouncer()  # periodic IPv6 router advertisements (pinctrl_ra.py)
        self.stats: dict[str, Any] = {"iterations": 0, "flow_mods": 0, "bundles": 0,
                                      "last_compute_ms": 0.0, "last_install_ms": 0.0,
                                      "untranslated": 0, "recomputes": 0}

    # --- control -------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def recompute(self) -> None:
        """The unixctl "recompute": every flow computed again from nothing (the switch
        only gets the differences)."""
        self._full = True
        self.mirror_built = False
        self.stats["recomputes"] += 1
        self.wake()

    def exit(self) -> None:
        self.exiting = True
        self.wake()

    # --- configuration -------------------------------------------------------------------

    def _config(self) -> dict[str, str]:
        row = open_vswitch_row(self.ovs.tables)
        return dict(row.raw("external_ids")) if row is not None else {}

    async def _ensure_sb(self, remote: str) -> None:
        if self.sb is not None and remote == self.sb_remote:
            return
        if self.sb is not None:
            await self.sb.close()
        self.sb_remote = remote
        self.sb = Idl(remote, sb_helper(), backoff_min=0.1, backoff_max=1.0, probe_interval=0)
        self.sb.add_change_listener(self.wake)
        self.mirror_built = False
        # A new replica starts from the narrow conditions below: gate again.
        self.settled, self._settle_deadline, self._conds = False, None, None
        if not self.monitor_all:
            for t in ("Logical_Flow", "Multicast_Group", "MAC_Binding", "FDB"):
                await self.sb.set_condition(t, False)
            await self.sb.set_condition("Port_Binding", [("type", "==", t)
                                                          for t in PIPELINE_TYPES])
        await self.sb.start()

    async def _ensure_switch(self) -> None:
        if self.conn is not None and self.conn._closed is None:
            return
        if self.conn is not None:
            await self.conn.close()
            self.conn = None
        path = os.path.join(ovs_rundir(), f"{self.br_int}.mgmt")
        if not os.path.exists(path):
            return
        try:
            conn = await SwitchConnection.open(f"unix:{path}", timeout=5.0)
        except (OSError, ConnectionError, TimeoutError, P.OpenFlowError) as e:
            log.info("%s: %s", path, e)
            return
        conn.send(M.tlv_table_mod(conn.xid(), M.NXTTMC_ADD, [M.OVN_GENEVE_TLV]))
        conn.send(M.set_async(conn.xid()))
        await conn.barrier()  # "already mapped" after a restart is fine
        self.conn = conn
        self.fresh_conn = True
        self.flowtable.clear()
        self.installed = set()
        if self.pinctrl is not None:
            self.pinctrl.conn = conn
        if self._pin_task is not None:
            self._pin_task.cancel()
        self._pin_task = asyncio.get_running_loop().create_task(self._packet_ins(conn))
        log.info("connected to %s", path)

    async def _packet_ins(self, conn: SwitchConnection) -> None:
        while True:
            pin = await conn.packet_ins.get()
            if self.pinctrl is None:
                continue
            try:
                await self.pinctrl.handle(pin)
            except Exception:
                log.exception("packet-in handling failed")

    # --- main loop -----------------------------------------------------------------------

    async def run(self) -> None:
        await self.ovs.start()
        try:
            while not self.exiting:
                seqs = self._seqs()
                retry = False
                try:
                    retry = await self.step()
                except Exception:
                    log.exception("controller iteration failed")
                    retry = True
                if self.exiting:
                    break
                if seqs == self._seqs():
                    await self._wait(seqs, 0.5 if retry else 5.0)
        finally:
            self.garp.close()
            self.ra.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._ovs_idle()
            if self._pin_task is not None:
                self._pin_task.cancel()
            if self.conn is not None:
                await self.conn.close()
            if self.sb is not None:
                await self.sb.close()
            await self.ovs.close()

    def _seqs(self) -> tuple[int, int]:
        return self.ovs.change_seqno, self.sb.change_seqno if self.sb is not None else -1

    async def _wait(self, seqs: tuple[int, int], timeout: float) -> None:
        """Until either replica changes (their listeners call wake()), wake() is called,
        or 'timeout'."""
        self._wake.clear()
        if seqs != self._seqs():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def step(self) -> bool:
        """One iteration; True if something should be retried soon."""
        self.stats["iterations"] += 1
        if not self.ovs.is_connected:
            return False
        cfg = self._config()
        self.chassis = cfg.get("system-id", "")
        remote = cfg.get("ovn-remote", "")
        self.br_int = cfg.get("ovn-bridge", "br-int")
        if not self.chassis or not remote:
            return False
        await self._ensure_sb(remote)
        # The integration bridge first: nothing else works without it.
        br = find_bridge(self.ovs.tables, self.br_int)
        if br is None or br.raw("fail_mode") != ("secure",) or \
                br.raw("other_config").get("disable-in-band") != "true":
            await self._ovs_idle()
            await self._ovs_txn(lambda txn: OV.ensure_bridge(
                txn, self.ovs.tables, self.br_int, cfg.get("ovn-bridge-datapath-type")))
            return True
        if self.zones is None:
            self.zones = zones_from_external_ids(br.raw("external_ids"))
        await self._ensure_switch()
        assert self.sb is not None
        if not self.sb.is_connected:
            return False
        sb_changes = self.sb.take_changes()
        if not self.mirror_built:
            self.mirror.rebuild(self.sb.tables)
            self.mirror_built = True
        else:
            self.mirror.apply(sb_changes, self.sb.tables)
        nb_cfg = SW.sb_nb_cfg(self.sb.tables)
        local = local_state(self.ovs.tables, self.chassis, self.br_int)
        t0 = time.perf_counter()
        core = self.core
        if self._full:
            self.stats["recomputes"] += 1
        core.run(local, self.mirror.state, self.zones, self.mirror.take_delta(),
                 full=self._full)
        self._full = False
        self.stats["last_compute_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        self.stats["untranslated"] = len(core.failed)
        if self.pinctrl is None:
            self.pinctrl = Pinctrl(self)
        seq = self.sb.change_seqno
        conds = self._update_conditions(core.bindings.local_datapaths, local.vifs().keys())
        if self.settled:
            # Running: the rows a new condition brings arrive as ordinary changes, and
            # nothing here needs them before going on (a port whose row is not here yet
            # is bound when it comes).
            self._background(conds)
        elif not self._conditions_settled(await conds and self.sb.change_seqno != seq):
            return True
        # Only now: a table computed from a partial SB would forget the zones of ports it
        # does not see yet, and they would come back renumbered (losing their connections).
        self.zones = core.zones
        b = core.bindings
        # Tunnels to the chassis sharing a datapath, and to those this one runs BFD with
        # (gateway HA groups: who is active depends on it, see ha.py).
        bfd = HA.bfd_chassis(self.chassis, ha_groups(self.sb.tables))
        chassis = self.mirror.state.chassis
        wanted = {c: chassis[c] for c in b.remote_chassis() | bfd if c in chassis}
        bfd_settings = HA.bfd_settings(SW.sb_options(self.sb.tables))

        def ovs_writes(txn: Any) -> bool:
            t = self.ovs.tables
            changed = OV.sync_tunnels(txn, t, self.br_int, wanted, local.encap_type,
                                      bfd_chassis=bfd, bfd=bfd_settings)
            changed |= OV.sync_bfd(txn, t, self.br_int, bfd, bfd_settings, staying=wanted)
            changed |= OV.sync_localnet_patches(txn, t, self.br_int, b.wanted_localnets)
            changed |= OV.sync_zones(txn, t, self.br_int, core.zones)
            return changed

        # Nothing waits for the local OVS writes (as in ovn-controller): flows name tunnels
        # and patches by OpenFlow port, which exist only once OVS made them, and the zones
        # are written for the next start.  A write that fails wakes the loop.
        await self._ovs_later(ovs_writes)
        installed = await self._install(b.claims)
        if installed is None:
            return True
        self.installed = installed
        sb_ok = await self._sb_writes(b, local.encap_type, local.encap_ips, cfg, nb_cfg)
        # (After the SB writes: a port's "up" does not wait for these.)
        self.garp.refresh(local, self.mirror.state, b, self.sb.tables, self.conn)
        self.ra.refresh(self.mirror.state, b, self.conn)
        await self._ovs_later(lambda txn: OV.sync_installed(txn, self.ovs.tables,
                                                            self.installed))
        return not sb_ok

    async def _install(self, claims: set[str]) -> set[str] | None:
        """Sends the changes of the desired flow table (its dirty keys only); the set of
        ports whose flows are now in the switch, or None when there is no switch to talk
        to (or it refused: everything is sent again on the next connection)."""
        conn = self.conn
        if conn is None:
            return None
        t0 = time.perf_counter()
        desired = self.core.desired
        if self.fresh_conn:
            self.flowtable.clear()
            desired.mark_all_dirty()
        keys = desired.take_dirty()
        changes, diff = self.flowtable.diff_desired(desired, keys)
        # Groups and meters the flows use: groups in the bundle around the flow messages,
        # meters (not bundleable) around the bundle (see groups.py).
        lc = self.core.lc
        gm = G.plan((desired.groups_used, desired.meters_used), lc.groups, lc.meters,
                    G.sb_meters(self.sb.tables if self.sb is not None else {}), self.extend,
                    conn.xid, self.encoder, self.fresh_conn)
        if gm.installed.problems != self.extend.problems:
            for p in gm.installed.problems:
                log.warning("meter not installed: %s", p)
        # Encoded while sent: the switch checks the first messages meanwhile.
        msgs: Iterator[bytes] = itertools.chain(
            [M.flow_delete(conn.xid())] if self.fresh_conn else [], gm.bundle_head,
            iter_diff_messages(diff, conn.xid, self.encoder), gm.bundle_tail)
        n_msgs = len(diff) + len(gm.bundle_head) + len(gm.bundle_tail) + self.fresh_conn
        if self.fresh_conn:
            log.info("replacing the switch's flows with %d (one bundle)", len(changes))
        try:
            if gm.before_bundle:
                conn.send_many(gm.before_bundle)
                if errs := await conn.barrier():
                    raise P.OpenFlowError(f"meter_mod refused: {errs[0]}")
            if n_msgs:
                await conn.bundle(msgs)
                self.stats["bundles"] += 1
                self.stats["flow_mods"] += n_msgs
            if gm.after_bundle:
                conn.send_many(gm.after_bundle)
                if errs := await conn.barrier():
                    log.warning("meter delete refused: %s", errs[0])
        except (OSError, ConnectionError, P.OpenFlowError) as e:
            log.warning("installing flows failed: %s", e)
            self.flowtable.clear()
            self.fresh_conn = True
            desired.dirty |= keys
            return None
        except BaseException:
            # (A flow that failed to encode, say: nothing of this bundle was applied, and
            # the next try sends everything again.)
            self.flowtable.clear()
            self.fresh_conn = True
            desired.dirty |= keys
            raise
        self.flowtable.apply(changes)
        self.extend = gm.installed
        self.fresh_conn = False
        self.stats["last_install_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        return set(claims)

    async def _sb_writes(self, b: Bindings, encap_type: str, encap_ips: tuple[str, ...],
                         cfg: dict[str, str], nb_cfg: int) -> bool:
        assert self.sb is not None
        types = [x.strip() for x in cfg.get("ovn-encap-type", "geneve").split(",") if x.strip()]
        other = SW.local_chassis_other_config(self.ovs.tables, self.br_int)
        tables = self.sb.tables

        def build(txn: Any) -> None:
            ch, _ = SW.register_chassis(txn, tables, self.chassis, types or [encap_type],
                                        encap_ips, other)
            SW.sync_claims(txn, tables, ch, b.claims, b.releases, self.installed)
            SW.ack_nb_cfg(txn, tables, self.chassis, nb_cfg)

        out = await self.sb.try_transact(build)
        if not out.ok:
            log.info("SB transaction %s (%s)", out.status, out.txn.error)
        return out.ok

    def _background(self, coro: Coroutine[Any, Any, object]) -> None:
        """Runs 'coro' without waiting for it; a failure is logged (and the loop woken to
        compute again)."""
        name = getattr(coro, "__qualname__", "task")
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[object]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("background %s failed: %s", name, t.exception())
                asyncio.get_running_loop().call_later(0.5, self.wake)
        task.add_done_callback(done)

    async def _ovs_later(self, build: Any) -> None:
        """Starts a local OVS transaction without waiting for its outcome.  One at a time:
        each is built on a replica that already shows the previous one (OVSDB sends the
        update before the reply), so a tunnel is never created twice."""
        await self._ovs_idle()
        self._ovs_task = asyncio.ensure_future(self._ovs_background(build))

    async def _ovs_idle(self) -> None:
        task, self._ovs_task = self._ovs_task, None
        if task is not None:
            await task

    async def _ovs_background(self, build: Any) -> None:
        try:
            ok = await self._ovs_txn(build)
        except Exception:
            log.exception("OVS transaction failed")
            ok = False
        if not ok:
            # Computed again and retried shortly (not at once: a write OVS keeps refusing
            # must not spin the loop).
            asyncio.get_running_loop().call_later(0.5, self.wake)

    async def _ovs_txn(self, build: Any) -> bool:
        out = await self.ovs.try_transact(build)
        if not out.ok:
            log.info("OVS transaction %s (%s)", out.status, out.txn.error)
        return out.ok

    async def _update_conditions(self, local_dps: set[str], iface_ids: Any) -> bool:
        """Conditional monitoring: SB sends only the rows that concern this chassis.  True
        if the conditions changed; each change is answered (rows entering first, then the
        reply) before this returns."""
        if self.monitor_all or self.sb is None:
            return False
        dps = sorted(local_dps)
        ch = SW.find_by_name(self.sb.tables["Chassis"], self.chassis)
        pb: list[tuple[str, str, Any]] = [("type", "==", t) for t in PIPELINE_TYPES]
        pb += [("logical_port", "==", i) for i in sorted(iface_ids)]
        pb += [("datapath", "==", d) for d in dps]
        if ch is not None:
            pb.append(("chassis", "==", ch.uuid))
        dpset = set(dps)
        groups = sorted(u for u, members in self.mirror.dp_groups.items()
                        if not dpset.isdisjoint(members))
        lf: list[tuple[str, str, Any]] = [("logical_datapath", "==", d) for d in dps]
        lf += [("logical_dp_group", "==", g) for g in groups]
        per_dp = [("datapath", "==", d) for d in dps] or False
        # FDB rows name their datapath by tunnel key (as ovn-controller narrows them).
        known = self.mirror.state.datapaths
        fdb = [("dp_key", "==", known[d].key) for d in dps if d in known] or False
        if (pb, lf, per_dp, fdb) == self._conds:
            return False  # (checking a condition against the schema is not free)
        await self.sb.set_condition("Port_Binding", pb)
        await self.sb.set_condition("Logical_Flow", lf or False)
        await self.sb.set_condition("Multicast_Group", per_dp)
        await self.sb.set_condition("MAC_Binding", per_dp)
        await self.sb.set_condition("FDB", fdb)
        self._conds = (pb, lf, per_dp, fdb)
        return True

    def _conditions_settled(self, grew: bool) -> bool:
        """The startup gate.  A starting controller monitors SB narrowly, so its first
        tables lack the port bindings, logical flows and tunnels of its own ports; each
        computation widens the conditions and SB sends the rows that enter.  Installing such
        a table would replace the flows the previous controller left (traffic keeps flowing
        on them) with a partial set, and drop tunnels.  So wait until a computation asked
        for nothing new ('grew': new conditions brought rows), or SETTLE_TIMEOUT."""
        if self.settled:
            return True
        now = time.monotonic()
        if self._settle_deadline is None:
            self._settle_deadline = now + SETTLE_TIMEOUT
        if grew and now < self._settle_deadline:
            log.debug("SB conditions widened; computing again before installing")
            return False
        self.settled = True
        log.info("SB conditions settled%s", " (timed out waiting for SB)" if grew else "")
        return True

    # --- status --------------------------------------------------------------------------

    def show_stats(self) -> str:
        core = self.core
        lines = [f"{k}: {v}" for k, v in self.stats.items()]
        lines.append(f"flows: {len(core.desired)}")
        lines.append(f"local datapaths: {len(core.bindings.local_datapaths)}")
        ls = core.lflow_stats()
        lines.append(f"lflows compiled: {ls.compiled} cached: {ls.cached}")
        lines.append(f"sb rows converted last: {self.mirror.changed}")
        if self.pinctrl is not None:
            # Packet-ins handled, by OVN action opcode: shows whether pinctrl runs at all.
            lines += [f"pinctrl opcode {op}: {n}" for op, n in sorted(self.pinctrl.counts.items())]
        return "\n".join(lines) + "\n"

    def engine_stats(self) -> str:
        """inc-engine/show-stats: how the flow table was kept up to date."""
        core = self.core
        t = core.totals
        lines = [f"runs: {t.runs}", f"- full recompute: {t.full}",
                 f"- incremental:    {t.incremental}", f"- unchanged:      {t.unchanged}",
                 f"owners recomputed: {t.owners}",
                 f"owners: {len(core.desired.owners())}, flows: {len(core.desired)}, "
                 f"dependencies tracked: {len(core.deps)}"]
        lines += [f"time {k}: {v * 1000:.3f} ms" for k, v in sorted(t.seconds.items())]
        last = core.last
        lines.append(f"last run: {last.note()}")
        lines += [f"- {k}: {v * 1000:.3f} ms" for k, v in sorted(last.seconds.items())]
        return "\n".join(lines) + "\n"

    def untranslated(self) -> str:
        f = self.core.lflow_stats().failed
        lf = self.mirror.state.lflows
        out = [f"{len(f)}"]
        for u, err in sorted(f.items()):
            x = lf.get(u)
            out.append(f"{u}: {err}: {x.match if x else ''!r} / {x.actions if x else ''!r}")
        return "\n".join(out) + "\n"

    def ct_zone_list(self) -> str:
        return "".join(f"{k} {v}\n" for k, v in sorted((self.zones or {}).items()))

