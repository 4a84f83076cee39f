"""DHCP options: dhcp-options-create/del/list, dhcp-options-set-options/get-options."""

from __future__ import annotations

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.nbctl.addr import parse_cidr
from pyovn.cli.nbctl.port import dhcp_options_get, parse_settings, smap_lines


class DhcpOptionsCreate(Command):
    name = "dhcp-options-create"
    min_args, max_args = 1, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        cidr = self.args[0]
        if parse_cidr(cidr, False) is None and parse_cidr(cidr, True) is None:
            raise CtlError(f"Invalid cidr format '{cidr}'")
        row = ctx.insert("DHCP_Options")
        ctx.write(row, "cidr", cidr)
        ctx.write(row, "external_ids", parse_settings(self.args[1:]))


class DhcpOptionsDel(Command):
    name = "dhcp-options-del"
    min_args = max_args = 1
    mode = "RW"

    def run(self, ctx: Context) -> None:
        row = dhcp_options_get(ctx, self.args[0], True)
        assert row is not None
        ctx.delete(row)


class DhcpOptionsList(Command):
    name = "dhcp-options-list"

    def run(self, ctx: Context) -> None:
        for uuid in sorted(r.uuid for r in ctx.rows("DHCP_Options")):
            self.print(uuid)


class DhcpOptionsSetOptions(Command):
    name = "dhcp-options-set-options"
    min_args, max_args = 1, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        row = dhcp_options_get(ctx, self.args[0], True)
        assert row is not None
        ctx.write(row, "options", parse_settings(self.args[1:]))


class DhcpOptionsGetOptions(Command):
    name = "dhcp-options-get-options"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        row = dhcp_options_get(ctx, self.args[0], True)
        assert row is not None
        for line in smap_lines(row.raw("options")):
            self.print(line)


COMMANDS: list[type[Command]] = [DhcpOptionsCreate, DhcpOptionsDel, DhcpOptionsList,
                                 DhcpOptionsSetOptions, DhcpOptionsGetOptions]
