"""Strong and weak references, garbage collection, indexes, maxRows, commit-time errors."""

from __future__ import annotations

from .common import (
    FAKE_UUID,
    Case,
    Script,
    delete,
    ins,
    mutate,
    named,
    omap,
    oset,
    select,
    update,
    uuid,
)

ALL_PC = [select("Parent", [], ["name", "children", "weak", "one", "named"]),
          select("Child", [], ["name", "next"])]


def _ref_cases() -> list[Case]:
    cases: list[Case] = []

    s = Script("ref-strong-insert-and-select")
    s.tx(ins("Child", {"name": "c1"}, "c1"), ins("Child", {"name": "c2"}, "c2"),
         ins("Parent", {"name": "p", "children": oset(named("c1"), named("c2")),
                        "one": named("c1"), "named": omap(("x", named("c2")))}))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-strong-delete-referenced-child")
    s.tx(ins("Child", {"name": "c1"}, "c1"), ins("Parent", {"name": "p", "one": named("c1")}))
    s.tx(delete("Child", []))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-strong-delete-referenced-root")
    s.tx(ins("Leaf", {"name": "l"}, "l"), ins("Parent", {"name": "p", "leaf": named("l")}))
    s.tx(delete("Leaf", []))
    s.tx(delete("Leaf", []), delete("Parent", []))
    s.tx(select("Leaf", [], ["name"]))
    cases.append(s.case())

    s = Script("ref-strong-multiple-references-count")
    s.tx(ins("Leaf", {"name": "l"}, "l"), ins("Parent", {"name": "p1", "leaf": named("l")}),
         ins("Parent", {"name": "p2", "leaf": named("l")}))
    s.tx(delete("Leaf", []))
    cases.append(s.case())

    s = Script("ref-strong-dangling-uuid")
    s.tx(ins("Parent", {"name": "p", "one": uuid(FAKE_UUID)}))
    s.tx(ins("Parent", {"name": "p", "children": oset(uuid(FAKE_UUID))}))
    s.tx(ins("Parent", {"name": "p", "named": omap(("k", uuid(FAKE_UUID)))}))
    s.tx(select("Parent", [], ["name"]))
    cases.append(s.case())

    s = Script("ref-strong-to-row-deleted-same-txn")
    s.tx(ins("Leaf", {"name": "l"}, "l"))
    s.tx(select("Leaf", [], ["_uuid"]))
    s.tx(ins("Leaf", {"name": "m"}, "m"), ins("Parent", {"name": "p", "leaf": named("m")}),
         delete("Leaf", [["name", "==", "m"]]))
    cases.append(s.case())

    s = Script("ref-gc-unreferenced-child-on-insert")
    s.tx(ins("Child", {"name": "orphan"}))
    s.tx(select("Child", [], ["name"]))
    cases.append(s.case())

    s = Script("ref-gc-child-when-parent-deleted")
    s.tx(ins("Child", {"name": "c"}, "c"), ins("Parent", {"name": "p", "children": named("c")}))
    s.tx(delete("Parent", []))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-gc-child-when-reference-removed")
    s.tx(ins("Child", {"name": "c"}, "c"), ins("Child", {"name": "d"}, "d"),
         ins("Parent", {"name": "p", "children": oset(named("c"), named("d"))}))
    s.tx(update("Parent", [], {"children": oset()}))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-gc-child-shared-by-two-parents")
    s.tx(ins("Child", {"name": "c"}, "c"),
         ins("Parent", {"name": "p1", "children": named("c")}),
         ins("Parent", {"name": "p2", "one": named("c")}))
    s.tx(delete("Parent", [["name", "==", "p1"]]))
    s.tx(*ALL_PC)
    s.tx(delete("Parent", []))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-gc-chain")
    s.tx(ins("Child", {"name": "c3"}, "c3"), ins("Child", {"name": "c2", "next": named("c3")},
                                                 "c2"),
         ins("Child", {"name": "c1", "next": named("c2")}, "c1"),
         ins("Parent", {"name": "p", "one": named("c1")}))
    s.tx(*ALL_PC)
    s.tx(update("Parent", [], {"one": oset()}))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-gc-cycle")
    s.tx(ins("Child", {"name": "a", "next": named("b")}, "a"),
         ins("Child", {"name": "b", "next": named("a")}, "b"),
         ins("Parent", {"name": "p", "one": named("a")}))
    s.tx(*ALL_PC)
    s.tx(delete("Parent", []))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-gc-unreferenced-cycle-on-insert")
    s.tx(ins("Child", {"name": "a", "next": named("b")}, "a"),
         ins("Child", {"name": "b", "next": named("a")}, "b"))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-weak-removed-on-delete")
    s.tx(ins("Leaf", {"name": "l1"}, "l1"), ins("Leaf", {"name": "l2"}, "l2"),
         ins("Parent", {"name": "p", "wleaf": oset(named("l1"), named("l2"))}))
    s.tx(delete("Leaf", [["name", "==", "l1"]]))
    s.tx(select("Parent", [], ["wleaf"]), select("Leaf", [], ["name"]))
    cases.append(s.case())

    s = Script("ref-weak-dangling-on-insert-dropped")
    s.tx(ins("Parent", {"name": "p", "wleaf": oset(uuid(FAKE_UUID))}))
    s.tx(select("Parent", [], ["wleaf"]))
    cases.append(s.case())

    s = Script("ref-weak-does-not-keep-child")
    s.tx(ins("Child", {"name": "c"}, "c"), ins("Parent", {"name": "p", "weak": named("c")}))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-weak-and-strong-to-child")
    s.tx(ins("Child", {"name": "c"}, "c"),
         ins("Parent", {"name": "p", "weak": named("c"), "one": named("c")}))
    s.tx(*ALL_PC)
    s.tx(update("Parent", [], {"one": oset()}))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-weak-min-violated")
    s.tx(ins("Leaf", {"name": "l"}, "l"), ins("WeakMin", {"name": "w", "target": named("l")}))
    s.tx(delete("Leaf", []))
    s.tx(select("WeakMin", [], ["name", "target"]), select("Leaf", [], ["name"]))
    cases.append(s.case())

    s = Script("ref-weak-min-dangling-insert")
    s.tx(ins("WeakMin", {"name": "w", "target": uuid(FAKE_UUID)}))
    s.tx(ins("WeakMin", {"name": "w"}))
    s.tx(select("WeakMin", [], ["name", "target"]))
    cases.append(s.case())

    s = Script("ref-wrong-table")
    s.tx(ins("Leaf", {"name": "l"}, "l"), ins("Parent", {"name": "p", "one": named("l")}))
    s.tx(select("Parent", [], ["name"]))
    cases.append(s.case())

    s = Script("ref-mutate-insert-ref")
    s.tx(ins("Child", {"name": "c"}, "c"), ins("Parent", {"name": "p", "one": named("c")}))
    s.tx(ins("Child", {"name": "d"}, "d"),
         mutate("Parent", [], [["children", "insert", oset(named("d"))]]))
    s.tx(mutate("Parent", [], [["children", "insert", oset(uuid(FAKE_UUID))]]))
    s.tx(*ALL_PC)
    cases.append(s.case())

    s = Script("ref-mutate-delete-ref-gc")
    s.tx(ins("Child", {"name": "c"}, "c"), ins("Parent", {"name": "p", "children": named("c")}))
    s.tx(select("Child", [], ["_uuid"]))
    s.tx(mutate("Parent", [], [["children", "delete", oset()]]))
    s.tx(*ALL_PC)
    cases.append(s.case())
    return cases


def _constraint_cases() -> list[Case]:
    cases: list[Case] = []
    s = Script("index-duplicate-in-txn")
    s.tx(ins("Parent", {"name": "p"}), ins("Parent", {"name": "p"}))
    s.tx(select("Parent", [], ["name"]))
    cases.append(s.case())

    s = Script("index-duplicate-existing")
    s.tx(ins("Parent", {"name": "p"}))
    s.tx(ins("Parent", {"name": "p"}))
    s.tx(ins("Parent", {"name": "q"}), update("Parent", [["name", "==", "q"]], {"name": "p"}))
    s.tx(select("Parent", [], ["name"]))
    cases.append(s.case())

    s = Script("index-swap-in-txn")
    s.tx(ins("Parent", {"name": "a"}), ins("Parent", {"name": "b"}))
    s.tx(update("Parent", [["name", "==", "a"]], {"name": "tmp"}),
         update("Parent", [["name", "==", "b"]], {"name": "a"}),
         update("Parent", [["name", "==", "tmp"]], {"name": "b"}))
    s.tx(select("Parent", [], ["name"]))
    cases.append(s.case())

    s = Script("index-delete-and-reinsert-in-txn")
    s.tx(ins("Parent", {"name": "a"}))
    s.tx(delete("Parent", []), ins("Parent", {"name": "a"}))
    s.tx(select("Parent", [], ["name"]))
    cases.append(s.case())

    s = Script("index-multi-column")
    s.tx(ins("Leaf", {"name": "x", "a": 1, "b": "b"}), ins("Leaf", {"name": "y", "a": 1,
                                                                    "b": "c"}))
    s.tx(ins("Leaf", {"name": "z", "a": 1, "b": "b"}))
    s.tx(ins("Leaf", {"name": "x", "a": 2, "b": "b"}))
    s.tx(select("Leaf", [], ["name", "a", "b"]))
    cases.append(s.case())

    s = Script("index-two-violations")
    s.tx(ins("Leaf", {"name": "x", "a": 1}), ins("Leaf", {"name": "x", "a": 1}))
    cases.append(s.case())

    s = Script("index-default-values-collide")
    s.tx(ins("Parent", {}), ins("Parent", {}))
    cases.append(s.case())

    s = Script("maxrows")
    s.tx(ins("Limited", {"name": "1"}), ins("Limited", {"name": "2"}))
    s.tx(ins("Limited", {"name": "3"}))
    s.tx(delete("Limited", [["name", "==", "1"]]), ins("Limited", {"name": "3"}))
    s.tx(select("Limited", [], ["name"]))
    cases.append(s.case())

    s = Script("maxrows-in-one-txn")
    s.tx(ins("Limited", {}), ins("Limited", {}), ins("Limited", {}))
    s.tx(select("Limited", [], ["name"]))
    cases.append(s.case())

    s = Script("commit-error-after-ok-ops")
    s.tx(select("Atoms", [], ["i"]), ins("Leaf", {"name": "x"}), ins("Leaf", {"name": "x"}),
         {"op": "comment", "comment": "c"})
    cases.append(s.case())

    s = Script("commit-error-ref-and-index")
    s.tx(ins("Leaf", {"name": "x"}), ins("Leaf", {"name": "x"}),
         ins("Parent", {"name": "p", "leaf": uuid(FAKE_UUID)}))
    cases.append(s.case())
    return cases


CASES: list[Case] = _ref_cases() + _constraint_cases()
