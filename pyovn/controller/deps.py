"""What each piece of the flow table was computed from, so that a change recomputes
exactly the pieces that read what changed (ovn-controller's "lflow resource references",
generalised to every kind of flow).

A piece ("owner") records dependency keys while it is computed: plain tuples such as
("zone", "vm1"), ("lookup", <datapath uuid>, "vm1"), ("as", "as1"). Whoever notices that
an input changed names the keys it changed; `owners()` says which pieces to recompute.
A key that was looked up and not found is recorded too: when it appears, the piece that
looked for it is recomputed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

Dep = tuple[Hashable, ...]
Owner = TypeVar("Owner", bound=Hashable)
K = TypeVar("K")


def index_add(index: dict[K, set[str]], key: K, item: str) -> None:
    """Adds 'item' under 'key' of a reverse index (a set per key)."""
    s = index.get(key)
    if s is None:
        index[key] = {item}
    else:
        s.add(item)


def index_discard(index: dict[K, set[str]], key: K, item: str) -> None:
    """Removes 'item' from under 'key', and the key once its set is empty."""
    s = index.get(key)
    if s is not None:
        s.discard(item)
        if not s:
            del index[key]


class DepIndex(Generic[Owner]):
    def __init__(self) -> None:
        self._owners: dict[Dep, set[Owner]] = {}
        self._deps: dict[Owner, frozenset[Dep]] = {}

    def __len__(self) -> int:
        return len(self._deps)

    def record(self, owner: Owner, deps: Iterable[Dep]) -> None:
        """Replaces what 'owner' depends on."""
        new = frozenset(deps)
        old = self._deps.get(owner)
        if old == new:
            return
        if old:
            for d in old - new:
                self._unlink(d, owner)
        for d in new if not old else new - old:
            s = self._owners.get(d)
            if s is None:
                self._owners[d] = {owner}
            else:
                s.add(owner)
        if new:
            self._deps[owner] = new
        else:
            self._deps.pop(owner, None)

    def drop(self, owner: Owner) -> None:
        old = self._deps.pop(owner, None)
        for d in old or ():
            self._unlink(d, owner)

    def _unlink(self, d: Dep, owner: Owner) -> None:
        s = self._owners.get(d)
        if s is not None:
            s.discard(owner)
            if not s:
                del self._owners[d]

    def owners(self, deps: Iterable[Dep]) -> set[Owner]:
        out: set[Owner] = set()
        for d in deps:
            s = self._owners.get(d)
            if s:
                out |= s
        return out

    def deps_of(self, owner: Owner) -> frozenset[Dep]:
        return self._deps.get(owner, frozenset())

    def clear(self) -> None:
        self._owners.clear()
        self._deps.clear()
