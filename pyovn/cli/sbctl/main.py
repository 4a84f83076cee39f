"""`pyovn sbctl`: binds the sbctl commands to the shared ctl machinery."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyovn.cli.ctl.context import Context, RowId
from pyovn.cli.ctl.options import GlobalOptions

if TYPE_CHECKING:
    from pyovn.cli.ctl.runner import Tool

__all__ = ["main"]

ROW_IDS: dict[str, list[RowId]] = {
    "SB_Global": [RowId("SB_Global", "")],
    "Chassis": [RowId("Chassis", "name")],
    "Chassis_Private": [RowId("Chassis_Private", "name")],
    "Encap": [RowId("Encap", "chassis_name")],
    "Datapath_Binding": [RowId("Datapath_Binding", "external_ids", "name")],
    "Port_Binding": [RowId("Port_Binding", "logical_port")],
    "MAC_Binding": [RowId("MAC_Binding", "logical_port")],
    "Multicast_Group": [RowId("Multicast_Group", "name")],
    "Address_Set": [RowId("Address_Set", "name")],
    "Port_Group": [RowId("Port_Group", "name")],
    "Connection": [RowId("Connection", "target")],
    "Meter": [RowId("Meter", "name")],
    "HA_Chassis_Group": [RowId("HA_Chassis_Group", "name")],
    "HA_Chassis": [RowId("HA_Chassis", "chassis")],
}

USAGE = """\
ovn-sbctl: OVN southbound DB management utility (pyovn)
usage: ovn-sbctl [OPTIONS] COMMAND [ARG...]

General commands:
  show                        print overview of database contents
Chassis commands:
  chassis-add CHASSIS ENCAP-TYPE ENCAP-IP, chassis-del CHASSIS
Logical flow commands:
  lflow-list [DATAPATH] [LFLOW...]   (alias dump-flows)
Database commands:
  list, find, get, set, add, remove, clear, create, destroy, wait-until

Options:
  --db=DATABASE  (default: $OVN_SB_DB or unix:$OVN_RUNDIR/ovnsb_db.sock)
  -t/--timeout=SECS, --dry-run, --oneline, --format, --data, --no-headings, --bare
"""


def pre_execute(ctx: Context, g: GlobalOptions) -> None:
    """As ovn-sbctl, every run makes sure SB_Global exists."""
    rows = list(ctx.rows("SB_Global"))
    ctx.cache["sb_global"] = rows[0] if rows else ctx.insert("SB_Global")


def make_tool() -> Tool:
    from pyovn.cli.ctl.command import CommandSet
    from pyovn.cli.ctl.dbcmds import DB_COMMANDS
    from pyovn.cli.ctl.runner import Tool
    from pyovn.cli.sbctl import chassis, lflow

    return Tool(program="ovn-sbctl", schema="OVN_Southbound", env_var="OVN_SB_DB",
                default_socket="ovnsb_db.sock",
                commands=CommandSet(DB_COMMANDS, chassis.COMMANDS, lflow.COMMANDS),
                row_ids=ROW_IDS, usage=USAGE, pre_execute=pre_execute)


def main(argv: Sequence[str] | None = None) -> int:
    from pyovn.cli.ctl.runner import run_tool

    return run_tool(make_tool(), sys.argv[1:] if argv is None else argv)
