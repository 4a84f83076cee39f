"""`pyovn nbctl`: binds the nbctl feature modules to the shared ctl machinery.

The NB-specific parts live here: record names for the database commands (ovn-nbctl's
ctl_table_class), NB_Global created on first use, and `--wait=sb|hv` through nb_cfg.
Feature modules are imported only here, when a command line is run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyovn.cli.ctl.context import Context, RowId
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.options import GlobalOptions

if TYPE_CHECKING:
    from pyovn.cli.ctl.runner import Tool
    from pyovn.ovsdb.idl import BlockingIdl, Transaction

__all__ = ["main"]

ROW_IDS: dict[str, list[RowId]] = {
    "DHCP_Options": [
        RowId("Logical_Switch_Port", "name", None, "dhcpv4_options"),
        RowId("Logical_Switch_Port", "external_ids", "neutron:port_name", "dhcpv4_options"),
        RowId("Logical_Switch_Port", "name", None, "dhcpv6_options"),
        RowId("Logical_Switch_Port", "external_ids", "neutron:port_name", "dhcpv6_options"),
    ],
    "Logical_Switch": [RowId("Logical_Switch", "name"),
                       RowId("Logical_Switch", "external_ids", "neutron:network_name")],
    "Logical_Switch_Port": [RowId("Logical_Switch_Port", "name"),
                            RowId("Logical_Switch_Port", "external_ids", "neutron:port_name")],
    "Logical_Router": [RowId("Logical_Router", "name"),
                       RowId("Logical_Router", "external_ids", "neutron:router_name")],
    "Logical_Router_Port": [RowId("Logical_Router_Port", "name")],
    "Address_Set": [RowId("Address_Set", "name")],
    "Port_Group": [RowId("Port_Group", "name")],
    "ACL": [RowId("ACL", "name")],
    "HA_Chassis_Group": [RowId("HA_Chassis_Group", "name")],
    "HA_Chassis": [RowId("HA_Chassis", "chassis_name")],
    "Meter": [RowId("Meter", "name")],
    "NAT": [RowId("NAT", "external_ip")],
    "Connection": [RowId("Connection", "target")],
    "Load_Balancer": [RowId("Load_Balancer", "name")],
    "Load_Balancer_Health_Check": [RowId("Load_Balancer_Health_Check", "vip")],
    "Load_Balancer_Group": [RowId("Load_Balancer_Group", "name")],
    "Forwarding_Group": [RowId("Forwarding_Group", "name")],
    "Mirror": [RowId("Mirror", "name")],
    "Copp": [RowId("Copp", "name")],
    "Gateway_Chassis": [RowId("Gateway_Chassis", "name")],
    "NB_Global": [RowId("NB_Global", "")],
}

USAGE = """\
ovn-nbctl: OVN northbound DB management utility (pyovn)
usage: ovn-nbctl [OPTIONS] COMMAND [ARG...]

General commands:
  init, show [SWITCH|ROUTER], sync
Logical switch commands:
  ls-add [SWITCH], ls-del SWITCH, ls-list
ACL commands:
  acl-add {SWITCH | PORTGROUP} DIRECTION PRIORITY MATCH ACTION, acl-del, acl-list
Logical switch port commands:
  lsp-add SWITCH PORT [PARENT TAG], lsp-del, lsp-list, lsp-set-addresses,
  lsp-set-port-security, lsp-get-up, lsp-set-enabled, lsp-set-type, lsp-set-options,
  lsp-set-dhcpv4-options, and the matching lsp-get-* commands
Port group commands:
  pg-add PG [PORTS], pg-set-ports PG PORTS, pg-del PG
Logical router commands:
  lr-add [ROUTER], lr-del, lr-list, lrp-add, lrp-del, lrp-list, lrp-set-enabled,
  lr-route-add/del/list, lr-nat-add/del/list
Load balancer commands:
  lb-add, lb-del, lb-list, ls-lb-add/del/list, lr-lb-add/del/list
DHCP options commands:
  dhcp-options-create, dhcp-options-del, dhcp-options-list, dhcp-options-set-options,
  dhcp-options-get-options
Connection commands:
  get-connection, set-connection, del-connection, set-ssl, get-ssl, del-ssl
Database commands:
  list, find, get, set, add, remove, clear, create, destroy, wait-until

Options:
  --db=DATABASE  (default: $OVN_NB_DB or unix:$OVN_RUNDIR/ovnnb_db.sock)
  --wait=none|sb|hv, --no-wait, -t/--timeout=SECS, --dry-run, --oneline
  --format=table|list|csv|json|bare, --data=string|bare|json, --no-headings, --bare
"""


def pre_execute(ctx: Context, g: GlobalOptions) -> None:
    """NB_Global exists after any ovn-nbctl run; --wait bumps nb_cfg in the same commit."""
    rows = list(ctx.rows("NB_Global"))
    nb = rows[0] if rows else ctx.insert("NB_Global")
    if g.wait != "none":
        ctx.txn.increment(nb, "nb_cfg")
    ctx.cache["nb_global"] = nb


def post_execute(idl: BlockingIdl, txn: Transaction, g: GlobalOptions) -> None:
    """Waits until northd (sb_cfg) or also every chassis (hv_cfg) caught up with nb_cfg."""
    if g.wait == "none":
        return
    next_cfg = txn.increment_new_value
    if next_cfg is None:
        return
    table = idl.tables["NB_Global"]

    def done() -> bool:
        for nb in table.rows.values():
            cur = nb.raw("sb_cfg")
            if g.wait == "hv":
                cur = min(cur, nb.raw("hv_cfg"))
            if cur >= next_cfg:
                return True
        return False

    try:
        idl.wait_until(done, timeout=g.timeout or 1e9)
    except TimeoutError:
        raise CtlError("timeout expired") from None


def make_tool() -> Tool:
    from pyovn.cli.ctl.command import CommandSet
    from pyovn.cli.ctl.dbcmds import DB_COMMANDS
    from pyovn.cli.ctl.runner import Tool
    from pyovn.cli.nbctl import (
        acl,
        connection,
        dhcp,
        lb,
        nat,
        port,
        port_group,
        route,
        router,
        show,
        switch,
    )

    commands = CommandSet(
        DB_COMMANDS, show.COMMANDS, switch.COMMANDS, port.COMMANDS, acl.COMMANDS,
        port_group.COMMANDS, router.COMMANDS, route.COMMANDS, nat.COMMANDS, lb.COMMANDS,
        dhcp.COMMANDS, connection.COMMANDS,
    )
    return Tool(program="ovn-nbctl", schema="OVN_Northbound", env_var="OVN_NB_DB",
                default_socket="ovnnb_db.sock", commands=commands, row_ids=ROW_IDS,
                usage=USAGE, pre_execute=pre_execute, post_execute=post_execute)


def main(argv: Sequence[str] | None = None) -> int:
    from pyovn.cli.ctl.runner import run_tool

    return run_tool(make_tool(), sys.argv[1:] if argv is None else argv)
