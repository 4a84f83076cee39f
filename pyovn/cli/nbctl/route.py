"""Static routes: lr-route-add, lr-route-del, lr-route-list."""

from __future__ import annotations

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.nbctl.addr import normalize_addr, normalize_prefix, parse_cidr
from pyovn.cli.nbctl.common import lr_by_name_or_uuid, lrp_by_name_or_uuid
from pyovn.ovsdb.idl import Row


def _policy(cmd: Command) -> str | None:
    policy = cmd.opt("--policy")
    if policy is not None and policy not in ("src-ip", "dst-ip"):
        raise CtlError(f"bad policy: {policy}")
    return policy


def _route_policy(route: Row) -> str:
    p = route.raw("policy")
    return p[0] if p else "dst-ip"


def _nexthop_norm(nexthop: str) -> str | None:
    return "discard" if nexthop == "discard" else normalize_prefix(nexthop)


class LrRouteAdd(Command):
    name = "lr-route-add"
    min_args, max_args = 3, 4
    options = "--may-exist,--ecmp,--ecmp-symmetric-reply,--policy=,--route-table=,--bfd="
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        policy = _policy(self)
        route_table = self.opt("--route-table")
        v6 = False
        prefix = normalize_prefix(self.args[1], False)
        if prefix is None:
            prefix = normalize_prefix(self.args[1], True)
            v6 = True
        if prefix is None:
            raise CtlError(f"bad prefix argument: {self.args[1]}")
        discard = self.args[2] == "discard"
        nexthop = "discard" if discard else normalize_addr(self.args[2], v6)
        if nexthop is None:
            raise CtlError(f"bad {'IPv6' if v6 else 'IPv4'} nexthop argument: {self.args[2]}")
        symmetric = self.has("--ecmp-symmetric-reply")
        ecmp = self.has("--ecmp") or symmetric
        want_policy = policy or "dst-ip"
        rt = route_table or ""
        routes = ctx.refs(lr, "static_routes")
        if not ecmp:
            for route in routes:
                if (normalize_prefix(route.raw("ip_prefix")) != prefix
                        or _route_policy(route) != want_policy
                        or route.raw("route_table") != rt):
                    continue
                if not self.has("--may-exist"):
                    raise CtlError(f"duplicate prefix: {prefix} (policy: {want_policy}). Use "
                                   "option --ecmp to allow this for ECMP routing.")
                ctx.verify(lr, "static_routes")
                ctx.write(route, "ip_prefix", prefix)
                ctx.write(route, "nexthop", nexthop)
                if len(self.args) == 4:
                    ctx.write(route, "output_port", (self.args[3],))
                if policy:
                    ctx.write(route, "policy", (policy,))
                return
        else:
            for route in routes:
                if (normalize_prefix(route.raw("ip_prefix")) == prefix
                        and _nexthop_norm(route.raw("nexthop")) == nexthop
                        and _route_policy(route) == want_policy
                        and route.raw("route_table") == rt):
                    raise CtlError("duplicate nexthop for the same ECMP route")
        if len(self.args) == 4:
            lrp_by_name_or_uuid(ctx, self.args[3], True)
        route = ctx.insert("Logical_Router_Static_Route")
        ctx.write(route, "ip_prefix", prefix)
        ctx.write(route, "nexthop", nexthop)
        if len(self.args) == 4:
            ctx.write(route, "output_port", (self.args[3],))
        if policy:
            ctx.write(route, "policy", (policy,))
        if symmetric:
            ctx.write(route, "options", {"ecmp_symmetric_reply": "true"})
        if route_table:
            ctx.write(route, "route_table", route_table)
        ctx.add_values(lr, "static_routes", [route])


class LrRouteDel(Command):
    name = "lr-route-del"
    min_args, max_args = 1, 4
    options = "--if-exists,--policy=,--route-table="
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        policy = _policy(self)
        route_table = self.opt("--route-table")
        if len(self.args) == 1 and policy is None:
            # As ovn-nbctl 23.03: without a prefix, every route goes, whatever --route-table.
            ctx.write(lr, "static_routes", ())
            return
        prefix = nexthop = port = None
        if len(self.args) >= 2:
            prefix = normalize_prefix(self.args[1])
            if prefix is None:
                raise CtlError(f"bad prefix argument: {self.args[1]}")
        if len(self.args) >= 3:
            nexthop = _nexthop_norm(self.args[2])
            if nexthop is None:
                raise CtlError(f"bad nexthop argument: {self.args[2]}")
        if len(self.args) == 4:
            port = self.args[3]
        removed = []
        for route in ctx.refs(lr, "static_routes"):
            if route_table is not None and route.raw("route_table") != route_table:
                continue
            if policy is not None and (policy == "src-ip") != (_route_policy(route) == "src-ip"):
                continue
            if prefix is not None and normalize_prefix(route.raw("ip_prefix")) != prefix:
                continue
            if nexthop is not None and _nexthop_norm(route.raw("nexthop")) != nexthop:
                continue
            if port is not None and route.raw("output_port") != (port,):
                continue
            removed.append(route)
        if removed:
            ctx.remove_values(lr, "static_routes", removed)
        elif not self.has("--if-exists"):
            raise CtlError(f"no matching route: policy '{policy or 'any'}', prefix '{prefix}', "
                           f"nexthop '{nexthop or 'any'}', output_port '{port or 'any'}'.")


def _route_line(route: Row, ecmp: bool) -> str:
    prefix = normalize_prefix(route.raw("ip_prefix")) or ""
    nh = route.raw("nexthop")
    nexthop = "discard" if nh == "discard" else (normalize_prefix(nh) or "") if nh else ""
    line = f"{prefix:>25} {nexthop:>25} {_route_policy(route)}"
    port = route.raw("output_port")
    if port:
        line += f" {port[0]}"
    if route.raw("external_ids").get("ic-learned-route"):
        line += " (learned)"
    if route.raw("bfd"):
        line += " bfd"
    if ecmp:
        line += " ecmp"
    if route.raw("options").get("ecmp_symmetric_reply") == "true":
        line += " ecmp-symmetric-reply"
    return line


def _sort_key(route: Row, v6: bool) -> tuple[tuple[int, int], tuple[str, ...]]:
    parsed = parse_cidr(route.raw("ip_prefix"), v6)
    assert parsed is not None
    addr, plen = parsed
    bits = 128 if v6 else 32
    net = int(addr) & (((1 << plen) - 1) << (bits - plen)) if plen else 0
    prio = 2 * plen + (0 if _route_policy(route) == "src-ip" else 1)
    port = route.raw("output_port")
    return (-prio, net), (route.raw("nexthop"), "1" + port[0] if port else "0")


class LrRouteList(Command):
    name = "lr-route-list"
    min_args = max_args = 1
    options = "--route-table="

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        route_table = self.opt("--route-table")
        families: dict[bool, dict[str, list[Row]]] = {False: {}, True: {}}
        for route in ctx.refs(lr, "static_routes"):
            if route_table is not None and route.raw("route_table") != route_table:
                continue
            prefix = route.raw("ip_prefix")
            v6 = parse_cidr(prefix, False) is None
            if v6 and parse_cidr(prefix, True) is None:
                continue
            families[v6].setdefault(route.raw("route_table"), []).append(route)
        first_family = True
        for v6 in (False, True):
            tables = families[v6]
            if not tables:
                continue
            if not first_family:
                self.output.append("\n")
            first_family = False
            self.print("IPv6 Routes" if v6 else "IPv4 Routes")
            for n, name in enumerate(sorted(tables, key=lambda t: (t != "", t))):
                if n:
                    self.output.append("\n")
                self.print(f"Route Table {name or '<main>'}:")
                routes = sorted(tables[name], key=lambda r: _sort_key(r, v6))
                keys = [_sort_key(r, v6)[0] for r in routes]
                for i, route in enumerate(routes):
                    ecmp = ((i + 1 < len(routes) and keys[i] == keys[i + 1])
                            or (i > 0 and keys[i] == keys[i - 1]))
                    self.print(_route_line(route, ecmp))


COMMANDS: list[type[Command]] = [LrRouteAdd, LrRouteDel, LrRouteList]
