"""Encoding of parsed logical actions into the neutral OpenFlow representation, following
ovn-controller 23.03 (lib/actions.c): table numbers, register conventions, argument
save/restore around table lookups, and controller actions whose userdata starts with
OVN's action_header (32-bit opcode, 4 pad bytes).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyovn.logical import actions_ast as A
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S
from pyovn.logical.nd_ra import PRF, dnssl_option, rdnss_option, route_info_options

# ACTION_OPCODE_* of include/ovn/actions.h.
OP_ARP = 0
OP_PUT_ARP = 1
OP_PUT_DHCP_OPTS = 2
OP_ND_NA = 3
OP_PUT_ND = 4
OP_PUT_DHCPV6_OPTS = 5
OP_DNS_LOOKUP = 6
OP_LOG = 7
OP_PUT_ND_RA_OPTS = 8
OP_ND_NS = 9
OP_ICMP = 10
OP_TCP_RESET = 11
OP_ND_NA_ROUTER = 12
OP_PUT_ICMP4_FRAG_MTU = 13
OP_ICMP4_ERROR = 14
OP_EVENT = 15
OP_IGMP = 16
OP_BIND_VPORT = 17
OP_HANDLE_SVC_CHECK = 18
OP_DHCP6_SERVER = 19
OP_ICMP6_ERROR = 20
OP_PUT_ICMP6_FRAG_MTU = 21
OP_REJECT = 22
OP_BFD_MSG = 23
OP_SCTP_ABORT = 24
OP_PUT_FDB = 25
OP_ACTIVATION_STRATEGY_RARP = 26

_NESTED_OPS = {"arp": OP_ARP, "nd_na": OP_ND_NA, "nd_na_router": OP_ND_NA_ROUTER,
               "nd_ns": OP_ND_NS, "icmp4": OP_ICMP, "icmp6": OP_ICMP,
               "icmp4_error": OP_ICMP4_ERROR, "icmp6_error": OP_ICMP6_ERROR,
               "tcp_reset": OP_TCP_RESET, "sctp_abort": OP_SCTP_ABORT, "reject": OP_REJECT}
_LOG_SEVERITY = {"alert": 1, "warning": 4, "notice": 5, "info": 6, "debug": 7}
_LOG_VERDICT = {"allow": 0, "drop": 1, "reject": 2}

# R = func() actions that resubmit to a table and read back one flag bit.
_RESULT_TABLES = {
    "chk_lb_hairpin": (O.OFTABLE_CHK_LB_HAIRPIN, S.MLF_LOOKUP_LB_HAIRPIN_BIT),
    "chk_lb_hairpin_reply": (O.OFTABLE_CHK_LB_HAIRPIN_REPLY, S.MLF_LOOKUP_LB_HAIRPIN_BIT),
    "check_in_port_sec": (O.OFTABLE_CHK_IN_PORT_SEC, S.MLF_CHECK_PORT_SEC_BIT),
    "check_out_port_sec": (O.OFTABLE_CHK_OUT_PORT_SEC, S.MLF_CHECK_PORT_SEC_BIT),
    "chk_ecmp_nh_mac": (O.OFTABLE_ECMP_NH_MAC, S.MLF_LOOKUP_COMMIT_ECMP_NH_BIT),
    "chk_ecmp_nh": (O.OFTABLE_ECMP_NH, S.MLF_LOOKUP_COMMIT_ECMP_NH_BIT),
    "chk_lb_aff": (O.OFTABLE_CHK_LB_AFFINITY, S.MLF_USE_LB_AFF_SESSION_BIT),
}


@dataclass
class EncodeParams:
    """Where the actions run and how names become numbers (ovnact_encode_params)."""

    pipeline: str = "ingress"
    table: int = 0
    is_switch: bool = True
    lookup_port: Callable[[str], int | None] = lambda _name: None
    groups: O.GroupTable = field(default_factory=O.GroupTable)
    meters: O.GroupTable = field(default_factory=O.GroupTable)
    ctrl_meter_id: int | None = None
    dp_key: int = 0
    cookie: int = 0
    # Datapath supports all-zero SNAT at commit (OVS_CT_ZERO_SNAT_SUPPORT): ct_commit
    # then adds nat(src) to avoid tuple collisions with NATed sessions.
    ct_zero_snat: bool = True
    # Tunnel OpenFlow port towards a remote port's chassis (fwd_group liveness).
    tunnel_ofport: Callable[[str], int | None] = lambda _name: None

    def ptable(self, pipeline: str, table: int) -> int:
        base = O.OFTABLE_LOG_INGRESS_PIPELINE if pipeline == "ingress" \
            else O.OFTABLE_LOG_EGRESS_PIPELINE
        return base + table

    @property
    def next_ptable(self) -> int:
        return self.ptable(self.pipeline, self.table + 1)

    @property
    def output_ptable(self) -> int:
        return O.OFTABLE_OUTPUT_LARGE_PKT_DETECT if self.pipeline == "ingress" \
            else O.OFTABLE_SAVE_INPORT


def canon(of_field: str, ofs: int, n_bits: int) -> O.SubField:
    """Names bits of a composite register by the 32-bit register holding them, if one does."""
    regs = O.COMPOSITE.get(of_field)
    if regs is not None:
        n = len(regs)
        k = ofs // 32
        if (ofs + n_bits - 1) // 32 == k:
            return O.SubField(regs[n - 1 - k], ofs - 32 * k, n_bits)
    return O.SubField(of_field, ofs, n_bits)


def sub(ref: A.FieldRef) -> O.SubField:
    return canon(ref.of_field, ref.ofs, ref.n_bits)


def raw(ref: A.FieldRef) -> O.SubField:
    """The bits as OVN resolves them: reg0 is xxreg0[96..127], reg9 is xreg4[0..31]."""
    return O.SubField(ref.of_field, ref.ofs, ref.n_bits)


def load(sf: O.SubField, value: int) -> O.SetField:
    return O.SetField(sf.field, value << sf.ofs, ((1 << sf.n_bits) - 1) << sf.ofs)


def _reg(name: str, bit: int, n: int = 1) -> O.SubField:
    return O.SubField(name, bit, n)


def _nxm_header(sf: O.SubField) -> bytes:
    """OXM/NXM header of the register holding a controller action's result (as
    nx_put_header() writes it): NXM_NX_REGn, NXM_NX_XXREGn, or OXM_OF_PKT_REGn."""
    if sf.field.startswith("reg"):
        n = int(sf.field[3:])
        return struct.pack("!I", (0x0001 << 16) | (n << 9) | 4)
    if sf.field.startswith("xxreg"):
        n = int(sf.field[5:])
        return struct.pack("!I", (0x0001 << 16) | ((111 + n) << 9) | 16)
    if sf.field.startswith("xreg"):
        n = int(sf.field[4:])
        return struct.pack("!I", (0x8001 << 16) | (n << 9) | 8)
    raise ValueError(f"{sf.field} cannot hold a controller action's result")


def _result_header(sf: O.SubField) -> bytes:
    return _nxm_header(sf) + struct.pack("!I", sf.ofs)


Args = list[tuple[A.FieldRef, O.SubField]]  # (source, whole destination field)


def _differs(src: A.FieldRef, dst: O.SubField) -> bool:
    # OVN compares field ids only, on the resolved source: reg0 (= xxreg0[96..127])
    # differs from MFF_REG0, so it is still saved and copied.
    return src.of_field != dst.field


def _setup_args(args: Args, out: list[O.Action]) -> None:
    """OVN's encode_setup_args(): save the destinations, push the sources in reverse
    order, pop them into the destinations (the stack allows overlapping arguments)."""
    for src, dst in args:
        if _differs(src, dst):
            out.append(O.Push(dst))
    for src, dst in reversed(args):
        if _differs(src, dst):
            out.append(O.Push(sub(src)))
    for src, dst in args:
        if _differs(src, dst):
            out.append(O.Pop(dst))


def _restore_args(args: Args, out: list[O.Action]) -> None:
    for src, dst in reversed(args):
        if _differs(src, dst):
            out.append(O.Pop(dst))


INPORT = O.SubField(S.LOG_INPORT, 0, 32)
OUTPORT = O.SubField(S.LOG_OUTPORT, 0, 32)
ETH_SRC = O.SubField("dl_src", 0, 48)
ETH_DST = O.SubField("dl_dst", 0, 48)
REG0 = O.SubField("reg0", 0, 32)
XXREG0 = O.SubField("xxreg0", 0, 128)


def _controller(op: int, ep: EncodeParams, payload: bytes = b"", pause: bool = False,
                nested: tuple[O.Action, ...] | None = None,
                meter_id: int | None = None) -> O.Controller:
    return O.Controller(op, payload, nested, pause,
                        meter_id if meter_id is not None else ep.ctrl_meter_id)


def encode_actions(acts: Sequence[A.Act], ep: EncodeParams) -> list[O.Action]:
    out: list[O.Action] = []
    for a in acts:
        _encode(a, ep, out)
    return out


def _encode(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    fn = _ENCODERS.get(type(a))
    if fn is None:
        raise NotImplementedError(type(a).__name__)
    fn(a, ep, out)


def _enc_next(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Next)
    out.append(O.Resubmit(ep.ptable(a.pipeline, a.table)))


def _enc_output(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    out.append(O.Resubmit(ep.output_ptable))


def _enc_load(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Load)
    d = a.dst
    if d.ovn_field:
        assert isinstance(a.value, int)
        if d.symbol == "icmp4.frag_mtu":
            out.append(_controller(OP_PUT_ICMP4_FRAG_MTU, ep, struct.pack("!H", a.value),
                                   pause=True))
        else:
            out.append(_controller(OP_PUT_ICMP6_FRAG_MTU, ep, struct.pack("!I", a.value),
                                   pause=True))
        return
    if isinstance(a.value, str):
        key = ep.lookup_port(a.value)
        out.append(load(sub(d), key or 0))
        return
    sf = sub(d)
    full = (1 << d.n_bits) - 1
    mask = full if a.mask is None else a.mask
    out.append(O.SetField(sf.field, (a.value & mask) << sf.ofs, mask << sf.ofs))


def _enc_move(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Move)
    out.append(O.Move(sub(a.src), sub(a.dst)))


def _enc_exchange(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Exchange)
    x, y = sub(a.a), sub(a.b)
    out += [O.Push(y), O.Push(x), O.Pop(y), O.Pop(x)]


def _enc_pushpop(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.PushPop)
    out.append(O.Push(sub(a.ref)) if a.push else O.Pop(sub(a.ref)))


def _enc_dec_ttl(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    out.append(O.DecTTL())


def _zone(ep: EncodeParams, which: str) -> O.SubField:
    if ep.is_switch:
        return O.SubField(S.LOG_CT_ZONE, 0, 16)
    reg = S.LOG_DNAT_ZONE if which == "dnat" else S.LOG_SNAT_ZONE
    return O.SubField(reg, 0, 16)


def _enc_ct_next(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    out.append(O.CT(table=ep.next_ptable, zone=_zone(ep, "dnat")))


def _enc_ct_commit(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.CtCommit)
    inner: list[O.Action] = []
    for n in a.nested:
        _encode(n, ep, inner)
    nat = O.NAT("src") if ep.ct_zero_snat else None
    out.append(O.CT(commit=True, zone=_zone(ep, "dnat"), exec_=tuple(inner), nat=nat))


def _enc_ct_nat(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.CtNat)
    dnat = a.kind.startswith("ct_dnat")
    # NAT always uses the router NAT zones, even in a switch (ls_in_nat_hairpin uses
    # ct_snat); the *_in_czone variants use the common (DNAT) zone.
    if a.kind.endswith("_in_czone") or dnat:
        zone = O.SubField(S.LOG_DNAT_ZONE, 0, 16)
    else:
        zone = O.SubField(S.LOG_SNAT_ZONE, 0, 16)
    if a.ip is None:
        nat = O.NAT("")
        out.append(O.CT(table=ep.next_ptable, zone=zone, nat=nat))
        return
    nat = O.NAT("dst" if dnat else "src", a.ip, "", a.port_lo, a.port_hi)
    out.append(O.CT(commit=True, table=ep.next_ptable, zone=zone, nat=nat))


def _enc_simple(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Simple)
    n = a.name
    if n == "ct_clear":
        out.append(O.CTClear())
    elif n == "ct_commit_nat":
        zone = _zone(ep, "dnat")
        out.append(O.CT(commit=True, table=ep.next_ptable, zone=zone, nat=O.NAT("")))
    elif n == "ct_snat_to_vip":
        out.append(O.Resubmit(O.OFTABLE_CT_SNAT_HAIRPIN))
    elif n == "igmp":
        out.append(_controller(OP_IGMP, ep))
    elif n == "handle_dhcpv6_reply":
        out.append(_controller(OP_DHCP6_SERVER, ep))
    elif n == "handle_bfd_msg":
        out.append(_controller(OP_BFD_MSG, ep))
    elif n == "activation_strategy_rarp":
        out.append(_controller(OP_ACTIVATION_STRATEGY_RARP, ep, pause=True))
    else:  # pragma: no cover - the parser only produces the names above
        raise NotImplementedError(n)


def _enc_ct_lb(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.CtLb)
    zone = O.SubField(S.LOG_CT_ZONE if ep.is_switch else S.LOG_DNAT_ZONE, 0, 16)
    if not a.backends:
        out.append(O.CT(table=ep.next_ptable, zone=zone, nat=O.NAT("")))
        return
    # Mark the connection as load balanced (and its SNAT choice) in ct_mark or ct_label.
    sets: list[O.Action] = []
    field = "ct_mark" if a.mark else "ct_label"
    sets.append(O.SetField(field, 1 << 1, 1 << 1))  # natted
    if a.ct_flag == "skip_snat":
        sets.append(O.SetField(field, 1 << 2, 1 << 2))
    elif a.ct_flag == "force_snat":
        sets.append(O.SetField(field, 1 << 3, 1 << 3))
    buckets = []
    specs = []
    for i, (ip, port) in enumerate(a.backends):
        ct = O.CT(commit=True, table=ep.next_ptable, zone=zone,
                  nat=O.NAT("dst", ip, "", port, port), exec_=tuple(sets))
        buckets.append(f"bucket=bucket_id:{i},weight:100,actions={ct}")
        specs.append(O.GroupBucket(i, (ct,)))
    if a.hash_fields:
        method = f"selection_method=hash,fields({a.hash_fields})"
        spec = O.GroupSpec(tuple(specs), selection_method="hash",
                           fields=tuple(f.strip() for f in a.hash_fields.split(",")
                                        if f.strip()))
    else:
        method = "selection_method=dp_hash"
        spec = O.GroupSpec(tuple(specs), selection_method="dp_hash")
    desc = f"type=select,{method}," + ",".join(buckets)
    out.append(O.Group(ep.groups.get(desc, spec)))


def _enc_nested(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Nested)
    inner = tuple(encode_actions(a.actions, ep))
    if a.name == "clone":
        out.append(O.Clone(inner))
        return
    # These generate a new packet in ovn-controller; the original is not resumed.
    out.append(_controller(_NESTED_OPS[a.name], ep, nested=inner))


def _enc_mac_bind(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.MacBind)
    ip_dst = REG0 if a.op.endswith("arp") else XXREG0
    if a.op.startswith("get"):
        args: Args = [(a.args[0], OUTPORT), (a.args[1], ip_dst)]
        _setup_args(args, out)
        out.append(load(ETH_DST, 0))
        out.append(O.Resubmit(O.OFTABLE_MAC_BINDING))
        _restore_args(args, out)
        return
    args = [(a.args[0], INPORT), (a.args[1], ip_dst), (a.args[2], ETH_SRC)]
    _setup_args(args, out)
    out.append(_controller(OP_PUT_ARP if a.op == "put_arp" else OP_PUT_ND, ep))
    _restore_args(args, out)


def _flag_result(dst: O.SubField, table: int, bit: int, out: list[O.Action]) -> None:
    flag = _reg(S.LOG_FLAGS, bit)
    out.append(load(flag, 0))
    out.append(O.Resubmit(table))
    out.append(O.Move(flag, dst))


def _enc_result(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Result)
    dst = sub(a.dst)
    op = a.op
    if op in _RESULT_TABLES:
        table, bit = _RESULT_TABLES[op]
        _flag_result(dst, table, bit, out)
    elif op == "dns_lookup":
        out.append(_controller(OP_DNS_LOOKUP, ep, _result_header(raw(a.dst)), pause=True))
    elif op in ("lookup_arp_ip", "lookup_nd_ip"):
        # Is there a MAC binding for (port, ip) at all?  Looked up in the MAC binding
        # table with the port as outport, eth.dst saved around the lookup.
        ip_dst = REG0 if "arp" in op else XXREG0
        args: Args = [(a.args[0], OUTPORT), (a.args[1], ip_dst)]
        _setup_args(args, out)
        out.append(O.Push(ETH_DST))
        _flag_result(dst, O.OFTABLE_MAC_BINDING, S.MLF_LOOKUP_MAC_BIT, out)
        out.append(O.Pop(ETH_DST))
        _restore_args(args, out)
    elif op in ("lookup_arp", "lookup_nd"):
        ip_dst = REG0 if "arp" in op else XXREG0
        args = [(a.args[0], INPORT), (a.args[1], ip_dst)]
        if len(a.args) > 2:
            args.append((a.args[2], ETH_SRC))
        _setup_args(args, out)
        _flag_result(dst, O.OFTABLE_MAC_LOOKUP, S.MLF_LOOKUP_MAC_BIT, out)
        _restore_args(args, out)
    elif op == "lookup_fdb":
        args = [(a.args[0], INPORT), (a.args[1], ETH_SRC)]
        _setup_args(args, out)
        _flag_result(dst, O.OFTABLE_LOOKUP_FDB, S.MLF_LOOKUP_FDB_BIT, out)
        _restore_args(args, out)
    elif op == "get_fdb":
        args = [(a.args[0], ETH_DST)]
        _setup_args(args, out)
        if dst != OUTPORT:
            out.append(O.Push(OUTPORT))
        out.append(load(OUTPORT, 0))
        out.append(O.Resubmit(O.OFTABLE_GET_FDB))
        if dst != OUTPORT:
            out.append(O.Move(OUTPORT, dst))
            out.append(O.Pop(OUTPORT))
        _restore_args(args, out)
    else:  # pragma: no cover
        raise NotImplementedError(op)


def _enc_put_opts(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.PutOpts)
    payload = _result_header(raw(a.dst))
    if a.op == "put_nd_ra_opts":
        out.append(_controller(OP_PUT_ND_RA_OPTS, ep, payload + _nd_ra(a), pause=True))
        return
    if a.op == "put_dhcp_opts":
        offer = a.options[0]
        payload += offer[0].value_bytes(offer[1])
        rest = a.options[1:]
        op = OP_PUT_DHCP_OPTS
    else:
        rest = a.options
        op = OP_PUT_DHCPV6_OPTS if a.op == "put_dhcpv6_opts" else OP_PUT_ND_RA_OPTS
    for od, vals in rest:
        payload += od.encode(vals)
    out.append(_controller(op, ep, payload, pause=True))


def _enc_log(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Log)
    payload = bytes([_LOG_VERDICT[a.verdict], _LOG_SEVERITY[a.severity]])
    payload += (a.name or "").encode()
    # A plain name is an SB Meter row's; "__string: " descriptions are set_meter's own.
    meter = ep.meters.get(a.meter) if a.meter else None
    out.append(_controller(OP_LOG, ep, payload, meter_id=meter))


def _enc_trigger_event(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.TriggerEvent)
    codes = {"vip": 1, "protocol": 2, "load_balancer": 3}
    payload = struct.pack("!I", 0)  # OVN_EVENT_EMPTY_LB_BACKENDS
    for k, v in a.options:
        b = v.encode()
        payload += struct.pack("!HH", codes[k], len(b)) + b
    out.append(_controller(OP_EVENT, ep, payload))


def _enc_int_arg(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.IntArg)
    if a.op == "set_queue":
        out.append(O.SetQueue(a.values[0]))
    elif a.op == "set_meter":
        rate = a.values[0]
        burst = a.values[1] if len(a.values) > 1 else 0
        if burst:
            desc = f"__string: kbps burst stats bands=type=drop rate={rate} burst_size={burst}"
        else:
            desc = f"__string: kbps stats bands=type=drop rate={rate}"
        out.append(O.Meter(ep.meters.get(desc)))
    elif a.op == "check_pkt_larger":
        assert a.dst is not None
        out.append(O.CheckPktLarger(a.values[0], sub(a.dst)))


def _enc_port_arg(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.PortArg)
    if a.op == "bind_vport":
        assert a.name is not None
        key = ep.lookup_port(a.name)
        if key is None:
            return
        args: Args = [(a.args[0], INPORT)]
        _setup_args(args, out)
        out.append(_controller(OP_BIND_VPORT, ep, struct.pack("!I", key)))
        _restore_args(args, out)
    elif a.op == "handle_svc_check":
        args = [(a.args[0], INPORT)]
        _setup_args(args, out)
        out.append(_controller(OP_HANDLE_SVC_CHECK, ep))
        _restore_args(args, out)
    elif a.op == "put_fdb":
        args = [(a.args[0], INPORT), (a.args[1], ETH_SRC)]
        _setup_args(args, out)
        out.append(_controller(OP_PUT_FDB, ep))
        _restore_args(args, out)


def _enc_select(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.Select)
    dst = raw(a.dst)
    buckets = []
    specs = []
    for i, (mid, weight) in enumerate(a.members):
        bacts = (load(dst, mid), O.Resubmit(ep.next_ptable))
        buckets.append(f"bucket=bucket_id:{i},weight:{weight},"
                       f"actions={O.format_actions(bacts)}")
        specs.append(O.GroupBucket(i, bacts, weight))
    desc = ("type=select,selection_method=dp_hash,selection_method_param=4294967296," +
            ",".join(buckets))
    spec = O.GroupSpec(tuple(specs), selection_method="dp_hash",
                       selection_method_param=4294967296)
    out.append(O.Group(ep.groups.get(desc, spec)))


def _enc_commit_lb_aff(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.CommitLbAff)
    v6 = ":" in a.vip
    proto = {"tcp": 6, "udp": 17, "sctp": 132}[a.proto]
    specs = ["OXM_OF_METADATA[]", f"eth_type={0x86DD if v6 else 0x800:#x}"]
    if v6:
        specs += ["NXM_NX_IPV6_SRC[]", f"ipv6_dst={a.vip}"]
    else:
        specs += ["NXM_OF_IP_SRC[]", f"ip_dst={a.vip}"]
    specs.append(f"nw_proto={proto}")
    if a.vip_port:
        specs.append(f"{a.proto}_dst={a.vip_port}")
    specs.append(f"load:0x1->NXM_NX_REG10[{S.MLF_USE_LB_AFF_SESSION_BIT}]")
    be = int(ipaddress.ip_address(a.backend))
    specs.append(f"load:{be:#x}->NXM_NX_XXREG1[]" if v6 else f"load:{be:#x}->NXM_NX_REG4[]")
    if a.backend_port:
        specs.append(f"load:{a.backend_port:#x}->NXM_NX_REG8[0..15]")
    out.append(O.Learn(O.OFTABLE_CHK_LB_AFFINITY, O.DEFAULT_PRIORITY, tuple(specs),
                       idle_timeout=a.timeout, delete_learned=True))


def _enc_commit_ecmp_nh(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    """Two learned flows: table 76 remembers the next hop's MAC for the 5-tuple, table
    77 the reverse 5-tuple; both set the ECMP flag bit (ovn-controller 23.03's form)."""
    assert isinstance(a, A.CommitEcmpNh)
    proto = {"tcp": 6, "udp": 17, "sctp": 132}.get(a.proto, 0)
    eth_type = f"eth_type={0x86DD if a.ipv6 else 0x800:#x}"
    src, dst = ("NXM_NX_IPV6_SRC[]", "NXM_NX_IPV6_DST[]") if a.ipv6 else \
        ("NXM_OF_IP_SRC[]", "NXM_OF_IP_DST[]")
    tp = {"tcp": "NXM_OF_TCP", "udp": "NXM_OF_UDP", "sctp": "OXM_OF_SCTP"}.get(a.proto)
    flag = f"load:0x1->NXM_NX_REG10[{S.MLF_LOOKUP_COMMIT_ECMP_NH_BIT}]"
    fwd = ["OXM_OF_METADATA[]", "NXM_OF_ETH_SRC[]", eth_type, src, dst]
    rev = ["OXM_OF_METADATA[]", eth_type, f"{src}={dst}", f"{dst}={src}"]
    if proto:
        fwd.append(f"nw_proto={proto}")
        rev.append(f"nw_proto={proto}")
    if tp:
        fwd += [f"{tp}_SRC[]", f"{tp}_DST[]"]
        rev += [f"{tp}_SRC[]={tp}_DST[]", f"{tp}_DST[]={tp}_SRC[]"]
    for table, specs in ((O.OFTABLE_ECMP_NH_MAC, fwd), (O.OFTABLE_ECMP_NH, rev)):
        out.append(O.Learn(table, O.DEFAULT_PRIORITY, (*specs, flag), idle_timeout=20,
                           hard_timeout=30, delete_learned=True))


def _enc_fwd_group(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.FwdGroup)
    buckets = []
    specs = []
    for i, port in enumerate(a.ports):
        key = ep.lookup_port(port)
        if key is None:
            continue
        live = ""
        ofport = None
        if a.liveness:
            # Liveness is the BFD state of the tunnel to the port's chassis: a port
            # without a tunnel (local, or unknown) cannot be watched and is left out.
            ofport = ep.tunnel_ofport(port)
            if ofport is None:
                continue
            live = f",watch_port:{ofport}"
        bacts = (load(OUTPORT, key), O.Resubmit(ep.output_ptable))
        buckets.append(f"bucket=bucket_id:{i},weight:100{live},"
                       f"actions={O.format_actions(bacts)}")
        specs.append(O.GroupBucket(i, bacts, 100, ofport))
    if not buckets:
        return
    spec = O.GroupSpec(tuple(specs), selection_method="dp_hash")
    out.append(O.Group(ep.groups.get("type=select,selection_method=dp_hash," +
                                     ",".join(buckets), spec)))


def _enc_sample(a: A.Act, ep: EncodeParams, out: list[O.Action]) -> None:
    assert isinstance(a, A.SampleAct)
    domain = (a.obs_domain << 24) | (ep.dp_key & 0xFFFFFF)
    out.append(O.Sample(a.probability, a.collector_set, domain, a.obs_point or ep.cookie))


_ENCODERS: dict[type, Callable[[A.Act, EncodeParams, list[O.Action]], None]] = {
    A.Next: _enc_next, A.Output: _enc_output, A.Load: _enc_load, A.Move: _enc_move,
    A.Exchange: _enc_exchange, A.PushPop: _enc_pushpop, A.DecTTL: _enc_dec_ttl,
    A.CtNext: _enc_ct_next, A.CtCommit: _enc_ct_commit, A.CtNat: _enc_ct_nat,
    A.Simple: _enc_simple, A.CtLb: _enc_ct_lb, A.Nested: _enc_nested,
    A.MacBind: _enc_mac_bind, A.Result: _enc_result, A.PutOpts: _enc_put_opts,
    A.Log: _enc_log, A.TriggerEvent: _enc_trigger_event, A.IntArg: _enc_int_arg,
    A.PortArg: _enc_port_arg, A.Select: _enc_select, A.CommitLbAff: _enc_commit_lb_aff,
    A.CommitEcmpNh: _enc_commit_ecmp_nh, A.FwdGroup: _enc_fwd_group,
    A.SampleAct: _enc_sample,
}


_RA_FLAGS = {"dhcpv6_stateful": 0x80, "dhcpv6_stateless": 0x40, "slaac": 0}


def _nd_ra(a: A.PutOpts) -> bytes:
    """The router advertisement put_nd_ra_opts() asks ovn-controller to send: ICMPv6 RA
    header (type 134, hop limit 255, M/O flags from addr_mode and the preference bits of
    router_preference, router lifetime 0xffff) followed by the options in the order given
    (SLLA, MTU, RDNSS, DNSSL, route information, prefixes), as 23.03's
    encode_put_nd_ra_option writes them."""
    mode = "slaac"
    flags = 0
    for od, vals in a.options:
        if od.name == "addr_mode":
            mode = str(vals[0].value)
        elif od.name == "router_preference":
            flags |= PRF.get(str(vals[0].value), 0)
    flags |= _RA_FLAGS.get(mode, 0)
    body = bytes([134, 0, 0, 0, 255, flags, 0xFF, 0xFF]) + bytes(8)
    for od, vals in a.options:
        v = vals[0]
        if od.name == "slla":
            body += bytes([1, 1]) + int(v.value).to_bytes(6, "big")
        elif od.name == "mtu":
            body += bytes([5, 1, 0, 0]) + int(v.value).to_bytes(4, "big")
        elif od.name == "prefix":
            for p in vals:
                plen = 128 if p.mask is None else bin(p.mask).count("1")
                pflags = 0x80 | (0x40 if mode != "dhcpv6_stateful" else 0)
                body += bytes([3, 4, plen, pflags]) + b"\xff" * 8 + bytes(4)
                body += int(p.value).to_bytes(16, "big")
        elif od.name == "rdnss":
            body += rdnss_option(int(v.value).to_bytes(16, "big"))
        elif od.name == "dnssl":
            body += dnssl_option(str(v.value))
        elif od.name == "route_info":
            body += route_info_options(str(v.value))
        elif od.name not in ("addr_mode", "router_preference"):
            body += od.encode(vals)
    return body
