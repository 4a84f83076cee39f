"""A deterministic mix of flows using every match field and action kind OVN writes, for the
conformance test and the bench."""

from __future__ import annotations

import random

from pyovn.logical import ofrep as O
from pyovn.openflow.actions import Output

IP, IP6, ARP = 0x800, 0x86DD, 0x806
FULL32 = 0xFFFFFFFF


def _m(*fields: tuple[str, int, int]) -> O.Match:
    m = O.Match()
    for name, v, mask in fields:
        if name.startswith("tun_metadata"):
            m.fields[name] = (v & mask, mask)
        else:
            assert m.add(name, v, mask)
    return m


def matches(rng: random.Random, i: int) -> O.Match:
    """Match number i (cycles through the kinds)."""
    r = rng.randrange(1, 1 << 16)
    kinds = [
        lambda: _m(("reg14", r, FULL32), ("metadata", i, (1 << 64) - 1)),
        lambda: _m(("reg10", 1 << (i % 32), 1 << (i % 32)), ("metadata", i, 0xFFFFFF)),
        lambda: _m(("ct_state", 0x22, 0x23), ("metadata", i, (1 << 64) - 1)),
        lambda: _m(("ct_state", 0x21, 0x31), ("ct_mark", 1, 1), ("reg13", r, 0xFFFF)),
        lambda: _m(("ct_label", 1 << 127, 1 << 127), ("dl_type", IP, 0xFFFF)),
        lambda: _m(("conj_id", i, FULL32), ("dl_type", IP, 0xFFFF)),
        lambda: _m(("in_port", i % 100 + 1, FULL32), ("dl_src", 0x0A0000000000 | r, (1 << 48) - 1)),
        lambda: _m(("dl_dst", 0x010000000000, 0x010000000000), ("metadata", i, (1 << 64) - 1)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_src", 0x0A000000 | r << 8, 0xFFFFFF00),
                   ("nw_dst", 0xC0A80001, FULL32)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_proto", 6, 0xFF), ("tcp_dst", 80 + i, 0xFFFF),
                   ("reg15", r, FULL32)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_proto", 17, 0xFF), ("udp_src", 68, 0xFFFF),
                   ("udp_dst", 67, 0xFFFF)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_proto", 6, 0xFF), ("tcp_dst", 0x400, 0xFC00)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_proto", 1, 0xFF), ("icmp_type", 8, 0xFF),
                   ("icmp_code", 0, 0xFF)),
        lambda: _m(("dl_type", IP6, 0xFFFF), ("ipv6_src", (0xFE80 << 112) | r, (1 << 128) - 1)),
        lambda: _m(("dl_type", IP6, 0xFFFF), ("ipv6_dst", 0x20010DB8 << 96,
                                               ((1 << 64) - 1) << 64)),
        lambda: _m(("dl_type", IP6, 0xFFFF), ("nw_proto", 58, 0xFF), ("icmpv6_type", 135, 0xFF),
                   ("icmpv6_code", 0, 0xFF), ("nd_target", (0xFE80 << 112) | r, (1 << 128) - 1)),
        lambda: _m(("dl_type", ARP, 0xFFFF), ("arp_op", 1, 0xFFFF), ("arp_tpa", 0x0A000001 + r,
                                                                      FULL32)),
        lambda: _m(("dl_type", ARP, 0xFFFF), ("arp_spa", 0x0A000000, 0xFFFFFF00),
                   ("arp_sha", 0x0A0000000001, (1 << 48) - 1)),
        lambda: _m(("tun_id", r, 0xFFFFFF), ("in_port", 7, FULL32)),
        lambda: _m(("tun_metadata0", r, 0x7FFF0000 | 0xFFFF), ("reg3", 1, 1)),
        lambda: _m(("pkt_mark", r, FULL32), ("reg0", 0, 0xFF)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_ttl", 1, 0xFF)),
        lambda: _m(("dl_type", IP, 0xFFFF), ("nw_frag", 1, 1)),
        lambda: _m(("vlan_tci", 0x1000 | (r & 0xFFF), 0x1FFF)),
        lambda: _m(("ct_zone", r & 0xFFFF, 0xFFFF), ("reg6", r, FULL32)),
        lambda: _m(),
    ]
    return kinds[i % len(kinds)]()


def actions(rng: random.Random, i: int) -> tuple[O.Action, ...]:
    r = rng.randrange(1, 1 << 16)
    nxt = O.Resubmit(8 + i % 29)
    zone = O.SubField("reg13", 0, 16)
    kinds: list[tuple[O.Action, ...]] = [
        (O.SetField("reg15", r, FULL32), nxt),
        (O.SetField("reg10", 1 << 3, 1 << 3), O.SetField("metadata", r, (1 << 64) - 1), nxt),
        (O.Move(O.SubField("reg14", 0, 16), O.SubField("reg15", 16, 16)), nxt),
        (O.Move(O.SubField("dl_src", 0, 48), O.SubField("dl_dst", 0, 48)),
         O.SetField("dl_src", 0x0A0000000001, (1 << 48) - 1), O.Resubmit(37)),
        (O.Conjunction(i, 1 + i % 2, 2),),
        (O.CT(table=9 + i % 20, zone=zone),),
        (O.CT(commit=True, zone=zone, exec_=(O.SetField("ct_mark", 1, 1),
                                             O.SetField("ct_label", r, 0xFFFF))),
         nxt),
        (O.CT(commit=True, table=12, zone=O.SubField("reg11", 0, 16),
              nat=O.NAT("dst", "10.0.0.5", "", 80, 80)),),
        (O.CT(commit=True, table=14, zone=O.SubField("reg12", 0, 16),
              nat=O.NAT("src", "172.16.0.1", "172.16.0.9", 1000, 2000, random=True)),),
        (O.CT(table=13, zone=zone, nat=O.NAT("")),),
        (O.CTClear(), nxt),
        (O.DecTTL(), O.SetField("dl_dst", 0x0A0000000002, (1 << 48) - 1), nxt),
        (O.Controller(0x17, r.to_bytes(4, "big"), None, True),),
        (O.Controller(0x1, b"", None, False, 3),),
        (O.CheckPktLarger(1442, O.SubField("reg10", 6, 1)), nxt),
        (O.Clone((O.SetField("reg15", 1, FULL32), O.Resubmit(37))), nxt),
        (O.Push(O.SubField("reg14", 0, 32)), O.SetField("reg14", 0, FULL32), nxt,
         O.Pop(O.SubField("reg14", 0, 32))),
        (O.Learn(78, O.DEFAULT_PRIORITY, (
            "OXM_OF_METADATA[]", "eth_type=0x800", "NXM_OF_IP_SRC[]", "ip_dst=10.0.0.10",
            "nw_proto=6", "tcp_dst=80", "load:0x1->NXM_NX_REG10[14]",
            f"load:{0x0A000000 | r:#x}->NXM_NX_REG4[]", "load:0x50->NXM_NX_REG8[0..15]"),
            idle_timeout=60, delete_learned=True),),
        (O.SetField("tun_id", r, (1 << 64) - 1), O.SetField("tun_metadata0", r, FULL32),
         Output(i % 50 + 1)),
        (Output(i % 50 + 1),),
        (),
        (O.SetField("reg0", 0, FULL32), O.SetField("xxreg0", r, (1 << 128) - 1), nxt),
    ]
    return kinds[i % len(kinds)]


def flows(n: int, seed: int = 1) -> list[O.Flow]:
    """n flows with distinct (table, priority, match)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        m = matches(rng, i)
        acts = actions(rng, i * 5 // 3)
        if _needs_ip(acts) and m.fields.get("dl_type", (0, 0))[0] != IP:
            # conntrack, dec_ttl and learning from IP fields need an IPv4 match.
            m = _m(("dl_type", IP, 0xFFFF), *[(k, v, mk) for k, (v, mk) in m.fields.items()
                                              if k in ("metadata", "reg14", "reg15", "ct_state")])
        out.append(O.Flow(table=i % 80, priority=(i * 7919) % 65536, match=m,
                          actions=acts, cookie=rng.randrange(1 << 32)))
    return out


def _needs_ip(acts: tuple[O.Action, ...]) -> bool:
    return any(isinstance(a, O.CT | O.DecTTL | O.Learn) for a in acts)
