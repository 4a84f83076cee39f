"""The trace as a tree of nodes, and its three printed forms (ovn-trace(8) OUTPUT).

Each visited table is a node whose children are the actions it ran; `next' continues in a
child of that table node, so tail calls stay at one indentation level in the detailed form.
The summary form drops table and modification nodes, the minimal form keeps only what is
visible outside: modifications of packet data, outputs to real ports, errors and forks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OUTPUT = "output"
MODIFY = "modify"
ACTION = "action"
ERROR = "error"
PIPELINE = "pipeline"
TABLE = "table"
TRANSFORMATION = "transformation"

_TERMINAL = (OUTPUT, MODIFY, ACTION, ERROR)


@dataclass
class TNode:
    type: str
    name: str
    subs: list[TNode] = field(default_factory=list)
    always_indent: bool = False

    def add(self, type_: str, name: str) -> TNode:
        n = TNode(type_, name)
        self.subs.append(n)
        return n

    def clone(self) -> TNode:
        return TNode(self.type, self.name, [s.clone() for s in self.subs], self.always_indent)


def print_details(nodes: list[TNode], level: int = 0) -> str:
    out: list[str] = []
    _details(nodes, level, out)
    return "".join(out)


def _details(nodes: list[TNode], level: int, out: list[str]) -> None:
    for i, sub in enumerate(nodes):
        if sub.type == MODIFY:
            continue
        more = int(i != len(nodes) - 1 or sub.always_indent or sub.type in _TERMINAL)
        title = sub.type in (PIPELINE, TRANSFORMATION)
        if title:
            out.append("\n")
        pad = " " * ((level + more) * 4)
        out.append(f"{pad}{sub.name}\n")
        if title:
            out.append(pad + "-" * len(sub.name) + "\n")
        _details(sub.subs, level + 2 * more, out)


def _prune(nodes: list[TNode], drop: tuple[str, ...]) -> list[TNode]:
    out: list[TNode] = []
    for sub in nodes:
        kids = _prune(sub.subs, drop)
        if sub.type in drop:
            out.extend(kids)
        else:
            out.append(TNode(sub.type, sub.name, kids, sub.always_indent))
    return out


def print_summary(nodes: list[TNode], level: int = 0) -> str:
    out: list[str] = []
    _summary(nodes, level, out)
    return "".join(out)


def _summary(nodes: list[TNode], level: int, out: list[str]) -> None:
    for sub in nodes:
        if sub.type == ACTION and sub.name.startswith("next("):
            continue
        out.append(" " * (level * 4) + sub.name)
        if sub.subs:
            out.append(" {\n")
            _summary(sub.subs, level + 1, out)
            out.append(" " * (level * 4) + "}")
        if sub.type != ACTION:
            out.append(";")
        out.append("\n")


def summary(root: list[TNode]) -> str:
    return print_summary(_prune(root, (MODIFY, TABLE)))


def minimal_nodes(root: list[TNode]) -> list[TNode]:
    return _prune(root, (ACTION, PIPELINE, TABLE, OUTPUT))


def minimal(root: list[TNode]) -> str:
    return print_summary(minimal_nodes(root))
