"""select / update / delete, and where-clauses with every function on every type."""

from __future__ import annotations

from typing import Any

from .common import (
    FAKE_UUID,
    Case,
    Script,
    delete,
    ins,
    omap,
    oset,
    populate,
    select,
    update,
    uuid,
)

ORDERED = ["==", "!=", "<", "<=", ">", ">=", "includes", "excludes"]
EQUALITY = ["==", "!=", "includes", "excludes"]
FUNC_NAMES = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
              "includes": "includes", "excludes": "excludes"}

# column -> (functions that apply, probe values)
PROBES: dict[str, tuple[list[str], list[Any]]] = {
    "i": (ORDERED, [1, 2, -1]),
    "r": (ORDERED, [0.0, 2.5, 0]),
    "b": (EQUALITY, [True, False]),
    "s": (EQUALITY, ["beta", "", "nope"]),
    "u": (EQUALITY, [uuid("00000000-0000-0000-0000-000000000000"), uuid(FAKE_UUID)]),
    "ie": (EQUALITY, [2, oset(), oset(1)]),
    "opt_i": (EQUALITY, [1, oset(), oset(2)]),
    "set_s": (EQUALITY, [oset("x"), oset(), oset("x", "y"), "y"]),
    "set_i": (EQUALITY, [oset(2), oset(1, 2), oset()]),
    "set_u": (EQUALITY, [oset(uuid(FAKE_UUID)), oset()]),
    "map_ss": (EQUALITY, [omap(("a", "2")), omap(("b", "2")), omap(), omap(("a", "1"))]),
    "map_ii": (EQUALITY, [omap((1, 10)), omap((1, 10), (2, 20)), omap()]),
}

# (column, function, value) that the server must reject
BAD_WHERE: list[Any] = [
    ["s", "<", "a"],
    ["b", ">", True],
    ["set_i", "<", oset(1)],
    ["map_ss", ">=", omap()],
    ["u", "<=", uuid(FAKE_UUID)],
    ["i", "==", "1"],
    ["i", "~=", 1],
    ["nope", "==", 1],
    ["i", "=="],
    ["i", "==", 1, 2],
    "i == 1",
    ["i", 7, 1],
    [1, "==", 1],
    ["irange", "==", 1000],
    ["opt_i", "==", oset(1, 2)],
    ["_uuid", "==", "x"],
]


def _where_cases() -> list[Case]:
    cases: list[Case] = []
    for col, (funcs, values) in PROBES.items():
        for f in funcs:
            s = Script(f"where-{col}-{FUNC_NAMES[f]}")
            populate(s)
            s.tx(*[select("Atoms", [[col, f, v]], ["i"]) for v in values])
            cases.append(s.case())
    for n, cond in enumerate(BAD_WHERE):
        s = Script(f"where-invalid-{n}")
        populate(s)
        s.tx(select("Atoms", [cond], ["i"]))
        cases.append(s.case())
    s = Script("where-uuid-column")
    s.tx(ins("Atoms", {"i": 7}, "x"), ins("Atoms", {"i": 8}, "y"))
    s.tx(select("Atoms", [["_uuid", "==", ["named-uuid", "x"]]], ["i"]))
    cases.append(s.case())
    s = Script("where-uuid-column-in-same-txn")
    s.tx(ins("Atoms", {"i": 7}, "x"), ins("Atoms", {"i": 8}, "y"),
         select("Atoms", [["_uuid", "==", ["named-uuid", "x"]]], ["i"]),
         select("Atoms", [["_uuid", "!=", ["named-uuid", "x"]]], ["i"]))
    cases.append(s.case())
    s = Script("where-multiple-clauses")
    populate(s)
    s.tx(select("Atoms", [["i", ">", 0], ["b", "==", True]], ["i"]),
         select("Atoms", [["i", ">", 0], ["i", "<", 0]], ["i"]),
         select("Atoms", [["set_s", "includes", "x"], ["map_ii", "excludes", omap((2, 20))]],
                ["i"]))
    cases.append(s.case())
    s = Script("where-not-array")
    populate(s)
    s.tx({"op": "select", "table": "Atoms", "where": {"i": 1}})
    cases.append(s.case())
    s = Script("where-missing")
    populate(s)
    s.tx({"op": "select", "table": "Atoms"})
    s.tx({"op": "delete", "table": "Atoms"})
    s.tx({"op": "update", "table": "Atoms", "row": {"i": 5}})
    cases.append(s.case())
    return cases


def _select_cases() -> list[Case]:
    cases: list[Case] = []
    for n, cols in enumerate([None, [], ["_uuid"], ["_version"], ["_uuid", "_version", "i"],
                              ["s", "s"], ["eph", "imm"], ["nope"], "i", [1]]):
        s = Script(f"select-columns-{n}")
        populate(s)
        op = select("Atoms", [["i", "<=", 1]])
        if cols is not None:
            op["columns"] = cols
        s.tx(op)
        cases.append(s.case())
    s = Script("select-empty-table")
    s.tx(select("Atoms"), select("Leaf", [["name", "==", "x"]]))
    cases.append(s.case())
    s = Script("select-unknown-table")
    s.tx(select("Nope"))
    cases.append(s.case())
    s = Script("select-version-changes-on-update")
    s.tx(ins("Atoms", {"i": 1}))
    s.tx(select("Atoms", [], ["_version", "i"]))
    s.tx(update("Atoms", [], {"i": 2}), select("Atoms", [], ["_version", "i"]))
    s.tx(update("Atoms", [], {"i": 2}), select("Atoms", [], ["_version", "i"]))
    cases.append(s.case())
    return cases


def _update_delete_cases() -> list[Case]:
    cases: list[Case] = []
    updates: list[tuple[str, list[Any], dict[str, Any]]] = [
        ("all", [], {"s": "new"}),
        ("where", [["i", ">=", 2]], {"b": True, "set_s": oset("q")}),
        ("none-match", [["i", "==", 99]], {"s": "x"}),
        ("same-value", [], {"i": 1}),
        ("map-set", [["i", "==", 1]], {"map_ss": omap(("z", "z"))}),
        ("optional-clear", [], {"opt_i": oset()}),
        ("immutable", [["i", "==", 1]], {"imm": "changed"}),
        ("immutable-same", [["i", "==", 1]], {"imm": "one"}),
        ("uuid", [], {"_uuid": uuid(FAKE_UUID)}),
        ("version", [], {"_version": uuid(FAKE_UUID)}),
        ("unknown-column", [], {"nope": 1}),
        ("bad-type", [], {"i": "x"}),
        ("constraint", [], {"irange": 101}),
        ("enum", [], {"se": "pink"}),
        ("empty-row", [], {}),
        ("ephemeral", [], {"eph": 5}),
        ("set-too-big", [], {"set3_i": oset(1, 2, 3, 4)}),
    ]
    for name, where, row in updates:
        s = Script(f"update-{name}")
        populate(s)
        s.tx(update("Atoms", where, row))
        shown = ["i", *sorted(k for k in row if not k.startswith("_") and k not in ("nope", "i"))]
        s.tx(select("Atoms", [], shown))
        cases.append(s.case())
    s = Script("update-row-missing")
    s.tx({"op": "update", "table": "Atoms", "where": []})
    cases.append(s.case())
    s = Script("update-twice-in-txn")
    populate(s)
    s.tx(update("Atoms", [["i", "==", 1]], {"i": 10}), update("Atoms", [["i", "==", 10]],
                                                              {"s": "ten"}),
         select("Atoms", [], ["i", "s"]))
    cases.append(s.case())
    s = Script("update-inserted-row-same-txn")
    s.tx(ins("Atoms", {"i": 5}), update("Atoms", [["i", "==", 5]], {"s": "five"}),
         select("Atoms", [], ["i", "s"]))
    cases.append(s.case())
    deletes: list[tuple[str, list[Any]]] = [
        ("all", []), ("some", [["b", "==", True]]), ("none", [["i", "<", -9]]),
        ("bad", [["i", "<", "x"]])]
    for name, where in deletes:
        s = Script(f"delete-{name}")
        populate(s)
        s.tx(delete("Atoms", where))
        s.tx(select("Atoms", [], ["i"]))
        cases.append(s.case())
    s = Script("delete-then-select-same-txn")
    populate(s)
    s.tx(delete("Atoms", [["i", "==", 0]]), select("Atoms", [], ["i"]),
         delete("Atoms", [["i", "==", 0]]))
    cases.append(s.case())
    s = Script("delete-inserted-same-txn")
    s.tx(ins("Atoms", {"i": 5}), delete("Atoms", []), select("Atoms", [], ["i"]))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case())
    s = Script("delete-unknown-table")
    s.tx(delete("Nope"))
    cases.append(s.case())
    return cases


CASES: list[Case] = _where_cases() + _select_cases() + _update_delete_cases()
