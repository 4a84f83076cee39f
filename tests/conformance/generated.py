"""Hypothesis-generated cases over the conformance schema: random sequences of valid and
invalid transactions, watched by monitors with random conditions.

Generation is derandomized (fixed seed) so that CI and the lead's report see the same
sequences; the example counts are modest so the whole suite stays within a few minutes.
Set CONFORMANCE_EXAMPLES to change the count, CONFORMANCE_SHRINK=1 to shrink failures.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from .cases.transact_insert import INVALID, VALID
from .harness import Case, Outcome, Script, ServerPool, compare_case

EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "40"))
SHRINK = os.environ.get("CONFORMANCE_SHRINK", "") == "1"

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])],
    suppress_health_check=list(HealthCheck),
)

# Small domains so that conditions match, indexes collide and mutations overflow.
INTS = st.sampled_from([0, 1, 2, 3, -1, 7, 2**63 - 1, -(2**63)])
REALS = st.sampled_from([0.0, 0.5, -1.5, 2.5, 1e300, 3.0])
STRS = st.sampled_from(["", "a", "b", "ab", "xyz"])
SET_STRS = st.lists(STRS, max_size=3, unique=True).map(lambda xs: ["set", xs])
SET_INTS = st.lists(st.sampled_from([0, 1, 2, 3, 9]), max_size=4, unique=True).map(
    lambda xs: ["set", xs]
)
MAP_SS = st.dictionaries(STRS, STRS, max_size=3).map(
    lambda d: ["map", [[k, v] for k, v in sorted(d.items())]]
)
MAP_II = st.dictionaries(st.sampled_from([1, 2, 3]), INTS, max_size=3).map(
    lambda d: ["map", [[k, v] for k, v in sorted(d.items())]]
)

COLUMN_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "i": INTS,
    "r": REALS,
    "b": st.booleans(),
    "s": STRS,
    "set_s": SET_STRS,
    "set_i": SET_INTS,
    "set3_i": SET_INTS,
    "map_ss": MAP_SS,
    "map_ii": MAP_II,
    "irange": st.sampled_from([0, 50, 100, 101, -1]),
    "opt_i": st.sampled_from([["set", []], 1, 2]),
    "se": st.sampled_from(["red", "green", "pink", ["set", []]]),
}
for _col, _vals in VALID.items():
    if _col not in COLUMN_VALUES:
        COLUMN_VALUES[_col] = st.sampled_from(_vals)


def _value(col: str) -> st.SearchStrategy[Any]:
    good = COLUMN_VALUES[col]
    bad = INVALID.get(col)
    if bad:
        return st.one_of(*([good] * 7), st.sampled_from(bad))
    return good


ATOM_COLS = sorted(COLUMN_VALUES)
COND_COLS = ["i", "r", "b", "s", "set_s", "set_i", "map_ss", "map_ii", "opt_i"]
ORDER_FUNCS = ["==", "!=", "<", "<=", ">", ">=", "includes", "excludes"]
EQ_FUNCS = ["==", "!=", "includes", "excludes"]


@st.composite
def clause(draw: st.DrawFn) -> Any:
    col = draw(st.sampled_from(COND_COLS))
    funcs = ORDER_FUNCS if col in ("i", "r") else EQ_FUNCS
    # One in twenty clauses uses a function that does not apply to the type (an error).
    if draw(st.integers(0, 19)) == 0:
        funcs = ORDER_FUNCS
    return [col, draw(st.sampled_from(funcs)), draw(COLUMN_VALUES[col])]


WHERE = st.one_of(st.just([]), st.lists(clause(), min_size=1, max_size=2))


@st.composite
def row(draw: st.DrawFn) -> dict[str, Any]:
    cols = draw(st.lists(st.sampled_from(ATOM_COLS), max_size=4, unique=True))
    return {c: draw(_value(c)) for c in cols}


MUTATORS: dict[str, list[str]] = {
    "i": ["+=", "-=", "*=", "/=", "%="],
    "r": ["+=", "-=", "*=", "/="],
    "irange": ["+=", "*=", "-="],
    "set_i": ["insert", "delete", "+=", "*=", "/="],
    "set3_i": ["insert", "delete"],
    "set_s": ["insert", "delete"],
    "map_ss": ["insert", "delete"],
    "map_ii": ["insert", "delete"],
}


@st.composite
def mutation(draw: st.DrawFn) -> list[Any]:
    col = draw(st.sampled_from(sorted(MUTATORS)))
    mut = draw(st.sampled_from(MUTATORS[col]))
    if mut in ("insert", "delete"):
        if col.startswith("map") and mut == "delete" and draw(st.booleans()):
            arg = ["set", draw(st.lists(STRS if col == "map_ss" else st.sampled_from([1, 2]),
                                        max_size=2, unique=True))]
        else:
            arg = draw(COLUMN_VALUES[col])
    elif col in ("r",):
        arg = draw(st.sampled_from([0.0, 1.5, -2.0, 2]))
    else:
        arg = draw(st.sampled_from([0, 1, 2, -3, 2**62]))
    return [col, mut, arg]


@st.composite
def atoms_op(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["insert", "insert", "update", "mutate", "delete", "select",
                                 "wait"]))
    if kind == "insert":
        return {"op": "insert", "table": "Atoms", "row": draw(row())}
    if kind == "update":
        return {"op": "update", "table": "Atoms", "where": draw(WHERE), "row": draw(row())}
    if kind == "mutate":
        return {"op": "mutate", "table": "Atoms", "where": draw(WHERE),
                "mutations": draw(st.lists(mutation(), min_size=1, max_size=2))}
    if kind == "delete":
        return {"op": "delete", "table": "Atoms", "where": draw(WHERE)}
    if kind == "select":
        return {"op": "select", "table": "Atoms", "where": draw(WHERE),
                "columns": draw(st.lists(st.sampled_from(["i", "s", "set_i", "map_ss"]),
                                         min_size=1, max_size=3, unique=True))}
    col = draw(st.sampled_from(["i", "s"]))
    return {"op": "wait", "table": "Atoms", "where": draw(WHERE), "columns": [col],
            "until": draw(st.sampled_from(["==", "!="])),
            "rows": draw(st.lists(st.fixed_dictionaries({col: COLUMN_VALUES[col]}),
                                  max_size=2)),
            "timeout": 0}


NAMES = st.sampled_from(["n1", "n2", "n3"])


@st.composite
def ref_op(draw: st.DrawFn, serial: int) -> list[dict[str, Any]]:
    """Operations on the reference/index tables; returns a few ops sharing uuid-names."""
    kind = draw(st.sampled_from(["leaf", "parent", "delete-leaf", "delete-parent", "limited",
                                 "delete-child"]))
    if kind == "leaf":
        return [{"op": "insert", "table": "Leaf", "row": {
            "name": draw(NAMES), "a": draw(st.sampled_from([0, 1])),
            "b": draw(st.sampled_from(["", "x"]))}}]
    if kind == "parent":
        kids = draw(st.integers(0, 2))
        ops: list[dict[str, Any]] = [
            {"op": "insert", "table": "Child", "uuid-name": f"c{serial}_{k}",
             "row": {"name": f"c{k}", "val": k}} for k in range(kids)
        ]
        prow: dict[str, Any] = {"name": draw(NAMES)}
        refs = [["named-uuid", f"c{serial}_{k}"] for k in range(kids)]
        col = draw(st.sampled_from(["children", "weak", "one"]))
        if col == "one":
            prow["one"] = refs[0] if refs else ["set", []]
        else:
            prow[col] = ["set", refs]
        if draw(st.booleans()):
            prow["leaf"] = ["set", []]
        ops.append({"op": "insert", "table": "Parent", "row": prow})
        return ops
    if kind == "delete-leaf":
        return [{"op": "delete", "table": "Leaf", "where": [["name", "==", draw(NAMES)]]}]
    if kind == "delete-parent":
        return [{"op": "delete", "table": "Parent", "where": [["name", "==", draw(NAMES)]]}]
    if kind == "delete-child":
        return [{"op": "delete", "table": "Child", "where": [["val", "==", draw(st.integers(0,
                                                                                         1))]]}]
    return [{"op": "insert", "table": "Limited", "row": {"name": draw(NAMES)}}]


@st.composite
def atoms_sequence(draw: st.DrawFn) -> Case:
    s = Script("generated-atoms", clients=2)
    method = draw(st.sampled_from(["monitor", "monitor_cond", "monitor_cond_since"]))
    req: dict[str, Any] = {"columns": ["i", "s", "set_i", "map_ss", "r"]}
    if method != "monitor":
        req["where"] = draw(st.one_of(st.just([True]), st.lists(clause(), min_size=1,
                                                                max_size=2)))
    params: list[Any] = [s.db, "gen", {"Atoms": req}]
    if method == "monitor_cond_since":
        params.append("00000000-0000-0000-0000-000000000000")
    s.send(1, method, params)
    s.recv(1)
    for _ in range(draw(st.integers(1, 5))):
        s.tx(*draw(st.lists(atoms_op(), min_size=1, max_size=4)))
        s.recv(1)
    s.tx({"op": "select", "table": "Atoms", "where": [],
          "columns": ["i", "r", "s", "set_i", "map_ss", "map_ii", "irange"]})
    return s.case()


@st.composite
def refs_sequence(draw: st.DrawFn) -> Case:
    s = Script("generated-refs", clients=2)
    s.send(1, "monitor_cond", [s.db, "gen", {
        "Parent": [{"columns": ["name", "children", "weak", "one"]}],
        "Child": [{"columns": ["name", "val"]}],
        "Leaf": [{"columns": ["name", "a", "b"]}],
        "Limited": [{"columns": ["name"]}]}])
    s.recv(1)
    serial = 0
    for _ in range(draw(st.integers(1, 5))):
        ops: list[Any] = []
        for _ in range(draw(st.integers(1, 3))):
            serial += 1
            ops.extend(draw(ref_op(serial)))
        s.tx(*ops)
        s.recv(1)
    for t in ("Parent", "Child", "Leaf", "Limited"):
        s.tx({"op": "select", "table": t, "where": []})
    return s.case()


STRATEGIES: dict[str, st.SearchStrategy[Case]] = {
    "atoms": atoms_sequence(),
    "refs": refs_sequence(),
}


def checker(ref: ServerPool, other: ServerPool, executor: Any,
            outcomes: list[Outcome] | None = None) -> Callable[[Case], None]:
    """A function that runs a case on both servers; it records the outcome when ``outcomes``
    is given, else raises AssertionError with a diff."""
    from .harness import diff

    def check(case: Case) -> None:
        # Random sequences hit hash-order-dependent messages (which of three conflicting rows
        # an index error names) more often than hand-written ones: recheck the real server harder.
        o = compare_case(case, ref, other, executor, recheck=8)
        if outcomes is not None:
            outcomes.append(o)
            return
        # A sequence whose outcome depends on the real server's hash order proves nothing.
        assume(not o.nondeterministic)
        if not o.ok:
            detail = o.error or diff(o.expected, o.actual, ("real", "other"))
            raise AssertionError(f"{o.summary()}\nsteps: {case.steps!r}\n{detail}")

    return check


def _given_runner(strategy: st.SearchStrategy[Case],
                  check: Callable[[Case], None]) -> Callable[[], None]:
    @SETTINGS
    @given(case=strategy)
    def run(case: Case) -> None:
        check(case)

    return run


def run_all(ref: ServerPool, other: ServerPool) -> list[str]:
    """Report mode: every generated sequence, counted; returns one line per difference."""
    from concurrent.futures import ThreadPoolExecutor

    lines: list[str] = []
    with ThreadPoolExecutor(2) as ex:
        for name, strategy in STRATEGIES.items():
            outcomes: list[Outcome] = []

            _given_runner(strategy, checker(ref, other, ex, outcomes))()
            bad = [o for o in outcomes if not o.ok and not o.nondeterministic]
            flaky = sum(o.nondeterministic for o in outcomes)
            print(f"generated {name}: {len(outcomes) - len(bad) - flaky}/{len(outcomes)} "
                  f"identical, {flaky} skipped (real server nondeterministic)", flush=True)
            for n, o in enumerate(bad[:5]):
                lines.append(f"{name} example {n}: {o.summary()}")
    return lines
