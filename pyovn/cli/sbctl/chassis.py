"""Chassis: chassis-add, chassis-del, and `show` (chassis, encaps, bound ports)."""

from __future__ import annotations

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.values import atom_to_string, datum_to_string
from pyovn.ovsdb.idl import Row


def find_chassis(ctx: Context, name: str, must_exist: bool) -> Row | None:
    found = ctx.find("Chassis", "name", name)
    if not found and must_exist:
        raise CtlError(f"no chassis named {name}")
    return found[0] if found else None


class ChassisAdd(Command):
    name = "chassis-add"
    min_args = max_args = 3
    options = "--may-exist"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        name, types, ip = self.args
        if find_chassis(ctx, name, False) is not None:
            if self.has("--may-exist"):
                return
            raise CtlError(f"cannot create a chassis named {name} because a chassis named "
                           f"{name} already exists")
        encaps = []
        for encap_type in sorted({t for t in types.split(",") if t}):
            encap = ctx.insert("Encap")
            ctx.write(encap, "type", encap_type)
            ctx.write(encap, "ip", ip)
            ctx.write(encap, "options", {"csum": "true"})
            ctx.write(encap, "chassis_name", name)
            encaps.append(encap.uuid)
        ch = ctx.insert("Chassis")
        ctx.write(ch, "name", name)
        ctx.write(ch, "encaps", tuple(sorted(encaps)))


class ChassisDel(Command):
    name = "chassis-del"
    min_args = max_args = 1
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        ch = find_chassis(ctx, self.args[0], not self.has("--if-exists"))
        if ch is None:
            return
        for priv in ctx.find("Chassis_Private", "name", self.args[0]):
            ctx.delete(priv)
        ctx.delete(ch)


class Show(Command):
    name = "show"

    def run(self, ctx: Context) -> None:
        out = self.output
        bound: dict[str, list[Row]] = {}
        for pb in ctx.rows("Port_Binding"):
            chassis = pb.raw("chassis")
            if chassis:
                bound.setdefault(chassis[0], []).append(pb)
        encap_cols = ctx.schema.tables["Encap"].columns
        for ch in ctx.rows("Chassis"):
            out.append(f"Chassis {atom_to_string('string', ch.raw('name'))}\n")
            hostname = ch.raw("hostname")
            if hostname:
                out.append(f"    hostname: {atom_to_string('string', hostname)}\n")
            for encap in ctx.refs(ch, "encaps"):
                out.append(f"    Encap {atom_to_string('string', encap.raw('type'))}\n")
                for col in ("ip", "options"):
                    value = encap.raw(col)
                    if value != encap_cols[col].default:
                        text = datum_to_string(encap_cols[col].type, value)
                        out.append(f"        {col}: {text}\n")
            for pb in bound.get(ch.uuid, ()):
                out.append(f"    Port_Binding {atom_to_string('string', pb.raw('logical_port'))}\n")


COMMANDS: list[type[Command]] = [ChassisAdd, ChassisDel, Show]
