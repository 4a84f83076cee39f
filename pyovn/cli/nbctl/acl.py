"""ACLs on logical switches and port groups: acl-add, acl-del, acl-list."""

from __future__ import annotations

import re

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.nbctl.common import by_name_or_uuid, ls_by_name_or_uuid
from pyovn.ovsdb.idl import Row

ACTIONS = ("allow", "allow-related", "allow-stateless", "drop", "reject")
SEVERITIES = ("alert", "warning", "notice", "info", "debug")
_INT = re.compile(r"\s*[-+]?\d+")


def pg_by_name_or_uuid(ctx: Context, ident: str, must_exist: bool) -> Row | None:
    return by_name_or_uuid(ctx, "Port_Group", ident, must_exist, "port group",
                           "Multiple port groups named '{}'.  Use a UUID.")


def acl_owner(cmd: Command, ctx: Context) -> Row:
    """The switch or port group an ACL command names (acl_cmd_get_pg_or_ls)."""
    ident = cmd.args[0]
    kind = cmd.opt("--type")
    if kind is None:
        pg = pg_by_name_or_uuid(ctx, ident, False)
        ls = ls_by_name_or_uuid(ctx, ident, False)
        if pg is not None and ls is not None:
            raise CtlError(f"Same name '{ident}' exists in both port-groups and logical "
                           "switches. Specify --type=port-group or switch, or use a UUID.")
        if pg is None and ls is None:
            raise CtlError(f"'{ident}' is not found for port-group or switch.")
        owner = pg or ls
    elif kind == "port-group":
        owner = pg_by_name_or_uuid(ctx, ident, True)
    elif kind == "switch":
        owner = ls_by_name_or_uuid(ctx, ident, True)
    else:
        raise CtlError(f"Invalid value '{kind}' for option --type")
    assert owner is not None
    return owner


def parse_direction(arg: str) -> str:
    if arg.startswith("t"):
        return "to-lport"
    if arg.startswith("f"):
        return "from-lport"
    raise CtlError(f'{arg}: direction must be "to-lport" or "from-lport"')


def parse_priority(arg: str) -> int:
    m = _INT.match(arg)
    if m is None or not 0 <= int(m.group()) <= 32767:
        raise CtlError(f"{arg}: priority must in range 0...32767")
    return int(m.group())


def acl_key(acl: Row) -> tuple[int, int, bytes]:
    """acl_cmp: from-lport first, then priority descending, then match."""
    return (0 if acl.raw("direction") == "from-lport" else 1, -acl.raw("priority"),
            acl.raw("match").encode())


class AclAdd(Command):
    name = "acl-add"
    min_args = max_args = 5
    options = ("--log,--may-exist,--type=,--name=,--severity=,--meter=,--label=,"
               "--apply-after-lb")
    mode = "RW"

    def run(self, ctx: Context) -> None:
        owner = acl_owner(self, ctx)
        direction = parse_direction(self.args[1])
        priority = parse_priority(self.args[2])
        match, action = self.args[3], self.args[4]
        if action not in ACTIONS:
            raise CtlError(f'{action}: action must be one of "allow", "allow-related", '
                           '"allow-stateless", "drop", and "reject"')
        acl = ctx.insert("ACL")
        ctx.write(acl, "priority", priority)
        ctx.write(acl, "direction", direction)
        ctx.write(acl, "match", match)
        ctx.write(acl, "action", action)
        severity, name, meter = self.opt("--severity"), self.opt("--name"), self.opt("--meter")
        if self.has("--log") or severity or name or meter:
            ctx.write(acl, "log", True)
        if severity:
            if severity not in SEVERITIES:
                raise CtlError(f"bad severity: {severity}")
            ctx.write(acl, "severity", (severity,))
        if name:
            ctx.write(acl, "name", (name,))
        if meter:
            ctx.write(acl, "meter", (meter,))
        label = self.opt("--label")
        if label is not None:
            if action not in ("allow", "allow-related"):
                raise CtlError('label can only be set with actions "allow" or "allow-related"')
            m = _INT.match(label)
            if m is None or not 0 <= int(m.group()) <= 4294967295:
                raise CtlError(f"{label}: label must in range 0...4294967295")
            ctx.write(acl, "label", int(m.group()))
        if self.has("--apply-after-lb"):
            ctx.write(acl, "options", {"apply-after-lb": "true"})
        key = acl_key(acl)
        for other in ctx.refs(owner, "acls"):
            if acl_key(other) == key:
                ctx.delete(acl)
                if self.has("--may-exist"):
                    return
                raise CtlError(f"Same ACL already existed on the ls {self.args[0]}.")
        ctx.add_values(owner, "acls", [acl])


class AclDel(Command):
    name = "acl-del"
    min_args, max_args = 1, 4
    options = "--type="
    mode = "RW"

    def run(self, ctx: Context) -> None:
        owner = acl_owner(self, ctx)
        if len(self.args) == 1:
            ctx.write(owner, "acls", ())
            return
        direction = parse_direction(self.args[1])
        acls = ctx.refs(owner, "acls")
        if len(self.args) == 2:
            ctx.remove_values(owner, "acls",
                              [a for a in acls if a.raw("direction") == direction])
            return
        priority = parse_priority(self.args[2])
        if len(self.args) == 3:
            raise CtlError("cannot specify priority without match")
        for acl in acls:
            if (acl.raw("priority") == priority and acl.raw("match") == self.args[3]
                    and acl.raw("direction") == direction):
                ctx.remove_values(owner, "acls", [acl])
                return


class AclList(Command):
    name = "acl-list"
    min_args = max_args = 1
    options = "--type="

    def run(self, ctx: Context) -> None:
        owner = acl_owner(self, ctx)
        for acl in sorted(ctx.refs(owner, "acls"), key=acl_key):
            line = (f"{acl.raw('direction'):>10} {acl.raw('priority'):5d} ({acl.raw('match')}) "
                    f"{acl.raw('action')}")
            if acl.raw("log"):
                parts = []
                for col, fmt in (("name", "name={}"), ("severity", "severity={}"),
                                 ("meter", 'meter="{}"')):
                    v = acl.raw(col)
                    if v:
                        parts.append(fmt.format(v[0]))
                line += " log(" + ",".join(parts) + ")"
            if acl.raw("label"):
                line += f" label={acl.raw('label')}"
            if acl.raw("options").get("apply-after-lb") == "true":
                line += " [after-lb]"
            self.print(line)


COMMANDS: list[type[Command]] = [AclAdd, AclDel, AclList]
