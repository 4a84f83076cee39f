"""Tables of results printed as ovs-vsctl prints them (Open vSwitch lib/table.c).

A cell is either text or a typed value; how a typed value is shown depends on `--data`
(string, bare, json), and `--format=json` always gives the wire JSON.  Like lib/table.c, a
second table printed in the same format by one invocation is preceded by a blank line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.values import datum_to_bare, datum_to_string
from pyovn.ovsdb.datum import datum_to_json
from pyovn.ovsdb.error import json_text
from pyovn.ovsdb.schema import Type

__all__ = ["Cell", "Style", "Table", "TablePrinter"]

FORMATS = ("table", "list", "csv", "json", "bare")
DATA_FORMATS = ("string", "bare", "json")


@dataclass(slots=True)
class Cell:
    type: Type | None
    value: Any

    def text(self, data: str) -> str:
        if self.type is None:
            return str(self.value)
        if data == "json":
            return json_text(datum_to_json(self.type, self.value))
        if data == "bare":
            return datum_to_bare(self.type, self.value)
        return datum_to_string(self.type, self.value)

    def json(self) -> Any:
        if self.type is None:
            return self.value
        return datum_to_json(self.type, self.value)


@dataclass
class Table:
    headings: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Style:
    format: str = "table"
    data: str = "string"
    headings: bool = True

    def set_format(self, text: str) -> None:
        if text not in FORMATS and text != "html":
            raise CtlError(f"unknown output format \"{text}\"")
        if text == "html":
            raise CtlError("--format=html is not supported by pyovn")
        if text == "bare":
            self.set_bare()
        else:
            self.format = text

    def set_data(self, text: str) -> None:
        if text not in DATA_FORMATS:
            raise CtlError(f"unknown data format \"{text}\"")
        self.data = text

    def set_bare(self) -> None:
        self.format = "list"
        self.data = "bare"
        self.headings = False


def _csv_cell(text: str) -> str:
    if not any(c in text for c in '\n",'):
        return text
    return '"' + text.replace('"', '""') + '"'


class TablePrinter:
    """Prints tables for one invocation (the blank line between tables is per format)."""

    def __init__(self, style: Style) -> None:
        self.style = style
        self.count: dict[str, int] = {}

    def render(self, table: Table) -> str:
        fmt = self.style.format
        n = self.count.get(fmt, 0)
        self.count[fmt] = n + 1
        lead = "\n" if n and fmt != "json" else ""
        if fmt == "list":
            return lead + self._list(table)
        if fmt == "csv":
            return lead + self._csv(table)
        if fmt == "json":
            return self._json(table)
        return lead + self._table(table)

    def _texts(self, table: Table) -> list[list[str]]:
        data = self.style.data
        return [[c.text(data) for c in row] for row in table.rows]

    def _table(self, table: Table) -> str:
        texts = self._texts(table)
        ncol = len(table.headings)
        widths = [0] * ncol
        for row in texts:
            for x, t in enumerate(row):
                widths[x] = max(widths[x], len(t.encode()))
        lines: list[str] = []
        if self.style.headings:
            for x, h in enumerate(table.headings):
                widths[x] = max(widths[x], len(h))
            lines.append(" ".join(h.ljust(widths[x]) for x, h in enumerate(table.headings)))
            lines.append(" ".join("-" * w for w in widths))
        for row in texts:
            lines.append(" ".join(_pad(t, widths[x]) for x, t in enumerate(row)))
        return "".join(line.rstrip(" ") + "\n" for line in lines)

    def _list(self, table: Table) -> str:
        out: list[str] = []
        headings = self.style.headings
        for y, row in enumerate(self._texts(table)):
            if y:
                out.append("\n")
            for x, t in enumerate(row):
                if headings:
                    out.append(f"{table.headings[x]:<20}: ")
                out.append(t + "\n")
        return "".join(out)

    def _csv(self, table: Table) -> str:
        out: list[str] = []
        if self.style.headings:
            out.append(",".join(_csv_cell(h) for h in table.headings) + "\n")
        for row in self._texts(table):
            out.append(",".join(_csv_cell(t) for t in row) + "\n")
        return "".join(out)

    def _json(self, table: Table) -> str:
        obj = {"headings": table.headings,
               "data": [[c.json() for c in row] for row in table.rows]}
        return json_text(obj) + "\n"


def _pad(text: str, width: int) -> str:
    extra = width - len(text.encode())
    return text + " " * extra if extra > 0 else text
