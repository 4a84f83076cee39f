"""insert: every column type, valid and invalid values, uuid-name, explicit uuid."""

from __future__ import annotations

from typing import Any

from .common import FAKE_UUID, Case, Script, ins, named, omap, oset, select, uuid

MAXI = 2**63 - 1
MINI = -(2**63)

# column -> values that the schema accepts
VALID: dict[str, list[Any]] = {
    "i": [0, -1, MAXI, MINI, 42],
    "r": [0.5, -1e300, 1, 2.0, 1e-300, 3.141592653589793],
    "b": [True, False],
    "s": ["", "héllo ☃", "x" * 1000, "quote\"back\\slash\nnl", "\u0001"],
    "u": [uuid(FAKE_UUID), uuid("00000000-0000-0000-0000-000000000000")],
    "ie": [1, 3, oset(), oset(2)],
    "se": ["red", oset("blue")],
    "irange": [0, 100, 50],
    "imin": [-5, 7],
    "rrange": [-1.5, 2.5, 0, 1],
    "slen": ["ab", "abcde", "été"],
    "opt_i": [oset(), 5, oset(5)],
    "opt_s": [oset(), "x"],
    "opt_r": [1.5],
    "set_s": [oset("b", "a", "c"), oset(), "single", oset("a", "a")],
    "set_i": [oset(3, -1, 2, 10)],
    "set_r": [oset(2.5, -1, 0.25)],
    "set_b": [oset(True, False)],
    "set3_i": [oset(1, 2, 3)],
    "set12_i": [oset(9), oset(0, 9), 4],
    "set_u": [oset(uuid(FAKE_UUID), uuid("00000000-0000-0000-0000-000000000001"))],
    "map_ss": [omap(("k", "v"), ("a", "b")), ["map", []]],
    "map_ii": [omap((2, 20), (1, 10), (-3, 0))],
    "map_sr": [omap(("x", 1.5), ("y", 2))],
    "map_ib": [omap((1, True), (0, False))],
    "map_cons": [omap((1, "a"), (10, "b"))],
    "imm": ["fixed"],
    "eph": [99],
}

# column -> values that the schema rejects
INVALID: dict[str, list[Any]] = {
    "i": ["1", 1.5, True, None, oset(1, 2), [1], 2**63, 1e30],
    "r": ["x", True, oset(1.0, 2.0)],
    "b": [1, "true", None],
    "s": [1, None, ["uuid", FAKE_UUID], oset("a", "b")],
    "u": ["not-a-uuid", uuid("zzzz"), uuid(FAKE_UUID.upper()), FAKE_UUID, named("nope")],
    "ie": [0, 4, oset(1, 2)],
    "se": ["Red", "", oset("red", "green")],
    "irange": [-1, 101],
    "imin": [-6],
    "rrange": [-1.6, 2.51],
    "slen": ["a", "abcdef", ""],
    "opt_i": [oset(1, 2), "x"],
    "set3_i": [oset(1, 2, 3, 4)],
    "set12_i": [oset(), oset(1, 2, 3), 10],
    "set_s": [oset(1), ["set", "a"], ["set"], ["sett", []], ["set", [], 1]],
    "map_ss": [omap(("k", 1)), omap(("k", "a"), ("k", "b")), ["map", [["k"]]], oset("a"),
               ["map", "x"]],
    "map_sr": [omap(("a", 1.0), ("b", 2.0), ("c", 3.0))],
    "map_cons": [omap((0, "a")), omap((1, "c"))],
    "map_ib": [omap(("1", True))],
}


def _value_cases() -> list[Case]:
    cases: list[Case] = []
    for col, values in VALID.items():
        for n, v in enumerate(values):
            s = Script(f"insert-valid-{col}-{n}")
            s.tx(ins("Atoms", {col: v}, "a"))
            s.tx(select("Atoms", [], [col]))
            cases.append(s.case())
    for col, values in INVALID.items():
        for n, v in enumerate(values):
            s = Script(f"insert-invalid-{col}-{n}")
            s.tx(ins("Atoms", {col: v}))
            s.tx(select("Atoms", [], [col]))
            cases.append(s.case())
    return cases


def _misc_cases() -> list[Case]:
    cases: list[Case] = []

    s = Script("insert-default-row-select-all")
    s.tx(ins("Atoms", {}), ins("Atoms"))
    s.tx(select("Atoms"))
    cases.append(s.case())

    s = Script("insert-uuid-name-refs-in-same-txn")
    s.tx(ins("Atoms", {"i": 1}, "one"),
         ins("Atoms", {"i": 2, "u": named("one"), "set_u": oset(named("one"), named("two"))},
             "two"),
         select("Atoms", [], ["i", "u", "set_u"]))
    cases.append(s.case())

    s = Script("insert-named-uuid-forward-reference")
    s.tx(ins("Atoms", {"u": named("later")}), ins("Atoms", {"i": 7}, "later"),
         select("Atoms", [], ["i", "u"]))
    cases.append(s.case())

    s = Script("insert-unknown-named-uuid")
    s.tx(ins("Atoms", {"u": named("ghost")}))
    cases.append(s.case())

    s = Script("insert-duplicate-uuid-name")
    s.tx(ins("Atoms", {}, "dup"), ins("Atoms", {}, "dup"))
    cases.append(s.case())

    for n, bad in enumerate(["1abc", "", "a-b", 7, "_ok", "x" * 100]):
        s = Script(f"insert-uuid-name-syntax-{n}")
        s.tx(ins("Atoms", {}, bad))  # type: ignore[arg-type]
        s.tx(select("Atoms", [], ["i"]))
        cases.append(s.case())

    s = Script("insert-explicit-uuid")
    s.tx(ins("Atoms", {"i": 5}, uuid=FAKE_UUID), select("Atoms", [], ["_uuid", "i"]))
    cases.append(s.case())

    s = Script("insert-explicit-uuid-and-name")
    s.tx(ins("Atoms", {"i": 5}, "n", uuid=FAKE_UUID),
         ins("Atoms", {"u": named("n")}), select("Atoms", [], ["_uuid", "u"]))
    cases.append(s.case())

    s = Script("insert-explicit-uuid-duplicate-in-txn")
    s.tx(ins("Atoms", {"i": 1}, uuid=FAKE_UUID), ins("Atoms", {"i": 2}, uuid=FAKE_UUID))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case())

    s = Script("insert-explicit-uuid-existing-row")
    s.tx(ins("Atoms", {"i": 1}, uuid=FAKE_UUID))
    s.tx(ins("Atoms", {"i": 2}, uuid=FAKE_UUID))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case())

    for n, bad in enumerate(["nope", 7, FAKE_UUID.upper(), ["uuid", FAKE_UUID]]):
        s = Script(f"insert-explicit-uuid-invalid-{n}")
        s.tx(ins("Atoms", {"i": 1}, uuid=bad))
        cases.append(s.case())

    s = Script("insert-unknown-table")
    s.tx(ins("Nope", {}))
    cases.append(s.case())

    s = Script("insert-unknown-column")
    s.tx(ins("Atoms", {"nope": 1}))
    cases.append(s.case())

    for col in ("_uuid", "_version"):
        s = Script(f"insert-sets-{col}")
        s.tx(ins("Atoms", {col: uuid(FAKE_UUID)}))
        cases.append(s.case())

    s = Script("insert-row-not-object")
    s.tx({"op": "insert", "table": "Atoms", "row": [1]})
    cases.append(s.case())

    s = Script("insert-missing-table")
    s.tx({"op": "insert", "row": {}})
    cases.append(s.case())

    s = Script("insert-table-not-string")
    s.tx({"op": "insert", "table": 1, "row": {}})
    cases.append(s.case())

    s = Script("insert-extra-member")
    s.tx({"op": "insert", "table": "Atoms", "row": {}, "bogus": 1})
    cases.append(s.case())

    s = Script("insert-strict-defaults-violate")
    s.tx(ins("Strict", {}))
    s.tx(ins("Strict", {"color": "red"}))
    s.tx(ins("Strict", {"color": "green", "n": 10}), select("Strict", [], ["color", "n"]))
    cases.append(s.case())

    s = Script("insert-second-op-fails-rolls-back")
    s.tx(ins("Atoms", {"i": 1}), ins("Atoms", {"i": "bad"}), ins("Atoms", {"i": 3}))
    s.tx(select("Atoms", [], ["i"]))
    cases.append(s.case())

    s = Script("insert-many-rows")
    s.tx(*[ins("Atoms", {"i": k, "s": f"row{k}"}) for k in range(50)])
    s.tx(select("Atoms", [["i", ">=", 45]], ["i", "s"]))
    cases.append(s.case())

    s = Script("insert-into-every-table")
    s.tx(ins("Atoms", {}), ins("Parent", {"name": "p"}), ins("Child", {"name": "orphan"}),
         ins("Leaf", {"name": "l"}), ins("Limited", {"name": "x"}),
         ins("Strict", {"color": "red", "n": 1}), ins("WeakMin", {"name": "w"}))
    for t in ("Atoms", "Parent", "Child", "Leaf", "Limited", "Strict", "WeakMin"):
        s.tx(select(t))
    cases.append(s.case())
    return cases


CASES: list[Case] = _value_cases() + _misc_cases()
