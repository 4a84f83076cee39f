"""Which logical ports live on this chassis, which datapaths therefore matter here, and
what this chassis must claim or release in SB (ovn-controller's binding module, pure).

A VIF is local when an interface on br-int names it in external_ids:iface-id (and its
requested chassis, if any, is this one); a container port is local when its parent is;
a localport is local wherever an interface names it, and is never claimed.  Datapaths with
a local port are local, and so is every datapath reachable from them through logical
patch ports (a router and the switches behind it): packets cross them on this chassis.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from pyovn.controller.ha import ha_group_is_active
from pyovn.controller.model import LocalState, PortBinding, SbState

# Port types bound to a chassis through an interface (claimed by the chassis).
VIF_TYPES = frozenset({"", "virtual"})
# Port types a chassis releases when it no longer has them.
RELEASED_TYPES = frozenset({*VIF_TYPES, "l3gateway", "chassisredirect"})


def is_gateway_member(pb: PortBinding, me: str) -> bool:
    """A chassisredirect port whose HA group has this chassis: its router is local here
    even while another member is active, so that a failover finds it ready."""
    return pb.type == "chassisredirect" and any(c == me for _, c in pb.ha_chassis)


def is_active_gateway(pb: PortBinding, me: str, active_tunnels: Collection[str]) -> bool:
    """A chassisredirect port this chassis must bind: the active member of its HA chassis
    group (ha.py) is this chassis."""
    return pb.type == "chassisredirect" and bool(pb.ha_chassis) and \
        ha_group_is_active(pb.ha_chassis, pb.ha_ref_chassis, active_tunnels, me)


@dataclass
class Bindings:
    vifs: dict[str, int] = field(default_factory=dict)  # VIFs and localports -> ofport
    containers: dict[str, tuple[int, int]] = field(default_factory=dict)  # -> (ofport, tag)
    localnets: dict[str, int] = field(default_factory=dict)  # localnet port -> patch ofport
    wanted_localnets: dict[str, str] = field(default_factory=dict)  # localnet -> bridge
    local_datapaths: set[str] = field(default_factory=set)
    claims: set[str] = field(default_factory=set)  # logical ports to bind here
    releases: set[str] = field(default_factory=set)  # bound here but no longer local
    remote: dict[str, str] = field(default_factory=dict)  # port on a local dp -> chassis
    redirects: set[str] = field(default_factory=set)  # chassisredirect ports active here

    def local_ports(self) -> set[str]:
        return set(self.vifs) | set(self.containers) | set(self.localnets)

    def remote_chassis(self) -> set[str]:
        return set(self.remote.values())


def _requested_elsewhere(pb: PortBinding, me: str) -> bool:
    return pb.requested_chassis is not None and pb.requested_chassis != me


def compute_bindings(local: LocalState, sb: SbState) -> Bindings:
    b = Bindings()
    me = local.chassis
    vifs = local.vifs()
    by_name = sb.port_by_name()
    for pb in sb.ports.values():
        iface = vifs.get(pb.logical_port)
        if pb.parent_port:
            continue
        if pb.type in VIF_TYPES and iface is not None and not _requested_elsewhere(pb, me):
            assert iface.ofport is not None
            b.vifs[pb.logical_port] = iface.ofport
            b.claims.add(pb.logical_port)
        elif pb.type == "localport" and iface is not None:
            assert iface.ofport is not None
            b.vifs[pb.logical_port] = iface.ofport
    # A container rides on a VIF claimed by the first pass, never on another container:
    # checking against the claims as they grow would make a container of a container
    # depend on the order of the rows (and find no OpenFlow port for its parent).
    vif_claims = frozenset(b.claims)
    for pb in sb.ports.values():
        if pb.parent_port and pb.tag is not None and pb.parent_port in vif_claims:
            b.containers[pb.logical_port] = (b.vifs[pb.parent_port], pb.tag)
            b.claims.add(pb.logical_port)
    # A gateway router's ports are bound to its chassis (as ovn-controller does): the
    # other chassis find where to tunnel them by Port_Binding.chassis.  So is a
    # distributed gateway port's chassisredirect port, by the active member of its HA
    # chassis group.
    active = local.active_tunnels()
    for pb in sb.ports.values():
        if pb.type == "l3gateway" and pb.options.get("l3gateway-chassis") == me:
            b.claims.add(pb.logical_port)
        elif is_active_gateway(pb, me, active):
            b.claims.add(pb.logical_port)
            b.redirects.add(pb.logical_port)
    for pb in sb.ports.values():
        if pb.chassis == me and pb.logical_port not in b.claims and \
                (pb.type in RELEASED_TYPES or pb.parent_port):
            b.releases.add(pb.logical_port)

    # Local datapaths: those with a local port or a gateway router bound here, then the
    # closure over patch peers.
    todo = [sb.ports[u].datapath for u in sb.ports
            if sb.ports[u].logical_port in b.vifs or sb.ports[u].logical_port in b.containers
            or is_gateway_member(sb.ports[u], me)
            or (sb.ports[u].type == "l3gateway"
                and sb.ports[u].options.get("l3gateway-chassis") == me)]
    peers_of: dict[str, list[str]] = {}
    for pb in sb.ports.values():
        if pb.type == "patch" or (pb.type == "l3gateway"
                                  and pb.options.get("l3gateway-chassis") == me):
            peer = by_name.get(pb.options.get("peer", ""))
            if peer is not None:
                peers_of.setdefault(pb.datapath, []).append(peer.datapath)
    while todo:
        dp = todo.pop()
        if dp in b.local_datapaths or dp not in sb.datapaths:
            continue
        b.local_datapaths.add(dp)
        todo.extend(peers_of.get(dp, ()))

    for pb in sb.ports.values():
        if pb.datapath not in b.local_datapaths:
            continue
        if pb.type == "localnet":
            bridge = local.bridge_mappings.get(pb.options.get("network_name", ""))
            if bridge is not None:
                b.wanted_localnets[pb.logical_port] = bridge
                ofport = local.localnet_ofports().get(pb.logical_port)
                if ofport is not None:
                    b.localnets[pb.logical_port] = ofport
        elif pb.chassis and pb.chassis != me and pb.logical_port not in b.vifs \
                and pb.logical_port not in b.redirects \
                and pb.type in (*VIF_TYPES, "l3gateway", "chassisredirect"):
            b.remote[pb.logical_port] = pb.chassis
    return b
