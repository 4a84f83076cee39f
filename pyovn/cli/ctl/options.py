"""The command line of ovs-vsctl-style tools: global options, then commands separated by "--",
each with its own leading options (db-ctl-base's ctl_parse_commands).

Options before the first command that are not global options but are some command's options
(`--may-exist`, `--columns=name`) belong to the first command, as in ovn-nbctl.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyovn.cli.ctl.command import Command, CommandSet
from pyovn.cli.ctl.errors import CtlError

__all__ = ["GlobalOptions", "parse_command_line"]


@dataclass
class GlobalOptions:
    """Global options as given; tool-specific ones are left in `extra`."""

    db: str | None = None
    timeout: float = 0.0
    wait: str = "none"
    print_wait_time: bool = False
    dry_run: bool = False
    oneline: bool = False
    format: str | None = None
    data: str | None = None
    no_headings: bool = False
    bare: bool = False
    pretty: bool = False
    help: bool = False
    version: bool = False
    extra: dict[str, str | None] = field(default_factory=dict)
    # Output style options in the order given (later ones override earlier ones).
    style_order: list[str] = field(default_factory=list)


# Global options: name -> takes a value.  Values may be given as "--opt=v" or "--opt v".
_GLOBAL: dict[str, bool] = {
    "--db": True, "--timeout": True, "-t": True, "--wait": True, "--no-wait": False,
    "--print-wait-time": False, "--dry-run": False, "--oneline": False,
    "--format": True, "-f": True, "--data": True, "-d": True, "--no-headings": False,
    "--bare": False, "--pretty": False, "--help": False, "-h": False, "--version": False,
    "-V": False, "--no-syslog": False, "--leader-only": False, "--no-leader-only": False,
    "--shuffle-remotes": False, "--no-shuffle-remotes": False, "--log-file": False,
    "--verbose": False, "--no-leader": False, "--commands": False, "--options": False,
}
# Options whose value is optional ("--log-file" or "--log-file=FILE").
_OPTIONAL_VALUE = frozenset(["--log-file", "--verbose"])


def _apply_global(g: GlobalOptions, name: str, value: str | None) -> None:
    if name == "--db":
        g.db = value
    elif name in ("--timeout", "-t"):
        try:
            g.timeout = float(int(value or ""))
        except ValueError:
            raise CtlError(f"value {value} on -t or --timeout is invalid") from None
        if g.timeout < 0:
            raise CtlError(f"value {value} on -t or --timeout is invalid")
    elif name == "--wait":
        if value not in ("none", "sb", "hv"):
            raise CtlError('argument to --wait must be "none", "sb", or "hv"')
        g.wait = value
    elif name == "--no-wait":
        g.wait = "none"
    elif name == "--print-wait-time":
        g.print_wait_time = True
    elif name == "--dry-run":
        g.dry_run = True
    elif name == "--oneline":
        g.oneline = True
    elif name in ("--format", "-f"):
        g.format = value
        g.style_order.append("format")
    elif name in ("--data", "-d"):
        g.data = value
        g.style_order.append("data")
    elif name == "--no-headings":
        g.no_headings = True
        g.style_order.append("no-headings")
    elif name == "--bare":
        g.bare = True
        g.style_order.append("bare")
    elif name == "--pretty":
        g.pretty = True
    elif name in ("--help", "-h"):
        g.help = True
    elif name in ("--version", "-V"):
        g.version = True
    else:
        g.extra[name] = value


def _split(arg: str) -> tuple[str, str | None]:
    if arg.startswith("--") and "=" in arg:
        name, value = arg.split("=", 1)
        return name, value
    return arg, None


def parse_command_line(
    argv: Sequence[str], commands: CommandSet
) -> tuple[GlobalOptions, list[Command]]:
    g = GlobalOptions()
    local: dict[str, str | None] = {}
    command_opts = commands.all_options()
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("-v") and not arg.startswith("--"):
            i += 1
            continue  # -vconsole:off and the like: logging, which pyovn's tools keep quiet
        name, value = _split(arg)
        if name in _GLOBAL:
            takes = _GLOBAL[name]
            if takes and value is None:
                if len(args[i]) > 2 and not arg.startswith("--") and name in ("-t", "-f", "-d"):
                    value = arg[2:]
                else:
                    i += 1
                    if i >= len(args):
                        raise CtlError(f"option '{name}' requires an argument")
                    value = args[i]
            elif not takes and value is not None and name not in _OPTIONAL_VALUE:
                raise CtlError(f"option '{name}' doesn't allow an argument")
            _apply_global(g, name, value)
        elif len(name) > 2 and name[:2] in ("-t", "-f", "-d") and not name.startswith("--"):
            _apply_global(g, name[:2], name[2:])
        elif name in command_opts:
            if name in local:
                raise CtlError(f"'{name}' option specified multiple times")
            if command_opts[name] and value is None:
                raise CtlError(f"option '{name}' requires an argument")
            local[name] = value
        else:
            raise CtlError(f"unrecognized option '{name}'")
        i += 1
    if g.help or g.version:
        return g, []
    rest = args[i:]
    groups: list[list[str]] = []
    cur: list[str] = []
    for arg in rest:
        if arg == "--":
            if cur:
                groups.append(cur)
            cur = []
        else:
            cur.append(arg)
    if cur:
        groups.append(cur)
    if local and not groups:
        raise CtlError("missing command name (use --help for help)")
    parsed: list[Command] = []
    for n, group in enumerate(groups):
        opts: dict[str, str | None] = dict(local) if n == 0 else {}
        j = 0
        while j < len(group) and group[j].startswith("-"):
            name, value = _split(group[j])
            if name in opts:
                raise CtlError(f"'{name}' option specified multiple times")
            opts[name] = value
            j += 1
        if j >= len(group):
            raise CtlError("missing command name (use --help for help)")
        cls = commands.get(group[j])
        spec = cls.option_spec()
        for name, value in opts.items():
            if name not in spec:
                raise CtlError(f"'{cls.name}' command has no '{name}' option")
            if spec[name] and value is None:
                raise CtlError(f"missing argument to '{name}' option on '{cls.name}' command")
            if not spec[name] and value is not None:
                raise CtlError(f"'{name}' option on '{cls.name}' does not accept an argument")
        cargs = group[j + 1:]
        if len(cargs) < cls.min_args:
            raise CtlError(f"'{cls.name}' command requires at least {cls.min_args} arguments")
        if len(cargs) > cls.max_args:
            raise CtlError(f"'{cls.name}' command takes at most {cls.max_args} arguments")
        parsed.append(cls(cargs, opts))
    if not parsed:
        raise CtlError("missing command name (use --help for help)")
    return g, parsed
