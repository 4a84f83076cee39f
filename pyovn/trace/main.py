"""`pyovn trace [OPTIONS] [DATAPATH] MICROFLOW`: ovn-trace(8) in Python.

Command-line compatible with ovn-trace for one-shot traces.  As with ovn-trace, a problem
with the trace itself (unknown datapath or port, a microflow that does not parse or is
ambiguous) is the trace's output, on stdout, with exit status 0; bad options and an
unreachable database are fatal (exit status 1).  Daemon mode and --ovs are refused.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from pyovn.trace.microflow import datapath_from_inport, parse_microflow
from pyovn.trace.packet import CS_TRACKED, CT_STATE_NAMES, flow_format
from pyovn.trace.sb import SB, TraceError, fetch_sb, load_sb
from pyovn.trace.tree import TNode, minimal, print_details, summary
from pyovn.trace.walker import Tracer

PROG = "pyovn trace"
_REFUSED = ("ovs", "detach", "pidfile", "overwrite-pidfile", "monitor", "no-chdir",
            "unixctl", "no-self-confinement")


class Fatal(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Fatal(message)


def default_db() -> str:
    env = os.environ.get("OVN_SB_DB")
    if env:
        return env
    rundir = os.environ.get("OVN_RUNDIR", "/var/run/ovn")
    return f"unix:{rundir}/ovnsb_db.sock"


def parse_ct(text: str) -> int:
    state = CS_TRACKED
    for flag in text.replace(",", " ").split():
        if flag not in CT_STATE_NAMES:
            raise Fatal(f"{flag}: unknown connection tracking state flag")
        state |= 1 << CT_STATE_NAMES.index(flag)
    return state


def parse_lb_dst(text: str) -> tuple[int, int, int]:
    host, port = text, 0
    try:
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(text)
                port = int(rest[1:])
        elif text.count(":") == 1:
            host, _, ps = text.partition(":")
            port = int(ps)
        addr = ipaddress.ip_address(host)
        if not 0 <= port <= 65535:
            raise ValueError(text)
    except ValueError:
        raise Fatal(f"{text}: bad address") from None
    return (addr.version, int(addr), port)


def build_parser() -> _Parser:
    p = _Parser(prog=PROG, add_help=False, allow_abbrev=True,
                usage=f"{PROG} [OPTIONS] [DATAPATH] MICROFLOW",
                description="Traces a packet through OVN's logical pipelines in the "
                            "Southbound database, as ovn-trace(8) does.")
    p.add_argument("--db", default=None, help="Southbound database (default: $OVN_SB_DB)")
    p.add_argument("--detailed", action="store_true", help="table-by-table trace (default)")
    p.add_argument("--summary", action="store_true", help="less detailed, more parseable")
    p.add_argument("--minimal", action="store_true",
                   help="minimum to explain externally visible behavior")
    p.add_argument("--all", action="store_true", help="all three forms")
    p.add_argument("--ct", action="append", default=[],
                   help="ct_state flags for the next ct_next (repeatable)")
    p.add_argument("--lb-dst", default=None, help="IP[:PORT] chosen by ct_lb")
    p.add_argument("--select-id", default=None, help="member chosen by select()")
    p.add_argument("--friendly-names", dest="friendly", action="store_true", default=True)
    p.add_argument("--no-friendly-names", dest="friendly", action="store_false")
    p.add_argument("--leader-only", action="store_true", help="(accepted, ignored)")
    p.add_argument("--no-leader-only", action="store_true", help="(accepted, ignored)")
    p.add_argument("--timeout", type=float, default=30.0, help="database timeout (seconds)")
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("-V", "--version", action="store_true")
    for name in _REFUSED:
        p.add_argument(f"--{name}", nargs="?", const="", default=None,
                       help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*")
    return p


def run_trace(sb: SB, dp_name: str | None, flow: str, *, detailed: bool = True,
              summary_: bool = False, minimal_: bool = False, ct: Sequence[int] = (),
              lb_dst: tuple[int, int, int] | None = None,
              select_id: int | None = None) -> str:
    """The text ovn-trace would print for one trace (errors included, as it does)."""
    try:
        if dp_name is not None:
            dp = sb.find_datapath(dp_name)
            if dp is None:
                return f'unknown datapath "{dp_name}"\n'
        else:
            dp = datapath_from_inport(sb, flow)
        pkt = parse_microflow(sb, dp, flow)
    except TraceError as e:
        msg = str(e)
        return msg if msg.endswith("\n") else msg + "\n"
    if not pkt.get("reg14"):
        return "microflow does not specify ingress port\n"
    header = "# " + flow_format(pkt) + "\n"
    root: list[TNode] = Tracer(sb, ct, lb_dst, select_id).trace(dp, pkt)
    out = [header]
    multiple = detailed + summary_ + minimal_ > 1
    if detailed:
        if multiple:
            out.append("# Detailed trace.\n")
        out.append(print_details(root))
    if summary_:
        if multiple:
            out.append("# Summary trace.\n")
        out.append(summary(root))
    if minimal_:
        if multiple:
            out.append("# Minimal trace.\n")
        out.append(minimal(root))
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        opts = build_parser().parse_args(args_in)
        if opts.help:
            print(build_parser().format_help())
            return 0
        if opts.version:
            from pyovn import __version__
            print(f"{PROG} (pyovn) {__version__}")
            return 0
        for name in _REFUSED:
            if getattr(opts, name.replace("-", "_")) is not None:
                raise Fatal(f"--{name} is not supported (pyovn trace only runs one-shot "
                            "traces of the logical pipelines)")
        if len(opts.args) not in (1, 2):
            raise Fatal("one or two non-option arguments are required (use --help for help)")
        ct = [parse_ct(c) for c in opts.ct]
        lb = parse_lb_dst(opts.lb_dst) if opts.lb_dst else None
        select_id = None
        if opts.select_id is not None:
            try:
                select_id = int(opts.select_id)
            except ValueError:
                select_id = 0
            if not select_id:
                raise Fatal(f"{opts.select_id}: bad select-id")
        db = opts.db or default_db()
        try:
            tables = fetch_sb(db, opts.timeout)
        except (OSError, TimeoutError, ValueError, TraceError) as e:
            raise Fatal(f"{db}: database connection failed ({e or type(e).__name__})") from None
        except Exception as e:  # RpcError and friends: still a clear message, not a traceback
            raise Fatal(f"{db}: reading the Southbound database failed ({e})") from None
    except Fatal as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    sb = load_sb(tables, friendly_names=opts.friendly)
    detailed, summ, mini = opts.detailed, opts.summary, opts.minimal
    if opts.all:
        detailed = summ = mini = True
    if not (detailed or summ or mini):
        detailed = True
    dp_name = opts.args[0] if len(opts.args) == 2 else None
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    text = run_trace(sb, dp_name, opts.args[-1], detailed=detailed, summary_=summ,
                     minimal_=mini, ct=ct, lb_dst=lb, select_id=select_id)
    for w in sb.warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    sys.stdout.write(text)
    if text.startswith("microflow does not specify ingress port"):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
