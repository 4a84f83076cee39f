"""The flows a controller wants in the switch, each contributed by an owner (a logical flow
on one datapath, a port's physical flows, ...), as ovn-controller's ofctrl keeps its
"desired flow table": replacing one owner's flows touches only the keys they had or have,
and those keys are remembered as dirty so that installing them costs work in proportion
to the change, not to the size of the table.

Several owners may want the same key (table, priority, match):

- the same flow: it is installed once, and stays while any owner still wants it;
- conjunction clauses only (two logical flows sharing a clause): the switch gets one
  flow whose actions are every owner's conjunction() actions, as ovn-controller merges
  them;
- anything else is a conflict: the smallest owner wins (so that an incremental run and a
  full recompute agree) and the conflict is counted.

Group and meter ids the owners' actions use are reference-counted, so the controller
knows which groups and meters the switch needs without walking the whole table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable

from pyovn.logical import ofrep as O

FlowKey = tuple[int, int, O.Match]
Owner = Hashable


def flow_key(f: O.Flow) -> FlowKey:
    return (f.table, f.priority, f.match)


def action_refs(actions: Iterable[O.Action]) -> tuple[set[int], set[int]]:
    """(group ids, meter ids) that actions refer to: group actions, meter actions and
    the meter of controller actions (packet-in rate limits), nested ones included.  (A loop
    over a stack, not a recursive generator: it runs for every new flow.)"""
    groups: set[int] = set()
    meters: set[int] = set()
    stack = [actions]
    while stack:
        for a in stack.pop():
            if isinstance(a, O.Group):
                groups.add(a.group_id)
            elif isinstance(a, O.Meter):
                if a.meter_id is not None:
                    meters.add(a.meter_id)
            elif isinstance(a, O.Controller):
                if a.meter_id is not None:
                    meters.add(a.meter_id)
                if a.nested:
                    stack.append(a.nested)
            elif isinstance(a, O.Clone):
                stack.append(a.actions)
            elif isinstance(a, O.CT):
                stack.append(a.exec_)
    return groups, meters


def _flows_refs(flows: Iterable[O.Flow]) -> tuple[set[int], set[int]]:
    groups: set[int] = set()
    meters: set[int] = set()
    seen: set[int] = set()
    for f in flows:
        # Flows compiled from one logical flow share one actions tuple: walk it once.
        if id(f.actions) in seen:
            continue
        seen.add(id(f.actions))
        g, m = action_refs(f.actions)
        groups |= g
        meters |= m
    return groups, meters


def _conj_only(f: O.Flow) -> bool:
    return bool(f.actions) and all(isinstance(a, O.Conjunction) for a in f.actions)


class DesiredFlows:
    def __init__(self) -> None:
        self._by_owner: dict[Owner, list[O.Flow]] = {}
        # A key wanted by one owner maps to (owner, flow); by several, to {owner: flow}.
        self._by_key: dict[FlowKey, tuple[Owner, O.Flow] | dict[Owner, O.Flow]] = {}
        self._refs: dict[Owner, tuple[set[int], set[int]]] = {}
        self.groups_used: Counter[int] = Counter()
        self.meters_used: Counter[int] = Counter()
        self.dirty: set[FlowKey] = set()

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, owner: Owner) -> bool:
        return owner in self._by_owner

    def owners(self) -> list[Owner]:
        return list(self._by_owner)

    def flows_of(self, owner: Owner) -> list[O.Flow]:
        return self._by_owner.get(owner, [])

    # --- changes -------------------------------------------------------------------------

    def put(self, owner: Owner, flows: list[O.Flow]) -> None:
        """Replaces what 'owner' wants with 'flows' (empty: nothing)."""
        old = self._by_owner.get(owner)
        if old is not None:
            if len(old) == len(flows) and old == flows:
                return
            self._remove(owner, old)
        if not flows:
            return
        self._by_owner[owner] = flows
        by_key = self._by_key
        get = by_key.get
        keys = [(f.table, f.priority, f.match) for f in flows]
        for k, f in zip(keys, flows):
            cur = get(k)
            if cur is None:
                by_key[k] = (owner, f)
            elif isinstance(cur, tuple):
                if cur[0] != owner:
                    by_key[k] = {cur[0]: cur[1], owner: f}
                # else: one owner with two flows for one key: the first stays.
            elif owner not in cur:
                cur[owner] = f
        self.dirty.update(keys)
        refs = _flows_refs(flows)
        if refs[0] or refs[1]:
            self._refs[owner] = refs
            self.groups_used.update(refs[0])
            self.meters_used.update(refs[1])

    def remove(self, owner: Owner) -> None:
        old = self._by_owner.get(owner)
        if old is not None:
            self._remove(owner, old)

    def _remove(self, owner: Owner, flows: list[O.Flow]) -> None:
        del self._by_owner[owner]
        by_key = self._by_key
        for f in flows:
            k = (f.table, f.priority, f.match)
            cur = by_key.get(k)
            if cur is None:
                continue
            if isinstance(cur, tuple):
                if cur[0] == owner:
                    del by_key[k]
            elif owner in cur:
                del cur[owner]
                if len(cur) == 1:
                    ((o, g),) = cur.items()
                    by_key[k] = (o, g)
            self.dirty.add(k)
        refs = self._refs.pop(owner, None)
        if refs is not None:
            for used, ids in ((self.groups_used, refs[0]), (self.meters_used, refs[1])):
                for i in ids:
                    used[i] -= 1
                    if used[i] <= 0:
                        del used[i]

    def clear(self) -> None:
        """Drops every owner (their keys become dirty: the switch must lose them)."""
        self.dirty.update(self._by_key)
        self._by_owner.clear()
        self._by_key.clear()
        self._refs.clear()
        self.groups_used.clear()
        self.meters_used.clear()

    def mark_all_dirty(self) -> None:
        """After a reconnect the switch holds nothing known: every key must be sent."""
        self.dirty.update(self._by_key)

    # --- reading -------------------------------------------------------------------------

    def resolve(self, key: FlowKey) -> O.Flow | None:
        """The one flow the switch should hold for 'key', or None."""
        cur = self._by_key.get(key)
        if cur is None:
            return None
        if isinstance(cur, tuple):
            return cur[1]
        flows = [cur[o] for o in sorted(cur, key=repr)]
        first = flows[0]
        if all(f.actions == first.actions and f.cookie == first.cookie for f in flows[1:]):
            return first
        if all(_conj_only(f) for f in flows):
            conj = {a for f in flows for a in f.actions if isinstance(a, O.Conjunction)}
            merged = tuple(sorted(conj, key=lambda a: (a.id, a.clause, a.n_clauses)))
            return O.Flow(first.table, first.priority, first.match, merged, first.cookie)
        return flows[0]

    def conflicts(self) -> list[tuple[FlowKey, list[Owner]]]:
        """Keys wanted by several owners with different flows that cannot be merged."""
        out = []
        for k, cur in self._by_key.items():
            if isinstance(cur, dict):
                flows = list(cur.values())
                same = all(f.actions == flows[0].actions and f.cookie == flows[0].cookie
                           for f in flows[1:])
                if not same and not all(_conj_only(f) for f in flows):
                    out.append((k, sorted(cur, key=repr)))
        return out

    def flows(self) -> list[O.Flow]:
        """The whole table, resolved (for tests, dumps and the full-recompute reference)."""
        out = []
        for k in self._by_key:
            f = self.resolve(k)
            if f is not None:
                out.append(f)
        return out

    def take_dirty(self) -> set[FlowKey]:
        d, self.dirty = self.dirty, set()
        return d
