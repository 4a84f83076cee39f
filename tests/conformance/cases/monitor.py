"""monitor / monitor_cond / monitor_cond_since: the same scenarios in the three dialects
(update, update2, update3 notifications), plus monitor_cancel and request errors."""

from __future__ import annotations

from typing import Any

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
    populate,
    update,
)

ZERO = "00000000-0000-0000-0000-000000000000"
METHODS = ["monitor", "monitor_cond", "monitor_cond_since"]
SHORT = {"monitor": "m1", "monitor_cond": "m2", "monitor_cond_since": "m3"}


def monitor(s: Script, c: int, method: str, mid: Any, reqs: dict[str, Any],
            db: str | None = None, last: str = ZERO) -> None:
    params: list[Any] = [db or s.db, mid, reqs]
    if method == "monitor_cond_since":
        params.append(last)
    s.send(c, method, params)
    s.recv(c)


def _req(method: str, columns: list[str] | None = None, select: dict[str, bool] | None = None,
         where: list[Any] | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {}
    if columns is not None:
        r["columns"] = columns
    if select is not None:
        r["select"] = select
    if where is not None and method != "monitor":
        r["where"] = where
    return r


COLS = ["i", "r", "b", "s", "set_s", "map_ss", "opt_i", "u", "set_u"]


def _scenarios(method: str) -> list[Case]:
    p = SHORT[method]
    cases: list[Case] = []

    def new(name: str, **kw: Any) -> Script:
        return Script(f"{p}-{name}", clients=2, **kw)

    s = new("lifecycle-all-columns")
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method)})
    s.tx(ins("Atoms", {"i": 10, "s": "ten", "set_s": oset("a", "b")}), c=1)
    s.recv(0)
    s.tx(update("Atoms", [["i", "==", 10]], {"s": "TEN", "set_s": oset("b", "c"),
                                              "map_ss": omap(("k", "v"))}), c=1)
    s.recv(0)
    s.tx(mutate("Atoms", [["i", "==", 1]], [["map_ss", "insert", omap(("c", "3"))],
                                            ["map_ss", "delete", oset("a")]]), c=1)
    s.recv(0)
    s.tx(delete("Atoms", [["i", ">=", 2]]), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("column-subset")
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["s", "set_i"])})
    s.tx(update("Atoms", [["i", "==", 1]], {"b": False}), c=1)
    s.recv(0)
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "changed", "b": True}), c=1)
    s.recv(0)
    s.tx(mutate("Atoms", [["i", "==", 2]], [["set_i", "insert", oset(9)],
                                            ["set_i", "delete", oset(2)]]), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("empty-columns-list")
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method, [])})
    s.tx(update("Atoms", [["i", "==", 1]], {"b": False}), c=1)
    s.recv(0)
    cases.append(s.case())

    for flags in ({"initial": False}, {"insert": False}, {"delete": False},
                  {"modify": False}, {"initial": False, "insert": False, "delete": False,
                                      "modify": False}, {"initial": True, "modify": True}):
        tag = "-".join(f"{k}{int(v)}" for k, v in flags.items())
        s = new(f"select-{tag}")
        s.tx(ins("Atoms", {"i": 1, "s": "one"}), c=1)
        monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i", "s"], flags)})
        s.tx(ins("Atoms", {"i": 2}), c=1)
        s.recv(0)
        s.tx(update("Atoms", [["i", "==", 1]], {"s": "uno"}), c=1)
        s.recv(0)
        s.tx(delete("Atoms", [["i", "==", 1]]), c=1)
        s.recv(0)
        cases.append(s.case())

    s = new("select-flag-not-bool")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i"], {"initial": 1})})  # type: ignore
    cases.append(s.case())

    s = new("no-net-change")
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method, COLS)})
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "beta"}), c=1)
    s.recv(0)
    s.tx(ins("Atoms", {"i": 50}), delete("Atoms", [["i", "==", 50]]), c=1)
    s.recv(0)
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "x"}), update("Atoms", [["i", "==", 1]],
                                                                {"s": "beta"}), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("own-transaction-order")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i"])})
    s.tx(ins("Atoms", {"i": 1}))
    s.tx(update("Atoms", [], {"i": 2}), {"op": "commit", "durable": True})
    cases.append(s.case())

    s = new("failed-transaction-no-update")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i"])})
    s.tx(ins("Atoms", {"i": 1}), ins("Atoms", {"i": "x"}), c=1)
    s.tx(ins("Atoms", {"i": 1}), {"op": "abort"}, c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("multiple-tables-and-gc")
    monitor(s, 0, method, "mon", {"Parent": _req(method, ["name", "children", "one"]),
                                  "Child": _req(method, ["name"])})
    s.tx(ins("Child", {"name": "c"}, "c"), ins("Child", {"name": "d"}, "d"),
         ins("Parent", {"name": "p", "children": oset(named("c"), named("d"))}), c=1)
    s.recv(0)
    s.tx(mutate("Parent", [], [["children", "delete", oset()]]), c=1)
    s.recv(0)
    s.tx(delete("Parent", []), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("weak-ref-removal")
    monitor(s, 0, method, "mon", {"Parent": _req(method, ["name", "wleaf"]),
                                  "Leaf": _req(method, ["name"])})
    s.tx(ins("Leaf", {"name": "l1"}, "l1"), ins("Leaf", {"name": "l2"}, "l2"),
         ins("Parent", {"name": "p", "wleaf": oset(named("l1"), named("l2"))}), c=1)
    s.recv(0)
    s.tx(delete("Leaf", [["name", "==", "l1"]]), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("multiple-requests-per-table")
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": [_req(method, ["i"], {"modify": False}),
                                            _req(method, ["s"], {"initial": False})]})
    s.tx(update("Atoms", [["i", "==", 1]], {"s": "B", "i": 11}), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("multiple-requests-duplicate-column")
    monitor(s, 0, method, "mon", {"Atoms": [_req(method, ["i"]), _req(method, ["i", "s"])]})
    cases.append(s.case())

    s = new("duplicate-column-in-request")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i", "i"])})
    cases.append(s.case())

    s = new("two-monitors-one-connection")
    populate(s, c=1)
    monitor(s, 0, method, "a", {"Atoms": _req(method, ["i"])})
    monitor(s, 0, method, "b", {"Atoms": _req(method, ["s"])})
    s.tx(update("Atoms", [["i", "==", 0]], {"s": "A", "i": 100}), c=1)
    s.recv(0)
    s.call(0, "monitor_cancel", "a")
    s.tx(update("Atoms", [["i", "==", 100]], {"s": "AA"}), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("monitor-cancel")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i"])})
    s.tx(ins("Atoms", {"i": 1}), c=1)
    s.recv(0)
    s.call(0, "monitor_cancel", "mon")
    s.tx(ins("Atoms", {"i": 2}), c=1)
    s.recv(0)
    s.call(0, "monitor_cancel", "mon")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i"])})
    cases.append(s.case())

    s = new("duplicate-monitor-id")
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i"])})
    monitor(s, 0, method, "mon", {"Leaf": _req(method, ["name"])})
    monitor(s, 1, method, "mon", {"Leaf": _req(method, ["name"])})
    cases.append(s.case())

    for n, mid in enumerate([None, 7, ["a", 1], {"x": 1}, ""]):
        s = new(f"monitor-id-type-{n}")
        s.tx(ins("Atoms", {"i": 1}), c=1)
        monitor(s, 0, method, mid, {"Atoms": _req(method, ["i"])})
        s.tx(ins("Atoms", {"i": 2}), c=1)
        s.recv(0)
        s.call(0, "monitor_cancel", mid)
        cases.append(s.case())

    bad_reqs: list[Any] = [
        {"Nope": {}},
        {"Atoms": _req(method, ["nope"])},
        {"Atoms": _req(method, ["_version", "_uuid"])},
        {"Atoms": {"columns": "i"}},
        {"Atoms": {"bogus": 1}},
        {"Atoms": 7},
        {"Atoms": []},
        [],
        {},
        {"Atoms": {"select": {"bogus": True}}},
    ]
    for n, reqs in enumerate(bad_reqs):
        s = new(f"bad-request-{n}")
        s.tx(ins("Atoms", {"i": 1}), c=1)
        monitor(s, 0, method, "mon", reqs)
        s.tx(ins("Atoms", {"i": 2}), c=1)
        s.recv(0)
        cases.append(s.case())

    s = new("unknown-db")
    monitor(s, 0, method, "mon", {"Atoms": {}}, db="Nope")
    cases.append(s.case())

    s = new("wrong-param-count")
    s.call(0, method, s.db, "mon")
    s.call(0, method)
    s.call(0, method, s.db, "mon", {"Atoms": {}}, ZERO, "extra")
    cases.append(s.case())

    s = new("ephemeral-and-immutable-columns")
    s.tx(ins("Atoms", {"i": 1, "eph": 5, "imm": "x"}), c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["eph", "imm"])})
    s.tx(update("Atoms", [], {"eph": 6}), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("all-types-modify")
    s.tx(ins("Atoms", {"i": 1}), c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method)})
    s.tx(update("Atoms", [], {"r": 2.5, "b": True, "u": ["uuid", FAKE_UUID], "ie": 2,
                              "opt_s": "o", "set_r": oset(1.5, 0.5), "map_ii": omap((1, 2)),
                              "map_ib": omap((3, False)), "set_b": oset(True)}), c=1)
    s.recv(0)
    s.tx(update("Atoms", [], {"opt_s": oset(), "set_r": oset(0.5, 9.0),
                              "map_ii": omap((1, 3), (4, 4)), "ie": oset()}), c=1)
    s.recv(0)
    cases.append(s.case())

    s = new("many-rows-initial")
    s.tx(*[ins("Atoms", {"i": k, "s": f"r{k}"}) for k in range(30)], c=1)
    monitor(s, 0, method, "mon", {"Atoms": _req(method, ["i", "s"])})
    s.tx(delete("Atoms", [["i", "<", 10]]), c=1)
    s.recv(0)
    cases.append(s.case())
    return cases


CASES: list[Case] = [c for m in METHODS for c in _scenarios(m)]
