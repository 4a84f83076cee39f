"""`lflow-list [DATAPATH] [LFLOW...]`: logical flows in ovn-sbctl's format and order."""

from __future__ import annotations

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.values import is_uuid
from pyovn.ovsdb.idl import Row


def _dp_name(dp: Row) -> str:
    ids = dp.raw("external_ids")
    name, name2 = ids.get("name"), ids.get("name2")
    if name and name2:
        return f'"{name}" aka "{name2}"'
    if name or name2:
        return f'"{name or name2}"'
    return ""


def _find_datapath(ctx: Context, ident: str) -> Row | None:
    if is_uuid(ident):
        row = ctx.row("Datapath_Binding", ident.lower())
        if row is not None:
            return row
    for dp in ctx.rows("Datapath_Binding"):
        ids = dp.raw("external_ids")
        if ident in (ids.get("name"), ids.get("name2")):
            return dp
    return None


def _is_uuid_prefix(s: str) -> bool:
    return bool(s) and all(c in "0123456789abcdefABCDEF-" for c in s)


class LflowList(Command):
    name = "lflow-list"
    max_args = UNLIMITED
    options = "--uuid,--ovs=,--stats,--vflows"

    def run(self, ctx: Context) -> None:
        args = list(self.args)
        datapath = None
        if args:
            datapath = _find_datapath(ctx, args[0])
            if datapath is not None:
                args.pop(0)
        for a in args:
            if not _is_uuid_prefix(a.removeprefix("0x")):
                raise CtlError(f"{a} is not a UUID or the beginning of a UUID")
        pairs: list[tuple[Row, Row]] = []
        for flow in ctx.rows("Logical_Flow"):
            if args and not any(flow.uuid.startswith(a.lower().removeprefix("0x"))
                                for a in args):
                continue
            dps = ctx.refs(flow, "logical_datapath")
            if not dps:
                group = ctx.ref(flow, "logical_dp_group")
                if group is not None:
                    dps = ctx.refs(group, "datapaths")
            for dp in dps:
                if datapath is None or dp.uuid == datapath.uuid:
                    pairs.append((dp, flow))

        def key(pair: tuple[Row, Row]) -> tuple[object, ...]:
            dp, f = pair
            return (dp.raw("external_ids").get("name", "").encode(), dp.uuid,
                    0 if f.raw("pipeline") == "ingress" else 1, f.raw("table_id"),
                    -f.raw("priority"), f.raw("match").encode(), f.raw("actions").encode())

        prev: tuple[str, str] | None = None
        show_uuid = self.has("--uuid")
        for dp, f in sorted(pairs, key=key):
            if prev != (dp.uuid, f.raw("pipeline")):
                prev = (dp.uuid, f.raw("pipeline"))
                self.print(f"Datapath: {_dp_name(dp)} ({dp.uuid})  Pipeline: {f.raw('pipeline')}")
            stage = f.raw("external_ids").get("stage-name", "")
            line = "  "
            if show_uuid:
                line += f"uuid=0x{f.uuid[:8]}, "
            line += (f"table={f.raw('table_id'):<2}({stage:<19}), priority={f.raw('priority'):<5}"
                     f", match=({f.raw('match')}), action=({f.raw('actions')})")
            self.print(line)


class LflowListAlias(LflowList):
    name = "dump-flows"


COMMANDS: list[type[Command]] = [LflowList, LflowListAlias]
