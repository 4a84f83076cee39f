"""A small incremental processing engine in the manner of OVN's lib/inc-proc-eng.c: a graph of
named nodes, each with its inputs, a full `run` (recompute) and, per input, an optional
change handler that brings the node up to date from that input's change alone.

One engine run visits the nodes in the order they were added (inputs first).  A node whose
inputs did not change is left alone.  Otherwise each changed input's handler is called; if
an input has no handler, or a handler returns False (cannot handle this change), the node
recomputes fully.  Statistics per node say how often each happened and how long it took,
which is what `inc-engine/show-stats` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Handler = Callable[[], bool]


@dataclass
class NodeStats:
    recompute: int = 0
    compute: int = 0  # incremental (handled by change handlers)
    cancel: int = 0  # handler gave up, so recomputed
    unchanged: int = 0
    total_seconds: float = 0.0
    last_seconds: float = 0.0
    last_note: str = ""


@dataclass
class Node:
    name: str
    run: Callable[[], bool]  # full recompute; returns whether the node's output changed
    inputs: list[tuple[Node, Handler | None]] = field(default_factory=list)
    changed: bool = False
    stats: NodeStats = field(default_factory=NodeStats)
    note: Callable[[], str] = lambda: ""


class Engine:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._force = False

    def add(self, name: str, run: Callable[[], bool],
            inputs: list[tuple[Node, Handler | None]] | None = None,
            note: Callable[[], str] | None = None) -> Node:
        for n, _ in inputs or []:
            if n not in self.nodes:
                raise ValueError(f"{name}: input {n.name} must be added first")
        node = Node(name, run, list(inputs or []))
        if note is not None:
            node.note = note
        self.nodes.append(node)
        return node

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def force_recompute(self) -> None:
        """The next run recomputes every node (the unixctl "recompute" command)."""
        self._force = True

    def run(self) -> None:
        force, self._force = self._force, False
        for node in self.nodes:
            t0 = time.perf_counter()
            if not node.inputs:
                # Input nodes are marked changed by whoever feeds them.
                if force:
                    node.changed = True
                continue
            changed_inputs = [(n, h) for n, h in node.inputs if n.changed]
            if not changed_inputs and not force:
                node.changed = False
                node.stats.unchanged += 1
                continue
            recompute = force or any(h is None for _, h in changed_inputs)
            if not recompute:
                ok = True
                node.changed = False
                for _n, h in changed_inputs:
                    assert h is not None
                    if not h():
                        ok = False
                        break
                    node.changed = True
                if ok:
                    node.stats.compute += 1
                else:
                    node.stats.cancel += 1
                    recompute = True
            if recompute:
                node.changed = node.run()
                node.stats.recompute += 1
            dt = time.perf_counter() - t0
            node.stats.last_seconds = dt
            node.stats.total_seconds += dt
            node.stats.last_note = node.note()
        for node in self.nodes:
            if not node.inputs:
                node.changed = False

    def show_stats(self) -> str:
        lines = []
        for n in self.nodes:
            s = n.stats
            lines.append(f"Node: {n.name}")
            lines.append(f"- recompute: {s.recompute:12d}")
            lines.append(f"- compute:   {s.compute:12d}")
            lines.append(f"- cancel:    {s.cancel:12d}")
            lines.append(f"- unchanged: {s.unchanged:12d}")
            lines.append(f"- last run:  {s.last_seconds * 1000:12.3f} ms")
            lines.append(f"- total:     {s.total_seconds * 1000:12.3f} ms")
            if s.last_note:
                lines.append(f"- last:      {s.last_note}")
        return "\n".join(lines) + "\n"
