"""Logical switches: ls-add, ls-del, ls-list."""

from __future__ import annotations

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.nbctl.common import by_name_or_uuid, ls_by_name_or_uuid


def add_named(cmd: Command, ctx: Context, table: str, what: str) -> None:
    """ls-add / lr-add: a new row with an optional, unique (unless --add-duplicate) name."""
    name = cmd.args[0] if cmd.args else None
    may_exist = cmd.has("--may-exist")
    add_duplicate = cmd.has("--add-duplicate")
    if may_exist and add_duplicate:
        raise CtlError("--may-exist and --add-duplicate may not be used together")
    if name is not None:
        if not add_duplicate and ctx.find(table, "name", name):
            if may_exist:
                return
            raise CtlError(f"{name}: a {what} with this name already exists")
    elif may_exist:
        raise CtlError("--may-exist requires specifying a name")
    elif add_duplicate:
        raise CtlError("--add-duplicate requires specifying a name")
    row = ctx.insert(table)
    if name is not None:
        ctx.write(row, "name", name)


def list_named(cmd: Command, ctx: Context, table: str) -> None:
    rows = sorted(ctx.rows(table), key=lambda r: r.raw("name").encode())
    for row in rows:
        cmd.print(f"{row.uuid} ({row.raw('name')})")


class LsAdd(Command):
    name = "ls-add"
    max_args = 1
    options = "--may-exist,--add-duplicate"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        add_named(self, ctx, "Logical_Switch", "switch")


class LsDel(Command):
    name = "ls-del"
    min_args = max_args = 1
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        ls = ls_by_name_or_uuid(ctx, self.args[0], not self.has("--if-exists"))
        if ls is not None:
            ctx.cache.pop("lsp_to_ls", None)
            ctx.delete(ls)


class LsList(Command):
    name = "ls-list"

    def run(self, ctx: Context) -> None:
        list_named(self, ctx, "Logical_Switch")


COMMANDS: list[type[Command]] = [LsAdd, LsDel, LsList]
__all__ = ["COMMANDS", "add_named", "by_name_or_uuid", "list_named"]
