"""Logical routers and their ports: lr-add/del/list, lrp-add/del/list, lrp-set-enabled."""

from __future__ import annotations

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.dbcmds import set_column
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.nbctl.addr import is_mac, parse_cidr
from pyovn.cli.nbctl.common import (
    lr_by_name_or_uuid,
    lrp_by_name_or_uuid,
    lrp_router,
    note_port,
    parse_enabled,
    row_name,
)
from pyovn.cli.nbctl.switch import add_named, list_named
from pyovn.ovsdb.idl import Row


class LrAdd(Command):
    name = "lr-add"
    max_args = 1
    options = "--may-exist,--add-duplicate"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        add_named(self, ctx, "Logical_Router", "router")


class LrDel(Command):
    name = "lr-del"
    min_args = max_args = 1
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0], not self.has("--if-exists"))
        if lr is not None:
            ctx.cache.pop("lrp_to_lr", None)
            ctx.delete(lr)


class LrList(Command):
    name = "lr-list"

    def run(self, ctx: Context) -> None:
        list_named(self, ctx, "Logical_Router")


class LrpAdd(Command):
    name = "lrp-add"
    min_args, max_args = 4, UNLIMITED
    options = "--may-exist"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        name, mac = self.args[1], self.args[2]
        rest = self.args[3:]
        n_networks = len(rest)
        for i, arg in enumerate(rest):
            if "=" in arg:
                n_networks = i
                break
        if not n_networks:
            raise CtlError(f"{name}: router port requires specifying a network")
        networks, settings = rest[:n_networks], rest[n_networks:]
        lrp = lrp_by_name_or_uuid(ctx, name, False)
        if lrp is not None:
            self._exists(ctx, lr, lrp, name, mac, networks, settings)
            return
        if not is_mac(mac):
            raise CtlError(f"{name}: invalid mac address {mac}")
        for net in networks:
            if parse_cidr(net, False) is None and parse_cidr(net, True) is None:
                raise CtlError(f"{name}: invalid network address: {net}")
        lrp = ctx.insert("Logical_Router_Port")
        ctx.write(lrp, "name", name)
        ctx.write(lrp, "mac", mac)
        ctx.write(lrp, "networks", tuple(sorted(set(networks))))
        table = ctx.schema.tables["Logical_Router_Port"]
        for setting in settings:
            set_column(ctx, table, lrp, setting)
        ctx.add_values(lr, "ports", [lrp])
        note_port(ctx, "lrp_to_lr", lrp, lr)

    def _exists(self, ctx: Context, lr: Row, lrp: Row, name: str, mac: str,
                networks: list[str], settings: list[str]) -> None:
        if not self.has("--may-exist"):
            raise CtlError(f"{name}: a port with this name already exists")
        owner = lrp_router(ctx, lrp)
        if owner.uuid != lr.uuid:
            raise CtlError(f"{name}: port already exists but in router {row_name(owner)}")
        if mac != lrp.raw("mac"):
            raise CtlError(f"{name}: port already exists with mac {lrp.raw('mac')}")
        if set(networks) != set(lrp.raw("networks")):
            raise CtlError(f"{name}: port already exists with different network")
        peer = next((s[5:] for s in settings if s.startswith("peer=")), None)
        have = lrp.raw("peer")
        if (peer is None) != (not have) or (have and peer != have[0]):
            raise CtlError(f"{name}: port already exists with mismatching peer")


class LrpDel(Command):
    name = "lrp-del"
    min_args = max_args = 1
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lrp = lrp_by_name_or_uuid(ctx, self.args[0], not self.has("--if-exists"))
        if lrp is None:
            return
        lr = lrp_router(ctx, lrp)
        ctx.remove_values(lr, "ports", [lrp])
        note_port(ctx, "lrp_to_lr", lrp, None)
        ctx.delete(lrp)


class LrpList(Command):
    name = "lrp-list"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        for p in sorted(ctx.refs(lr, "ports"), key=lambda r: r.raw("name").encode()):
            self.print(f"{p.uuid} ({p.raw('name')})")


class LrpSetEnabled(Command):
    name = "lrp-set-enabled"
    min_args = max_args = 2
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lrp = lrp_by_name_or_uuid(ctx, self.args[0])
        assert lrp is not None
        ctx.write(lrp, "enabled", (parse_enabled(self.args[1]),))


class LrpGetEnabled(Command):
    name = "lrp-get-enabled"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        lrp = lrp_by_name_or_uuid(ctx, self.args[0])
        assert lrp is not None
        enabled = lrp.raw("enabled")
        self.print("enabled" if not enabled or enabled[0] else "disabled")


COMMANDS: list[type[Command]] = [LrAdd, LrDel, LrList, LrpAdd, LrpDel, LrpList, LrpSetEnabled,
                                 LrpGetEnabled]
