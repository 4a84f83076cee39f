"""VXLAN between chassis, as the real ovn-controller 23.03 does it (its flows were read off
a sandbox running it with ovn-encap-type=vxlan; tests/sandbox/test_vxlan.py compares the
two on a live switch):

- VNI = datapath key (bits 0-11) | egress port key (bits 12-23), no ingress port;
- a multicast group key 32768+n travels as 0x800|n and is restored on receipt by a
  priority-105 table-0 flow matching the VNI's bit 23;
- tunnel ports: the remote's most preferred encapsulation this chassis also has, options
  remote_ip, key=flow and the remote's csum, ovn-chassis-id "<chassis>@<ip>"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pyovn.controller import model as M
from pyovn.controller import ovs as OV
from pyovn.controller.flows import compute_flows
from pyovn.controller.physical import vxlan_port_key
from pyovn.controller.state import local_state, tunnel_chassis_of
from pyovn.logical import ofrep as O
from tests.controller.fake_ovsdb import Row, Table, Txn
from tests.controller.topo import two_chassis_switch, uid


def vxlan_pair(me: str = "hv1") -> tuple[M.LocalState, M.SbState]:
    local, sb = two_chassis_switch(me)
    local.encap_type = "vxlan"
    for name in ("ovn-hv2-0", "ovn-hv3-0"):
        local.interfaces[name] = replace(local.interfaces[name], type="vxlan")
    for ch, c in list(sb.chassis.items()):
        sb.chassis[ch] = M.Chassis(ch, tuple(replace(e, type="vxlan") for e in c.encaps))
    return local, sb


def flows_of(local: M.LocalState, sb: M.SbState, table: int) -> list[str]:
    return sorted(str(f) for f in compute_flows(local, sb, {}).flows if f.table == table)


def actions(line: str) -> str:
    return line.split(" actions=", 1)[1]


@pytest.mark.parametrize("key, wire", [
    (1, 1), (2047, 2047), (0x8000, 0x800), (0x8001, 0x801), (0x8004, 0x804),
    (0x87FF, 0xFFF), (0x8800, 0x800),  # beyond 2047 groups alias, as in ovn-controller
])
def test_port_and_multicast_keys_on_the_wire(key: int, wire: int) -> None:
    assert vxlan_port_key(key) == wire


def test_tunnel_in_splits_the_vni_and_restores_multicast_keys() -> None:
    local, sb = vxlan_pair()
    t0 = [s for s in flows_of(local, sb, 0) if "in_port=1" in s and "reg14" not in s]
    assert len(t0) == 2
    mc, uc = sorted(t0, key=lambda s: "priority=105" not in s)
    # The same actions as ovn-controller 23.03 (ovs-ofctl dump-flows of the real one).
    assert "priority=105," in mc and "tun_id=0x800000/0x800000" in mc
    assert actions(mc) == ("set_field:0x8000/0x8000->reg15,"
                           "move:NXM_NX_TUN_ID[12..22]->NXM_NX_REG15[0..10],"
                           "move:NXM_NX_TUN_ID[0..11]->OXM_OF_METADATA[0..11],resubmit(,40)")
    assert "priority=100," in uc and "tun_id" not in uc.split(" actions=")[0]
    assert actions(uc) == ("move:NXM_NX_TUN_ID[12..23]->NXM_NX_REG15[0..11],"
                           "move:NXM_NX_TUN_ID[0..11]->OXM_OF_METADATA[0..11],resubmit(,40)")
    # No ingress port crosses a VXLAN tunnel, and nothing reads Geneve's option.
    assert not any("TUN_METADATA0" in s or "REG14" in s for s in t0)


def test_unicast_and_multicast_output_pack_the_vni() -> None:
    local, sb = vxlan_pair()
    t39 = flows_of(local, sb, 39)
    uc = [s for s in t39 if "reg15=0x2,metadata=0x1" in s]
    mc = [s for s in t39 if "reg15=0x8000,metadata=0x1" in s]
    assert len(uc) == 1 and actions(uc[0]) == \
        "set_field:0x2001/0xffffff->tun_id,output:1,resubmit(,40)"
    assert len(mc) == 1 and actions(mc[0]) == \
        "set_field:0x800001/0xffffff->tun_id,output:1,resubmit(,40)"
    assert not any("tun_metadata0" in s for s in t39)


def test_keys_kept_from_before_vxlan_are_loaded_in_24_bits() -> None:
    """A datapath or port keyed while no chassis used VXLAN keeps its key (northd never
    renumbers); ovn-controller then loads only the VNI's 24 bits, and so does pyovn."""
    local, sb = vxlan_pair()
    sb.datapaths[uid("sw0")] = replace(sb.datapaths[uid("sw0")], key=5000)
    sb.ports[uid("vm2")] = replace(sb.ports[uid("vm2")], key=3000)
    t39 = [s for s in flows_of(local, sb, 39) if "reg15=0xbb8," in s]
    assert len(t39) == 1
    vni = (5000 | 3000 << 12) & 0xFFFFFF
    assert actions(t39[0]).startswith(f"set_field:{hex(vni)}/0xffffff->tun_id,output:1")


def test_geneve_tunnels_are_unchanged() -> None:
    local, sb = two_chassis_switch()
    t0 = [s for s in flows_of(local, sb, 0) if "in_port=1" in s and "reg14" not in s]
    assert [actions(s) for s in t0] == [
        "move:NXM_NX_TUN_ID[0..23]->OXM_OF_METADATA[0..23],"
        "move:NXM_NX_TUN_METADATA0[16..30]->NXM_NX_REG14[0..14],"
        "move:NXM_NX_TUN_METADATA0[0..15]->NXM_NX_REG15[0..15],resubmit(,40)"]


def test_each_tunnel_gets_its_own_encapsulation_in_one_multicast_fanout() -> None:
    """hv2 over VXLAN, hv3 over Geneve, one group with members on both: the metadata is
    set again where the tunnel type changes (ovn-controller's fan-out does the same)."""
    local, sb = two_chassis_switch()
    local.interfaces["ovn-hv2-0"] = replace(local.interfaces["ovn-hv2-0"], type="vxlan")
    sb.ports[uid("vm9")] = replace(sb.ports[uid("vm9")], datapath=uid("sw0"), key=3)
    sb.mcast_groups[uid("flood0")] = replace(
        sb.mcast_groups[uid("flood0")], ports=(uid("vm1"), uid("vm2"), uid("vm9")))
    t39 = [s for s in flows_of(local, sb, 39) if "reg15=0x8000,metadata=0x1" in s]
    assert len(t39) == 1
    assert actions(t39[0]) == (
        "set_field:0x800001/0xffffff->tun_id,output:1,"
        "set_field:0x1/0xffffff->tun_id,set_field:0x8000->tun_metadata0,"
        "move:NXM_NX_REG14[0..14]->NXM_NX_TUN_METADATA0[16..30],output:2,resubmit(,40)")
    t0 = flows_of(local, sb, 0)
    assert any("priority=105" in s and "in_port=1" in s for s in t0)
    assert not any("priority=105" in s and "in_port=2" in s for s in t0)


def test_flow_table_has_no_conflicting_keys() -> None:
    from pyovn.openflow.flowtable import index_flows

    local, sb = vxlan_pair()
    index_flows(compute_flows(local, sb, {}).flows)
    assert all(isinstance(f, O.Flow) for f in compute_flows(local, sb, {}).flows)


# ---- tunnel ports in the local Open vSwitch ------------------------------------------------


def enc(t: str, ip: str, **opts: str) -> M.Encap:
    return M.Encap(t, ip, tuple(sorted(opts.items())))


@pytest.mark.parametrize("remote, local, want", [
    ((enc("vxlan", "1.1.1.2"),), ["vxlan"], "vxlan"),
    ((enc("geneve", "1.1.1.2"), enc("vxlan", "1.1.1.2")), ["vxlan", "geneve"], "geneve"),
    ((enc("geneve", "1.1.1.2"), enc("vxlan", "1.1.1.2")), ["vxlan"], "vxlan"),
    ((enc("vxlan", "1.1.1.2"),), ["geneve"], None),  # nothing shared: no tunnel at all
    ((), ["geneve"], None),
])
def test_encapsulation_choice(remote: tuple[M.Encap, ...], local: list[str],
                              want: str | None) -> None:
    got = OV.pick_encap(M.Chassis("hv2", remote), local)
    assert (got.type if got else None) == want


def test_tunnel_options_and_id_as_ovn_controller_writes_them() -> None:
    e = enc("vxlan", "172.31.0.2", csum="true")
    assert OV.tunnel_options(e) == {"remote_ip": "172.31.0.2", "key": "flow", "csum": "true"}
    assert OV.tunnel_options(enc("geneve", "10.0.0.1", csum="bogus", dst_port="4790")) == \
        {"remote_ip": "10.0.0.1", "key": "flow", "dst_port": "4790"}
    assert OV.tunnel_id("hv2", e) == "hv2@172.31.0.2"
    assert tunnel_chassis_of("hv2@172.31.0.2") == "hv2" == tunnel_chassis_of("hv2")


def ovs_db(tunnel: tuple[str, dict[str, str], str] | None,
           encap_type: str = "vxlan") -> dict[str, Table]:
    """br-int with one tunnel port (type, options, ovn-chassis-id), as a controller left it."""
    t = {n: Table() for n in ("Open_vSwitch", "Bridge", "Port", "Interface")}
    ports: tuple[str, ...] = ()
    if tunnel is not None:
        itype, opts, cid = tunnel
        t["Interface"].rows["i1"] = Row("Interface", {"name": "ovn-hv2-0", "type": itype,
                                                      "options": opts, "ofport": (1,),
                                                      "bfd": {}, "bfd_status": {}}, "i1")
        t["Port"].rows["p1"] = Row("Port", {"name": "ovn-hv2-0", "interfaces": ("i1",),
                                            "external_ids": {"ovn-chassis-id": cid}}, "p1")
        ports = ("p1",)
    t["Bridge"].rows["b"] = Row("Bridge", {"name": "br-int", "ports": ports}, "b")
    t["Open_vSwitch"].rows["o"] = Row("Open_vSwitch", {"external_ids": {
        "ovn-encap-type": encap_type}}, "o")
    return t


REAL_PORT = ("vxlan", {"remote_ip": "172.31.0.2", "key": "flow", "csum": "true"},
             "hv2@172.31.0.2")
HV2 = {"hv2": M.Chassis("hv2", (enc("vxlan", "172.31.0.2", csum="true"),))}


def test_the_tunnel_port_the_real_controller_made_is_kept_as_is() -> None:
    txn = Txn()
    assert not OV.sync_tunnels(txn, ovs_db(REAL_PORT), "br-int", HV2, "vxlan")  # type: ignore[arg-type]
    assert (txn.inserted, txn.removed, txn.keys) == ([], [], [])
    st = local_state(ovs_db(REAL_PORT), "hv1", "br-int")  # type: ignore[arg-type]
    assert st.tunnel_ofports() == {"hv2": 1} and st.tunnel_types() == {1: "vxlan"}


def test_new_tunnel_port_is_the_real_controllers() -> None:
    txn = Txn()
    assert OV.sync_tunnels(txn, ovs_db(None), "br-int", HV2, "vxlan")  # type: ignore[arg-type]
    iface = next(r for r in txn.inserted if r.table == "Interface")
    port = next(r for r in txn.inserted if r.table == "Port")
    assert (iface.cols["name"], iface.cols["type"], iface.cols["options"]) == \
        ("ovn-hv2-0", "vxlan", REAL_PORT[1])
    assert port.cols["external_ids"] == {"ovn-chassis-id": "hv2@172.31.0.2"}


def test_old_pyovn_id_is_relabelled_not_replaced() -> None:
    txn = Txn()
    db = ovs_db((REAL_PORT[0], REAL_PORT[1], "hv2"))
    assert OV.sync_tunnels(txn, db, "br-int", HV2, "vxlan")  # type: ignore[arg-type]
    assert txn.removed == [] and txn.inserted == []
    assert txn.keys == [("p1", "ovn-chassis-id", "hv2@172.31.0.2")]


@pytest.mark.parametrize("port, encap_type", [
    (("geneve", REAL_PORT[1], REAL_PORT[2]), "vxlan"),  # switched encapsulation
    (("vxlan", {**REAL_PORT[1], "remote_ip": "172.31.0.9"}, REAL_PORT[2]), "vxlan"),
    (REAL_PORT, "geneve"),  # we no longer share VXLAN with hv2: no tunnel
])
def test_stale_tunnel_port_is_replaced_or_removed(port: tuple[str, dict[str, str], str],
                                                  encap_type: str) -> None:
    txn = Txn()
    db = ovs_db(port, encap_type)
    assert OV.sync_tunnels(txn, db, "br-int", HV2, encap_type)  # type: ignore[arg-type]
    assert txn.removed == ["p1"]
    made = [r for r in txn.inserted if r.table == "Interface"]
    assert [(r.cols["type"], r.cols["options"]) for r in made] == \
        ([] if encap_type == "geneve" else [("vxlan", REAL_PORT[1])])
