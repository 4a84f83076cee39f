"""The tracer on a small hand-written Southbound database (no OVN binaries needed)."""

from __future__ import annotations

from typing import Any

import pytest
from trace_harness import verdict

from pyovn.trace.main import main, parse_ct, parse_lb_dst, run_trace
from pyovn.trace.microflow import parse_microflow
from pyovn.trace.packet import Packet, flow_format
from pyovn.trace.sb import SB, load_sb, split_statements

LS, LR = "11111111-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"
RMAC = "00:00:00:00:ff:01"


def _uuid(n: int) -> list[str]:
    return ["uuid", f"{n:08x}-aaaa-bbbb-cccc-000000000000"]


def _map(d: dict[str, str]) -> list[Any]:
    return ["map", [[k, v] for k, v in d.items()]]


def _port(n: int, name: str, dp: str, key: int, type_: str = "", peer: str | None = None,
          ps: list[str] | None = None) -> dict[str, Any]:
    return {"_uuid": _uuid(n), "logical_port": name, "datapath": ["uuid", dp],
            "tunnel_key": key, "type": type_,
            "options": _map({"peer": peer} if peer else {}), "external_ids": _map({}),
            "port_security": ["set", ps or []]}


FLOWS: list[tuple[str, str, int, int, str, str]] = [
    # datapath, pipeline, table, priority, match, actions
    (LS, "ingress", 0, 50, "1", "reg0[15] = check_in_port_sec(); next;"),
    (LS, "ingress", 1, 50, "reg0[15] == 1", "drop;"),
    (LS, "ingress", 1, 0, "1", "next;"),
    (LS, "ingress", 2, 100, "ip4 && tcp.dst == 22", "ct_next;"),
    (LS, "ingress", 2, 0, "1", "next;"),
    (LS, "ingress", 3, 100, "ct.new && tcp.dst == 22", "drop; /* blocked */"),
    (LS, "ingress", 3, 0, "1", "next;"),
    (LS, "ingress", 4, 200, "this is not an expression", "next;"),
    (LS, "ingress", 4, 70, "eth.mcast", 'outport = "_MC_flood"; output;'),
    (LS, "ingress", 4, 50, "eth.dst == 00:00:00:00:00:02", 'outport = "p2"; output;'),
    (LS, "ingress", 4, 50, "eth.dst == 00:00:00:00:00:03", 'outport = "p3"; output;'),
    (LS, "ingress", 4, 50, f"eth.dst == {RMAC}", 'outport = "ls-lr"; output;'),
    (LS, "egress", 0, 0, "1", "output;"),
    (LR, "ingress", 0, 50, "ip4",
     'ip.ttl--; eth.src = 00:00:00:00:ff:01; outport = "lr-ls"; reg0 = ip4.dst; '
     "flags.loopback = 1; next;"),
    (LR, "ingress", 1, 50, "1", "get_arp(outport, reg0); next;"),
    (LR, "ingress", 2, 50, "1", "output;"),
    (LR, "egress", 0, 50, "1", "output;"),
]


def make_sb() -> SB:
    tables: dict[str, list[dict[str, Any]]] = {
        "Datapath_Binding": [
            {"_uuid": ["uuid", LS], "tunnel_key": 1, "external_ids": _map({"name": "ls"})},
            {"_uuid": ["uuid", LR], "tunnel_key": 2, "external_ids": _map({"name": "lr"})}],
        "Port_Binding": [
            _port(1, "p1", LS, 1, ps=["00:00:00:00:00:01 10.0.0.1"]),
            _port(2, "p2", LS, 2), _port(3, "p3", LS, 3),
            _port(4, "ls-lr", LS, 4, "patch", "lr-ls"),
            _port(5, "lr-ls", LR, 1, "patch", "ls-lr")],
        "Multicast_Group": [{"_uuid": _uuid(9), "datapath": ["uuid", LS], "name": "_MC_flood",
                             "tunnel_key": 32768,
                             "ports": ["set", [_uuid(3), _uuid(1), _uuid(2)]]}],
        "Logical_Flow": [
            {"_uuid": _uuid(100 + i), "logical_datapath": ["uuid", dp], "pipeline": pl,
             "table_id": t, "priority": prio, "match": m, "actions": a,
             "external_ids": _map({"stage-name": f"{pl[:3]}_t{t}"})}
            for i, (dp, pl, t, prio, m, a) in enumerate(FLOWS)],
        "MAC_Binding": [{"_uuid": _uuid(50), "logical_port": "lr-ls", "ip": "10.0.0.3",
                         "mac": "00:00:00:00:00:03", "datapath": ["uuid", LR]}],
    }
    return load_sb(tables)


P1 = 'inport == "p1" && eth.src == 00:00:00:00:00:01'


def minimal(sb: SB, flow: str, ct: list[int] | None = None, dp: str = "ls") -> str:
    out = run_trace(sb, dp, flow, detailed=False, minimal_=True, ct=ct or [])
    return out.split("\n", 1)[1]


def test_unicast_and_broadcast() -> None:
    sb = make_sb()
    assert minimal(sb, P1 + " && eth.dst == 00:00:00:00:00:02") == 'output("p2");\n'
    # The group's members in name order; the ingress port itself is skipped.
    out = run_trace(sb, "ls", P1 + " && eth.dst == ff:ff:ff:ff:ff:ff", minimal_=True)
    assert verdict(out.split("# Minimal trace.\n")[1]) == ("p2", "p3")
    assert "/* omitting output because inport == outport && !flags.loopback */" in out
    assert 'multicast(dp="ls", mcgroup="_MC_flood")' in out


def test_port_security_violation_drops() -> None:
    sb = make_sb()
    assert minimal(sb, 'inport == "p1" && eth.src == 00:00:00:00:00:09 && '
                       "eth.dst == 00:00:00:00:00:02") == ""
    assert minimal(sb, P1 + " && eth.dst == 00:00:00:00:00:02 && ip4.src == 10.9.9.9 && "
                            "ip4.dst == 10.0.0.2") == ""
    # p2 has no port security at all.
    assert minimal(sb, 'inport == "p2" && eth.src == 00:00:00:00:00:09 && '
                       "eth.dst == 00:00:00:00:00:03") == 'output("p3");\n'


def test_ct_states_are_consumed_in_order() -> None:
    sb = make_sb()
    ssh = P1 + " && eth.dst == 00:00:00:00:00:02 && ip4.src == 10.0.0.1 && " \
               "ip4.dst == 10.0.0.2 && tcp.dst == 22"
    assert minimal(sb, ssh, [parse_ct("new")]) == "ct_next(ct_state=new|trk);\n"
    assert minimal(sb, ssh) == ("ct_next(ct_state=est|trk /* default (use --ct to customize) "
                                '*/) {\n    output("p2");\n};\n')
    assert parse_ct("est,rpl") == 0b101010


def test_routed_through_patch_ports_with_mac_binding() -> None:
    sb = make_sb()
    flow = P1 + f" && eth.dst == {RMAC} && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.3 && " \
                "ip.ttl == 64 && udp.dst == 53"
    assert minimal(sb, flow) == ("ip.ttl--;\neth.src = 00:00:00:00:ff:01;\n"
                                 "eth.dst = 00:00:00:00:00:03;\n"
                                 'output("p3");\n')
    detailed = run_trace(sb, "ls", flow)
    assert 'ingress(dp="lr", inport="lr-ls")' in detailed
    assert "/* MAC binding to 00:00:00:00:00:03. */" in detailed
    # Unknown neighbour: no binding, the packet goes back with eth.dst 0 and is lost.
    miss = flow.replace("10.0.0.3", "10.0.0.7")
    assert "No MAC binding" in run_trace(sb, "ls", miss)
    assert verdict(minimal(sb, miss)) == ()
    assert "*** TTL underflow" in minimal(sb, flow.replace("ip.ttl == 64", "ip.ttl == 0"))


def test_unparsable_flow_is_skipped_with_a_warning() -> None:
    sb = make_sb()
    minimal(sb, P1 + " && eth.dst == 00:00:00:00:00:02")
    assert any("this is not an expression" in w for w in sb.warnings)


@pytest.mark.parametrize(("dp", "flow", "expect"), [
    ("nosuch", 'inport == "p1"', 'unknown datapath "nosuch"\n'),
    ("ls", 'inport == "p1" && ip4 && ip6', "error parsing flow: Constraints are contradictory.\n"),
    ("ls", 'inport == "p1" && tcp.dst == 80',
     "error parsing flow: Constraints are ambiguous: inport == \"p1\" && tcp.dst == 80.\n"),
    ("ls", 'inport == "p1" && ip4.src == ', "error parsing flow: Syntax error at end of input "
                                            "expecting constant.\n"),
    ("ls", 'inport == "lr-ls"', 'error parsing flow: port "lr-ls" is not in datapath "ls" '
                                '(it is in "lr")\n'),
    ("ls", "eth.type == 0x1234", "microflow does not specify ingress port\n"),
    (None, 'inport == "nosuch"', 'unknown port "nosuch"\n'),
])
def test_bad_microflows(dp: str | None, flow: str, expect: str) -> None:
    assert run_trace(make_sb(), dp, flow) == expect


def test_datapath_inferred_from_inport() -> None:
    out = run_trace(make_sb(), None, 'inport == "p2" && eth.dst == 00:00:00:00:00:03',
                    minimal_=True, detailed=False)
    assert out.endswith('output("p3");\n')


def test_packet_layout_and_header() -> None:
    sb = make_sb()
    pkt = parse_microflow(sb, sb.datapaths[LS], P1 + " && eth.dst == ff:ff:ff:ff:ff:ff && "
                          "arp.op == 1 && arp.spa == 10.0.0.1 && arp.tpa == 10.0.0.2")
    assert pkt.get("nw_src") == pkt.get("arp_spa") == 0x0A000001
    assert pkt.get("arp_op") == pkt.get("nw_proto") == 1
    assert flow_format(pkt) == (
        "arp,reg14=0x1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,"
        "arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=00:00:00:00:00:00,"
        "arp_tha=00:00:00:00:00:00")
    p = Packet()
    p.write_bits("xxreg0", 96, 32, 0xDEADBEEF)  # reg0 is the top word of xxreg0
    assert p["reg0"] == 0xDEADBEEF and p.read("xxreg0") == 0xDEADBEEF << 96
    p.write_bits("reg0", 4, 4, 0x0, None)
    assert p["reg0"] == 0xDEADBE0F


def test_split_statements() -> None:
    assert split_statements('icmp4 {eth.dst <-> eth.src; /* c */ output; }; next; drop;') == \
        ["icmp4 { eth.dst <-> eth.src; output; }", "next"]
    assert split_statements('outport = "a;b"; next(pipeline=egress,table=5);') == \
        ['outport = "a;b"', "next(pipeline=egress, table=5)"]
    assert split_statements("reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, dns_server = "
                            "{8.8.8.8, 1.1.1.1});") == \
        ["reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, dns_server = {8.8.8.8, 1.1.1.1})"]


def test_option_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ct=bogus", "ls", "1"]) == 1
    assert "bogus: unknown connection tracking state flag" in capsys.readouterr().err
    assert main(["--ovs", "ls", "1"]) == 1
    assert "--ovs is not supported" in capsys.readouterr().err
    assert main(["only", "too", "many"]) == 1
    assert main(["--help"]) == 0
    assert "MICROFLOW" in capsys.readouterr().out
    assert parse_lb_dst("[fd00::5]:80") == (6, int("fd00000000000000000000000000" "0005", 16),
                                            80)
