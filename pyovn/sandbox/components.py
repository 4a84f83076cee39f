"""Which program plays each part of a deployment: pyovn's or the real OVN's.

This is the one place that knows what pyovn implements today.  When pyovn's northd,
controller or trace lands, its command goes into ``PYOVN`` and every sandbox, demo and
scenario picks it up.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

# Parts of a deployment, in start order.  The chassis' Open vSwitch (its ovsdb-server and
# ovs-vswitchd) is always the real one: it is the data plane, not part of OVN.
COMPONENTS: tuple[str, ...] = ("nb", "sb", "northd", "controller", "trace", "nbctl", "sbctl")

_PYOVN_SERVER = [sys.executable, "-m", "pyovn", "ovsdb-server"]

REAL: dict[str, list[str]] = {
    "nb": ["ovsdb-server"],
    "sb": ["ovsdb-server"],
    "northd": ["ovn-northd"],
    "controller": ["ovn-controller"],
    "trace": ["ovn-trace"],
    "nbctl": ["ovn-nbctl"],
    "sbctl": ["ovn-sbctl"],
}

# None: pyovn has no such program yet, the real one stands in.
PYOVN: dict[str, list[str] | None] = {
    "nb": _PYOVN_SERVER,
    "sb": _PYOVN_SERVER,
    "northd": [sys.executable, "-m", "pyovn", "northd"],
    "controller": [sys.executable, "-m", "pyovn", "controller"],
    "trace": [sys.executable, "-m", "pyovn", "trace"],
    "nbctl": None,
    "sbctl": None,
}


class StackError(ValueError):
    pass


@dataclass(frozen=True)
class Stack:
    """For each component, "pyovn" or "real"."""

    impl: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, real: str | None) -> Stack:
        """``real`` is the value of ``--real``: None (pyovn wherever pyovn has the
        program), "" or "all" (everything real), or a comma-separated list of components."""
        if real is None:
            chosen: set[str] = set()
        elif real.strip() in ("", "all"):
            chosen = set(COMPONENTS)
        else:
            chosen = {c.strip() for c in real.split(",") if c.strip()}
            unknown = sorted(chosen - set(COMPONENTS))
            if unknown or not chosen:
                raise StackError(
                    f"--real: unknown component(s) {', '.join(unknown) or repr(real)}; "
                    f"choose from {', '.join(COMPONENTS)} or 'all'")
        return cls(tuple((c, "real" if c in chosen or PYOVN[c] is None else "pyovn")
                         for c in COMPONENTS))

    @classmethod
    def from_dict(cls, d: dict[str, str]) -> Stack:
        if set(d) != set(COMPONENTS) or not set(d.values()) <= {"real", "pyovn"}:
            raise StackError(f"bad stack {d!r}")
        return cls(tuple((c, d[c]) for c in COMPONENTS))

    def as_dict(self) -> dict[str, str]:
        return dict(self.impl)

    def of(self, component: str) -> str:
        return self.as_dict()[component]

    def command(self, component: str) -> list[str]:
        if self.of(component) == "pyovn":
            cmd = PYOVN[component]
            assert cmd is not None
            return list(cmd)
        return list(REAL[component])

    def label(self) -> str:
        """Short name: "all-real", "all-pyovn" (every part pyovn has), or the pyovn parts."""
        d = self.as_dict()
        mine = [c for c in COMPONENTS if d[c] == "pyovn"]
        if not mine:
            return "all-real"
        if set(mine) == {c for c in COMPONENTS if PYOVN[c] is not None}:
            return "all-pyovn"
        return "pyovn:" + ",".join(mine)

    def stand_ins(self) -> list[str]:
        """Components that are real only because pyovn has none yet."""
        return [c for c in COMPONENTS if PYOVN[c] is None]


def available_mixes() -> list[Stack]:
    """The stacks a comparison runs: all-real, all-pyovn, and each single pyovn server
    alongside real parts (the mixes that exist today)."""
    stacks = [Stack.parse("all"), Stack.parse(None)]
    mine = [c for c in COMPONENTS if PYOVN[c] is not None]
    if len(mine) > 1:
        for c in mine:
            stacks.append(Stack.parse(",".join(x for x in COMPONENTS if x != c)))
    return stacks
