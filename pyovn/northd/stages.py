"""Logical pipeline stages with the names and table numbers of OVN 23.03 (ovn-northd(8)),
and the logical flow record every feature module produces.

Table numbers matter beyond looks: ovn-controller maps ingress table N to OpenFlow table
8+N, and actions such as `next(pipeline=egress,table=5)` name stages by number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Stage(Enum):
    """(datapath kind, pipeline, table, name)."""

    # Logical switch ingress.
    LS_IN_CHECK_PORT_SEC = ("ls", "ingress", 0, "ls_in_check_port_sec")
    LS_IN_APPLY_PORT_SEC = ("ls", "ingress", 1, "ls_in_apply_port_sec")
    LS_IN_LOOKUP_FDB = ("ls", "ingress", 2, "ls_in_lookup_fdb")
    LS_IN_PUT_FDB = ("ls", "ingress", 3, "ls_in_put_fdb")
    LS_IN_PRE_ACL = ("ls", "ingress", 4, "ls_in_pre_acl")
    LS_IN_PRE_LB = ("ls", "ingress", 5, "ls_in_pre_lb")
    LS_IN_PRE_STATEFUL = ("ls", "ingress", 6, "ls_in_pre_stateful")
    LS_IN_ACL_HINT = ("ls", "ingress", 7, "ls_in_acl_hint")
    LS_IN_ACL = ("ls", "ingress", 8, "ls_in_acl")
    LS_IN_QOS_MARK = ("ls", "ingress", 9, "ls_in_qos_mark")
    LS_IN_QOS_METER = ("ls", "ingress", 10, "ls_in_qos_meter")
    LS_IN_LB_AFF_CHECK = ("ls", "ingress", 11, "ls_in_lb_aff_check")
    LS_IN_LB = ("ls", "ingress", 12, "ls_in_lb")
    LS_IN_LB_AFF_LEARN = ("ls", "ingress", 13, "ls_in_lb_aff_learn")
    LS_IN_PRE_HAIRPIN = ("ls", "ingress", 14, "ls_in_pre_hairpin")
    LS_IN_NAT_HAIRPIN = ("ls", "ingress", 15, "ls_in_nat_hairpin")
    LS_IN_HAIRPIN = ("ls", "ingress", 16, "ls_in_hairpin")
    LS_IN_ACL_AFTER_LB = ("ls", "ingress", 17, "ls_in_acl_after_lb")
    LS_IN_STATEFUL = ("ls", "ingress", 18, "ls_in_stateful")
    LS_IN_ARP_ND_RSP = ("ls", "ingress", 19, "ls_in_arp_rsp")
    LS_IN_DHCP_OPTIONS = ("ls", "ingress", 20, "ls_in_dhcp_options")
    LS_IN_DHCP_RESPONSE = ("ls", "ingress", 21, "ls_in_dhcp_response")
    LS_IN_DNS_LOOKUP = ("ls", "ingress", 22, "ls_in_dns_lookup")
    LS_IN_DNS_RESPONSE = ("ls", "ingress", 23, "ls_in_dns_response")
    LS_IN_EXTERNAL_PORT = ("ls", "ingress", 24, "ls_in_external_port")
    LS_IN_L2_LKUP = ("ls", "ingress", 25, "ls_in_l2_lkup")
    LS_IN_L2_UNKNOWN = ("ls", "ingress", 26, "ls_in_l2_unknown")
    # Logical switch egress.
    LS_OUT_PRE_ACL = ("ls", "egress", 0, "ls_out_pre_acl")
    LS_OUT_PRE_LB = ("ls", "egress", 1, "ls_out_pre_lb")
    LS_OUT_PRE_STATEFUL = ("ls", "egress", 2, "ls_out_pre_stateful")
    LS_OUT_ACL_HINT = ("ls", "egress", 3, "ls_out_acl_hint")
    LS_OUT_ACL = ("ls", "egress", 4, "ls_out_acl")
    LS_OUT_QOS_MARK = ("ls", "egress", 5, "ls_out_qos_mark")
    LS_OUT_QOS_METER = ("ls", "egress", 6, "ls_out_qos_meter")
    LS_OUT_STATEFUL = ("ls", "egress", 7, "ls_out_stateful")
    LS_OUT_CHECK_PORT_SEC = ("ls", "egress", 8, "ls_out_check_port_sec")
    LS_OUT_APPLY_PORT_SEC = ("ls", "egress", 9, "ls_out_apply_port_sec")
    # Logical router ingress.
    LR_IN_ADMISSION = ("lr", "ingress", 0, "lr_in_admission")
    LR_IN_LOOKUP_NEIGHBOR = ("lr", "ingress", 1, "lr_in_lookup_neighbor")
    LR_IN_LEARN_NEIGHBOR = ("lr", "ingress", 2, "lr_in_learn_neighbor")
    LR_IN_IP_INPUT = ("lr", "ingress", 3, "lr_in_ip_input")
    LR_IN_UNSNAT = ("lr", "ingress", 4, "lr_in_unsnat")
    LR_IN_DEFRAG = ("lr", "ingress", 5, "lr_in_defrag")
    LR_IN_LB_AFF_CHECK = ("lr", "ingress", 6, "lr_in_lb_aff_check")
    LR_IN_DNAT = ("lr", "ingress", 7, "lr_in_dnat")
    LR_IN_LB_AFF_LEARN = ("lr", "ingress", 8, "lr_in_lb_aff_learn")
    LR_IN_ECMP_STATEFUL = ("lr", "ingress", 9, "lr_in_ecmp_stateful")
    LR_IN_ND_RA_OPTIONS = ("lr", "ingress", 10, "lr_in_nd_ra_options")
    LR_IN_ND_RA_RESPONSE = ("lr", "ingress", 11, "lr_in_nd_ra_response")
    LR_IN_IP_ROUTING_PRE = ("lr", "ingress", 12, "lr_in_ip_routing_pre")
    LR_IN_IP_ROUTING = ("lr", "ingress", 13, "lr_in_ip_routing")
    LR_IN_IP_ROUTING_ECMP = ("lr", "ingress", 14, "lr_in_ip_routing_ecmp")
    LR_IN_POLICY = ("lr", "ingress", 15, "lr_in_policy")
    LR_IN_POLICY_ECMP = ("lr", "ingress", 16, "lr_in_policy_ecmp")
    LR_IN_ARP_RESOLVE = ("lr", "ingress", 17, "lr_in_arp_resolve")
    LR_IN_CHK_PKT_LEN = ("lr", "ingress", 18, "lr_in_chk_pkt_len")
    LR_IN_LARGER_PKTS = ("lr", "ingress", 19, "lr_in_larger_pkts")
    LR_IN_GW_REDIRECT = ("lr", "ingress", 20, "lr_in_gw_redirect")
    LR_IN_ARP_REQUEST = ("lr", "ingress", 21, "lr_in_arp_request")
    # Logical router egress.
    LR_OUT_CHK_DNAT_LOCAL = ("lr", "egress", 0, "lr_out_chk_dnat_local")
    LR_OUT_UNDNAT = ("lr", "egress", 1, "lr_out_undnat")
    LR_OUT_POST_UNDNAT = ("lr", "egress", 2, "lr_out_post_undnat")
    LR_OUT_SNAT = ("lr", "egress", 3, "lr_out_snat")
    LR_OUT_POST_SNAT = ("lr", "egress", 4, "lr_out_post_snat")
    LR_OUT_EGR_LOOP = ("lr", "egress", 5, "lr_out_egr_loop")
    LR_OUT_DELIVERY = ("lr", "egress", 6, "lr_out_delivery")

    @property
    def kind(self) -> str:
        return self.value[0]

    @property
    def pipeline(self) -> str:
        return self.value[1]

    @property
    def table(self) -> int:
        return self.value[2]

    @property
    def stage_name(self) -> str:
        return self.value[3]


@dataclass(frozen=True, slots=True, order=True)
class LFlow:
    """One logical flow of one datapath (`dp` is the NB row's UUID of the switch or router).

    The identity is the whole record: two feature modules producing the same flow produce
    one SB row, as the real northd's flow table deduplicates.
    """

    dp: str
    pipeline: str
    table: int
    priority: int
    match: str
    actions: str
    # A function of (datapath kind, pipeline, table): not part of the identity, so that an
    # SB row read back (whatever its external_ids say) equals the desired flow.
    stage_name: str = field(compare=False)

    @property
    def key(self) -> tuple[str, str, int, int, str, str]:
        return (self.dp, self.pipeline, self.table, self.priority, self.match, self.actions)


class FlowSink:
    """Collects the flows of one datapath: `add(stage, priority, match, actions)`."""

    __slots__ = ("dp", "flows")

    def __init__(self, dp: str) -> None:
        self.dp = dp
        self.flows: set[LFlow] = set()

    def add(self, stage: Stage, priority: int, match: str, actions: str) -> None:
        v = stage.value
        self.flows.add(LFlow(self.dp, v[1], v[2], priority, match, actions, v[3]))


# Multicast groups (ovn-northd's mcast_*): tunnel keys are fixed by name.
MC_FLOOD = ("_MC_flood", 32768)
MC_UNKNOWN = ("_MC_unknown", 32769)
MC_FLOOD_L2 = ("_MC_flood_l2", 32772)
