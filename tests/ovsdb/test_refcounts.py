"""Reference bookkeeping under random transactions.  The commit path works by difference for
modified rows (txn._ref_delta, txn._dead_in_modified, database._apply_ref_delta); this pins
that it agrees with the long way: after every commit the strong reference counts and weak
referrers equal a recount from the rows, and the same transactions give the same database
(garbage collection included) as the long way, every reference looked at, including rows
that refer to one target twice or through two columns, and OVS's quirk of a modified row
keeping a reference to a row deleted later in the walk."""

from __future__ import annotations

import random
from typing import Any

import pytest

import pyovn.ovsdb.database as database
from pyovn.ovsdb.database import Database, Row, row_refs
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.transact import execute
from pyovn.ovsdb.txn import Txn

REF = {"type": "uuid", "refTable": "Kid"}
LEAF = {"type": "uuid", "refTable": "Leaf"}
WEAK = {"type": "uuid", "refTable": "Kid", "refType": "weak"}
SCHEMA = {
    "name": "R",
    "version": "1.0.0",
    "tables": {
        "Group": {
            "columns": {
                "strong": {"type": {"key": REF, "min": 0, "max": "unlimited"}},
                "weak": {"type": {"key": WEAK, "min": 0, "max": "unlimited"}},
                "weak2": {"type": {"key": WEAK, "min": 0, "max": "unlimited"}},
                "wmap": {"type": {"key": "string", "value": WEAK,
                                  "min": 0, "max": "unlimited"}},
                "leaves": {"type": {"key": LEAF, "min": 0, "max": "unlimited"}},
            },
            "isRoot": True,
        },
        # Not a root: a leaf lives as long as some group holds it.
        "Leaf": {"columns": {"v": {"type": "integer"}}},
        "Kid": {"columns": {"v": {"type": "integer"}}, "isRoot": True},
    },
}


def recount(db: Database) -> tuple[dict[str, int], dict[str, set[tuple[str, str]]]]:
    strong: dict[str, int] = {}
    weak: dict[str, set[tuple[str, str]]] = {}
    for name, table in db.tables.items():
        for uuid, row in table.rows.items():
            for _c, _t, target, is_strong in row_refs(table.schema, row):
                if is_strong:
                    strong[target] = strong.get(target, 0) + 1
                else:
                    weak.setdefault(target, set()).add((name, uuid))
    return strong, weak


def uuids(db: Database, table: str) -> list[str]:
    return sorted(db.tables[table].rows)


def ref(u: str) -> list[str]:
    return ["uuid", u]


def random_op(rng: random.Random, db: Database) -> dict[str, Any]:
    kids, groups = uuids(db, "Kid"), uuids(db, "Group")

    def pick(xs: list[str], k: int) -> list[str]:
        return rng.sample(xs, min(k, len(xs)))

    what = rng.choice(["kid", "kid", "del_kid", "group", "mutate", "mutate", "update"])
    if what == "kid" or not kids:
        return {"op": "insert", "table": "Kid", "row": {"v": rng.randrange(9)}}
    if what == "del_kid":
        return {"op": "delete", "table": "Kid", "where": [["_uuid", "==", ref(rng.choice(kids))]]}
    if what == "group" or not groups:
        return {"op": "insert", "table": "Group", "row": {
            "weak": ["set", [ref(k) for k in pick(kids, 4)]],
            "wmap": ["map", [[f"k{i}", ref(k)] for i, k in enumerate(pick(kids, 3))]]}}
    where = [["_uuid", "==", ref(rng.choice(groups))]]
    if rng.random() < 0.25:
        leaves = uuids(db, "Leaf")
        if leaves and rng.random() < 0.5:
            return {"op": "mutate", "table": "Group", "where": where, "mutations": [
                ["leaves", "delete", ["set", [ref(x) for x in pick(leaves, 2)]]]]}
        return {"op": "update", "table": "Group", "where": where,
                "row": {"leaves": ["set", [ref(x) for x in pick(leaves, 3)]]}}
    if what == "update":
        ks = pick(kids, 3)
        return {"op": "update", "table": "Group", "where": where, "row": {
            "weak2": ["set", [ref(k) for k in ks]],
            # The same kid under two keys: a row holding one reference twice.
            "wmap": ["map", [["a", ref(ks[0])], ["b", ref(ks[0])]] if ks else []]}}
    column = rng.choice(["strong", "weak", "weak2"])
    return {"op": "mutate", "table": "Group", "where": where, "mutations": [
        [column, rng.choice(["insert", "delete"]), ["set", [ref(k) for k in pick(kids, 2)]]]]}


def dead_the_long_way(self: Txn, tschema: TableSchema, old: Row, new: Row, deleted: set[str],
                      position: dict[str, int], here: int) -> set[tuple[str, str]]:
    """What _assess_weak_refs did for a modified row before the shortcut."""
    old_refs = {(c, t) for c, _, t, strong in row_refs(tschema, old) if not strong}
    return {(column, target)
            for column, target_table, target, is_strong in row_refs(tschema, new)
            if not is_strong and self.get(target_table, target) is None
            and not ((column, target) in old_refs and position.get(target_table, -1) > here)}


def run(seed: int) -> tuple[dict[str, dict[str, Any]], int]:
    rng = random.Random(seed)
    database._random.seed(seed)  # the same UUIDs on both runs
    db = Database(DatabaseSchema.from_json(SCHEMA))
    committed = 0
    for _ in range(400):
        ops = [random_op(rng, db) for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.2:
            # A new leaf, held by a group in the same transaction (or collected at once).
            ops.append({"op": "insert", "table": "Leaf", "uuid-name": "leaf", "row": {"v": 1}})
            if uuids(db, "Group"):
                ops.append({"op": "mutate", "table": "Group",
                            "where": [["_uuid", "==", ref(rng.choice(uuids(db, "Group")))]],
                            "mutations": [["leaves", "insert", ["named-uuid", "leaf"]]]})
        result = execute(db, ops)
        if result.changes is None:
            continue  # a refused transaction (e.g. deleting a strongly referenced kid)
        db.apply(result.changes)
        committed += 1
        strong, weak = recount(db)
        assert db.strong_refs == strong
        assert {t: s for t, s in db.weak_referrers.items() if s} == weak
    return {n: {u: r.data for u, r in t.rows.items()} for n, t in db.tables.items()}, committed


@pytest.mark.parametrize("seed", range(10))
def test_reference_bookkeeping_by_difference_equals_the_long_way(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, committed = run(seed)
    assert committed > 200
    monkeypatch.setattr(Database, "_apply_ref_delta", lambda *a: False)
    monkeypatch.setattr(Txn, "_ref_delta", lambda *a: False)
    monkeypatch.setattr(Txn, "_dead_in_modified", dead_the_long_way)
    assert run(seed) == (fast, committed)
