"""Lookups every nbctl feature module shares: switches, routers and their ports by name or
UUID, with ovn-nbctl's error messages, and the port -> switch/router maps."""

from __future__ import annotations

from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.values import is_uuid
from pyovn.ovsdb.idl import Row

__all__ = [
    "by_name_or_uuid",
    "lr_by_name_or_uuid",
    "lrp_by_name_or_uuid",
    "lrp_router",
    "ls_by_name_or_uuid",
    "lsp_by_name_or_uuid",
    "lsp_switch",
    "parse_enabled",
    "row_name",
]


def by_name_or_uuid(ctx: Context, table: str, ident: str, must_exist: bool, what: str,
                    multiple: str) -> Row | None:
    """A row by UUID, else by its unique name (`what` names it in "not found" errors)."""
    uuid = is_uuid(ident)
    row = ctx.row(table, ident.lower()) if uuid else None
    if row is None:
        found = ctx.find(table, "name", ident)
        if len(found) > 1:
            raise CtlError(multiple.format(ident))
        row = found[0] if found else None
    if row is None and must_exist:
        raise CtlError(f"{ident}: {what} {'UUID' if uuid else 'name'} not found")
    return row


def ls_by_name_or_uuid(ctx: Context, ident: str, must_exist: bool = True) -> Row | None:
    return by_name_or_uuid(ctx, "Logical_Switch", ident, must_exist, "switch",
                           "Multiple logical switches named '{}'.  Use a UUID.")


def lr_by_name_or_uuid(ctx: Context, ident: str, must_exist: bool = True) -> Row | None:
    return by_name_or_uuid(ctx, "Logical_Router", ident, must_exist, "router",
                           "Multiple logical routers named '{}'.  Use a UUID.")


def lsp_by_name_or_uuid(ctx: Context, ident: str, must_exist: bool = True) -> Row | None:
    return by_name_or_uuid(ctx, "Logical_Switch_Port", ident, must_exist, "port",
                           "Multiple logical switch ports named '{}'.  Use a UUID.")


def lrp_by_name_or_uuid(ctx: Context, ident: str, must_exist: bool = True) -> Row | None:
    return by_name_or_uuid(ctx, "Logical_Router_Port", ident, must_exist, "port",
                           "Multiple logical router ports named '{}'.  Use a UUID.")


def _owner_map(ctx: Context, table: str, key: str) -> dict[str, Row]:
    """Port UUID -> the switch or router that lists it (built once per batch)."""
    cached = ctx.cache.get(key)
    if cached is None:
        cached = {}
        for owner in ctx.rows(table):
            for uuid in owner.raw("ports"):
                cached.setdefault(uuid, owner)
        ctx.cache[key] = cached
    return cached


def lsp_switch(ctx: Context, lsp: Row) -> Row:
    ls = _owner_map(ctx, "Logical_Switch", "lsp_to_ls").get(lsp.uuid)
    if ls is None:
        raise CtlError(f"logical port {lsp.raw('name')} is not part of any logical switch")
    return ls


def lrp_router(ctx: Context, lrp: Row) -> Row:
    lr = _owner_map(ctx, "Logical_Router", "lrp_to_lr").get(lrp.uuid)
    if lr is None:
        raise CtlError(f"logical port {lrp.raw('name')} is not part of any logical router")
    return lr


def note_port(ctx: Context, key: str, port: Row, owner: Row | None) -> None:
    """Keeps the port -> owner map right after adding (owner) or removing (None) a port."""
    cached = ctx.cache.get(key)
    if cached is None:
        return
    if owner is None:
        cached.pop(port.uuid, None)
    else:
        cached[port.uuid] = owner


def row_name(row: Row) -> str:
    """A row's name, or its UUID when the name is empty (ls_get_name)."""
    name: str = row.raw("name")
    return name or row.uuid


def parse_enabled(state: str) -> bool:
    if state.lower() == "enabled":
        return True
    if state.lower() == "disabled":
        return False
    raise CtlError(f'{state}: state must be "enabled" or "disabled"')
