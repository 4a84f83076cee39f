"""Transactions without a server: the operations they send and how replies are read."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.idl import Replica, Transaction, TxnStatus

from .test_replica import C1, C2, P1, P2, helper, initial


def replica() -> Replica:
    r = Replica(helper())
    initial(r)
    r.take_changes()
    return r


def row(r: Replica, table: str, uuid: str) -> Any:
    found = r[table].get(uuid)
    assert found is not None
    return found


def test_verify_is_a_wait_on_the_value_the_replica_had() -> None:
    r = replica()
    p1 = row(r, "Parent", P1)
    txn = r.transaction()
    p1.verify("value")
    p1.verify("tags")
    p1.value = 8
    assert p1.value == 8  # the transaction's view
    ops = txn.build()
    assert ops is not None
    assert ops[0] == "IdlTest"
    assert ops[1] == {
        "op": "wait", "table": "Parent", "timeout": 0, "until": "==",
        "where": [["_uuid", "==", ["uuid", P1]]], "columns": ["tags", "value"],
        "rows": [{"tags": ["set", ["x", "y"]], "value": 7}],
    }
    assert ops[2] == {"op": "update", "table": "Parent",
                      "where": [["_uuid", "==", ["uuid", P1]]], "row": {"value": 8}}
    txn.close()
    assert p1.value == 7 and r.txn is None


def test_verify_keeps_the_value_read_even_if_the_replica_moves_on() -> None:
    r = replica()
    p1 = row(r, "Parent", P1)
    txn = r.transaction()
    p1.verify("value")
    r.apply_update2({"Parent": {P1: {"modify": {"value": 100}}}})
    p1.value = 8
    ops = txn.build()
    assert ops is not None and ops[1]["rows"] == [{"value": 7}]


def test_increment_mutates_then_selects_the_column() -> None:
    r = replica()
    p1 = row(r, "Parent", P1)
    txn = r.transaction()
    p1.name = "renamed"
    p1.increment("counter")
    ops = txn.build()
    assert ops is not None
    where = [["_uuid", "==", ["uuid", P1]]]
    assert ops[-2:] == [
        {"op": "mutate", "table": "Parent", "where": where, "mutations": [["counter", "+=", 1]]},
        {"op": "select", "table": "Parent", "where": where, "columns": ["counter"]},
    ]
    results = [{"count": 1}, {"count": 1}, {"rows": [{"counter": 42}]}]
    assert txn.process_reply(results) is TxnStatus.SUCCESS
    assert txn.increment_new_value == 42


def test_increment_alone_changes_nothing_as_in_ovs() -> None:
    r = replica()
    txn = r.transaction()
    row(r, "Parent", P1).increment("counter")
    assert txn.build() is None


def test_insert_with_references_uses_named_uuids() -> None:
    r = replica()
    txn = r.transaction()
    child = txn.insert("Child")
    child.name = "new"
    parent = txn.insert("Parent")
    parent.name = "p3"
    parent.children = [child, row(r, "Child", C1)]
    parent.best = child
    ops = txn.build()
    assert ops is not None
    named = "row" + child.uuid.replace("-", "_")
    inserts = {op["table"]: op for op in ops[1:]}
    assert inserts["Child"] == {"op": "insert", "table": "Child", "uuid-name": named,
                                "row": {"name": "new"}}
    prow = inserts["Parent"]["row"]
    assert prow["best"] == ["named-uuid", named]
    assert ["named-uuid", named] in prow["children"][1]
    assert ["uuid", C1] in prow["children"][1]
    results = [{"uuid": ["uuid", "aaaaaaaa-0000-0000-0000-000000000001"]},
               {"uuid": ["uuid", "aaaaaaaa-0000-0000-0000-000000000002"]}]
    assert txn.process_reply(results) is TxnStatus.SUCCESS
    assert txn.get_insert_uuid(child.uuid) == "aaaaaaaa-0000-0000-0000-000000000001"


def test_partial_set_and_map_mutations() -> None:
    r = replica()
    p1 = row(r, "Parent", P1)
    txn = r.transaction()
    p1.addvalue("tags", "z")
    p1.delvalue("tags", "x")
    p1.setkey("ext", "k", "v2")
    p1.delkey("ext", "old")
    ops = txn.build()
    assert ops is not None
    assert ops[1] == {"op": "mutate", "table": "Parent", "where": [["_uuid", "==", ["uuid", P1]]],
                      "mutations": [["tags", "insert", "z"], ["tags", "delete", "x"],
                                    ["ext", "delete", "k"],
                                    ["ext", "insert", ["map", [["k", "v2"]]]],
                                    ["ext", "delete", "old"]]}


def test_mutations_of_a_column_written_in_the_same_transaction_fold_into_the_write() -> None:
    r = replica()
    p1 = row(r, "Parent", P1)
    txn = r.transaction()
    p1.tags = ["a"]
    p1.addvalue("tags", "b")
    p1.setkey("ext", "k", "v")  # not written: stays a mutation
    ops = txn.build()
    assert ops is not None
    assert ops[1]["row"] == {"tags": ["set", ["a", "b"]]}
    assert ops[2]["op"] == "mutate"


def test_delete_root_rows_but_leave_non_root_ones_to_garbage_collection() -> None:
    r = replica()
    txn = r.transaction()
    row(r, "Parent", P2).delete()
    row(r, "Child", C2).delete()
    ops = txn.build()
    assert ops == ["IdlTest", {"op": "delete", "table": "Parent",
                               "where": [["_uuid", "==", ["uuid", P2]]]}]


def test_writing_the_same_value_is_unchanged() -> None:
    r = replica()
    txn = r.transaction()
    row(r, "Parent", P1).value = 7
    assert txn.build() is None


def test_lock_is_asserted_first() -> None:
    r = replica()
    txn = Transaction(r, lock_name="northd")
    row(r, "Parent", P1).value = 1
    ops = txn.build()
    assert ops is not None and ops[1] == {"op": "assert", "lock": "northd"}
    assert txn.process_reply([{"error": "not owner"}, None]) is TxnStatus.NOT_LOCKED


@pytest.mark.parametrize("results, status, error", [
    ([{}, {"error": "timed out"}, None], TxnStatus.TRY_AGAIN, ""),
    ([{"count": 1}, {"error": "constraint violation", "details": "duplicate name"}],
     TxnStatus.ERROR, "constraint violation: duplicate name"),
    ([{"count": 1}, {"error": "aborted"}], TxnStatus.SUCCESS, ""),
    ("nonsense", TxnStatus.ERROR, "not an array"),
    ([5], TxnStatus.ERROR, "not an object"),
    ([], TxnStatus.ERROR, "reply has 0 results"),
])
def test_reply_classification(results: Any, status: TxnStatus, error: str) -> None:
    r = replica()
    txn = r.transaction()
    p1 = row(r, "Parent", P1)
    p1.verify("value")
    p1.value = 1
    txn.build()
    assert txn.process_reply(results) is status
    assert error in txn.error


@pytest.mark.parametrize("column, value", [
    ("value", "seven"),
    ("value", 2**64),
    ("color", "purple"),  # not in the enum
    ("tags", [1, 2]),
    ("ext", ["not", "a", "map"]),
    ("ext", {"k": 1}),
    ("children", ["not-a-uuid"]),
    ("tags", ["a", 1]),
])
def test_bad_values_fail_at_the_write(column: str, value: Any) -> None:
    r = replica()
    r.transaction()
    with pytest.raises(ValueError):
        setattr(row(r, "Parent", P1), column, value)


def test_one_transaction_at_a_time_and_no_reuse() -> None:
    r = replica()
    txn = r.transaction()
    with pytest.raises(RuntimeError, match="already open"):
        r.transaction()
    txn.abort()
    assert txn.status is TxnStatus.ABORTED
    with pytest.raises(RuntimeError):
        txn.insert("Parent")
    r.transaction().close()


def test_deleted_rows_cannot_be_written() -> None:
    r = replica()
    txn = r.transaction()
    p1 = row(r, "Parent", P1)
    p1.delete()
    with pytest.raises(ValueError, match="deleted"):
        p1.value = 3
    txn.close()
