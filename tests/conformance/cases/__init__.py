"""Hand-written differential cases, grouped by topic; ALL_CASES gathers them."""

from __future__ import annotations

import importlib

from ..harness import Case

MODULES = [
    "transact_insert",
    "transact_rows",
    "transact_mutate",
    "transact_misc",
    "referential",
    "monitor",
    "monitor_cond",
    "locks",
    "errors",
    "server_db",
    "ovn",
]


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for name in MODULES:
        mod = importlib.import_module(f"{__name__}.{name}")
        cases.extend(mod.CASES)
    names = [c.name for c in cases]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        raise ValueError(f"duplicate case names: {sorted(dups)}")
    return cases
