"""pyovn's OpenFlow against a real ovs-vswitchd (netdev datapath, private temp dir): flows
installed through pyovn read back through `ovs-ofctl dump-flows` exactly as intended."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Iterator

import pytest

from pyovn.logical import ofrep as O
from pyovn.openflow import messages as M
from pyovn.openflow.connection import BundleError, SwitchConnection
from pyovn.openflow.flowtable import FlowTable
from tests.openflow import ovs_sandbox
from tests.openflow.flowgen import flows
from tests.openflow.readback import canonical, dump_lines, expected

pytestmark = [pytest.mark.real,
              pytest.mark.skipif(not ovs_sandbox.available(), reason="Open vSwitch missing")]


@pytest.fixture(scope="module")
def switch() -> Iterator[ovs_sandbox.OvsSandbox]:
    with ovs_sandbox.OvsSandbox() as sb:
        yield sb


def run(sb: ovs_sandbox.OvsSandbox,
        body: Callable[[SwitchConnection], Awaitable[None]]) -> None:
    async def main() -> None:
        conn = await SwitchConnection.open(sb.mgmt)
        try:
            conn.send(M.flow_delete(conn.xid()))
            await conn.check_barrier()
            await body(conn)
        finally:
            await conn.close()
    asyncio.run(main())


def readback(sb: ovs_sandbox.OvsSandbox) -> set[tuple[str, frozenset[str], str]]:
    return {canonical(ln) for ln in dump_lines(sb.ofctl("dump-flows", sb.mgmt))}


def test_hundreds_of_varied_flows_read_back_exactly(switch: ovs_sandbox.OvsSandbox) -> None:
    fl = flows(400)

    async def body(c: SwitchConnection) -> None:
        tlv = M.tlv_table_mod(c.xid(), M.NXTTMC_ADD, [M.OVN_GENEVE_TLV])
        c.send(tlv)
        await c.barrier()  # an "already mapped" error is fine on a reused switch
        c.send(M.group_mod(c.xid(), M.OFPGC15_DELETE, M.OFPG_ALL))
        c.send(M.group_mod(c.xid(), M.OFPGC15_ADD, 1, M.OFPGT_SELECT,
                           [M.Bucket((O.SetField("reg15", i, 0xFFFFFFFF), O.Resubmit(37)), i,
                                     weight=100) for i in range(2)], "dp_hash", 1 << 32))
        c.send(M.meter_mod(c.xid(), M.OFPMC13_ADD, 1, M.OFPMF13_PKTPS | M.OFPMF13_BURST,
                           [(100, 200)]))
        await c.check_barrier()
        extra = [O.Flow(70, 5, O.Match(), (O.Group(1),), 0xABC),
                 O.Flow(71, 5, O.Match(), (O.Meter(1), O.Resubmit(72)), 0xABD)]
        fl.extend(extra)
        await c.bundle([M.flow_add(c.xid(), f) for f in fl])

    run(switch, body)
    got = readback(switch)
    want = {expected(f) for f in fl}
    assert len(want) == len(fl)
    assert got == want
    assert "tun_metadata0" in switch.ofctl("dump-tlv-map", switch.mgmt)
    assert "selection_method=dp_hash" in switch.ofctl("dump-groups", switch.mgmt)


def _cookie_flows() -> list[O.Flow]:
    out = []
    for i in range(12):
        m = O.Match()
        m.add("reg1", i, 0xFFFFFFFF)
        out.append(O.Flow(10 + i % 2, 100 + i, m, (O.Resubmit(20),), cookie=0x100 + i % 3))
    return out


def test_modify_and_delete_strict_and_loose_by_cookie(switch: ovs_sandbox.OvsSandbox) -> None:
    fl = _cookie_flows()

    async def body(c: SwitchConnection) -> None:
        await c.bundle([M.flow_add(c.xid(), f) for f in fl])
        # Loose modify of cookie 0x100 flows only.
        mod = O.Flow(10, 0, O.Match(), (O.Resubmit(21),), cookie=0x100)
        c.send(M.flow_modify(c.xid(), mod, strict=False, cookie_mask=0xFFFFFFFF))
        c.send(M.flow_modify(c.xid(), mod.__class__(11, 0, O.Match(), mod.actions, 0x100),
                             strict=False, cookie_mask=0xFFFFFFFF))
        # Strict modify of one flow (needs exact match and priority).
        c.send(M.flow_modify(c.xid(), O.Flow(fl[1].table, fl[1].priority, fl[1].match,
                                             (O.Resubmit(22),), fl[1].cookie)))
        # Strict modify with a wrong priority changes nothing (and does not add).
        c.send(M.flow_modify(c.xid(), O.Flow(fl[2].table, 7, fl[2].match,
                                             (O.Resubmit(23),), fl[2].cookie)))
        await c.check_barrier()

    run(switch, body)
    want = set()
    for f in fl:
        acts: tuple[O.Action, ...] = f.actions
        if f.cookie == 0x100:
            acts = (O.Resubmit(21),)
        if f is fl[1]:
            acts = (O.Resubmit(22),)
        want.add(expected(O.Flow(f.table, f.priority, f.match, acts, f.cookie)))
    assert readback(switch) == want

    async def delete(c: SwitchConnection) -> None:
        await c.bundle([M.flow_add(c.xid(), f) for f in fl])
        # Loose delete of every flow with cookie 0x101 in any table.
        c.send(M.flow_delete(c.xid(), cookie=0x101, cookie_mask=0xFFFFFFFF))
        # Strict delete of one flow; then one with a wrong priority (no effect).
        c.send(M.flow_delete(c.xid(), fl[2].table, fl[2].match, fl[2].priority, strict=True))
        c.send(M.flow_delete(c.xid(), fl[3].table, fl[3].match, 1, strict=True))
        await c.check_barrier()

    run(switch, delete)
    left = {canonical(ln) for ln in dump_lines(switch.ofctl("dump-flows", switch.mgmt))}
    keep = [f for f in fl if f.cookie != 0x101 and f is not fl[2]]
    assert left == {expected(f) for f in keep}


def test_failed_bundle_changes_nothing(switch: ovs_sandbox.OvsSandbox) -> None:
    base = _cookie_flows()
    ip = O.Match()
    ip.add("dl_type", 0x800, 0xFFFF)
    good = [O.Flow(30, 1 + i, ip, (O.DecTTL(), O.Resubmit(31)), 0x7) for i in range(20)]
    refused_on_add = O.Flow(30, 99, O.Match(), (O.DecTTL(),))  # dec_ttl needs an IP match
    refused_on_commit = O.Flow(30, 98, ip, (O.Group(4242),))  # no such group
    failures: list[BundleError] = []

    async def body(c: SwitchConnection) -> None:
        await c.bundle([M.flow_add(c.xid(), f) for f in base])
        for bad, pos in ((refused_on_add, 7), (refused_on_commit, 13)):
            batch = [*good[:pos], bad, *good[pos:]]
            try:
                await c.bundle([M.flow_add(c.xid(), f) for f in batch])
            except BundleError as e:
                failures.append(e)
                assert pos in e.failed
        # The connection is still usable afterwards.
        assert await c.echo(b"ok") == b"ok"

    run(switch, body)
    assert len(failures) == 2
    assert readback(switch) == {expected(f) for f in base}


class _EncodingFailed(Exception):
    pass


def test_bundle_from_generators_and_one_that_fails(switch: ovs_sandbox.OvsSandbox) -> None:
    """bundle() takes messages as they are encoded; a generator that fails part-way (after
    the open request and 256 adds went out) leaves nothing applied and the connection
    usable."""
    base = _cookie_flows()
    more = []
    for i in range(400):
        m = O.Match()
        m.add("reg2", i, 0xFFFFFFFF)
        more.append(O.Flow(12, 7, m, (O.Resubmit(20),), 0x9))

    def failing() -> Iterator[bytes]:
        for i, f in enumerate(more):
            if i == 300:
                raise _EncodingFailed
            yield M.flow_add(0, f)

    async def body(c: SwitchConnection) -> None:
        await c.bundle(M.flow_add(0, f) for f in base)
        with pytest.raises(_EncodingFailed):
            await c.bundle(failing())
        await c.check_barrier()
        assert await c.echo(b"ok") == b"ok"
        await c.bundle(M.flow_add(0, f) for f in more[:3])

    run(switch, body)
    assert readback(switch) == {expected(f) for f in [*base, *more[:3]]}


def _udp_packet() -> bytes:
    eth = bytes.fromhex("0a0000000002" "0a0000000001") + b"\x08\x00"
    payload = b"pyovn"
    udp = struct.pack("!HHHH", 1234, 5678, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    frame = eth + ip + udp
    return frame + b"\0" * max(0, 60 - len(frame))


def test_packet_in2_pause_and_resume(switch: ovs_sandbox.OvsSandbox) -> None:
    userdata = O.Controller(0x17, b"\xca\xfe", None, pause=True)
    pipeline = [
        O.Flow(0, 100, O.Match(), (O.SetField("reg3", 0x55, 0xFFFFFFFF), userdata,
                                   O.SetField("reg4", 0x66, 0xFFFFFFFF), O.Resubmit(1)),
               0x10),
        O.Flow(1, 100, O.Match(), (), 0x11),
    ]
    seen: list[M.PacketIn2] = []

    async def body(c: SwitchConnection) -> None:
        c.send(M.set_async(c.xid()))
        await c.bundle([M.flow_add(c.xid(), f) for f in pipeline])
        c.send(M.packet_out(c.xid(), _udp_packet(), (O.Resubmit(0),)))
        await c.check_barrier()
        pin = await c.next_packet_in(10)
        seen.append(pin)
        # Paused: the flow after the controller action has not run yet.
        assert "n_packets=0" in switch.ofctl("dump-flows", switch.mgmt, "table=1")
        c.send(M.resume(c.xid(), pin))
        await c.check_barrier()
        for _ in range(100):
            if "n_packets=1" in switch.ofctl("dump-flows", switch.mgmt, "table=1"):
                break
            await asyncio.sleep(0.05)

    run(switch, body)
    pin = seen[0]
    assert pin.userdata == userdata.userdata_prefix()
    assert pin.continuation
    assert pin.packet == _udp_packet()
    assert pin.table_id == 0
    assert pin.metadata.get("reg3") == (0x55, 0xFFFFFFFF)
    assert "n_packets=1" in switch.ofctl("dump-flows", switch.mgmt, "table=1")


def test_flowtable_sync_reaches_desired_state(switch: ovs_sandbox.OvsSandbox) -> None:
    pool = flows(200, seed=5)
    steps = [pool[:120], pool[60:180], pool[100:200] + [
        O.Flow(f.table, f.priority, f.match, (O.Resubmit(3),), f.cookie) for f in pool[:10]]]

    async def body(c: SwitchConnection) -> None:
        c.send(M.tlv_table_mod(c.xid(), M.NXTTMC_ADD, [M.OVN_GENEVE_TLV]))
        await c.barrier()
        c.send(M.group_mod(c.xid(), M.OFPGC15_DELETE, M.OFPG_ALL))
        await c.check_barrier()
        table = FlowTable()
        for desired in steps:
            want, msgs = table.sync(desired, c.xid)
            await c.bundle(msgs)
            table.committed(want)
            assert readback(switch) == {expected(f) for f in desired}

    run(switch, body)


def test_connection_rejects_non_unix_targets() -> None:
    with pytest.raises(Exception, match="unix"):
        asyncio.run(SwitchConnection.open("tcp:127.0.0.1:6653"))


def test_connecting_to_missing_socket_fails(tmp_path: object) -> None:
    with pytest.raises(OSError):
        asyncio.run(SwitchConnection.open(f"unix:{tmp_path}/nope.mgmt", timeout=2))
