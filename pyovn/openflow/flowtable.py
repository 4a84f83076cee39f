"""Desired-vs-installed flow tables: the smallest set of flow_mods that turns what the
switch has into what the controller wants, as a pure function (tested without a switch).

A flow is identified the way OpenFlow identifies it, by (table, priority, match).  When
only the actions change, MODIFY_STRICT keeps the flow's counters; a new cookie needs an
ADD over the old flow (OpenFlow 1.5 modify never rewrites cookies)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pyovn.logical.ofrep import Action, Flow
from pyovn.openflow import messages as M
from pyovn.openflow.actions import ActionEncoder
from pyovn.openflow.desired import DesiredFlows, FlowKey, flow_key
from pyovn.openflow.protocol import OpenFlowError


def index_flows(flows: Iterable[Flow]) -> dict[FlowKey, Flow]:
    """Flows by key; two different flows with one key are a compiler bug, reported here
    rather than letting the switch keep whichever came last."""
    out: dict[FlowKey, Flow] = {}
    for f in flows:
        k = flow_key(f)
        old = out.get(k)
        if old is not None and (old.actions != f.actions or old.cookie != f.cookie):
            raise OpenFlowError(f"conflicting flows for table={f.table} priority={f.priority} "
                                f"{f.match}: {old} / {f}")
        out[k] = f
    return out


@dataclass
class FlowDiff:
    adds: list[Flow] = field(default_factory=list)
    modifies: list[Flow] = field(default_factory=list)
    deletes: list[Flow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.adds) + len(self.modifies) + len(self.deletes)


def _same_actions(a: tuple[Action, ...], b: tuple[Action, ...]) -> bool:
    return a == b


def diff_flows(installed: Mapping[FlowKey, Flow], desired: Mapping[FlowKey, Flow]) -> FlowDiff:
    d = FlowDiff()
    for k, f in installed.items():
        if k not in desired:
            d.deletes.append(f)
    for k, f in desired.items():
        old = installed.get(k)
        if old is None or old.cookie != f.cookie:
            d.adds.append(f)
        elif not _same_actions(old.actions, f.actions):
            d.modifies.append(f)
    return d


def diff_messages(d: FlowDiff, xid: Callable[[], int],
                  encoder: ActionEncoder | None = None) -> list[bytes]:
    """Deletes first (so a re-keyed flow never briefly coexists with its replacement),
    then modifies, then adds; the caller sends them in one bundle."""
    return list(iter_diff_messages(d, xid, encoder))


def iter_diff_messages(d: FlowDiff, xid: Callable[[], int],
                       encoder: ActionEncoder | None = None) -> Iterator[bytes]:
    """diff_messages, encoded as they are taken: given to SwitchConnection.bundle, the
    encoding of a large table overlaps the switch's checking of what was already sent."""
    enc = encoder or ActionEncoder()
    for f in d.deletes:
        yield M.flow_delete(xid(), f.table, f.match, f.priority, strict=True)
    for f in d.modifies:
        yield M.flow_modify(xid(), f, strict=True, encoder=enc)
    for f in d.adds:
        yield M.flow_add(xid(), f, encoder=enc)


class FlowTable:
    """What the switch has been told to hold.  'sync' computes the messages for a new
    desired state; 'committed' records it once the switch has accepted them."""

    def __init__(self) -> None:
        self.installed: dict[FlowKey, Flow] = {}

    def sync(self, desired: Iterable[Flow], xid: Callable[[], int],
             encoder: ActionEncoder | None = None) -> tuple[dict[FlowKey, Flow], list[bytes]]:
        want = index_flows(desired)
        return want, diff_messages(diff_flows(self.installed, want), xid, encoder)

    def committed(self, desired: dict[FlowKey, Flow]) -> None:
        self.installed = desired

    def sync_desired(self, desired: DesiredFlows, keys: Iterable[FlowKey],
                     xid: Callable[[], int], encoder: ActionEncoder | None = None
                     ) -> tuple[dict[FlowKey, Flow | None], list[bytes]]:
        """The messages for the keys of 'desired' that changed ('keys', its dirty set):
        work in proportion to the change.  Returns what each key will hold once they are
        accepted (None: nothing), for 'apply'."""
        changes, d = self.diff_desired(desired, keys)
        return changes, diff_messages(d, xid, encoder)

    def diff_desired(self, desired: DesiredFlows, keys: Iterable[FlowKey]
                     ) -> tuple[dict[FlowKey, Flow | None], FlowDiff]:
        """sync_desired's changes and diff, before encoding (iter_diff_messages)."""
        d = FlowDiff()
        changes: dict[FlowKey, Flow | None] = {}
        for k in keys:
            want = desired.resolve(k)
            have = self.installed.get(k)
            if want is None:
                if have is not None:
                    d.deletes.append(have)
                    changes[k] = None
            elif have is None or have.cookie != want.cookie:
                d.adds.append(want)
                changes[k] = want
            elif not _same_actions(have.actions, want.actions):
                d.modifies.append(want)
                changes[k] = want
        return changes, d

    def apply(self, changes: Mapping[FlowKey, Flow | None]) -> None:
        """Records changes from 'sync_desired' once the switch has accepted them."""
        for k, f in changes.items():
            if f is None:
                self.installed.pop(k, None)
            else:
                self.installed[k] = f

    def clear(self) -> None:
        """After a reconnect the switch's table is unknown: start from empty (and send a
        delete-all first)."""
        self.installed = {}
