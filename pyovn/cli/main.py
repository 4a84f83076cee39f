"""The `pyovn` command: one entry point, one subcommand per program.

Subcommands are imported lazily so that short-lived tools (nbctl, appctl) start fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# subcommand -> ("module", "function", one-line help).  The function takes argv (without the
# subcommand name) and returns an exit status.
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "ovsdb-server": ("pyovn.ovsdb.server_main", "main", "the OVSDB database server"),
    "ovsdb-tool": ("pyovn.ovsdb.tool", "main", "create, compact and inspect database files"),
    "appctl": ("pyovn.jsonrpc.appctl", "main", "send a command to a running daemon"),
    "db-demo": ("pyovn.cli.demo", "main", "NB and SB on pyovn's server, exercised by real clients"),
    "northd": ("pyovn.northd.main", "main", "the NB to SB compiler"),
    "controller": ("pyovn.controller.main", "main", "the chassis agent"),
    "sandbox": ("pyovn.sandbox.cli", "main",
                "a whole deployment on this machine: start, stop, shell, demo, scenario"),
    "nbctl": ("pyovn.cli.nbctl.main", "main", "ovn-nbctl: manage the OVN northbound database"),
    "sbctl": ("pyovn.cli.sbctl.main", "main", "ovn-sbctl: manage the OVN southbound database"),
    "trace": ("pyovn.trace.main", "main", "trace a packet through the logical pipelines"),
}


def usage() -> str:
    lines = ["usage: pyovn COMMAND [ARG...]", "", "commands:"]
    for name, (_, _, text) in SUBCOMMANDS.items():
        lines.append(f"  {name:<14} {text}")
    lines.append("")
    lines.append("Run 'pyovn COMMAND --help' for a command's options.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("-V", "--version"):
        from pyovn import __version__

        print(f"pyovn {__version__}")
        return 0
    entry = SUBCOMMANDS.get(args[0])
    if entry is None:
        print(f"pyovn: unknown command '{args[0]}'\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, func_name, _ = entry
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), func_name)
    try:
        return func(args[1:])
    except KeyboardInterrupt:
        return 130
