"""Load balancers: lb-add/del/list, ls-lb-add/del/list, lr-lb-add/del/list."""

from __future__ import annotations

import ipaddress

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.runner import log_warn
from pyovn.cli.nbctl.addr import parse_host_port
from pyovn.cli.nbctl.common import by_name_or_uuid, lr_by_name_or_uuid, ls_by_name_or_uuid
from pyovn.ovsdb.idl import Row


def lb_by_name_or_uuid(ctx: Context, ident: str, must_exist: bool) -> Row | None:
    return by_name_or_uuid(ctx, "Load_Balancer", ident, must_exist, "load balancer",
                           "Multiple load balancers named '{}'.  Use a UUID.")


def _host_text(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    if addr.version == 6:
        return f"[{addr}]:{port}" if port else str(addr)
    return f"{addr}:{port}" if port else str(addr)


class LbAdd(Command):
    name = "lb-add"
    min_args, max_args = 3, 4
    options = "--may-exist,--add-duplicate,--reject,--event"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        name, vip_text, ips_text = self.args[0], self.args[1], self.args[2]
        may_exist, add_duplicate = self.has("--may-exist"), self.has("--add-duplicate")
        if may_exist and add_duplicate:
            raise CtlError("--may-exist and --add-duplicate may not be used together")
        update_proto = len(self.args) == 4
        proto = self.args[3] if update_proto else "tcp"
        if proto not in ("tcp", "udp", "sctp"):
            raise CtlError(f'{proto}: protocol must be one of "tcp", "udp",  or "sctp".')
        vip = parse_host_port(vip_text, False)
        if vip is None:
            host = vip_text.rsplit(":", 1)[0] if vip_text.count(":") == 1 else vip_text
            log_warn(f'socket_util|ERR|{vip_text}: bad IP address "{host}"')
            raise CtlError(f"{vip_text}: should be an IP address (or an IP address and a port "
                           "number with : as a separator).")
        vaddr, vport = vip
        vip_norm = _host_text(vaddr, vport)
        backends = []
        for token in [t for t in ips_text.split(",") if t]:
            if vport:
                dst = parse_host_port(token, True)
                if dst is None:
                    raise CtlError(f"{token}: should be an IP address and a port number with "
                                   ": as a separator.")
            else:
                dst = parse_host_port(token, False)
                if dst is None or dst[1] or token.startswith("["):
                    raise CtlError(f"{token}: should be an IP address.")
            if dst[0].version != vaddr.version:
                raise CtlError(f"{token}: IP address family is different from VIP {vip_norm}.")
            backends.append(token)
        ips = ",".join(backends)
        if not add_duplicate:
            lb = lb_by_name_or_uuid(ctx, name, False)
            if lb is not None:
                vips = dict(lb.raw("vips"))
                if vip_norm in vips and not may_exist:
                    raise CtlError(f"{name}: a load balancer with this vip ({vip_norm}) "
                                   "already exists")
                vips[vip_norm] = ips
                if update_proto:
                    ctx.write(lb, "protocol", (proto,))
                ctx.write(lb, "vips", vips)
                return
        lb = ctx.insert("Load_Balancer")
        ctx.write(lb, "name", name)
        ctx.write(lb, "protocol", (proto,))
        ctx.write(lb, "vips", {vip_norm: ips})
        if self.has("--reject"):
            ctx.write(lb, "options", {"reject": "true"})
        if self.has("--event"):
            ctx.write(lb, "options", {**lb.raw("options"), "event": "true"})


class LbDel(Command):
    name = "lb-del"
    min_args, max_args = 1, 2
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lb = lb_by_name_or_uuid(ctx, self.args[0], False)
        if lb is None:
            return
        if len(self.args) == 2:
            vip = self.args[1]
            vips = dict(lb.raw("vips"))
            if vip in vips:
                del vips[vip]
                if not vips:
                    ctx.delete(lb)
                else:
                    ctx.write(lb, "vips", vips)
                return
            if not self.has("--if-exists"):
                raise CtlError(f"vip {vip} is not part of the load balancer.")
            return
        ctx.delete(lb)


def print_lbs(cmd: Command, lbs: list[Row]) -> None:
    width = 0
    for lb in lbs:
        for key in lb.raw("vips"):
            width = max(width, len(key))
    entries: list[tuple[bytes, str]] = []
    for lb in lbs:
        vips = lb.raw("vips")
        lines: list[str] = []
        for key in sorted(vips, key=lambda k: k.encode()):
            parsed = parse_host_port(key, False)
            if parsed is None:
                continue
            proto = ""
            if parsed[1]:
                p = lb.raw("protocol")
                proto = p[0] if p else "tcp"
            if not lines:
                lines.append(f"{lb.uuid:<40}{lb.raw('name'):<20}{proto:<11}"
                             f"{key:<{width + 4}}{vips[key]}")
            else:
                lines.append(f"{'':60}{proto:<11}{key:<{width + 4}}{vips[key]}")
        if lines:
            entries.append((f"{lb.raw('name'):<20}{lb.uuid}".encode(), "\n".join(lines)))
    if entries:
        cmd.print(f"{'UUID':<40}{'LB':<20}{'PROTO':<11}{'VIP':<{width + 4}}IPs")
        for _, text in sorted(entries, key=lambda e: e[0]):
            cmd.print(text)


class LbList(Command):
    name = "lb-list"
    max_args = 1

    def run(self, ctx: Context) -> None:
        want = self.args[0] if self.args else None
        lbs = [lb for lb in ctx.rows("Load_Balancer")
               if want is None or want in (lb.raw("name"), lb.uuid)]
        print_lbs(self, lbs)


class _AddLb(Command):
    min_args = max_args = 2
    options = "--may-exist"
    mode = "RW"
    what = "switch"

    def owner(self, ctx: Context, ident: str) -> Row:
        row = (ls_by_name_or_uuid if self.what == "switch" else lr_by_name_or_uuid)(ctx, ident)
        assert row is not None
        return row

    def run(self, ctx: Context) -> None:
        owner = self.owner(ctx, self.args[0])
        lb = lb_by_name_or_uuid(ctx, self.args[1], True)
        assert lb is not None
        if lb.uuid in owner.raw("load_balancer"):
            if self.has("--may-exist"):
                return
            raise CtlError(f"{lb.uuid} : a load balancer with this UUID already exists")
        ctx.add_values(owner, "load_balancer", [lb])


class _DelLb(_AddLb):
    min_args, max_args = 1, 2
    options = "--if-exists"

    def run(self, ctx: Context) -> None:
        owner = self.owner(ctx, self.args[0])
        if len(self.args) == 1:
            ctx.write(owner, "load_balancer", ())
            return
        lb = lb_by_name_or_uuid(ctx, self.args[1], True)
        assert lb is not None
        if lb.uuid in owner.raw("load_balancer"):
            ctx.remove_values(owner, "load_balancer", [lb])
            return
        if not self.has("--if-exists"):
            kind = "logical switch" if self.what == "switch" else "logical router"
            raise CtlError(f"load balancer {lb.raw('name')} is not part of any {kind}.")


class _ListLb(_AddLb):
    min_args = max_args = 1
    options = ""
    mode = "RO"

    def run(self, ctx: Context) -> None:
        owner = self.owner(ctx, self.args[0])
        print_lbs(self, ctx.refs(owner, "load_balancer"))


class LsLbAdd(_AddLb):
    name = "ls-lb-add"


class LsLbDel(_DelLb):
    name = "ls-lb-del"


class LsLbList(_ListLb):
    name = "ls-lb-list"


class LrLbAdd(_AddLb):
    name = "lr-lb-add"
    what = "router"


class LrLbDel(_DelLb):
    name = "lr-lb-del"
    what = "router"


class LrLbList(_ListLb):
    name = "lr-lb-list"
    what = "router"


COMMANDS: list[type[Command]] = [LbAdd, LbDel, LbList, LsLbAdd, LsLbDel, LsLbList, LrLbAdd,
                                 LrLbDel, LrLbList]
