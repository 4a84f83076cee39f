"""Issue 3's reconnect criterion: a client holding 10,000 rows loses its server, misses a
few changes, and resynchronises; the replica must come back exact, and where the server keeps
history (pyovn's) the resync must carry only the rows that changed.  Counts and bytes, never
timings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from pyovn.jsonrpc.connection import RpcClient
from pyovn.ovsdb.idl import Idl, SchemaHelper

from .servers import KINDS, TEST_SCHEMA, DbServer, Proxy, missing_tools

N_ROWS = 10_000
N_MODIFY, N_DELETE, N_INSERT = 10, 5, 5


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[DbServer]:
    why = missing_tools(request.param)
    if why:
        pytest.skip(why)
    srv = DbServer(request.param, tag="idl-resync")
    try:
        yield srv
    finally:
        srv.cleanup()


def helper() -> SchemaHelper:
    h = SchemaHelper.from_file(TEST_SCHEMA)
    h.register_all()
    return h


def row_json(i: int) -> dict[str, Any]:
    return {"name": f"row{i}", "value": i, "tags": ["set", [f"t{i % 7}", "all"]],
            "ext": ["map", [["index", str(i)], ["kind", "bulk"]]]}


async def load(remote: str, n: int) -> None:
    rpc = await RpcClient.connect(remote)
    try:
        ops: list[Any] = ["IdlTest"]
        ops += [{"op": "insert", "table": "Parent", "row": row_json(i)} for i in range(n)]
        result = await rpc.call("transact", ops)
        assert all("error" not in r for r in result), result[-1]
    finally:
        await rpc.close()


async def change_while_away(remote: str) -> None:
    """Modifies, deletes and inserts a few rows, from another connection."""
    rpc = await RpcClient.connect(remote)
    try:
        ops: list[Any] = ["IdlTest"]
        for i in range(N_MODIFY):
            ops.append({"op": "update", "table": "Parent", "where": [["name", "==", f"row{i}"]],
                        "row": {"value": -i - 1}})
        for i in range(N_MODIFY, N_MODIFY + N_DELETE):
            ops.append({"op": "delete", "table": "Parent", "where": [["name", "==", f"row{i}"]]})
        for i in range(N_INSERT):
            ops.append({"op": "insert", "table": "Parent", "row": {"name": f"new{i}"}})
        result = await rpc.call("transact", ops)
        assert all("error" not in r for r in result), result
    finally:
        await rpc.close()


def contents(client: Idl) -> dict[str, dict[str, Any]]:
    return {u: r.to_dict() for u, r in client.tables["Parent"].rows.items()}


async def resync(server: DbServer, restart: bool) -> tuple[Idl, Idl]:
    """Returns the resynchronised client and a fresh one to compare it with (both open)."""
    await load(server.remote, N_ROWS)
    proxy = Proxy(server.sock, server.dir)
    await proxy.start()
    client = Idl(proxy.remote, helper(), backoff_min=0.05, backoff_max=0.2)
    await client.wait_synced(60)
    assert len(client.tables["Parent"]) == N_ROWS
    client.take_changes()
    await proxy.cut()
    if restart:
        server.restart()
    await change_while_away(server.remote)
    await proxy.restore()
    await client.wait_until(lambda: len(client.syncs) == 2, 60)
    fresh = Idl(server.remote, helper())
    await fresh.wait_synced(60)
    return client, fresh


def check_replica(client: Idl, fresh: Idl) -> None:
    assert contents(client) == contents(fresh)
    assert len(client.tables["Parent"]) == N_ROWS - N_DELETE + N_INSERT
    assert not client.tables["Parent"].find(name=f"row{N_MODIFY}")  # deleted while away
    # Whatever the server sent, the application sees exactly what changed.
    assert client.take_changes().counts() == {"Parent": (N_INSERT, N_MODIFY, N_DELETE)}


def test_resume_after_connection_loss_carries_only_the_changes(server: DbServer) -> None:
    async def main() -> None:
        client, fresh = await resync(server, restart=False)
        try:
            check_replica(client, fresh)
            full, again = client.syncs
            assert full.rows == N_ROWS and not full.found
            if server.kind == "pyovn":
                assert again.found
                assert again.rows == N_MODIFY + N_DELETE + N_INSERT
                assert again.bytes * 100 < full.bytes
            else:
                # The real server keeps no history for a standalone database.
                assert not again.found and again.rows == N_ROWS - N_DELETE + N_INSERT
        finally:
            await client.close()
            await fresh.close()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_server_restart_resync_is_exact(server: DbServer) -> None:
    async def main() -> None:
        client, fresh = await resync(server, restart=True)
        try:
            check_replica(client, fresh)
            assert client.syncs[-1].rows in (N_MODIFY + N_DELETE + N_INSERT,
                                             N_ROWS - N_DELETE + N_INSERT)
        finally:
            await client.close()
            await fresh.close()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_server_restart_resumes_with_only_the_changes_on_pyovn() -> None:
    why = missing_tools("pyovn")
    if why:
        pytest.skip(why)
    server = DbServer("pyovn", tag="idl-resync")

    async def main() -> None:
        client, fresh = await resync(server, restart=True)
        try:
            assert client.syncs[-1].found
            assert client.syncs[-1].rows == N_MODIFY + N_DELETE + N_INSERT
        finally:
            await client.close()
            await fresh.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        server.cleanup()
