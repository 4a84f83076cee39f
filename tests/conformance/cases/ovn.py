"""Cases on the real OVN Northbound and Southbound schemas."""

from __future__ import annotations

from .common import Case, Script, delete, ins, mutate, named, omap, oset, select, update
from .monitor import monitor

NB = ("nb",)
SB = ("sb",)


def _nb_cases() -> list[Case]:
    cases: list[Case] = []

    s = Script("nb-switch-with-ports", dbs=NB)
    s.tx(ins("Logical_Switch_Port", {"name": "lp1",
                                     "addresses": oset("00:00:00:00:00:01 10.0.0.1")}, "p1"),
         ins("Logical_Switch_Port", {"name": "lp2", "type": "router",
                                     "options": omap(("router-port", "lrp1"))}, "p2"),
         ins("Logical_Switch", {"name": "ls1", "ports": oset(named("p1"), named("p2")),
                                "other_config": omap(("subnet", "10.0.0.0/24"))}))
    s.tx(select("Logical_Switch", [], ["name", "ports", "other_config"]),
         select("Logical_Switch_Port", [], ["name", "type", "addresses", "options", "enabled"]))
    s.tx(delete("Logical_Switch", []))
    s.tx(select("Logical_Switch_Port", [], ["name"]))
    cases.append(s.case())

    s = Script("nb-port-orphan-gc", dbs=NB)
    s.tx(ins("Logical_Switch_Port", {"name": "orphan"}))
    s.tx(select("Logical_Switch_Port", [], ["name"]))
    cases.append(s.case())

    s = Script("nb-lsp-name-index", dbs=NB)
    s.tx(ins("Logical_Switch_Port", {"name": "dup"}, "a"),
         ins("Logical_Switch_Port", {"name": "dup"}, "b"),
         ins("Logical_Switch", {"name": "ls", "ports": oset(named("a"), named("b"))}))
    cases.append(s.case())

    s = Script("nb-global-maxrows", dbs=NB)
    s.tx(ins("NB_Global", {}))
    s.tx(ins("NB_Global", {}))
    s.tx(mutate("NB_Global", [], [["nb_cfg", "+=", 1]]), select("NB_Global", [], ["nb_cfg"]))
    cases.append(s.case())

    s = Script("nb-acl-constraints", dbs=NB)
    s.tx(ins("ACL", {"priority": 1001, "direction": "from-lport", "match": "ip4",
                     "action": "allow-related"}, "acl"),
         ins("Logical_Switch", {"name": "ls", "acls": named("acl")}))
    s.tx(ins("ACL", {"priority": 40000, "direction": "from-lport", "match": "ip4",
                     "action": "allow"}))
    s.tx(ins("ACL", {"priority": 1, "direction": "sideways", "match": "ip4",
                     "action": "allow"}))
    s.tx(ins("ACL", {"priority": 1, "direction": "to-lport", "match": "ip4",
                     "action": "teleport"}))
    s.tx(select("ACL", [], ["priority", "direction", "action", "match", "log", "severity"]))
    cases.append(s.case())

    s = Script("nb-router-and-nat", dbs=NB)
    s.tx(ins("Logical_Router_Port", {"name": "lrp1", "mac": "00:00:00:00:ff:01",
                                     "networks": oset("10.0.0.254/24")}, "lrp"),
         ins("NAT", {"type": "snat", "external_ip": "172.16.0.1", "logical_ip": "10.0.0.0/24"},
             "nat"),
         ins("Logical_Router", {"name": "lr", "ports": named("lrp"), "nat": named("nat")}))
    s.tx(update("Logical_Router", [["name", "==", "lr"]], {"enabled": False}),
         select("Logical_Router", [], ["name", "enabled", "ports", "nat"]),
         select("NAT", [], ["type", "external_ip", "logical_ip"]))
    s.tx(ins("NAT", {"type": "bogus", "external_ip": "1.1.1.1", "logical_ip": "2.2.2.2"}))
    cases.append(s.case())

    s = Script("nb-monitor-like-northd", dbs=NB, clients=2)
    monitor(s, 0, "monitor_cond", "nb", {
        "NB_Global": {"columns": ["nb_cfg", "options"]},
        "Logical_Switch": {"columns": ["name", "ports", "acls"]},
        "Logical_Switch_Port": {"columns": ["name", "addresses", "up"]},
    })
    s.tx(ins("NB_Global", {"options": omap(("northd_probe_interval", "5000"))}), c=1)
    s.recv(0)
    s.tx(ins("Logical_Switch_Port", {"name": "p"}, "p"),
         ins("Logical_Switch", {"name": "ls", "ports": named("p")}), c=1)
    s.recv(0)
    s.tx(update("Logical_Switch_Port", [["name", "==", "p"]], {"up": True,
                                                               "addresses": oset("dynamic")}),
         mutate("NB_Global", [], [["nb_cfg", "+=", 1]]), c=1)
    s.recv(0)
    s.tx(delete("Logical_Switch", []), c=1)
    s.recv(0)
    cases.append(s.case())

    s = Script("nb-load-balancer-maps", dbs=NB)
    s.tx(ins("Load_Balancer", {"name": "lb", "vips": omap(("10.0.0.10:80",
                                                            "10.0.0.2:80,10.0.0.3:80")),
                               "protocol": "tcp"}))
    s.tx(mutate("Load_Balancer", [], [["vips", "insert", omap(("10.0.0.11:80", "10.0.0.4:80"))],
                                      ["vips", "delete", oset("10.0.0.10:80")]]),
         select("Load_Balancer", [], ["name", "vips", "protocol"]))
    s.tx(update("Load_Balancer", [], {"protocol": "icmp"}))
    cases.append(s.case())
    return cases


def _sb_cases() -> list[Case]:
    cases: list[Case] = []
    s = Script("sb-chassis-encaps", dbs=SB)
    s.tx(ins("Encap", {"type": "geneve", "ip": "192.168.0.1", "chassis_name": "hv1",
                       "options": omap(("csum", "true"))}, "e"),
         ins("Chassis", {"name": "hv1", "hostname": "hv1", "encaps": named("e")}))
    s.tx(select("Chassis", [], ["name", "hostname", "encaps"]),
         select("Encap", [], ["type", "ip", "chassis_name"]))
    s.tx(ins("Chassis", {"name": "hv1"}))
    s.tx(ins("Encap", {"type": "vxlan", "ip": "192.168.0.1", "chassis_name": "hv1"}, "e2"),
         ins("Chassis", {"name": "hv2", "encaps": named("e2")}))
    cases.append(s.case())

    s = Script("sb-datapath-and-port-binding", dbs=SB)
    s.tx(ins("Datapath_Binding", {"tunnel_key": 1, "external_ids": omap(("name", "ls"))}, "dp"),
         ins("Port_Binding", {"logical_port": "lp", "datapath": named("dp"), "tunnel_key": 1}))
    s.tx(ins("Datapath_Binding", {"tunnel_key": 1}))
    s.tx(ins("Datapath_Binding", {"tunnel_key": 0}))
    s.tx(delete("Datapath_Binding", []))
    s.tx(select("Port_Binding", [], ["logical_port", "tunnel_key"]))
    cases.append(s.case())

    s = Script("sb-logical-flows-monitor-cond", dbs=SB, clients=2)
    s.tx(ins("Datapath_Binding", {"tunnel_key": 1}, "d1"),
         ins("Datapath_Binding", {"tunnel_key": 2}, "d2"),
         ins("Logical_Flow", {"logical_datapath": named("d1"), "pipeline": "ingress",
                              "table_id": 0, "priority": 100, "match": "1", "actions": "next;"}),
         ins("Logical_Flow", {"logical_datapath": named("d2"), "pipeline": "egress",
                              "table_id": 1, "priority": 0, "match": "1", "actions": "drop;"}),
         c=1)
    monitor(s, 0, "monitor_cond_since", "sb", {"Logical_Flow": {
        "columns": ["pipeline", "table_id", "priority", "match", "actions"],
        "where": [["pipeline", "==", "ingress"]]}})
    s.tx(update("Logical_Flow", [["pipeline", "==", "egress"]], {"pipeline": "ingress"}), c=1)
    s.recv(0)
    s.call(0, "monitor_cond_change", "sb", "sb", {"Logical_Flow": [
        {"where": [["table_id", ">", 0]]}]})
    s.tx(delete("Datapath_Binding", [["tunnel_key", "==", 1]]), c=1)
    s.recv(0)
    cases.append(s.case())

    s = Script("sb-mac-binding-and-dns", dbs=SB)
    s.tx(ins("Datapath_Binding", {"tunnel_key": 5}, "dp"),
         ins("MAC_Binding", {"logical_port": "lp", "ip": "10.0.0.5", "mac": "00:00:00:00:00:05",
                             "datapath": named("dp")}))
    s.tx(select("MAC_Binding", [], ["logical_port", "ip", "mac"]))
    s.tx(ins("DNS", {"records": omap(("vm1", "10.0.0.5")), "datapaths": named("dp"),
                     "external_ids": omap(("dns_id", "x"))}))
    cases.append(s.case())
    return cases


CASES: list[Case] = _nb_cases() + _sb_cases()
