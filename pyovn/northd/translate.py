"""The translation of NB into desired SB contents, full and incremental.

`translate(db)` is the reference: every unit computed from scratch.  `Translator` keeps the
same result up to date: it remembers what each unit read (its dependency keys, see nb.py)
and, for a change to NB, recomputes only the units that read something the change touched,
then merges their new outputs into the desired tables, noting which SB keys changed (the
"dirty" keys sync.py writes).

Units may also derive values for other units (units.DERIVED: what a switch needs of each
of its ports, what a switch's flows are made from).  A reader records ("d", *producer key)
among its deps; units run by level (units.UNIT_LEVELS), producers first, and a producer
whose derived value changed touches that dep, which brings its readers into the same run.

When two units claim the same SB key (two switches with a port of the same name; an
address set named like a port group's <pg>_ip4), the unit with the smallest key wins, as
deterministically in the incremental run as in the full one.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, cast

from pyovn.northd.nb import DepKey, NbChange, NbDb, NbView
from pyovn.northd.units import (
    DERIVED,
    SB_TABLES,
    UNIT_KINDS,
    UNIT_LEVELS,
    UnitKey,
    UnitOut,
    compute_unit,
)

log = logging.getLogger("pyovn.northd")

GLOBAL_UNIT: UnitKey = ("global", "")
_NO_DEPS: frozenset[DepKey] = frozenset()
_TABLE_KINDS: dict[str, list[str]] = {}
for _kind, _table in UNIT_KINDS.items():
    _TABLE_KINDS.setdefault(_table, []).append(_kind)


def unit_keys(db: NbDb) -> list[UnitKey]:
    keys: list[UnitKey] = [GLOBAL_UNIT]
    for kind, table in UNIT_KINDS.items():
        keys.extend((kind, u) for u in db.tables[table])
    return keys


def _run_order(k: UnitKey) -> tuple[int, UnitKey]:
    return UNIT_LEVELS.get(k[0], 0), k


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
        self.deps: dict[UnitKey, AbstractSet[DepKey]] = {}
        self.index: dict[DepKey, set[UnitKey]] = {}
        self.claims: dict[str, dict[Hashable, set[UnitKey]]] = {t: {} for t in SB_TABLES}
        self.dirty: dict[str, set[Hashable]] = {t: set() for t in SB_TABLES}
        self.derived: dict[UnitKey, Any] = {}
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
        self.derived.clear()
        self.claims = {t: {} for t in SB_TABLES}
        keys = sorted(unit_keys(self.db), key=_run_order)
        for k in keys:
            self._recompute(k)
        self.last_recomputed = keys

    def handle_changes(self, changes: Iterable[NbChange]) -> int:
        """Applies NB changes (already made to db's tables); returns units recomputed."""
        changes = list(changes)
        touched = self.db.apply(changes)
        affected: set[UnitKey] = set()
        index = self.index
        for k in touched:
            readers = index.get(k)
            if readers:
                affected.update(readers)
        for c in changes:
            # A unit that exists read its own row, so its deps cover modifications (only
            # of the columns it reads); one being created or deleted is not yet in there.
            if c.old is None or c.new is None:
                affected.update((kind, c.uuid) for kind in _TABLE_KINDS.get(c.table, ()))
        done: list[UnitKey] = []
        while affected:
            # Lowest level first: what it derives can bring more units into this run.
            level = min(UNIT_LEVELS.get(k[0], 0) for k in affected)
            batch = sorted(k for k in affected if UNIT_LEVELS.get(k[0], 0) == level)
            affected.difference_update(batch)
            for k in batch:
                for d in self._recompute(k):
                    readers = index.get(d)
                    if readers:
                        affected.update(readers)
            done.extend(batch)
        self.last_recomputed = done
        return len(done)

    # --- internals ----------------------------------------------------------------------

    def _recompute(self, key: UnitKey) -> list[DepKey]:
        """Recomputes one unit; returns the ("d", ...) deps its new derived values touch."""
        exists = key == GLOBAL_UNIT or key[1] in self.db.tables[UNIT_KINDS[key[0]]]
        old_out = self.outputs.pop(key, None)
        old_deps = self.deps.pop(key, _NO_DEPS)
        new_out: UnitOut | None = None
        new_deps: AbstractSet[DepKey] = _NO_DEPS
        if exists:
            view = NbView(self.db, self.derived)
            new_out = compute_unit(view, key)
            self.outputs[key] = new_out
            new_deps = self.deps[key] = view.deps
        # Mostly the same deps as last time (a switch gaining a port reads one more):
        # update the index by the difference, not by everything.
        index = self.index
        for d in old_deps - new_deps:
            s = index.get(d)
            if s is not None:
                s.discard(key)
                if not s:
                    del index[d]
        for d in new_deps - old_deps:
            s = index.get(d)
            if s is None:
                index[d] = {key}
            else:
                s.add(key)
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
        return self._derive(old_out, new_out)

    def _derive(self, old_out: UnitOut | None, new_out: UnitOut | None) -> list[DepKey]:
        old_d = old_out.get(DERIVED, {}) if old_out is not None else {}
        new_d = new_out.get(DERIVED, {}) if new_out is not None else {}
        touched: list[DepKey] = []
        for k in cast(set[UnitKey], old_d.keys() | new_d.keys()):
            if k not in new_d:
                self.derived.pop(k, None)
            elif k in old_d and old_d[k] == new_d[k]:
                continue
            else:
                self.derived[k] = new_d[k]
            touched.append(("d", *k))
        return touched

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
