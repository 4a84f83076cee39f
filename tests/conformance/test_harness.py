"""The harness itself: normalisation must hide only what is legitimately arbitrary, and the
stream parser must cope with any framing."""

from __future__ import annotations

import shutil
import socket
import threading
from typing import Any

import pytest

from .harness import (
    REAL_CMD,
    Client,
    Script,
    ServerPool,
    compare_case,
    drop_details,
    normalise,
    summarise,
)

A = "11111111-1111-1111-1111-111111111111"
B = "22222222-2222-2222-2222-222222222222"
C = "0fffffff-ffff-ffff-ffff-ffffffffffff"


def _entry(*msgs: Any) -> list[dict[str, Any]]:
    return [{"client": 0, "msgs": list(msgs), "end": "ok"}]


def test_uuids_named_in_order_of_first_appearance() -> None:
    t1 = normalise(_entry({"id": 1, "result": [["uuid", A], ["uuid", B], ["uuid", A]]}))
    t2 = normalise(_entry({"id": 1, "result": [["uuid", C], ["uuid", A], ["uuid", C]]}))
    assert t1 == t2
    t3 = normalise(_entry({"id": 1, "result": [["uuid", C], ["uuid", A], ["uuid", A]]}))
    assert t1 != t3


def test_uuid_inside_text_and_zero_uuid_kept() -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    t = normalise(_entry({"id": 1, "result": [["uuid", A], f"row {A} and {zero}"]}))
    assert t[0]["msgs"][0]["result"][1] == f"row <uuid-1> and {zero}"


def test_rows_keyed_by_uuid_compare_regardless_of_order() -> None:
    def upd(x: str, y: str) -> dict[str, Any]:
        return {"method": "update2", "id": None,
                "params": ["m", {"T": {x: {"insert": {"n": 1}}, y: {"insert": {"n": 2}}}}]}

    assert normalise(_entry(upd(A, B))) == normalise(_entry(upd(C, A)))
    # ... but which row got which content still matters once the UUIDs are known
    known_a = {"id": 0, "result": [["uuid", A], ["uuid", B]]}
    t1 = normalise(_entry(known_a, upd(A, B)))
    t2 = normalise(_entry(known_a, upd(B, A)))
    assert t1 != t2


def test_select_rows_and_uuid_sets_unordered_but_plain_sets_ordered() -> None:
    r1 = {"id": 1, "result": [{"rows": [{"i": 1}, {"i": 2}]}]}
    r2 = {"id": 1, "result": [{"rows": [{"i": 2}, {"i": 1}]}]}
    assert normalise(_entry(r1)) == normalise(_entry(r2))
    s1 = {"id": 1, "result": ["set", [["uuid", A], ["uuid", B]]]}
    s2 = {"id": 1, "result": ["set", [["uuid", B], ["uuid", A]]]}
    assert normalise(_entry(s1)) == normalise(_entry(s2))
    p1 = {"id": 1, "result": ["set", ["a", "b"]]}
    p2 = {"id": 1, "result": ["set", ["b", "a"]]}
    assert normalise(_entry(p1)) != normalise(_entry(p2))


def test_reals_and_integers_are_distinct() -> None:
    assert normalise(_entry({"id": 1, "result": [1]})) != normalise(
        _entry({"id": 1, "result": [1.0]}))


def test_json_text_compared_parsed_and_timing_hidden() -> None:
    a = {"id": 1, "error": {"syntax": '{"a": 1, "b": [2]}', "details": "timed out after 101 ms"}}
    b = {"id": 1, "error": {"syntax": '{"b":[2],"a":1}', "details": "timed out after 99 ms"}}
    assert normalise(_entry(a)) == normalise(_entry(b))
    c = {"id": 1, "error": {"syntax": '{"b":[3],"a":1}', "details": "timed out after 99 ms"}}
    assert normalise(_entry(a)) != normalise(_entry(c))


def test_index_conflict_rows_in_any_order() -> None:
    known = {"id": 0, "result": [["uuid", A], ["uuid", B]]}
    head = ("Transaction causes multiple rows in \"T\" table to have identical values (1) for "
            "index on column \"k\".  ")
    ins = "was inserted by this transaction"
    old = "existed in the database before this transaction"
    m1 = f"{head}First row, with UUID {A}, {ins}.  Second row, with UUID {B}, {old}."
    m2 = f"{head}First row, with UUID {B}, {old}.  Second row, with UUID {A}, {ins}."
    m3 = f"{head}First row, with UUID {B}, {ins}.  Second row, with UUID {A}, {old}."
    t1 = normalise(_entry(known, {"id": 1, "details": m1}))
    assert t1 == normalise(_entry(known, {"id": 1, "details": m2}))
    assert t1 != normalise(_entry(known, {"id": 1, "details": m3}))


def test_details_dropped_only_in_loose_view() -> None:
    a = normalise(_entry({"id": 1, "result": [{"error": "e", "details": "x"}]}))
    b = normalise(_entry({"id": 1, "result": [{"error": "e", "details": "y"}]}))
    assert a != b
    assert drop_details(a) == drop_details(b)
    assert "msg 0" in summarise(a, b)


def _serve(data: list[bytes]) -> tuple[Client, threading.Thread]:
    a, b = socket.socketpair()
    client = Client.from_socket(a)

    def feed() -> None:
        for chunk in data:
            b.sendall(chunk)
        b.close()

    t = threading.Thread(target=feed)
    t.start()
    return client, t


@pytest.mark.parametrize("chunks", [
    [b'{"id":1,"result":"\xc3', b'\xa9"}{"id":2,', b'"result":[]}'],
    [b'{"id":1,"result":"\xc3\xa9"}\n', b'  {"id":2,"result":[]}'],
    [bytes([c]) for c in b'{"id":1,"result":"\xc3\xa9"}{"id":2,"result":[]}'],
])
def test_stream_parser_handles_any_split(chunks: list[bytes]) -> None:
    client, t = _serve(chunks)
    msgs, end = client.collect(until_id=2, timeout=5)
    t.join()
    assert msgs == [{"id": 1, "result": "é"}, {"id": 2, "result": []}]
    assert end == "ok"


def test_stream_parser_reports_eof() -> None:
    client, t = _serve([b'{"id":1,"result":1}{"id":'])
    msgs, end = client.collect(until_id=2, timeout=5)
    t.join()
    assert msgs == [{"id": 1, "result": 1}, {"$unparsed": "{\"id\":"}]
    assert end == "eof"


@pytest.mark.real
@pytest.mark.skipif(shutil.which("ovsdb-server") is None, reason="needs the real ovsdb-server")
def test_real_server_is_reproducible_and_differences_are_caught() -> None:
    s = Script("harness-selfcheck", clients=2)
    s.send(1, "monitor_cond", [s.db, "m", {"Atoms": [{"columns": ["i", "set_u"]}]}])
    s.recv(1)
    s.tx({"op": "insert", "table": "Atoms", "row": {"i": 1}, "uuid-name": "a"},
         {"op": "insert", "table": "Atoms", "row": {"i": 2, "set_u": ["set", [
             ["named-uuid", "a"], ["uuid", A]]]}})
    s.recv(1)
    s.tx({"op": "select", "table": "Atoms", "where": []})
    good = s.case()
    s.tx({"op": "insert", "table": "Atoms", "row": {"i": 3}})
    longer = s.case()
    ref, other = ServerPool(REAL_CMD), ServerPool(REAL_CMD)
    try:
        for _ in range(2):
            o = compare_case(good, ref, other)
            assert o.ok, o.summary()
        # Same steps except one more transaction: must not compare equal.
        from .harness import run_case

        t_good = normalise(run_case(ref.acquire(good), good))
        t_longer = normalise(run_case(other.acquire(longer), longer))
        assert t_good != t_longer
    finally:
        ref.close()
        other.close()
