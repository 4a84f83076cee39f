"""`show [SWITCH|ROUTER]`: an overview of switches, their ports, routers and NAT."""

from __future__ import annotations

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.nbctl.common import lr_by_name_or_uuid, ls_by_name_or_uuid
from pyovn.ovsdb.idl import Row


def _alias(row: Row, key: str) -> str:
    alias = row.raw("external_ids").get(key)
    return f" (aka {alias})" if alias else ""


def _quoted_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def print_ls(ctx: Context, ls: Row, out: list[str]) -> None:
    out.append(f"switch {ls.uuid} ({ls.raw('name')}){_alias(ls, 'neutron:network_name')}\n")
    for lsp in ctx.refs(ls, "ports"):
        out.append(f"    port {lsp.raw('name')}{_alias(lsp, 'neutron:port_name')}\n")
        parent = lsp.raw("parent_name")
        if parent:
            out.append(f"        parent: {parent[0]}\n")
        tag = lsp.raw("tag")
        if tag:
            out.append(f"        tag: {tag[0]}\n")
        addrs = lsp.raw("addresses")
        if addrs and addrs != ("router",):
            out.append(f"        addresses: {_quoted_list(addrs)}\n")
        lsp_type = lsp.raw("type")
        if lsp_type:
            out.append(f"        type: {lsp_type}\n")
        if lsp_type == "router":
            rp = lsp.raw("options").get("router-port")
            if rp:
                out.append(f"        router-port: {rp}\n")


def print_lr(ctx: Context, lr: Row, out: list[str]) -> None:
    out.append(f"router {lr.uuid} ({lr.raw('name')}){_alias(lr, 'neutron:router_name')}\n")
    for lrp in ctx.refs(lr, "ports"):
        out.append(f"    port {lrp.raw('name')}\n")
        if lrp.raw("mac"):
            out.append(f"        mac: \"{lrp.raw('mac')}\"\n")
        nets = lrp.raw("networks")
        if nets:
            out.append(f"        networks: {_quoted_list(nets)}\n")
        gcs = ctx.refs(lrp, "gateway_chassis")
        if gcs:
            gcs.sort(key=lambda g: (-g.raw("priority"), g.raw("name")))
            out.append("        gateway chassis: ["
                       + " ".join(g.raw("chassis_name") for g in gcs) + "]\n")
    for nat in ctx.refs(lr, "nat"):
        out.append(f"    nat {nat.uuid}\n")
        out.append(f"        external ip: \"{nat.raw('external_ip')}\"\n")
        out.append(f"        logical ip: \"{nat.raw('logical_ip')}\"\n")
        out.append(f"        type: \"{nat.raw('type')}\"\n")


class Show(Command):
    name = "show"
    max_args = 1

    def run(self, ctx: Context) -> None:
        if self.args:
            ls = ls_by_name_or_uuid(ctx, self.args[0], False)
            if ls is not None:
                print_ls(ctx, ls, self.output)
            lr = lr_by_name_or_uuid(ctx, self.args[0], False)
            if lr is not None:
                print_lr(ctx, lr, self.output)
            return
        for ls in ctx.rows("Logical_Switch"):
            print_ls(ctx, ls, self.output)
        for lr in ctx.rows("Logical_Router"):
            print_lr(ctx, lr, self.output)


COMMANDS: list[type[Command]] = [Show]
