"""Running a tool's command line: one batch of commands, one transaction (ovn-dbctl.c).

Every command of the batch runs against the replica inside one transaction; the batch
commits once.  "try again" (a verify failed because another client changed something first,
or a wait-until condition is not met yet) reruns the whole batch once the replica has
changed, so each command sees the current database.  Output is printed only after the
commit succeeded, errors as "PROGRAM: message" with exit status 1.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyovn.cli.ctl.command import Command, CommandSet
from pyovn.cli.ctl.context import Context, RowId
from pyovn.cli.ctl.errors import CtlError, TryAgain
from pyovn.cli.ctl.options import GlobalOptions, parse_command_line

if TYPE_CHECKING:
    from pyovn.ovsdb.idl import BlockingIdl, Transaction

__all__ = ["Tool", "run_tool"]


@dataclass
class Tool:
    program: str  # the name errors are printed with, as the C tool's
    schema: str  # pyovn.schemas name
    env_var: str
    default_socket: str  # file name in $OVN_RUNDIR
    commands: CommandSet
    row_ids: dict[str, list[RowId]] = field(default_factory=dict)
    usage: str = ""
    # Called at the start of every try, before the commands (nbctl: NB_Global, nb_cfg).
    pre_execute: Callable[[Context, GlobalOptions], None] | None = None
    # Called after a successful commit (nbctl: --wait=sb/hv); may raise CtlError.
    post_execute: Callable[[BlockingIdl, Transaction, GlobalOptions], None] | None = None


_log_seq = 1


def log_warn(text: str) -> None:
    """A warning in vlog's console format (module|WARN|message)."""
    global _log_seq
    _log_seq += 1
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stderr.write(f"{stamp}|{_log_seq:05d}|{text}\n")


def _default_db(tool: Tool) -> str:
    rundir = os.environ.get("OVN_RUNDIR", "/var/run/ovn")
    return f"unix:{rundir}/{tool.default_socket}"


def _check_reachable(remote: str) -> None:
    """Fails at once, as ovn-nbctl does, when no server listens on a unix socket."""
    for r in remote.split(","):
        if not r.startswith("unix:"):
            return
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(r[5:])
                return
            except OSError as error:
                last = f"{remote}: database connection failed ({os.strerror(error.errno or 0)})"
    raise CtlError(last)


def _on_alarm(signum: int, frame: Any) -> None:
    log_warn(f"fatal_signal|WARN|terminating with signal {signum} (Alarm clock)")
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGALRM)


def run_tool(tool: Tool, argv: Sequence[str]) -> int:
    try:
        return _run(tool, list(argv))
    except CtlError as error:
        sys.stdout.flush()
        sys.stderr.write(f"{tool.program}: {error.message}\n")
        return 1
    except BrokenPipeError:
        return 1


def _run(tool: Tool, argv: list[str]) -> int:
    g, commands = parse_command_line(argv, tool.commands)
    if g.help:
        sys.stdout.write(tool.usage)
        return 0
    if g.version:
        from pyovn import __version__

        print(f"{tool.program} (pyovn) {__version__}")
        return 0
    from pyovn.cli.ctl.output import Style

    style = Style(format="list")
    for name in g.style_order:
        if name == "format":
            style.set_format(g.format or "")
        elif name == "data":
            style.set_data(g.data or "")
        elif name == "no-headings":
            style.headings = False
        elif name == "bare":
            style.set_bare()
    remote = g.db or os.environ.get(tool.env_var) or _default_db(tool)
    if g.timeout:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(max(1, int(g.timeout)))
    _check_reachable(remote)

    from pyovn.ovsdb.idl import BlockingIdl, SchemaHelper
    from pyovn.schemas import load_schema

    helper = SchemaHelper(load_schema(tool.schema))
    helper.register_all()
    try:
        idl = BlockingIdl(remote, helper, timeout=g.timeout or 1e9, backoff_min=0.1,
                          backoff_max=1.0)
    except TimeoutError:
        raise CtlError(f"{remote}: database connection failed (timed out)") from None
    try:
        return _batch(tool, g, style, idl, commands, argv)
    finally:
        idl.close()


def _batch(tool: Tool, g: GlobalOptions, style: Any, idl: BlockingIdl,
           commands: list[Command], argv: list[str]) -> int:
    from pyovn.cli.ctl.output import TablePrinter
    from pyovn.ovsdb.idl import TxnStatus

    while True:
        seqno = idl.change_seqno
        txn = CtlTransaction(idl.replica)
        ctx = Context(idl.replica.schema, idl.replica.tables, txn, tool.row_ids, tool.program)
        txn.add_comment(f"{tool.program}: " + " ".join(argv))
        try:
            if tool.pre_execute is not None:
                tool.pre_execute(ctx, g)
            for cmd in commands:
                cmd.output = []
                cmd.table = None
                cmd.run(ctx)
            _check_symbols(ctx)
        except TryAgain:
            txn.abort()
            idl.wait_for_change(seqno)
            continue
        except BaseException:
            txn.abort()
            raise
        for w in ctx.warnings:
            log_warn(w)
        if g.dry_run:
            txn.abort()
            status = TxnStatus.UNCHANGED
        else:
            status = idl.commit_block(txn)
        if status is TxnStatus.TRY_AGAIN:
            idl.wait_for_change(seqno, 1.0)
            continue
        if status is TxnStatus.ERROR:
            if txn.error_json is not None:
                if '"error":"not allowed"' not in txn.error_json:
                    log_warn(f"ovsdb_idl|WARN|transaction error: {txn.error_json}")
                raise CtlError(f"transaction error: {txn.error_json}")
            raise CtlError(f"transaction error: {txn.error}")
        if status is TxnStatus.NOT_LOCKED:
            raise CtlError("database not locked")
        if status is TxnStatus.ABORTED and not g.dry_run:
            raise CtlError("transaction aborted")
        for cmd in commands:
            cmd.post(ctx)
        if tool.post_execute is not None and status is TxnStatus.SUCCESS:
            tool.post_execute(idl, txn, g)
        printer = TablePrinter(style)
        out = sys.stdout
        for cmd in commands:
            text = printer.render(cmd.table) if cmd.table is not None else "".join(cmd.output)
            if g.oneline:
                if text.endswith("\n"):
                    text = text[:-1]
                out.write(text.replace("\\", "\\\\").replace("\n", "\\n") + "\n")
            else:
                out.write(text)
        out.flush()
        return 0


def _check_symbols(ctx: Context) -> None:
    for sym in ctx.symtab.symbols.values():
        if not sym.created:
            raise CtlError(f'row id "{sym.name}" is referenced but never created '
                           f'(e.g. with "-- --id={sym.name} create ...")')
        if not sym.strong_ref:
            ctx.warnings.append(
                f'db_ctl_base|WARN|row id "{sym.name}" was created but no reference to it '
                "was inserted, so it will not actually appear in the database")


def _transaction_class() -> Any:
    from pyovn.ovsdb.error import json_text
    from pyovn.ovsdb.idl import Transaction

    class _CtlTransaction(Transaction):
        """Keeps the first failing operation's error object, which the C IDL reports
        whole ("transaction error: {json}")."""

        error_json: str | None = None

        def process_reply(self, results: Any) -> Any:
            if isinstance(results, list):
                for result in results:
                    if (isinstance(result, dict) and "error" in result
                            and result["error"] not in ("timed out", "not owner", "aborted")):
                        self.error_json = json_text(result)
                        break
            return super().process_reply(results)

    return _CtlTransaction


def CtlTransaction(replica: Any) -> Any:
    global _TXN_CLASS
    if _TXN_CLASS is None:
        _TXN_CLASS = _transaction_class()
    return _TXN_CLASS(replica)


_TXN_CLASS: Any = None
