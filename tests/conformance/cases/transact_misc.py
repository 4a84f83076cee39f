"""wait, commit, abort, comment, assert; malformed transact parameters and operations."""

from __future__ import annotations

from typing import Any

from .common import Case, Script, ins, omap, oset, populate, select, update, wait


def _wait_cases() -> list[Case]:
    cases: list[Case] = []
    waits: list[tuple[str, dict[str, Any]]] = [
        ("eq-true", wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "beta"}], 0)),
        ("eq-false", wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "nope"}], 0)),
        ("ne-true", wait("Atoms", [["i", "==", 1]], ["s"], "!=", [{"s": "nope"}], 0)),
        ("ne-false", wait("Atoms", [["i", "==", 1]], ["s"], "!=", [{"s": "beta"}], 0)),
        ("eq-multi-rows", wait("Atoms", [["i", "<=", 1]], ["i", "b"], "==",
                               [{"i": 1, "b": True}, {"i": 0, "b": False}], 0)),
        ("eq-rows-subset", wait("Atoms", [["i", "<=", 1]], ["i"], "==", [{"i": 1}], 0)),
        ("eq-empty", wait("Atoms", [["i", ">", 10]], ["i"], "==", [], 0)),
        ("eq-dup-rows", wait("Atoms", [["i", "==", 1]], ["i"], "==", [{"i": 1}, {"i": 1}], 0)),
        ("no-timeout-satisfied", wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "beta"}])),
        ("no-columns", {"op": "wait", "table": "Atoms", "where": [], "until": "==",
                        "rows": [{"i": 0}, {"i": 1}, {"i": 2}, {"i": 3}], "timeout": 0}),
        ("set-column", wait("Atoms", [["i", "==", 2]], ["set_s"], "==",
                            [{"set_s": oset("y", "x")}], 0)),
        ("map-column", wait("Atoms", [["i", "==", 1]], ["map_ss"], "==",
                            [{"map_ss": omap(("b", "1"), ("a", "2"))}], 0)),
        ("bad-until", wait("Atoms", [], ["i"], "<", [], 0)),
        ("bad-column", wait("Atoms", [], ["nope"], "==", [], 0)),
        ("row-column-not-in-columns", wait("Atoms", [], ["i"], "==", [{"s": "x"}], 0)),
        ("bad-row-value", wait("Atoms", [], ["i"], "==", [{"i": "x"}], 0)),
        ("negative-timeout", wait("Atoms", [], ["i"], "==", [], -1)),
        ("timeout-not-int", wait("Atoms", [], ["i"], "==", [], "x")),  # type: ignore[arg-type]
        ("missing-rows", {"op": "wait", "table": "Atoms", "where": [], "columns": [],
                          "until": "==", "timeout": 0}),
        ("missing-until", {"op": "wait", "table": "Atoms", "where": [], "columns": [],
                           "rows": [], "timeout": 0}),
        ("unknown-table", wait("Nope", [], [], "==", [], 0)),
    ]
    for name, op in waits:
        s = Script(f"wait-{name}")
        populate(s)
        s.tx(op, select("Atoms", [["i", "==", 1]], ["s"]))
        cases.append(s.case())

    s = Script("wait-small-timeout-expires")
    populate(s)
    rid = s.tx_send(wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "never"}], 100))
    s.wait_id(0, rid, 5.0)
    cases.append(s.case())

    s = Script("wait-satisfied-by-other-client", clients=2)
    populate(s)
    rid = s.tx_send(wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "later"}], 5000),
                    ins("Atoms", {"i": 100}))
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "later"}), c=1)
    s.wait_id(0, rid, 5.0)
    s.tx(select("Atoms", [["i", ">=", 1]], ["i", "s"]), c=1)
    cases.append(s.case())

    s = Script("wait-ne-satisfied-by-other-client", clients=2)
    populate(s)
    rid = s.tx_send(wait("Atoms", [["i", "==", 1]], ["s"], "!=", [{"s": "beta"}], 5000))
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "gone"}), c=1)
    s.wait_id(0, rid, 5.0)
    cases.append(s.case())

    s = Script("wait-cancelled", clients=2)
    populate(s)
    rid = s.tx_send(wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "x"}], 10000))
    s.send(0, "cancel", [rid], notify=True)
    s.wait_id(0, rid, 1.0)
    s.tx(select("Atoms", [["i", "==", 1]], ["s"]))
    cases.append(s.case())

    s = Script("wait-cancel-unknown-id")
    s.send(0, "cancel", [12345], notify=True)
    s.recv(0)
    s.send(0, "cancel", [], notify=True)
    s.recv(0)
    s.send(0, "cancel", [1, 2], notify=True)
    s.recv(0)
    cases.append(s.case())

    s = Script("wait-pending-then-disconnect", clients=2)
    populate(s)
    s.tx_send(wait("Atoms", [["i", "==", 1]], ["s"], "==", [{"s": "x"}], 10000))
    s.close(0)
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "x"}), select("Atoms", [], ["i"]), c=1)
    cases.append(s.case())
    return cases


def _misc_cases() -> list[Case]:
    cases: list[Case] = []
    for durable in (True, False):
        s = Script(f"commit-durable-{str(durable).lower()}")
        s.tx(ins("Atoms", {"i": 1}), {"op": "commit", "durable": durable},
             select("Atoms", [], ["i"]))
        cases.append(s.case())
    for n, bad in enumerate([{"op": "commit"}, {"op": "commit", "durable": 1}]):
        s = Script(f"commit-malformed-{n}")
        s.tx(ins("Atoms", {"i": 1}), bad)
        s.tx(select("Atoms", [], ["i"]))
        cases.append(s.case())

    s = Script("abort")
    populate(s)
    s.tx(ins("Atoms", {"i": 9}), {"op": "abort"}, select("Atoms", [], ["i"]))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case())

    s = Script("abort-first")
    s.tx({"op": "abort"}, ins("Atoms", {"i": 9}))
    cases.append(s.case())

    for n, comment in enumerate(["hello", "", 7]):
        s = Script(f"comment-{n}")
        s.tx({"op": "comment", "comment": comment}, ins("Atoms", {"i": 1}))
        cases.append(s.case())

    s = Script("comment-only")
    s.tx({"op": "comment", "comment": "nothing else"})
    cases.append(s.case())

    s = Script("assert-without-lock")
    s.tx({"op": "assert", "lock": "mylock"}, ins("Atoms", {"i": 1}))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case(), )

    s = Script("assert-with-lock", fresh=True)
    s.call(0, "lock", "mylock")
    s.tx({"op": "assert", "lock": "mylock"}, ins("Atoms", {"i": 1}))
    s.tx({"op": "assert", "lock": "other"})
    s.call(0, "unlock", "mylock")
    s.tx({"op": "assert", "lock": "mylock"})
    cases.append(s.case())

    s = Script("assert-lock-held-by-other", clients=2, fresh=True)
    s.call(1, "lock", "L")
    s.call(0, "lock", "L")
    s.tx({"op": "assert", "lock": "L"})
    s.tx({"op": "assert", "lock": "L"}, c=1)
    s.close(1)
    s.wait_method(0, "locked")
    s.tx({"op": "assert", "lock": "L"})
    cases.append(s.case())

    for n, bad in enumerate([{"op": "assert"}, {"op": "assert", "lock": 1}]):
        s = Script(f"assert-malformed-{n}")
        s.tx(bad)
        cases.append(s.case())

    s = Script("transact-empty")
    s.tx()
    cases.append(s.case())

    bad_ops: list[Any] = [
        {"op": "nope", "table": "Atoms"},
        {"table": "Atoms"},
        {"op": 1},
        [],
        "insert",
        None,
        {"op": "select", "table": "Atoms", "where": [], "columns": ["i"], "extra": 1},
    ]
    for n, op in enumerate(bad_ops):
        s = Script(f"transact-bad-op-{n}")
        s.tx(ins("Atoms", {"i": 1}), op, ins("Atoms", {"i": 2}))
        s.tx(select("Atoms", [], ["i"]))
        cases.append(s.case())

    s = Script("transact-error-stops-later-ops")
    populate(s)
    s.tx(select("Atoms", [["i", "==", 0]], ["i"]), update("Atoms", [], {"nope": 1}),
         select("Atoms", [["i", "==", 1]], ["i"]), ins("Atoms", {"i": 5}))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case())

    s = Script("transact-results-every-op")
    s.tx(ins("Atoms", {"i": 1}, "a"), select("Atoms", [], ["i"]),
         update("Atoms", [], {"s": "x"}),
         {"op": "mutate", "table": "Atoms", "where": [], "mutations": [["i", "+=", 1]]},
         wait("Atoms", [], ["i"], "==", [{"i": 2}], 0), {"op": "comment", "comment": "c"},
         {"op": "commit", "durable": False}, {"op": "delete", "table": "Atoms", "where": []})
    cases.append(s.case())

    s = Script("transact-other-db-in-same-server", dbs=("conf", "nb"))
    s.tx(ins("Atoms", {"i": 1}))
    s.tx(ins("Logical_Switch", {"name": "ls"}), db="OVN_Northbound")
    s.tx(select("Logical_Switch", [], ["name"]), db="OVN_Northbound")
    s.tx(select("Logical_Switch", [], ["name"]))
    cases.append(s.case())
    return cases


CASES: list[Case] = _wait_cases() + _misc_cases()
