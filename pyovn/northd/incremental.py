"""northd's engine graph, without I/O: NB changes in, dirty desired SB keys out.

    NB (input) --handler--> northd (Translator: per-unit recompute)

The NB input node takes the IDL's change sets (as NbChange lists); the northd node's change
handler recomputes the units the changes reach (see translate.py).  A full recompute (the
engine's `force_recompute`, or a run with no handler) is `Translator.full_run`, the reference.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

from pyovn.northd.engine import Engine
from pyovn.northd.nb import NB_TABLES, NbChange, NbDb, Row
from pyovn.northd.translate import Desired, Translator
from pyovn.ovsdb.idl import ChangeSet


def changes_from_idl(cs: ChangeSet, tables: Iterable[str] = NB_TABLES) -> list[NbChange]:
    out: list[NbChange] = []
    wanted = set(tables)
    for t in cs:  # only the tables that changed (indexing cs makes empty ones)
        if t not in wanted:
            continue
        tc = cs.tables[t]
        for u, row in tc.inserted.items():
            out.append(NbChange(t, u, None, row._data))
        for u, row in tc.modified.items():
            out.append(NbChange(t, u, {**row._data, **tc.old.get(u, {})}, row._data))
        for u, row in tc.deleted.items():
            out.append(NbChange(t, u, row._data, None))
    return out


class NorthdCore:
    def __init__(self, tables: Mapping[str, Mapping[str, Row]]) -> None:
        self.db = NbDb(tables)
        self.translator = Translator(self.db)
        self.pending: list[NbChange] = []
        self.engine = Engine()
        self.nb_node = self.engine.add("NB", lambda: True)
        self.engine.add("northd", self._full, [(self.nb_node, self._handle)],
                        note=self._note)
        self._first = True

    def _full(self) -> bool:
        self.pending.clear()
        # Indexes too: a full recompute must not trust anything incremental.
        self.db = NbDb(self.db.tables)
        self.translator.db = self.db
        self.translator.full_run()
        return True

    def _handle(self) -> bool:
        changes, self.pending = self.pending, []
        self.translator.handle_changes(changes)
        return True

    def _note(self) -> str:
        units = self.translator.last_recomputed
        shown = ", ".join(f"{k}:{u[:8]}" if u else k for k, u in units[:8])
        more = f" (+{len(units) - 8})" if len(units) > 8 else ""
        return f"{len(units)} units recomputed: {shown}{more}"

    def feed(self, changes: list[NbChange]) -> None:
        if changes:
            self.pending.extend(changes)
            self.nb_node.changed = True

    def run(self) -> None:
        if self._first:
            self._first = False
            self.engine.force_recompute()
        self.engine.run()

    @property
    def desired(self) -> Desired:
        return self.translator.desired

    def take_dirty(self) -> dict[str, set[Hashable]]:
        return self.translator.take_dirty()
