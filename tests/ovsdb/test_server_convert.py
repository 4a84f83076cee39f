"""Online schema conversion ("convert", ovsdb-server(7) 4.1.19) in pyovn's server."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ovsdb.rawclient import NB_SCHEMA, Client, pyovn_server


@pytest.fixture
def server() -> Iterator[tuple[str, str]]:
    with pyovn_server("convert") as where:
        yield where


def nb_schema() -> dict[str, Any]:
    with open(NB_SCHEMA) as f:
        schema: dict[str, Any] = json.load(f)
    schema.pop("cksum", None)
    return schema


def insert_switch(client: Client, name: str) -> None:
    reply = client.call("transact", ["OVN_Northbound", {
        "op": "insert", "table": "Logical_Switch", "row": {"name": name}}])
    assert "error" not in reply["result"][0]


def test_convert_keeps_rows_adds_defaults_and_persists(server: tuple[str, str]) -> None:
    sock, db = server
    client = Client(sock)
    insert_switch(client, "sw0")
    schema = nb_schema()
    schema["version"] = "7.0.99"
    columns = schema["tables"]["Logical_Switch"]["columns"]
    columns["extra"] = {"type": "integer"}
    del columns["qos_rules"]
    client.call("set_db_change_aware", [True])
    assert client.call("convert", ["OVN_Northbound", schema]) == {
        "id": 1, "result": {}, "error": None}
    rows = client.call("transact", ["OVN_Northbound", {
        "op": "select", "table": "Logical_Switch", "where": []}])["result"][0]["rows"]
    assert [(r["name"], r["extra"], "qos_rules" in r) for r in rows] == [("sw0", 0, False)]
    version = subprocess.run(["ovsdb-tool", "db-version", db], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert version == "7.0.99"
    client.close()


def test_convert_that_violates_new_constraints_changes_nothing(
    server: tuple[str, str]
) -> None:
    sock, _ = server
    client = Client(sock)
    insert_switch(client, "sw0")
    schema = copy.deepcopy(nb_schema())
    schema["tables"]["Logical_Switch"]["columns"]["name"] = {
        "type": {"key": {"type": "string", "enum": ["set", ["only-this"]]}}}
    reply = client.call("convert", ["OVN_Northbound", schema])
    assert reply["error"]["error"] == "constraint violation"
    assert client.call("get_schema", ["OVN_Northbound"], 2)["result"]["version"] == (
        nb_schema()["version"])
    client.close()


def test_convert_cancels_aware_monitors_and_drops_unaware_clients(
    server: tuple[str, str]
) -> None:
    sock, _ = server
    aware, unaware, admin = Client(sock), Client(sock), Client(sock)
    aware.call("set_db_change_aware", [True])
    aware.call("monitor_cond", ["OVN_Northbound", "m", {"Logical_Switch": {}}], 2)
    unaware.call("monitor_cond", ["OVN_Northbound", "m", {"Logical_Switch": {}}], 2)
    admin.call("set_db_change_aware", [True])
    assert admin.call("convert", ["OVN_Northbound", nb_schema()])["result"] == {}
    assert aware.recv() == {"id": None, "method": "monitor_canceled", "params": ["m"]}
    unaware.sock.settimeout(5)
    assert unaware.is_closed_by_peer()
    for c in (aware, unaware, admin):
        c.close()
