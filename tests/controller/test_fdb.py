"""FDB (MAC learning on ports with unknown addresses) without a server: tables 71 and 72
as the real ovn-controller 23.03 installed them in the all-real sandbox's flood scenario,
the incremental core following rows and datapath locality, malformed rows skipped, and
put_fdb from packet-in to the SB write."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pyovn.controller import fdb as F
from pyovn.controller import model as M
from pyovn.controller import pinctrl_handlers as H
from pyovn.controller.incremental import ControllerCore
from pyovn.logical import actions_encode as AE
from pyovn.logical import ofrep as O
from pyovn.openflow.messages import PacketIn2
from tests.controller.test_chassis_features import ops_of, sb_replica
from tests.controller.topo import two_chassis_switch, uid
from tests.logical.ofctl import canon_actions, parse_dump

# `ovs-ofctl dump-flows br-int table=71` and `table=72` on hv1 of the all-real sandbox
# after the flood scenario (sw0 has key 2; vm1 and vm2 have unknown addresses).
REAL = """
 cookie=0xf7609174, table=71, priority=100,metadata=0x2,dl_dst=00:00:00:00:00:01 actions=set_field:0x1->reg15
 cookie=0xe146513c, table=71, priority=100,metadata=0x2,dl_dst=00:00:00:00:00:02 actions=set_field:0x2->reg15
 cookie=0xf7609174, table=72, priority=100,reg14=0x1,metadata=0x2,dl_src=00:00:00:00:00:01 actions=set_field:0x100/0x100->reg10
 cookie=0xe146513c, table=72, priority=100,reg14=0x2,metadata=0x2,dl_src=00:00:00:00:00:02 actions=set_field:0x100/0x100->reg10
"""  # noqa: E501
REAL_ROWS = [M.Fdb("f7609174-cbfa-4600-8f0d-4149c2f67cc7", "00:00:00:00:00:01", 2, 1),
             M.Fdb("e146513c-96d7-4414-a3be-7f1c2ea107b5", "00:00:00:00:00:02", 2, 2)]


def canon(flows: list[O.Flow]) -> set[tuple[Any, ...]]:
    return {(f.cookie, f.table, f.priority, f.match, canon_actions(O.format_actions(f.actions)))
            for f in flows}


def test_flows_are_the_real_controllers() -> None:
    want = {(c, t, p, m, canon_actions(a)) for c, t, p, m, a in parse_dump(REAL)}
    assert canon(F.all_fdb_flows(REAL_ROWS, {2})) == want
    # Printed like ovs-ofctl, too.
    got = sorted(str(f) for f in F.fdb_flows(REAL_ROWS[0]))
    assert got[0].endswith("dl_dst=00:00:00:00:00:01 actions=set_field:0x1->reg15")
    assert got[1].endswith("actions=set_field:0x100/0x100->reg10")


def test_rows_of_datapaths_that_are_not_local_get_no_flows() -> None:
    assert F.all_fdb_flows(REAL_ROWS, {1, 3}) == []


@pytest.mark.parametrize("mac", ["", "zz:00:00:00:00:01", "00:00:00:00:00", "00:00:00:00:00:01:02",
                                 "000:00:00:00:00:01", "00-00-00-00-00-01", " 00:00:00:00:00:01",
                                 "00:00:00:00:00:01 ", "0x:00:00:00:00:01", "::::::"])
def test_a_malformed_mac_is_skipped(mac: str) -> None:
    assert F.parse_mac(mac) is None
    assert F.fdb_flows(M.Fdb(uid("x"), mac, 2, 1)) == []


def test_short_and_upper_case_groups_are_macs_as_ovs_reads_them() -> None:
    assert F.parse_mac("0:1:2:3:4:5") == 0x000102030405
    assert F.parse_mac("0A:0b:00:00:00:FF") == 0x0A0B000000FF


@pytest.mark.parametrize("dp_key,port_key", [(0, 1), (2, 0), (-1, 1), (2, 1 << 24), (1 << 40, 1)])
def test_keys_outside_the_schema_range_are_skipped(dp_key: int, port_key: int) -> None:
    assert F.fdb_flows(M.Fdb(uid("x"), "00:00:00:00:00:01", dp_key, port_key)) == []


# --- the incremental core --------------------------------------------------------------------


def _table(core: ControllerCore, tables: tuple[int, ...] = (71, 72)) -> list[str]:
    return sorted(str(f) for f in core.desired.flows() if f.table in tables)


def _full(local: M.LocalState, sb: M.SbState, zones: dict[str, int]) -> list[str]:
    full = ControllerCore()
    full.run(local, sb, zones, full=True)
    return _table(full)


def test_core_follows_rows_keys_and_locality() -> None:
    local, sb = two_chassis_switch()  # sw0 (key 1) local, sw1 (key 2) not
    f1 = M.Fdb(uid("f1"), "00:00:00:00:00:0a", 1, 2)
    f2 = M.Fdb(uid("f2"), "00:00:00:00:00:0b", 2, 1)
    sb.fdbs = {f1.uuid: f1, f2.uuid: f2}
    core = ControllerCore()
    core.run(local, sb, {}, full=True)
    assert canon(core.desired.flows_of(("fdb", f1.uuid))) == canon(F.fdb_flows(f1))
    assert core.desired.flows_of(("fdb", f2.uuid)) == []

    def step(change: Any) -> M.SbDelta:
        before = M.copy_state(sb)
        change()
        d = M.diff_states(before, sb)
        core.run(local, sb, core.zones, d)
        assert _table(core) == _full(local, sb, core.zones)
        return d

    # The MAC moves to another port.
    step(lambda: sb.fdbs.__setitem__(f1.uuid, replace(f1, port_key=1)))
    assert any("reg15" in str(f) and "0x1->reg15" in str(f) for f in core.desired.flows()
               if f.table == 71)
    # sw1 takes key 1 and sw0 key 2: f2 now names the local datapath, f1 a remote one.
    step(lambda: (sb.datapaths.__setitem__(uid("sw0"), replace(sb.datapaths[uid("sw0")], key=2)),
                  sb.datapaths.__setitem__(uid("sw1"), replace(sb.datapaths[uid("sw1")], key=1))))
    assert core.desired.flows_of(("fdb", f1.uuid)) == []
    assert core.desired.flows_of(("fdb", f2.uuid))
    # sw0 stops being local: its VIF goes.
    del local.interfaces["tap1"]
    core.run(local, sb, core.zones, M.SbDelta())
    assert _table(core) == [] == _full(local, sb, core.zones)
    local.interfaces["tap1"] = M.Interface("tap1", 5, "vm1")
    core.run(local, sb, core.zones, M.SbDelta())
    assert _table(core) == _full(local, sb, core.zones) != []
    # A row deleted, and a malformed one added: neither leaves a flow.
    step(lambda: (sb.fdbs.pop(f2.uuid), sb.fdbs.__setitem__(
        uid("bad"), M.Fdb(uid("bad"), "nonsense", 2, 1))))
    assert _table(core) == []


def test_one_new_row_recomputes_one_owner() -> None:
    local, sb = two_chassis_switch()
    core = ControllerCore()
    core.run(local, sb, {}, full=True)
    before = M.copy_state(sb)
    sb.fdbs[uid("n")] = M.Fdb(uid("n"), "00:00:00:00:00:0a", 1, 2)
    stats = core.run(local, sb, core.zones, M.diff_states(before, sb))
    assert stats.owners == {"fdb": 1}
    assert len(_table(core)) == 2


# --- put_fdb ---------------------------------------------------------------------------------


def _pin(packet: bytes, **md: int) -> PacketIn2:
    return PacketIn2(1, packet, userdata=AE.OP_PUT_FDB.to_bytes(4, "big") + b"\0" * 4,
                     metadata={k: (v, 0xFFFFFFFF) for k, v in md.items()})


FRAME = bytes.fromhex("ffffffffffff" "0a0000000001" "0806") + b"\0" * 28


def test_put_fdb_learns_the_source_mac_on_the_input_port() -> None:
    _local, sb = two_chassis_switch()
    res = H.dispatch(AE.OP_PUT_FDB, _pin(FRAME, metadata=2, reg14=3), sb, None)  # type: ignore[arg-type]
    assert res.fdbs == [F.FdbUpdate(2, "0a:00:00:00:00:01", 3)]
    assert not res.packet_outs and res.resume_packet is None  # no pause: nothing to resume


@pytest.mark.parametrize("packet,md", [
    (FRAME[:11], {"metadata": 2, "reg14": 3}),                       # no source MAC
    (b"", {"metadata": 2, "reg14": 3}),
    (FRAME, {"reg14": 3}),                                            # no datapath
    (FRAME, {"metadata": 2}),                                         # no port
    (FRAME, {"metadata": 1 << 24, "reg14": 3}),                       # keys SB would refuse
    (FRAME[:6] + bytes.fromhex("010000000001") + FRAME[12:], {"metadata": 2, "reg14": 3}),
    (FRAME[:6] + b"\0" * 6 + FRAME[12:], {"metadata": 2, "reg14": 3}),
])
def test_put_fdb_ignores_what_it_cannot_learn(packet: bytes, md: dict[str, int]) -> None:
    _local, sb = two_chassis_switch()
    res = H.dispatch(AE.OP_PUT_FDB, _pin(packet, **md), sb, None)  # type: ignore[arg-type]
    assert res.fdbs == []


FDB_ROW = "ffffffff-0000-0000-0000-000000000001"


def test_write_inserts_a_new_mac_and_moves_a_known_one() -> None:
    r = sb_replica()
    items = [F.FdbUpdate(2, "0a:00:00:00:00:01", 3)]
    assert F.fdb_changes(r.tables, items) == items
    (ins,) = ops_of(r, lambda txn: F.write_fdbs(txn, r.tables, items))
    assert ins["op"] == "insert" and ins["table"] == "FDB"
    assert ins["row"] == {"dp_key": 2, "mac": "0a:00:00:00:00:01", "port_key": 3}
    r.apply_update2({"FDB": {FDB_ROW: {"initial": {"dp_key": 2, "mac": "0a:00:00:00:00:01",
                                                   "port_key": 3}}}})
    # Known on that port: nothing to write, not even an empty transaction.
    assert F.fdb_changes(r.tables, items * 3) == []
    assert ops_of(r, lambda txn: F.write_fdbs(txn, r.tables, items)) == []
    moved = [F.FdbUpdate(2, "0a:00:00:00:00:01", 4)]
    (upd,) = ops_of(r, lambda txn: F.write_fdbs(txn, r.tables, items + moved))
    assert upd["op"] == "update" and upd["row"] == {"port_key": 4}
    # Other datapath, same MAC: a row of its own.
    other = [F.FdbUpdate(5, "0a:00:00:00:00:01", 3)]
    (ins,) = ops_of(r, lambda txn: F.write_fdbs(txn, r.tables, other))
    assert ins["op"] == "insert"


def test_without_the_fdb_table_nothing_is_written() -> None:
    assert F.fdb_changes({}, [F.FdbUpdate(2, "0a:00:00:00:00:01", 3)]) == []
