"""Groups and meters the controller installs (pyovn.controller.groups): which ones the
flows need, the diff against the switch, and the messages (checked by decoding them with
the real ovs-ofctl where it is installed)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from pyovn.controller import groups as G
from pyovn.controller.ofencode import ControllerEncoder
from pyovn.logical import ofrep as O
from pyovn.logical.actions import parse_actions
from pyovn.logical.actions_encode import EncodeParams, encode_actions
from pyovn.logical.compile import CompileContext, Compiler
from pyovn.openflow import messages as M
from pyovn.openflow.protocol import OpenFlowError

HAVE_OFCTL = shutil.which("ovs-ofctl") is not None
needs_ofctl = pytest.mark.skipif(not HAVE_OFCTL, reason="ovs-ofctl not installed")
ENC = ControllerEncoder()


def xids() -> Callable[[], int]:
    return iter(range(1, 1 << 30)).__next__


def compile_(ctx: CompileContext, actions: str, match: str = "ip4") -> list[O.Flow]:
    return Compiler().compile(match, actions, "ingress", 11, 100, 1, ctx)


def ofp_print(msg: bytes) -> str:
    r = subprocess.run(["ovs-ofctl", "ofp-print", msg.hex()], capture_output=True, text=True,
                       check=True)
    assert "decode error" not in r.stdout, r.stdout
    return re.sub(r"^OFPT_\w+ \(OF1\.5\) \(xid=0x[0-9a-f]+\): ", "", " ".join(r.stdout.split()))


def header(msg: bytes) -> tuple[int, int]:
    """(OpenFlow type, group_mod or meter_mod command)."""
    return msg[1], struct.unpack_from("!H", msg, 8)[0]


LB = "ct_lb_mark(backends=10.0.0.1:80,10.0.0.2:8080);"


# ---- what the flows use ----------------------------------------------------------------


def test_used_ids_look_inside_clone_ct_and_controller() -> None:
    flows = [
        O.Flow(8, 1, O.Match(), (O.Clone((O.Group(3),)),)),
        O.Flow(8, 2, O.Match(), (O.CT(exec_=(O.Group(4),)), O.Meter(7))),
        O.Flow(8, 3, O.Match(), (O.Controller(1, meter_id=9),
                                 O.Controller(2, nested=(O.Group(5),)))),
        O.Flow(8, 4, O.Match(), (O.Controller(1),)),  # no meter
    ]
    assert G.used_ids(flows) == ({3, 4, 5}, {7, 9})


def test_ct_lb_group_is_desired_with_its_buckets() -> None:
    ctx = CompileContext()
    flows = compile_(ctx, LB)
    used, _ = G.used_ids(flows)
    want = G.desired_groups(used, ctx.groups)
    (gid,) = want
    spec = want[gid]
    assert spec.type == "select" and spec.selection_method == "dp_hash"
    nats = [b.actions[0].nat for b in spec.buckets if isinstance(b.actions[0], O.CT)]
    assert [(n.ip_min, n.port_min) for n in nats if n is not None] == \
        [("10.0.0.1", 80), ("10.0.0.2", 8080)]


def test_group_without_spec_is_left_out() -> None:
    t = O.GroupTable()
    gid = t.get("type=select,bucket=actions=drop")
    assert G.desired_groups({gid}, t) == {}


# ---- diff --------------------------------------------------------------------------------


def test_diff_adds_modifies_deletes() -> None:
    d = G.diff({1: "a", 2: "b", 3: "c"}, {2: "b", 3: "x", 4: "d"})
    assert d.adds == {4: "d"} and d.modifies == {3: "x"} and d.deletes == [1]
    assert len(d) == 3
    assert len(G.diff({1: "a"}, {1: "a"})) == 0


def test_plan_is_empty_when_nothing_changed_and_fresh_replaces_everything() -> None:
    ctx = CompileContext()
    flows = compile_(ctx, LB)
    p = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, {}, G.Installed(), xids(), ENC)
    assert len(p.bundle_head) == 1 and not p.bundle_tail
    again = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, {}, p.installed, xids(), ENC)
    assert len(again) == 0
    fresh = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, {}, p.installed, xids(), ENC,
                   fresh=True)
    # delete every group, add ours; delete every meter
    assert [header(m) for m in fresh.bundle_head] == \
        [(M.P.OFPT_GROUP_MOD, M.OFPGC15_DELETE), (M.P.OFPT_GROUP_MOD, M.OFPGC15_ADD)]
    assert struct.unpack_from("!I", fresh.bundle_head[0], 12)[0] == M.OFPG_ALL
    assert [header(m) for m in fresh.before_bundle] == [(M.P.OFPT_METER_MOD, M.OFPMC13_DELETE)]
    assert struct.unpack_from("!I", fresh.before_bundle[0], 12)[0] == G.OFPM_ALL


def test_plan_modifies_a_changed_group_and_deletes_an_unused_one_after_the_flows() -> None:
    ctx = CompileContext()
    flows = compile_(ctx, LB)
    p = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, {}, G.Installed(), xids(), ENC)
    (gid,) = p.installed.groups
    # A recompute (new translator) gives the same id to other backends: modify.
    ctx2 = CompileContext()
    flows2 = compile_(ctx2, "ct_lb_mark(backends=10.0.0.3:80);")
    p2 = G.plan(G.used_ids(flows2), ctx2.groups, ctx2.meters, {}, p.installed, xids(), ENC)
    assert [header(m) for m in p2.bundle_head] == [(M.P.OFPT_GROUP_MOD, M.OFPGC15_MODIFY)]
    # No flow uses the group any more: deleted, in the tail of the bundle.
    p3 = G.plan(G.used_ids([]), ctx2.groups, ctx2.meters, {}, p2.installed, xids(), ENC)
    assert not p3.bundle_head and [header(m) for m in p3.bundle_tail] == \
        [(M.P.OFPT_GROUP_MOD, M.OFPGC15_DELETE)]
    assert struct.unpack_from("!I", p3.bundle_tail[0], 12)[0] == gid
    assert p3.installed.groups == {}


# ---- the messages, as Open vSwitch reads them ------------------------------------------


def _canon(desc: str) -> str:
    # ovs-ofctl prints tp_src as tcp_src (its canonical name).
    return desc.replace("tp_src", "tcp_src").replace("tp_dst", "tcp_dst")


@needs_ofctl
@pytest.mark.parametrize("actions", [
    LB,
    'ct_lb(backends=10.0.0.1:80,10.0.0.2:80; hash_fields="ip_src,ip_dst,tp_src"; '
    'skip_snat);',
    "reg0 = select(1=50, 2=100);",
])
def test_group_mod_decodes_to_the_description(actions: str) -> None:
    ctx = CompileContext()
    flows = compile_(ctx, actions, "ip4 && tcp")
    p = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, {}, G.Installed(), xids(), ENC)
    (msg,) = p.bundle_head
    (desc,) = ctx.groups.ids
    text = ofp_print(msg)
    assert text == f"ADD group_id=1,{_canon(desc)}"


@needs_ofctl
def test_meter_mods_decode() -> None:
    ctx = CompileContext()
    flows = compile_(ctx, 'set_meter(100, 10); set_meter(5); '
                          'log(name="x", meter="m1", verdict=allow); next;')
    named = {"m1": G.sb_meter("pktps", [("drop", 10, 0)])}
    p = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, named, G.Installed(), xids(), ENC)
    texts = sorted(ofp_print(m) for m in p.before_bundle)
    ids = ctx.meters.ids
    assert texts == sorted([
        f"ADD meter={ids['__string: kbps burst stats bands=type=drop rate=100 burst_size=10']}"
        " kbps burst stats bands= type=drop rate=100 burst_size=10",
        f"ADD meter={ids['__string: kbps stats bands=type=drop rate=5']} kbps stats bands= "
        "type=drop rate=5",
        f"ADD meter={ids['m1']} pktps stats bands= type=drop rate=10"])
    assert not p.installed.problems


@needs_ofctl
def test_fwd_group_with_liveness_watches_the_tunnel() -> None:
    ports = {"p1": 5, "p2": 6}
    ep = EncodeParams(lookup_port=ports.get, tunnel_ofport=lambda p: 10 if p == "p2" else None)
    acts = tuple(encode_actions(parse_actions(
        'fwd_group(liveness="true", childports="p1", "p2");').actions, ep))
    p = G.plan(G.used_ids([O.Flow(8, 1, O.Match(), acts)]), ep.groups, ep.meters, {},
               G.Installed(),
               xids(), ENC)
    (msg,) = p.bundle_head
    text = ofp_print(msg)
    assert "watch_port:10" in text and "bucket_id:1" in text and "bucket_id:0" not in text


# ---- meters --------------------------------------------------------------------------------


def test_parse_meter_string() -> None:
    m = G.parse_meter_string("kbps burst stats bands=type=drop rate=100 burst_size=10")
    assert m == G.MeterSpec(M.OFPMF13_KBPS | M.OFPMF13_BURST | M.OFPMF13_STATS, ((100, 10),))
    assert G.parse_meter_string("pktps bands=type=drop rate=7").bands == ((7, 0),)


@pytest.mark.parametrize("bad", [
    "kbps", "kbps bands=", "fast bands=type=drop rate=1", "kbps bands=type=dscp_remark rate=1",
    "kbps bands=type=drop", "kbps bands=type=drop rate=x",
])
def test_parse_meter_string_refuses_bad_input(bad: str) -> None:
    with pytest.raises(OpenFlowError):
        G.parse_meter_string(bad)


def test_sb_meter_flags_follow_unit_and_burst() -> None:
    assert G.sb_meter("kbps", [("drop", 1000, 0)]) == \
        G.MeterSpec(M.OFPMF13_KBPS | M.OFPMF13_STATS, ((1000, 0),))
    assert G.sb_meter("pktps", [("drop", 10, 5)]).flags == \
        M.OFPMF13_PKTPS | M.OFPMF13_STATS | M.OFPMF13_BURST


def test_unknown_meter_name_is_reported_not_installed() -> None:
    ctx = CompileContext()
    flows = compile_(ctx, 'log(name="x", meter="nope", verdict=drop); drop;')
    p = G.plan(G.used_ids(flows), ctx.groups, ctx.meters, {}, G.Installed(), xids(), ENC)
    assert p.installed.meters == {} and not p.before_bundle
    assert p.installed.problems == ["could not find meter named 'nope'"]


def test_controller_meter_of_a_logical_flow_is_used() -> None:
    t = O.GroupTable()
    mid = t.get("acl-meter")
    flows = [O.Flow(8, 1, O.Match(), (O.Controller(1, meter_id=mid),))]
    want, problems = G.desired_meters(G.used_ids(flows)[1], t,
                                      {"acl-meter": G.sb_meter("pktps", [("drop", 1, 0)])})
    assert list(want) == [mid] and problems == []


@dataclass
class FakeRow:
    cols: dict[str, Any]

    def raw(self, c: str) -> Any:
        return self.cols[c]


@dataclass
class FakeTable:
    rows: dict[str, FakeRow] = field(default_factory=dict)


def test_sb_meters_reads_meter_and_band_rows() -> None:
    tables = {
        "Meter": FakeTable({"m": FakeRow({"name": "acl", "unit": "pktps",
                                          "bands": ["b1", "gone"]})}),
        "Meter_Band": FakeTable({"b1": FakeRow({"action": "drop", "rate": 20,
                                                "burst_size": 3})}),
    }
    assert G.sb_meters(tables) == {
        "acl": G.MeterSpec(M.OFPMF13_PKTPS | M.OFPMF13_STATS | M.OFPMF13_BURST, ((20, 3),))}
    assert G.sb_meters({}) == {}


def test_group_mod_refuses_unknown_type_and_field() -> None:
    bad_type = O.GroupSpec((O.GroupBucket(0, ()),), type="weird")
    with pytest.raises(OpenFlowError):
        G.group_mod(1, M.OFPGC15_ADD, 1, bad_type, ENC)
    bad_field = O.GroupSpec((O.GroupBucket(0, ()),), selection_method="hash",
                            fields=("no_such_field",))
    with pytest.raises(OpenFlowError):
        G.group_mod(1, M.OFPGC15_ADD, 1, bad_field, ENC)
    with pytest.raises(OpenFlowError):
        M.group_mod(1, M.OFPGC15_ADD, 1, fields=("ip_src",))


def test_meter_string_round_trips_ofctl_spelling() -> None:
    # The description set_meter writes is what ovs-ofctl would print for the meter.
    desc = "kbps burst stats bands=type=drop rate=100 burst_size=10"
    m = G.parse_meter_string(desc)
    assert re.sub(r"\s+", " ", desc) == desc and m.bands == ((100, 10),)
