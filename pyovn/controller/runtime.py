"""ovn-controller's "runtime data": what this chassis derives from its interfaces and the
SB port bindings before any flow is computed (which ports are bound here and how, which
datapaths are local, conntrack zones, tunnels, residency), and the difference between two
of them as dependency keys (deps.py), which is how a change in bindings reaches exactly
the flows that read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyovn.controller.binding import Bindings, compute_bindings
from pyovn.controller.ct_zones import assign_zones, needed_zones
from pyovn.controller.deps import Dep
from pyovn.controller.model import LocalState, SbState

# How a port's packets enter and leave on this chassis (physical.py): ("vif", ofport),
# ("container", ofport, tag), ("localnet", ofport) or ("remote", chassis).
Role = tuple[object, ...]


@dataclass
class Runtime:
    chassis: str
    bindings: Bindings
    zones: dict[str, int]
    tunnels: dict[str, int]  # remote chassis sharing a datapath -> tunnel ofport
    encap_type: str
    roles: dict[str, Role]
    local: frozenset[str]  # logical ports with an interface here
    resident: frozenset[str]  # is_chassis_resident() is true
    parents: frozenset[str]  # local ports with containers bound here
    localnet_of: dict[str, str]  # local datapath -> its localnet port with a patch here
    local_datapaths: frozenset[str] = field(default_factory=frozenset)


def compute_runtime(local: LocalState, sb: SbState, zones: Mapping[str, int]) -> Runtime:
    b = compute_bindings(local, sb)
    loc = b.local_ports()
    z = assign_zones(needed_zones(loc, b.local_datapaths), zones)
    remote_ch = b.remote_chassis()
    tunnels = {c: p for c, p in local.tunnel_ofports().items() if c in remote_ch}
    roles: dict[str, Role] = {}
    for n, p in b.vifs.items():
        roles[n] = ("vif", p)
    for n, (p, tag) in b.containers.items():
        roles[n] = ("container", p, tag)
    for n, p in b.localnets.items():
        roles[n] = ("localnet", p)
    for n, c in b.remote.items():
        roles[n] = ("remote", c)
    me = local.chassis
    resident = set(loc)
    parents: set[str] = set()
    localnet_of: dict[str, str] = {}
    for pb in sb.ports.values():
        t = pb.type
        if t == "chassisredirect":
            if pb.chassis == me:
                resident.add(pb.logical_port)
        elif t == "l3gateway":
            if pb.options.get("l3gateway-chassis") == me:
                resident.add(pb.logical_port)
        elif t == "localnet":
            name = pb.logical_port
            if name in b.localnets:
                cur = localnet_of.get(pb.datapath)
                if cur is None or name < cur:
                    localnet_of[pb.datapath] = name
        if pb.parent_port and pb.logical_port in b.containers:
            parents.add(pb.parent_port)
    return Runtime(me, b, z, tunnels, local.encap_type, roles, frozenset(loc),
                   frozenset(resident), frozenset(parents), localnet_of,
                   frozenset(b.local_datapaths))


def _dict_changes(kind: str, old: Mapping[str, object], new: Mapping[str, object],
                  out: set[Dep]) -> None:
    if old == new:
        return
    for k in old.keys() | new.keys():
        if old.get(k) != new.get(k):
            out.add((kind, k))


def _set_changes(kind: str, old: frozenset[str], new: frozenset[str], out: set[Dep]) -> None:
    if old != new:
        out.update((kind, k) for k in old ^ new)


def runtime_changes(old: Runtime, new: Runtime) -> set[Dep]:
    """The dependency keys whose values differ between two runtimes."""
    out: set[Dep] = set()
    _dict_changes("role", old.roles, new.roles, out)
    _dict_changes("zone", old.zones, new.zones, out)
    _dict_changes("tunnel", old.tunnels, new.tunnels, out)
    _dict_changes("localnet_of", old.localnet_of, new.localnet_of, out)
    _set_changes("local", old.local, new.local, out)
    _set_changes("resident", old.resident, new.resident, out)
    _set_changes("parent", old.parents, new.parents, out)
    _set_changes("localdp", old.local_datapaths, new.local_datapaths, out)
    if old.encap_type != new.encap_type:
        out.add(("encap",))
    return out
