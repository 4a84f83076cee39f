"""The NB database's own connections and SSL settings (the NB_Global "connections" and
"ssl" columns): get/set/del-connection, get/set/del-ssl, and sync."""

from __future__ import annotations

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.ovsdb.idl import Row

_STREAMS = ("tcp:", "ssl:", "unix:", "ptcp:", "pssl:", "punix:")


def _global(ctx: Context, table: str = "NB_Global", cache: str = "nb_global") -> Row:
    row = ctx.cache.get(cache)
    if row is None:
        rows = list(ctx.rows(table))
        if not rows:
            raise CtlError(f"no {table.lower()} row")
        row = rows[0]
    assert isinstance(row, Row)
    return row


def delete_connections(ctx: Context, table: str = "NB_Global",
                       cache: str = "nb_global") -> Row:
    glob = _global(ctx, table, cache)
    for conn in ctx.refs(glob, "connections"):
        ctx.delete(conn)
    ctx.write(glob, "connections", ())
    return glob


def insert_connections(ctx: Context, cmd: Command, glob: Row) -> None:
    from pyovn.cli.ctl.runner import log_warn

    probe = cmd.opt("--inactivity-probe")
    conns = []
    for target in cmd.args:
        if not target.startswith(_STREAMS):
            module = "nbctl" if glob.table.name == "NB_Global" else "sbctl"
            log_warn(f'{module}|WARN|target type "{target}" is possibly erroneous')
        conn = ctx.insert("Connection")
        ctx.write(conn, "target", target)
        if probe is not None:
            try:
                msecs = int(probe)
            except ValueError:
                msecs = 0
            ctx.write(conn, "inactivity_probe", (msecs,))
        conns.append(conn.uuid)
    ctx.write(glob, "connections", tuple(sorted(conns)))


class GetConnection(Command):
    name = "get-connection"

    def run(self, ctx: Context) -> None:
        for target in sorted({c.raw("target") for c in ctx.rows("Connection")}):
            self.print(target)


class SetConnection(Command):
    name = "set-connection"
    min_args, max_args = 1, UNLIMITED
    options = "--inactivity-probe="
    mode = "RW"

    def run(self, ctx: Context) -> None:
        insert_connections(ctx, self, delete_connections(ctx))


class DelConnection(Command):
    name = "del-connection"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        delete_connections(ctx)


class GetSsl(Command):
    name = "get-ssl"

    def run(self, ctx: Context) -> None:
        rows = list(ctx.rows("SSL"))
        if rows:
            ssl = rows[0]
            self.print(f"Private key: {ssl.raw('private_key')}")
            self.print(f"Certificate: {ssl.raw('certificate')}")
            self.print(f"CA Certificate: {ssl.raw('ca_cert')}")
            self.print(f"Bootstrap: {'true' if ssl.raw('bootstrap_ca_cert') else 'false'}")


class SetSsl(Command):
    name = "set-ssl"
    min_args, max_args = 3, 5
    options = "--bootstrap"
    mode = "RW"
    global_table = "NB_Global"
    global_cache = "nb_global"

    def run(self, ctx: Context) -> None:
        glob = _global(ctx, self.global_table, self.global_cache)
        for ssl in list(ctx.rows("SSL")):
            ctx.delete(ssl)
        ssl = ctx.insert("SSL")
        ctx.write(ssl, "private_key", self.args[0])
        ctx.write(ssl, "certificate", self.args[1])
        ctx.write(ssl, "ca_cert", self.args[2])
        ctx.write(ssl, "bootstrap_ca_cert", self.has("--bootstrap"))
        if len(self.args) >= 4:
            ctx.write(ssl, "ssl_protocols", self.args[3])
        if len(self.args) == 5:
            ctx.write(ssl, "ssl_ciphers", self.args[4])
        ctx.write(glob, "ssl", (ssl.uuid,))


class DelSsl(Command):
    name = "del-ssl"
    mode = "RW"
    global_table = "NB_Global"
    global_cache = "nb_global"

    def run(self, ctx: Context) -> None:
        glob = _global(ctx, self.global_table, self.global_cache)
        for ssl in list(ctx.rows("SSL")):
            ctx.delete(ssl)
        ctx.write(glob, "ssl", ())


class Sync(Command):
    """Waits (with --wait) for everything before it to reach southbound/chassis."""

    name = "sync"

    def run(self, ctx: Context) -> None:
        # An operation that changes nothing, so that the commit (and nb_cfg's increment,
        # which --wait follows) happens even when no command changed anything.
        ctx.txn.add_op({"op": "comment", "comment": "ovn-nbctl: sync"})


class Init(Command):
    name = "init"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        """NB_Global is created by every run; nothing more to do."""


COMMANDS: list[type[Command]] = [GetConnection, SetConnection, DelConnection, GetSsl, SetSsl,
                                 DelSsl, Sync, Init]
