"""ovn-controller's "runtime data": what this chassis derives from its interfaces and the
SB port bindings before any flow is computed (which ports are bound here and how, which
datapaths are local, conntrack zones, tunnels, residency), and the difference between two
of them as dependency keys (deps.py), which is how a change in bindings reaches exactly
the flows that read it.

`compute_runtime` and `runtime_changes` compute both from scratch: the reference.
`RuntimeTracker` keeps them up to date from SB deltas with work in proportion to the
change (tests/controller/test_runtime.py holds it equal to the reference)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from pyovn.controller.binding import (
    RELEASED_TYPES,
    VIF_TYPES,
    Bindings,
    compute_bindings,
    is_active_gateway,
    is_gateway_member,
)
from pyovn.controller.ct_zones import MAX_ZONE, assign_zones, dnat_key, needed_zones, snat_key
from pyovn.controller.deps import Dep, index_add, index_discard
from pyovn.controller.model import Interface, LocalState, PortBinding, SbDelta, SbState

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
    tunnel_types: dict[int, str] = field(default_factory=dict)  # tunnel ofport -> type


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
    for n in b.redirects:
        roles[n] = ("redirect",)
    me = local.chassis
    resident = set(loc)
    parents: set[str] = set()
    localnet_of: dict[str, str] = {}
    for pb in sb.ports.values():
        t = pb.type
        if t == "chassisredirect":
            if pb.chassis == me or pb.logical_port in b.redirects:
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
                   frozenset(b.local_datapaths), local.tunnel_types())


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
    if old.encap_type != new.encap_type or old.tunnel_types != new.tunnel_types:
        out.add(("encap",))
    return out


# --- incremental ---------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Port types that count as bound elsewhere when another chassis holds them (binding.py).
_REMOTE_TYPES = frozenset({*VIF_TYPES, "l3gateway", "chassisredirect"})


def _put(d: dict[str, V], key: str, value: V | None) -> None:
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value


def _count(counts: dict[str, int], key: str, step: int) -> bool:
    """Adds 'step' to a reference count; True when the key appeared or disappeared."""
    n = counts.get(key, 0) + step
    if n:
        counts[key] = n
    else:
        del counts[key]
    return (n == 0) != (n - step == 0)


class _Port(NamedTuple):
    """What one logical port contributes to the runtime data.  It is a function of the
    port's own row and interface, its parent's row and interface (for a container), the
    chassis' bridge mappings and localnet patches, and whether its datapath is local:
    a change re-derives exactly the ports whose inputs it touched."""

    dp: str
    parent: str | None  # the parent's name, when bound here as a container
    vif: int | None  # Bindings.vifs
    container: tuple[int, int] | None  # Bindings.containers
    claim: bool
    release: bool
    seed: bool  # makes its datapath local by itself
    here: bool  # resident here without being local (chassisredirect, l3gateway)
    localnet: int | None = None  # Bindings.localnets        (these three only on
    wanted: str | None = None  # Bindings.wanted_localnets   a local datapath)
    remote: str | None = None  # Bindings.remote
    redirect: bool = False  # Bindings.redirects (a chassisredirect port active here)

    def role(self) -> Role | None:
        # compute_runtime writes vifs, then containers, localnets, remote, redirects: the
        # last wins.
        if self.redirect:
            return ("redirect",)
        if self.remote is not None:
            return ("remote", self.remote)
        if self.localnet is not None:
            return ("localnet", self.localnet)
        if self.container is not None:
            return ("container", *self.container)
        if self.vif is not None:
            return ("vif", self.vif)
        return None

    @property
    def is_local(self) -> bool:
        return self.vif is not None or self.container is not None or self.localnet is not None


_ABSENT = _Port("", None, None, None, False, False, False, False)
# Builds a _Port from a tuple of all its fields, without the Python-level __new__ that
# NamedTuple generates (a rebuild makes one per SB port: the call is not free).
_new_port = tuple.__new__


@dataclass
class TrackerWork:
    """What the last update did, for tests that hold the work to the size of the change
    (counted, not timed)."""

    full: bool = False
    ports: int = 0  # ports whose contribution was re-derived
    closures: int = 0  # recomputations of the local datapaths
    datapaths: int = 0  # datapaths visited by them


@dataclass
class _Pass:
    """What one update touched, beyond the per-port values it applied as it went."""

    changed: set[Dep] = field(default_factory=set)
    localnet_dps: set[str] = field(default_factory=set)  # localnet_of to look at again
    chassis: set[str] = field(default_factory=set)  # tunnels to look at again
    local_names: set[str] = field(default_factory=set)  # ports that became/stopped local
    resident: bool = False
    parents: set[str] = field(default_factory=set)  # parents whose count crossed zero


class RuntimeTracker:
    """The runtime data, kept up to date from SB deltas and the local state.

    `update` returns the Runtime and exactly the dependency keys `runtime_changes` would
    give between the previous one and it.  The Runtime is one object updated in place
    (its roles, bindings, tunnels and localnet_of with it): copying what is as large as
    the SB would cost what this class exists to avoid.  Its frozensets are replaced when
    they change, and so is `zones`, because the daemon keeps an older zones dict as its
    fallback while SB is incomplete (daemon.py) and gives it back as the input."""

    def __init__(self) -> None:
        self.rt: Runtime | None = None
        self.work = TrackerWork()
        self._clear("")

    def _clear(self, me: str) -> None:
        self._me = me
        self._rows: dict[str, PortBinding] = {}  # uuid -> row as last seen
        self._by_name: dict[str, PortBinding] = {}  # (logical_port is unique in SB)
        self._by_dp: dict[str, set[str]] = {}  # datapath -> its ports' names
        self._children: dict[str, set[str]] = {}  # parent name -> container names
        self._edges: dict[str, set[str]] = {}  # datapath -> its patch (and l3gateway here)
        self._peer_refs: dict[str, set[str]] = {}  # name -> edge ports naming it as peer
        self._by_net: dict[str, set[str]] = {}  # network_name -> localnet port names
        self._dps: set[str] = set()  # datapaths that exist
        self._ports: dict[str, _Port] = {}  # name -> contribution
        self._seeds: dict[str, int] = {}  # datapath -> seed ports on it
        self._remote_n: dict[str, int] = {}  # chassis -> ports bound there (local dps)
        self._parent_n: dict[str, int] = {}  # parent -> containers bound here
        self._ln_by_dp: dict[str, set[str]] = {}  # datapath -> its bound localnet ports
        self._local: set[str] = set()
        self._resident: set[str] = set()
        # The local state as last seen, and what the bindings read of it.
        self._ifaces: dict[str, Interface] = {}
        self._vif_of: dict[str, int] = {}  # iface-id -> ofport
        self._tun_of: dict[str, int] = {}  # chassis -> tunnel ofport
        self._lnet_of: dict[str, int] = {}  # localnet port -> patch ofport
        self._mappings: dict[str, str] = {}
        self._active: frozenset[str] = frozenset()  # chassis with BFD up (ha.py)
        self._ha_ports: set[str] = set()  # names of ports with an HA chassis group

    # --- entry point -----------------------------------------------------------------------

    def update(self, local: LocalState, sb: SbState, zones: Mapping[str, int],
               delta: SbDelta | None) -> tuple[Runtime, set[Dep]]:
        """The runtime for (local, sb, zones) and the keys that changed since the last
        call.  'delta' names what changed in 'sb' since then (None or full: start over);
        the local state is compared with the last one."""
        try:
            if self.rt is None or delta is None or delta.full or local.chassis != self._me:
                return self._rebuild(local, sb, zones)
            return self._update(local, sb, zones, delta)
        except BaseException:
            # Half-applied: the next call starts over rather than build on it.
            self.rt = None
            raise

    def _rebuild(self, local: LocalState, sb: SbState,
                 zones: Mapping[str, int]) -> tuple[Runtime, set[Dep]]:
        """Starts over from the reference: compute_runtime's result (fresh containers, so
        that 'old' stays intact to compare with) and each port's contribution read back
        from it.  Deriving them port by port instead (_bind, _place, _apply) gives the
        same but costs about three times as much on a large SB; test_runtime.py checks
        that the two agree, which later updates rely on (they diff against these)."""
        old = self.rt
        self._clear(local.chassis)
        rt = compute_runtime(local, sb, zones)
        self.rt = rt
        self.work = TrackerWork(full=True, ports=len(sb.ports))
        self._read_local(local)
        self._mappings = dict(local.bridge_mappings)
        self._dps = set(sb.datapaths)
        b, me, ports, seeds = rt.bindings, self._me, self._ports, self._seeds
        for pb in sb.ports.values():
            self._rows[pb.uuid] = pb
            self._index(pb)
            n, t = pb.logical_port, pb.type
            vif = b.vifs.get(n)
            cont = b.containers.get(n)
            l3 = t == "l3gateway" and pb.options.get("l3gateway-chassis") == me
            redirect = n in b.redirects
            seed = vif is not None or cont is not None or l3 or is_gateway_member(pb, me)
            ports[n] = _new_port(_Port, (
                pb.datapath, pb.parent_port if cont is not None else None, vif, cont,
                n in b.claims, n in b.releases, seed,
                l3 or (t == "chassisredirect" and (pb.chassis == me or redirect)),
                b.localnets.get(n), b.wanted_localnets.get(n), b.remote.get(n), redirect))
            if seed:
                seeds[pb.datapath] = seeds.get(pb.datapath, 0) + 1
        for c in b.remote.values():
            self._remote_n[c] = self._remote_n.get(c, 0) + 1
        for n in b.containers:
            par = self._by_name[n].parent_port
            assert par is not None
            self._parent_n[par] = self._parent_n.get(par, 0) + 1
        for n in b.localnets:
            index_add(self._ln_by_dp, self._by_name[n].datapath, n)
        self._local = set(rt.local)
        self._resident = set(rt.resident)
        if old is None:
            return rt, runtime_changes(Runtime(me, Bindings(), {}, {}, rt.encap_type, {},
                                               frozenset(), frozenset(), frozenset(), {}), rt)
        return rt, runtime_changes(old, rt)

    def _update(self, local: LocalState, sb: SbState, zones: Mapping[str, int],
                delta: SbDelta) -> tuple[Runtime, set[Dep]]:
        rt = self.rt
        assert rt is not None
        self.work = TrackerWork()
        p = _Pass()
        dirty: set[str] = set()
        if local.encap_type != rt.encap_type:
            rt.encap_type = local.encap_type
            p.changed.add(("encap",))
        tunnels: set[str] = set()
        # The interfaces are compared whole, O(interfaces) (fewer than the SB ports by far,
        # and the daemon builds a new LocalState each time, so there is no delta to take).
        if local.interfaces != self._ifaces:
            old_vif, old_tun, old_ln = self._vif_of, self._tun_of, self._lnet_of
            old_active = self._active
            self._read_local(local)
            if old_active != self._active:
                dirty |= self._ha_ports  # BFD moved: the HA groups' active member may too
            types = local.tunnel_types()
            if types != rt.tunnel_types:
                rt.tunnel_types = types
                p.changed.add(("encap",))
            dirty |= _changed_keys(old_vif, self._vif_of)
            dirty |= _changed_keys(old_ln, self._lnet_of)
            tunnels = _changed_keys(old_tun, self._tun_of)
        if local.bridge_mappings != self._mappings:
            for net in _changed_keys(self._mappings, local.bridge_mappings):
                dirty |= self._by_net.get(net, set())
            self._mappings = dict(local.bridge_mappings)

        reclose = False
        for u in delta.datapaths:
            if (u in sb.datapaths) != (u in self._dps):
                reclose = True
                if u in sb.datapaths:
                    self._dps.add(u)
                else:
                    self._dps.discard(u)
        # The tracker's own copy of the rows, not the delta's old values, says what to
        # unindex: all old rows go before the new ones come, as a name may move between
        # rows within one delta.
        pairs = [(self._rows.pop(u, None), sb.ports.get(u)) for u in delta.ports]
        for old, _ in pairs:
            if old is not None:
                self._unindex(old)
                dirty.add(old.logical_port)
        for old, new in pairs:
            if new is not None:
                self._rows[new.uuid] = new
                self._index(new)
                dirty.add(new.logical_port)
            reclose = reclose or self._moves_edge(old, new)
        self._propagate(dirty, reclose, tunnels, zones, p)
        return rt, p.changed

    def _moves_edge(self, old: PortBinding | None, new: PortBinding | None) -> bool:
        """Whether a row change can change the patch graph the local datapaths are closed
        over: a patch port itself, or the port some patch names as its peer moving."""
        if any(pb is not None and self._is_edge(pb) for pb in (old, new)):
            return True
        if old is not None and new is not None and old.datapath == new.datapath and \
                old.logical_port == new.logical_port:
            return False
        return any(pb is not None and pb.logical_port in self._peer_refs for pb in (old, new))

    # --- indexes -----------------------------------------------------------------------------

    def _read_local(self, local: LocalState) -> None:
        self._ifaces = dict(local.interfaces)
        self._active = local.active_tunnels()
        self._vif_of = {k: i.ofport for k, i in local.vifs().items() if i.ofport is not None}
        self._tun_of = local.tunnel_ofports()
        self._lnet_of = local.localnet_ofports()

    def _is_edge(self, pb: PortBinding) -> bool:
        return pb.type == "patch" or (pb.type == "l3gateway" and
                                      pb.options.get("l3gateway-chassis") == self._me)

    def _index(self, pb: PortBinding) -> None:
        n = pb.logical_port
        self._by_name[n] = pb
        index_add(self._by_dp, pb.datapath, n)
        if pb.parent_port:
            index_add(self._children, pb.parent_port, n)
        if self._is_edge(pb):
            index_add(self._edges, pb.datapath, n)
            index_add(self._peer_refs, pb.options.get("peer", ""), n)
        if pb.type == "localnet":
            index_add(self._by_net, pb.options.get("network_name", ""), n)
        if pb.ha_chassis:
            self._ha_ports.add(n)

    def _unindex(self, pb: PortBinding) -> None:
        n = pb.logical_port
        if self._by_name.get(n) is pb:
            del self._by_name[n]
        index_discard(self._by_dp, pb.datapath, n)
        if pb.parent_port:
            index_discard(self._children, pb.parent_port, n)
        if self._is_edge(pb):
            index_discard(self._edges, pb.datapath, n)
            index_discard(self._peer_refs, pb.options.get("peer", ""), n)
        if pb.type == "localnet":
            index_discard(self._by_net, pb.options.get("network_name", ""), n)
        if pb.ha_chassis and self._by_name.get(n) is None:
            self._ha_ports.discard(n)

    # --- one port ----------------------------------------------------------------------------

    def _bind(self, name: str) -> _Port | None:
        """A port's contribution apart from what depends on its datapath being local."""
        pb = self._by_name.get(name)
        if pb is None:
            return None
        me, t = self._me, pb.type
        ofport = self._vif_of.get(name)
        vif = None
        claim = False
        if not pb.parent_port and ofport is not None:
            if t in VIF_TYPES and pb.requested_chassis in (None, me):
                vif = ofport
                claim = True
            elif t == "localport":
                vif = ofport
        container = None
        parent = None
        if pb.parent_port and pb.tag is not None:
            pofport = self._claimed_vif(pb.parent_port)
            if pofport is not None:
                container = (pofport, pb.tag)
                parent = pb.parent_port
                claim = True
        l3 = t == "l3gateway" and pb.options.get("l3gateway-chassis") == me
        redirect = is_active_gateway(pb, me, self._active)
        claim = claim or l3 or redirect
        release = pb.chassis == me and not claim and \
            (t in RELEASED_TYPES or bool(pb.parent_port))
        return _new_port(_Port, (pb.datapath, parent, vif, container, claim, release,
                                 vif is not None or container is not None or l3 or
                                 is_gateway_member(pb, me),
                                 l3 or (t == "chassisredirect" and
                                        (pb.chassis == me or redirect)),
                                 None, None, None, redirect))

    def _claimed_vif(self, name: str) -> int | None:
        """The OpenFlow port of a VIF this chassis claims (a container's parent)."""
        pb = self._by_name.get(name)
        if pb is None or pb.parent_port or pb.type not in VIF_TYPES or \
                pb.requested_chassis not in (None, self._me):
            return None
        return self._vif_of.get(name)

    def _place(self, name: str, p: _Port, local_dps: set[str]) -> _Port:
        """The rest of a port's contribution, from whether its datapath is local."""
        localnet = wanted = remote = None
        if p.dp in local_dps:
            pb = self._by_name[name]
            if pb.type == "localnet":
                wanted = self._mappings.get(pb.options.get("network_name", ""))
                if wanted is not None:
                    localnet = self._lnet_of.get(name)
            elif pb.chassis and pb.chassis != self._me and p.vif is None and \
                    not p.redirect and pb.type in _REMOTE_TYPES:
                remote = pb.chassis
        if (localnet, wanted, remote) == (p.localnet, p.wanted, p.remote):
            return p
        return _new_port(_Port, (*p[:8], localnet, wanted, remote, p.redirect))

    def _apply(self, name: str, old: _Port, new: _Port, p: _Pass) -> None:
        rt = self.rt
        assert rt is not None
        b = rt.bindings
        if old.vif != new.vif:
            _put(b.vifs, name, new.vif)
        if old.container != new.container:
            _put(b.containers, name, new.container)
        if old.wanted != new.wanted:
            _put(b.wanted_localnets, name, new.wanted)
        if old.localnet != new.localnet:
            _put(b.localnets, name, new.localnet)
        if (old.localnet is None, old.dp) != (new.localnet is None, new.dp):
            if old.localnet is not None:
                index_discard(self._ln_by_dp, old.dp, name)
                p.localnet_dps.add(old.dp)
            if new.localnet is not None:
                index_add(self._ln_by_dp, new.dp, name)
                p.localnet_dps.add(new.dp)
        if old.claim != new.claim:
            (b.claims.add if new.claim else b.claims.discard)(name)
        if old.release != new.release:
            (b.releases.add if new.release else b.releases.discard)(name)
        if old.redirect != new.redirect:
            (b.redirects.add if new.redirect else b.redirects.discard)(name)
        if old.remote != new.remote:
            _put(b.remote, name, new.remote)
            for c, step in ((old.remote, -1), (new.remote, 1)):
                if c is not None and _count(self._remote_n, c, step):
                    p.chassis.add(c)
        role = new.role()
        if old.role() != role:
            _put(rt.roles, name, role)
            p.changed.add(("role", name))
        was, now = old.is_local, new.is_local
        if was != now:
            (self._local.add if now else self._local.discard)(name)
            p.local_names.add(name)
            p.changed.add(("local", name))
        if (was or old.here) != (now or new.here):
            (self._resident.add if now or new.here else self._resident.discard)(name)
            p.resident = True
            p.changed.add(("resident", name))
        if old.parent != new.parent:
            for par, step in ((old.parent, -1), (new.parent, 1)):
                if par is not None and _count(self._parent_n, par, step):
                    # Not a change yet: another container may take it back in this pass.
                    p.parents.add(par)

    # --- propagation -------------------------------------------------------------------------

    def _propagate(self, dirty: set[str], reclose: bool, tunnels: set[str],
                   zones: Mapping[str, int], p: _Pass) -> None:
        """Re-derives the 'dirty' ports (and their containers), the local datapaths when
        the seeds or the patch graph moved, then the aggregates the ports feed."""
        rt = self.rt
        assert rt is not None
        b = rt.bindings
        for n in list(dirty):
            kids = self._children.get(n)
            if kids:
                dirty |= kids  # a container's binding reads its parent's
        bound = {n: self._bind(n) for n in dirty}
        for n, new in bound.items():
            old = self._ports.get(n)
            was = old.dp if old is not None and old.seed else None
            now = new.dp if new is not None and new.seed else None
            if was != now:
                if was is not None:
                    reclose |= _count(self._seeds, was, -1)
                if now is not None:
                    reclose |= _count(self._seeds, now, 1)
        moved: set[str] = set()
        if reclose:
            dps = self._closure()
            moved = dps ^ b.local_datapaths
            if moved:
                b.local_datapaths.symmetric_difference_update(moved)
                rt.local_datapaths = frozenset(b.local_datapaths)
                for dp in moved:
                    p.changed.add(("localdp", dp))
                    for n in self._by_dp.get(dp, ()):
                        if n not in bound:
                            # Unchanged but for its datapath: what it binds still holds.
                            bound[n] = self._ports[n]
        self.work.ports += len(bound)
        for n, s1 in bound.items():
            new = self._place(n, s1, b.local_datapaths) if s1 is not None else None
            old = self._ports.get(n)
            if new is None:
                self._ports.pop(n, None)
            else:
                self._ports[n] = new
            if old != new:
                self._apply(n, old or _ABSENT, new or _ABSENT, p)

        for dp in p.localnet_dps:
            names = self._ln_by_dp.get(dp)
            cur = min(names) if names else None
            if rt.localnet_of.get(dp) != cur:
                _put(rt.localnet_of, dp, cur)
                p.changed.add(("localnet_of", dp))
        for c in tunnels | p.chassis:
            ofport = self._tun_of.get(c) if c in self._remote_n else None
            if rt.tunnels.get(c) != ofport:
                _put(rt.tunnels, c, ofport)
                p.changed.add(("tunnel", c))
        if p.local_names:
            rt.local = frozenset(self._local)
        if p.resident:
            rt.resident = frozenset(self._resident)
        moved_parents = {n for n in p.parents if (n in rt.parents) != (n in self._parent_n)}
        if moved_parents:
            p.changed.update(("parent", n) for n in moved_parents)
            rt.parents = frozenset(self._parent_n)
        self._zones(zones, p.local_names | {k for dp in moved
                                           for k in (dnat_key(dp), snat_key(dp))}, p)

    def _closure(self) -> set[str]:
        """The local datapaths: those with a seed port, closed over the patch peers
        (O(local datapaths and their patch ports), only when seeds or patches moved)."""
        self.work.closures += 1
        out: set[str] = set()
        todo = list(self._seeds)
        while todo:
            dp = todo.pop()
            if dp in out or dp not in self._dps:
                continue
            out.add(dp)
            for n in self._edges.get(dp, ()):
                peer = self._by_name.get(self._by_name[n].options.get("peer", ""))
                if peer is not None:
                    todo.append(peer.datapath)
        self.work.datapaths += len(out)
        return out

    def _zone_needed(self, name: str) -> bool:
        if name in self._local:
            return True
        dp = name[:-5]  # len("_dnat") == len("_snat")
        rt = self.rt
        assert rt is not None
        return dp in rt.local_datapaths and name in (dnat_key(dp), snat_key(dp))

    def _zones(self, given: Mapping[str, int], names: set[str], p: _Pass) -> None:
        """Zones as assign_zones(needed, given) gives them, 'names' being all that may
        have entered or left 'needed'.  When 'given' is the last result (the usual case),
        the kept zones stay and the new names take the lowest free numbers in sorted
        order, as assign_zones would; otherwise (zones changed from outside) they are
        assigned again, O(local ports and datapaths)."""
        rt = self.rt
        assert rt is not None
        prev = rt.zones
        if given is prev or given == prev:
            added = sorted(n for n in names if n not in prev and self._zone_needed(n))
            removed = [n for n in names if n in prev and not self._zone_needed(n)]
            if not added and not removed:
                return
            z = dict(prev)  # a new dict: see the class docstring
            for n in removed:
                del z[n]
            used = set(z.values())
            nxt = 1
            for n in added:
                while nxt in used:
                    nxt += 1
                if nxt > MAX_ZONE:
                    raise ValueError("out of conntrack zones")
                z[n] = nxt
                used.add(nxt)
            p.changed.update(("zone", n) for n in (*added, *removed))
        else:
            z = assign_zones(needed_zones(self._local, rt.local_datapaths), given)
            _dict_changes("zone", prev, z, p.changed)
        rt.zones = z


def _changed_keys(old: Mapping[str, object], new: Mapping[str, object]) -> set[str]:
    if old == new:
        return set()
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
