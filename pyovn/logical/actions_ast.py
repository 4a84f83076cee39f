"""The parsed form of logical actions (what parse_actions() returns, what the encoder
and a tracer consume)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyovn.logical import lexer as lx
from pyovn.logical.dhcp import OptDef


@dataclass(frozen=True)
class FieldRef:
    """A (sub)field named in an action, resolved to OpenFlow bits."""

    name: str  # as written, e.g. "reg0[3]"
    symbol: str
    of_field: str
    ofs: int
    n_bits: int
    is_string: bool = False
    ovn_field: bool = False


class Act:
    """Base class of parsed logical actions."""


@dataclass
class Next(Act):
    pipeline: str
    table: int


@dataclass
class Output(Act):
    pass


@dataclass
class Load(Act):
    dst: FieldRef
    value: int | str
    mask: int | None = None


@dataclass
class Move(Act):
    dst: FieldRef
    src: FieldRef


@dataclass
class Exchange(Act):
    a: FieldRef
    b: FieldRef


@dataclass
class PushPop(Act):
    push: bool
    ref: FieldRef


@dataclass
class DecTTL(Act):
    pass


@dataclass
class CtNext(Act):
    pass


@dataclass
class CtCommit(Act):
    nested: list[Act]


@dataclass
class CtNat(Act):
    kind: str  # ct_dnat, ct_snat, ct_dnat_in_czone, ct_snat_in_czone
    ip: str | None = None
    port_lo: int = 0
    port_hi: int = 0


@dataclass
class Simple(Act):
    """An action with no arguments: ct_clear, ct_commit_nat, igmp, ..."""

    name: str


@dataclass
class CtLb(Act):
    mark: bool
    backends: list[tuple[str, int]] = field(default_factory=list)
    hash_fields: str | None = None
    ct_flag: str | None = None


@dataclass
class Nested(Act):
    name: str  # clone, arp, nd_na, nd_na_router, nd_ns, icmp4, ...
    actions: list[Act]


@dataclass
class MacBind(Act):
    op: str  # get_arp, put_arp, get_nd, put_nd
    args: list[FieldRef]


@dataclass
class Result(Act):
    """R = func(args...): lookup_*, chk_*, check_*, dns_lookup, get_fdb, ..."""

    op: str
    dst: FieldRef
    args: list[FieldRef] = field(default_factory=list)


@dataclass
class PutOpts(Act):
    op: str  # put_dhcp_opts, put_dhcpv6_opts, put_nd_ra_opts
    dst: FieldRef
    options: list[tuple[OptDef, list[lx.Token]]]


@dataclass
class Log(Act):
    name: str | None = None
    severity: str = "info"
    verdict: str = "allow"
    meter: str | None = None


@dataclass
class TriggerEvent(Act):
    event: str
    options: list[tuple[str, str]]


@dataclass
class IntArg(Act):
    """set_queue(N), check_pkt_larger (as Result with len), set_meter(rate[, burst])."""

    op: str
    values: list[int]
    dst: FieldRef | None = None


@dataclass
class PortArg(Act):
    """bind_vport("v", P), handle_svc_check(P), put_fdb(P, A)."""

    op: str
    name: str | None
    args: list[FieldRef]


@dataclass
class Select(Act):
    dst: FieldRef
    members: list[tuple[int, int]]


@dataclass
class CommitLbAff(Act):
    vip: str
    vip_port: int
    backend: str
    backend_port: int
    proto: str
    timeout: int


@dataclass
class CommitEcmpNh(Act):
    ipv6: bool
    proto: str


@dataclass
class FwdGroup(Act):
    liveness: bool
    ports: list[str]


@dataclass
class SampleAct(Act):
    probability: int
    collector_set: int = 0
    obs_domain: int = 0
    obs_point: int = 0


@dataclass
class ParsedActions:
    actions: list[Act]
    prereqs: list[str]


def walk_actions(acts: Sequence[Act]) -> list[Act]:
    out: list[Act] = []
    for a in acts:
        out.append(a)
        if isinstance(a, Nested):
            out.extend(walk_actions(a.actions))
        elif isinstance(a, CtCommit):
            out.extend(walk_actions(a.nested))
    return out


