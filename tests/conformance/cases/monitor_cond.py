"""Monitor conditions (every function on every type), monitor_cond_change, and
monitor_cond_since's last-txn-id / found flag."""

from __future__ import annotations

from typing import Any

from .common import FAKE_UUID, Case, Script, ins, omap, oset, populate, update, uuid
from .monitor import ZERO, monitor
from .transact_rows import FUNC_NAMES, PROBES

COND_METHODS = ["monitor_cond", "monitor_cond_since"]
SHORT = {"monitor_cond": "m2", "monitor_cond_since": "m3"}


def _cond_cases(method: str) -> list[Case]:
    p = SHORT[method]
    cases: list[Case] = []
    # One case per (column, function): the first probe value is the condition; a row then
    # moves into and out of it.
    for col, (funcs, values) in PROBES.items():
        for f in funcs:
            s = Script(f"{p}-cond-{col}-{FUNC_NAMES[f]}", clients=2)
            populate(s, c=1)
            cols = ["i"] if col == "i" else ["i", col]
            monitor(s, 0, method, "mon",
                    {"Atoms": {"columns": cols, "where": [[col, f, values[0]]]}})
            for v in values[1:]:
                s.tx(update("Atoms", [["i", "==", 1]], {col: v}), c=1)
                s.recv(0)
            s.tx(update("Atoms", [["i", "==", 1]], {col: values[0]}), c=1)
            s.recv(0)
            cases.append(s.case())

    conds: list[tuple[str, list[Any]]] = [
        ("true", [True]),
        ("false", [False]),
        ("empty", []),
        ("true-and-clause", [True, ["i", "==", 1]]),
        ("false-and-clause", [False, ["i", "==", 1]]),
        ("two-clauses", [["i", ">", 0], ["b", "==", True]]),
        ("contradiction", [["i", "==", 1], ["i", "==", 2]]),
        ("uuid-column", [["_uuid", "!=", uuid(FAKE_UUID)]]),
        ("bad-function", [["s", "<", "x"]]),
        ("bad-column", [["nope", "==", 1]]),
        ("bad-value", [["i", "==", "x"]]),
        ("not-array", {"i": 1}),  # type: ignore[list-item]
        ("bad-clause", ["i"]),
        ("string-true", ["true"]),
    ]
    for name, where in conds:
        s = Script(f"{p}-where-{name}", clients=2)
        populate(s, c=1)
        monitor(s, 0, method, "mon", {"Atoms": {"columns": ["i", "b"], "where": where}})
        s.tx(ins("Atoms", {"i": 5, "b": True}), c=1)
        s.recv(0)
        s.tx(update("Atoms", [["i", "==", 2]], {"b": True}), c=1)
        s.recv(0)
        cases.append(s.case())

    s = Script(f"{p}-where-in-two-requests", clients=2)
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": [{"columns": ["i"], "where": [["i", "<", 2]]},
                                            {"columns": ["s"], "where": [["i", ">", 1]]}]})
    s.tx(update("Atoms", [], {"s": "all"}), c=1)
    s.recv(0)
    cases.append(s.case())

    # monitor_cond_change
    s = Script(f"{p}-cond-change", clients=2)
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": {"columns": ["i", "s"], "where": [["i", "<", 2]]}})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Atoms": [{"where": [["i", ">=", 1]]}]})
    s.tx(update("Atoms", [], {"s": "z"}), c=1)
    s.recv(0)
    s.call(0, "monitor_cond_change", "mon", "mon2", {"Atoms": [{"where": [False]}]})
    s.tx(update("Atoms", [], {"s": "y"}), c=1)
    s.recv(0)
    s.call(0, "monitor_cond_change", "mon2", "mon2", {"Atoms": [{"where": [True]}]})
    s.call(0, "monitor_cond_change", "mon", "mon3", {"Atoms": [{"where": [True]}]})
    s.call(0, "monitor_cancel", "mon2")
    cases.append(s.case())

    s = Script(f"{p}-cond-change-errors", clients=2)
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": {"columns": ["i"], "where": [["i", "<", 2]]}})
    monitor(s, 0, method, "other", {"Leaf": {"columns": ["name"]}})
    s.call(0, "monitor_cond_change", "nope", "nope", {"Atoms": [{"where": [True]}]})
    s.call(0, "monitor_cond_change", "mon", "other", {"Atoms": [{"where": [True]}]})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Nope": [{"where": [True]}]})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Atoms": [{"where": [["x", "==", 1]]}]})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Atoms": [{"columns": ["s"],
                                                               "where": [True]}]})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Atoms": {"where": [True]}})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Leaf": [{"where": [True]}]})
    s.call(0, "monitor_cond_change", "mon", "mon")
    s.call(0, "monitor_cond_change", "mon", "mon", {})
    s.tx(update("Atoms", [], {"s": "y"}), ins("Atoms", {"i": -1}), c=1)
    s.recv(0)
    cases.append(s.case())

    s = Script(f"{p}-cond-change-multiple-requests", clients=2)
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": [{"columns": ["i"], "where": [["i", "==", 0]]},
                                            {"columns": ["s"], "where": [["i", "==", 1]]}]})
    s.call(0, "monitor_cond_change", "mon", "mon",
           {"Atoms": [{"where": [["i", "==", 2]]}, {"where": [["i", "==", 3]]}]})
    s.call(0, "monitor_cond_change", "mon", "mon", {"Atoms": [{"where": [["i", "==", 1]]}]})
    cases.append(s.case())

    s = Script(f"{p}-cond-change-on-plain-monitor", clients=1)
    s.send(0, "monitor", [s.db, "plain", {"Atoms": {"columns": ["i"]}}])
    s.recv(0)
    s.call(0, "monitor_cond_change", "plain", "plain", {"Atoms": [{"where": [False]}]})
    cases.append(s.case())

    s = Script(f"{p}-cond-on-sets-and-maps", clients=2)
    populate(s, c=1)
    monitor(s, 0, method, "mon", {"Atoms": {"columns": ["i", "set_s", "map_ss"],
                                            "where": [["set_s", "includes", oset("x")],
                                                      ["map_ss", "includes",
                                                       omap(("b", "1"))]]}})
    s.tx(update("Atoms", [["i", "==", 3]], {"map_ss": omap(("b", "1"))}), c=1)
    s.recv(0)
    s.tx(update("Atoms", [["i", "==", 1]], {"set_s": oset("q")}), c=1)
    s.recv(0)
    cases.append(s.case())
    return cases


def _since_cases() -> list[Case]:
    cases: list[Case] = []
    for name, last in [("zero", ZERO), ("random", FAKE_UUID), ("bad-string", "nope"),
                       ("number", 7), ("upper", FAKE_UUID.upper())]:
        s = Script(f"m3-last-txn-id-{name}", clients=2)
        s.tx(ins("Atoms", {"i": 1}), c=1)
        monitor(s, 0, "monitor_cond_since", "mon", {"Atoms": {"columns": ["i"]}},
                last=last)  # type: ignore[arg-type]
        s.tx(ins("Atoms", {"i": 2}), c=1)
        s.recv(0)
        cases.append(s.case())

    s = Script("m3-resume-from-last-update", clients=2, fresh=True)
    s.tx(ins("Atoms", {"i": 1}), c=1)
    monitor(s, 0, "monitor_cond_since", "mon", {"Atoms": {"columns": ["i"]}})
    s.tx(ins("Atoms", {"i": 2}), c=1)
    s.recv(0)
    s.call(0, "monitor_cancel", "mon")
    s.tx(ins("Atoms", {"i": 3}), c=1)
    # The id of the last update3 is unknown to the script; the zero id stands in for it and
    # the real server's answer (found or not) is what pyovn must match.
    monitor(s, 0, "monitor_cond_since", "mon", {"Atoms": {"columns": ["i"]}})
    cases.append(s.case())

    s = Script("m3-nb-schema", dbs=("nb",), clients=2)
    monitor(s, 0, "monitor_cond_since", "nb",
            {"Logical_Switch": {"columns": ["name", "ports"]},
             "Logical_Switch_Port": {"columns": ["name", "addresses"]}})
    s.tx(ins("Logical_Switch_Port", {"name": "p1", "addresses": oset("00:00:00:00:00:01")},
             "p1"), ins("Logical_Switch", {"name": "ls", "ports": ["named-uuid", "p1"]}), c=1)
    s.recv(0)
    cases.append(s.case())
    return cases


CASES: list[Case] = [c for m in COND_METHODS for c in _cond_cases(m)] + _since_cases()
