"""Where pyovn's server listens: ptcp with the inactivity probe, and db: remotes that follow the
database (`ovn-nbctl set-connection`), as ovsdb-server does."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from tests.ovsdb.rawclient import Client, pyovn_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tcp_client(port: int) -> Client:
    """A Client whose socket is a TCP connection to the loopback port."""
    client = Client.__new__(Client)
    client.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.buf = b""
    client.decoder = json.JSONDecoder()
    return client


def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def test_idle_tcp_client_is_probed_then_dropped_while_an_answering_one_stays() -> None:
    port = free_port()
    extra = (f"--remote=ptcp:{port}:127.0.0.1", "--inactivity-probe=500")
    with pyovn_server("probe", extra=extra):
        wait_for_port(port)
        silent, polite = tcp_client(port), tcp_client(port)
        # A client that answers the probes (promptly) keeps its session...
        for _ in range(3):
            msg = polite.recv()
            assert msg["method"] == "echo"
            polite.send_raw(json.dumps({"id": msg["id"], "result": msg["params"],
                                        "error": None}).encode())
        assert polite.call("list_dbs", [])["result"] == ["OVN_Northbound", "_Server"]
        # ...while the silent one got the same probe and was dropped for not answering.
        probe = silent.recv()
        assert probe["method"] == "echo" and probe["id"] is not None
        assert silent.is_closed_by_peer()
        silent.close()
        polite.close()


def test_db_remote_follows_set_connection_and_del_connection() -> None:
    port = free_port()
    with pyovn_server("dbremote", extra=("--remote=db:OVN_Northbound,NB_Global,connections",)
                      ) as (sock, _):
        nbctl = ["ovn-nbctl", f"--db=unix:{sock}"]
        subprocess.run([*nbctl, "set-connection", f"ptcp:{port}:127.0.0.1"], check=True)
        wait_for_port(port)
        out = subprocess.run(["ovn-nbctl", f"--db=tcp:127.0.0.1:{port}", "get-connection"],
                             check=True, capture_output=True, text=True).stdout
        assert out.strip() == f"ptcp:{port}:127.0.0.1"
        subprocess.run([*nbctl, "del-connection"], check=True)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the server still listens after del-connection")
