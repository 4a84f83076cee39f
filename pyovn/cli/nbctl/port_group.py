"""Port groups: pg-add, pg-set-ports, pg-del."""

from __future__ import annotations

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.nbctl.acl import pg_by_name_or_uuid
from pyovn.cli.nbctl.common import lsp_by_name_or_uuid
from pyovn.ovsdb.idl import Row


def set_ports(ctx: Context, pg: Row, names: list[str]) -> None:
    ports = []
    for name in names:
        lsp = lsp_by_name_or_uuid(ctx, name, True)
        assert lsp is not None
        ports.append(lsp.uuid)
    ctx.write(pg, "ports", tuple(sorted(set(ports))))


class PgAdd(Command):
    name = "pg-add"
    min_args, max_args = 1, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        pg = ctx.insert("Port_Group")
        ctx.write(pg, "name", self.args[0])
        if len(self.args) > 1:
            set_ports(ctx, pg, self.args[1:])


class PgSetPorts(Command):
    name = "pg-set-ports"
    min_args, max_args = 2, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        pg = pg_by_name_or_uuid(ctx, self.args[0], True)
        assert pg is not None
        set_ports(ctx, pg, self.args[1:])


class PgDel(Command):
    name = "pg-del"
    min_args = max_args = 1
    mode = "RW"

    def run(self, ctx: Context) -> None:
        pg = pg_by_name_or_uuid(ctx, self.args[0], True)
        assert pg is not None
        ctx.delete(pg)


COMMANDS: list[type[Command]] = [PgAdd, PgSetPorts, PgDel]
