"""The translation of NB into desired SB contents, full and incremental.

`translate(db)` is the reference: every unit computed from scratch.  `Translator` keeps the
same result up to date: it remembers what each unit read (its dependency keys, see nb.py)
and, for a change to NB, recomputes only the units that read something the change touched,
then merges their new outputs into the desired tables, noting which SB keys changed (the
"dirty" keys sync.py writes).

When two units claim the same SB key (two switches with a port of the same name; an
address set named like a port group's <pg>_ip4), the unit with the smallest key wins, as
deterministically in the incremental run as in the full one.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyovn.northd.nb import DepKey, NbChange, NbDb, NbView
from pyovn.northd.units import SB_TABLES, UNIT_TABLES, UnitKey, UnitOut, compute_unit

log = logging.getLogger("pyovn.northd")

GLOBAL_UNIT: UnitKey = ("global", "")


def unit_keys(db: NbDb) -> list[UnitKey]:
    keys: list[UnitKey] = [GLOBAL_UNIT]
    for table, kind in UNIT_TABLES.items():
        keys.extend((kind, u) for u in db.tables[table])
    return keys


@dataclass
class Desired:
    """Desired SB rows per table (see units.py for the keys and values)."""

    tables: dict[str, dict[Hashable, Any]] = field(
        default_factory=lambda: {t: {} for t in SB_TABLES})

    def n_rows(self) -> int:
        return sum(len(t) for t in self.tables.values())


def translate(db: NbDb) -> Desired:
    """The full translation (the reference the incremental one must equal)."""
    t = Translator(db)
    t.full_run()
    return t.desired


class Translator:
    """Units' outputs and dependencies, and the merged desired SB, kept incrementally."""

    def __init__(self, db: NbDb) -> None:
        self.db = db
        self.desired = Desired()
        self.outputs: dict[UnitKey, UnitOut] = {}
        self.deps: dict[UnitKey, set[DepKey]] = {}
        self.index: dict[DepKey, set[UnitKey]] = {}
        self.claims: dict[str, dict[Hashable, set[UnitKey]]] = {t: {} for t in SB_TABLES}
        self.dirty: dict[str, set[Hashable]] = {t: set() for t in SB_TABLES}
        self.last_recomputed: list[UnitKey] = []

    # --- running ------------------------------------------------------------------------

    def full_run(self) -> None:
        """Everything from scratch; every SB key (old and new) is dirty afterwards."""
        for t in SB_TABLES:
            self.dirty[t].update(self.desired.tables[t])
        self.desired = Desired()
        self.outputs.clear()
        self.deps.clear()
        self.index.clear()
        self.claims = {t: {} for t in SB_TABLES}
        keys = unit_keys(self.db)
        for k in keys:
            self._recompute(k)
        self.last_recomputed = keys

    def handle_changes(self, changes: Iterable[NbChange]) -> int:
        """Applies NB changes (already made to db's tables); returns units recomputed."""
        changes = list(changes)
        touched = self.db.apply(changes)
        affected: set[UnitKey] = set()
        for k in touched:
            affected.update(self.index.get(k, ()))
        for c in changes:
            kind = UNIT_TABLES.get(c.table)
            if kind is not None:
                affected.add((kind, c.uuid))
        for k in sorted(affected):
            self._recompute(k)
        self.last_recomputed = sorted(affected)
        return len(affected)

    # --- internals ----------------------------------------------------------------------

    def _recompute(self, key: UnitKey) -> None:
        exists = key == GLOBAL_UNIT or key[1] in self.db.tables[_table_of(key[0])]
        old_out = self.outputs.pop(key, None)
        old_deps = self.deps.pop(key, set())
        for d in old_deps:
            s = self.index.get(d)
            if s is not None:
                s.discard(key)
                if not s:
                    del self.index[d]
        new_out: UnitOut | None = None
        if exists:
            view = NbView(self.db)
            new_out = compute_unit(view, key)
            self.outputs[key] = new_out
            self.deps[key] = view.deps
            for d in view.deps:
                self.index.setdefault(d, set()).add(key)
        for t in SB_TABLES:
            old_t = old_out[t] if old_out is not None else {}
            new_t = new_out[t] if new_out is not None else {}
            if old_t is new_t or (not old_t and not new_t):
                continue
            for k in old_t.keys() - new_t.keys():
                self._unclaim(t, k, key)
            for k, v in new_t.items():
                if k not in old_t or old_t[k] != v:
                    self._claim(t, k, key, v)

    def _claim(self, table: str, k: Hashable, unit: UnitKey, value: Any) -> None:
        owners = self.claims[table].setdefault(k, set())
        owners.add(unit)
        if min(owners) == unit:
            if len(owners) > 1:
                log.warning("%s %r claimed by %s", table, k, sorted(owners))
            self.desired.tables[table][k] = value
            self.dirty[table].add(k)

    def _unclaim(self, table: str, k: Hashable, unit: UnitKey) -> None:
        owners = self.claims[table].get(k)
        if owners is None:
            return
        owners.discard(unit)
        self.dirty[table].add(k)
        if not owners:
            del self.claims[table][k]
            self.desired.tables[table].pop(k, None)
        else:
            winner = min(owners)
            self.desired.tables[table][k] = self.outputs[winner][table][k]

    def take_dirty(self) -> dict[str, set[Hashable]]:
        d = self.dirty
        self.dirty = {t: set() for t in SB_TABLES}
        return d


def _table_of(kind: str) -> str:
    for t, k in UNIT_TABLES.items():
        if k == kind:
            return t
    raise KeyError(kind)
