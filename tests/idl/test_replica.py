"""The replica, without a server: applying updates, typed rows, change tracking, resyncs."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.idl import Replica, ReplicaError, SchemaHelper

from .servers import TEST_SCHEMA

P1 = "11111111-1111-1111-1111-111111111111"
P2 = "22222222-2222-2222-2222-222222222222"
C1 = "cccccccc-0000-0000-0000-000000000001"
C2 = "cccccccc-0000-0000-0000-000000000002"
GONE = "dddddddd-0000-0000-0000-000000000000"


def helper(**tables: list[str]) -> SchemaHelper:
    h = SchemaHelper.from_file(TEST_SCHEMA)
    if tables:
        for t, cols in tables.items():
            h.register_columns(t, cols)
    else:
        h.register_all()
    return h


def initial(replica: Replica) -> None:
    replica.apply_update2({
        "Child": {C1: {"initial": {"name": "c1", "weights": ["map", [["a", 1]]]}},
                  C2: {"initial": {"name": "c2"}}},
        "Parent": {
            P1: {"initial": {"name": "p1", "value": 7, "tags": ["set", ["x", "y"]],
                             "ext": ["map", [["k", "v"]]],
                             "children": ["set", [["uuid", C1], ["uuid", GONE]]],
                             "best": ["uuid", C2], "ratio": 2}},
            P2: {"initial": {"name": "p2", "tags": "solo"}},
        },
    })


def test_initial_rows_are_typed_with_defaults_and_resolved_references() -> None:
    r = Replica(helper())
    initial(r)
    p1 = r["Parent"].get(P1)
    assert p1 is not None
    assert (p1.name, p1.value, p1.flag, p1.ratio) == ("p1", 7, False, 2.0)
    assert isinstance(p1.ratio, float)
    assert p1.tags == ("x", "y") and p1.ext == {"k": "v"}
    assert p1.color == ()  # optional column left out: its default
    # The dangling reference is left out; the rows are the replica's own objects.
    assert p1.children == (r["Child"].get(C1),)
    assert p1.best == (r["Child"].get(C2),)
    assert p1.raw("children") == tuple(sorted((C1, GONE)))
    assert r["Parent"].get(P2).tags == ("solo",)  # type: ignore[union-attr]
    changes = r.take_changes()
    assert changes.counts() == {"Child": (2, 0, 0), "Parent": (2, 0, 0)}
    assert not r.take_changes()


def test_map_reads_are_copies_that_cannot_corrupt_the_replica() -> None:
    r = Replica(helper())
    initial(r)
    p1 = r["Parent"].get(P1)
    assert p1 is not None
    ext = p1.ext
    ext["k"] = "changed"
    assert p1.ext == {"k": "v"}


def test_unregistered_columns_are_not_replicated() -> None:
    r = Replica(helper(Parent=["name"]))
    r.apply_update2({"Parent": {P1: {"initial": {"name": "p1", "value": 3}}}})
    p1 = r["Parent"].get(P1)
    assert p1 is not None and p1.name == "p1"
    with pytest.raises(AttributeError):
        _ = p1.value
    assert "Child" not in r.tables


def test_modify_applies_update2_differences_and_tracks_old_values() -> None:
    r = Replica(helper())
    initial(r)
    r.take_changes()
    p1 = r["Parent"].get(P1)
    r.apply_update2({"Parent": {P1: {"modify": {
        "value": 8,
        "tags": ["set", ["y", "z"]],  # symmetric difference: y out, z in
        "ext": ["map", [["k", "v"], ["n", "1"]]],  # same value: removed; new key: added
        "color": "green",
    }}}})
    assert r["Parent"].get(P1) is p1  # modified in place
    assert p1 is not None
    assert (p1.value, p1.tags, p1.ext, p1.color) == (8, ("x", "z"), {"n": "1"}, ("green",))
    tc = r.take_changes()["Parent"]
    assert set(tc.modified) == {P1} and not tc.inserted and not tc.deleted
    assert tc.changed_columns(P1) == {"value", "tags", "ext", "color"}
    assert tc.old[P1]["value"] == 7 and tc.old[P1]["tags"] == ("x", "y")


def test_change_tracking_merges_batches_until_taken() -> None:
    r = Replica(helper())
    initial(r)  # P1, P2 inserted, not taken
    r.apply_update2({"Parent": {P1: {"modify": {"value": 9}}}})
    r.apply_update2({"Parent": {P2: {"delete": None}}})
    tc = r.take_changes()["Parent"]
    # Inserted then modified: still an insert; inserted then deleted: nothing at all.
    assert set(tc.inserted) == {P1} and not tc.modified and not tc.deleted
    r.apply_update2({"Parent": {P1: {"modify": {"value": 10}}}})
    r.apply_update2({"Parent": {P1: {"modify": {"value": 11, "name": "q"}}}})
    tc = r.take_changes()["Parent"]
    assert tc.old[P1] == {"value": 9, "name": "p1"}  # the first old value is kept
    p1 = r["Parent"].get(P1)
    r.apply_update2({"Parent": {P1: {"modify": {"value": 12}}}})
    r.apply_update2({"Parent": {P1: {"delete": None}}})
    tc = r.take_changes()["Parent"]
    assert tc.deleted == {P1: p1} and not tc.modified
    assert p1 is not None and p1.deleted and p1.value == 12


def test_full_resync_replaces_contents_and_reports_the_difference() -> None:
    r = Replica(helper())
    initial(r)
    r.take_changes()
    p1 = r["Parent"].get(P1)
    r.replace({
        "Child": {C1: {"initial": {"name": "c1", "weights": ["map", [["a", 1]]]}}},
        "Parent": {P1: {"initial": {"name": "p1", "value": 70,
                                    "tags": ["set", ["x", "y"]],
                                    "ext": ["map", [["k", "v"]]],
                                    "children": ["set", [["uuid", C1], ["uuid", GONE]]],
                                    "best": ["uuid", C2], "ratio": 2}},
                   P2: {"initial": {"name": "p2", "tags": "solo"}}},
    })
    changes = r.take_changes()
    assert r["Parent"].get(P1) is p1  # same object, updated in place
    assert p1 is not None and p1.value == 70
    assert changes["Parent"].changed_columns(P1) == {"value"}
    assert not changes["Parent"].inserted and not changes["Parent"].deleted
    assert set(changes["Child"].deleted) == {C2}  # gone while we were away
    assert r["Child"].get(C2) is None and p1.best == ()


def test_full_resync_with_nothing_left_empties_every_table() -> None:
    r = Replica(helper())
    initial(r)
    r.take_changes()
    r.replace({})
    assert r.row_count() == 0
    assert r.take_changes().counts() == {"Child": (0, 0, 2), "Parent": (0, 0, 2)}


def test_version1_updates() -> None:
    r = Replica(helper())
    r.apply_update({"Parent": {P1: {"new": {"name": "p1", "value": 1}}}})
    r.apply_update({"Parent": {P1: {"old": {"value": 1}, "new": {"name": "p1", "value": 2}}}})
    p1 = r["Parent"].get(P1)
    assert p1 is not None and p1.value == 2
    r.apply_update({"Parent": {P1: {"old": {"name": "p1", "value": 2}}}})
    assert r["Parent"].get(P1) is None
    assert r.take_changes().counts() == {}


@pytest.mark.parametrize("updates, message", [
    ([], "table-updates must be an object"),
    ({"Nope": {}}, "not replicated"),
    ({"Parent": []}, "must be an object"),
    ({"Parent": {P1: {"initial": {"value": "seven"}}}}, "column value"),
    ({"Parent": {P1: {"initial": {"tags": ["set", "x"]}}}}, "column tags"),
    ({"Parent": {P1: {"initial": {"best": ["uuid", "not-a-uuid"]}}}}, "column best"),
    ({"Parent": {P1: {"initial": []}}}, "expected an object"),
    ({"Parent": {P1: {"initial": {}, "insert": {}}}}, "bad row-update2"),
    ({"Parent": {P1: {"frob": {}}}}, "unknown update kind"),
    ({"Parent": {GONE: {"modify": {"value": 1}}}}, "modify of unknown row"),
    ({"Parent": {GONE: {"delete": None}}}, "delete of unknown row"),
    ({"Parent": {P1: {"modify": {"tags": 5}}}}, "column tags"),
])
def test_malformed_updates_raise_replica_errors(updates: Any, message: str) -> None:
    r = Replica(helper())
    initial(r)
    with pytest.raises(ReplicaError, match=message):
        r.apply_update2(updates)


def test_malformed_resync_leaves_the_replica_untouched() -> None:
    r = Replica(helper())
    initial(r)
    with pytest.raises(ReplicaError):
        r.replace({"Parent": {P1: {"modify": {"value": 1}}}})
    assert r.row_count() == 4


def test_schema_helper_rejects_unknown_names() -> None:
    h = SchemaHelper.from_file(TEST_SCHEMA)
    with pytest.raises(KeyError, match="no table"):
        h.register_table("Nope")
    with pytest.raises(KeyError, match="no column"):
        h.register_columns("Parent", ["name", "nope"])


def test_writes_without_a_transaction_are_refused() -> None:
    r = Replica(helper())
    initial(r)
    p1 = r["Parent"].get(P1)
    assert p1 is not None
    with pytest.raises(RuntimeError, match="no open transaction"):
        p1.value = 3


def test_omit_alert_columns_change_quietly() -> None:
    """A change to omitted-alert columns only updates the row: no change recorded, no new
    change_seqno, apply_update2 says so (northd copying "up" into NB must not wake itself);
    with another column in the same update it is a change like any other."""
    r = Replica(helper())
    initial(r)
    r.take_changes()
    r.omit_alert("Parent", "value")
    with pytest.raises(KeyError):
        r.omit_alert("Parent", "no_such_column")
    seqno = r.change_seqno
    assert r.apply_update2({"Parent": {P1: {"modify": {"value": 9}}}}) is False
    assert r["Parent"].get(P1).value == 9  # type: ignore[union-attr]
    assert r.change_seqno == seqno and not r.take_changes()
    assert r.apply_update2({"Parent": {P1: {"modify": {"value": 10, "name": "q"}}}}) is True
    changes = r.take_changes()
    assert changes.counts() == {"Parent": (0, 1, 0)}
    assert changes["Parent"].old[P1] == {"value": 9, "name": "p1"}
