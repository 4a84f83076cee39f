"""pyovn ovsdb-server against malformed, oversized and hostile input.

Each case checks the reply (or that only the offending connection was closed) and then
that the server still serves another client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ovsdb.rawclient import Client, pyovn_server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with pyovn_server("input", extra=("--max-message-size=1000000",)) as (sock, _):
        yield sock


def assert_alive(sock: str) -> None:
    other = Client(sock)
    try:
        assert other.call("list_dbs", [])["result"] == ["OVN_Northbound", "_Server"]
    finally:
        other.close()


@pytest.mark.parametrize(
    "data",
    [
        b"{not json}",
        b"\xff\xfe\x00garbage",
        b'{"method":"echo","params":["\xff\xfe"],"id":1}',
        b'{"method": "echo", "params": [], "id": 1}}',
        b"[" * 100_000,
        b'{"method":"echo","params":["' + b"x" * 2_000_000 + b'"],"id":1}',
    ],
    ids=["bad-json", "binary", "invalid-utf8-in-string", "extra-brace", "deep-nesting",
         "oversized"],
)
def test_broken_framing_closes_only_that_connection(server: str, data: bytes) -> None:
    client = Client(server)
    client.sock.settimeout(3)
    try:
        try:
            client.send_raw(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before we finished sending: what an oversized message deserves
        else:
            if data.startswith(b'{"method": "echo"'):
                assert client.recv()["result"] == []  # the good message is still answered
            assert client.is_closed_by_peer()
    finally:
        client.close()
    assert_alive(server)


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("no_such_method", [], "unknown method"),
        ("get_schema", ["Nope"], {"error": "unknown database"}),
        ("transact", ["Nope", {"op": "select", "table": "ACL", "where": []}],
         {"error": "unknown database"}),
        ("monitor_cancel", ["never"], "unknown monitor"),
        ("lock", [1], {"error": "syntax error"}),
        ("monitor", ["OVN_Northbound", None, {"No_Table": {}}], {"error": "syntax error"}),
        ("monitor", ["OVN_Northbound", None, "x"], {"error": "syntax error"}),
    ],
)
def test_bad_requests_get_error_replies(
    server: str, method: str, params: Any, expected: Any
) -> None:
    client = Client(server)
    try:
        reply = client.call(method, params)
        assert "result" not in reply  # ovsdb-server omits it in error replies
        if isinstance(expected, dict):
            assert reply["error"]["error"] == expected["error"]
        else:
            assert reply["error"] == expected
        assert client.call("echo", ["still here"])["result"] == ["still here"]
    finally:
        client.close()


@pytest.mark.parametrize(
    ("op", "error"),
    [
        ({"op": "insert", "table": "No_Table", "row": {}}, "syntax error"),
        ({"op": "insert", "table": "Logical_Switch", "row": {"no_column": 1}},
         "unknown column"),
        ({"op": "insert", "table": "Logical_Switch", "row": {"name": 5}}, "syntax error"),
        ({"op": "insert", "table": "ACL", "row": {"priority": 99999}}, "constraint violation"),
        ({"op": "insert", "table": "ACL", "row": {"action": "explode"}},
         "constraint violation"),
        ({"op": "select", "table": "ACL", "where": [["priority", "~", 1]]}, "unknown function"),
        ({"op": "select", "table": "ACL", "where": "nope"}, "syntax error"),
        ({"op": "mutate", "table": "ACL", "where": [],
          "mutations": [["priority", "frobnicate", 1]]}, "unknown mutator"),
        ({"op": "frobnicate"}, "syntax error"),
        ("not an object", "syntax error"),
    ],
)
def test_schema_violations_get_rfc_errors(server: str, op: Any, error: str) -> None:
    client = Client(server)
    try:
        reply = client.call("transact", ["OVN_Northbound", op])
        assert reply["error"] is None
        assert reply["result"][-1]["error"] == error
    finally:
        client.close()
    assert_alive(server)


def test_many_clients_disconnecting_abruptly(server: str) -> None:
    clients = [Client(server) for _ in range(20)]
    for i, client in enumerate(clients):
        client.send_raw(json.dumps({"method": "monitor", "id": i, "params": [
            "OVN_Northbound", i, {"Logical_Switch": {}}]}).encode()[: 10 + i])
        client.close()
    assert_alive(server)
