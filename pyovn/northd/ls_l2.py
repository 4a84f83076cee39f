"""Logical switch L2: admission and port security (ls_in_check_port_sec/apply_port_sec and the
egress pair), MAC learning for ports with unknown addresses (lookup_fdb/put_fdb), destination
lookup (ls_in_l2_lkup) and unknown destinations (ls_in_l2_unknown).

In OVN 23.03 the L2/L3 port security rules themselves are applied by ovn-controller from
Port_Binding.port_security (check_in_port_sec()/check_out_port_sec()); northd only copies
the column and builds the check/apply flows here.

`build_*` make a switch's own flows, `port_*` one port's (see units.py for why they are
apart).
"""

from __future__ import annotations

from pyovn.northd.model import Switch, SwitchPort, SwitchWide
from pyovn.northd.stages import MC_FLOOD, MC_FLOOD_L2, MC_UNKNOWN, FlowSink, Stage

S = Stage


def build_port_security(w: SwitchWide, f: FlowSink) -> None:
    f.add(S.LS_IN_CHECK_PORT_SEC, 100, "eth.src[40]", "drop;")
    if not w.vlan_passthru:
        f.add(S.LS_IN_CHECK_PORT_SEC, 100, "vlan.present", "drop;")
    f.add(S.LS_IN_CHECK_PORT_SEC, 50, "1", "reg0[15] = check_in_port_sec(); next;")
    f.add(S.LS_IN_APPLY_PORT_SEC, 50, "reg0[15] == 1", "drop;")
    f.add(S.LS_IN_APPLY_PORT_SEC, 0, "1", "next;")
    f.add(S.LS_OUT_CHECK_PORT_SEC, 100, "eth.mcast", "reg0[15] = 0; next;")
    f.add(S.LS_OUT_CHECK_PORT_SEC, 0, "1", "reg0[15] = check_out_port_sec(); next;")
    f.add(S.LS_OUT_APPLY_PORT_SEC, 50, "reg0[15] == 1", "drop;")
    f.add(S.LS_OUT_APPLY_PORT_SEC, 0, "1", "output;")


def port_security(p: SwitchPort, f: FlowSink) -> None:
    if not p.enabled:
        f.add(S.LS_IN_CHECK_PORT_SEC, 100, f'inport == "{p.name}"', "reg0[15] = 1; next;")
    elif "qdisc_queue_id" in p.options and p.type != "localnet":
        q = p.options["qdisc_queue_id"]
        f.add(S.LS_IN_CHECK_PORT_SEC, 70, f'inport == "{p.name}"',
              f"set_queue({q}); reg0[15] = check_in_port_sec(); next;")
    if p.type == "localnet" and "qdisc_queue_id" in p.options:
        f.add(S.LS_OUT_APPLY_PORT_SEC, 100, f'outport == "{p.name}"',
              f"set_queue({p.options['qdisc_queue_id']}); output;")


def build_fdb(f: FlowSink) -> None:
    f.add(S.LS_IN_LOOKUP_FDB, 0, "1", "next;")
    f.add(S.LS_IN_PUT_FDB, 0, "1", "next;")


def port_fdb(p: SwitchPort, f: FlowSink) -> None:
    if p.is_vif and p.enabled and p.has_unknown and not p.port_security:
        f.add(S.LS_IN_LOOKUP_FDB, 100, f'inport == "{p.name}"',
              "reg0[11] = lookup_fdb(inport, eth.src); next;")
        f.add(S.LS_IN_PUT_FDB, 100, f'inport == "{p.name}" && reg0[11] == 0',
              "put_fdb(inport, eth.src); next;")


def build_l2_lookup(w: SwitchWide, f: FlowSink) -> None:
    f.add(S.LS_IN_L2_LKUP, 110, "eth.dst == $svc_monitor_mac && (tcp || icmp || icmp6)",
          "handle_svc_check(inport);")
    if w.router_macs:
        f.add(S.LS_IN_L2_LKUP, 75, f"eth.src == {{{', '.join(w.router_macs)}}} && "
              "(arp.op == 1 || rarp.op == 3 || nd_ns)",
              f'outport = "{MC_FLOOD_L2[0]}"; output;')
    f.add(S.LS_IN_L2_LKUP, 70, "eth.mcast", f'outport = "{MC_FLOOD[0]}"; output;')
    f.add(S.LS_IN_L2_LKUP, 0, "1", "outport = get_fdb(eth.dst); next;")
    if w.any_unknown:
        f.add(S.LS_IN_L2_UNKNOWN, 50, 'outport == "none"',
              f'outport = "{MC_UNKNOWN[0]}"; output;')
    else:
        f.add(S.LS_IN_L2_UNKNOWN, 50, 'outport == "none"', "drop;")
    f.add(S.LS_IN_L2_UNKNOWN, 0, "1", "output;")


def port_l2_lookup(p: SwitchPort, f: FlowSink) -> None:
    rp = p.router_port
    if p.is_router and rp is not None and p.enabled:
        # ARP/ND for an address the router owns: to the router, and to the other ports
        # (so that they can learn), never back into other routers.
        action = f'clone {{outport = "{p.name}"; output; }}; outport = "{MC_FLOOD_L2[0]}"; output;'
        for a4 in rp.networks.ip4:
            f.add(S.LS_IN_L2_LKUP, 80, f"flags[1] == 0 && arp.op == 1 && arp.tpa == {a4.addr}",
                  action)
        for a6 in rp.networks.ip6:
            f.add(S.LS_IN_L2_LKUP, 80, f"flags[1] == 0 && nd_ns && nd.target == {a6.addr}",
                  action)
    if not (p.is_router and rp is None):
        for la in p.addresses:
            action = f'outport = "{p.name}"; output;' if p.enabled else "drop;"
            f.add(S.LS_IN_L2_LKUP, 50, f"eth.dst == {la.mac}", action)
    if not p.enabled:
        f.add(S.LS_IN_L2_UNKNOWN, 50, f'outport == "{p.name}"', "drop;")


def build_passthrough(f: FlowSink) -> None:
    """Stages whose features (QoS, load balancers, hairpin, external ports) come later:
    only their priority-0 "next;"."""
    for st in (S.LS_IN_QOS_MARK, S.LS_IN_QOS_METER, S.LS_IN_LB_AFF_CHECK, S.LS_IN_LB,
               S.LS_IN_LB_AFF_LEARN, S.LS_IN_PRE_HAIRPIN, S.LS_IN_NAT_HAIRPIN,
               S.LS_IN_HAIRPIN, S.LS_IN_EXTERNAL_PORT, S.LS_OUT_QOS_MARK,
               S.LS_OUT_QOS_METER):
        f.add(st, 0, "1", "next;")


def multicast_groups(sw: Switch) -> dict[str, tuple[int, tuple[str, ...]]]:
    """_MC_flood: every enabled port; _MC_flood_l2: the non-router ones; _MC_unknown:
    enabled ports with "unknown" addresses (omitted when empty)."""
    flood = sorted(p.name for p in sw.ports if p.enabled)
    flood_l2 = sorted(p.name for p in sw.ports if p.enabled and not p.is_router)
    unknown = sorted(p.name for p in sw.ports if p.enabled and p.has_unknown)
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    if flood:
        out[MC_FLOOD[0]] = (MC_FLOOD[1], tuple(flood))
    if flood_l2:
        out[MC_FLOOD_L2[0]] = (MC_FLOOD_L2[1], tuple(flood_l2))
    if unknown:
        out[MC_UNKNOWN[0]] = (MC_UNKNOWN[1], tuple(unknown))
    return out
