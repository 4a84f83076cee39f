"""Logical switch ports: lsp-add/del/list and the lsp-set-*/lsp-get-* commands."""

from __future__ import annotations

import re

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.values import is_uuid
from pyovn.cli.nbctl.common import (
    ls_by_name_or_uuid,
    lsp_by_name_or_uuid,
    lsp_switch,
    note_port,
    parse_enabled,
    row_name,
)
from pyovn.ovsdb.datum import shash_order
from pyovn.ovsdb.idl import Row

_MAC_PREFIX = re.compile(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}")
LSP_TYPES = frozenset(["", "l2gateway", "localnet", "localport", "router", "vtep", "external",
                       "virtual", "remote"])


def smap_lines(smap: dict[str, str]) -> list[str]:
    """key=value lines in the order ovn-nbctl's SMAP_FOR_EACH prints them (hash order)."""
    return [f"{k}={smap[k]}" for k in shash_order(sorted(smap))]


def parse_settings(args: list[str]) -> dict[str, str]:
    """KEY=VALUE arguments (ones without "=" are ignored, as ovn-nbctl does)."""
    out: dict[str, str] = {}
    for arg in args:
        if "=" in arg:
            k, v = arg.split("=", 1)
            out.setdefault(k, v)
    return out


def _lsp(ctx: Context, ident: str) -> Row:
    row = lsp_by_name_or_uuid(ctx, ident, True)
    assert row is not None
    return row


class LspAdd(Command):
    name = "lsp-add"
    min_args, max_args = 2, 4
    options = "--may-exist"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        ls = ls_by_name_or_uuid(ctx, self.args[0])
        assert ls is not None
        parent: str | None = None
        tag = -1
        if len(self.args) == 4:
            parent = self.args[2]
            text = self.args[3]
            m = re.match(r"\s*[-+]?\d+", text)
            tag = int(m.group()) if m else -1
            if m is None or not 0 <= tag <= 4095:
                raise CtlError(f"{text}: invalid tag (must be in range 0 to 4095)")
        elif len(self.args) != 2:
            raise CtlError("lsp-add with parent must also specify a tag")
        name = self.args[1]
        lsp = lsp_by_name_or_uuid(ctx, name, False)
        if lsp is not None:
            self._exists(ctx, ls, lsp, name, parent, tag)
            return
        lsp = ctx.insert("Logical_Switch_Port")
        ctx.write(lsp, "name", name)
        if tag >= 0:
            ctx.write(lsp, "parent_name", parent)
            ctx.write(lsp, "tag_request", (tag,))
        ctx.add_values(ls, "ports", [lsp])
        note_port(ctx, "lsp_to_ls", lsp, ls)

    def _exists(self, ctx: Context, ls: Row, lsp: Row, name: str, parent: str | None,
                tag: int) -> None:
        if not self.has("--may-exist"):
            raise CtlError(f"{name}: a port with this name already exists")
        owner = lsp_switch(ctx, lsp)
        if owner.uuid != ls.uuid:
            raise CtlError(f"{name}: port already exists but in switch {row_name(owner)}")
        have_parent = lsp.raw("parent_name")
        if parent is not None:
            if not have_parent:
                raise CtlError(f"{name}: port already exists but has no parent")
            if have_parent[0] != parent:
                raise CtlError(f"{name}: port already exists with different parent "
                               f"{have_parent[0]}")
            req = lsp.raw("tag_request")
            if not req:
                raise CtlError(f"{name}: port already exists but has no tag_request")
            if req[0] != tag:
                raise CtlError(f"{name}: port already exists with different tag_request "
                               f"{req[0]}")
        elif have_parent:
            raise CtlError(f"{name}: port already exists but has parent {have_parent[0]}")


class LspDel(Command):
    name = "lsp-del"
    min_args = max_args = 1
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lsp = lsp_by_name_or_uuid(ctx, self.args[0], not self.has("--if-exists"))
        if lsp is None:
            return
        ls = lsp_switch(ctx, lsp)
        ctx.remove_values(ls, "ports", [lsp])
        note_port(ctx, "lsp_to_ls", lsp, None)
        ctx.delete(lsp)


class LspList(Command):
    name = "lsp-list"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        ls = ls_by_name_or_uuid(ctx, self.args[0])
        assert ls is not None
        ports = sorted(ctx.refs(ls, "ports"), key=lambda r: r.raw("name").encode())
        for p in ports:
            self.print(f"{p.uuid} ({p.raw('name')})")


class LspGetParent(Command):
    name = "lsp-get-parent"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        parent = _lsp(ctx, self.args[0]).raw("parent_name")
        if parent:
            self.print(parent[0])


class LspGetTag(Command):
    name = "lsp-get-tag"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        tag = _lsp(ctx, self.args[0]).raw("tag")
        if tag:
            self.print(str(tag[0]))


def check_addresses(ctx: Context, lsp: Row, addresses: list[str]) -> None:
    for addr in addresses:
        if addr in ("unknown", "dynamic", "router"):
            continue
        if not _MAC_PREFIX.match(addr):
            raise CtlError(
                f"{addr}: Invalid address format. See ovn-nb(5). Hint: An Ethernet address "
                "must be listed before an IP address, together as a single argument.")


class LspSetAddresses(Command):
    name = "lsp-set-addresses"
    min_args, max_args = 1, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        check_addresses(ctx, lsp, self.args[1:])
        ctx.write(lsp, "addresses", tuple(sorted(set(self.args[1:]))))


class LspGetAddresses(Command):
    name = "lsp-get-addresses"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        for a in _lsp(ctx, self.args[0]).raw("addresses"):
            self.print(a)


class LspSetPortSecurity(Command):
    name = "lsp-set-port-security"
    min_args, max_args = 1, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        ctx.write(lsp, "port_security", tuple(sorted(set(self.args[1:]))))


class LspGetPortSecurity(Command):
    name = "lsp-get-port-security"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        for a in _lsp(ctx, self.args[0]).raw("port_security"):
            self.print(a)


class LspGetUp(Command):
    name = "lsp-get-up"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        up = _lsp(ctx, self.args[0]).raw("up")
        self.print("up" if up and up[0] else "down")


class LspSetEnabled(Command):
    name = "lsp-set-enabled"
    min_args = max_args = 2
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        ctx.write(lsp, "enabled", (parse_enabled(self.args[1]),))


class LspGetEnabled(Command):
    name = "lsp-get-enabled"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        enabled = _lsp(ctx, self.args[0]).raw("enabled")
        self.print("enabled" if not enabled or enabled[0] else "disabled")


class LspSetType(Command):
    name = "lsp-set-type"
    min_args = max_args = 2
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        if self.args[1] not in LSP_TYPES:
            raise CtlError(f"Logical switch port type '{self.args[1]}' is unrecognized. "
                           "Not setting type.")
        ctx.write(lsp, "type", self.args[1])


class LspGetType(Command):
    name = "lsp-get-type"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        self.print(_lsp(ctx, self.args[0]).raw("type"))


class LspSetOptions(Command):
    name = "lsp-set-options"
    min_args, max_args = 1, UNLIMITED
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        ctx.write(lsp, "options", parse_settings(self.args[1:]))


class LspGetOptions(Command):
    name = "lsp-get-options"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        for line in smap_lines(_lsp(ctx, self.args[0]).raw("options")):
            self.print(line)


def dhcp_options_get(ctx: Context, ident: str, must_exist: bool) -> Row | None:
    row = ctx.row("DHCP_Options", ident.lower()) if is_uuid(ident) else None
    if row is None and must_exist:
        raise CtlError(f"{ident}: dhcp options UUID not found")
    return row


class _LspSetDhcp(Command):
    min_args, max_args = 1, 2
    mode = "RW"
    column = ""

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        opts = dhcp_options_get(ctx, self.args[1], True) if len(self.args) == 2 else None
        ctx.write(lsp, self.column, (opts.uuid,) if opts is not None else ())


class LspSetDhcpv4Options(_LspSetDhcp):
    name = "lsp-set-dhcpv4-options"
    column = "dhcpv4_options"


class LspSetDhcpv6Options(_LspSetDhcp):
    name = "lsp-set-dhcpv6-options"
    column = "dhcpv6_options"


class _LspGetDhcp(Command):
    min_args = max_args = 1
    column = ""

    def run(self, ctx: Context) -> None:
        lsp = _lsp(ctx, self.args[0])
        opts = ctx.ref(lsp, self.column)
        if opts is not None:
            self.print(f"{opts.uuid} ({opts.raw('cidr')})")


class LspGetDhcpv4Options(_LspGetDhcp):
    name = "lsp-get-dhcpv4-options"
    column = "dhcpv4_options"


class LspGetDhcpv6Options(_LspGetDhcp):
    name = "lsp-get-dhcpv6-options"
    column = "dhcpv6_options"


class LspGetLs(Command):
    name = "lsp-get-ls"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        ls = lsp_switch(ctx, _lsp(ctx, self.args[0]))
        self.print(f"{ls.uuid} ({ls.raw('name')})")


COMMANDS: list[type[Command]] = [
    LspAdd, LspDel, LspList, LspGetParent, LspGetTag, LspSetAddresses, LspGetAddresses,
    LspSetPortSecurity, LspGetPortSecurity, LspGetUp, LspSetEnabled, LspGetEnabled,
    LspSetType, LspGetType, LspSetOptions, LspGetOptions, LspSetDhcpv4Options,
    LspSetDhcpv6Options, LspGetDhcpv4Options, LspGetDhcpv6Options, LspGetLs,
]
