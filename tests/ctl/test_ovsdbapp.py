"""The OVSDB library clouds use (OpenStack's ovsdbapp, with python-ovs's IDL underneath) against
`pyovn ovsdb-server` serving OVN_Northbound: create switches, ports, ACLs, port groups and
routers through its northbound API, read them back through it, and check with pyovn nbctl."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.ctl.golden import Servers

ovsdbapp = pytest.importorskip("ovsdbapp")


@pytest.fixture
def nb() -> Iterator[str]:
    servers = Servers("pyovn", northd=False)
    try:
        yield servers.nb
    finally:
        servers.stop()


@pytest.mark.timeout(120)
def test_ovsdbapp_northbound_api_against_pyovn_server(nb: str) -> None:
    from ovsdbapp.backend.ovs_idl import connection, idlutils
    from ovsdbapp.schema.ovn_northbound import impl_idl

    helper = idlutils.get_schema_helper(nb, "OVN_Northbound")
    helper.register_all()
    idl = connection.OvsdbIdl(nb, helper)
    conn = connection.Connection(idl, timeout=30)
    api = impl_idl.OvnNbApiIdlImpl(conn)
    try:
        with api.transaction(check_error=True) as txn:
            txn.add(api.ls_add("net1", external_ids={"neutron:network_name": "n1"}))
            txn.add(api.lsp_add("net1", "vm1", addresses=["00:00:00:00:00:01 10.0.0.1"]))
            txn.add(api.lsp_add("net1", "vm2", addresses=["00:00:00:00:00:02 10.0.0.2"]))
        api.acl_add("net1", "to-lport", 1001, "ip4 && tcp.dst == 22", "allow-related",
                    log=True, name="ssh").execute(check_error=True)
        vm1 = api.lsp_get("vm1").execute(check_error=True)
        api.pg_add("pg_web", ports=[vm1.uuid]).execute(check_error=True)
        api.pg_acl_add("pg_web", "from-lport", 1002, "inport == @pg_web && ip4",
                       "drop").execute(check_error=True)
        with api.transaction(check_error=True) as txn:
            txn.add(api.lr_add("router1"))
            txn.add(api.lrp_add("router1", "rp1", "00:00:00:00:01:01", ["10.0.0.254/24"]))
        # (python-ovs cannot read columns of a row inserted in the same transaction, so
        # routes and NAT go in a second one.)
        with api.transaction(check_error=True) as txn:
            txn.add(api.lr_route_add("router1", "0.0.0.0/0", "10.0.0.1"))
            txn.add(api.lr_nat_add("router1", "snat", "172.16.0.1", "10.0.0.0/24"))

        assert [s.name for s in api.ls_list().execute(check_error=True)] == ["net1"]
        ports = api.lsp_list("net1").execute(check_error=True)
        assert sorted(p.name for p in ports) == ["vm1", "vm2"]
        acls = api.acl_list("net1").execute(check_error=True)
        assert [(a.priority, a.match, a.action, a.name) for a in acls] == \
            [(1001, "ip4 && tcp.dst == 22", "allow-related", ["ssh"])]
        pg = api.pg_get("pg_web").execute(check_error=True)
        assert [p.name for p in pg.ports] == ["vm1"]
        assert [a.action for a in api.pg_acl_list("pg_web").execute(check_error=True)] == ["drop"]
        assert [r.name for r in api.lr_list().execute(check_error=True)] == ["router1"]
        assert [p.name for p in api.lrp_list("router1").execute(check_error=True)] == ["rp1"]
        routes = api.lr_route_list("router1").execute(check_error=True)
        assert [(r.ip_prefix, r.nexthop) for r in routes] == [("0.0.0.0/0", "10.0.0.1")]
    finally:
        conn.stop()

    # The same state, seen by pyovn's own tool.
    out = subprocess.run([sys.executable, "-m", "pyovn", "nbctl", f"--db={nb}", "acl-list",
                          "pg_web", "--", "lsp-list", "net1", "--", "lr-nat-list", "router1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "from-lport  1002 (inport == @pg_web && ip4) drop"
    assert [line.split()[1] for line in lines[1:3]] == ["(vm1)", "(vm2)"]
    assert lines[4].split() == ["snat", "172.16.0.1", "10.0.0.0/24"]
