"""ha_group_is_active: which chassis claims a chassisredirect port."""

from __future__ import annotations

from pyovn.controller.ha import ha_group_is_active as active

GROUP = [(20, "gw1"), (10, "gw2"), (5, "gw3")]


def test_empty_group_is_nobodys_and_a_single_member_is_its_chassis() -> None:
    assert not active([], [], [], "gw1")
    assert active([(1, "gw1")], [], [], "gw1")
    assert not active([(1, "gw1")], [], ["gw2"], "gw2")
    assert not active([(1, None)], [], [], "gw1")


def test_highest_priority_reachable_member_wins() -> None:
    tunnels = {"gw1", "gw2", "gw3", "hv1"}
    assert active(GROUP, ["hv1"], tunnels - {"gw1"}, "gw1")
    assert not active(GROUP, ["hv1"], tunnels - {"gw2"}, "gw2")
    # gw1 unreachable from gw2: gw2 takes over.
    assert active(GROUP, ["hv1"], {"gw3", "hv1"}, "gw2")


def test_a_chassis_that_reaches_nobody_is_not_active_unless_alone() -> None:
    assert not active(GROUP, ["hv1"], [], "gw1")
    assert active([(20, "gw1"), (10, None)], [], [], "gw1")


def test_own_only_candidate_needs_a_ref_chassis_in_reach() -> None:
    assert active(GROUP, ["hv1"], {"hv1"}, "gw3")
    assert not active(GROUP, ["hv1"], {"hv9"}, "gw3")


def test_equal_priorities_go_to_the_greater_name() -> None:
    g = [(10, "a"), (10, "b")]
    assert active(g, [], {"a"}, "b") and not active(g, [], {"b"}, "a")


def test_bfd_runs_between_members_and_with_the_ref_chassis() -> None:
    from pyovn.controller.ha import bfd_chassis

    groups = [(["gw1", "gw2", "gw3"], [("hv1", False), ("hv2", False), ("rem", True)]),
              (["gw1", "gw4"], [("hv3", False)]),
              (["gw9"], [("hv1", False)])]  # one member: no BFD needed
    assert bfd_chassis("gw1", groups) == {"gw2", "gw3", "hv1", "hv2", "gw4", "hv3"}
    assert bfd_chassis("hv1", groups) == {"gw1", "gw2", "gw3"}
    assert bfd_chassis("hv3", groups) == {"gw1", "gw4"}
    assert bfd_chassis("nobody", groups) == set()


def test_bfd_settings_take_sb_global_timers() -> None:
    from pyovn.controller.ha import bfd_settings

    assert bfd_settings({}) == {"enable": "true", "check_tnl_key": "true"}
    s = bfd_settings({"bfd-min-rx": "100", "bfd-mult": "3", "other": "x"})
    assert s == {"enable": "true", "min_rx": "100", "mult": "3", "check_tnl_key": "true"}
