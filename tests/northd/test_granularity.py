"""How much a change recomputes, below the switch: a port's unit, its switch's unit
(multicast groups and the switch-wide inputs) and the switch's flows unit are recomputed
only when what they read changed, and the result still equals the full translation."""

from __future__ import annotations

import pytest

from pyovn.northd.nb import Cols, NbDb, UndeclaredColumn, column_group
from pyovn.northd.stages import LFlow
from pyovn.northd.translate import Translator, translate

from .nbbuild import NbBuilder


def _switch(nb: NbBuilder, n: int) -> tuple[str, list[str]]:
    ls = nb.ls_add("sw")
    ports = [nb.lsp_add(ls, f"p{j}", (f"00:00:00:00:01:{j:02x} 10.0.0.{j + 1}",))
             for j in range(n)]
    return ls, ports


def _start(nb: NbBuilder) -> Translator:
    nb.take()
    t = Translator(NbDb(nb.tables))
    t.full_run()
    t.take_dirty()
    return t


def _check(t: Translator, nb: NbBuilder) -> None:
    assert t.desired.tables == translate(NbDb(nb.tables)).tables


def test_adding_a_port_leaves_the_other_ports_and_the_switch_flows_alone() -> None:
    nb = NbBuilder()
    ls, ports = _switch(nb, 30)
    pg = nb.insert("Port_Group", name="pg", ports=ports[:10])
    nb.acl_add("Port_Group", pg, "to-lport", 1000, "outport == @pg && tcp", "allow-related")
    t = _start(nb)
    new = nb.lsp_add(ls, "new", ("00:00:00:00:02:01 10.0.1.1",))
    t.handle_changes(nb.take())
    assert t.last_recomputed == [("lsp", new), ("ls", ls)]
    dirty = t.take_dirty()
    assert dirty["Port_Binding"] == {"new"}
    assert dirty["Multicast_Group"] == {(ls, "_MC_flood"), (ls, "_MC_flood_l2")}
    # Only the new port's own flows: each names it or its MAC/IP.
    assert dirty["Logical_Flow"]
    for f in dirty["Logical_Flow"]:
        assert isinstance(f, LFlow) and f.dp == ls
        assert '"new"' in f.match or "00:00:00:00:02:01" in f.match + f.actions \
            or "10.0.1.1" in f.match
    _check(t, nb)

    nb.lsp_del(ls, new)
    t.handle_changes(nb.take())
    assert sorted(t.last_recomputed) == [("ls", ls), ("lsp", new)]
    _check(t, nb)


def test_status_columns_northd_writes_recompute_nothing() -> None:
    """northd copies Port_Binding.up into NB: that write must not come back as work."""
    nb = NbBuilder()
    ls, ports = _switch(nb, 5)
    lr = nb.lr_add("lr")
    nb.connect(ls, lr, "c", "00:00:00:00:ff:01", ("10.0.0.254/24",))
    pg = nb.insert("Port_Group", name="pg", ports=ports)
    t = _start(nb)
    nb.update("Logical_Switch_Port", ports[2], up=(True,))
    nb.update("Logical_Switch_Port", ports[3], external_ids={"neutron:id": "x"})
    assert t.handle_changes(nb.take()) == 0
    assert not any(t.take_dirty().values())
    assert pg


def test_port_change_that_keeps_its_summary_recomputes_only_the_port() -> None:
    nb = NbBuilder()
    _ls, ports = _switch(nb, 10)
    t = _start(nb)
    nb.update("Logical_Switch_Port", ports[4], port_security=("00:00:00:00:01:04",))
    t.handle_changes(nb.take())
    assert t.last_recomputed == [("lsp", ports[4])]
    _check(t, nb)


def test_unknown_addresses_reach_the_switch_flows() -> None:
    """A port gaining "unknown" changes _MC_unknown and the unknown-destination flow."""
    nb = NbBuilder()
    ls, ports = _switch(nb, 10)
    t = _start(nb)
    nb.update("Logical_Switch_Port", ports[4], addresses=("unknown",))
    t.handle_changes(nb.take())
    assert t.last_recomputed == [("lsp", ports[4]), ("ls", ls), ("lsf", ls)]
    assert (ls, "_MC_unknown") in t.take_dirty()["Multicast_Group"]
    _check(t, nb)


def test_a_stateful_acl_rebuilds_the_switch_flows_not_its_ports() -> None:
    nb = NbBuilder()
    ls, ports = _switch(nb, 10)
    d = nb.insert("DHCP_Options", cidr="10.0.0.0/24",
                  options={"server_id": "10.0.0.254", "server_mac": "00:00:00:00:ff:01",
                           "lease_time": "3600"})
    nb.update("Logical_Switch_Port", ports[1], dhcpv4_options=(d,))
    lr = nb.lr_add("lr")
    nb.connect(ls, lr, "c", "00:00:00:00:ff:01", ("10.0.0.254/24",))
    t = _start(nb)
    nb.acl_add("Logical_Switch", ls, "from-lport", 1000, "ip4", "allow-related")
    t.handle_changes(nb.take())
    assert t.last_recomputed == [("ls", ls), ("lsf", ls)]
    flows = {(f.match, f.actions) for f in t.desired.tables["Logical_Flow"]
             if isinstance(f, LFlow) and f.dp == ls}
    # The DHCP reply exception of port 1 and the router port's conntrack bypass follow.
    assert any('outport == "p1"' in m and a == "ct_commit; next;" for m, a in flows)
    assert ('ip && inport == "c-sp"', "next;") in flows
    _check(t, nb)


def test_a_port_moving_between_switches() -> None:
    nb = NbBuilder()
    a, ports = _switch(nb, 3)
    b = nb.ls_add("other")
    t = _start(nb)
    nb.del_ref("Logical_Switch", a, "ports", ports[0])
    nb.add_ref("Logical_Switch", b, "ports", ports[0])
    t.handle_changes(nb.take())
    assert sorted(t.last_recomputed) == sorted([("lsp", ports[0]), ("ls", a), ("ls", b)])
    assert t.desired.tables["Port_Binding"]["p0"].datapath == b
    _check(t, nb)


@pytest.mark.parametrize("n", [10, 200])
def test_port_add_work_does_not_grow_with_the_ports_flows(n: int) -> None:
    """The port units of the other ports never run, whatever the switch's size."""
    nb = NbBuilder()
    ls, _ports = _switch(nb, n)
    t = _start(nb)
    for k in range(3):
        nb.lsp_add(ls, f"q{k}", (f"00:00:00:00:03:{k:02x} 10.0.3.{k + 1}",))
        assert t.handle_changes(nb.take()) == 2
    _check(t, nb)


def test_undeclared_column_is_refused() -> None:
    g = column_group("Logical_Switch_Port", "test_only_name", ("name",))
    c = Cols({"name": "a", "up": (True,)}, g.columns)
    assert c["name"] == "a" and c.get("name") == "a"
    assert list(c) == ["name"] and len(c) == 1
    with pytest.raises(UndeclaredColumn):
        c.get("up")
    with pytest.raises(UndeclaredColumn):
        c["up"]
    with pytest.raises(ValueError):
        column_group("Logical_Switch_Port", "test_only_name", ("name", "up"))
