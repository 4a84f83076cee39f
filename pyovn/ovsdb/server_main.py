"""`pyovn ovsdb-server`: the command line of ovsdb-server(1), serving pyovn's database.

    pyovn ovsdb-server [DATABASE...] [--remote=REMOTE]... [--pidfile] [--log-file]
                       [--unixctl=SOCKET] [--detach] [-vSPEC]...
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import Any

from pyovn import __version__
from pyovn.jsonrpc.daemon import (
    DaemonError,
    add_daemon_options,
    run_async_main,
    setup_daemon,
    tune_gc,
)
from pyovn.jsonrpc.stream import DEFAULT_MAX_SIZE
from pyovn.jsonrpc.unixctl import UnixctlError
from pyovn.ovsdb import storage
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.remotes import DEFAULT_PROBE_MS, Remotes, check_remote
from pyovn.ovsdb.server import DbState, Server, open_database

log = logging.getLogger("pyovn.ovsdb.server_main")

DEFAULT_DB = "/etc/openvswitch/conf.db"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyovn ovsdb-server",
        description="pyovn's OVSDB server: serves DATABASE files (default "
        f"{DEFAULT_DB}) over JSON-RPC, like ovsdb-server(1).",
    )
    parser.add_argument("databases", nargs="*", metavar="DATABASE")
    parser.add_argument("--remote", action="append", default=[], metavar="REMOTE",
                        help="listen on REMOTE: punix:PATH or ptcp:PORT[:IP] (repeatable)")
    parser.add_argument("--inactivity-probe", type=int, default=None, metavar="MSEC",
                        help="echo-probe idle TCP clients after MSEC (default "
                        f"{DEFAULT_PROBE_MS}; 0 disables; unix sockets: off)")
    parser.add_argument("--max-message-size", type=int, default=DEFAULT_MAX_SIZE,
                        metavar="BYTES", help="close connections that send a bigger message")
    parser.add_argument("--disable-file-column-diff", action="store_true",
                        help="accepted for compatibility")
    for flag in ("--run", "--private-key", "--certificate", "--ca-cert", "--bootstrap-ca-cert",
                 "--peer-ca-cert", "--ssl-protocols", "--ssl-ciphers", "--sync-from",
                 "--sync-exclude-tables"):
        parser.add_argument(flag, help=argparse.SUPPRESS)
    parser.add_argument("--active", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-V", "--version", action="store_true", help="print version and exit")
    add_daemon_options(parser)
    return parser


async def serve(args: argparse.Namespace, ctx: Any, states: list[DbState]) -> int:
    server = Server()
    for state in states:
        server.add_database(state)
    remotes = Remotes(server, args.inactivity_probe, args.max_message_size)
    for remote in args.remote:
        try:
            remotes.add(remote)
        except ValueError as error:
            log.error("%s", error)
            return 1
    await remotes.reconcile()

    done = asyncio.Event()
    unixctl = ctx.make_unixctl_server(f"ovsdb-server (pyovn) {__version__}")

    def cmd_exit(argv: list[str]) -> str:
        done.set()
        return ""

    def cmd_memory(argv: list[str]) -> str:
        return " ".join(f"{k}:{v}" for k, v in sorted(server.stats().items()))

    def cmd_list_dbs(argv: list[str]) -> str:
        return "".join(f"{name}\n" for name in sorted(server.dbs))

    def cmd_compact(argv: list[str]) -> str:
        names = argv or [s.name for s in states]
        for name in names:
            state = server.dbs.get(name)
            if state is None or state.writer is None:
                raise UnixctlError(f"{name}: unknown database")
            server.compact(state)
        return ""

    async def cmd_add_remote(argv: list[str]) -> str:
        try:
            remotes.add(argv[0])
            await remotes.reconcile()
        except (OSError, ValueError) as error:
            raise UnixctlError(f"{argv[0]}: {error}") from None
        return ""

    async def cmd_remove_remote(argv: list[str]) -> str:
        if not remotes.remove(argv[0]):
            raise UnixctlError(f"{argv[0]}: no such remote (use --remote=... to add one)")
        await remotes.reconcile()
        return ""

    def cmd_list_remotes(argv: list[str]) -> str:
        return "".join(f"{r}\n" for r in sorted(remotes.configured))

    unixctl.register("exit", 0, 0, "", cmd_exit)
    unixctl.register("memory/show", 0, 0, "", cmd_memory)
    unixctl.register("ovsdb-server/list-dbs", 0, 0, "", cmd_list_dbs)
    unixctl.register("ovsdb-server/compact", 0, 1, "[DB]", cmd_compact)
    unixctl.register("ovsdb-server/add-remote", 1, 1, "REMOTE", cmd_add_remote)
    unixctl.register("ovsdb-server/remove-remote", 1, 1, "REMOTE", cmd_remove_remote)
    unixctl.register("ovsdb-server/list-remotes", 0, 0, "", cmd_list_remotes)
    await ctx.start_unixctl(unixctl)
    ctx.startup_done()
    log.info("pyovn ovsdb-server %s: serving %s", __version__,
             ", ".join(s.name for s in states) or "no databases")
    await done.wait()
    remotes.close()
    for state in states:
        if state.writer is not None:
            state.writer.close()
    await unixctl.close()
    return 0


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"ovsdb-server (pyovn) {__version__}")
        return 0
    for remote in args.remote:
        try:
            check_remote(remote)
        except ValueError as error:
            print(f"pyovn ovsdb-server: {error}", file=sys.stderr)
            return 1
    paths = args.databases or [DEFAULT_DB]
    ctx = None
    if args.detach:
        # fcntl locks on the database files do not survive fork(): detach first.
        ctx = _setup(args)
        if ctx is None:
            return 1
    states: list[DbState] = []
    started = time.monotonic()
    for path in paths:
        try:
            states.append(open_database(path))
        except (storage.LogError, OvsdbError) as error:
            print(f"pyovn ovsdb-server: {error}", file=sys.stderr)
            log.error("%s", error)
            return 1
    if ctx is None:
        ctx = _setup(args)
        if ctx is None:
            return 1
    log.debug("loaded %d database(s) in %.3f s", len(states), time.monotonic() - started)
    tune_gc()
    return run_async_main(serve(args, ctx, states))


def _setup(args: argparse.Namespace) -> Any:
    try:
        return setup_daemon(args, "ovsdb-server")
    except DaemonError as error:
        print(f"pyovn ovsdb-server: {error}", file=sys.stderr)
        return None
