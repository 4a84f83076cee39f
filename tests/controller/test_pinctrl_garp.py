"""Gratuitous ARP / RARP announcements (pinctrl_garp): which addresses a chassis announces,
the exact packets and packet-outs (byte for byte as the real ovn-controller 23.03 sent them
in a sandbox capture), the 1/2/4/8/16 s schedule, and SB rows full of garbage."""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.controller import model as M
from pyovn.controller import pinctrl_garp as G
from pyovn.controller.binding import compute_bindings
from pyovn.openflow import protocol as P
from tests.controller.topo import uid

MAC1 = bytes.fromhex("000000000001")
IP1 = bytes([10, 0, 5, 1])
GW_MAC = bytes.fromhex("00000000ee01")

# What the real ovn-controller 23.03 put on the physical network (captured in the external
# host's namespace of a sandbox): vm1's GARP and vm6's RARP.
REAL_GARP_VM1 = bytes.fromhex("ffffffffffff000000000001080600010800060400010000000000010a000501"
                              "0000000000000a000501")
REAL_RARP_VM6 = bytes.fromhex("ffffffffffff000000000006803500010800060400030000000000060000000"
                              "0000000000006" "00000000")


def _pb(name: str, dp: str, key: int, **kw: Any) -> M.PortBinding:
    return M.PortBinding(uid(name), name, uid(dp), key, **kw)


def topology(me: str = "hv1") -> tuple[M.LocalState, M.SbState, dict[str, tuple[str, ...]]]:
    """The sandbox experiment's network: switch pub (key 1) on the provider network with
    VIFs, a localport, a gateway router's port and a distributed gateway port's patch;
    switch priv (key 2) without localnet; the gateway router gw (key 3)."""
    sb = M.SbState()
    for name, key, sw in (("pub", 1, True), ("priv", 2, True), ("gw", 3, False),
                          ("dr", 4, False)):
        sb.datapaths[uid(name)] = M.Datapath(uid(name), key, sw, name)
    ports = [
        _pb("pub-ln", "pub", 1, type="localnet", options={"network_name": "physnet"},
            mac=("unknown",)),
        _pb("vm1", "pub", 2, chassis=me, mac=("00:00:00:00:00:01 10.0.5.1 10.0.5.11",)),
        _pb("vm6", "pub", 3, chassis=me, mac=("00:00:00:00:00:06 fd00::6",)),
        _pb("vm7", "pub", 4, chassis=me, mac=("00:00:00:00:00:07",)),
        _pb("lp", "pub", 5, type="localport", mac=("00:00:00:00:00:0c 10.0.5.12",)),
        _pb("pub-gw", "pub", 6, type="l3gateway", chassis=me,
            options={"peer": "gw-pub", "l3gateway-chassis": me}),
        _pb("gw-pub", "gw", 1, type="l3gateway", chassis=me,
            options={"peer": "pub-gw", "l3gateway-chassis": me}),
        _pb("pub-dr", "pub", 7, type="patch", options={"peer": "dr-pub"}),
        _pb("dr-pub", "dr", 1, type="patch", options={"peer": "pub-dr"}),
        _pb("cr-dr-pub", "dr", 2, type="chassisredirect", chassis=me),
        _pb("vm3", "priv", 1, chassis=me, mac=("00:00:00:00:00:03 10.0.6.3",)),
    ]
    sb.ports = {p.uuid: p for p in ports}
    nat = {"pub-gw": ("00:00:00:00:ee:01 10.0.5.200", "00:00:00:00:ee:01 10.0.5.254"),
           "pub-dr": ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident("cr-dr-pub")',)}
    local = M.LocalState(me, "geneve", ("172.31.0.1",), {"physnet": "br-ex"})
    for i, name in enumerate(("vm1", "vm6", "vm7", "lp", "vm3"), 10):
        local.interfaces[f"tap-{name}"] = M.Interface(f"tap-{name}", i, name)
    local.interfaces["patch-ln"] = M.Interface("patch-ln", 3, None, "patch",
                                               localnet="pub-ln")
    return local, sb, nat


def lookup(nat: Mapping[str, Iterable[Any]]) -> G.NatLookup:
    return lambda pb: tuple(nat.get(pb.logical_port, ()))


def wanted(local: M.LocalState, sb: M.SbState,
           nat: Mapping[str, Iterable[Any]]) -> dict[str, G.Announcement]:
    return G.wanted_announcements(local, sb, compute_bindings(local, sb), lookup(nat))


def set_port(sb: M.SbState, name: str, **kw: Any) -> None:
    sb.ports[uid(name)] = replace(sb.ports[uid(name)], **kw)


# --- which addresses ---------------------------------------------------------------------------


def test_vifs_on_localnet_switches_and_gateway_addresses_are_announced() -> None:
    local, sb, nat = topology()
    w = wanted(local, sb, nat)
    assert sorted(w) == ["pub-dr-10.0.5.210", "pub-gw-10.0.5.200", "pub-gw-10.0.5.254",
                         "vm1", "vm6", "vm7"]
    # a VIF: its first IPv4 address only, entering from its own port
    assert w["vm1"] == G.Announcement("vm1", MAC1, IP1, 1, 2)
    # IPv6-only and MAC-only VIFs: RARP (23.03 sends no unsolicited NA)
    assert w["vm6"].ipv4 is None and w["vm7"].ipv4 is None
    # gateway addresses enter from the switch's router-type port
    assert w["pub-gw-10.0.5.254"] == G.Announcement("pub-gw-10.0.5.254", GW_MAC,
                                                    bytes([10, 0, 5, 254]), 1, 6)
    assert w["pub-dr-10.0.5.210"].port_key == 7


def test_no_localnet_mapping_no_announcement() -> None:
    local, sb, nat = topology()
    local.bridge_mappings = {"othernet": "br-ex"}
    assert wanted(local, sb, nat) == {}
    local.bridge_mappings = {"physnet": "br-ex"}
    sb.ports.pop(uid("pub-ln"))
    assert wanted(local, sb, nat) == {}


def test_a_vif_is_announced_only_once_sb_says_it_is_bound_here() -> None:
    local, sb, nat = topology()
    set_port(sb, "vm1", chassis=None)
    assert "vm1" not in wanted(local, sb, nat)
    set_port(sb, "vm1", chassis="hv2")
    assert "vm1" not in wanted(local, sb, nat)
    set_port(sb, "vm1", chassis="hv1")
    local.interfaces["tap-vm1"] = M.Interface("tap-vm1", None, "vm1")  # no ofport yet
    assert "vm1" not in wanted(local, sb, nat)
    local.interfaces["tap-vm1"] = M.Interface("tap-vm1", -1, "vm1")  # failed interface
    assert "vm1" not in wanted(local, sb, nat)


def test_containers_and_virtual_parents() -> None:
    local, sb, nat = topology()
    sb.ports[uid("c1")] = _pb("c1", "pub", 20, chassis="hv1", parent_port="vm1", tag=42,
                              mac=("00:00:00:00:00:c1 10.0.5.41",))
    assert "c1" not in wanted(local, sb, nat)  # no interface of its own, as in 23.03


def test_gateway_addresses_need_the_gateway_here() -> None:
    local, sb, nat = topology()
    set_port(sb, "pub-gw", chassis="hv2")
    set_port(sb, "cr-dr-pub", chassis="hv2")
    assert sorted(wanted(local, sb, nat)) == ["vm1", "vm6", "vm7"]
    # a patch port's entry without is_chassis_resident() is never announced
    set_port(sb, "cr-dr-pub", chassis="hv1")
    nat["pub-dr"] = ("00:00:00:00:ee:03 10.0.5.210",)
    assert "pub-dr-10.0.5.210" not in wanted(local, sb, nat)
    # ... and a resident port that does not exist makes it nobody's
    nat["pub-dr"] = ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident("nope")',)
    assert "pub-dr-10.0.5.210" not in wanted(local, sb, nat)


def test_mac_only_nat_entry_is_a_rarp_and_options_are_the_fallback() -> None:
    local, sb, nat = topology()
    nat["pub-gw"] = ("00:00:00:00:ee:09",)
    w = wanted(local, sb, nat)
    assert w["pub-gw-noip"].ipv4 is None and w["pub-gw-noip"].mac.hex() == "00000000ee09"
    # old northds: options:nat-addresses when the column is empty, ignored otherwise
    set_port(sb, "pub-gw", options={**sb.ports[uid("pub-gw")].options,
                                    "nat-addresses": "00:00:00:00:ee:05 10.0.5.77"})
    assert "pub-gw-10.0.5.77" not in wanted(local, sb, nat)
    del nat["pub-gw"]
    assert "pub-gw-10.0.5.77" in wanted(local, sb, nat)
    # "router" is for northd to expand; here it is no address
    set_port(sb, "pub-gw", options={"nat-addresses": "router"})
    assert not any(n.startswith("pub-gw") for n in wanted(local, sb, nat))


# --- packets -----------------------------------------------------------------------------------


def test_garp_bytes() -> None:
    pkt = G.garp_packet(MAC1, IP1)
    assert pkt == REAL_GARP_VM1
    dst, src, et = struct.unpack("!6s6sH", pkt[:14])
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", pkt[14:22])
    sha, spa, tha, tpa = struct.unpack("!6s4s6s4s", pkt[22:42])
    assert (dst, src, et) == (b"\xff" * 6, MAC1, 0x0806)
    assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 1)
    assert (sha, spa, tha, tpa) == (MAC1, IP1, b"\0" * 6, IP1)
    assert len(pkt) == 42


def test_rarp_bytes() -> None:
    mac = bytes.fromhex("000000000006")
    pkt = G.rarp_packet(mac)
    assert pkt == REAL_RARP_VM6
    assert struct.unpack("!6s6sH", pkt[:14]) == (b"\xff" * 6, mac, 0x8035)
    assert struct.unpack("!HHBBH", pkt[14:22]) == (1, 0x0800, 6, 4, 3)
    assert struct.unpack("!6s4s6s4s", pkt[22:42]) == (mac, b"\0" * 4, mac, b"\0" * 4)


def test_packet_out_layout() -> None:
    a = G.Announcement("vm1", MAC1, IP1, 1, 5)
    msg = a.packet_out(0x191)
    version, typ, length, xid = struct.unpack("!BBHI", msg[:8])
    assert (version, typ, length, xid) == (6, P.OFPT_PACKET_OUT, len(msg), 0x191)
    buffer_id, actions_len = struct.unpack("!IH", msg[8:14])
    assert buffer_id == P.OFP_NO_BUFFER
    assert msg.endswith(REAL_GARP_VM1)
    actions = msg[len(msg) - len(REAL_GARP_VM1) - actions_len:len(msg) - len(REAL_GARP_VM1)]
    # the last action: NXAST_RESUBMIT_TABLE from in_port CONTROLLER (0xfffd) to table 8
    assert actions[-16:] == struct.pack("!HHIHHB3x", 0xFFFF, 16, 0x2320, 14, 0xFFFD, 8)


@pytest.mark.real
def test_packet_out_reads_like_the_real_one_in_ovs_ofctl() -> None:
    """ovs-ofctl decodes pyovn's message to the very line vswitchd logged for the real
    ovn-controller's GARP (vconn debug log)."""
    if shutil.which("ovs-ofctl") is None:
        pytest.skip("no ovs-ofctl")
    msg = G.Announcement("vm1", MAC1, IP1, 1, 5).packet_out(0x191)
    r = subprocess.run(["ovs-ofctl", "ofp-parse", "-"], input=msg, capture_output=True,
                       timeout=30, check=True)
    out = r.stdout.decode()
    assert ("OFPT_PACKET_OUT (OF1.5) (xid=0x191): in_port=CONTROLLER actions=set_field:0x1->"
            "metadata,set_field:0x5->reg14,resubmit(CONTROLLER,8) data_len=42") in out, out


# --- schedule ----------------------------------------------------------------------------------


def _times(s: G.GarpScheduler, start: float, until: float, step: float = 0.25) -> list[float]:
    out = []
    t = start
    while t <= until:
        if s.due(t):
            out.append(t - start)
        t += step
    return out


def test_five_announcements_at_1_3_7_15_31_seconds() -> None:
    s = G.GarpScheduler()
    a = G.Announcement("vm1", MAC1, IP1, 1, 2)
    assert s.update({"vm1": a}, 100.0)
    assert s.next_time() == 101.0
    assert _times(s, 100.0, 200.0) == [1.0, 3.0, 7.0, 15.0, 31.0]
    assert s.next_time() is None
    assert s.entries["vm1"].sent == 5


def test_late_timer_counts_from_when_it_sent() -> None:
    s = G.GarpScheduler()
    s.update({"x": G.Announcement("x", MAC1, None, 1, 2)}, 0.0)
    assert len(s.due(1.5)) == 1  # late by 0.5 s
    assert s.next_time() == 3.5


def test_rebinding_restarts_and_key_changes_do_not() -> None:
    s = G.GarpScheduler()
    a = G.Announcement("vm1", MAC1, IP1, 1, 2)
    s.update({"vm1": a}, 0.0)
    assert _times(s, 0.0, 40.0) == [1.0, 3.0, 7.0, 15.0, 31.0]
    # new keys (the port renumbered): same address, the finished schedule stays finished
    assert not s.update({"vm1": replace(a, port_key=9)}, 50.0)
    assert s.due(100.0) == [] and s.entries["vm1"].ann.port_key == 9
    # unbound, then bound again: from the start
    s.update({}, 60.0)
    assert s.entries == {}
    assert s.update({"vm1": a}, 70.0)
    assert _times(s, 70.0, 110.0) == [1.0, 3.0, 7.0, 15.0, 31.0]


def test_a_new_address_is_announced_afresh() -> None:
    s = G.GarpScheduler()
    a = G.Announcement("vm1", MAC1, IP1, 1, 2)
    s.update({"vm1": a}, 0.0)
    s.due(1.0)
    assert s.update({"vm1": replace(a, ipv4=bytes([10, 0, 5, 31]))}, 2.0)
    assert s.next_time() == 3.0 and s.entries["vm1"].sent == 0


def test_due_sends_every_entry_that_is_due() -> None:
    s = G.GarpScheduler()
    w = {n: G.Announcement(n, MAC1, None, 1, i) for i, n in enumerate(("a", "b", "c"))}
    s.update(w, 0.0)
    assert [x.name for x in s.due(1.0)] == ["a", "b", "c"]
    s.update({**w, "d": G.Announcement("d", MAC1, None, 1, 9)}, 1.0)
    assert [x.name for x in s.due(2.0)] == ["d"]
    assert [x.name for x in s.due(3.0)] == ["a", "b", "c"]
    assert [x.name for x in s.due(4.0)] == ["d"]


# --- hostile SB rows ---------------------------------------------------------------------------

BAD_MACS = ["", "unknown", "router", "dynamic", "zz:00:00:00:00:01 10.0.5.1",
            "00:00:00:00:00 10.0.5.1", "00:00:00:00:00:00:01 10.0.5.1",
            "000:00:00:00:00:01 10.0.5.1", "00-00-00-00-00-01 10.0.5.1", "\x00\xff",
            ":" * 5000, "0" * 100000]


@pytest.mark.parametrize("entry", BAD_MACS)
def test_bad_vif_macs_are_skipped(entry: str) -> None:
    local, sb, nat = topology()
    set_port(sb, "vm1", mac=(entry,))
    assert "vm1" not in wanted(local, sb, nat)
    # ... and the next usable entry is taken, as extract_lsp_addresses() goes on
    set_port(sb, "vm1", mac=(entry, "00:00:00:00:00:01 10.0.5.1"))
    assert wanted(local, sb, nat)["vm1"].ipv4 == IP1


@pytest.mark.parametrize("entry,ip", [
    ("00:00:00:00:00:01 10.0.5.300", None),  # not an address: the list ends there
    ("00:00:00:00:00:01 10.0.5.1/24", IP1),  # an address with its prefix
    ("00:00:00:00:00:01 10.0.5.1/99", None),
    ("00:00:00:00:00:01 fe80::zz 10.0.5.1", None),
    ("00:00:00:00:00:01 fd00::1 10.0.5.1", IP1),  # IPv6 first, then IPv4
    ("00:00:00:00:00:01 junk 10.0.5.1", None),
    ("0:0:0:0:0:1 10.0.5.1", IP1),  # OVS scans one-digit octets too
    ("00:00:00:00:00:01\t10.0.5.1\n", IP1),
])
def test_vif_ip_parsing(entry: str, ip: bytes | None) -> None:
    local, sb, nat = topology()
    set_port(sb, "vm1", mac=(entry,))
    a = wanted(local, sb, nat)["vm1"]
    assert a.mac == MAC1 and a.ipv4 == ip


@pytest.mark.parametrize("entry,announced", [
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident("cr-dr-pub")', True),
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident ( "cr-dr-pub" ) trailing', True),
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident("cr-dr-pub"', False),
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident(cr-dr-pub)', False),
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident "cr-dr-pub"', False),
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident("cr-dr-\\"x")', False),
    ('00:00:00:00:ee:03 10.0.5.210 is_chassis_resident("', False),
    ("00:00:00:00:ee:03 10.0.5.210 whatever", False),  # no port: patch entries need one
    ('zz is_chassis_resident("cr-dr-pub")', False),
])
def test_bad_nat_entries(entry: str, announced: bool) -> None:
    local, sb, nat = topology()
    nat["pub-dr"] = (entry,)
    assert ("pub-dr-10.0.5.210" in wanted(local, sb, nat)) is announced


def test_nat_garbage_of_every_type_is_ignored() -> None:
    local, sb, nat = topology()
    nat["pub-gw"] = (None, 42, b"00:00:00:00:ee:01 10.0.5.1", ["x"], "00:00:00:00:ee:01 10.0.5.9")
    assert [n for n in wanted(local, sb, nat) if n.startswith("pub-gw")] == ["pub-gw-10.0.5.9"]


_ADDR_BITS = st.sampled_from([
    "00:00:00:00:00:01", "0:0:0:0:0:1", "zz:00:00:00:00:01", "10.0.5.1", "10.0.5.1/24",
    "10.0.5.300", "fd00::1", "fd00::1/64", "::", "is_chassis_resident", "(", ")", '"',
    "\\", '"cr-dr-pub"', "is_chassis_resident(", "unknown", "router", " ", "\t", "\x00"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ADDR_BITS, max_size=12).map("".join) | st.text(max_size=80))
def test_address_parsers_never_raise(text: str) -> None:
    parsed = G.parse_nat_address(text)
    if parsed is not None:
        mac, ips, _lport = parsed
        assert len(mac) == 6 and all(len(ip) == 4 for ip in ips)
    local, sb, nat = topology()
    set_port(sb, "vm1", mac=(text,))
    nat["pub-gw"] = (text,)
    nat["pub-dr"] = (text,)
    for a in wanted(local, sb, nat).values():
        assert len(a.packet()) == 42


def test_resident_port_names_are_taken_as_written() -> None:
    assert G.parse_nat_address('00:00:00:00:ee:03 10.0.5.9 is_chassis_resident("a  b")') == \
        (bytes.fromhex("00000000ee03"), [bytes([10, 0, 5, 9])], "a  b")
    assert G.parse_nat_address('00:00:00:00:ee:03 is_chassis_resident("a\\"b")') == \
        (bytes.fromhex("00000000ee03"), [], 'a"b')


def test_rows_pointing_nowhere() -> None:
    local, sb, nat = topology()
    sb.datapaths.pop(uid("pub"))  # the switch's datapath row is gone
    assert wanted(local, sb, nat) == {}
    local, sb, nat = topology()
    set_port(sb, "vm1", datapath=uid("missing"))
    set_port(sb, "pub-gw", datapath=uid("missing"))
    assert "vm1" not in wanted(local, sb, nat)


def test_idl_nat_addresses_tolerates_missing_rows_and_columns() -> None:
    class Row:
        def __init__(self, value: Any) -> None:
            self.value = value

        def raw(self, column: str) -> Any:
            if self.value is AttributeError:
                raise AttributeError(column)
            return self.value

    class Table:
        def __init__(self, rows: dict[str, Row]) -> None:
            self.rows = rows

    pb = _pb("pub-gw", "pub", 6)
    assert tuple(G.idl_nat_addresses({})(pb)) == ()
    assert tuple(G.idl_nat_addresses({"Port_Binding": Table({})})(pb)) == ()
    for value, want in ((AttributeError, ()), ("scalar", ()), (("a", "b"), ("a", "b"))):
        t = {"Port_Binding": Table({pb.uuid: Row(value)})}
        assert tuple(G.idl_nat_addresses(t)(pb)) == want


# --- the daemon's wrapper ----------------------------------------------------------------------


class FakeConn:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self._closed: BaseException | None = None
        self.n = 0

    def xid(self) -> int:
        self.n += 1
        return self.n

    def send(self, msg: bytes) -> None:
        self.sent.append(msg)

    async def drain(self) -> None:
        pass


def test_announcer_sends_through_the_connection_it_was_given() -> None:
    async def go() -> None:
        clock = [1000.0]
        g = G.GarpAnnouncer(clock=lambda: clock[0])
        local, sb, _nat = topology()
        conn = FakeConn()
        rows = {"Port_Binding": type("T", (), {"rows": {}})()}
        g.refresh(local, sb, compute_bindings(local, sb), rows, conn)  # type: ignore[arg-type]
        assert g._task is not None and sorted(g.sched.entries) == ["vm1", "vm6", "vm7"]
        await g._send_due()
        assert conn.sent == []  # not yet: the first announcement is 1 s later
        clock[0] += 1.0
        await g._send_due()
        assert conn.sent[0][-42:] == REAL_GARP_VM1
        assert len(conn.sent) == 3 and g.sent == 3
        conn._closed = ConnectionError("gone")
        clock[0] += 2.0
        await g._send_due()  # nothing sent, and the schedule does not advance
        assert len(conn.sent) == 3 and g.sched.entries["vm1"].sent == 1
        g.close()
        assert g._task is None
    asyncio.run(go())


def test_announcer_task_wakes_for_new_work_and_stops() -> None:
    async def go() -> None:
        g = G.GarpAnnouncer()
        local, sb, _nat = topology()
        conn = FakeConn()
        rows: dict[str, Any] = {}
        g.refresh(local, sb, compute_bindings(local, sb), rows, conn)  # type: ignore[arg-type]
        task = g._task
        assert task is not None
        # make everything due now and poke the task as a new refresh would
        for e in g.sched.entries.values():
            e.next_time = g.clock()
        g._wake.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(conn.sent) == 3:
                break
        assert len(conn.sent) == 3
        g.close()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(go())
