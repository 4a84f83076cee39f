"""From IDL replicas to the controller's model: the SB mirror (kept up to date from change
sets, so that a change costs work in proportion to it) and the local Open vSwitch view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyovn.controller import model as M
from pyovn.ovsdb.idl import ChangeSet, Row, Table

HA_TABLES = ("HA_Chassis_Group", "HA_Chassis", "Gateway_Chassis")
SB_TABLES = ("Chassis", "Encap", "Datapath_Binding", "Port_Binding", "Multicast_Group",
             "Logical_Flow", "Logical_DP_Group", "MAC_Binding", "Address_Set", "Port_Group",
             "FDB", "Load_Balancer", "SB_Global")


def _opt(v: Any) -> Any:
    """An optional column's stored value: () or (x,) -> None or x."""
    if isinstance(v, tuple):
        return v[0] if v else None
    return v


class SbMirror:
    """SbState maintained from the SB replica's change sets."""

    def __init__(self) -> None:
        self.state = M.SbState()
        self.chassis_names: dict[str, str] = {}  # Chassis uuid -> name
        self.dp_groups: dict[str, tuple[str, ...]] = {}
        self.lflows_by_group: dict[str, set[str]] = {}
        self.lbs_by_group: dict[str, set[str]] = {}  # Logical_DP_Group -> Load_Balancers
        self.changed = 0  # rows converted by the last call
        self.tables: Mapping[str, Table] = {}
        self.ha_ports: set[str] = set()  # Port_Binding uuids with HA chassis (see _ha)
        self.pending = M.SbDelta(full=True)  # what changed since take_delta()

    # --- conversions ---------------------------------------------------------------------

    def _datapath(self, r: Row) -> M.Datapath:
        ext = r.raw("external_ids")
        return M.Datapath(r.uuid, int(r.raw("tunnel_key")), "logical-router" not in ext,
                          ext.get("name", ""))

    def _port(self, r: Row) -> M.PortBinding:
        opts = dict(r.raw("options"))
        req = opts.get("requested-chassis") or None
        ch = _opt(r.raw("chassis"))
        tag = _opt(r.raw("tag"))
        members, refs = self._ha(r)
        if r.raw("ha_chassis_group") or r.raw("gateway_chassis"):
            self.ha_ports.add(r.uuid)
        else:
            self.ha_ports.discard(r.uuid)
        return M.PortBinding(
            r.uuid, r.raw("logical_port"), r.raw("datapath"), int(r.raw("tunnel_key")),
            r.raw("type"), self.chassis_names.get(ch) if ch else None,
            _opt(r.raw("parent_port")) or None, None if tag is None else int(tag), opts,
            tuple(r.raw("mac")), req, bool(_opt(r.raw("up"))), members, refs)

    def _ha(self, r: Row) -> tuple[tuple[tuple[int, str | None], ...], tuple[str, ...]]:
        """A port's HA chassis group members and ref_chassis, or its legacy Gateway_Chassis
        rows (northd 23.03 writes the group)."""
        t = self.tables
        names = self.chassis_names
        members: list[tuple[int, str | None]] = []
        refs: tuple[str, ...] = ()
        grp = _opt(r.raw("ha_chassis_group"))
        g = t["HA_Chassis_Group"].rows.get(grp) if grp and "HA_Chassis_Group" in t else None
        if g is not None:
            for u in g.raw("ha_chassis"):
                h = t["HA_Chassis"].rows.get(u)
                if h is not None:
                    c = _opt(h.raw("chassis"))
                    members.append((int(h.raw("priority")), names.get(c) if c else None))
            refs = tuple(sorted(names[c] for c in g.raw("ref_chassis") if c in names))
        elif "Gateway_Chassis" in t:
            for u in r.raw("gateway_chassis"):
                h = t["Gateway_Chassis"].rows.get(u)
                if h is not None:
                    c = _opt(h.raw("chassis"))
                    members.append((int(h.raw("priority")), names.get(c) if c else None))
        return tuple(sorted(members, key=lambda m: (-m[0], m[1] or ""))), refs

    def _lflow(self, r: Row) -> M.LogicalFlow:
        dp = _opt(r.raw("logical_datapath"))
        grp = _opt(r.raw("logical_dp_group"))
        dps: tuple[str, ...] = (dp,) if dp else ()
        if grp:
            dps += self.dp_groups.get(grp, ())
            self.lflows_by_group.setdefault(grp, set()).add(r.uuid)
        tags = r.raw("tags")
        meter = _opt(r.raw("controller_meter"))
        return M.LogicalFlow(r.uuid, dps, r.raw("pipeline"), int(r.raw("table_id")),
                             int(r.raw("priority")), r.raw("match"), r.raw("actions"),
                             tags.get("in_out_port") or None, meter or None)

    def _lb(self, r: Row) -> M.LoadBalancer:
        """The group expanded as for logical flows (northd 23.03 puts a load balancer's
        switches in a datapath group): a change of the group converts its load balancers
        again (lbs_by_group), so the core only ever reads 'datapaths'."""
        dps = tuple(r.raw("datapaths"))
        grp = _opt(r.raw("datapath_group"))
        if grp:
            dps += self.dp_groups.get(grp, ())
            self.lbs_by_group.setdefault(grp, set()).add(r.uuid)
        return M.LoadBalancer(r.uuid, r.raw("name"), dict(r.raw("vips")),
                              _opt(r.raw("protocol")) or "", dps, dict(r.raw("options")))

    def _fdb(self, r: Row) -> M.Fdb:
        return M.Fdb(r.uuid, r.raw("mac"), int(r.raw("dp_key")), int(r.raw("port_key")))

    def _chassis(self, r: Row, encaps: Table) -> M.Chassis:
        out = []
        for u in r.raw("encaps"):
            e = encaps.rows.get(u)
            if e is not None:
                out.append(M.Encap(e.raw("type"), e.raw("ip"),
                                   tuple(sorted(e.raw("options").items()))))
        return M.Chassis(r.raw("name"), tuple(sorted(out, key=lambda x: (x.type, x.ip))))

    # --- full and incremental ------------------------------------------------------------

    def rebuild(self, tables: Mapping[str, Table]) -> M.SbState:
        self.__init__()  # type: ignore[misc]
        self.tables = tables
        for r in tables["Chassis"].rows.values():
            self.chassis_names[r.uuid] = r.raw("name")
        for r in tables["Logical_DP_Group"].rows.values():
            self.dp_groups[r.uuid] = tuple(r.raw("datapaths"))
        st = self.state
        for r in tables["Chassis"].rows.values():
            st.chassis[r.raw("name")] = self._chassis(r, tables["Encap"])
        st.datapaths = {u: self._datapath(r) for u, r in tables["Datapath_Binding"].rows.items()}
        st.ports = {u: self._port(r) for u, r in tables["Port_Binding"].rows.items()}
        st.mcast_groups = {u: self._mcast(r) for u, r in tables["Multicast_Group"].rows.items()}
        st.lflows = {u: self._lflow(r) for u, r in tables["Logical_Flow"].rows.items()}
        st.mac_bindings = {u: self._mac_binding(r) for u, r in tables["MAC_Binding"].rows.items()}
        st.address_sets = {r.raw("name"): tuple(r.raw("addresses"))
                           for r in tables["Address_Set"].rows.values()}
        st.port_groups = {r.raw("name"): tuple(r.raw("ports"))
                          for r in tables["Port_Group"].rows.values()}
        # (.get: replicas of tests and tools may not monitor these.)
        st.fdbs = {u: self._fdb(r) for u, r in _rows(tables, "FDB").items()}
        st.load_balancers = {u: self._lb(r) for u, r in _rows(tables, "Load_Balancer").items()}
        st.options = _global_options(tables)
        self.changed = sum(len(t.rows) for t in tables.values())
        self.pending = M.SbDelta(full=True)
        return st

    def _mcast(self, r: Row) -> M.MulticastGroup:
        return M.MulticastGroup(r.uuid, r.raw("name"), r.raw("datapath"),
                                int(r.raw("tunnel_key")), tuple(r.raw("ports")))

    def _mac_binding(self, r: Row) -> M.MacBinding:
        return M.MacBinding(r.uuid, r.raw("logical_port"), r.raw("ip"), r.raw("mac"),
                            r.raw("datapath"))

    def take_delta(self) -> M.SbDelta:
        """What changed since the last call (for the incremental core)."""
        d, self.pending = self.pending, M.SbDelta()
        return d

    def apply(self, ch: ChangeSet, tables: Mapping[str, Table]) -> M.SbState:
        """Applies one change set, in work proportional to it, and adds what changed to
        the pending delta."""
        st = self.state
        self.tables = tables
        d = M.SbDelta()
        n = self._apply_chassis(ch, tables, d)
        tc = ch["Logical_DP_Group"]
        regroup: set[str] = set()
        relb: set[str] = set()  # load balancers whose datapath group changed
        for u, r in [*tc.inserted.items(), *tc.modified.items()]:
            self.dp_groups[u] = tuple(r.raw("datapaths"))
            regroup |= self.lflows_by_group.get(u, set())
            relb |= self.lbs_by_group.get(u, set())
        for u in tc.deleted:
            self.dp_groups.pop(u, None)
            regroup |= self.lflows_by_group.pop(u, set())
            relb |= self.lbs_by_group.pop(u, set())
        simple: list[tuple[str, dict[str, Any], Any, dict[str, Any]]] = [
            ("Datapath_Binding", st.datapaths, self._datapath, d.datapaths),
            ("Port_Binding", st.ports, self._port, d.ports),
            ("Multicast_Group", st.mcast_groups, self._mcast, d.mcast_groups),
            ("Logical_Flow", st.lflows, self._lflow, d.lflows),
            ("MAC_Binding", st.mac_bindings, self._mac_binding, d.mac_bindings),
            ("FDB", st.fdbs, self._fdb, d.fdbs),
            ("Load_Balancer", st.load_balancers, self._lb, d.load_balancers),
        ]
        for table, target, conv, changed in simple:
            tc = ch[table]
            for u, r in [*tc.inserted.items(), *tc.modified.items()]:
                changed.setdefault(u, target.get(u))
                target[u] = conv(r)
                n += 1
            for u in tc.deleted:
                changed.setdefault(u, target.pop(u, None))
                n += 1
        if any(ch[t] for t in HA_TABLES):
            # Few rows (gateway ports): their groups are converted again on any change.
            for u in list(self.ha_ports):
                pbr = tables["Port_Binding"].rows.get(u)
                if pbr is None:
                    self.ha_ports.discard(u)
                elif u in st.ports:
                    d.ports.setdefault(u, st.ports[u])
                    st.ports[u] = self._port(pbr)
                    n += 1
        for u in regroup:
            lf = tables["Logical_Flow"].rows.get(u)
            if lf is not None:
                d.lflows.setdefault(u, st.lflows.get(u))
                st.lflows[u] = self._lflow(lf)
                n += 1
        for u in relb:
            lbr = _rows(tables, "Load_Balancer").get(u)
            if lbr is not None:
                d.load_balancers.setdefault(u, st.load_balancers.get(u))
                st.load_balancers[u] = self._lb(lbr)
                n += 1
        if ch["SB_Global"]:
            opts = _global_options(tables)
            d.options |= {k for k in opts.keys() | st.options.keys()
                          if opts.get(k) != st.options.get(k)}
            st.options = opts
        for table, target, col, names in (("Address_Set", st.address_sets, "addresses",
                                           d.address_sets),
                                          ("Port_Group", st.port_groups, "ports",
                                           d.port_groups)):
            tc = ch[table]
            for r in tc.deleted.values():
                target.pop(r.raw("name"), None)
                names.add(r.raw("name"))
            for u, r in [*tc.inserted.items(), *tc.modified.items()]:
                old = tc.old.get(u, {}).get("name")
                if isinstance(old, str):  # renamed
                    target.pop(old, None)
                    names.add(old)
                target[r.raw("name")] = tuple(r.raw(col))
                names.add(r.raw("name"))
        self.changed = n
        self.pending.merge(d)
        return st

    def _apply_chassis(self, ch: ChangeSet, tables: Mapping[str, Table], d: M.SbDelta) -> int:
        """Chassis and Encap rows are few: their view is rebuilt on any change and the
        names whose view differs are reported.  Ports name their chassis through these
        rows, so a chassis that appears, goes or is renamed re-converts the ports that
        refer to it (a scan, but a rare one)."""
        tcc, tce = ch["Chassis"], ch["Encap"]
        if not tcc and not tce:
            return 0
        st = self.state
        before = dict(self.chassis_names)
        for u, r in [*tcc.inserted.items(), *tcc.modified.items()]:
            self.chassis_names[u] = r.raw("name")
        for u in tcc.deleted:
            self.chassis_names.pop(u, None)
        new = {r.raw("name"): self._chassis(r, tables["Encap"])
               for r in tables["Chassis"].rows.values()}
        d.chassis |= {c for c in st.chassis.keys() | new.keys()
                      if st.chassis.get(c) != new.get(c)}
        st.chassis = new
        renamed = {u for u in before.keys() | self.chassis_names.keys()
                   if before.get(u) != self.chassis_names.get(u)}
        n = len(new)
        if renamed:
            for u, r in tables["Port_Binding"].rows.items():
                if (_opt(r.raw("chassis")) in renamed or u in self.ha_ports) and u in st.ports:
                    d.ports.setdefault(u, st.ports[u])
                    st.ports[u] = self._port(r)
                    n += 1
        return n


def _rows(tables: Mapping[str, Table], name: str) -> Mapping[str, Row]:
    t = tables.get(name)
    return t.rows if t is not None else {}


def _global_options(tables: Mapping[str, Table]) -> dict[str, str]:
    rows = list(_rows(tables, "SB_Global").values())
    return dict(rows[0].raw("options")) if rows else {}


def ha_groups(tables: Mapping[str, Table]
              ) -> list[tuple[list[str | None], list[tuple[str, bool]]]]:
    """Every HA chassis group as ha.bfd_chassis reads it: its members' chassis names (None
    for an HA_Chassis whose chassis is unset: it still counts towards the group's size)
    and the ref_chassis with their other_config:is-remote (a few rows: gateways)."""
    if "HA_Chassis_Group" not in tables:
        return []
    chassis = tables["Chassis"].rows
    ha = tables["HA_Chassis"].rows
    out = []
    for g in tables["HA_Chassis_Group"].rows.values():
        members: list[str | None] = []
        for u in g.raw("ha_chassis"):
            h = ha.get(u)
            if h is None:
                continue
            c = chassis.get(_opt(h.raw("chassis")))
            members.append(c.raw("name") if c is not None else None)
        refs = [(c.raw("name"), c.raw("other_config").get("is-remote") == "true")
                for c in (chassis.get(u) for u in g.raw("ref_chassis")) if c is not None]
        out.append((members, refs))
    return out


# --- the local Open vSwitch ----------------------------------------------------------------


def open_vswitch_row(tables: Mapping[str, Table]) -> Row | None:
    rows = list(tables["Open_vSwitch"].rows.values())
    return rows[0] if rows else None


def find_bridge(tables: Mapping[str, Table], name: str) -> Row | None:
    for r in tables["Bridge"].rows.values():
        if r.raw("name") == name:
            return r
    return None


def local_encap_types(tables: Mapping[str, Table]) -> list[str]:
    """This chassis' ovn-encap-type list (comma-separated; Geneve if unset)."""
    ovs = open_vswitch_row(tables)
    ext: dict[str, str] = dict(ovs.raw("external_ids")) if ovs is not None else {}
    return [x.strip() for x in ext.get("ovn-encap-type", "geneve").split(",") if x.strip()]


def tunnel_chassis_of(chassis_id: str) -> str:
    """The chassis name in a tunnel port's external_ids:ovn-chassis-id, which
    ovn-controller writes as "<chassis>@<remote ip>" (pyovn before did just "<chassis>")."""
    return chassis_id.partition("@")[0]


def local_state(tables: Mapping[str, Table], chassis: str, br_int: str) -> M.LocalState:
    ovs = open_vswitch_row(tables)
    ext: dict[str, str] = dict(ovs.raw("external_ids")) if ovs is not None else {}
    ips = tuple(x.strip() for x in ext.get("ovn-encap-ip", "").split(",") if x.strip())
    types = local_encap_types(tables)
    st = M.LocalState(chassis, types[0] if types else "geneve", ips,
                      M.parse_bridge_mappings(ext.get("ovn-bridge-mappings", "")))
    br = find_bridge(tables, br_int)
    if br is None:
        return st
    for pu in br.raw("ports"):
        port = tables["Port"].rows.get(pu)
        if port is None:
            continue
        pext = port.raw("external_ids")
        for iu in port.raw("interfaces"):
            i = tables["Interface"].rows.get(iu)
            if i is None:
                continue
            iext = i.raw("external_ids")
            ofport = _opt(i.raw("ofport"))
            # A tunnel counts as active (ha.py) when OVN enabled BFD on it and the
            # session is up, as in ovn-controller's bfd_calculate_active_tunnels.
            bfd_up = i.raw("bfd").get("enable") == "true" and \
                i.raw("bfd_status").get("state") == "up"
            st.interfaces[i.raw("name")] = M.Interface(
                i.raw("name"), None if ofport is None else int(ofport),
                iext.get("iface-id") or None, i.raw("type"),
                tunnel_chassis_of(pext.get("ovn-chassis-id", "")) or None,
                pext.get("ovn-localnet-port") or None, bfd_up)
    return st
