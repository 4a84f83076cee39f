"""Physical flows (ovn-architecture(7), OVN 23.03 tables) from hand-made SB states."""

from __future__ import annotations

from dataclasses import replace

from pyovn.controller import model as M
from pyovn.controller.flows import compute_flows
from pyovn.logical import ofrep as O
from tests.controller.topo import two_chassis_switch, uid


def _lines(flows: list[O.Flow], table: int) -> list[str]:
    return sorted(str(f) for f in flows if f.table == table)


def test_vif_enters_its_datapath_with_zones_and_port_key() -> None:
    local, sb = two_chassis_switch()
    c = compute_flows(local, sb, {})
    t0 = [f for f in c.flows if f.table == 0 and "in_port=5" in str(f)]
    assert len(t0) == 1
    s = str(t0[0])
    assert f"cookie={hex(int(uid('vm1')[:8], 16))}" in s
    assert "set_field:0x1->metadata,set_field:0x1->reg14,resubmit(,8)" in s
    assert f"set_field:{hex(c.zones['vm1'])}->reg13" in s


def test_remote_port_goes_through_the_geneve_tunnel_with_the_tunnel_key() -> None:
    local, sb = two_chassis_switch()
    c = compute_flows(local, sb, {})
    t39 = [s for s in _lines(c.flows, 39) if "reg15=0x2,metadata=0x1" in s]
    assert len(t39) == 1
    assert ("set_field:0x1/0xffffff->tun_id,set_field:0x2->tun_metadata0,"
            "move:NXM_NX_REG14[0..14]->NXM_NX_TUN_METADATA0[16..30],output:1") in t39[0]


def test_tunnels_only_to_chassis_sharing_a_datapath() -> None:
    local, sb = two_chassis_switch()
    c = compute_flows(local, sb, {})
    assert c.bindings.remote_chassis() == {"hv2"}
    ins = [s for s in _lines(c.flows, 0) if "move:NXM_NX_TUN_ID" in s]
    assert [("in_port=1" in s) for s in ins] == [True]


def test_unbound_interface_claims_nothing_and_makes_no_datapath_local() -> None:
    local, sb = two_chassis_switch()
    del local.interfaces["tap1"]
    c = compute_flows(local, sb, {})
    assert c.bindings.claims == set() and c.bindings.local_datapaths == set()
    assert c.bindings.remote == {}


def test_port_bound_here_without_interface_is_released() -> None:
    local, sb = two_chassis_switch()
    del local.interfaces["tap1"]
    c = compute_flows(local, sb, {})
    assert c.bindings.releases == {"vm1"}


def test_requested_chassis_elsewhere_is_not_claimed() -> None:
    local, sb = two_chassis_switch()
    sb.ports[uid("vm1")] = replace(sb.ports[uid("vm1")], requested_chassis="hv2")
    assert compute_flows(local, sb, {}).bindings.claims == set()


def test_multicast_group_delivers_locally_and_tunnels_to_remote_members() -> None:
    local, sb = two_chassis_switch()
    c = compute_flows(local, sb, {})
    t40 = [s for s in _lines(c.flows, 40) if "reg15=0x8000" in s]
    t39 = [s for s in _lines(c.flows, 39) if "reg15=0x8000" in s]
    assert len(t40) == 1 and "set_field:0x1->reg15,resubmit(,41),set_field:0x8000->reg15" in t40[0]
    assert len(t39) == 1 and t39[0].endswith("output:1,resubmit(,40)")


def test_container_traffic_is_matched_on_its_vlan_and_untagged() -> None:
    local, sb = two_chassis_switch()
    sb.ports[uid("c1")] = M.PortBinding(uid("c1"), "c1", uid("sw1"), 7, parent_port="vm1",
                                        tag=42)
    c = compute_flows(local, sb, {})
    assert "c1" in c.bindings.claims and uid("sw1") in c.bindings.local_datapaths
    t0 = [s for s in _lines(c.flows, 0) if "dl_vlan=42" in s]
    assert len(t0) == 1 and "priority=150,in_port=5" in t0[0]
    assert "set_field:0x20/0x20->reg10,pop_vlan" in t0[0]
    t65 = [s for s in _lines(c.flows, 65) if "reg15=0x7,metadata=0x2" in s]
    assert t65 and t65[0].endswith(
        "actions=push_vlan:0x8100,set_field:0x102a->vlan_tci,output:5,pop_vlan")


def test_patch_ports_make_the_peer_datapath_local_and_reenter_its_pipeline() -> None:
    local, sb = two_chassis_switch()
    lr = uid("lr0")
    sb.datapaths[lr] = M.Datapath(lr, 3, False, "lr0")
    sb.ports[uid("sw0-lr0")] = M.PortBinding(uid("sw0-lr0"), "sw0-lr0", uid("sw0"), 9, "patch",
                                             options={"peer": "lr0-sw0"})
    sb.ports[uid("lr0-sw0")] = M.PortBinding(uid("lr0-sw0"), "lr0-sw0", lr, 1, "patch",
                                             options={"peer": "sw0-lr0"})
    c = compute_flows(local, sb, {})
    assert lr in c.bindings.local_datapaths
    t65 = [s for s in _lines(c.flows, 65) if "reg15=0x9,metadata=0x1" in s]
    assert len(t65) == 1 and "clone(ct_clear," in t65[0]
    assert "set_field:0x3->metadata,set_field:0x1->reg14" in t65[0]


def test_localnet_port_uses_the_patch_port_and_remote_ports_go_through_it() -> None:
    local, sb = two_chassis_switch()
    local.bridge_mappings = {"physnet": "br-ex"}
    sb.ports[uid("ln")] = M.PortBinding(uid("ln"), "ln", uid("sw0"), 5, "localnet",
                                        options={"network_name": "physnet"})
    c = compute_flows(local, sb, {})
    assert c.bindings.wanted_localnets == {"ln": "br-ex"}
    local.interfaces["patch-br-int-to-ln"] = M.Interface("patch-br-int-to-ln", 8, None,
                                                         "patch", None, "ln")
    c = compute_flows(local, sb, {})
    assert any("in_port=8,vlan_tci=0/0x1000" in s for s in _lines(c.flows, 0))
    t40 = [s for s in _lines(c.flows, 40) if "reg15=0x2,metadata=0x1" in s]
    assert t40 and "set_field:0x5->reg15,resubmit(,40)" in t40[0]
    assert not [s for s in _lines(c.flows, 39) if "metadata=0x1" in s]


def test_zones_are_kept_across_computations() -> None:
    local, sb = two_chassis_switch()
    c = compute_flows(local, sb, {"vm1": 77})
    assert c.zones["vm1"] == 77
    assert len(set(c.zones.values())) == len(c.zones)


def test_flow_table_has_no_conflicting_keys() -> None:
    from pyovn.openflow.flowtable import index_flows

    local, sb = two_chassis_switch()
    index_flows(compute_flows(local, sb, {}).flows)


def test_malformed_bridge_mappings_are_skipped() -> None:
    assert M.parse_bridge_mappings("a:b, bad ,:x,c:,d:e") == {"a": "b", "d": "e"}
