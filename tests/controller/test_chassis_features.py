"""The feature flags pyovn's controller advertises in its SB Chassis row, without a server:
the exact set ovn-controller 23.03 writes, each backed by what it promises (MAC_Binding
timestamps written by pinctrl, the ct_mark/ct_lb_mark/ct_commit_nat flavour of the logical
flows northd writes for it compiled to OpenFlow)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pyovn.controller import sbwrite as SW
from pyovn.controller.pinctrl_handlers import write_mac_bindings
from pyovn.controller.pinctrl_pkt import MacBindingUpdate
from pyovn.logical.compile import CompileContext, Compiler
from pyovn.ovsdb.idl import Replica, SchemaHelper

# What the real ovn-controller 23.03 (Debian's 23.03.1) wrote into its Chassis row's
# other_config in the all-real sandbox, feature flags only (the other keys mirror local
# settings).  fdb-timestamp, ls-dpg-column and later flags belong to newer releases.
REAL_23_03_FEATURES = {"port-up-notif": "true", "ct-no-masked-label": "true",
                       "mac-binding-timestamp": "true", "ovn-ct-lb-related": "true"}

SB_SCHEMA = Path(SW.__file__).parents[1] / "schemas" / "ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
CH = "aaaaaaaa-0000-0000-0000-000000000001"
DP = "dddddddd-0000-0000-0000-000000000001"
MB = "bbbbbbbb-0000-0000-0000-000000000001"
OVS = "eeeeeeee-0000-0000-0000-000000000001"
BR = "eeeeeeee-0000-0000-0000-000000000002"


def sb_replica(mac_binding_columns: list[str] | None = None) -> Replica:
    h = SchemaHelper.from_file(str(SB_SCHEMA))
    for t, cols in SW.SB_COLUMNS.items():
        if t == "MAC_Binding" and mac_binding_columns is not None:
            h.register_columns(t, mac_binding_columns)
        elif cols is None:
            h.register_table(t)
        else:
            h.register_columns(t, cols)
    return Replica(h)


def ops_of(r: Replica, build: Any) -> list[dict[str, Any]]:
    txn = r.transaction()
    build(txn)
    ops = txn.build()
    txn.close()
    return [] if ops is None else ops[1:]


# --- the flags -----------------------------------------------------------------------------


def test_the_flags_are_those_of_ovn_controller_23_03() -> None:
    assert SW.CHASSIS_FEATURES == REAL_23_03_FEATURES


def test_other_config_has_the_flags_and_mirrors_local_settings() -> None:
    oc = SW.chassis_other_config(
        {"ovn-bridge-mappings": "physnet:br-ex", "ovn-cms-options": "enable-chassis-as-gw",
         "ovn-chassis-mac-mappings": "physnet:0a:00:00:00:00:01", "ovn-is-interconn": "true"},
        ["vxlan", "geneve", "internal", "geneve"], "netdev")
    assert {k: oc[k] for k in REAL_23_03_FEATURES} == REAL_23_03_FEATURES
    assert oc["ovn-bridge-mappings"] == "physnet:br-ex"
    assert oc["iface-types"] == "geneve,internal,vxlan"  # sorted, as ovn-controller does
    assert oc["datapath-type"] == "netdev"
    assert oc["ovn-cms-options"] == "enable-chassis-as-gw"
    # What pyovn does not implement is not advertised, whatever the local settings say.
    assert "ovn-chassis-mac-mappings" not in oc
    assert oc["is-interconn"] == "false"


def test_datapath_type_is_the_bridges_else_the_one_it_is_to_be_created_with() -> None:
    assert SW.chassis_other_config({"ovn-bridge-datapath-type": "netdev"})["datapath-type"] \
        == "netdev"
    assert SW.chassis_other_config({})["datapath-type"] == ""
    assert SW.chassis_other_config({}, (), "system")["datapath-type"] == "system"


@pytest.mark.skipif(not os.path.exists(VS_SCHEMA), reason="Open vSwitch not installed")
def test_local_other_config_reads_the_open_vswitch_replica() -> None:
    h = SchemaHelper.from_file(VS_SCHEMA)
    h.register_columns("Open_vSwitch", ["external_ids", "iface_types"])
    h.register_columns("Bridge", ["name", "datapath_type"])
    r = Replica(h)
    assert SW.local_chassis_other_config(r.tables, "br-int")["iface-types"] == ""
    r.apply_update2({
        "Open_vSwitch": {OVS: {"initial": {
            "external_ids": ["map", [["ovn-bridge-mappings", "physnet:br-ex"]]],
            "iface_types": ["set", ["patch", "geneve"]]}}},
        "Bridge": {BR: {"initial": {"name": "br-int", "datapath_type": "netdev"}}},
    })
    oc = SW.local_chassis_other_config(r.tables, "br-int")
    assert oc["iface-types"] == "geneve,patch"
    assert oc["datapath-type"] == "netdev"
    assert oc["ovn-bridge-mappings"] == "physnet:br-ex"
    assert SW.local_chassis_other_config(r.tables, "br-other")["datapath-type"] == ""


def test_a_new_chassis_row_carries_the_flags() -> None:
    r = sb_replica()
    ops = ops_of(r, lambda txn: SW.register_chassis(
        txn, r.tables, "hv1", ["geneve"], ["172.31.0.1"], SW.chassis_other_config({})))
    (ins,) = [o for o in ops if o["op"] == "insert" and o["table"] == "Chassis"]
    oc = dict(ins["row"]["other_config"][1])
    assert {k: oc[k] for k in REAL_23_03_FEATURES} == REAL_23_03_FEATURES


def test_an_existing_row_without_the_flags_gets_them_and_keeps_other_keys() -> None:
    """A chassis row left by an older controller (port-up-notif only, as pyovn used to
    write): the flags are added, a key written by someone else stays."""
    r = sb_replica()
    r.apply_update2({"Chassis": {CH: {"initial": {
        "name": "hv1", "hostname": "h",
        "other_config": ["map", [["port-up-notif", "true"], ["custom", "x"]]]}}}})
    ops = ops_of(r, lambda txn: SW.register_chassis(
        txn, r.tables, "hv1", [], [], SW.chassis_other_config({})))
    (upd,) = [o for o in ops if o["op"] == "update" and o["table"] == "Chassis"]
    oc = dict(upd["row"]["other_config"][1])
    assert {k: oc[k] for k in REAL_23_03_FEATURES} == REAL_23_03_FEATURES
    assert oc["custom"] == "x"


def test_a_row_that_already_has_them_is_not_rewritten() -> None:
    r = sb_replica()
    oc = SW.chassis_other_config({})
    r.apply_update2({"Chassis": {CH: {"initial": {
        "name": "hv1", "other_config": ["map", [list(kv) for kv in sorted(oc.items())]]}}}})
    ops = ops_of(r, lambda txn: SW.register_chassis(txn, r.tables, "hv1", [], [], oc))
    assert not [o for o in ops if o["op"] == "update" and o["table"] == "Chassis"]


# --- mac-binding-timestamp -----------------------------------------------------------------


def _learn(r: Replica, mac: str, now: int | None = 1_700_000_000_123) -> list[dict[str, Any]]:
    item = MacBindingUpdate("lr0-sw0", "10.0.0.1", mac, DP)
    return ops_of(r, lambda txn: write_mac_bindings(txn, r.tables, [item], now_ms=now))


def _mb_replica(mac: str, timestamp: int) -> Replica:
    r = sb_replica()
    r.apply_update2({
        "Datapath_Binding": {DP: {"initial": {"tunnel_key": 1}}},
        "MAC_Binding": {MB: {"initial": {"logical_port": "lr0-sw0", "ip": "10.0.0.1",
                                         "mac": mac, "timestamp": timestamp,
                                         "datapath": ["uuid", DP]}}}})
    return r


def test_a_learned_binding_is_stamped() -> None:
    r = sb_replica()
    r.apply_update2({"Datapath_Binding": {DP: {"initial": {"tunnel_key": 1}}}})
    (ins,) = _learn(r, "00:00:00:00:00:01")
    assert ins["op"] == "insert" and ins["table"] == "MAC_Binding"
    assert ins["row"]["timestamp"] == 1_700_000_000_123
    assert ins["row"]["mac"] == "00:00:00:00:00:01"


def test_the_default_stamp_is_wall_clock_msec() -> None:
    import time

    r = sb_replica()
    before = int(time.time() * 1000)
    (ins,) = _learn(r, "00:00:00:00:00:01", now=None)
    assert before <= ins["row"]["timestamp"] <= int(time.time() * 1000)


def test_a_changed_mac_is_restamped() -> None:
    r = _mb_replica("00:00:00:00:00:01", 5)
    (upd,) = _learn(r, "00:00:00:00:00:02")
    assert upd["op"] == "update"
    assert upd["row"] == {"mac": "00:00:00:00:00:02", "timestamp": 1_700_000_000_123}


def test_relearning_the_same_mac_writes_nothing() -> None:
    """As ovn-controller 23.03: the timestamp says when the binding was added or changed,
    and a put_arp for every packet of a flow must not become an SB write each."""
    assert _learn(_mb_replica("00:00:00:00:00:01", 5), "00:00:00:00:00:01") == []


def test_no_timestamp_where_the_replica_has_no_such_column() -> None:
    r = sb_replica(mac_binding_columns=["logical_port", "ip", "mac", "datapath"])
    (ins,) = _learn(r, "00:00:00:00:00:01")
    assert "timestamp" not in ins["row"]


# --- ct-no-masked-label and ovn-ct-lb-related: what northd then writes compiles -------------

# Logical flows the real ovn-northd 23.03 writes only when every chassis advertises the flag
# (taken from its SB for the acl and lb scenarios), with a piece of the OpenFlow the real
# ovn-controller makes of each (tests/logical checks the whole translation against it).
FLAVOURED = [
    ("ct-no-masked-label", "ct.est && ct_mark.blocked == 1", "reg0[9] = 1; next;",
     "ct_mark=0x1/0x1"),
    ("ct-no-masked-label", "reg0[1] == 1 && reg0[13] == 1",
     "ct_commit { ct_mark.blocked = 0; ct_label.label = reg3; }; next;",
     "set_field:0/0x1->ct_mark"),
    ("ct-no-masked-label", "reg0[2] == 1", "ct_lb_mark;", "nat"),
    ("ct-no-masked-label", "ct.new && ip4.dst == 172.16.0.100 && tcp.dst == 80",
     "reg0[1] = 0; ct_lb_mark(backends=10.0.1.2:80,10.0.1.3:80);", "group:"),
    ("ct-no-masked-label", "ct.est && !ct.rel && !ct.new && ct_mark.natted", "next;",
     "ct_mark=0x2/0x2"),
    ("ct-no-masked-label",
     "ct.est && !ct.rel && !ct.new && ct_mark.natted && ct_mark.force_snat == 1",
     "flags.force_snat_for_lb = 1; next;", "ct_mark=0xa/0xa"),
    ("ovn-ct-lb-related", "!ct.est && ct.rel && !ct.new && !ct.inv && ct_mark.blocked == 0",
     "reg0[17] = 1; ct_commit_nat;", "ct(commit,"),
    ("ovn-ct-lb-related", "ct.rel && !ct.est && !ct.new && ct_mark.skip_snat == 1",
     "flags.skip_snat_for_lb = 1; ct_commit_nat;", "nat)"),
]


@pytest.mark.parametrize("flag,match,actions,want", FLAVOURED,
                         ids=[f"{f[0]}:{f[2][:24]}" for f in FLAVOURED])
def test_flows_northd_writes_for_a_flag_compile(flag: str, match: str, actions: str,
                                                want: str) -> None:
    assert SW.CHASSIS_FEATURES[flag] == "true"
    flows = Compiler().compile(match, actions, "ingress", 6, 100, 1,
                               CompileContext(lookup_port=lambda _p: None), True)
    assert flows
    text = " ".join(str(f) for f in flows)
    assert want in text, text
    assert "ct_label" not in text.replace("->ct_label", "")  # no masked ct_label match
