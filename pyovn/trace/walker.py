"""Walking a packet through the logical pipelines (the semantics of ovn-trace(8)).

At each table the highest-priority flow whose match (with its actions' prerequisites) holds
for the packet runs; `next' goes on in a later table, `output' in the ingress pipeline runs
the egress pipeline for the output port (each port of a multicast group in turn), and
`output' in the egress pipeline either delivers the packet or, through a patch port, enters
the peer datapath's ingress pipeline.  Stateful actions follow ovn-trace's conventions:
ct_next takes the next --ct state (trk,est by default) and forks, NAT and load balancing fork
with the assumed change, commits are no-ops, and actions that would involve ovn-controller
(arp, icmp4, nd_na, put_dhcp_opts, ...) are traced as the packet they would produce.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence

from pyovn.logical import actions_ast as A
from pyovn.logical.evaluate import Evaluator
from pyovn.logical.expr import Node, StrCmp
from pyovn.logical.symbols import SYMTAB, SymbolTable
from pyovn.trace.microflow import port_lookup
from pyovn.trace.packet import (
    CS_DST_NAT,
    CS_ESTABLISHED,
    CS_SRC_NAT,
    CS_TRACKED,
    ETH_TYPE_ARP,
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    REGISTER_FIELDS,
    Packet,
    ct_state_string,
    flow_format,
    fmt_ip4,
    fmt_ip6,
    fmt_mac,
)
from pyovn.trace.sb import SB, Datapath, Flow, PortSecurity, split_statements
from pyovn.trace.tree import ACTION as ACT
from pyovn.trace.tree import ERROR, MODIFY, OUTPUT, PIPELINE, TABLE, TRANSFORMATION, TNode

MLF_ALLOW_LOOPBACK = 1
MAX_TABLES = 5000  # table visits per trace: a loop between datapaths must end somewhere
_V4MAPPED = 0xFFFF << 32
TCP_RST = 0x004


class _DpEvaluator(Evaluator):
    """Evaluation within one datapath: a port name that does not resolve there makes the
    comparison false whatever its operator (as lib/expr.c's expr_evaluate does)."""

    def __init__(self, symtab: SymbolTable, sb: SB, dp: Datapath) -> None:
        lookup = port_lookup(sb, dp)
        super().__init__(symtab, lookup,
                         lambda _f, arg: arg == "" or arg in sb.ports)

    def eval(self, node: Node, pkt: Packet) -> bool:  # type: ignore[override]
        if isinstance(node, StrCmp):
            key = self.lookup_port(node.value)
            if key is None:
                return False
            value = pkt.read(self.symtab[node.symbol].of_field or "")
            return (value == key) == (node.relop == "==")
        return super().eval(node, pkt)


def _read_ref(pkt: Packet, ref: A.FieldRef) -> int:
    return (pkt.read(ref.of_field) >> ref.ofs) & ((1 << ref.n_bits) - 1)


def _write_ref(pkt: Packet, ref: A.FieldRef, value: int, mask: int | None = None) -> None:
    pkt.write_bits(ref.of_field, ref.ofs, ref.n_bits, value, mask)


def _is_register(ref: A.FieldRef) -> bool:
    return ref.of_field in REGISTER_FIELDS


def _format_ref_value(pkt: Packet, ref: A.FieldRef) -> str:
    """A move's source value as ovn-trace shows it: whole fields in their own format,
    registers and subfields in hex."""
    v = _read_ref(pkt, ref)
    whole = ref.name == ref.symbol and not _is_register(ref)
    if whole:
        sym = SYMTAB.get(ref.symbol)
        base = SYMTAB.resolve(ref.symbol)[0] if sym is not None else None
        of = base.of_field if base is not None else ref.of_field
        if of in ("dl_src", "dl_dst", "arp_sha", "arp_tha", "nd_sll", "nd_tll"):
            return fmt_mac(v)
        if of in ("nw_src", "nw_dst", "arp_spa", "arp_tpa"):
            return fmt_ip4(v)
        if of in ("ipv6_src", "ipv6_dst", "nd_target"):
            return fmt_ip6(v)
        if of in ("nw_ttl", "tcp_src", "tcp_dst", "udp_src", "udp_dst", "sctp_src",
                  "sctp_dst", "icmp_type", "icmp_code", "icmpv6_type", "icmpv6_code",
                  "nw_proto", "ip_dscp", "nw_ecn", "arp_op"):
            return str(v)
    return hex(v) if v else "0"


def _inner(text: str) -> str:
    a, b = text.find("{"), text.rfind("}")
    return text[a + 1:b] if 0 <= a < b else ""


def _lla(mac: int) -> int:
    """The IPv6 link-local address derived from a MAC (EUI-64)."""
    eui = ((mac >> 24) << 40) | (0xFFFE << 24) | (mac & 0xFFFFFF)
    eui ^= 1 << 57
    return (0xFE80 << 112) | eui


class Tracer:
    def __init__(self, sb: SB, ct_states: Sequence[int] = (), lb_dst: tuple[int, int, int]
                 | None = None, select_id: int | None = None,
                 rng: random.Random | None = None) -> None:
        self.sb = sb
        self.ct_states = list(ct_states)
        self.ct_idx = 0
        # (family 4/6, address, port)
        self.lb_dst = lb_dst
        self.select_id = select_id
        self.rng = rng or random.Random()
        self._evals: dict[int, _DpEvaluator] = {}
        self.visits = 0

    # -- entry point
    def trace(self, dp: Datapath, pkt: Packet) -> list[TNode]:
        in_key = pkt.get("reg14")
        inport = self.sb.port_by_key(dp, in_key)
        root = TNode(PIPELINE, f'ingress(dp="{dp.friendly}", inport='
                               f'"{inport.friendly if inport else "(unnamed)"}")')
        self.trace_table(dp, pkt, 0, "ingress", root)
        return [root]

    def evaluator(self, dp: Datapath) -> _DpEvaluator:
        ev = self._evals.get(dp.tunnel_key)
        if ev is None:
            ev = self._evals[dp.tunnel_key] = _DpEvaluator(SYMTAB, self.sb, dp)
        return ev

    def next_ct_state(self) -> tuple[int, str]:
        if self.ct_idx < len(self.ct_states):
            self.ct_idx += 1
            return self.ct_states[self.ct_idx - 1], ""
        return CS_ESTABLISHED | CS_TRACKED, " /* default (use --ct to customize) */"

    # -- tables
    def lookup(self, dp: Datapath, pkt: Packet, table: int, pipeline: str) -> Flow | None:
        ev = self.evaluator(dp)
        for f in self.sb.flows_for(dp, pipeline, table):
            if not self.sb.prepare(dp, f):
                continue
            assert f.node is not None
            if ev.eval(f.node, pkt):
                return f
        return None

    def trace_table(self, dp: Datapath, pkt: Packet, table: int, pipeline: str,
                    sup: TNode) -> None:
        while True:
            self.visits += 1
            if self.visits > MAX_TABLES:
                sup.add(ERROR, f"*** trace stopped after {MAX_TABLES} table lookups "
                               "(a forwarding loop?)")
                return
            f = self.lookup(dp, pkt, table, pipeline)
            if f is None or not self.sb.may_omit(dp, f):
                break
            table += 1
        if f is None:
            stage = next((g.stage_name for g in self.sb.flows_for(dp, pipeline, table)
                          if g.stage_name), None)
            sup.add(TABLE, f"{table:2d}. " + (f"{stage}: " if stage else "")
                    + "no match (implicit drop)")
            return
        head = f"{table:2d}. "
        if f.stage_name and f.source:
            head += f"{f.stage_name} ({f.source}): "
        elif f.stage_name:
            head += f"{f.stage_name}: "
        elif f.source:
            head += f"({f.source}): "
        head += f"{f.match_friendly}, priority {f.priority}, uuid {f.uuid[:8]}"
        node = sup.add(TABLE, head)
        self.trace_actions(f.acts or [], f.texts or [], dp, pkt, table, pipeline, node)

    # -- actions
    def trace_actions(self, acts: Sequence[A.Act], texts: Sequence[str], dp: Datapath,
                      pkt: Packet, table: int, pipeline: str, sup: TNode) -> None:
        if not acts:
            sup.add(ACT, "drop;")
            return
        if len(texts) != len(acts):
            texts = [type(a).__name__.lower() for a in acts]
        stack: list[int] = []
        for a, text in zip(acts, texts, strict=True):
            sup.add(ACT, self.sb.friendly(text) + ";")
            self.execute(a, text, dp, pkt, table, pipeline, sup, stack)

    def execute(self, a: A.Act, text: str, dp: Datapath, pkt: Packet, table: int,
                pipeline: str, sup: TNode, stack: list[int]) -> None:
        if isinstance(a, A.Output):
            self.output(dp, pkt, pipeline, sup)
        elif isinstance(a, A.Next):
            self.next(a, dp, pkt, pipeline, sup)
        elif isinstance(a, A.Load):
            self.load(a, text, dp, pkt, sup)
        elif isinstance(a, A.Move):
            self.summarize_move(pkt, a.src, a.dst, sup)
            _write_ref(pkt, a.dst, _read_ref(pkt, a.src))
        elif isinstance(a, A.Exchange):
            va, vb = _read_ref(pkt, a.a), _read_ref(pkt, a.b)
            self.summarize_move(pkt, a.b, a.a, sup)
            self.summarize_move(pkt, a.a, a.b, sup)
            _write_ref(pkt, a.a, vb)
            _write_ref(pkt, a.b, va)
        elif isinstance(a, A.PushPop):
            self.push_pop(a, pkt, sup, stack)
        elif isinstance(a, A.DecTTL):
            if pkt.is_ip():
                if pkt.get("nw_ttl"):
                    pkt["nw_ttl"] = pkt.get("nw_ttl") - 1
                    sup.add(MODIFY, "ip.ttl--")
                else:
                    sup.add(ERROR, "*** TTL underflow")
            else:
                sup.add(ERROR, "*** TTL decrement of non-IP packet")
        elif isinstance(a, A.CtNext):
            state, comment = self.next_ct_state()
            node = sup.add(TRANSFORMATION,
                           f"ct_next(ct_state={ct_state_string(state)}{comment})")
            ct = pkt.copy()
            ct["ct_state"] = state
            self.trace_table(dp, ct, table + 1, pipeline, node)
        elif isinstance(a, A.CtNat):
            self.ct_nat(a, dp, pkt, table, pipeline, sup)
        elif isinstance(a, A.CtLb):
            self.ct_lb(a, dp, pkt, table, pipeline, sup)
        elif isinstance(a, A.Select):
            self.select(a, dp, pkt, table, pipeline, sup)
        elif isinstance(a, A.Simple):
            if a.name == "ct_clear":
                pkt.clear_conntrack()
            elif a.name == "ct_snat_to_vip":
                vip = self._vip(pkt)
                if vip is not None and vip[1] == pkt.get("ct_tp_dst"):
                    sup.add(ACT, f"/* nat(src={vip[0]}) */")
            elif a.name == "ct_commit_nat":
                s = "ct_commit_nat /* assuming no un-nat entry, so no change */"
                ct = pkt.copy()
                if not ct.get("ct_state") & CS_TRACKED:
                    st, comment = self.next_ct_state()
                    ct["ct_state"] = ct.get("ct_state") | st
                    s += comment
                self.trace_table(dp, ct, table + 1, pipeline, sup.add(TRANSFORMATION, s))
        elif isinstance(a, A.Nested):
            self.nested(a, text, dp, pkt, table, pipeline, sup)
        elif isinstance(a, A.MacBind):
            if a.op in ("get_arp", "get_nd"):
                self.get_mac_bind(a, dp, pkt, sup)
        elif isinstance(a, A.Result):
            self.result(a, dp, pkt, sup)
        elif isinstance(a, A.PutOpts):
            self.put_opts(a, text, pkt, sup)
        elif isinstance(a, A.Log):
            sup.add(TRANSFORMATION,
                    f"LOG: ACL name={a.name if a.name is not None else '<unnamed>'}, "
                    f"direction={'IN' if pipeline == 'ingress' else 'OUT'}, "
                    f"verdict={a.verdict}, severity={a.severity}, "
                    f'packet="{flow_format(pkt)}"')
        # Everything else (ct_commit, put_arp, put_nd, put_fdb, set_queue, set_meter,
        # trigger_event, bind_vport, fwd_group, check_pkt_larger, sample, ...) leaves the
        # traced packet as it is, as in ovn-trace.

    def next(self, a: A.Next, dp: Datapath, pkt: Packet, pipeline: str, sup: TNode) -> None:
        if a.pipeline != pipeline:
            key = pkt.get("reg14" if a.pipeline == "ingress" else "reg15")
            which = "inport" if a.pipeline == "ingress" else "outport"
            sup = sup.add(PIPELINE, f'{a.pipeline}(dp="{dp.friendly}", {which}='
                                    f'"{self.sb.port_key_to_name(dp, key)}")')
        self.trace_table(dp, pkt, a.table, a.pipeline, sup)

    def load(self, a: A.Load, text: str, dp: Datapath, pkt: Packet, sup: TNode) -> None:
        dst = a.dst
        if dst.ovn_field:
            sup.add(MODIFY, f"{dst.symbol} = {a.value}")
            return
        if isinstance(a.value, str):
            key = port_lookup(self.sb, dp)(a.value)
            if key is not None:
                _write_ref(pkt, dst, key)
            return
        if not _is_register(dst):
            sup.add(MODIFY, self.sb.friendly(text))
        if self.evaluator(dp).prereqs_hold(dst.symbol, pkt):
            _write_ref(pkt, dst, a.value, a.mask)

    def summarize_move(self, pkt: Packet, src: A.FieldRef, dst: A.FieldRef, sup: TNode) -> None:
        if not _is_register(dst):
            sup.add(MODIFY, f"{dst.name} = {_format_ref_value(pkt, src)}")

    def push_pop(self, a: A.PushPop, pkt: Packet, sup: TNode, stack: list[int]) -> None:
        if a.push:
            v = _read_ref(pkt, a.ref)
            stack.append(v)
            sup.add(MODIFY, f"push({a.ref.name}) -> {hex(v) if v else '0'}")
        elif stack:
            v = stack.pop()
            _write_ref(pkt, a.ref, v)
            sup.add(MODIFY, f"pop({a.ref.name}) <- {hex(v) if v else '0'}")
        else:
            sup.add(MODIFY, f"pop({a.ref.name}) <- /* empty stack */")

    # -- output
    def output(self, dp: Datapath, pkt: Packet, pipeline: str, sup: TNode) -> None:
        sb = self.sb
        key = pkt.get("reg15")
        if not key:
            sup.add(ERROR, "*** output to null logical port")
            return
        port = sb.port_by_key(dp, key)
        mc = dp.mcgroup_by_key(key)
        out_name = port.friendly if port else mc.name if mc else "(unnamed)"
        if port is None and mc is None:
            sup.add(ERROR, f"*** unknown port or multicast group {key}")
        if pipeline == "egress":
            sup.add(OUTPUT, f'/* output to "{out_name}", type "{port.type if port else ""}" */')
            if port is not None and port.peer is not None:
                peer = port.peer
                node = sup.add(PIPELINE, f'ingress(dp="{peer.dp.friendly}", '
                                         f'inport="{peer.friendly}")')
                new = pkt.copy()
                new["reg14"] = peer.tunnel_key
                new["reg15"] = 0
                self.trace_table(peer.dp, new, 0, "ingress", node)
            else:
                sup.add(MODIFY, f'output("{out_name}")')
            return

        egress = pkt.copy()
        for i in range(16):
            if i not in (14, 15):
                egress.pop(f"reg{i}", None)
        in_key = pkt.get("reg14")
        inport_name = sb.port_key_to_name(dp, in_key)
        loopback = bool(pkt.get("reg10") & MLF_ALLOW_LOOPBACK)
        if mc is not None:
            mcnode = sup.add(PIPELINE, f'multicast(dp="{dp.friendly}", mcgroup="{mc.name}")')
            for p in mc.ports:
                node = mcnode.add(PIPELINE, f'egress(dp="{dp.friendly}", inport="{inport_name}", '
                                            f'outport="{p.friendly}")')
                if p.tunnel_key != in_key or loopback:
                    node.always_indent = True
                    # One packet goes through every member's egress pipeline in turn, as in
                    # ovn-trace (changes made for one member are seen by the next).
                    egress["reg15"] = p.tunnel_key
                    self.trace_table(dp, egress, 0, "egress", node)
                else:
                    node.add(OUTPUT, "/* omitting output because inport == outport && "
                                     "!flags.loopback */")
            return
        if port is not None and port.type == "chassisredirect":
            if port.distributed_port is not None:
                sup.add(OUTPUT, f'/* Replacing type "{port.type}" outport "{port.friendly}" '
                                f'with distributed port "{port.distributed_port.friendly}". */')
                port = port.distributed_port
                out_name = port.friendly
                egress["reg15"] = port.tunnel_key
            else:
                sup.add(ERROR, f'*** output to type "{port.type}" port "{out_name}" with no '
                               "or invalid distributed port")
                return
        if (port is not None and port.tunnel_key != in_key) or loopback:
            node = sup.add(PIPELINE, f'egress(dp="{dp.friendly}", inport="{inport_name}", '
                                     f'outport="{out_name}")')
            self.trace_table(dp, egress, 0, "egress", node)
        else:
            sup.add(OUTPUT, "/* omitting output because inport == outport && "
                            "!flags.loopback */")

    # -- conntrack, NAT, load balancing
    def ct_nat(self, a: A.CtNat, dp: Datapath, pkt: Packet, table: int, pipeline: str,
               sup: TNode) -> None:
        is_dst = a.kind.startswith("ct_dnat")
        if not is_dst and dp.has_local_l3gateway and a.ip is None:
            return  # "ct_snat;" has no visible effect in a gateway router
        d = "dst" if is_dst else "src"
        s = f"ct_{d[0]}nat" + ("in_czone" if a.kind.endswith("_in_czone") else "")
        ct = pkt.copy()
        if a.ip is not None:
            if ":" in a.ip:
                s += f"(ip6.{d}={a.ip})"
                ct["ipv6_dst" if is_dst else "ipv6_src"] = int(ipaddress.IPv6Address(a.ip))
            else:
                s += f"(ip4.{d}={a.ip})"
                ct["nw_dst" if is_dst else "nw_src"] = int(ipaddress.IPv4Address(a.ip))
            ct["ct_state"] = ct.get("ct_state") | (CS_DST_NAT if is_dst else CS_SRC_NAT)
        else:
            s += f" /* assuming no un-{d[0]}nat entry, so no change */"
        if not ct.get("ct_state") & CS_TRACKED:
            st, comment = self.next_ct_state()
            ct["ct_state"] = ct.get("ct_state") | st
            s += comment
        self.trace_table(dp, ct, table + 1, pipeline, sup.add(TRANSFORMATION, s))

    def ct_lb(self, a: A.CtLb, dp: Datapath, pkt: Packet, table: int, pipeline: str,
              sup: TNode) -> None:
        comment = ""
        ct = pkt.copy()
        dl = pkt.dl_type
        family = 4 if dl == ETH_TYPE_IP else 6 if dl == ETH_TYPE_IPV6 else 0
        if family:
            dst: tuple[int, int] | None = None
            if a.backends:
                cands = [(int(ipaddress.ip_address(ip)), port) for ip, port in a.backends
                         if (":" in ip) == (family == 6)]
                if self.lb_dst is not None and self.lb_dst[0] == family:
                    for c in cands:
                        if c[0] == self.lb_dst[1]:
                            dst = c
                            self.lb_dst = None
                            break
                if dst is None and cands:
                    dst = self.rng.choice(cands)
                if dst is None:
                    sup.add(ERROR, "*** no load balancing destination (use --lb-dst)")
            elif self.lb_dst is not None and self.lb_dst[0] == family:
                dst = (self.lb_dst[1], self.lb_dst[2])
            if dst is not None:
                if family == 6:
                    ct["ct_ipv6_dst"] = ct.get("ipv6_dst")
                    ct["ipv6_dst"] = dst[0]
                else:
                    ct["ct_nw_dst"] = ct.get("nw_dst")
                    ct["nw_dst"] = dst[0]
                ct["ct_tp_dst"] = ct.get("tp_dst")
                if dst[1]:
                    ct["tp_dst"] = dst[1]
                ct["ct_state"] = ct.get("ct_state") | CS_DST_NAT
            st, comment = self.next_ct_state()
            ct["ct_state"] = ct.get("ct_state") | st
        name = "ct_lb_mark" if a.mark else "ct_lb"
        self.trace_table(dp, ct, table + 1, pipeline, sup.add(TRANSFORMATION, name + comment))

    def select(self, a: A.Select, dp: Datapath, pkt: Packet, table: int, pipeline: str,
               sup: TNode) -> None:
        ids = [m for m, _w in a.members]
        chosen = self.select_id if self.select_id in ids else None
        note = ""
        if chosen is None:
            chosen = self.rng.choice(ids)
            note = " /* Randomly selected. Use --select-id to specify. */"
        new = pkt.copy()
        _write_ref(new, a.dst, chosen)
        node = sup.add(TRANSFORMATION, f"select: {a.dst.name} = {chosen}{note}")
        self.trace_table(dp, new, table + 1, pipeline, node)

    # -- packets built by ovn-controller
    def nested(self, a: A.Nested, text: str, dp: Datapath, pkt: Packet, table: int,
               pipeline: str, sup: TNode) -> None:
        name = a.name
        p = pkt.copy()
        loopback = False
        if name == "reject":
            loopback = True
            proto = pkt.get("nw_proto")
            name = ("tcp_reset" if proto == 6 else "sctp_abort" if proto == 132
                    else "icmp4" if pkt.dl_type == ETH_TYPE_IP else "icmp6")
        if name == "arp":
            for f in ("nw_frag", "ip_dscp", "nw_ecn", "nw_ttl", "tcp_flags"):
                p.pop(f, None)
            p["dl_type"] = ETH_TYPE_ARP
            p["nw_proto"] = 1
            p["arp_sha"] = pkt.get("dl_src")
            p["arp_tha"] = 0
        elif name in ("nd_na", "nd_na_router"):
            name = "nd_na"
            p["dl_src"], p["dl_dst"] = pkt.get("dl_dst"), pkt.get("dl_src")
            p["ipv6_dst"] = pkt.get("ipv6_src")
            p["ipv6_src"] = pkt.get("nd_target")
            p["tp_src"] = 136
            p["arp_sha"] = 0
            p["arp_tha"] = pkt.get("dl_dst")
        elif name == "nd_ns":
            p["dl_dst"] = 0x3333FF000000 | (pkt.get("ipv6_dst") & 0xFFFFFF)
            p["tp_src"] = 135
            p["arp_sha"] = 0
            p["arp_tha"] = pkt.get("dl_dst")
        elif name in ("icmp4", "icmp4_error", "icmp6", "icmp6_error", "tcp_reset",
                      "sctp_abort"):
            v6 = name.startswith("icmp6") or (not name.startswith("icmp")
                                              and pkt.dl_type != ETH_TYPE_IP)
            if name.startswith("icmp"):
                name = "icmp6" if name.startswith("icmp6") else "icmp4"
                if loopback and pkt.get("tp_src") == (1 if v6 else 3):
                    return  # avoid recirculation
            elif loopback and pkt.get("tcp_flags") == TCP_RST:
                return
            if loopback:
                p["dl_dst"], p["dl_src"] = pkt.get("dl_src"), pkt.get("dl_dst")
                if v6:
                    p["ipv6_dst"], p["ipv6_src"] = pkt.get("ipv6_src"), pkt.get("ipv6_dst")
                else:
                    p["nw_dst"], p["nw_src"] = pkt.get("nw_src"), pkt.get("nw_dst")
            p["nw_ttl"] = 255
            if name.startswith("icmp"):
                p["nw_proto"] = 58 if v6 else 1
                p["tp_src"] = 1 if v6 else 3
                p["tp_dst"] = 1
            else:
                p["nw_proto"] = 132 if name == "sctp_abort" and not v6 else 6
                p["tcp_flags"] = TCP_RST
        node = sup.add(TRANSFORMATION, name)
        self.trace_actions(a.actions, split_statements(_inner(text)), dp, p, table, pipeline,
                           node)

    def get_mac_bind(self, a: A.MacBind, dp: Datapath, pkt: Packet, sup: TNode) -> None:
        port_key = _read_ref(pkt, a.args[0])
        ip = _read_ref(pkt, a.args[1])
        if a.args[1].n_bits == 32:
            ip |= _V4MAPPED
        mac = dp.mac_bindings.get((port_key, ip))
        pkt["dl_dst"] = mac or 0
        if mac is not None:
            sup.add(ACT, f"/* MAC binding to {fmt_mac(mac)}. */")
        else:
            sup.add(ACT, "/* No MAC binding. */")
        sup.add(MODIFY, f"eth.dst = {fmt_mac(mac or 0)}")

    def result(self, a: A.Result, dp: Datapath, pkt: Packet, sup: TNode) -> None:
        op = a.op
        if op in ("lookup_arp", "lookup_nd", "lookup_arp_ip", "lookup_nd_ip"):
            port_key = _read_ref(pkt, a.args[0])
            ip = _read_ref(pkt, a.args[1])
            if a.args[1].n_bits == 32:
                ip |= _V4MAPPED
            mac = dp.mac_bindings.get((port_key, ip))
            if len(a.args) > 2 and mac is not None and mac != _read_ref(pkt, a.args[2]):
                mac = None
            if mac is not None:
                sup.add(ACT, "/* MAC binding found. */" if op.endswith("_ip") else
                        f"/* MAC binding to {fmt_mac(pkt.get('dl_dst'))} found. */")
            else:
                sup.add(ACT, "/* lookup failed - No MAC binding. */")
            _write_ref(pkt, a.dst, int(mac is not None))
        elif op == "lookup_fdb":
            port_key = _read_ref(pkt, a.args[0])
            found = dp.fdbs.get(_read_ref(pkt, a.args[1])) == port_key
            if found:
                sup.add(ACT, f"/* MAC lookup for {fmt_mac(pkt.get('dl_dst'))} found in FDB. */")
            else:
                sup.add(ACT, "/* lookup mac failed in mac learning table. */")
            _write_ref(pkt, a.dst, int(found))
        elif op == "get_fdb":
            _write_ref(pkt, a.dst, dp.fdbs.get(_read_ref(pkt, a.args[0]), 0))
        elif op == "check_in_port_sec":
            _write_ref(pkt, a.dst, int(not self.in_port_sec_ok(dp, pkt)))
        elif op == "check_out_port_sec":
            _write_ref(pkt, a.dst, int(not self.out_port_sec_ok(dp, pkt)))
        elif op == "dns_lookup":
            _write_ref(pkt, a.dst, 0)
            sup.add(ERROR, "*** dns_lookup action not implemented")
        elif op in ("chk_lb_hairpin", "chk_lb_hairpin_reply"):
            res = self.lb_hairpin(pkt, op == "chk_lb_hairpin")
            _write_ref(pkt, a.dst, res)
            sup.add(MODIFY, f"{a.dst.name} = {res}")
        # chk_ecmp_nh*, chk_lb_aff: no effect in a trace.

    def lb_hairpin(self, pkt: Packet, orig: bool) -> int:
        vip = self._vip(pkt)
        if vip is None or not pkt.is_ip():
            return 0
        res = 0
        if pkt.get("ct_state") & CS_DST_NAT:
            if pkt.dl_type == ETH_TYPE_IP:
                res = int(pkt.get("nw_src") == pkt.get("nw_dst"))
            else:
                res = int(pkt.get("ipv6_src") == pkt.get("ipv6_dst"))
        port = pkt.get("ct_tp_dst") if orig else pkt.get("tp_dst")
        return res & int(vip[1] == port)

    def _vip(self, pkt: Packet) -> tuple[str, int] | None:
        """The load balancer VIP (address text, port) the packet was sent to before
        ct_lb changed its destination, if any."""
        for key in self.sb.lb_vips:
            ip, port = key, 0
            if key.startswith("["):
                ip, _, rest = key[1:].partition("]")
                port = int(rest[1:]) if rest.startswith(":") else 0
            elif key.count(":") == 1:
                ip, _, ps = key.partition(":")
                port = int(ps)
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                continue
            if (addr.version == 4 and int(addr) == pkt.get("ct_nw_dst")) or \
                    (addr.version == 6 and int(addr) == pkt.get("ct_ipv6_dst")):
                return ip, port
        return None

    def put_opts(self, a: A.PutOpts, text: str, pkt: Packet, sup: TNode) -> None:
        if a.op != "put_nd_ra_opts":
            sup.add(ERROR, "/* We assume that this packet is DHCPDISCOVER or DHCPREQUEST. */")
        i = text.find(a.op + "(")
        args = text[i + len(a.op) + 1:text.rfind(")")] if i >= 0 else ""
        sup.add(MODIFY, f"{a.op}({args.strip()})")
        if not _is_register(a.dst):
            sup.add(MODIFY, f"{a.dst.name} = 1")
        _write_ref(pkt, a.dst, 1)

    # -- port security (what ovn-controller's check_in/out_port_sec tables decide)
    def in_port_sec_ok(self, dp: Datapath, pkt: Packet) -> bool:
        port = self.sb.port_by_key(dp, pkt.get("reg14"))
        if port is None or not port.ps_addrs:
            return True
        for ps in port.ps_addrs:
            if pkt.get("dl_src") != ps.mac:
                continue
            dl = pkt.dl_type
            if dl == ETH_TYPE_IP:
                return _in_ip4(pkt, ps)
            if dl == ETH_TYPE_ARP:
                return pkt.get("arp_sha") == ps.mac and (
                    not ps.ipv4 or pkt.get("nw_src") in ps.ipv4)
            if dl == ETH_TYPE_IPV6:
                return _in_ip6(pkt, ps)
            return True
        return False

    def out_port_sec_ok(self, dp: Datapath, pkt: Packet) -> bool:
        port = self.sb.port_by_key(dp, pkt.get("reg15"))
        if port is None or not port.ps_addrs:
            return True
        for ps in port.ps_addrs:
            if pkt.get("dl_dst") != ps.mac:
                continue
            dl = pkt.dl_type
            if (not ps.ipv4 and not ps.ipv6) or dl not in (ETH_TYPE_IP, ETH_TYPE_IPV6):
                return True
            if dl == ETH_TYPE_IP:
                dst = pkt.get("nw_dst")
                return bool(ps.ipv4) and (dst in ps.ipv4 or dst == 0xFFFFFFFF
                                          or dst >> 28 == 0xE)
            dst = pkt.get("ipv6_dst")
            return bool(ps.ipv6) and (dst in ps.ipv6 or dst == _lla(ps.mac)
                                      or dst >> 120 == 0xFF)
        return False


def _in_ip4(pkt: Packet, ps: PortSecurity) -> bool:
    if not ps.ipv4 and not ps.ipv6:
        return True
    if pkt.get("nw_src") in ps.ipv4:
        return True
    return (pkt.get("nw_proto") == 17 and pkt.get("tp_src") == 68 and pkt.get("tp_dst") == 67
            and pkt.get("nw_src") == 0 and pkt.get("nw_dst") == 0xFFFFFFFF)


def _in_ip6(pkt: Packet, ps: PortSecurity) -> bool:
    if not ps.ipv4 and not ps.ipv6:
        return True
    lla = _lla(ps.mac)
    src = pkt.get("ipv6_src")
    if src not in ps.ipv6 and src != lla:
        return False
    if pkt.get("nw_proto") == 58:
        t = pkt.get("tp_src")
        if t == 135 and pkt.get("arp_sha") not in (0, ps.mac):
            return False
        if t == 136:
            if pkt.get("arp_tha") not in (0, ps.mac):
                return False
            if ps.ipv6 and pkt.get("nd_target") not in ps.ipv6 and pkt.get("nd_target") != lla:
                return False
    return True
