"""Load-balancer hairpin (tables 68, 69, 70), as ovn-controller 23.03 installs it from the
SB Load_Balancer rows of the local datapaths.

A backend that connects to a VIP may be load-balanced to itself: after DNAT its packet
has ip.src == ip.dst, and the switch must send it back out of the port it came in with
the VIP as its source, or the backend would see (and answer) itself.  northd's
ls_in_pre_hairpin asks chk_lb_hairpin() (table 68: "was this load-balanced connection
sent to the backend it comes from?") and chk_lb_hairpin_reply() (table 69: "is this a
reply of such a connection?"); ls_in_nat_hairpin's ct_snat_to_vip resubmits to table 70,
which commits the connection in the SNAT zone with the VIP (or the LB's hairpin_snat_ip)
as source.

- Table 68, one flow per (VIP, backend): ip.src == ip.dst == backend, the original
  destination (the VIP and its port) that northd saved in reg1/xxreg1 and reg2[0..15]
  (Load_Balancer options:hairpin_orig_tuple; older northds did not, and then the
  conntrack original tuple ct_nw_dst/ct_tp_dst is matched, which needs ct_state
  +trk+dnat), and the connection marked load-balanced: ct_mark.natted, or ct_label.natted
  where northd still uses ct_lb (SB_Global options:lb_hairpin_use_ct_mark=false).  Its
  actions set MLF_LOOKUP_LB_HAIRPIN and learn the reply flow of table 69.
- Table 69 holds only those learned flows (deleted with the flow that learned them).
- Table 70, one flow per VIP: no datapath in the match (only hairpinned packets get
  there, and any LB with that VIP SNATs the same way), unless the LB has a
  hairpin_snat_ip of the VIP's family: then one flow per local datapath of the LB, at a
  higher priority.  A VIP without a port gets 10 less, so that a VIP with one wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from pyovn.controller.deps import Dep
from pyovn.controller.model import LoadBalancer, SbState
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_F16 = 0xFFFF
_F32 = 0xFFFFFFFF
_F64 = (1 << 64) - 1
_F128 = (1 << 128) - 1
# Where northd's load-balancing stages save the original destination (ovn's
# logical-fields.h: MFF_LOG_LB_ORIG_DIP_IPV4/_IPV6, MFF_LOG_LB_ORIG_TP_DPORT).
ORIG_DIP_IPV4 = "reg1"
ORIG_DIP_IPV6 = "xxreg1"
ORIG_TP_DPORT = "reg2"
CT_NATTED = 0x2  # ct_mark.natted / ct_label.natted (bit 1)
_CT_TRK_DNAT = (1 << O.CT_STATE_BITS.index("trk")) | (1 << O.CT_STATE_BITS.index("dnat"))
PROTOS = {"tcp": 6, "udp": 17, "sctp": 132}
_TP = {6: "tcp", 17: "udp", 132: "sctp"}
# How the learned reply flow copies the port: (ovs-ofctl field name prefix).
_LEARN_TP = {6: "NXM_OF_TCP", 17: "NXM_OF_UDP", 132: "OXM_OF_SCTP"}
USE_CT_MARK = "lb_hairpin_use_ct_mark"


@dataclass(frozen=True)
class Vip:
    ip: IP
    port: int  # 0: none
    backends: tuple[tuple[IP, int], ...]


def parse_endpoint(text: str) -> tuple[IP, int] | None:
    """"IP", "IP:port", "[IPv6]", "[IPv6]:port" or a bare IPv6 address (more than one
    colon outside brackets means no port), as OVS's inet_parse_active reads a load
    balancer key with no default port; port 0 means none.  None if malformed."""
    colons = [i for i, c in enumerate(text) if c == ":"]
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_s = rest[1:]
    elif len(colons) == 1:
        host, port_s = text[:colons[0]], text[colons[0] + 1:]
    else:
        host, port_s = text, ""
    if port_s and not (port_s.isascii() and port_s.isdigit()):
        return None
    port = int(port_s) if port_s else 0
    if port > 0xFFFF or "%" in host:
        return None
    try:
        return ipaddress.ip_address(host), port
    except ValueError:
        return None


def parse_vip(key: str, value: str) -> Vip | None:
    """One entry of Load_Balancer.vips, or None if any part of it is malformed: the VIP,
    a backend, a backend of the other address family, or a backend whose port presence
    differs from the VIP's (ovn-controller drops the whole VIP then too)."""
    vip = parse_endpoint(key)
    if vip is None:
        return None
    backends = []
    for tok in value.split(","):
        if not tok:
            continue  # strtok: empty tokens do not exist
        be = parse_endpoint(tok)
        if be is None or be[0].version != vip[0].version or bool(be[1]) != bool(vip[1]):
            return None
        backends.append(be)
    return Vip(vip[0], vip[1], tuple(backends))


def snat_ips(options: Mapping[str, str]) -> tuple[IP | None, IP | None]:
    """The first IPv4 and the first IPv6 address of options:hairpin_snat_ip: addresses
    (each optionally with a /prefix) separated by spaces, read up to the first that does
    not parse (the ones before it still count, as in ovn's extract_ip_address)."""
    v4: IP | None = None
    v6: IP | None = None
    for tok in options.get("hairpin_snat_ip", "").split():
        try:
            ip = ipaddress.ip_interface(tok).ip
        except ValueError:
            break
        if ip.version == 4 and v4 is None:
            v4 = ip
        elif ip.version == 6 and v6 is None:
            v6 = ip
    return v4, v6


def use_ct_mark(options: Mapping[str, str]) -> bool:
    """SB_Global options:lb_hairpin_use_ct_mark: on unless explicitly "false" (OVS's
    smap_get_bool with a true default)."""
    return options.get(USE_CT_MARK, "true").lower() != "false"


def _orig_tuple(lb: LoadBalancer) -> bool:
    return lb.options.get("hairpin_orig_tuple", "false").lower() == "true"


def _vip_match(m: O.Match, lb: LoadBalancer, vip: Vip, proto: int) -> None:
    """The original destination: saved by northd, or conntrack's original tuple."""
    orig = _orig_tuple(lb)
    if not orig:
        m.add("ct_state", _CT_TRK_DNAT, _CT_TRK_DNAT)
    if vip.ip.version == 4:
        m.add("dl_type", 0x800, 0xFFFF)
        m.add(ORIG_DIP_IPV4 if orig else "ct_nw_dst", int(vip.ip), _F32)
    else:
        m.add("dl_type", 0x86DD, 0xFFFF)
        m.add(ORIG_DIP_IPV6 if orig else "ct_ipv6_dst", int(vip.ip), _F128)
    if vip.port:
        if orig:
            m.add(ORIG_TP_DPORT, vip.port, _F16)
        else:
            m.add("ct_nw_proto", proto, 0xFF)
            m.add("ct_tp_dst", vip.port, _F16)


def _reply_learn(lb: LoadBalancer, vip: Vip, snat: IP | None, proto: int,
                 has_port: bool) -> O.Learn:
    """The table-69 flow a hairpinned connection teaches: its replies come from the
    backend (the learned flow copies ip.src) to the address it was SNATed to, on the same
    datapath, protocol and (reversed) port."""
    to = snat if snat is not None else vip.ip
    if vip.ip.version == 4:
        specs = ["OXM_OF_METADATA[]", "eth_type=0x800", "NXM_OF_IP_SRC[]", f"ip_dst={to}"]
    else:
        specs = ["OXM_OF_METADATA[]", "eth_type=0x86dd", "NXM_NX_IPV6_SRC[]", f"ipv6_dst={to}"]
    if has_port:
        tp = _LEARN_TP[proto]
        specs += [f"nw_proto={proto}", f"{tp}_SRC[]={tp}_DST[]"]
    else:
        specs.append("NXM_OF_IP_PROTO[]")
    specs.append(f"load:0x1->NXM_NX_REG10[{S.MLF_LOOKUP_LB_HAIRPIN_BIT}]")
    return O.Learn(O.OFTABLE_CHK_LB_HAIRPIN_REPLY, O.DEFAULT_PRIORITY, tuple(specs),
                   cookie=lb.cookie, delete_learned=True)


def _backend_flow(lb: LoadBalancer, vip: Vip, ip: IP, port: int, proto: int, ct_mark: bool,
                  snat: IP | None) -> O.Flow:
    m = O.Match()
    _vip_match(m, lb, vip, proto)
    if ip.version == 4:
        m.add("nw_src", int(ip), _F32)
        m.add("nw_dst", int(ip), _F32)
    else:
        m.add("ipv6_src", int(ip), _F128)
        m.add("ipv6_dst", int(ip), _F128)
    if port:
        m.add("nw_proto", proto, 0xFF)
        m.add(f"{_TP[proto]}_dst", port, _F16)
    # Only connections already load-balanced (ct.natted): with ip.src == ip.dst and a
    # backend's port that is precise enough without the datapath.
    m.add("ct_mark" if ct_mark else "ct_label", CT_NATTED, CT_NATTED)
    bit = 1 << S.MLF_LOOKUP_LB_HAIRPIN_BIT
    return O.Flow(O.OFTABLE_CHK_LB_HAIRPIN, 100, m,
                  (O.SetField(S.LOG_FLAGS, bit, bit),
                   _reply_learn(lb, vip, snat, proto, bool(port))), lb.cookie)


def _snat_flows(lb: LoadBalancer, vip: Vip, proto: int, snat: IP | None,
                dp_keys: Iterable[int]) -> list[O.Flow]:
    m = O.Match()
    _vip_match(m, lb, vip, proto)
    if vip.port:
        m.add("nw_proto", proto, 0xFF)
    nat = O.NAT("src", str(snat if snat is not None else vip.ip))
    act = (O.CT(commit=True, zone=O.SubField(S.LOG_SNAT_ZONE, 0, 16), nat=nat),)
    drop = 0 if vip.port else 10
    if snat is None:
        return [O.Flow(O.OFTABLE_CT_SNAT_HAIRPIN, 100 - drop, m, act, lb.cookie)]
    out = []
    for key in sorted(set(dp_keys)):
        dm = m.copy()
        dm.add(S.LOG_DATAPATH, key, _F64)
        out.append(O.Flow(O.OFTABLE_CT_SNAT_HAIRPIN, 200 - drop, dm, act, lb.cookie))
    return out


def lb_flows(lb: LoadBalancer, sb: SbState, local_datapaths: Collection[str],
             deps: set[Dep]) -> list[O.Flow]:
    """Tables 68 and 70 for one load balancer: nothing unless one of its datapaths is
    local.  Records what it read in 'deps'."""
    deps.add(("sbopt", USE_CT_MARK))
    local_keys = []
    for d in lb.datapaths:
        deps.add(("localdp", d))
        deps.add(("dp", d))
        dp = sb.datapaths.get(d)
        if dp is not None and d in local_datapaths:
            local_keys.append(dp.key)
    if not local_keys:
        return []
    proto = PROTOS.get(lb.protocol, 6)
    ct_mark = use_ct_mark(sb.options)
    snat4, snat6 = snat_ips(lb.options)
    flows: list[O.Flow] = []
    for key in sorted(lb.vips):
        vip = parse_vip(key, lb.vips[key])
        if vip is None:
            continue
        snat = snat4 if vip.ip.version == 4 else snat6
        for ip, port in vip.backends:
            flows.append(_backend_flow(lb, vip, ip, port, proto, ct_mark, snat))
        flows += _snat_flows(lb, vip, proto, snat, local_keys)
    # Two spellings of one VIP ("fd00::1" and "[fd00::1]") want the same flows: once.
    seen: set[tuple[int, int, O.Match]] = set()
    out = []
    for f in flows:
        k = (f.table, f.priority, f.match)
        if k not in seen:
            seen.add(k)
            out.append(f)
    return out


def all_lb_flows(sb: SbState, local_datapaths: Collection[str]) -> list[O.Flow]:
    """Every load balancer's flows (the reference the incremental core agrees with)."""
    out: list[O.Flow] = []
    for u in sorted(sb.load_balancers):
        out += lb_flows(sb.load_balancers[u], sb, local_datapaths, set())
    return out
