"""Connections, remotes, servers, and RpcClient against a real ovsdb-server."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from typing import Any

import pytest

from pyovn.jsonrpc.connection import (
    Connection,
    Remote,
    RemoteError,
    RpcClient,
    RpcError,
    open_connection,
    parse_remote,
    start_server,
)
from pyovn.jsonrpc.message import Notification
from pyovn.jsonrpc.stream import FramingError


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.mark.parametrize(
    ("text", "remote"),
    [
        ("unix:/tmp/x.sock", Remote("unix", path="/tmp/x.sock")),
        ("punix:rel.sock", Remote("punix", path="rel.sock")),
        ("tcp:127.0.0.1:6641", Remote("tcp", host="127.0.0.1", port=6641)),
        ("tcp:127.0.0.1", Remote("tcp", host="127.0.0.1", port=6640)),
        ("tcp:[::1]:6641", Remote("tcp", host="::1", port=6641)),
        ("ptcp:6641", Remote("ptcp", host="0.0.0.0", port=6641)),
        ("ptcp:", Remote("ptcp", host="0.0.0.0", port=6640)),
        ("ptcp:0:127.0.0.1", Remote("ptcp", host="127.0.0.1", port=0)),
        ("ptcp:6641:[::1]", Remote("ptcp", host="::1", port=6641)),
        ("ptcp::127.0.0.1", Remote("ptcp", host="127.0.0.1", port=6640)),
    ],
)
def test_parse_remote(text: str, remote: Remote) -> None:
    assert parse_remote(text) == remote
    assert parse_remote(str(remote)) == remote


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("/tmp/x.sock", "not a connection method"),
        ("unix:", "missing socket file name"),
        ("tcp:", "missing IP address"),
        ("tcp:localhost:6640", "not an IP address"),
        ("tcp:::1:6640", "brackets"),
        ("tcp:[::1:6640", "unterminated"),
        ("tcp:[1.2.3.4]:6640", "not an IPv6 address"),
        ("tcp:127.0.0.1:http", "bad port"),
        ("tcp:127.0.0.1:70000", "out of range"),
        ("tcp:127.0.0.1:0", "out of range"),
        ("ptcp:x", "bad port"),
        ("ptcp:6640:", "missing IP address"),
        ("ssl:127.0.0.1:6640", "SSL"),
        ("udp:1.2.3.4:5", "unknown connection method"),
    ],
)
def test_parse_remote_errors(text: str, error: str) -> None:
    with pytest.raises(RemoteError, match=error):
        parse_remote(text)


async def echo_handler(conn: Connection) -> None:
    while (obj := await conn.recv()) is not None:
        conn.send({"echo": obj})
        await conn.drain()


async def roundtrip(listen: str, connect: str | None = None) -> None:
    server = await start_server(listen, echo_handler)
    try:
        if connect is None:
            port = server.sockets[0].getsockname()[1]
            connect = f"tcp:127.0.0.1:{port}"
        conn = await open_connection(connect)
        assert conn.peer == connect
        big = {"x": "y" * 3_000_000, "l": list(range(1000))}
        for msg in ({"a": 1}, [1, "}"], big):
            conn.send(msg)
        await conn.drain()
        assert await conn.recv() == {"echo": {"a": 1}}
        assert await conn.recv() == {"echo": [1, "}"]}
        assert await conn.recv() == {"echo": big}
        conn.close()
        await conn.wait_closed()
        conn.send({"dropped": True})  # after close: silently dropped
    finally:
        server.close()
        await server.wait_closed()


def test_unix_roundtrip(tmpdir_short: str) -> None:
    path = os.path.join(tmpdir_short, "s.sock")
    run(roundtrip(f"punix:{path}", f"unix:{path}"))


def test_punix_removes_stale_socket(tmpdir_short: str) -> None:
    path = os.path.join(tmpdir_short, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    assert os.path.exists(path)
    run(roundtrip(f"punix:{path}", f"unix:{path}"))


def test_punix_refuses_to_remove_regular_file(tmpdir_short: str) -> None:
    path = os.path.join(tmpdir_short, "file")
    with open(path, "w") as f:
        f.write("keep me")
    with pytest.raises(RemoteError, match="not a socket"):
        run(start_server(f"punix:{path}", echo_handler))
    assert os.path.exists(path)


def test_tcp_roundtrip_loopback() -> None:
    run(roundtrip("ptcp:0:127.0.0.1"))


def test_tcp6_roundtrip_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no IPv6 loopback")

    async def go() -> None:
        server = await start_server("ptcp:0:[::1]", echo_handler)
        port = server.sockets[0].getsockname()[1]
        conn = await open_connection(f"tcp:[::1]:{port}")
        conn.send({"v6": True})
        assert await conn.recv() == {"echo": {"v6": True}}
        conn.close()
        server.close()
        await server.wait_closed()

    run(go())


def test_active_passive_mismatch() -> None:
    with pytest.raises(RemoteError, match="passive"):
        run(open_connection("punix:/tmp/x"))
    with pytest.raises(RemoteError, match="active"):
        run(start_server("tcp:127.0.0.1:1", echo_handler))


def test_garbage_and_truncation_reach_the_reader(tmpdir_short: str) -> None:
    path = os.path.join(tmpdir_short, "g.sock")
    results: list[object] = []

    async def handler(conn: Connection) -> None:
        try:
            results.append(await conn.recv())
            results.append(await conn.recv())
        except FramingError as exc:
            results.append(exc)

    async def go() -> None:
        server = await start_server(f"punix:{path}", handler)
        for payload in (b'{"ok": 1}\x00\xff', b'{"ok": 1}{"trunc'):
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(payload)
            await writer.drain()
            writer.write_eof()
            await reader.read()  # server closes after the handler returns
            writer.close()
        reader, writer = await asyncio.open_unix_connection(path)
        writer.close()
        await reader.read()
        await asyncio.sleep(0.05)
        server.close()
        await server.wait_closed()

    run(go())
    assert results[0] == {"ok": 1}
    assert isinstance(results[1], FramingError)
    assert results[2] == {"ok": 1}
    assert isinstance(results[3], FramingError) and "middle of a message" in str(results[3])
    assert results[4] is None  # clean EOF


def test_peer_names(tmpdir_short: str) -> None:
    path = os.path.join(tmpdir_short, "p.sock")
    peers: list[str] = []

    async def handler(conn: Connection) -> None:
        peers.append(conn.peer)
        await conn.recv()

    async def go() -> None:
        server = await start_server(f"punix:{path}", handler)
        conn = await open_connection(f"unix:{path}")
        conn.close()
        await conn.wait_closed()
        tserver = await start_server("ptcp:0:127.0.0.1", handler)
        port = tserver.sockets[0].getsockname()[1]
        tconn = await open_connection(f"tcp:127.0.0.1:{port}")
        tconn.close()
        await asyncio.sleep(0.05)
        for s in (server, tserver):
            s.close()
            await s.wait_closed()

    run(go())
    assert peers[0].startswith("unix#")
    assert peers[1].startswith("tcp:127.0.0.1:")


# --- against the real ovsdb-server ------------------------------------------------------


def test_rpc_client_against_ovsdb_server(ovsdb_server: Any) -> None:
    async def go() -> None:
        async with await RpcClient.connect(f"unix:{ovsdb_server.db_sock}") as client:
            assert "Open_vSwitch" in await client.call("list_dbs", [])
            assert await client.call("echo", ["hi", 1]) == ["hi", 1]
            schema = await client.call("get_schema", ["Open_vSwitch"])
            assert schema["name"] == "Open_vSwitch"

            with pytest.raises(RpcError) as info:
                await client.call("no_such_method", [])
            assert info.value.error == "unknown method"

            # monitor, then a transaction shows up as an "update" notification.
            initial = await client.call(
                "monitor", ["Open_vSwitch", "mon", {"Bridge": [{"columns": ["name"]}]}]
            )
            assert initial == {}
            result = await client.call(
                "transact",
                ["Open_vSwitch",
                 {"op": "insert", "table": "Bridge", "row": {"name": "br-test"},
                  "uuid-name": "b"},
                 {"op": "insert", "table": "Open_vSwitch", "row": {
                     "bridges": ["named-uuid", "b"]}}],
            )
            assert len(result) == 2 and "uuid" in result[0]
            note = await asyncio.wait_for(client.notifications.get(), 10)
            assert isinstance(note, Notification)
            assert note.method == "update" and note.params[0] == "mon"
            rows = note.params[1]["Bridge"]
            assert [r["new"]["name"] for r in rows.values()] == ["br-test"]

            # A transaction error is a successful reply carrying an error member.
            bad = await client.call("transact", ["Open_vSwitch", {"op": "bogus"}])
            assert "error" in bad[0]

            # Many calls in flight at once are matched by id.
            results = await asyncio.gather(*(client.call("echo", [i]) for i in range(200)))
            assert results == [[i] for i in range(200)]

    run(go())


def test_rpc_client_callback_and_server_death(ovsdb_server: Any) -> None:
    got: list[Notification] = []

    async def go() -> None:
        client = await RpcClient.connect(f"unix:{ovsdb_server.db_sock}", on_notify=got.append)
        await client.call("monitor", ["Open_vSwitch", None, {"Open_vSwitch": {}}])
        await client.call("transact", ["Open_vSwitch",
                                       {"op": "insert", "table": "Open_vSwitch", "row": {}}])
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        # The peer going away fails calls instead of hanging them.
        client.conn.writer.transport.abort()
        with pytest.raises(ConnectionError):
            await client.call("echo", [])
        await client.close()

    run(go())
    assert got and got[0].method == "update"
