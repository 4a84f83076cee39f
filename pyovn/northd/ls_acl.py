"""Logical switch ACLs: ls_{in,out}_pre_acl, pre_lb, pre_stateful, acl_hint, acl,
acl_after_lb and stateful (ovn-northd(8) ingress tables 4-8, 17, 18, egress 0-4, 7).

Registers (OVN 23.03's REGBIT_*): reg0[0] conntrack hint, reg0[1] commit, reg0[2] ct_lb
hint, reg0[7..10] ACL hints (new, established, drop, block), reg0[13] label, reg0[16]
stateless, reg0[17] allow established/related; reg3 the ACL label.

A switch is stateful when an ACL that reaches it (its own or a port group's) is
allow-related; then every ACL decision is made on connections, and "allow" acts as
"allow-related".
"""

from __future__ import annotations

from pyovn.northd.model import Acl, SwitchWide
from pyovn.northd.stages import FlowSink, Stage

S = Stage
ND = "nd || nd_rs || nd_ra || mldv1 || mldv2"
ND_ACL = "nd || nd_ra || nd_rs || mldv1 || mldv2"
DHCPV6_REQ = "(udp && udp.src == 546 && udp.dst == 547)"
# Ingress ACLs that reject send the reply through the egress pipeline from QoS marking;
# egress ones from the ingress L2 lookup.
REJECT_NEXT = {"ingress": f"next(pipeline=egress,table={S.LS_OUT_QOS_MARK.table})",
               "egress": f"next(pipeline=ingress,table={S.LS_IN_L2_LKUP.table})"}


def build_pre_acl_lb(w: SwitchWide, f: FlowSink) -> None:
    stateful = w.stateful
    f.add(S.LS_IN_PRE_ACL, 110, "eth.dst == $svc_monitor_mac", "next;")
    f.add(S.LS_OUT_PRE_ACL, 110, "eth.src == $svc_monitor_mac", "next;")
    if stateful:
        # Router and localnet ports' traffic skips conntrack.
        for name in w.special_ports:
            f.add(S.LS_IN_PRE_ACL, 110, f'ip && inport == "{name}"', "next;")
            f.add(S.LS_OUT_PRE_ACL, 110, f'ip && outport == "{name}"', "next;")
        for st in (S.LS_IN_PRE_ACL, S.LS_OUT_PRE_ACL):
            f.add(st, 110, "eth.mcast", "next;")
            f.add(st, 110, f"{ND} || {DHCPV6_REQ}", "next;")
            f.add(st, 100, "ip", "reg0[0] = 1; next;")
        for a in w.acls:
            if a.action == "allow-stateless":
                st = S.LS_IN_PRE_ACL if a.direction == "from-lport" else S.LS_OUT_PRE_ACL
                f.add(st, a.priority + 1000, a.match, "reg0[16] = 1; next;")
    f.add(S.LS_IN_PRE_ACL, 0, "1", "next;")
    f.add(S.LS_OUT_PRE_ACL, 0, "1", "next;")

    # Pre-LB: load balancers come later; the bypass flows are there regardless.
    f.add(S.LS_IN_PRE_LB, 110, "eth.dst == $svc_monitor_mac", "next;")
    f.add(S.LS_OUT_PRE_LB, 110, "eth.src == $svc_monitor_mac", "next;")
    for st in (S.LS_IN_PRE_LB, S.LS_OUT_PRE_LB):
        f.add(st, 110, "eth.mcast", "next;")
        f.add(st, 110, ND, "next;")
        f.add(st, 110, "reg0[16] == 1", "next;")
        f.add(st, 0, "1", "next;")
    for name in w.special_ports:
        f.add(S.LS_IN_PRE_LB, 110, f'ip && inport == "{name}"', "next;")
        f.add(S.LS_OUT_PRE_LB, 110, f'ip && outport == "{name}"',
              "next;" if stateful else "ct_clear; next;")

    for st in (S.LS_IN_PRE_STATEFUL, S.LS_OUT_PRE_STATEFUL):
        f.add(st, 110, "reg0[2] == 1", "ct_lb_mark;")
        f.add(st, 100, "reg0[0] == 1", "ct_next;")
        f.add(st, 0, "1", "next;")


_HINTS = (
    (7, "ct.new && !ct.est", "reg0[7] = 1; reg0[9] = 1; next;"),
    (6, "!ct.new && ct.est && !ct.rpl && ct_mark.blocked == 1",
     "reg0[7] = 1; reg0[9] = 1; next;"),
    (5, "!ct.trk", "reg0[8] = 1; reg0[9] = 1; next;"),
    (4, "!ct.new && ct.est && !ct.rpl && ct_mark.blocked == 0",
     "reg0[8] = 1; reg0[10] = 1; next;"),
    (3, "!ct.est", "reg0[9] = 1; next;"),
    (2, "ct.est && ct_mark.blocked == 1", "reg0[9] = 1; next;"),
    (1, "ct.est && ct_mark.blocked == 0", "reg0[10] = 1; next;"),
)


def _log(a: Acl, verdict: str) -> str:
    if not a.log:
        return ""
    parts = []
    if a.name:
        parts.append(f'name="{a.name}"')
    parts.append(f"severity={a.severity or 'info'}")
    parts.append(f"verdict={verdict}")
    if a.meter:
        parts.append(f'meter="{a.meter}"')
    return f"log({', '.join(parts)}); "


def _reject(pipeline: str) -> str:
    return ("reg0 = 0; reject { /* eth.dst <-> eth.src; ip.dst <-> ip.src; is implicit. */ "
            f"outport <-> inport; {REJECT_NEXT[pipeline]}; }};")


def _acl_flows(a: Acl, stateful: bool, f: FlowSink) -> None:
    ingress = a.direction == "from-lport"
    st = S.LS_IN_ACL if ingress else S.LS_OUT_ACL
    pipeline = "ingress" if ingress else "egress"
    prio = a.priority + 1000
    m = a.match
    action = a.action
    if action == "allow-stateless" or (action == "allow" and not stateful):
        f.add(st, prio, m, f"{_log(a, 'allow')}next;")
        return
    if action in ("allow", "allow-related"):
        label = f"reg0[13] = 1; reg3 = {a.label}; " if a.label else ""
        logs = _log(a, "allow")
        f.add(st, prio, f"reg0[7] == 1 && ({m})", f"reg0[1] = 1; {label}{logs}next;")
        if label:
            f.add(st, prio, f"reg0[8] == 1 && ({m})", f"reg0[1] = 1; {label}{logs}next;")
        else:
            f.add(st, prio, f"reg0[8] == 1 && ({m})", f"{logs}next;")
        return
    if action in ("drop", "reject"):
        verdict = action
        logs = _log(a, verdict)
        if action == "reject":
            tail = _reject(pipeline)
            if stateful:
                # As OVN 23.03 writes it: the hint is ANDed only with the ACL match's
                # first disjunct when the match has a top-level "||".
                # (and with two spaces after the commit, as it prints it).
                f.add(st, prio, f"(reg0[10] == 1) && {m}",
                      f"ct_commit {{ ct_mark.blocked = 1; }};  {logs}{tail}")
                f.add(st, prio, f"(reg0[9] == 1) && {m}", f"{logs}{tail}")
            else:
                f.add(st, prio, m, f"{logs}{tail}")
            return
        if stateful:
            f.add(st, prio, f"reg0[10] == 1 && ({m})",
                  f"ct_commit {{ ct_mark.blocked = 1; }}; {logs}/* drop */")
            f.add(st, prio, f"reg0[9] == 1 && ({m})", f"{logs}/* drop */")
        else:
            f.add(st, prio, m, f"{logs}/* drop */")


def build_acls(w: SwitchWide, f: FlowSink) -> None:
    stateful = w.stateful
    has_acls = w.has_acls
    for st, hint in ((S.LS_IN_ACL, S.LS_IN_ACL_HINT), (S.LS_OUT_ACL, S.LS_OUT_ACL_HINT)):
        f.add(st, 65532, ND_ACL, "next;")
        if not has_acls:
            f.add(hint, 65535, "1", "next;")
            f.add(st, 65535, "1", "next;")
            continue
        f.add(hint, 0, "1", "next;")
        f.add(st, 0, "1", "next;")
        if stateful:
            for prio, m, act in _HINTS:
                f.add(hint, prio, m, act)
    if has_acls:
        f.add(S.LS_IN_ACL, 34000, "eth.dst == $svc_monitor_mac", "next;")
        f.add(S.LS_OUT_ACL, 34000, "eth.src == $svc_monitor_mac", "next;")
    if stateful:
        rel = "!ct.est && ct.rel && !ct.new && !ct.inv && ct_mark.blocked == 0"
        est = "ct.est && !ct.rel && !ct.new && !ct.inv && ct.rpl && ct_mark.blocked == 0"
        inv = "ct.inv || (ct.est && ct.rpl && ct_mark.blocked == 1)"
        f.add(S.LS_IN_ACL, 65532, rel, "reg0[17] = 1; ct_commit_nat;")
        f.add(S.LS_OUT_ACL, 65532, rel, "ct_commit_nat;")
        f.add(S.LS_IN_ACL, 65532, est, "reg0[9] = 0; reg0[10] = 0; reg0[17] = 1; next;")
        f.add(S.LS_OUT_ACL, 65532, est, "next;")
        for st in (S.LS_IN_ACL, S.LS_OUT_ACL):
            f.add(st, 65532, inv, "drop;")
            f.add(st, 1, "ip && !ct.est", "reg0[1] = 1; next;")
            f.add(st, 1, "ip && ct.est && ct_mark.blocked == 1", "reg0[1] = 1; next;")
        f.add(S.LS_IN_ACL_AFTER_LB, 65532, "reg0[17] == 1", "next;")
    for a in w.acls:
        _acl_flows(a, stateful, f)

    f.add(S.LS_IN_ACL_AFTER_LB, 65532, ND_ACL, "next;")
    f.add(S.LS_IN_ACL_AFTER_LB, 0, "1", "next;")
    for st in (S.LS_IN_STATEFUL, S.LS_OUT_STATEFUL):
        f.add(st, 100, "reg0[1] == 1 && reg0[13] == 0", "ct_commit { ct_mark.blocked = 0; }; next;")
        f.add(st, 100, "reg0[1] == 1 && reg0[13] == 1",
              "ct_commit { ct_mark.blocked = 0; ct_label.label = reg3; }; next;")
        f.add(st, 0, "1", "next;")
