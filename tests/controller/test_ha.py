"""Gateway HA on a chassis: which chassis claims a chassisredirect port
(ha_group_is_active), with whom it runs BFD (bfd_chassis, ha_groups), the BFD settings on
the tunnels (sync_bfd, sync_tunnels) and which tunnels count as up (local_state)."""

from __future__ import annotations

from pyovn.controller import model as M
from pyovn.controller import ovs as OV
from pyovn.controller.ha import bfd_chassis, bfd_settings
from pyovn.controller.ha import ha_group_is_active as active
from pyovn.controller.state import ha_groups, local_state
from tests.controller.fake_ovsdb import Row, Table, Txn

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
    groups = [(["gw1", "gw2", "gw3"], [("hv1", False), ("hv2", False), ("rem", True)]),
              (["gw1", "gw4"], [("hv3", False)]),
              (["gw9"], [("hv1", False)])]  # one member: no BFD needed
    assert bfd_chassis("gw1", groups) == {"gw2", "gw3", "hv1", "hv2", "gw4", "hv3"}
    assert bfd_chassis("hv1", groups) == {"gw1", "gw2", "gw3"}
    assert bfd_chassis("hv3", groups) == {"gw1", "gw4"}
    assert bfd_chassis("nobody", groups) == set()


def test_bfd_settings_take_sb_global_timers() -> None:
    assert bfd_settings({}) == {"enable": "true", "check_tnl_key": "true"}
    s = bfd_settings({"bfd-min-rx": "100", "bfd-mult": "3", "other": "x"})
    assert s == {"enable": "true", "min_rx": "100", "mult": "3", "check_tnl_key": "true"}


# --- BFD on the tunnels: ovs.py and state.py against rows as ovn-controller leaves them ---

ON = {"enable": "true", "check_tnl_key": "true"}


def ovs_db(tunnels: dict[str, tuple[dict[str, str], dict[str, str]]],
           extra_ports: tuple[str, ...] = ()) -> dict[str, Table]:
    """br-int with a Geneve tunnel per chassis (-> (bfd, bfd_status)), ids and names as the
    real ovn-controller writes them ("ovn-hv2-0", "hv2@172.31.0.2"), and plain ports."""
    t = {n: Table() for n in ("Open_vSwitch", "Bridge", "Port", "Interface")}
    ports = []
    for n, (ch, (bfd, status)) in enumerate(sorted(tunnels.items()), 1):
        name = f"ovn-{ch}-0"
        t["Interface"].rows[f"i{n}"] = Row("Interface", {
            "name": name, "type": "geneve", "ofport": (n,), "bfd": dict(bfd),
            "bfd_status": dict(status),
            "options": {"remote_ip": f"172.31.0.{n}", "key": "flow", "csum": "true"}},
            f"i{n}")
        t["Port"].rows[f"p{n}"] = Row("Port", {
            "name": name, "interfaces": (f"i{n}",),
            "external_ids": {"ovn-chassis-id": f"{ch}@172.31.0.{n}"}}, f"p{n}")
        ports.append(f"p{n}")
    for k, name in enumerate(extra_ports):
        t["Interface"].rows[f"x{k}"] = Row("Interface", {"name": name, "ofport": (90 + k,),
                                                         "bfd": {"enable": "true"}}, f"x{k}")
        t["Port"].rows[f"q{k}"] = Row("Port", {"name": name, "interfaces": (f"x{k}",)},
                                      f"q{k}")
        ports.append(f"q{k}")
    t["Bridge"].rows["b"] = Row("Bridge", {"name": "br-int", "ports": tuple(ports)}, "b")
    t["Open_vSwitch"].rows["o"] = Row("Open_vSwitch", {"external_ids": {
        "ovn-encap-type": "geneve"}}, "o")
    return t


def bfd_of(db: dict[str, Table]) -> dict[str, dict[str, str]]:
    return {r.raw("name"): dict(r.raw("bfd")) for r in db["Interface"].rows.values()}


def test_bfd_is_set_on_the_tunnels_to_the_bfd_chassis_whatever_their_address() -> None:
    db = ovs_db({"hv2": ({}, {}), "hv3": ({}, {}), "hv4": (dict(ON), {})},
                extra_ports=("vm1",))
    assert OV.sync_bfd(Txn(), db, "br-int", {"hv2", "hv3"}, ON)  # type: ignore[arg-type]
    # hv4 is nobody's BFD peer any more: off, as bfd_run clears the column; a port that is
    # not a tunnel (no ovn-chassis-id) is left alone.
    assert bfd_of(db) == {"ovn-hv2-0": ON, "ovn-hv3-0": ON, "ovn-hv4-0": {},
                          "vm1": {"enable": "true"}}
    # Again: nothing to write.
    assert not OV.sync_bfd(Txn(), db, "br-int", {"hv2", "hv3"}, ON)  # type: ignore[arg-type]


def test_bfd_settings_are_replaced_as_a_whole() -> None:
    timers = bfd_settings({"bfd-min-rx": "200", "bfd-min-tx": "150", "bfd-mult": "4",
                           "bfd-decay-min-rx": "1000"})
    db = ovs_db({"hv2": (dict(ON, cpath_down="true"), {})})
    assert OV.sync_bfd(Txn(), db, "br-int", {"hv2"}, timers)  # type: ignore[arg-type]
    assert bfd_of(db)["ovn-hv2-0"] == {"enable": "true", "min_rx": "200", "min_tx": "150",
                                       "mult": "4", "decay_min_rx": "1000",
                                       "check_tnl_key": "true"}
    # The timers removed from SB_Global: back to OVS' defaults, not the old timers.
    assert OV.sync_bfd(Txn(), db, "br-int", {"hv2"}, ON)  # type: ignore[arg-type]
    assert bfd_of(db)["ovn-hv2-0"] == ON


def test_a_new_tunnel_to_a_bfd_peer_is_made_with_bfd_on() -> None:
    db = ovs_db({})
    ch = {n: M.Chassis(n, (M.Encap("geneve", ip, (("csum", "true"),)),))
          for n, ip in (("hv2", "172.31.0.2"), ("hv3", "172.31.0.3"))}
    txn = Txn()
    assert OV.sync_tunnels(txn, db, "br-int", ch, "geneve",  # type: ignore[arg-type]
                           bfd_chassis={"hv3"}, bfd=ON)
    made = {r.cols["name"]: r.cols.get("bfd") for r in txn.inserted if r.table == "Interface"}
    assert made == {"ovn-hv2-0": None, "ovn-hv3-0": ON}


def test_only_tunnels_with_our_bfd_and_the_session_up_are_active() -> None:
    up = {"state": "up", "forwarding": "true"}
    db = ovs_db({"hv2": (dict(ON), up), "hv3": (dict(ON), {"state": "down"}),
                 "hv4": ({}, up),  # someone else's stale status: BFD is not ours
                 "hv5": (dict(ON), {"state": "init"})})
    st = local_state(db, "hv1", "br-int")  # type: ignore[arg-type]
    assert st.active_tunnels() == {"hv2"}


def sb_db(groups: list[tuple[list[str], list[str]]], chassis: list[str],
          remote: tuple[str, ...] = ()) -> dict[str, Table]:
    """SB rows for HA groups: ([member chassis names], [ref chassis names]); a member that
    is not in 'chassis' has an HA_Chassis row without a chassis (not registered)."""
    t = {n: Table() for n in ("Chassis", "HA_Chassis", "HA_Chassis_Group")}
    for c in chassis:
        t["Chassis"].rows[f"c-{c}"] = Row("Chassis", {
            "name": c, "other_config": {"is-remote": "true"} if c in remote else {}},
            f"c-{c}")
    for g, (members, refs) in enumerate(groups):
        hs = []
        for k, m in enumerate(members):
            u = f"h{g}-{k}"
            t["HA_Chassis"].rows[u] = Row("HA_Chassis", {
                "priority": 20 - k, "chassis": (f"c-{m}",) if m in chassis else ()}, u)
            hs.append(u)
        t["HA_Chassis_Group"].rows[f"g{g}"] = Row("HA_Chassis_Group", {
            "ha_chassis": tuple(hs), "ref_chassis": tuple(f"c-{r}" for r in refs)}, f"g{g}")
    return t


def test_ha_groups_count_members_without_a_chassis() -> None:
    sb = sb_db([(["hv2", "hv3"], ["hv1", "ic"]), (["hv2", "gone"], ["hv1"]), (["hv2"], [])],
               ["hv1", "hv2", "hv3", "ic"], remote=("ic",))
    want = [(["hv2"], []), (["hv2", None], [("hv1", False)]),
            (["hv2", "hv3"], [("hv1", False), ("ic", True)])]
    assert sorted(ha_groups(sb), key=str) == sorted(want, key=str)  # type: ignore[arg-type]


def test_a_group_whose_second_gateway_is_missing_still_runs_bfd() -> None:
    # ovn-controller counts HA_Chassis rows: two rows, one without a chassis, is a group
    # of two, and its present member keeps BFD with the chassis using the gateway.
    groups = [(["hv2", None], [("hv1", False)])]
    assert bfd_chassis("hv2", groups) == {"hv1"}
    assert bfd_chassis("hv1", groups) == {"hv2"}
    # One row: no BFD at all.
    assert bfd_chassis("hv2", [(["hv2"], [("hv1", False)])]) == set()
    assert bfd_chassis("hv1", [(["hv2"], [("hv1", False)])]) == set()


def test_failover_as_each_gateway_sees_it() -> None:
    """hv2 (20) and hv3 (10) serve hv1.  Each decides from its own BFD sessions."""
    g = [(20, "hv2"), (10, "hv3")]
    refs = ["hv1"]
    # All up: hv2.
    assert active(g, refs, {"hv1", "hv3"}, "hv2") and not active(g, refs, {"hv1", "hv2"}, "hv3")
    # hv2 cut off: it sees nobody and lets go; hv3 still reaches hv1 and takes over.
    assert not active(g, refs, set(), "hv2") and active(g, refs, {"hv1"}, "hv3")
    # While only hv2-hv3 is down, both believe they are active (each reaches hv1): what
    # ovn-controller does too; hv1's choice decides.
    assert active(g, refs, {"hv1"}, "hv2") and active(g, refs, {"hv1"}, "hv3")
    # hv2 back: it wins again as soon as hv3 sees it.
    assert not active(g, refs, {"hv1", "hv2"}, "hv3")


def test_tunnels_on_their_way_out_are_left_alone() -> None:
    db = ovs_db({"hv2": (dict(ON), {}), "hv3": ({}, {})})
    # sync_tunnels drops hv2's tunnel in this transaction (hv2 is no longer wanted).
    assert OV.sync_bfd(Txn(), db, "br-int", {"hv3"}, ON,  # type: ignore[arg-type]
                       staying={"hv3"})
    assert bfd_of(db) == {"ovn-hv2-0": ON, "ovn-hv3-0": ON}
