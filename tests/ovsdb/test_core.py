"""The pure database core: schemas, values, transactions, commit checks, log records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.ovsdb.database import Database
from pyovn.ovsdb.datum import (
    datum_apply_diff,
    datum_diff,
    datum_from_json,
    datum_to_json,
)
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.monitor import Monitor, parse_monitor_requests
from pyovn.ovsdb.schema import DatabaseSchema, Type
from pyovn.ovsdb.transact import WouldBlock, execute

SCHEMA = {
    "name": "T",
    "version": "1.0.0",
    "tables": {
        "Root": {
            "columns": {
                "name": {"type": "string"},
                "kids": {"type": {"key": {"type": "uuid", "refTable": "Kid"},
                                  "min": 0, "max": "unlimited"}},
                "weak": {"type": {"key": {"type": "uuid", "refTable": "Kid", "refType": "weak"},
                                  "min": 0, "max": "unlimited"}},
                "must": {"type": {"key": {"type": "uuid", "refTable": "Kid", "refType": "weak"},
                                  "min": 0, "max": 1}},
                "tags": {"type": {"key": "string", "value": "integer",
                                  "min": 0, "max": "unlimited"}},
                "n": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 10}}},
                "frozen": {"type": "string", "mutable": False},
            },
            "isRoot": True,
            "indexes": [["name"]],
            "maxRows": 3,
        },
        "Kid": {"columns": {"v": {"type": "integer"}}},
    },
}

SCHEMA_FILES = [
    "/usr/share/ovn/ovn-nb.ovsschema",
    "/usr/share/ovn/ovn-sb.ovsschema",
    "/usr/share/openvswitch/vswitch.ovsschema",
]


def new_db() -> Database:
    return Database(DatabaseSchema.from_json(SCHEMA))


def run(db: Database, *ops: dict[str, Any]) -> list[Any]:
    result = execute(db, list(ops))
    if result.changes:
        db.apply(result.changes)
    return result.results


def rows(db: Database, table: str) -> list[dict[str, Any]]:
    return run(db, {"op": "select", "table": table, "where": []})[0]["rows"]


@pytest.mark.parametrize("path", SCHEMA_FILES)
def test_real_schemas_load_and_round_trip(path: str) -> None:
    with open(path) as f:
        source = json.load(f)
    schema = DatabaseSchema.from_json(source)
    again = DatabaseSchema.from_json(schema.to_json())
    assert again.to_json() == schema.to_json()
    assert set(schema.tables) == set(source["tables"])


def test_schema_rejects_reference_to_unknown_table() -> None:
    bad = json.loads(json.dumps(SCHEMA))
    bad["tables"]["Kid"]["columns"]["x"] = {"type": {"key": {"type": "uuid", "refTable": "No"}}}
    with pytest.raises(OvsdbError, match="undefined table No"):
        DatabaseSchema.from_json(bad)


def test_insert_fills_defaults_and_select_returns_them() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}})
    (row,) = rows(db, "Root")
    assert row["name"] == "a" and row["n"] == 0 and row["tags"] == ["map", []]
    assert row["kids"] == ["set", []]


def test_unreferenced_non_root_row_is_garbage_collected() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Kid", "row": {"v": 1}})
    assert rows(db, "Kid") == []


def test_strong_reference_keeps_row_and_blocks_its_deletion() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Kid", "row": {"v": 1}, "uuid-name": "k"},
        {"op": "insert", "table": "Root", "row": {"name": "a", "kids": ["named-uuid", "k"]}})
    assert len(rows(db, "Kid")) == 1
    result = run(db, {"op": "delete", "table": "Kid", "where": []})
    assert result[-1]["error"] == "referential integrity violation"
    assert "1 remaining reference(s)" in result[-1]["details"]
    # Deleting the referrer collects the kid.
    run(db, {"op": "delete", "table": "Root", "where": []})
    assert rows(db, "Kid") == []


def test_deleted_target_is_removed_from_weak_references() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Kid", "row": {"v": 1}, "uuid-name": "k"},
        {"op": "insert", "table": "Root",
         "row": {"name": "a", "kids": ["named-uuid", "k"]}},
        {"op": "insert", "table": "Root",
         "row": {"name": "b", "weak": ["named-uuid", "k"]}})
    run(db, {"op": "mutate", "table": "Root", "where": [],
             "mutations": [["kids", "delete", ["set", []]]]})
    run(db, {"op": "update", "table": "Root", "where": [["name", "==", "a"]],
             "row": {"kids": ["set", []]}})
    assert [r["weak"] for r in rows(db, "Root")] == [["set", []], ["set", []]]
    assert rows(db, "Kid") == []


def test_weak_reference_survives_in_a_row_walked_before_the_deletion() -> None:
    """ovsdb-server 3.1 keeps a modified row's old weak reference to a row whose deletion
    it processes later in the same commit (here: a garbage-collected Kid)."""
    db = new_db()
    run(db, {"op": "insert", "table": "Kid", "row": {"v": 1}, "uuid-name": "k"},
        {"op": "insert", "table": "Root",
         "row": {"name": "a", "kids": ["named-uuid", "k"], "weak": ["named-uuid", "k"]}})
    run(db, {"op": "update", "table": "Root", "where": [], "row": {"kids": ["set", []]}})
    (root,) = rows(db, "Root")
    assert root["weak"][0] == "uuid"
    assert rows(db, "Kid") == []


def test_reference_to_missing_row_is_an_integrity_violation() -> None:
    db = new_db()
    result = run(db, {"op": "insert", "table": "Root",
                      "row": {"name": "a",
                              "kids": ["uuid", "12345678-1234-1234-1234-123456789012"]}})
    assert result[-1]["error"] == "referential integrity violation"
    assert rows(db, "Root") == []


def test_index_uniqueness_and_max_rows_are_checked_at_commit() -> None:
    db = new_db()
    dup = run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}},
              {"op": "insert", "table": "Root", "row": {"name": "a"}})
    assert dup[-1]["error"] == "constraint violation"
    assert "identical values (a)" in dup[-1]["details"]
    for name in ("a", "b", "c"):
        run(db, {"op": "insert", "table": "Root", "row": {"name": name}})
    over = run(db, {"op": "insert", "table": "Root", "row": {"name": "d"}})
    assert "greater than the schema-defined limit of 3" in over[-1]["details"]
    # Swapping two index keys in one transaction is fine.
    ok = run(db, {"op": "update", "table": "Root", "where": [["name", "==", "a"]],
                  "row": {"name": "tmp"}},
             {"op": "update", "table": "Root", "where": [["name", "==", "b"]],
              "row": {"name": "a"}},
             {"op": "update", "table": "Root", "where": [["name", "==", "tmp"]],
              "row": {"name": "b"}})
    assert all("error" not in r for r in ok)


def test_failed_transaction_changes_nothing() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}})
    result = run(db, {"op": "update", "table": "Root", "where": [], "row": {"n": 5}},
                 {"op": "abort"})
    assert result[-1] == {"error": "aborted", "details": "aborted by request"}
    assert rows(db, "Root")[0]["n"] == 0


def test_immutable_column_cannot_be_updated() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a", "frozen": "x"}})
    result = run(db, {"op": "update", "table": "Root", "where": [], "row": {"frozen": "y"}})
    assert result[0]["error"] == "constraint violation"


@pytest.mark.parametrize(
    ("mutations", "expected"),
    [
        ([["n", "+=", 3]], 3),
        ([["n", "+=", 7], ["n", "%=", 4]], 3),
        ([["n", "+=", 9], ["n", "/=", 2]], 4),
    ],
)
def test_integer_mutators(mutations: list[Any], expected: int) -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}})
    assert "error" not in run(db, {"op": "mutate", "table": "Root", "where": [],
                                   "mutations": mutations})[0]
    assert rows(db, "Root")[0]["n"] == expected


def test_mutation_errors() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}})
    div = run(db, {"op": "mutate", "table": "Root", "where": [], "mutations": [["n", "/=", 0]]})
    assert div[0]["error"] == "domain error"
    big = run(db, {"op": "mutate", "table": "Root", "where": [], "mutations": [["n", "+=", 11]]})
    assert big[0]["error"] == "constraint violation"


def test_map_insert_keeps_existing_values_and_delete_by_key() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root",
             "row": {"name": "a", "tags": ["map", [["x", 1], ["y", 2]]]}})
    run(db, {"op": "mutate", "table": "Root", "where": [],
             "mutations": [["tags", "insert", ["map", [["x", 9], ["z", 3]]]],
                           ["tags", "delete", ["set", ["y"]]]]})
    assert rows(db, "Root")[0]["tags"] == ["map", [["x", 1], ["z", 3]]]


def test_wait_blocks_until_timeout_then_fails() -> None:
    db = new_db()
    op = {"op": "wait", "table": "Root", "where": [], "columns": ["name"], "until": "==",
          "rows": [{"name": "a"}], "timeout": 1000}
    with pytest.raises(WouldBlock):
        execute(db, [op])
    assert execute(db, [op], expired=True).results[0]["error"] == "timed out"
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}})
    assert execute(db, [op]).results == [{}]


def test_update2_modify_carries_only_changed_columns_as_differences() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root",
             "row": {"name": "a", "tags": ["map", [["x", 1], ["y", 2]]]}})
    monitor = Monitor(db, "m", 2, parse_monitor_requests(db, {"Root": {}}, True))
    result = execute(db, [{"op": "mutate", "table": "Root", "where": [],
                           "mutations": [["tags", "delete", ["set", ["x"]]]]}])
    assert result.changes is not None
    db.apply(result.changes)
    (update,) = monitor.updates(result.changes)["Root"].values()
    modify = update["modify"]
    assert set(modify) == {"tags", "_version"}
    assert modify["tags"] == ["map", [["x", 1]]]


def test_monitor_condition_turns_modify_into_insert_and_delete() -> None:
    db = new_db()
    run(db, {"op": "insert", "table": "Root", "row": {"name": "a"}})
    monitor = Monitor(db, "m", 2, parse_monitor_requests(
        db, {"Root": {"where": [["n", ">", 2]], "columns": ["n"]}}, True))
    assert monitor.initial() == {}
    result = execute(db, [{"op": "update", "table": "Root", "where": [], "row": {"n": 5}}])
    assert result.changes is not None
    db.apply(result.changes)
    (update,) = monitor.updates(result.changes)["Root"].values()
    assert update == {"insert": {"n": 5}}
    result = execute(db, [{"op": "update", "table": "Root", "where": [], "row": {"n": 1}}])
    assert result.changes is not None
    db.apply(result.changes)
    (update,) = monitor.updates(result.changes)["Root"].values()
    assert update == {"delete": None}


# --- properties ------------------------------------------------------------------------

STRING_SET = Type.from_json({"key": "string", "min": 0, "max": "unlimited"})
INT_MAP = Type.from_json({"key": "string", "value": "integer", "min": 0, "max": "unlimited"})
small_strings = st.text(alphabet="abcdef", max_size=3)


@given(st.sets(small_strings), st.sets(small_strings))
def test_set_diff_applied_to_old_gives_new(old: set[str], new: set[str]) -> None:
    a, b = tuple(sorted(old)), tuple(sorted(new))
    assert datum_apply_diff(STRING_SET, a, datum_diff(STRING_SET, a, b)) == b


@given(st.dictionaries(small_strings, st.integers(-3, 3)),
       st.dictionaries(small_strings, st.integers(-3, 3)))
def test_map_diff_applied_to_old_gives_new(old: dict[str, int], new: dict[str, int]) -> None:
    a = dict(sorted(old.items()))
    b = dict(sorted(new.items()))
    assert datum_apply_diff(INT_MAP, a, datum_diff(INT_MAP, a, b)) == b


@given(st.dictionaries(small_strings, st.integers(-(2**63), 2**63 - 1)))
def test_map_json_round_trip(value: dict[str, int]) -> None:
    internal = datum_from_json(INT_MAP, ["map", [[k, v] for k, v in value.items()]])
    assert datum_from_json(INT_MAP, datum_to_json(INT_MAP, internal)) == internal


operations = st.lists(
    st.one_of(
        st.builds(lambda name, n: {"op": "insert", "table": "Root",
                                   "row": {"name": name, "n": n}},
                  small_strings, st.integers(0, 10)),
        st.builds(lambda name, n: {"op": "update", "table": "Root",
                                   "where": [["name", "==", name]], "row": {"n": n}},
                  small_strings, st.integers(0, 10)),
        st.builds(lambda name, k: {"op": "mutate", "table": "Root",
                                   "where": [["name", "==", name]],
                                   "mutations": [["tags", "insert", ["map", [[k, 1]]]]]},
                  small_strings, small_strings),
        st.builds(lambda name: {"op": "delete", "table": "Root",
                                "where": [["name", "==", name]]}, small_strings),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_replaying_the_log_records_rebuilds_the_same_database(ops: list[dict[str, Any]]) -> None:
    db = new_db()
    replica = new_db()
    for op in ops:
        result = execute(db, [op])
        if result.changes:
            record = db.changes_to_record(result.changes)
            db.apply(result.changes)
            replica.apply_log_record(json.loads(json.dumps(record)))
    assert replica.snapshot_record() == db.snapshot_record()
