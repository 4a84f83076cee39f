"""What the controller computes from: plain, immutable views of the SB rows it uses and of
the chassis' own Open vSwitch, so that the flow computation is a pure function that tests
feed without any database (see state.py for the adapters from the IDL replicas)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class Datapath:
    uuid: str
    key: int  # Datapath_Binding.tunnel_key: OpenFlow metadata
    is_switch: bool
    name: str = ""


@dataclass(frozen=True)
class PortBinding:
    uuid: str
    logical_port: str
    datapath: str  # Datapath uuid
    key: int  # Port_Binding.tunnel_key: reg14 / reg15
    type: str = ""
    chassis: str | None = None  # name of the chassis it is bound to
    parent_port: str | None = None
    tag: int | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    mac: tuple[str, ...] = ()
    requested_chassis: str | None = None  # chassis name (options or column)
    up: bool = False
    # The HA chassis group (or legacy Gateway_Chassis rows) of a chassisredirect or external
    # port: (priority, chassis name or None), and the group's ref_chassis (see ha.py).
    ha_chassis: tuple[tuple[int, str | None], ...] = ()
    ha_ref_chassis: tuple[str, ...] = ()

    @property
    def cookie(self) -> int:
        """ovn-controller's cookie for a port's physical flows: its UUID's first 32 bits."""
        return int(self.uuid[:8], 16)


@dataclass(frozen=True)
class MulticastGroup:
    uuid: str
    name: str
    datapath: str
    key: int
    ports: tuple[str, ...]  # Port_Binding uuids

    @property
    def cookie(self) -> int:
        return int(self.uuid[:8], 16)


@dataclass(frozen=True)
class LogicalFlow:
    uuid: str
    datapaths: tuple[str, ...]  # logical_datapath, or the members of logical_dp_group
    pipeline: str
    table: int
    priority: int
    match: str
    actions: str
    in_out_port: str | None = None  # tags:in_out_port
    controller_meter: str | None = None

    @property
    def cookie(self) -> int:
        return int(self.uuid[:8], 16)


@dataclass(frozen=True)
class MacBinding:
    uuid: str
    logical_port: str
    ip: str
    mac: str
    datapath: str


@dataclass(frozen=True)
class Fdb:
    """An SB FDB row: a MAC learned on a port of a switch (put_fdb), both named by their
    tunnel keys as the row stores them."""

    uuid: str
    mac: str
    dp_key: int
    port_key: int

    @property
    def cookie(self) -> int:
        return int(self.uuid[:8], 16)


@dataclass(frozen=True)
class LoadBalancer:
    """An SB Load_Balancer row, with its datapath group already expanded into
    'datapaths' (as Logical_Flow's)."""

    uuid: str
    name: str
    vips: Mapping[str, str]  # "VIP[:port]" -> "backend[:port],..."
    protocol: str  # "tcp", "udp", "sctp" or "" (tcp)
    datapaths: tuple[str, ...]
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def cookie(self) -> int:
        return int(self.uuid[:8], 16)


@dataclass(frozen=True)
class Encap:
    type: str
    ip: str
    # Encap.options (csum, dst_port): the tunnel port to this chassis carries them.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Chassis:
    name: str
    encaps: tuple[Encap, ...]


@dataclass
class SbState:
    """The SB rows that concern this chassis, by UUID (by name for chassis)."""

    datapaths: dict[str, Datapath] = field(default_factory=dict)
    ports: dict[str, PortBinding] = field(default_factory=dict)
    mcast_groups: dict[str, MulticastGroup] = field(default_factory=dict)
    lflows: dict[str, LogicalFlow] = field(default_factory=dict)
    mac_bindings: dict[str, MacBinding] = field(default_factory=dict)
    chassis: dict[str, Chassis] = field(default_factory=dict)
    address_sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    port_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fdbs: dict[str, Fdb] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)  # SB_Global's

    def port_by_name(self) -> dict[str, PortBinding]:
        return {p.logical_port: p for p in self.ports.values()}


@dataclass
class SbDelta:
    """What changed in an SbState since the last computation: for each row table, the
    UUIDs that changed with their value before the change (None: the row is new; the
    current value, or its absence, is in the state); for the named tables, the names.
    'full': anything may have changed (first run, a rebuild)."""

    full: bool = False
    datapaths: dict[str, Datapath | None] = field(default_factory=dict)
    ports: dict[str, PortBinding | None] = field(default_factory=dict)
    mcast_groups: dict[str, MulticastGroup | None] = field(default_factory=dict)
    lflows: dict[str, LogicalFlow | None] = field(default_factory=dict)
    mac_bindings: dict[str, MacBinding | None] = field(default_factory=dict)
    address_sets: set[str] = field(default_factory=set)
    port_groups: set[str] = field(default_factory=set)
    chassis: set[str] = field(default_factory=set)
    fdbs: dict[str, Fdb | None] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer | None] = field(default_factory=dict)
    options: set[str] = field(default_factory=set)  # SB_Global options whose value changed

    def __bool__(self) -> bool:
        return self.full or any((self.datapaths, self.ports, self.mcast_groups, self.lflows,
                                 self.mac_bindings, self.address_sets, self.port_groups,
                                 self.chassis, self.fdbs, self.load_balancers, self.options))

    def merge(self, later: SbDelta) -> None:
        """Folds a later delta into this one (the earliest old value of a row stays)."""
        self.full |= later.full
        _fold(self.datapaths, later.datapaths)
        _fold(self.ports, later.ports)
        _fold(self.mcast_groups, later.mcast_groups)
        _fold(self.lflows, later.lflows)
        _fold(self.mac_bindings, later.mac_bindings)
        self.address_sets |= later.address_sets
        self.port_groups |= later.port_groups
        self.chassis |= later.chassis
        _fold(self.fdbs, later.fdbs)
        _fold(self.load_balancers, later.load_balancers)
        self.options |= later.options


def _fold(mine: dict[str, V | None], theirs: Mapping[str, V | None]) -> None:
    for u, old in theirs.items():
        mine.setdefault(u, old)


def _dict_delta(old: Mapping[str, V], new: Mapping[str, V]) -> dict[str, V | None]:
    return {k: old.get(k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def diff_states(old: SbState, new: SbState) -> SbDelta:
    """The delta between two whole states (for tests and tools; the controller gets its
    deltas from the replica's change sets, state.py)."""
    d = SbDelta()
    d.datapaths = _dict_delta(old.datapaths, new.datapaths)
    d.ports = _dict_delta(old.ports, new.ports)
    d.mcast_groups = _dict_delta(old.mcast_groups, new.mcast_groups)
    d.lflows = _dict_delta(old.lflows, new.lflows)
    d.mac_bindings = _dict_delta(old.mac_bindings, new.mac_bindings)
    d.address_sets = set(_dict_delta(old.address_sets, new.address_sets))
    d.port_groups = set(_dict_delta(old.port_groups, new.port_groups))
    d.chassis = set(_dict_delta(old.chassis, new.chassis))
    d.fdbs = _dict_delta(old.fdbs, new.fdbs)
    d.load_balancers = _dict_delta(old.load_balancers, new.load_balancers)
    d.options = set(_dict_delta(old.options, new.options))
    return d


def copy_state(sb: SbState) -> SbState:
    """A copy whose dicts can change independently (the values are immutable)."""
    return SbState(dict(sb.datapaths), dict(sb.ports), dict(sb.mcast_groups),
                   dict(sb.lflows), dict(sb.mac_bindings), dict(sb.chassis),
                   dict(sb.address_sets), dict(sb.port_groups), dict(sb.fdbs),
                   dict(sb.load_balancers), dict(sb.options))


@dataclass(frozen=True)
class Interface:
    """An interface on br-int as the controller sees it."""

    name: str
    ofport: int | None  # None until vswitchd has assigned one (or -1: failed)
    iface_id: str | None = None  # external_ids:iface-id
    type: str = ""
    tunnel_chassis: str | None = None  # our tunnel ports: external_ids:ovn-chassis-id
    localnet: str | None = None  # our patch ports: external_ids:ovn-localnet-port
    bfd_up: bool = False  # a tunnel whose BFD session is up (bfd_status:state=up)


@dataclass
class LocalState:
    """This chassis: its name and encapsulation, and what is plugged into br-int."""

    chassis: str
    encap_type: str = "geneve"
    encap_ips: tuple[str, ...] = ()
    bridge_mappings: dict[str, str] = field(default_factory=dict)  # physnet -> bridge
    interfaces: dict[str, Interface] = field(default_factory=dict)  # by name

    def vifs(self) -> dict[str, Interface]:
        """iface-id -> interface with a usable OpenFlow port."""
        out: dict[str, Interface] = {}
        for i in sorted(self.interfaces.values(), key=lambda x: x.name):
            if i.iface_id and i.ofport is not None and i.ofport > 0:
                out.setdefault(i.iface_id, i)
        return out

    def tunnel_ofports(self) -> dict[str, int]:
        return {i.tunnel_chassis: i.ofport for i in self.interfaces.values()
                if i.tunnel_chassis and i.ofport is not None and i.ofport > 0}

    def active_tunnels(self) -> frozenset[str]:
        """Chassis reachable through a tunnel with BFD up (ha.py's active_tunnels)."""
        return frozenset(i.tunnel_chassis for i in self.interfaces.values()
                         if i.tunnel_chassis and i.bfd_up)

    def tunnel_types(self) -> dict[int, str]:
        """Tunnel ofport -> its encapsulation (the Interface type: geneve, vxlan)."""
        return {i.ofport: i.type for i in self.interfaces.values()
                if i.tunnel_chassis and i.ofport is not None and i.ofport > 0}

    def localnet_ofports(self) -> dict[str, int]:
        return {i.localnet: i.ofport for i in self.interfaces.values()
                if i.localnet and i.ofport is not None and i.ofport > 0}


def parse_bridge_mappings(text: str) -> dict[str, str]:
    """"physnet1:br-eth0,physnet2:br-eth1" -> {physnet: bridge}; malformed items skipped."""
    out: dict[str, str] = {}
    for item in text.split(","):
        net, sep, br = item.strip().partition(":")
        if sep and net and br:
            out[net.strip()] = br.strip()
    return out
