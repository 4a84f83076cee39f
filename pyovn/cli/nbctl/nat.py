"""NAT rules on routers: lr-nat-add, lr-nat-del, lr-nat-list."""

from __future__ import annotations

import re

from pyovn.cli.ctl.command import Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.nbctl.addr import is_mac, normalize_addr, normalize_prefix, parse_cidr
from pyovn.cli.nbctl.common import lr_by_name_or_uuid, lrp_by_name_or_uuid, lsp_by_name_or_uuid

NAT_TYPES = ("dnat", "snat", "dnat_and_snat")
_RANGE = re.compile(r"(\d+)(-(\d+))?\Z")


def _check_type(nat_type: str) -> None:
    if nat_type not in NAT_TYPES:
        raise CtlError(f'{nat_type}: type must be one of "dnat", "snat" and "dnat_and_snat".')


def _port_range(text: str) -> str:
    m = _RANGE.match(text)
    lo = int(m.group(1)) if m else 0
    hi = int(m.group(3)) if m and m.group(3) else lo
    if m is None or not 1 <= lo <= 65535 or not 1 <= hi <= 65535 or lo > hi:
        raise CtlError(f"invalid port range {text}.")
    return text


class LrNatAdd(Command):
    name = "lr-nat-add"
    min_args, max_args = 4, 7
    options = "--may-exist,--stateless,--portrange,--add-route,--gateway-port="
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        nat_type, external_ip, logical_ip = self.args[1], self.args[2], self.args[3]
        _check_type(nat_type)
        v6 = False
        new_external = normalize_addr(external_ip, False)
        if new_external is None:
            new_external = normalize_addr(external_ip, True)
            v6 = True
        if new_external is None:
            raise CtlError(f"{external_ip}: Not a valid IPv4 or IPv6 address.")
        fam = "IPv6" if v6 else "IPv4"
        if nat_type != "snat":
            new_logical = normalize_addr(logical_ip, v6)
            if new_logical is None:
                raise CtlError(f"{logical_ip}: Not a valid {fam} address.")
        else:
            if parse_cidr(logical_ip, v6) is None:
                raise CtlError(f"{logical_ip}: should be an {fam} address or network.")
            new_logical = normalize_prefix(logical_ip, v6)
            assert new_logical is not None
        portrange = self.has("--portrange")
        logical_port = external_mac = port_range = None
        n = len(self.args)
        if n == 5:
            if not portrange:
                raise CtlError("lr-nat-add with logical_port must also specify external_mac.")
            port_range = _port_range(self.args[4])
        elif n >= 6:
            if nat_type != "dnat_and_snat":
                raise CtlError('logical_port and external_mac are only valid when type is '
                               '"dnat_and_snat".')
            if n == 6 and portrange:
                raise CtlError("lr-nat-add with logical_port must also specify external_mac.")
            logical_port = self.args[4]
            lsp_by_name_or_uuid(ctx, logical_port, True)
            external_mac = self.args[5]
            if not is_mac(external_mac):
                raise CtlError(f"invalid mac address {external_mac}.")
            if n == 7:
                port_range = _port_range(self.args[6])
        stateless = self.has("--stateless")
        if nat_type != "dnat_and_snat" and stateless:
            raise CtlError("stateless is not applicable to dnat or snat types")
        gw_port = self.opt("--gateway-port")
        gw_row = lrp_by_name_or_uuid(ctx, gw_port, True) if gw_port else None
        is_snat = nat_type == "snat"
        for nat in ctx.refs(lr, "nat"):
            old_ext = normalize_prefix(nat.raw("external_ip"))
            old_log = normalize_prefix(nat.raw("logical_ip"))
            if old_ext is None or old_log is None:
                continue
            same_key = (old_log if is_snat else old_ext) == (
                new_logical if is_snat else new_external)
            if nat.raw("type") == nat_type and same_key:
                if (new_external if is_snat else new_logical) == (
                        old_ext if is_snat else old_log):
                    if self.has("--may-exist"):
                        ctx.write(nat, "logical_port",
                                  (logical_port,) if logical_port else ())
                        ctx.write(nat, "external_mac",
                                  (external_mac,) if external_mac else ())
                        return
                    raise CtlError(f"{new_external}, {new_logical}: a NAT with this "
                                   "external_ip and logical_ip already exists")
                what = "logical_ip" if is_snat else "external_ip"
                raise CtlError(f"a NAT with this type ({nat_type}), {what} "
                               f"({new_logical if is_snat else new_external}) already exists")
            if ("dnat_and_snat" in (nat.raw("type"), nat_type) and old_ext == new_external
                    and (nat.raw("options").get("stateless") == "true" or stateless)):
                raise CtlError(f"{new_external}, {new_logical}: External ip cannot be "
                               "shared across stateless and stateful NATs")
        nat = ctx.insert("NAT")
        ctx.write(nat, "type", nat_type)
        ctx.write(nat, "external_ip", external_ip)
        ctx.write(nat, "logical_ip", new_logical)
        if logical_port and external_mac:
            ctx.write(nat, "logical_port", (logical_port,))
            ctx.write(nat, "external_mac", (external_mac,))
        if port_range:
            ctx.write(nat, "external_port_range", port_range)
        if gw_row is not None:
            ctx.write(nat, "gateway_port", (gw_row.uuid,))
        ctx.write(nat, "options", {"stateless": "true" if stateless else "false"})
        ctx.add_values(lr, "nat", [nat])


class LrNatDel(Command):
    name = "lr-nat-del"
    min_args, max_args = 1, 4
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        if len(self.args) == 1:
            ctx.write(lr, "nat", ())
            return
        nat_type = self.args[1]
        _check_type(nat_type)
        nats = ctx.refs(lr, "nat")
        if len(self.args) == 2:
            ctx.remove_values(lr, "nat", [n for n in nats if n.raw("type") == nat_type])
            return
        ip = normalize_prefix(self.args[2])
        if ip is None:
            raise CtlError(f"{self.args[2]}: Invalid IP address or CIDR")
        col = "logical_ip" if nat_type == "snat" else "external_ip"
        for nat in nats:
            if nat.raw("type") == nat_type and normalize_prefix(nat.raw(col)) == ip:
                ctx.remove_values(lr, "nat", [nat])
                return


class LrNatList(Command):
    name = "lr-nat-list"
    min_args = max_args = 1

    def run(self, ctx: Context) -> None:
        lr = lr_by_name_or_uuid(ctx, self.args[0])
        assert lr is not None
        lines: list[tuple[bytes, str]] = []
        for nat in ctx.refs(lr, "nat"):
            gw = ctx.ref(nat, "gateway_port")
            gw_name = gw.raw("name") if gw is not None else ""
            t = nat.raw("type")
            line = (f"{t[:13]:<17}{gw_name[:18]:<22}{nat.raw('external_ip')[:15]:<19}"
                    f"{nat.raw('external_port_range')[:13]:<17}")
            mac, port = nat.raw("external_mac"), nat.raw("logical_port")
            if mac and port:
                line += f"{nat.raw('logical_ip')[:18]:<20}{mac[0][:17]:<21}{port[0]}"
            else:
                line += nat.raw("logical_ip")
            key = f"{t[:13]:<17}{nat.raw('external_ip')}"
            lines.append((key.encode(), line))
        if lines:
            self.print(f"{'TYPE':<17}{'GATEWAY_PORT':<22}{'EXTERNAL_IP':<19}"
                       f"{'EXTERNAL_PORT':<17}{'LOGICAL_IP':<20}{'EXTERNAL_MAC':<21}LOGICAL_PORT")
            for _, line in sorted(lines, key=lambda x: x[0]):
                self.print(line)


COMMANDS: list[type[Command]] = [LrNatAdd, LrNatDel, LrNatList]
