"""pyovn compiles the corpus into the same OpenFlow flows as the real ovn-controller
23.03 did for the same logical flows (recorded in the data file by
scripts/gen_lflows.py): same tables, priorities and matches, and the same actions."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from corpus import compile_all, contexts, load
from ofctl import canon_actions, parse_dump

from pyovn.logical import ofrep as O
from pyovn.logical.compile import Compiler

Key = tuple[int, int, tuple[tuple[str, int, int], ...], str]


def _key(table: int, prio: int, match: O.Match, conj: bool) -> Key:
    fields = tuple(sorted((k, v, m) for k, (v, m) in match.fields.items() if k != "conj_id"))
    kind = "conj_id" if "conj_id" in match.fields else ("clause" if conj else "")
    return table, prio, fields, kind


def _logical_table(t: int) -> bool:
    return O.OFTABLE_LOG_INGRESS_PIPELINE <= t < O.OFTABLE_OUTPUT_LARGE_PKT_DETECT or \
        O.OFTABLE_LOG_EGRESS_PIPELINE <= t < O.OFTABLE_SAVE_INPORT


@pytest.fixture(scope="module")
def both() -> tuple[dict[Key, set[str]], dict[Key, set[str]]]:
    data: dict[str, Any] = load()
    if "real_controller" not in data:
        pytest.skip("data file was generated with --no-chassis")
    real: dict[Key, set[str]] = defaultdict(set)
    for _cookie, table, prio, match, actions in parse_dump("\n".join(
            data["real_controller"]["flows"])):
        if _logical_table(table):
            real[_key(table, prio, match, "conjunction(" in actions)].add(
                "" if "conjunction(" in actions else canon_actions(actions))
    mine: dict[Key, set[str]] = defaultdict(set)
    _ok, _total, failures, flows = compile_all(data)
    assert not failures
    for f in flows:
        conj = any(isinstance(a, O.Conjunction) for a in f.actions)
        mine[_key(f.table, f.priority, f.match, conj)].add(
            "" if conj else canon_actions(O.format_actions(ovn_23_03_actions(f.actions))))
    return real, mine


def ovn_23_03_actions(actions: tuple[O.Action, ...]) -> tuple[O.Action, ...]:
    """What ovn-controller 23.03 actually installs for pyovn's actions.

    Its encode_CT_COMMIT_V2() on a datapath with all-zero SNAT support re-points the
    action buffer's header at the *first* action instead of at the ct action, so when
    ct_commit is not the first action, ofpact_finish() stretches the first action over
    the ct: everything after the first action up to and including ct(commit) vanishes
    from the installed flow (fixed in later OVN).  pyovn encodes ct_commit correctly;
    the comparison applies the bug to pyovn's output instead of excusing mismatches."""
    for i, a in enumerate(actions):
        if i and isinstance(a, O.CT) and a.commit and a.table is None \
                and a.nat == O.NAT("src"):
            return actions[:1] + actions[i + 1:]
    return actions


def test_same_flow_matches_as_real_ovn_controller(
        both: tuple[dict[Key, set[str]], dict[Key, set[str]]]) -> None:
    real, mine = both
    assert len(real) > 1000
    only_real = sorted(set(real) - set(mine))
    only_mine = sorted(set(mine) - set(real))
    assert only_real == [] and only_mine == []


def test_same_actions_as_real_ovn_controller(
        both: tuple[dict[Key, set[str]], dict[Key, set[str]]]) -> None:
    real, mine = both
    # Where two logical flows give one OpenFlow match (same priority), ovn-controller
    # installs one of them: it suffices that pyovn produced that one too.
    differ = {k: (sorted(real[k]), sorted(mine[k])) for k in real
              if k in mine and not real[k] & mine[k]}
    assert differ == {}


def test_same_groups_as_real_ovn_controller() -> None:
    """Load balancer and select() groups: same buckets as the real ovn-controller's."""
    data = load()
    if "real_controller" not in data:
        pytest.skip("data file was generated with --no-chassis")
    real = {canon_actions(re.sub(r"^group_id=\d+,", "", line))
            for line in data["real_controller"]["groups"]}
    ctxs = contexts(data)
    comp = Compiler()
    for f in data["flows"]:
        for key in f["datapaths"]:
            ctx, is_switch = ctxs[key]
            comp.compile(f["match"], f["actions"], f["pipeline"], f["table"], f["priority"],
                         key, ctx, is_switch, in_out_port=f.get("in_out_port"))
    mine = {canon_actions(desc) for ctx, _ in ctxs.values() for desc in ctx.groups.ids}
    assert len(real) >= 10
    assert mine == real
