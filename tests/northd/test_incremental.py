"""Incremental translation equals the full recompute after every step of random NB change
sequences (add, remove and modify switches, ports, ACLs, port groups, address sets, routers,
routes, DHCP options, DNS; ports moving between switches, changing type, status columns
northd writes itself), and a change costs work in proportion to what it touches (see also
test_granularity.py)."""

from __future__ import annotations

import random

import pytest

from pyovn.logical import parse, parse_actions
from pyovn.northd.nb import NbDb
from pyovn.northd.stages import LFlow
from pyovn.northd.translate import Desired, Translator, translate

from .nbbuild import NbBuilder

MATCHES = ("ip4", "tcp.dst == 22", "udp", "icmp4", "ip4.src == $as0", "outport == @pg0 && ip4",
           "inport == @pg1 && tcp", "ip6")
ACTIONS = ("allow", "allow-related", "allow-stateless", "drop", "reject")


def flows(d: Desired) -> list[LFlow]:
    return [f for f in d.tables["Logical_Flow"] if isinstance(f, LFlow)]


class World:
    """Random NB edits, each recorded by the builder as the IDL would report them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.nb = NbBuilder()
        self.n = 0

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def pick(self, table: str) -> str | None:
        rows = sorted(self.nb.tables[table])
        return self.rng.choice(rows) if rows else None

    def mac(self) -> str:
        r = self.rng
        return f"00:00:00:{r.randrange(4):02x}:{r.randrange(256):02x}:{r.randrange(1, 255):02x}"

    def addr(self) -> str:
        net = self.rng.randrange(3)
        words = [self.mac(), f"10.0.{net}.{self.rng.randrange(1, 250)}"]
        if self.rng.random() < 0.3:
            words.append(f"fd00:{net}::{self.rng.randrange(1, 250):x}")
        return " ".join(words)

    def drop_port(self, p: str) -> None:
        """Deletes a port, first from every switch listing it (as OVSDB's strong
        references demand)."""
        for sw_u, sw_r in list(self.nb.tables["Logical_Switch"].items()):
            if p in sw_r["ports"]:
                self.nb.del_ref("Logical_Switch", sw_u, "ports", p)
        self.nb.delete("Logical_Switch_Port", p)

    def step(self) -> None:
        r = self.rng
        nb = self.nb
        op = r.choice([
            "ls_add", "ls_add", "lsp_add", "lsp_add", "lsp_add", "lsp_del", "lsp_mod",
            "ls_del", "acl_add", "acl_del", "acl_mod", "pg_add", "pg_mod", "pg_del", "as_add",
            "as_mod", "as_del", "lr_add", "connect", "lrp_del", "lrp_mod", "route_add",
            "route_del", "dhcp", "dhcp_mod", "dns", "lr_del", "lsp_status", "lsp_move",
            "lsp_type", "lsp_unknown", "ls_config", "lsp_share",
        ])
        ls: str | None = self.pick("Logical_Switch")
        lr: str | None = self.pick("Logical_Router")
        if op == "ls_add" or (ls is None and op.startswith(("ls", "lsp", "connect", "dhcp"))):
            nb.ls_add(self.name("sw"))
        elif op == "lsp_add" and ls is not None:
            kind = r.choice(["vif", "vif", "vif", "unknown", "localnet", "localport",
                             "container", "disabled"])
            name = self.name("p")
            if kind == "unknown":
                nb.lsp_add(ls, name, ("unknown",))
            elif kind == "localnet":
                nb.lsp_add(ls, name, ("unknown",), type="localnet",
                           options={"network_name": "phys"})
            elif kind == "localport":
                nb.lsp_add(ls, name, (self.addr(),), type="localport")
            elif kind == "container":
                parent = self.pick("Logical_Switch_Port")
                pname = nb.get("Logical_Switch_Port", parent)["name"] if parent else "x"
                nb.lsp_add(ls, name, (self.addr(),), parent_name=pname,
                           tag_request=r.randrange(1, 4095))
            else:
                a = self.addr()
                nb.lsp_add(ls, name, (a,), port_security=(a,) if r.random() < 0.5 else (),
                           enabled=(False,) if kind == "disabled" else ())
        elif op == "lsp_del" and ls is not None:
            ports = nb.get("Logical_Switch", ls)["ports"]
            if ports:
                self.drop_port(r.choice(ports))
        elif op == "lsp_mod":
            p = self.pick("Logical_Switch_Port")
            if p is not None:
                what = r.choice(["addresses", "enabled", "port_security", "name"])
                if what == "addresses":
                    nb.update("Logical_Switch_Port", p, addresses=(self.addr(),))
                elif what == "enabled":
                    nb.update("Logical_Switch_Port", p, enabled=(r.random() < 0.5,))
                elif what == "port_security":
                    nb.update("Logical_Switch_Port", p, port_security=(self.addr(),))
                else:
                    nb.update("Logical_Switch_Port", p, name=self.name("p"))
        elif op == "ls_del" and ls is not None:
            for p in nb.get("Logical_Switch", ls)["ports"]:
                self.drop_port(p)
            nb.delete("Logical_Switch", ls)
        elif op == "acl_add":
            owner_t = r.choice(["Logical_Switch", "Port_Group"])
            owner = self.pick(owner_t)
            if owner is not None:
                nb.acl_add(owner_t, owner, r.choice(["from-lport", "to-lport"]),
                           r.randrange(0, 32767), r.choice(MATCHES), r.choice(ACTIONS),
                           label=r.choice([0, 0, 7]), log=r.random() < 0.2)
        elif op == "acl_del":
            for t in ("Logical_Switch", "Port_Group"):
                o = self.pick(t)
                if o is not None and nb.get(t, o)["acls"]:
                    a = r.choice(nb.get(t, o)["acls"])
                    nb.del_ref(t, o, "acls", a)
                    nb.delete("ACL", a)
                    break
        elif op == "acl_mod":
            acl = self.pick("ACL")
            if acl is not None:
                nb.update("ACL", acl, action=r.choice(ACTIONS), match=r.choice(MATCHES))
        elif op == "pg_add":
            ports = [p for p in [self.pick("Logical_Switch_Port") for _ in range(3)] if p]
            nb.insert("Port_Group", name=r.choice(["pg0", "pg1", self.name("pg")]), ports=ports)
        elif op == "pg_mod":
            g = self.pick("Port_Group")
            p = self.pick("Logical_Switch_Port")
            if g is not None and p is not None:
                if p in nb.get("Port_Group", g)["ports"]:
                    nb.del_ref("Port_Group", g, "ports", p)
                else:
                    nb.add_ref("Port_Group", g, "ports", p)
        elif op == "pg_del":
            g = self.pick("Port_Group")
            if g is not None:
                for a in nb.get("Port_Group", g)["acls"]:
                    nb.delete("ACL", a)
                nb.delete("Port_Group", g)
        elif op == "as_add":
            nb.insert("Address_Set", name=r.choice(["as0", self.name("as")]),
                      addresses=[f"10.1.0.{r.randrange(250)}" for _ in range(r.randrange(3))])
        elif op == "as_mod":
            aset = self.pick("Address_Set")
            if aset is not None:
                nb.update("Address_Set", aset, addresses=[f"10.2.0.{r.randrange(250)}"])
        elif op == "as_del":
            aset = self.pick("Address_Set")
            if aset is not None:
                nb.delete("Address_Set", aset)
        elif op == "lr_add" or (lr is None and op in ("connect", "route_add", "lrp_mod")):
            nb.lr_add(self.name("lr"))
        elif op == "connect" and ls is not None and lr is not None:
            net = r.randrange(3)
            nets = [f"10.0.{net}.254/24"] + ([f"fd00:{net}::fe/64"] if r.random() < 0.5 else [])
            nb.connect(ls, lr, self.name("c"), self.mac(), tuple(nets))
        elif op == "lrp_del":
            p = self.pick("Logical_Router_Port")
            if p is not None:
                for lr_u, lr_r in list(nb.tables["Logical_Router"].items()):
                    if p in lr_r["ports"]:
                        nb.del_ref("Logical_Router", lr_u, "ports", p)
                nb.delete("Logical_Router_Port", p)
        elif op == "lrp_mod":
            p = self.pick("Logical_Router_Port")
            if p is not None:
                nb.update("Logical_Router_Port", p,
                          networks=(f"10.0.{r.randrange(3)}.253/24",), mac=self.mac())
        elif op == "route_add" and lr is not None:
            nb.route_add(lr, r.choice(["0.0.0.0/0", "192.168.0.0/16", "fd01::/64"]),
                         r.choice(["10.0.0.5", "10.0.1.5", "fd00:0::5"]))
        elif op == "route_del":
            s = self.pick("Logical_Router_Static_Route")
            if s is not None:
                for lr_u, lr_r in list(nb.tables["Logical_Router"].items()):
                    if s in lr_r["static_routes"]:
                        nb.del_ref("Logical_Router", lr_u, "static_routes", s)
                nb.delete("Logical_Router_Static_Route", s)
        elif op == "lr_del" and lr is not None:
            nb.delete("Logical_Router", lr)
        elif op == "dhcp":
            d = nb.insert("DHCP_Options", cidr=f"10.0.{r.randrange(3)}.0/24",
                          options={"server_id": "10.0.0.254", "server_mac": "00:00:00:00:ff:01",
                                   "lease_time": "3600", "router": "10.0.0.254"})
            p = self.pick("Logical_Switch_Port")
            if p is not None:
                nb.update("Logical_Switch_Port", p, dhcpv4_options=(d,))
        elif op == "dhcp_mod":
            dopt = self.pick("DHCP_Options")
            if dopt is not None:
                nb.update("DHCP_Options", dopt, options={"server_id": "10.0.0.1",
                                                      "server_mac": "00:00:00:00:ff:02",
                                                      "lease_time": str(r.randrange(60, 999))})
        elif op == "dns" and ls is not None:
            d = nb.insert("DNS", records={"vm.ovn": f"10.0.0.{r.randrange(250)}"})
            nb.add_ref("Logical_Switch", ls, "dns_records", d)
        else:
            self.step_port(op, ls)

    def step_port(self, op: str, ls: str | None) -> None:
        """Changes that move a port's summary, its switch's flows, or nothing at all."""
        r = self.rng
        nb = self.nb
        p = self.pick("Logical_Switch_Port")
        if p is None or ls is None:
            return
        if op == "lsp_status":
            # What northd itself writes back: must change no SB row.
            if r.random() < 0.5:
                nb.update("Logical_Switch_Port", p, up=(r.random() < 0.5,))
            else:
                nb.update("Logical_Switch_Port", p, external_ids={"x": str(r.randrange(9))})
        elif op == "lsp_move":
            for sw_u, sw_r in list(nb.tables["Logical_Switch"].items()):
                if p in sw_r["ports"]:
                    nb.del_ref("Logical_Switch", sw_u, "ports", p)
            nb.add_ref("Logical_Switch", ls, "ports", p)
        elif op == "lsp_type":
            lrp = self.pick("Logical_Router_Port")
            t = r.choice(["", "localnet", "localport", "router", "router"])
            opts = {}
            if t == "router" and lrp is not None:
                opts = {"router-port": nb.get("Logical_Router_Port", lrp)["name"]}
            elif t == "localnet":
                opts = {"network_name": "phys"}
            nb.update("Logical_Switch_Port", p, type=t, options=opts,
                      addresses=("router",) if t == "router" else (self.addr(),))
        elif op == "lsp_unknown":
            addrs = tuple(nb.get("Logical_Switch_Port", p)["addresses"])
            nb.update("Logical_Switch_Port", p,
                      addresses=tuple(a for a in addrs if a != "unknown")
                      if "unknown" in addrs else (*addrs, "unknown"))
        elif op == "ls_config":
            nb.update("Logical_Switch", ls, other_config={"vlan-passthru": r.choice(
                ["true", "false"])})
        elif op == "lsp_share":
            # A broken NB: one port listed by two switches.  The result must not depend
            # on the order changes came in.
            nb.add_ref("Logical_Switch", ls, "ports", p)


@pytest.mark.parametrize("seed", range(12))
def test_incremental_equals_full_recompute_after_every_step(seed: int) -> None:
    w = World(seed)
    db = NbDb(w.nb.tables)
    inc = Translator(db)
    inc.full_run()
    for step in range(120):
        for _ in range(w.rng.randrange(1, 4)):
            w.step()
        inc.handle_changes(w.nb.take())
        full = translate(NbDb(w.nb.tables))
        for t, rows in full.tables.items():
            assert inc.desired.tables[t] == rows, f"seed {seed} step {step}: {t} differs"


def test_every_generated_flow_parses_and_checks() -> None:
    """All flows of a random NB are valid in pyovn's logical flow language."""
    w = World(99)
    for _ in range(300):
        w.step()
    w.nb.insert("Address_Set", name="as0", addresses=["10.9.0.1"])
    w.nb.insert("NB_Global", options={"svc_monitor_mac": "0a:00:00:00:00:01"})
    for pg in ("pg0", "pg1"):
        w.nb.insert("Port_Group", name=pg, ports=[])
    d = translate(NbDb(w.nb.tables))
    address_sets = {str(k): list(v) for k, v in d.tables["Address_Set"].items()}
    port_groups: dict[str, list[str]] = {n: [] for n in ("pg0", "pg1")}
    assert len(d.tables["Logical_Flow"]) > 500
    for f in flows(d):
        parse(f.match, address_sets=address_sets, port_groups=port_groups)
        parse_actions(f.actions, f.pipeline, f.table)


def test_one_port_change_recomputes_only_that_port() -> None:
    nb = NbBuilder()
    switches = [nb.ls_add(f"sw{i}") for i in range(20)]
    ports = [nb.lsp_add(s, f"p{i}-{j}", (f"00:00:00:00:{i:02x}:{j:02x} 10.{i}.0.{j + 1}",))
             for i, s in enumerate(switches) for j in range(5)]
    nb.take()
    t = Translator(NbDb(nb.tables))
    t.full_run()
    t.take_dirty()
    nb.update("Logical_Switch_Port", ports[7], addresses=("00:00:00:00:99:99 10.1.0.99",))
    assert t.handle_changes(nb.take()) == 1
    assert t.last_recomputed == [("lsp", ports[7])]
    dirty = t.take_dirty()
    assert dirty["Logical_Flow"]
    assert all(isinstance(f, LFlow) and f.dp == switches[1] for f in dirty["Logical_Flow"])
    assert dirty["Port_Binding"] == {"p1-2"}


def test_router_follows_addresses_on_attached_switches() -> None:
    """A router's ARP resolution reads the ports of the switches it is attached to."""
    nb = NbBuilder()
    ls = nb.ls_add("sw")
    lr = nb.lr_add("lr")
    nb.connect(ls, lr, "c", "00:00:00:00:ff:01", ("10.0.0.254/24",))
    t = Translator(NbDb(nb.tables))
    t.full_run()
    nb.lsp_add(ls, "vm", ("00:00:00:00:00:05 10.0.0.5",))
    t.handle_changes(nb.take())
    assert ("lr", lr) in t.last_recomputed
    assert any(f.match == 'outport == "c-rp" && reg0 == 10.0.0.5' for f in flows(t.desired))


def test_leaving_a_port_group_spanning_all_switches_recomputes_one_switch() -> None:
    """A group with ACLs over every switch: a port leaving it (as when it is deleted) touches
    its switch and the group's own unit, not every switch the group reaches."""
    nb = NbBuilder()
    switches = [nb.ls_add(f"sw{i}") for i in range(10)]
    ports = [nb.lsp_add(s, f"p{i}-{j}", (f"00:00:00:00:{i:02x}:{j:02x} 10.{i}.0.{j + 1}",))
             for i, s in enumerate(switches) for j in range(3)]
    pg = nb.insert("Port_Group", name="all", ports=ports)
    nb.acl_add("Port_Group", pg, "to-lport", 1000, "outport == @all && ip4", "allow-related")
    t = Translator(NbDb(nb.tables))
    t.full_run()
    nb.take()
    nb.del_ref("Port_Group", pg, "ports", ports[4])
    nb.lsp_del(switches[1], ports[4])
    t.handle_changes(nb.take())
    assert sorted(t.last_recomputed) == sorted([("ls", switches[1]), ("lsp", ports[4]),
                                                ("pg", pg)])
    assert t.desired.tables == translate(NbDb(nb.tables)).tables
