"""The IDL against live servers, the real ovsdb-server and pyovn's, side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import pytest

from pyovn.jsonrpc.connection import RpcClient
from pyovn.ovsdb.idl import BlockingIdl, Idl, SchemaHelper, TransactionError, TxnStatus

from .servers import KINDS, NB_SCHEMA, TEST_SCHEMA, DbServer, Proxy, missing_tools

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 60)

    return asyncio.run(bounded())


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[DbServer]:
    why = missing_tools(request.param)
    if why:
        pytest.skip(why)
    srv = DbServer(request.param)
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture(params=KINDS)
def nb_server(request: pytest.FixtureRequest) -> Iterator[DbServer]:
    why = missing_tools(request.param)
    if why:
        pytest.skip(why)
    srv = DbServer(request.param, NB_SCHEMA, tag="idl-nb")
    try:
        yield srv
    finally:
        srv.cleanup()


def make_helper() -> SchemaHelper:
    h = SchemaHelper.from_file(TEST_SCHEMA)
    h.register_all()
    return h


def idl(remote: str | list[str], **options: Any) -> Idl:
    options.setdefault("backoff_min", 0.05)
    options.setdefault("backoff_max", 0.2)
    return Idl(remote, make_helper(), **options)


def parent(client: Idl, name: str) -> Any:
    rows = client.tables["Parent"].find(name=name)
    assert len(rows) == 1, rows
    return rows[0]


async def add_parents(client: Idl, *names: str) -> None:
    def build(txn: Any) -> None:
        for name in names:
            txn.insert("Parent").name = name

    await client.transact(build)
    await client.wait_until(
        lambda: all(client.tables["Parent"].find(name=n) for n in names))


def test_round_trip_of_every_kind_of_write(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a, idl(server.remote) as b:
            await a.wait_synced(10)
            await b.wait_synced(10)
            b.take_changes()

            def create(txn: Any) -> Any:
                child = txn.insert("Child")
                child.name, child.weights = "c1", {"w": 3}
                p = txn.insert("Parent")
                p.name, p.value, p.tags, p.ext = "p1", 5, ["a", "b"], {"k": "v"}
                p.children, p.best, p.color, p.ratio = [child], child, "blue", 0.5
                return p

            out = await a.transact(create)
            assert out.status is TxnStatus.SUCCESS
            real_uuid = out.txn.get_insert_uuid(out.value.uuid)
            assert real_uuid is not None
            await b.wait_until(lambda: b.tables["Parent"].get(real_uuid) is not None)
            p: Any = b.tables["Parent"].get(real_uuid)
            assert (p.name, p.value, p.tags, p.ext, p.color, p.ratio) == (
                "p1", 5, ("a", "b"), {"k": "v"}, ("blue",), 0.5)
            assert p.children[0].name == "c1" and p.best == p.children
            assert b.take_changes().counts() == {"Parent": (1, 0, 0), "Child": (1, 0, 0)}

            pa: Any = a.tables["Parent"].get(real_uuid)

            def edit(txn: Any) -> None:
                pa.addvalue("tags", "c")
                pa.delvalue("tags", "a")
                pa.setkey("ext", "k", "v2")
                pa.setkey("ext", "n", "1")
                pa.value = 6

            await a.transact(edit)
            await b.wait_until(lambda: p.value == 6)
            assert p.tags == ("b", "c") and p.ext == {"k": "v2", "n": "1"}
            tc = b.take_changes()["Parent"]
            assert tc.changed_columns(real_uuid) == {"tags", "ext", "value"}

            # Deleting the parent garbage-collects its (non-root) child in the server.
            await a.transact(lambda txn: pa.delete())
            await b.wait_until(lambda: b.replica.row_count() == 0)
            assert b.take_changes().counts() == {"Parent": (0, 0, 1), "Child": (0, 0, 1)}

    run(main())


def test_concurrent_change_makes_the_verifying_transaction_try_again(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a, idl(server.remote) as b:
            await a.wait_synced(10)
            await b.wait_synced(10)
            await add_parents(a, "p")
            await b.wait_until(lambda: bool(b.tables["Parent"].find(name="p")))
            pa, pb = parent(a, "p"), parent(b, "p")

            # a reads value and means to write value + 1; b gets in first.
            txn = a.transaction()
            pa.verify("value")
            pa.value = pa.value + 1
            await b.transact(lambda t: setattr(pb, "value", 100))
            assert await a.commit(txn) is TxnStatus.TRY_AGAIN
            await a.wait_until(lambda: pa.value == 100)  # not overwritten with 1

            # transact() retries with what the replica then holds.
            def bump(t: Any) -> None:
                pa.verify("value")
                pa.value = pa.value + 1

            out = await a.transact(bump)
            assert out.status is TxnStatus.SUCCESS
            await b.wait_until(lambda: pb.value == 101)

    run(main())


def test_transaction_errors_carry_the_servers_message(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a:
            await a.wait_synced(10)
            await add_parents(a, "dup")
            with pytest.raises(TransactionError) as info:
                await a.transact(lambda t: setattr(t.insert("Parent"), "name", "dup"))
            assert info.value.status is TxnStatus.ERROR
            assert "constraint violation" in info.value.message
            assert "dup" in info.value.message

    run(main())


class _BuildFailed(Exception):
    pass


def test_try_transact_tries_once_and_raises_nothing_but_the_builds_own(
        server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a, idl(server.remote) as b:
            await a.wait_synced(10)
            await b.wait_synced(10)
            await add_parents(a, "p")
            await b.wait_until(lambda: bool(b.tables["Parent"].find(name="p")))
            pa, pb = parent(a, "p"), parent(b, "p")

            # The server refuses: the outcome says so, nothing raised.
            out = await a.try_transact(lambda t: setattr(t.insert("Parent"), "name", "p"))
            assert (out.status, out.ok) == (TxnStatus.ERROR, False)
            assert "constraint violation" in (out.txn.error or "")

            # A build that fails leaves nothing open and changes nothing.
            before = pa.value

            def fails(t: Any) -> None:
                pa.value = 7
                raise _BuildFailed

            with pytest.raises(_BuildFailed):
                await a.try_transact(fails)
            assert pa.value == before
            ok = await a.try_transact(lambda t: setattr(pa, "value", 5))
            assert (ok.status, ok.ok, ok.value) == (TxnStatus.SUCCESS, True, None)
            await b.wait_until(lambda: pb.value == 5)

        # Not connected: TRY_AGAIN at once (transact() would wait and try again).
        c = idl(f"unix:{server.dir}/nothing-here.sock")
        await c.start()
        out3 = await c.try_transact(lambda t: t.insert("Parent"))
        assert (out3.status, out3.ok) == (TxnStatus.TRY_AGAIN, False)
        await c.close()

    run(main())


def test_increment_fetches_nb_cfg(nb_server: DbServer) -> None:
    async def main() -> None:
        h = SchemaHelper.from_file(NB_SCHEMA)
        h.register_columns("NB_Global", ["nb_cfg", "external_ids"])
        h.register_columns("Logical_Switch", ["name", "ports"])
        h.register_columns("Logical_Switch_Port", ["name", "addresses"])
        async with Idl(nb_server.remote, h, backoff_min=0.05) as nb:
            await nb.wait_synced(10)
            await nb.transact(lambda t: t.insert("NB_Global"))
            await nb.wait_until(lambda: len(nb.tables["NB_Global"]) == 1)
            glob = next(iter(nb.tables["NB_Global"]))

            for expected in (1, 2):
                def add_switch(t: Any, n: int = expected) -> None:
                    port = t.insert("Logical_Switch_Port")
                    port.name, port.addresses = f"lp{n}", [f"00:00:00:00:00:0{n} 10.0.0.{n}"]
                    sw = t.insert("Logical_Switch")
                    sw.name, sw.ports = f"ls{n}", [port]
                    glob.increment("nb_cfg")

                out = await nb.transact(add_switch)
                assert out.txn.increment_new_value == expected
            switches = nb.tables["Logical_Switch"]
            await nb.wait_until(lambda: glob.nb_cfg == 2 and len(switches) == 2)
            assert {p.name for sw in switches for p in sw.ports} == {"lp1", "lp2"}

    run(main())


def test_conditions_change_at_run_time(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a, idl(server.remote) as b:
            await a.wait_synced(10)
            await b.set_condition("Parent", [("name", "==", "p1")])
            await b.wait_synced(10)
            await add_parents(a, "p1", "p2", "p3")
            await b.wait_until(lambda: len(b.tables["Parent"]) == 1)
            assert parent(b, "p1").name == "p1"
            b.take_changes()

            await b.set_condition("Parent", [("name", "!=", "p1")])
            await b.wait_until(lambda: {p.name for p in b.tables["Parent"]} == {"p2", "p3"})
            counts = b.take_changes().counts()
            assert counts["Parent"] == (2, 0, 1)

            await b.set_condition("Parent", False)
            await b.wait_until(lambda: len(b.tables["Parent"]) == 0)
            await b.set_condition("Parent", True)
            await b.wait_until(lambda: len(b.tables["Parent"]) == 3)
            with pytest.raises(ValueError):
                await b.set_condition("Parent", [("nope", "==", 1)])
            with pytest.raises(ValueError):
                await b.set_condition("Parent", [("value", "<", "x")])

    run(main())


def test_locks_guard_transactions_and_pass_on(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a, idl(server.remote) as b:
            await a.wait_synced(10)
            await b.wait_synced(10)
            await add_parents(a, "p")
            await a.set_lock("leader")
            await a.wait_for_lock(10)
            await b.set_lock("leader")
            assert b.is_lock_contended and not b.has_lock
            pb = parent(b, "p")
            txn = b.transaction()
            pb.value = 1
            assert await b.commit(txn) is TxnStatus.NOT_LOCKED
            out = await a.transact(lambda t: setattr(parent(a, "p"), "value", 2))
            assert out.status is TxnStatus.SUCCESS
            await a.set_lock(None)  # b is next in line
            await b.wait_for_lock(10)
            out2 = await b.transact(lambda t: setattr(pb, "value", 3))
            assert out2.status is TxnStatus.SUCCESS

    run(main())


def test_lock_is_taken_again_after_a_reconnect(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote) as a:
            await a.set_lock("leader")
            await a.wait_for_lock(10)
            a.force_reconnect()
            assert not a.has_lock
            await a.wait_for_lock(10)
            assert len(a.syncs) == 2

    run(main())


def test_tries_each_remote_in_turn(server: DbServer) -> None:
    async def main() -> None:
        dead = f"unix:{server.dir}/nothing-here.sock"
        async with idl([dead, server.remote]) as a:
            await a.wait_synced(10)
            assert a.remote == server.remote

    run(main())


def test_echo_probe_notices_a_hung_server(server: DbServer) -> None:
    async def main() -> None:
        async with idl(server.remote, probe_interval=0.2) as a:
            await a.wait_synced(10)
            seq = a.change_seqno
            server.pause()
            try:
                await a.wait_for_change(seq, 10)
                assert not a.is_connected
            finally:
                server.resume()
            await a.wait_synced(10)
            # And a quiet but healthy server is not dropped.
            syncs = len(a.syncs)
            await asyncio.sleep(1.0)
            assert len(a.syncs) == syncs and a.is_connected

    run(main())


def test_not_connected_is_try_again(server: DbServer) -> None:
    async def main() -> None:
        client = idl(f"unix:{server.dir}/nothing-here.sock")
        await client.start()
        txn = client.transaction()
        txn.insert("Parent")
        assert await client.commit(txn) is TxnStatus.TRY_AGAIN
        await client.close()

    run(main())


def test_resume_receives_only_what_changed_while_away(server: DbServer) -> None:
    """The client is cut off (the server keeps running), misses changes, comes back."""

    async def main() -> None:
        proxy = Proxy(server.sock, server.dir)
        await proxy.start()
        async with idl(proxy.remote) as a, idl(server.remote) as w:
            await a.wait_synced(10)
            await w.wait_synced(10)
            await add_parents(w, *(f"p{i}" for i in range(50)))
            await a.wait_until(lambda: len(a.tables["Parent"]) == 50)
            a.take_changes()
            await proxy.cut()

            def change(t: Any) -> None:
                parent(w, "p1").value = 11
                parent(w, "p2").delete()
                t.insert("Parent").name = "new"

            await w.transact(change)
            await proxy.restore()
            await a.wait_until(lambda: a.tables["Parent"].find(name="new") != [])
            sync = a.last_sync
            assert sync is not None and len(a.syncs) == 2
            if server.kind == "pyovn":
                assert sync.found and sync.rows == 3
            else:  # no history for a standalone database: everything again
                assert not sync.found and sync.rows == 50
            assert sorted(p.name for p in a.tables["Parent"]) == sorted(
                p.name for p in w.tables["Parent"])
            assert parent(a, "p1").value == 11
            counts = a.take_changes().counts()
            assert counts == {"Parent": (1, 1, 1)}

    run(main())


def test_blocking_wrapper(server: DbServer) -> None:
    with BlockingIdl(server.remote, make_helper(), timeout=10) as a:
        out = a.transact(lambda t: setattr(t.insert("Parent"), "name", "b1"))
        assert out.status is TxnStatus.SUCCESS
        a.wait_until(lambda: len(a.tables["Parent"]) == 1)
        p = next(iter(a.tables["Parent"]))
        txn = a.transaction()
        p.verify("value")
        p.value = 4
        assert a.commit_block(txn) is TxnStatus.SUCCESS
        a.wait_until(lambda: p.value == 4)
        assert a.take_changes()["Parent"].inserted


def test_bad_remotes_are_refused() -> None:
    with pytest.raises(ValueError):
        Idl("punix:/tmp/x", make_helper())
    with pytest.raises(ValueError):
        Idl("", make_helper())
    with pytest.raises(ValueError):
        Idl("bogus:thing", make_helper())


def test_raw_rpc_still_sees_the_idls_commits(server: DbServer) -> None:
    """What the IDL writes is plain OVSDB: another client sees it with a select."""

    async def main() -> None:
        async with idl(server.remote) as a:
            await add_parents(a, "seen")
            rpc = await RpcClient.connect(server.remote)
            try:
                reply = await rpc.call("transact", ["IdlTest", {
                    "op": "select", "table": "Parent", "where": [], "columns": ["name"]}])
            finally:
                await rpc.close()
            assert reply[0]["rows"] == [{"name": "seen"}]

    run(main())
