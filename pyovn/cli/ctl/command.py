"""Commands as small declared objects (ovsdbapp's lesson, and db-ctl-base's ctl_command_syntax).

A command class declares its name, how many arguments it takes, which options it accepts and
whether it writes; `run` does its work inside the batch's transaction and writes its output
to `self.output` or `self.table`; `post` runs after a successful commit (where inserted rows
have their real UUIDs).  Nothing else is needed to add a command: list the class in its
tool's command set.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, ClassVar

from pyovn.cli.ctl.errors import CtlError

if TYPE_CHECKING:
    from pyovn.cli.ctl.context import Context
    from pyovn.cli.ctl.output import Table

__all__ = ["UNLIMITED", "Command", "CommandSet"]

UNLIMITED = sys.maxsize


class Command:
    name: ClassVar[str] = ""
    min_args: ClassVar[int] = 0
    max_args: ClassVar[int] = 0
    # Accepted options, as db-ctl-base spells them: "--if-exists,--columns=" (a trailing "="
    # means the option takes a value).
    options: ClassVar[str] = ""
    # "RW" commands make the batch commit; "RO" ones only read.
    mode: ClassVar[str] = "RO"
    usage: ClassVar[str] = ""

    def __init__(self, args: list[str], opts: dict[str, str | None]) -> None:
        self.args = args
        self.opts = opts
        self.output: list[str] = []
        self.table: Table | None = None

    def run(self, ctx: Context) -> None:
        raise NotImplementedError

    def post(self, ctx: Context) -> None:
        """After a successful (or unchanged) commit."""

    # Helpers for subclasses.
    def has(self, option: str) -> bool:
        return option in self.opts

    def opt(self, option: str) -> str | None:
        return self.opts.get(option)

    def print(self, text: str) -> None:
        self.output.append(text + "\n")

    @classmethod
    def option_spec(cls) -> dict[str, bool]:
        """Option name -> whether it takes a value."""
        spec: dict[str, bool] = {}
        for item in cls.options.split(","):
            item = item.strip()
            if item:
                spec[item.rstrip("=")] = item.endswith("=")
        return spec


class CommandSet:
    """A tool's commands by name."""

    def __init__(self, *groups: list[type[Command]]) -> None:
        self.commands: dict[str, type[Command]] = {}
        for group in groups:
            for cls in group:
                self.commands[cls.name] = cls

    def get(self, name: str) -> type[Command]:
        cls = self.commands.get(name)
        if cls is None:
            raise CtlError(f"unknown command '{name}'; use --help for help")
        return cls

    def all_options(self) -> dict[str, bool]:
        """Every command option of every command (accepted before the first command)."""
        spec: dict[str, bool] = {}
        for cls in self.commands.values():
            spec.update(cls.option_spec())
        return spec
