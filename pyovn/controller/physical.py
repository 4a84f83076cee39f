"""The physical flows of ovn-architecture(7), "Architectural Physical Life Cycle of a
Packet", with OVN 23.03's tables and the same flows its ovn-controller installs:

- table 0: physical to logical (VIFs, VLAN-tagged containers, localnet patch ports,
  tunnels);
- tables 37-41: output (remote via tunnels, local, loopback check);
- table 64/65: loopback bypass and logical to physical (VIFs, containers, localnet, and
  logical patch ports, which re-enter the ingress pipeline of the peer datapath).

Cookies are the first 32 bits of the Port_Binding's (or Multicast_Group's) UUID, as in
ovn-controller, so dumps read alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyovn.controller.ct_zones import dnat_key, snat_key
from pyovn.controller.deps import Dep
from pyovn.controller.model import Datapath, MulticastGroup, PortBinding, SbState
from pyovn.controller.runtime import Role, Runtime
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S

_F32 = 0xFFFFFFFF
_F64 = (1 << 64) - 1
GENEVE_TLV_FIELD = "tun_metadata0"
# VXLAN's 24-bit VNI has room for a 12-bit datapath key (bits 0-11) and a 12-bit egress port
# key (bits 12-23), no ingress port (ovn-architecture(7), "Tunnel Encapsulations").  Ports
# keep their keys (northd keeps them under 2048); a multicast group's 16-bit key (32768 and
# up) travels as bit 11 set plus its low 11 bits, and the receiver restores bit 15.
MC_MIN_KEY = 1 << 15
VXLAN_MC_BIT = 1 << 11
VXLAN_VNI_MC_BIT = VXLAN_MC_BIT << 12


def vxlan_port_key(key: int) -> int:
    """The 12-bit form of an egress port or multicast group key on a VXLAN tunnel."""
    return VXLAN_MC_BIT | (key & (VXLAN_MC_BIT - 1)) if key >= MC_MIN_KEY else key


def _m(**fields: tuple[int, int]) -> O.Match:
    return O.Match(dict(fields))


def _port_match(dp: Datapath, key: int, reg: str = S.LOG_OUTPORT) -> O.Match:
    return O.Match({reg: (key, _F32), S.LOG_DATAPATH: (dp.key, _F64)})


def _load(field: str, value: int) -> O.SetField:
    width = O.FIELDS[field][0]
    return O.SetField(field, value, (1 << width) - 1)


def _flag(bit: int, on: bool = True) -> O.SetField:
    return O.SetField(S.LOG_FLAGS, (1 << bit) if on else 0, 1 << bit)


class PhysicalFlows:
    """Builds the physical flows, one owner at a time (the fixed flows, a tunnel, a port,
    a multicast group), recording in 'deps' every input each one reads (see deps.py), so
    that the incremental core recomputes exactly the owners a change reaches."""

    def __init__(self, sb: SbState, rt: Runtime, by_name: Mapping[str, PortBinding]) -> None:
        self.sb = sb
        self.rt = rt
        self.by_name = by_name
        self.deps: set[Dep] = set()
        self.flows: list[O.Flow] = []

    def begin(self) -> None:
        self.deps = set()
        self.flows = []

    def add(self, table: int, priority: int, match: O.Match, actions: list[O.Action],
            cookie: int = 0) -> None:
        self.flows.append(O.Flow(table, priority, match, tuple(actions), cookie))

    # --- recorded reads ------------------------------------------------------------------

    def _role(self, name: str) -> Role | None:
        self.deps.add(("role", name))
        return self.rt.roles.get(name)

    def _zone(self, key: str) -> int | None:
        self.deps.add(("zone", key))
        return self.rt.zones.get(key)

    def _datapath(self, dpu: str) -> Datapath | None:
        self.deps.add(("dp", dpu))
        return self.sb.datapaths.get(dpu)

    def _port_named(self, name: str) -> PortBinding | None:
        self.deps.add(("name", name))
        return self.by_name.get(name)

    def _port_uuid(self, u: str) -> PortBinding | None:
        self.deps.add(("pbu", u))
        return self.sb.ports.get(u)

    def _tunnel_ofport(self, chassis: str) -> int | None:
        self.deps.add(("tunnel", chassis))
        return self.rt.tunnels.get(chassis)

    def _encap(self, ofport: int) -> str:
        """A tunnel's own type (its Interface type: chassis need not share one)."""
        self.deps.add(("encap",))
        return self.rt.tunnel_types.get(ofport, self.rt.encap_type)

    def _is_parent(self, name: str) -> bool:
        self.deps.add(("parent", name))
        return name in self.rt.parents

    # --- zones ---------------------------------------------------------------------------

    def _zone_loads(self, pb: PortBinding, port_zone: bool = True) -> list[O.Action]:
        out: list[O.Action] = []
        z = self._zone(pb.logical_port) if port_zone else None
        if z is not None:
            out.append(_load(S.LOG_CT_ZONE, z))
        for reg, key in ((S.LOG_DNAT_ZONE, dnat_key(pb.datapath)),
                         (S.LOG_SNAT_ZONE, snat_key(pb.datapath))):
            z = self._zone(key)
            if z is not None:
                out.append(_load(reg, z))
        return out

    # --- owners: each call returns one owner's flows (and leaves its reads in deps) ------

    def fixed_flows(self) -> list[O.Flow]:
        self.begin()
        self._fixed()
        return self.flows

    def tunnel_flows(self, chassis: str) -> list[O.Flow]:
        """Table 0 for the tunnel to 'chassis'."""
        self.begin()
        ofport = self._tunnel_ofport(chassis)
        if ofport is not None:
            self._tunnel_in(ofport)
        return self.flows

    def port_flows(self, pb: PortBinding) -> list[O.Flow]:
        """A port of a local datapath."""
        self.begin()
        dp = self._datapath(pb.datapath)
        if dp is not None:
            self._port(dp, pb)
        return self.flows

    def mcast_flows(self, mc: MulticastGroup) -> list[O.Flow]:
        """A multicast group of a local datapath."""
        self.begin()
        dp = self._datapath(mc.datapath)
        if dp is not None:
            self._mcast(dp, mc)
        return self.flows

    def _fixed(self) -> None:
        """Default flows of every table, independent of any port."""
        T = O
        self.add(T.OFTABLE_PHY_TO_LOG, 0, _m(), [])
        self.add(T.OFTABLE_OUTPUT_LARGE_PKT_DETECT, 0, _m(), [O.Resubmit(T.OFTABLE_REMOTE_OUTPUT)])
        self.add(T.OFTABLE_OUTPUT_LARGE_PKT_PROCESS, 10,
                 _m(reg10=(1 << S.MLF_ALLOW_LOOPBACK_BIT, 1 << S.MLF_ALLOW_LOOPBACK_BIT)),
                 [O.Resubmit(T.OFTABLE_LOCAL_OUTPUT)])
        self.add(T.OFTABLE_OUTPUT_LARGE_PKT_PROCESS, 0, _m(),
                 [O.Resubmit(T.OFTABLE_REMOTE_OUTPUT)])
        local_only = 1 << S.MLF_LOCAL_ONLY_BIT
        self.add(T.OFTABLE_REMOTE_OUTPUT, 150, _m(reg10=(local_only, local_only)),
                 [O.Resubmit(T.OFTABLE_LOCAL_OUTPUT)])
        self.add(T.OFTABLE_REMOTE_OUTPUT, 150,
                 _m(reg10=(1 << S.MLF_RCV_FROM_RAMP_BIT, 0x3)),
                 [O.Resubmit(T.OFTABLE_LOCAL_OUTPUT)])
        self.add(T.OFTABLE_REMOTE_OUTPUT, 0, _m(), [O.Resubmit(T.OFTABLE_LOCAL_OUTPUT)])
        self.add(T.OFTABLE_LOCAL_OUTPUT, 0, _m(), [])
        # Entering the egress pipeline: registers 0-9 start from zero.
        self.add(T.OFTABLE_CHECK_LOOPBACK, 0, _m(),
                 [*(_load(f"reg{i}", 0) for i in range(10)),
                  O.Resubmit(T.OFTABLE_LOG_EGRESS_PIPELINE)])
        self.add(T.OFTABLE_SAVE_INPORT, 0, _m(), [O.Resubmit(T.OFTABLE_LOG_TO_PHY)])
        self.add(T.OFTABLE_LOG_TO_PHY, 0, _m(), [])

    def _tunnel_in(self, ofport: int) -> None:
        acts: list[O.Action]
        if self._encap(ofport) == "vxlan":
            # A multicast group's key: restore the 16-bit form before local delivery.
            self.add(O.OFTABLE_PHY_TO_LOG, 105,
                     _m(in_port=(ofport, _F32), tun_id=(VXLAN_VNI_MC_BIT, VXLAN_VNI_MC_BIT)),
                     [O.SetField(S.LOG_OUTPORT, MC_MIN_KEY, MC_MIN_KEY),
                      O.Move(O.SubField("tun_id", 12, 11), O.SubField(S.LOG_OUTPORT, 0, 11)),
                      O.Move(O.SubField("tun_id", 0, 12), O.SubField(S.LOG_DATAPATH, 0, 12)),
                      O.Resubmit(O.OFTABLE_LOCAL_OUTPUT)])
            acts = [
                O.Move(O.SubField("tun_id", 12, 12), O.SubField(S.LOG_OUTPORT, 0, 12)),
                O.Move(O.SubField("tun_id", 0, 12), O.SubField(S.LOG_DATAPATH, 0, 12)),
            ]
        else:
            acts = [
                O.Move(O.SubField("tun_id", 0, 24), O.SubField(S.LOG_DATAPATH, 0, 24)),
                O.Move(O.SubField(GENEVE_TLV_FIELD, 16, 15), O.SubField(S.LOG_INPORT, 0, 15)),
                O.Move(O.SubField(GENEVE_TLV_FIELD, 0, 16), O.SubField(S.LOG_OUTPORT, 0, 16)),
            ]
        self.add(O.OFTABLE_PHY_TO_LOG, 100, _m(in_port=(ofport, _F32)),
                 [*acts, O.Resubmit(O.OFTABLE_LOCAL_OUTPUT)])

    def _encapsulate(self, encap: str, dp: Datapath, outport_key: int) -> list[O.Action]:
        if encap == "vxlan":
            # Only the low 24 bits are loaded, as ovn-controller does: keys beyond VXLAN's
            # range (kept from before a chassis used VXLAN) are not widened.
            vni = (dp.key | vxlan_port_key(outport_key) << 12) & 0xFFFFFF
            return [O.SetField("tun_id", vni, 0xFFFFFF)]
        return [O.SetField("tun_id", dp.key, 0xFFFFFF), _load(GENEVE_TLV_FIELD, outport_key),
                O.Move(O.SubField(S.LOG_INPORT, 0, 15), O.SubField(GENEVE_TLV_FIELD, 16, 15))]

    def _tunnel_out(self, dp: Datapath, outport_key: int, ofports: list[int]) -> list[O.Action]:
        # The tunnel metadata is set again only where the next tunnel's type differs.
        acts: list[O.Action] = []
        prev = None
        for p in ofports:
            encap = self._encap(p)
            if encap != prev:
                acts += self._encapsulate(encap, dp, outport_key)
                prev = encap
            acts.append(O.Output(p))
        return acts

    # --- ports ---------------------------------------------------------------------------

    def _port(self, dp: Datapath, pb: PortBinding) -> None:
        role = self._role(pb.logical_port)
        kind = role[0] if role else None
        if kind == "vif":
            self._local_port(dp, pb, _int(role, 1), None)
        elif kind == "container":
            self._local_port(dp, pb, _int(role, 1), _int(role, 2))
        elif kind == "localnet":
            self._localnet(dp, pb, _int(role, 1))
        elif kind == "redirect":
            self._redirect(dp, pb)
        elif pb.type == "patch" or (pb.type == "l3gateway" and kind != "remote"):
            self._patch(dp, pb)
        elif kind == "remote":
            assert role is not None
            self._remote(dp, pb, str(role[1]))

    def _ingress_loads(self, dp: Datapath, pb: PortBinding) -> list[O.Action]:
        return [*self._zone_loads(pb), _load(S.LOG_DATAPATH, dp.key),
                _load(S.LOG_INPORT, pb.key), O.Resubmit(O.OFTABLE_LOG_INGRESS_PIPELINE)]

    def _local_delivery(self, dp: Datapath, pb: PortBinding, port_zone: bool = True,
                        nested: bool = False) -> None:
        """Tables 40, 41 and 64 for a port whose packets leave on this chassis."""
        c = pb.cookie
        self.add(O.OFTABLE_LOCAL_OUTPUT, 100, _port_match(dp, pb.key),
                 [*self._zone_loads(pb, port_zone), O.Resubmit(O.OFTABLE_CHECK_LOOPBACK)], c)
        m = _port_match(dp, pb.key)
        m.add(S.LOG_INPORT, pb.key, _F32)
        m.add(S.LOG_FLAGS, 0, 1 << S.MLF_ALLOW_LOOPBACK_BIT)
        self.add(O.OFTABLE_CHECK_LOOPBACK, 100, m, [], c)
        bypass: list[O.Action] = [
            O.Push(O.SubField("in_port", 0, 32)), _load("in_port", 0xFFFFFFFF),
            O.Resubmit(O.OFTABLE_LOG_TO_PHY), O.Pop(O.SubField("in_port", 0, 32))]
        if nested:
            # A container shares its parent's OpenFlow port: always bypass loopback.
            self.add(O.OFTABLE_SAVE_INPORT, 100, _port_match(dp, pb.key), bypass, c)
            return
        m = _port_match(dp, pb.key)
        bit = 1 << S.MLF_ALLOW_LOOPBACK_BIT
        m.add(S.LOG_FLAGS, bit, bit)
        self.add(O.OFTABLE_SAVE_INPORT, 100, m, bypass, c)
        if self._is_parent(pb.logical_port):
            # From one of its containers to the VM itself: the same OpenFlow port.
            m = _port_match(dp, pb.key)
            bit = 1 << S.MLF_NESTED_CONTAINER_BIT
            m.add(S.LOG_FLAGS, bit, bit)
            self.add(O.OFTABLE_SAVE_INPORT, 100, m, bypass)

    def _local_port(self, dp: Datapath, pb: PortBinding, ofport: int, tag: int | None) -> None:
        c = pb.cookie
        if tag is None:
            self.add(O.OFTABLE_PHY_TO_LOG, 100, _m(in_port=(ofport, _F32)),
                     self._ingress_loads(dp, pb), c)
            out: list[O.Action] = [O.Output(ofport)]
        else:
            self.add(O.OFTABLE_PHY_TO_LOG, 150,
                     _m(in_port=(ofport, _F32), vlan_tci=(0x1000 | tag, 0x1FFF)),
                     [_flag(S.MLF_NESTED_CONTAINER_BIT), O.PopVlan(),
                      *self._ingress_loads(dp, pb)], c)
            out = [O.PushVlan(), _load("vlan_tci", 0x1000 | tag), O.Output(ofport), O.PopVlan()]
        self._local_delivery(dp, pb, nested=tag is not None)
        self.add(O.OFTABLE_LOG_TO_PHY, 100, _port_match(dp, pb.key), out, c)
        if pb.type == "localport":
            self.add(O.OFTABLE_REMOTE_OUTPUT, 150, _port_match(dp, pb.key, S.LOG_INPORT),
                     [O.Resubmit(O.OFTABLE_LOCAL_OUTPUT)], c)

    def _localnet(self, dp: Datapath, pb: PortBinding, ofport: int) -> None:
        c = pb.cookie
        if pb.tag is None:
            self.add(O.OFTABLE_PHY_TO_LOG, 100, _m(in_port=(ofport, _F32), vlan_tci=(0, 0x1000)),
                     self._ingress_loads(dp, pb), c)
            self.add(O.OFTABLE_PHY_TO_LOG, 100,
                     _m(in_port=(ofport, _F32), vlan_tci=(0x1000, 0x1FFF)),
                     [O.PopVlan(), *self._ingress_loads(dp, pb)], c)
            out: list[O.Action] = [O.Output(ofport)]
        else:
            self.add(O.OFTABLE_PHY_TO_LOG, 100,
                     _m(in_port=(ofport, _F32), vlan_tci=(0x1000 | pb.tag, 0x1FFF)),
                     [O.PopVlan(), *self._ingress_loads(dp, pb)], c)
            out = [O.PushVlan(), _load("vlan_tci", 0x1000 | pb.tag), O.Output(ofport),
                   O.PopVlan()]
        self._local_delivery(dp, pb)
        self.add(O.OFTABLE_LOG_TO_PHY, 100, _port_match(dp, pb.key), out, c)

    def _patch(self, dp: Datapath, pb: PortBinding) -> None:
        peer = self._port_named(pb.options.get("peer", ""))
        if peer is None:
            return
        pdp = self._datapath(peer.datapath)
        if pdp is None:
            return
        self._local_delivery(dp, pb, port_zone=False)
        acts: list[O.Action] = [O.CTClear(), _load(S.LOG_DNAT_ZONE, 0),
                                _load(S.LOG_SNAT_ZONE, 0), _load(S.LOG_CT_ZONE, 0)]
        acts += self._zone_loads(peer, port_zone=False)
        acts += [_load(S.LOG_DATAPATH, pdp.key), _load(S.LOG_INPORT, peer.key),
                 _load(S.LOG_FLAGS, 0), _load(S.LOG_OUTPORT, 0),
                 *(_load(f"reg{i}", 0) for i in range(10)),
                 O.Resubmit(O.OFTABLE_LOG_INGRESS_PIPELINE)]
        self.add(O.OFTABLE_LOG_TO_PHY, 100, _port_match(dp, pb.key), [O.Clone(tuple(acts))],
                 pb.cookie)

    def _redirect(self, dp: Datapath, pb: PortBinding) -> None:
        """A chassisredirect port active on this chassis (its gateway): what the logical
        pipeline sends to it leaves through its distributed port (options:distributed-
        port), here, with the router's NAT zones."""
        dist = self._port_named(pb.options.get("distributed-port", ""))
        if dist is None or dist.datapath != pb.datapath:
            return
        self.add(O.OFTABLE_LOCAL_OUTPUT, 100, _port_match(dp, pb.key),
                 [_load(S.LOG_OUTPORT, dist.key), *self._zone_loads(pb, port_zone=False),
                  O.Resubmit(O.OFTABLE_CHECK_LOOPBACK)], pb.cookie)

    def _localnet_of(self, dp: Datapath) -> PortBinding | None:
        self.deps.add(("localnet_of", dp.uuid))
        name = self.rt.localnet_of.get(dp.uuid)
        return None if name is None else self._port_named(name)

    def _remote(self, dp: Datapath, pb: PortBinding, chassis: str) -> None:
        ln = self._localnet_of(dp)
        if ln is not None:
            # Reach remote ports over the physical network, as the localnet port.
            self.add(O.OFTABLE_LOCAL_OUTPUT, 100, _port_match(dp, pb.key),
                     [_load(S.LOG_OUTPORT, ln.key), O.Resubmit(O.OFTABLE_LOCAL_OUTPUT)],
                     pb.cookie)
            return
        ofport = self._tunnel_ofport(chassis)
        if ofport is None:
            return
        self.add(O.OFTABLE_REMOTE_OUTPUT, 100, _port_match(dp, pb.key),
                 [*self._tunnel_out(dp, pb.key, [ofport]),
                  O.Resubmit(O.OFTABLE_LOCAL_OUTPUT)], pb.cookie)

    # --- multicast groups ----------------------------------------------------------------

    def _mcast(self, dp: Datapath, mc: MulticastGroup) -> None:
        local: list[O.Action] = []
        patch: list[O.Action] = []
        chassis: set[str] = set()
        has_localnet = self._localnet_of(dp) is not None
        for pbu in mc.ports:
            pb = self._port_uuid(pbu)
            if pb is None or pb.datapath != dp.uuid:
                continue
            name = pb.logical_port
            role = self._role(name)
            kind = role[0] if role else None
            if kind in ("vif", "container", "localnet"):
                z = self._zone(name)
                if z is not None:
                    local.append(_load(S.LOG_CT_ZONE, z))
                local += [_load(S.LOG_OUTPORT, pb.key), O.Resubmit(O.OFTABLE_CHECK_LOOPBACK)]
            elif pb.type == "patch" or (pb.type == "l3gateway" and kind != "remote"):
                patch += [_load(S.LOG_OUTPORT, pb.key), O.Resubmit(O.OFTABLE_CHECK_LOOPBACK)]
            elif kind == "remote" and not has_localnet:
                assert role is not None
                chassis.add(str(role[1]))
        restore = _load(S.LOG_OUTPORT, mc.key)
        if local:
            self.add(O.OFTABLE_LOCAL_OUTPUT, 100, _port_match(dp, mc.key), [*local, restore],
                     mc.cookie)
        ofports = sorted(p for p in map(self._tunnel_ofport, chassis) if p is not None)
        remote: list[O.Action] = []
        if patch:
            remote += [*patch, restore]
        if ofports:
            remote += self._tunnel_out(dp, mc.key, ofports)
        if remote:
            if local:
                remote.append(O.Resubmit(O.OFTABLE_LOCAL_OUTPUT))
            self.add(O.OFTABLE_REMOTE_OUTPUT, 100, _port_match(dp, mc.key), remote, mc.cookie)


def _int(role: Role | None, i: int) -> int:
    assert role is not None
    v = role[i]
    assert isinstance(v, int)
    return v


def physical_flows(sb: SbState, rt: Runtime) -> list[O.Flow]:
    """Every physical flow (the reference the incremental core must agree with)."""
    pf = PhysicalFlows(sb, rt, sb.port_by_name())
    flows = pf.fixed_flows()
    for ch in sorted(rt.tunnels):
        flows += pf.tunnel_flows(ch)
    for pb in sorted(sb.ports.values(), key=lambda p: p.uuid):
        if pb.datapath in rt.local_datapaths:
            flows += pf.port_flows(pb)
    for mc in sorted(sb.mcast_groups.values(), key=lambda m: m.uuid):
        if mc.datapath in rt.local_datapaths:
            flows += pf.mcast_flows(mc)
    return flows
