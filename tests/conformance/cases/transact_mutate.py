"""mutate: every mutator on integers, reals, sets and maps, and its errors."""

from __future__ import annotations

from typing import Any

from .common import Case, Script, ins, mutate, omap, oset, populate, select

MAXI = 2**63 - 1
MINI = -(2**63)

ARITH = ["+=", "-=", "*=", "/=", "%="]

# (column, mutator, argument) applied to every populated row
MUTATIONS: list[tuple[str, str, Any]] = (
    [("i", m, 3) for m in ARITH]
    + [("i", m, -2) for m in ARITH]
    + [("i", m, 0) for m in ARITH]
    + [("r", m, 1.5) for m in ARITH]
    + [("r", m, 0) for m in ["+=", "*=", "/="]]
    + [("irange", m, a) for m, a in [("+=", 70), ("*=", 4), ("-=", 1), ("/=", 3), ("%=", 7)]]
    + [("rrange", m, a) for m, a in [("+=", 1.0), ("*=", -1), ("/=", 0.75)]]
    + [("set_i", m, 2) for m in ARITH]
    + [("set_i", m, 0) for m in ["*=", "/="]]
    + [("opt_i", m, 5) for m in ARITH]
    + [
        ("set_i", "insert", oset(5, 1)),
        ("set_i", "insert", 7),
        ("set_i", "delete", oset(1, 99)),
        ("set_i", "delete", 2),
        ("set_s", "insert", oset("x", "new")),
        ("set_s", "delete", oset("x")),
        ("set_s", "delete", oset()),
        ("set3_i", "insert", oset(1, 2, 3, 4)),
        ("set3_i", "insert", oset(1, 2)),
        ("opt_i", "insert", 9),
        ("opt_i", "delete", 1),
        ("map_ss", "insert", omap(("a", "new"), ("c", "3"))),
        ("map_ss", "delete", omap(("a", "1"), ("b", "nomatch"))),
        ("map_ss", "delete", oset("b")),
        ("map_ss", "delete", "a"),
        ("map_ii", "insert", omap((5, 50))),
        ("map_ii", "delete", oset(1, 3)),
        ("map_sr", "insert", omap(("a", 1), ("b", 2), ("c", 3))),
        ("map_ii", "+=", 1),
        ("map_ss", "insert", oset("a")),
        ("set_i", "insert", oset("x")),
        ("set_i", "insert", omap((1, 2))),
        ("i", "insert", 1),
        ("s", "+=", "x"),
        ("s", "insert", "x"),
        ("b", "*=", True),
        ("u", "+=", 1),
        ("i", "+=", "x"),
        ("i", "+=", 1.5),
        ("r", "+=", "x"),
        ("imm", "insert", "x"),
        ("eph", "+=", 1),
        ("_uuid", "insert", 1),
        ("_version", "+=", 1),
        ("nope", "+=", 1),
        ("i", "^=", 1),
        ("i", "=", 1),
        ("ie", "+=", 1),
        ("se", "insert", "pink"),
        ("slen", "insert", "ab"),
        ("map_cons", "insert", omap((11, "a"))),
        ("set12_i", "delete", oset(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)),
    ]
)


MUT_NAMES = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "%=": "mod"}


def _cases() -> list[Case]:
    cases: list[Case] = []
    for n, (col, mut, arg) in enumerate(MUTATIONS):
        s = Script(f"mutate-{n:03d}-{col}-{MUT_NAMES.get(mut, mut)}")
        populate(s)
        s.tx(mutate("Atoms", [], [[col, mut, arg]]))
        cols = ["i"] if col in ("_uuid", "_version", "nope", "i") else ["i", col]
        s.tx(select("Atoms", [], cols))
        cases.append(s.case())

    for name, start, mut, arg in [
        ("overflow-add", MAXI, "+=", 1),
        ("overflow-sub", MINI, "-=", 1),
        ("overflow-mul", MAXI, "*=", 2),
        ("overflow-neg-mul", MINI, "*=", -1),
        ("overflow-div", MINI, "/=", -1),
        ("mod-min", MINI, "%=", -1),
        ("mod-negative", -7, "%=", 3),
        ("div-negative", -7, "/=", 2),
        ("mod-by-negative", 7, "%=", -3),
    ]:
        s = Script(f"mutate-int-{name}")
        s.tx(ins("Atoms", {"i": start}))
        s.tx(mutate("Atoms", [], [["i", mut, arg]]))
        s.tx(select("Atoms", [], ["i"]))
        cases.append(s.case())

    reals: list[tuple[str, float, str, float]] = [
        ("real-overflow", 1e308, "*=", 10),
        ("real-div-zero", 1.0, "/=", 0.0),
        ("real-mod", 7.5, "%=", 2),
        ("real-tiny", 1e-300, "*=", 1e-300),
        ("real-precision", 0.1, "+=", 0.2),
    ]
    for name, rstart, mut, rarg in reals:
        s = Script(f"mutate-{name}")
        s.tx(ins("Atoms", {"r": rstart}))
        s.tx(mutate("Atoms", [], [["r", mut, rarg]]))
        s.tx(select("Atoms", [], ["r"]))
        cases.append(s.case())

    s = Script("mutate-several-mutations-one-op")
    populate(s)
    s.tx(mutate("Atoms", [["i", ">=", 1]], [["i", "+=", 10], ["i", "*=", 2],
                                            ["set_s", "insert", "m"]]))
    s.tx(select("Atoms", [], ["i", "set_s"]))
    cases.append(s.case())

    s = Script("mutate-count-and-where")
    populate(s)
    s.tx(mutate("Atoms", [["b", "==", True]], [["i", "+=", 1]]),
         mutate("Atoms", [["i", "==", 99]], [["i", "+=", 1]]))
    cases.append(s.case())

    s = Script("mutate-empty-mutations")
    populate(s)
    s.tx(mutate("Atoms", [], []))
    cases.append(s.case())

    for n, bad in enumerate([{"i": 1}, [["i", "+="]], [["i", "+=", 1, 2]], ["i"], [[1, "+=", 1]],
                             [["i", 1, 1]]]):
        s = Script(f"mutate-malformed-{n}")
        populate(s)
        s.tx({"op": "mutate", "table": "Atoms", "where": [], "mutations": bad})
        cases.append(s.case())

    s = Script("mutate-missing-mutations")
    s.tx({"op": "mutate", "table": "Atoms", "where": []})
    cases.append(s.case())

    s = Script("mutate-map-insert-existing-key-keeps-old")
    s.tx(ins("Atoms", {"map_ss": omap(("k", "old"))}))
    s.tx(mutate("Atoms", [], [["map_ss", "insert", omap(("k", "new"), ("j", "x"))]]),
         select("Atoms", [], ["map_ss"]))
    cases.append(s.case())

    s = Script("mutate-set-dedupes")
    s.tx(ins("Atoms", {"set_i": oset(1, 2)}))
    s.tx(mutate("Atoms", [], [["set_i", "insert", oset(2, 3)], ["set_i", "*=", 0]]),
         select("Atoms", [], ["set_i"]))
    cases.append(s.case())

    s = Script("mutate-set-arith-collision")
    s.tx(ins("Atoms", {"set_i": oset(2, 3)}))
    s.tx(mutate("Atoms", [], [["set_i", "/=", 2]]), select("Atoms", [], ["set_i"]))
    cases.append(s.case())
    return cases


CASES: list[Case] = _cases()
