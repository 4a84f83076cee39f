"""The desired-vs-installed differ: minimal flow_mods, tested without a switch."""

from __future__ import annotations

import random

import pytest

from pyovn.logical import ofrep as O
from pyovn.openflow import messages as M
from pyovn.openflow.flowtable import FlowTable, diff_flows, diff_messages, index_flows
from pyovn.openflow.protocol import OpenFlowError, XidAllocator
from tests.openflow.flowgen import flows


def _f(table: int, prio: int, reg: int, acts: tuple[O.Action, ...], cookie: int = 0) -> O.Flow:
    m = O.Match()
    m.add("reg1", reg, 0xFFFFFFFF)
    return O.Flow(table, prio, m, acts, cookie)


def _cmds(msgs: list[bytes]) -> list[int]:
    return [m[25] for m in msgs]  # flow_mod command byte


def test_no_change_sends_nothing() -> None:
    fl = flows(50)
    assert len(diff_flows(index_flows(fl), index_flows(list(reversed(fl))))) == 0


def test_changed_actions_modify_strict_and_keep_counters() -> None:
    old = _f(1, 10, 5, (O.Resubmit(2),), cookie=7)
    new = _f(1, 10, 5, (O.Resubmit(3),), cookie=7)
    d = diff_flows(index_flows([old]), index_flows([new]))
    assert (d.adds, d.modifies, d.deletes) == ([], [new], [])
    assert _cmds(diff_messages(d, XidAllocator())) == [M.FlowModCommand.MODIFY_STRICT]


def test_changed_cookie_is_re_added() -> None:
    old = _f(1, 10, 5, (O.Resubmit(2),), cookie=7)
    new = _f(1, 10, 5, (O.Resubmit(2),), cookie=8)
    d = diff_flows(index_flows([old]), index_flows([new]))
    assert (d.adds, d.modifies, d.deletes) == ([new], [], [])


def test_same_match_other_priority_is_another_flow() -> None:
    a, b = _f(1, 10, 5, ()), _f(1, 11, 5, ())
    d = diff_flows(index_flows([a]), index_flows([b]))
    assert (d.adds, d.deletes) == ([b], [a])
    assert _cmds(diff_messages(d, XidAllocator())) == [M.FlowModCommand.DELETE_STRICT,
                                                      M.FlowModCommand.ADD]


def test_conflicting_desired_flows_are_rejected() -> None:
    with pytest.raises(OpenFlowError):
        index_flows([_f(1, 10, 5, (O.Resubmit(2),)), _f(1, 10, 5, (O.Resubmit(3),))])


def test_random_edits_converge_to_desired() -> None:
    """Applying the diff to a model of the switch yields exactly the desired table."""
    rng = random.Random(3)
    pool = flows(300, seed=9)
    table = FlowTable()
    switch: dict[tuple[int, int, O.Match], O.Flow] = {}
    for _ in range(20):
        desired = rng.sample(pool, rng.randrange(0, 120))
        want, msgs = table.sync(desired, XidAllocator())
        d = diff_flows(table.installed, want)
        assert len(msgs) == len(d)
        for f in d.deletes:
            del switch[(f.table, f.priority, f.match)]
        for f in d.modifies + d.adds:
            switch[(f.table, f.priority, f.match)] = f
        table.committed(want)
        assert switch == index_flows(desired)
