"""`pyovn controller`: ovn-controller(8) in Python.  Configured like it, through the local
Open_vSwitch table's external_ids (system-id, ovn-remote, ovn-encap-type, ovn-encap-ip,
ovn-bridge, ovn-bridge-mappings), with the local database as the one argument (default
unix:$OVS_RUNDIR/db.sock)."""

from __future__ import annotations

import argparse
import sys

from pyovn.controller.daemon import Controller, ovs_rundir
from pyovn.jsonrpc.daemon import DaemonError, add_daemon_options, run_async_main, setup_daemon
from pyovn.jsonrpc.unixctl import UnixctlServer


def register(server: UnixctlServer, ctl: Controller) -> None:
    def exit_(_args: list[str]) -> str:
        ctl.exit()
        return ""

    def recompute(_args: list[str]) -> str:
        ctl.recompute()
        return ""

    server.register("exit", 0, 1, "[--restart]", exit_)
    server.register("recompute", 0, 0, "", recompute)
    server.register("inc-engine/recompute", 0, 0, "", recompute)
    server.register("inc-engine/show-stats", 0, 0, "",
                    lambda a: ctl.show_stats() + ctl.engine_stats())
    server.register("ct-zone-list", 0, 0, "", lambda a: ctl.ct_zone_list())
    server.register("lflow/untranslated", 0, 0, "", lambda a: ctl.untranslated())
    server.register("connection-status", 0, 0, "",
                    lambda a: "connected\n" if ctl.sb is not None and ctl.sb.is_connected
                    else "not connected\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyovn controller",
                                     description="OVN controller: the chassis agent.")
    parser.add_argument("database", nargs="?", default=None,
                        help="local Open vSwitch database (default unix:$OVS_RUNDIR/db.sock)")
    parser.add_argument("--monitor-all", action="store_true",
                        help="replicate all of SB instead of what concerns this chassis")
    add_daemon_options(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    remote = args.database or f"unix:{ovs_rundir()}/db.sock"
    try:
        ctx = setup_daemon(args, "ovn-controller")
    except DaemonError as e:
        print(f"pyovn controller: {e}", file=sys.stderr)
        return 1

    async def serve() -> None:
        try:
            ctl = Controller(remote, monitor_all=args.monitor_all)
        except ValueError as e:
            raise DaemonError(str(e)) from None
        server = ctx.make_unixctl_server()
        register(server, ctl)
        await ctx.start_unixctl(server)
        ctx.startup_done()
        try:
            await ctl.run()
        finally:
            await server.close()

    try:
        run_async_main(serve())
    except DaemonError as e:
        print(f"pyovn controller: {e}", file=sys.stderr)
        return 1
    return 0
