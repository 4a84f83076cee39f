"""Real clients, unchanged, against pyovn's ovsdb-server serving OVN_Northbound and
OVN_Southbound: each test does the same thing against the real ovsdb-server and against the
server under test and compares what the real clients print (UUIDs normalised, row order
ignored where it follows UUID hashes).  The real ovn-northd between two pyovn servers must
produce the same logical flows as between two real ones.
"""

from __future__ import annotations

import difflib
import json
import os
import select
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from .procs import Central, lines, norm, records

pytestmark = pytest.mark.real

# (args, how to compare stdout): "exact", "lines" (sorted lines), "records" (sorted records)
NBCTL_SCRIPT: list[tuple[list[str], str]] = [
    (["ls-add", "sw0"], "exact"),
    (["ls-add", "sw1"], "exact"),
    (["ls-add", "sw0"], "exact"),  # error: already exists
    (["--may-exist", "ls-add", "sw0"], "exact"),
    (["lsp-add", "sw0", "p1"], "exact"),
    (["lsp-set-addresses", "p1", "00:00:00:00:00:01 10.0.0.1"], "exact"),
    (["lsp-set-port-security", "p1", "00:00:00:00:00:01 10.0.0.1"], "exact"),
    (["lsp-add", "sw0", "p2", "--", "lsp-set-addresses", "p2", "00:00:00:00:00:02 10.0.0.2"],
     "exact"),
    (["lsp-add", "sw1", "p3"], "exact"),
    (["lsp-add", "nosuch", "p4"], "exact"),  # error: no such switch
    (["acl-add", "sw0", "to-lport", "1000", "tcp.dst == 22", "allow-related"], "exact"),
    (["acl-add", "sw0", "from-lport", "900", "ip4", "drop"], "exact"),
    (["acl-add", "sw0", "sideways", "900", "ip4", "drop"], "exact"),  # error: direction
    (["acl-list", "sw0"], "exact"),
    (["lr-add", "lr0"], "exact"),
    (["lrp-add", "lr0", "lr0-sw0", "00:00:00:00:ff:01", "10.0.0.254/24"], "exact"),
    (["lsp-add", "sw0", "sw0-lr0", "--", "lsp-set-type", "sw0-lr0", "router", "--",
      "lsp-set-addresses", "sw0-lr0", "router", "--",
      "lsp-set-options", "sw0-lr0", "router-port=lr0-sw0"], "exact"),
    (["lr-nat-add", "lr0", "snat", "172.16.0.1", "10.0.0.0/24"], "exact"),
    (["lr-route-add", "lr0", "0.0.0.0/0", "172.16.0.254"], "exact"),
    (["lr-route-list", "lr0"], "exact"),
    (["lr-nat-list", "lr0"], "exact"),
    (["show"], "lines"),
    (["show", "sw0"], "lines"),
    (["ls-list"], "lines"),
    (["lsp-list", "sw0"], "lines"),
    (["lr-list"], "lines"),
    (["lrp-list", "lr0"], "lines"),
    (["list", "Logical_Switch"], "records"),
    (["list", "Logical_Switch_Port"], "records"),
    (["list", "Logical_Router_Port"], "records"),
    (["find", "Logical_Switch_Port", "name=p1"], "records"),
    (["find", "ACL", "priority>=1000"], "records"),
    (["--bare", "--columns=name", "find", "Logical_Switch_Port", "type=router"], "exact"),
    (["--columns=name,addresses", "list", "Logical_Switch_Port", "p2"], "exact"),
    (["get", "Logical_Switch_Port", "p1", "addresses"], "exact"),
    (["lsp-get-addresses", "p1"], "exact"),
    (["lsp-get-up", "p1"], "exact"),
    (["set", "Logical_Switch", "sw1", "other_config:subnet=10.0.1.0/24"], "exact"),
    (["add", "Logical_Switch", "sw1", "external_ids", "a=b"], "exact"),
    (["list", "Logical_Switch", "sw1"], "exact"),
    (["remove", "Logical_Switch", "sw1", "external_ids", "a"], "exact"),
    (["clear", "Logical_Switch", "sw1", "other_config"], "exact"),
    (["list", "Logical_Switch", "sw1"], "exact"),
    (["create", "Address_Set", "name=as1", 'addresses="10.0.0.1","10.0.0.2"'], "exact"),
    (["list", "Address_Set"], "exact"),
    (["destroy", "Address_Set", "as1"], "exact"),
    (["lsp-del", "p3"], "exact"),
    (["destroy", "Logical_Switch", "sw1"], "exact"),
    (["acl-del", "sw0", "from-lport"], "exact"),
    (["acl-list", "sw0"], "exact"),
    (["--all", "destroy", "ACL"], "exact"),
    (["list", "ACL"], "exact"),
    (["ls-del", "nosuch"], "exact"),  # error
    (["--if-exists", "ls-del", "nosuch"], "exact"),
    (["lsp-del", "p2"], "exact"),
    (["lr-del", "lr0"], "exact"),
    (["show"], "lines"),
    (["list", "Logical_Switch_Port"], "records"),
]

COMPARE: dict[str, Callable[[str], Any]] = {"exact": norm, "lines": lines, "records": records}


def outcome(r: subprocess.CompletedProcess[str], how: str) -> tuple[int, Any, str]:
    return r.returncode, COMPARE[how](r.stdout), norm(r.stderr)


def explain(want: tuple[int, Any, str], got: tuple[int, Any, str]) -> str:
    """A unified diff of two outcomes, real first."""
    def text(o: tuple[int, Any, str]) -> list[str]:
        out = "\n".join(o[1]) if isinstance(o[1], list) else o[1]
        return [f"status {o[0]}", *out.splitlines(), "--- stderr", *o[2].splitlines()]
    return "\n".join(difflib.unified_diff(text(want), text(got), "real", "under test",
                                          lineterm=""))


def test_nbctl_sequence_matches_real(real_central: Central, test_central: Central) -> None:
    for args, how in NBCTL_SCRIPT:
        want = outcome(real_central.nbctl(*args), how)
        got = outcome(test_central.nbctl(*args), how)
        assert got == want, f"ovn-nbctl {' '.join(args)}\n{explain(want, got)}"


def test_nbctl_commands_really_change_the_database(test_central: Central) -> None:
    """Guards the differential test against two servers that both do nothing."""
    c = test_central
    assert c.nbctl("ls-add", "sw0").returncode == 0
    assert c.nbctl("lsp-add", "sw0", "p1").returncode == 0
    assert c.nbctl("acl-add", "sw0", "to-lport", "1000", "ip4", "drop").returncode == 0
    assert c.nbctl("lr-add", "lr0").returncode == 0
    assert c.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").stdout == "p1\n"
    assert c.nbctl("lsp-list", "sw0").stdout.split()[1] == "(p1)"
    assert "drop" in c.nbctl("acl-list", "sw0").stdout
    show = c.nbctl("show").stdout
    assert "(sw0)" in show and "(lr0)" in show and "port p1" in show
    r = c.nbctl("ls-add", "sw0")
    assert r.returncode != 0 and "already exists" in r.stderr
    assert c.nbctl("destroy", "Logical_Switch", "sw0").returncode == 0
    assert c.nbctl("ls-list").stdout.strip() == ""
    assert c.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").stdout == ""


# ------------------------------------------------------------------ ovsdb-client


def test_ovsdb_client_list_dbs_and_schema(real_central: Central, test_central: Central) -> None:
    for db in ("nb", "sb"):
        want = real_central.client("list-dbs", db=db)
        got = test_central.client("list-dbs", db=db)
        assert got.returncode == 0, got.stderr
        assert sorted(got.stdout.split()) == sorted(want.stdout.split())
    for db, name in (("nb", "OVN_Northbound"), ("sb", "OVN_Southbound")):
        want = real_central.client("get-schema", name, db=db)
        got = test_central.client("get-schema", name, db=db)
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout) == json.loads(want.stdout)
        assert json.loads(got.stdout)["name"] == name
        for cmd in ("get-schema-version", "list-tables"):
            w, g = real_central.client(cmd, name, db=db), test_central.client(cmd, name, db=db)
            assert (g.returncode, lines(g.stdout)) == (w.returncode, lines(w.stdout)), cmd
        w = real_central.client("list-columns", name, "Logical_Flow" if db == "sb" else "ACL",
                                db=db)
        g = test_central.client("list-columns", name, "Logical_Flow" if db == "sb" else "ACL",
                                db=db)
        assert (g.returncode, lines(g.stdout)) == (w.returncode, lines(w.stdout))
    # a database that is not there
    w = real_central.client("get-schema", "Nope")
    g = test_central.client("get-schema", "Nope")
    assert g.returncode == w.returncode != 0


TRANSACTIONS: list[Any] = [
    ["OVN_Northbound", {"op": "insert", "table": "Logical_Switch",
                        "row": {"name": "t1", "external_ids": ["map", [["k", "v"]]]},
                        "uuid-name": "s"},
     {"op": "insert", "table": "Logical_Switch_Port",
      "row": {"name": "t1p", "addresses": ["set", ["00:00:00:00:00:09"]]}, "uuid-name": "p"},
     {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "t1"]],
      "mutations": [["ports", "insert", ["set", [["named-uuid", "p"]]]]]}],
    ["OVN_Northbound", {"op": "select", "table": "Logical_Switch",
                        "where": [["name", "==", "t1"]], "columns": ["name", "external_ids"]}],
    ["OVN_Northbound", {"op": "update", "table": "Logical_Switch",
                        "where": [["name", "==", "t1"]], "row": {"name": "t2"}},
     {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}],
    ["OVN_Northbound", {"op": "insert", "table": "No_Such_Table", "row": {}}],
    ["OVN_Northbound", {"op": "insert", "table": "Logical_Switch", "row": {"nope": 1}}],
    ["OVN_Northbound", {"op": "delete", "table": "Logical_Switch_Port", "where": []}],
    ["OVN_Northbound", {"op": "wait", "table": "Logical_Switch", "where": [], "columns": ["name"],
                        "until": "==", "rows": [{"name": "t2"}], "timeout": 0}],
    ["OVN_Northbound", {"op": "comment", "comment": "hello"}, {"op": "assert", "lock": "x"}],
    ["OVN_Northbound", {"op": "delete", "table": "Logical_Switch", "where": []},
     {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}],
]


def test_ovsdb_client_transact_matches_real(real_central: Central,
                                            test_central: Central) -> None:
    for txn in TRANSACTIONS:
        w = real_central.client("transact", json.dumps(txn))
        g = test_central.client("transact", json.dumps(txn))
        assert g.returncode == w.returncode, (txn, g.stderr)
        if w.returncode == 0:
            assert json.loads(norm(g.stdout)) == json.loads(norm(w.stdout)), txn
        else:
            assert norm(g.stderr) == norm(w.stderr), txn


def test_ovsdb_client_dump_matches_real(real_central: Central, test_central: Central) -> None:
    for c in (real_central, test_central):
        for args in (["ls-add", "sw0"], ["lsp-add", "sw0", "p1"],
                     ["lsp-set-addresses", "p1", "00:00:00:00:00:01 10.0.0.1"],
                     ["acl-add", "sw0", "to-lport", "1000", "ip4", "drop"],
                     ["set", "NB_Global", ".", "options:foo=bar"]):
            c.nbctl(*args)
    for db, name in (("nb", "OVN_Northbound"), ("sb", "OVN_Southbound")):
        w = real_central.client("dump", name, db=db)
        g = test_central.client("dump", name, db=db)
        assert g.returncode == 0, g.stderr
        assert lines(g.stdout) == lines(w.stdout)
        w = real_central.client("dump", "--format=json", name, db=db)
        g = test_central.client("dump", "--format=json", name, db=db)
        assert g.returncode == 0, g.stderr
    w = real_central.client("dump", "OVN_Northbound", "Logical_Switch_Port", "name", "addresses")
    g = test_central.client("dump", "OVN_Northbound", "Logical_Switch_Port", "name", "addresses")
    assert norm(g.stdout) == norm(w.stdout)
    assert "p1" in g.stdout


class Monitor:
    """``ovsdb-client monitor`` as a child process whose output is read with a bounded wait."""

    def __init__(self, central: Central, *args: str) -> None:
        self.proc = subprocess.Popen(
            ["ovsdb-client", "monitor", f"unix:{central.nb}", "OVN_Northbound", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.out = b""

    def read_until(self, pred: Callable[[str], bool], timeout: float = 20.0) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not pred(self.out.decode(errors="replace")):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.out += chunk
        return self.out.decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def monitor_session(c: Central) -> list[str]:
    """Initial contents, then an insert, a modify and a delete by another client; returns the
    normalised blocks that ``ovsdb-client monitor`` printed."""
    c.nbctl("ls-add", "before")
    m = Monitor(c, "Logical_Switch", "name,external_ids")
    try:
        m.read_until(lambda s: "initial" in s and "before" in s)
        assert c.nbctl("ls-add", "mon0").returncode == 0
        m.read_until(lambda s: "insert" in s and "mon0" in s)
        assert c.nbctl("set", "Logical_Switch", "mon0", "external_ids:k=v").returncode == 0
        m.read_until(lambda s: 'k=v' in s)
        assert c.nbctl("ls-del", "mon0").returncode == 0
        text = m.read_until(lambda s: "delete" in s)
    finally:
        m.stop()
    return [b.strip() for b in norm(text).split("\n\n") if b.strip()]


def test_ovsdb_client_monitor_prints_updates(real_central: Central,
                                             test_central: Central) -> None:
    got = monitor_session(test_central)
    text = "\n\n".join(got)
    assert "initial before" in " ".join(text.split()), text
    assert "insert mon0" in " ".join(text.split()), text
    assert "delete" in text, text
    want = monitor_session(real_central)
    assert got == want


# ------------------------------------------------------------------ northd and ovn-sbctl


def build_topology(c: Central) -> None:
    """A small but varied NB: two switches, a router, VIFs, ACLs (port group, address set),
    a load balancer, NAT, a static route, DHCP."""
    cmds: list[list[str]] = [
        ["ls-add", "sw0", "--", "ls-add", "sw1", "--", "lr-add", "lr0"],
        ["lrp-add", "lr0", "lr0-sw0", "00:00:00:00:ff:01", "10.0.0.254/24"],
        ["lsp-add", "sw0", "sw0-lr0", "--", "lsp-set-type", "sw0-lr0", "router", "--",
         "lsp-set-addresses", "sw0-lr0", "router", "--",
         "lsp-set-options", "sw0-lr0", "router-port=lr0-sw0"],
        ["lrp-add", "lr0", "lr0-sw1", "00:00:00:00:ff:02", "10.0.1.254/24"],
        ["lsp-add", "sw1", "sw1-lr0", "--", "lsp-set-type", "sw1-lr0", "router", "--",
         "lsp-set-addresses", "sw1-lr0", "router", "--",
         "lsp-set-options", "sw1-lr0", "router-port=lr0-sw1"],
    ]
    for i, (sw, net) in enumerate((("sw0", "10.0.0"), ("sw0", "10.0.0"), ("sw1", "10.0.1")), 1):
        mac, ip = f"00:00:00:00:00:0{i}", f"{net}.{i}"
        cmds.append(["lsp-add", sw, f"vm{i}", "--", "lsp-set-addresses", f"vm{i}", f"{mac} {ip}",
                     "--", "lsp-set-port-security", f"vm{i}", f"{mac} {ip}"])
    cmds += [
        ["create", "Address_Set", "name=web", 'addresses="10.0.0.1","10.0.0.2"'],
        ["pg-add", "pg_web", "vm1", "vm2"],
        ["acl-add", "pg_web", "to-lport", "1002", "outport == @pg_web && ip4.src == $web && "
         "tcp.dst == 80", "allow-related"],
        ["acl-add", "pg_web", "to-lport", "1001", "outport == @pg_web && ip4", "drop"],
        ["acl-add", "sw1", "from-lport", "1000", "ip4 && icmp4", "allow"],
        ["lb-add", "lb0", "10.0.0.100:80", "10.0.0.1:80,10.0.0.2:80", "tcp"],
        ["ls-lb-add", "sw1", "lb0"],
        ["lr-lb-add", "lr0", "lb0"],
        ["lr-nat-add", "lr0", "snat", "172.16.0.1", "10.0.0.0/24"],
        ["lr-route-add", "lr0", "0.0.0.0/0", "10.0.1.200"],
    ]
    for args in cmds:
        r = c.nbctl(*args)
        assert r.returncode == 0, (args, r.stderr)
    dhcp = c.nbctl("create", "DHCP_Options", "cidr=10.0.0.0/24",
                   'options="lease_time"="3600" "router"="10.0.0.254" '
                   '"server_id"="10.0.0.254" "server_mac"="c0:ff:ee:00:00:01"')
    assert dhcp.returncode == 0, dhcp.stderr
    r = c.nbctl("lsp-set-dhcpv4-options", "vm1", dhcp.stdout.strip())
    assert r.returncode == 0, r.stderr
    r = c.sync()
    assert r.returncode == 0, f"ovn-nbctl --wait=sb sync: {r.stderr}\n{c.logs('northd')}"


def query(c: Central, db: str, *ops: dict[str, Any]) -> list[Any]:
    name = "OVN_Northbound" if db == "nb" else "OVN_Southbound"
    r = c.client("query", json.dumps([name, *ops]), db=db)
    assert r.returncode == 0, r.stderr
    result: list[Any] = json.loads(r.stdout)
    return result


def select_all(table: str, columns: Iterable[str]) -> dict[str, Any]:
    return {"op": "select", "table": table, "where": [], "columns": ["_uuid", *columns]}


def atom_set(v: Any) -> list[Any]:
    """The elements of an OVSDB set in JSON wire form."""
    if isinstance(v, list) and v and v[0] == "set":
        return list(v[1])
    return [v]


def omap(v: Any) -> dict[str, str]:
    return dict(v[1]) if isinstance(v, list) and v and v[0] == "map" else {}


def sb_logical_flows(c: Central) -> Counter[tuple[Any, ...]]:
    """(datapaths by name, pipeline, table, priority, match, actions) of every Logical_Flow."""
    dps, groups, flows = query(
        c, "sb", select_all("Datapath_Binding", ["external_ids"]),
        select_all("Logical_DP_Group", ["datapaths"]),
        select_all("Logical_Flow", ["logical_datapath", "logical_dp_group", "pipeline",
                                    "table_id", "priority", "match", "actions"]))
    dp_name = {r["_uuid"][1]: omap(r["external_ids"]).get("name", "?") for r in dps["rows"]}
    group = {r["_uuid"][1]: frozenset(dp_name[u[1]] for u in atom_set(r["datapaths"]))
             for r in groups["rows"]}
    out: Counter[tuple[Any, ...]] = Counter()
    for f in flows["rows"]:
        names: frozenset[str] = frozenset()
        for u in atom_set(f["logical_datapath"]):
            if isinstance(u, list) and u[0] == "uuid":
                names |= {dp_name[u[1]]}
        for u in atom_set(f["logical_dp_group"]):
            if isinstance(u, list) and u[0] == "uuid":
                names |= group[u[1]]
        out[(tuple(sorted(names)), f["pipeline"], f["table_id"], f["priority"], f["match"],
             f["actions"])] += 1
    return out


def sb_summary(c: Central) -> dict[str, Any]:
    pbs, mcs = query(c, "sb", select_all("Port_Binding", ["logical_port", "type", "mac"]),
                     select_all("Multicast_Group", ["name"]))
    return {
        "ports": sorted((r["logical_port"], r["type"], json.dumps(r["mac"]))
                        for r in pbs["rows"]),
        "mcast": sorted(r["name"] for r in mcs["rows"]),
    }


def test_northd_fills_sb_with_the_same_logical_flows(real_northd: Central,
                                                     test_northd: Central) -> None:
    build_topology(test_northd)
    build_topology(real_northd)
    got, want = sb_logical_flows(test_northd), sb_logical_flows(real_northd)
    assert len(want) > 100
    assert set(got) - set(want) == set(), "flows northd produced only with the server under test"
    assert set(want) - set(got) == set(), "flows missing with the server under test"
    assert got == want
    assert sb_summary(test_northd) == sb_summary(real_northd)
    assert not test_northd.dead(), test_northd.logs("northd")


def test_nbctl_wait_sb(test_northd: Central) -> None:
    c = test_northd
    r = c.nbctl("--wait=sb", "--timeout=30", "ls-add", "wsw", timeout=45)
    assert r.returncode == 0, f"{r.stderr}\n{c.logs('northd')}"
    # northd has caught up, so the datapath is already in SB
    r = c.sbctl("--bare", "--columns=external_ids", "list", "Datapath_Binding")
    assert "name=wsw" in r.stdout
    r = c.sync()
    assert r.returncode == 0, r.stderr
    nb_cfg = c.nbctl("get", "NB_Global", ".", "nb_cfg").stdout.strip()
    assert int(nb_cfg) >= 2
    assert c.sbctl("get", "SB_Global", ".", "nb_cfg").stdout.strip() == nb_cfg
    assert c.nbctl("get", "NB_Global", ".", "sb_cfg").stdout.strip() == nb_cfg
    r = c.nbctl("--wait=sb", "--timeout=30", "lsp-add", "wsw", "wp1", timeout=45)
    assert r.returncode == 0, r.stderr
    r = c.sbctl("--bare", "--columns=logical_port", "list", "Port_Binding")
    assert r.stdout.split() == ["wp1"]


SBCTL_SCRIPT: list[tuple[list[str], str]] = [
    (["chassis-add", "hv1", "geneve", "127.0.0.1"], "exact"),
    (["chassis-add", "hv1", "geneve", "127.0.0.1"], "exact"),  # error: exists
    (["lsp-bind", "vm1", "hv1"], "exact"),
    (["lsp-bind", "nosuch", "hv1"], "exact"),  # error
    (["show"], "lines"),
    (["list", "Chassis"], "records"),
    (["list", "Encap"], "records"),
    (["--columns=logical_port,type,mac", "list", "Port_Binding"], "records"),
    (["--columns=external_ids", "list", "Datapath_Binding"], "records"),
    (["--bare", "--columns=name", "list", "Multicast_Group"], "lines"),
    (["find", "Port_Binding", "logical_port=vm1"], "records"),
    (["lsp-unbind", "vm1"], "exact"),
    (["chassis-del", "hv1"], "exact"),
    (["show"], "lines"),
]


def test_sbctl_matches_real(real_northd: Central, test_northd: Central) -> None:
    build_topology(test_northd)
    build_topology(real_northd)
    for args, how in SBCTL_SCRIPT:
        want = outcome(real_northd.sbctl(*args), how)
        got = outcome(test_northd.sbctl(*args), how)
        assert got == want, f"ovn-sbctl {' '.join(args)}\n{explain(want, got)}"
    show = test_northd.sbctl("show").stdout
    assert show.strip() == ""
