"""`pyovn northd`: the daemon.  Connects to NB and SB, takes the SB lock "ovn_northd" (one
active instance; the others stand by and take over when the lock is freed), and keeps SB
equal to the translation of NB, writing only what changed.

Each iteration: take the NB and SB change sets -> run the engine (incremental.py) -> one SB
transaction with the dirty keys (sync.py) and SB_Global.nb_cfg -> one NB transaction with
the status that flows back north (sb_cfg, hv_cfg, Logical_Switch_Port.up).  After the lock
is (re)gained or a connection resynchronised, the SB write is a full sync: every key is
compared, so nothing a previous active instance left half done is lost or done twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Hashable

from pyovn.jsonrpc.daemon import (
    DaemonError,
    add_daemon_options,
    project_rundir,
    run_async_main,
    setup_daemon,
    tune_gc,
)
from pyovn.jsonrpc.unixctl import UnixctlServer
from pyovn.northd.incremental import NorthdCore, changes_from_idl
from pyovn.northd.nb import NB_TABLES, RowsAdapter
from pyovn.northd.sbindex import INDEXED, SbIndex
from pyovn.northd.status import hv_cfg, port_up, random_mac, random_mac_prefix
from pyovn.northd.sync import KeyAllocator, SbWriter
from pyovn.northd.tunnel_keys import GENEVE_LIMITS, key_limits, vxlan_mode
from pyovn.ovsdb.idl import Idl, SchemaHelper, Transaction, TxnStatus

log = logging.getLogger("pyovn.northd")

LOCK_NAME = "ovn_northd"
NB_WRITTEN = (("Logical_Switch_Port", "up"), ("NB_Global", "sb_cfg"),
              ("NB_Global", "sb_cfg_timestamp"), ("NB_Global", "hv_cfg"),
              ("NB_Global", "hv_cfg_timestamp"))
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"


def _schema(path: str, fallback: str) -> str:
    if os.path.exists(path):
        return path
    here = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", fallback)
    return here


def nb_helper() -> SchemaHelper:
    h = SchemaHelper.from_file(_schema(NB_SCHEMA, "ovn-nb.ovsschema"))
    for t in NB_TABLES:
        h.register_table(t)
    return h


def sb_helper() -> SchemaHelper:
    h = SchemaHelper.from_file(_schema(SB_SCHEMA, "ovn-sb.ovsschema"))
    for t in INDEXED:
        h.register_table(t)
    h.register_columns("MAC_Binding", ["datapath"])
    h.register_columns("Chassis_Private", ["name", "nb_cfg", "nb_cfg_timestamp"])
    # Whether any chassis uses VXLAN, which narrows the tunnel key ranges (tunnel_keys.py).
    h.register_columns("Chassis", ["encaps"])
    h.register_columns("Encap", ["type"])
    return h


class Northd:
    def __init__(self, nb_remote: str, sb_remote: str) -> None:
        self.nb = Idl(nb_remote, nb_helper(), backoff_min=0.1, backoff_max=1.0,
                      probe_interval=5.0)
        self.sb = Idl(sb_remote, sb_helper(), backoff_min=0.1, backoff_max=1.0,
                      probe_interval=5.0)
        # What northd writes into NB itself must not wake it up again (as ovn-northd's
        # ovsdb_idl_omit_alert() calls): the replica still follows the values.
        for table, column in NB_WRITTEN:
            self.nb.omit_alert(table, column)
        self._wake = asyncio.Event()
        self.nb.add_change_listener(self._wake.set)
        self.sb.add_change_listener(self._wake.set)
        self.core: NorthdCore | None = None
        self.index = SbIndex()
        self.index_built = False
        self.full_sync = True
        self.up_dirty: set[str] = set()
        self.up_all = True
        self.limits = GENEVE_LIMITS
        self.dp_alloc = KeyAllocator(1, self.limits.dp)
        self.port_allocs: dict[str, KeyAllocator] = {}
        self.paused = False
        self.exiting = False
        self.nb_connected = self.sb_connected = False
        self.stats = {"iterations": 0, "sb_txns": 0, "sb_ops": 0, "nb_txns": 0,
                      "full_syncs": 0, "last_sync_ms": 0.0}

    # --- control ------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.sb.has_lock and not self.paused

    def status(self) -> str:
        if self.paused:
            return "Status: paused\n"
        return "Status: active\n" if self.sb.has_lock else "Status: standby\n"

    def recompute(self) -> None:
        if self.core is not None:
            self.core.engine.force_recompute()
        self.full_sync = True
        self.up_all = True
        self._wake.set()

    def register(self, server: UnixctlServer) -> None:
        def recompute(_args: list[str]) -> str:
            self.recompute()
            return ""

        def pause(_args: list[str]) -> str:
            self._pause(True)
            return ""

        def resume(_args: list[str]) -> str:
            self._pause(False)
            return ""

        def exit_(_args: list[str]) -> str:
            self._exit()
            return ""

        server.register("status", 0, 0, "", lambda a: self.status())
        server.register("recompute", 0, 0, "", recompute)
        server.register("inc-engine/recompute", 0, 0, "", recompute)
        server.register("inc-engine/show-stats", 0, 0, "", lambda a: self.show_stats())
        server.register("pause", 0, 0, "", pause)
        server.register("resume", 0, 0, "", resume)
        server.register("is-paused", 0, 0, "", lambda a: f"{str(self.paused).lower()}\n")
        server.register("exit", 0, 0, "", exit_)

    def _pause(self, paused: bool) -> None:
        self.paused = paused
        asyncio.get_running_loop().create_task(self.sb.set_lock(None if paused else LOCK_NAME))
        self.full_sync = True
        self._wake.set()

    def _exit(self) -> None:
        self.exiting = True
        self._wake.set()

    def show_stats(self) -> str:
        text = self.core.engine.show_stats() if self.core is not None else ""
        extra = "".join(f"{k}: {v}\n" for k, v in self.stats.items())
        if self.core is not None:
            d = self.core.desired.tables
            extra += "".join(f"desired {t}: {len(v)}\n" for t, v in d.items())
        return text + extra

    # --- main loop ----------------------------------------------------------------------

    async def run(self) -> None:
        await self.nb.start()
        await self.sb.start()
        await self.sb.set_lock(LOCK_NAME)
        try:
            while not self.exiting:
                self._wake.clear()
                nbseq, sbseq = self.nb.change_seqno, self.sb.change_seqno
                retry = False
                try:
                    retry = await self.step()
                except Exception:
                    log.exception("northd iteration failed; full sync next")
                    self.full_sync = True
                    retry = True
                if self.exiting:
                    break
                if nbseq == self.nb.change_seqno and sbseq == self.sb.change_seqno:
                    await self._wait(0.5 if retry else None)
        finally:
            await self.nb.close()
            await self.sb.close()

    async def _wait(self, timeout: float | None) -> None:
        """Until either database changes (the Idls' change listeners set _wake), a control
        command sets _wake, or the timeout passes."""
        if timeout is None:
            await self._wake.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def step(self) -> bool:
        """One iteration; True if something should be retried soon."""
        self.stats["iterations"] += 1
        nb_ok, sb_ok = self.nb.is_connected, self.sb.is_connected
        if not (nb_ok and sb_ok):
            if not sb_ok:
                self.full_sync = True
            return False
        nb_changes = self.nb.take_changes()
        if self.core is None:
            self.core = NorthdCore({t: RowsAdapter(self.nb.tables[t].rows) for t in NB_TABLES})
        else:
            self.core.feed(changes_from_idl(nb_changes))
        for u in nb_changes["Logical_Switch_Port"].inserted:
            row = self.nb.tables["Logical_Switch_Port"].rows.get(u)
            if row is not None:
                self.up_dirty.add(row.raw("name"))
        sb_changes = self.sb.take_changes()
        if not self.index_built:
            self.index.rebuild(self.sb.tables)
            self.index_built = True
        else:
            self.index.update(sb_changes)
        pbc = sb_changes["Port_Binding"]
        for row in list(pbc.inserted.values()) + list(pbc.modified.values()):
            self.up_dirty.add(row.raw("logical_port"))
        if not self.active:
            self.full_sync = True
            self.up_all = True
            return False
        self._key_limits()
        t0 = time.perf_counter()
        self.core.run()
        dirty = self.core.take_dirty()
        retry = not await self._write_sb(dirty)
        self.stats["last_sync_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        if not retry:
            retry = not await self._write_nb()
        return retry

    def _key_limits(self) -> None:
        """Narrows (or widens back) the ranges new tunnel keys come from when a chassis
        starts (or the last one stops) using VXLAN; keys already given out stay."""
        limits = key_limits(vxlan_mode(self.sb.tables))
        if limits == self.limits:
            return
        log.info("tunnel keys: datapaths up to %d, ports up to %d (%s)", limits.dp,
                 limits.port, "a chassis uses VXLAN" if limits.dp < self.limits.dp
                 else "no chassis uses VXLAN")
        self.limits = limits
        self.dp_alloc.hi = limits.dp
        for a in self.port_allocs.values():
            a.hi = limits.port

    def _nb_global(self) -> object | None:
        rows = list(self.nb.tables["NB_Global"].rows.values())
        return rows[0] if rows else None

    async def _write_sb(self, dirty: dict[str, set[Hashable]]) -> bool:
        assert self.core is not None
        full = self.full_sync
        nbg = self._nb_global()
        nb_cfg = int(nbg.raw("nb_cfg")) if nbg is not None else 0  # type: ignore[attr-defined]
        if not full and not any(dirty.values()):
            # Nothing to write (a Port_Binding's status changed, say): no transaction to
            # build, so that copying "up" north starts at once.
            sbg = list(self.sb.tables["SB_Global"].rows.values())
            if sbg and sbg[0].raw("nb_cfg") == nb_cfg:
                return True
        core = self.core

        def build(txn: Transaction) -> SbWriter:
            writer = SbWriter(self.sb.replica, self.index, self.dp_alloc, self.port_allocs,
                              self.limits.port)
            writer.run(core.desired, dirty, full)
            sbg = list(self.sb.tables["SB_Global"].rows.values())
            if sbg:
                if sbg[0].raw("nb_cfg") != nb_cfg:
                    sbg[0].nb_cfg = nb_cfg
            else:
                new = [r for r in txn._inserted.values() if r.table.name == "SB_Global"]
                if new:
                    new[0].nb_cfg = nb_cfg
            return writer

        out = await self.sb.try_transact(build)
        status, txn = out.status, out.txn
        if out.ok:
            self.stats["sb_txns"] += status is TxnStatus.SUCCESS
            self.stats["sb_ops"] += out.value.ops
            if full:
                self.stats["full_syncs"] += 1
            self.full_sync = False
            return True
        log.info("SB transaction %s (%s); full sync next", status, txn.error)
        self.full_sync = True
        if status is TxnStatus.ERROR:
            # The replica and our index may disagree with the server: start over.
            self.index_built = False
        return False

    async def _write_nb(self) -> bool:
        nbg = self._nb_global()
        sbg = list(self.sb.tables["SB_Global"].rows.values())
        sb_nb_cfg = int(sbg[0].raw("nb_cfg")) if sbg else 0

        def build(txn: Transaction) -> None:
            row = nbg
            if row is None:
                row = txn.insert("NB_Global")
            opts = dict(row.raw("options"))  # type: ignore[attr-defined]
            want = dict(opts)
            if "mac_prefix" not in want or "svc_monitor_mac" not in want:
                want.setdefault("mac_prefix", random_mac_prefix())
                want.setdefault("svc_monitor_mac", random_mac())
            # Read-only for the CMS; follows the encapsulations (and so reaches SB_Global
            # through the global unit).
            want["max_tunid"] = self.limits.max_tunid
            if want != opts:
                row.options = want  # type: ignore[attr-defined]
            now = int(time.time() * 1000)
            if row.raw("sb_cfg") != sb_nb_cfg:  # type: ignore[attr-defined]
                row.sb_cfg = sb_nb_cfg  # type: ignore[attr-defined]
                row.sb_cfg_timestamp = now  # type: ignore[attr-defined]
            hv, hv_ts = hv_cfg({u: r._data for u, r in
                                self.sb.tables["Chassis_Private"].rows.items()}, sb_nb_cfg)
            if row.raw("hv_cfg") != hv:  # type: ignore[attr-defined]
                row.hv_cfg = hv  # type: ignore[attr-defined]
                row.hv_cfg_timestamp = hv_ts or now  # type: ignore[attr-defined]
            self._sync_up(txn)

        out = await self.nb.try_transact(build)
        status, txn = out.status, out.txn
        if out.ok:
            self.stats["nb_txns"] += status is TxnStatus.SUCCESS
            return True
        log.info("NB transaction %s (%s)", status, txn.error)
        self.up_all = True
        return False

    def _sync_up(self, txn: object) -> None:
        assert self.core is not None
        lsps = self.nb.tables["Logical_Switch_Port"].rows
        if self.up_all:
            names = None
            targets = list(lsps.values())
        else:
            names = self.up_dirty
            targets = []
            for n in names:
                for u in self.core.db.names["Logical_Switch_Port"].get(n, ()):
                    r = lsps.get(u)
                    if r is not None:
                        targets.append(r)
        self.up_all = False
        self.up_dirty = set()
        pbs = self.sb.tables["Port_Binding"].rows
        for lsp in targets:
            name = lsp.raw("name")
            pb_uuids = self.index.find("Port_Binding", name)
            pb = pbs.get(min(pb_uuids)) if pb_uuids else None
            if pb is None and lsp.raw("type") != "router":
                continue
            want = port_up(lsp._data, pb._data if pb is not None else None)
            if want is not None and lsp.raw("up") != (want,):
                lsp.up = want
            # A container's VLAN tag: the requested one (allocation of tag_request=0
            # is still missing).
            req = lsp.raw("tag_request")
            if lsp.raw("parent_name") and req and req[0] and lsp.raw("tag") != req:
                lsp.tag = req[0]


def default_db(name: str) -> str:
    return f"unix:{project_rundir('ovn')}/{name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyovn northd",
                                     description="OVN northd: translates NB into SB.")
    parser.add_argument("--ovnnb-db", default=os.environ.get("OVN_NB_DB",
                                                              default_db("ovnnb_db.sock")))
    parser.add_argument("--ovnsb-db", default=os.environ.get("OVN_SB_DB",
                                                              default_db("ovnsb_db.sock")))
    parser.add_argument("--n-threads", type=int, default=1, help="accepted, ignored")
    add_daemon_options(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        ctx = setup_daemon(args, "ovn-northd", project="ovn")
    except DaemonError as e:
        print(f"pyovn northd: {e}", file=sys.stderr)
        return 1

    async def serve() -> None:
        try:
            northd = Northd(args.ovnnb_db, args.ovnsb_db)
        except ValueError as e:
            raise DaemonError(str(e)) from None
        server = ctx.make_unixctl_server()
        northd.register(server)
        await ctx.start_unixctl(server)
        ctx.startup_done()
        # northd's state (replicas, units, flows) holds no reference cycles worth the
        # cyclic collector's walks, which with a big NB showed up as pauses in the middle
        # of a change: collect rarely, as the OVSDB server does.
        tune_gc()
        try:
            await northd.run()
        finally:
            await server.close()

    try:
        run_async_main(serve())
    except DaemonError as e:
        print(f"pyovn northd: {e}", file=sys.stderr)
        return 1
    return 0
