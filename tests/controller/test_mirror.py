"""The SB mirror against a live SB database: after every change set a writer's random
transactions produce, the incrementally maintained state equals one rebuilt from the
replica, and the delta it reports names every row that changed with the value it had
before (what the incremental core relies on)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest

from pyovn.controller import model as M
from pyovn.controller.daemon import sb_helper
from pyovn.controller.state import SbMirror
from pyovn.ovsdb.idl import Idl, Transaction
from tests.idl.servers import KINDS, DbServer, missing_tools

SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
TABLES = ("Datapath_Binding", "Port_Binding", "Chassis", "Encap", "Logical_Flow",
          "Logical_DP_Group", "Multicast_Group", "MAC_Binding", "Address_Set", "Port_Group",
          "HA_Chassis_Group", "HA_Chassis", "FDB", "Load_Balancer", "SB_Global")


@pytest.fixture(params=KINDS)
def sb_server(request: pytest.FixtureRequest) -> Iterator[DbServer]:
    why = missing_tools(request.param)
    if why:
        pytest.skip(why)
    srv = DbServer(request.param, SB_SCHEMA, tag="mirror")
    try:
        yield srv
    finally:
        srv.cleanup()


def _idl(remote: str) -> Idl:
    return Idl(remote, sb_helper(), backoff_min=0.05, backoff_max=0.2)


def _snapshot(idl: Idl) -> dict[str, dict[str, Any]]:
    return {t: {u: dict(r._data) for u, r in idl.tables[t].rows.items()} for t in TABLES}


class Writer:
    """Random SB changes of every kind the controller reads."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def _rows(self, idl: Idl, table: str) -> list[Any]:
        return sorted(idl.tables[table].rows.values(), key=lambda r: r.uuid)

    def step(self, idl: Idl, txn: Transaction) -> None:
        rng, self.n = self.rng, self.n + 1
        n = self.n
        dps = self._rows(idl, "Datapath_Binding")
        ports = self._rows(idl, "Port_Binding")
        chassis = self._rows(idl, "Chassis")
        k = rng.randrange(23)
        if k == 0 or not dps:
            dp = txn.insert("Datapath_Binding")
            dp.tunnel_key = 100 + n
            dp.external_ids = {"name": f"dp{n}"} if rng.random() < 0.7 else \
                {"name": f"lr{n}", "logical-router": "x"}
        elif k == 1:
            rng.choice(dps).tunnel_key = 1000 + n
        elif k == 2 or not chassis:
            e = txn.insert("Encap")
            e.type, e.ip, e.chassis_name = "geneve", f"172.16.{n >> 8}.{n & 255}", f"hv{n}"
            c = txn.insert("Chassis")
            c.name, c.hostname, c.encaps = f"hv{n}", "h", [e]
        elif k == 3:
            c = rng.choice(chassis)
            if rng.random() < 0.5:
                txn.delete(c)  # ports bound to it lose their chassis (a weak reference)
            else:
                c.name = f"hv{n}-renamed"
        elif k == 4 or not ports:
            p = txn.insert("Port_Binding")
            p.logical_port, p.datapath, p.tunnel_key = f"p{n}", rng.choice(dps), n
            p.type = rng.choice(["", "", "patch", "localnet", "chassisredirect"])
            p.options = {"peer": f"p{n - 1}"} if p.type == "patch" else {}
            if chassis and rng.random() < 0.6:
                p.chassis = [rng.choice(chassis)]
        elif k == 5:
            p = rng.choice(ports)
            p.chassis = [rng.choice(chassis)] if chassis and rng.random() < 0.7 else []
            p.tag = [rng.randint(1, 4000)] if rng.random() < 0.3 else []
        elif k == 6:
            txn.delete(rng.choice(ports))
        elif k == 7:
            lf = txn.insert("Logical_Flow")
            lf.pipeline, lf.table_id, lf.priority = "ingress", rng.randint(0, 20), 100
            lf.match, lf.actions = f"reg0 == {n}", "next;"
            if rng.random() < 0.4:
                g = txn.insert("Logical_DP_Group")
                g.datapaths = rng.sample(dps, min(len(dps), 2))
                lf.logical_dp_group = [g]
            else:
                lf.logical_datapath = [rng.choice(dps)]
        elif k == 8:
            groups = self._rows(idl, "Logical_DP_Group")
            if groups:
                rng.choice(groups).datapaths = rng.sample(dps, min(len(dps), rng.randint(1, 3)))
        elif k == 9:
            flows = self._rows(idl, "Logical_Flow")
            if flows:
                txn.delete(rng.choice(flows))
        elif k == 10:
            mb = txn.insert("MAC_Binding")
            mb.logical_port, mb.ip = f"p{rng.randint(1, n)}", f"10.0.{n >> 8}.{n & 255}"
            mb.mac = "0a:00:00:00:00:01"
            mb.datapath = rng.choice(dps)
        elif k in (11, 14, 15):
            table = rng.choice(["Address_Set", "Port_Group"])
            rows = self._rows(idl, table)
            col = "addresses" if table == "Address_Set" else "ports"
            if rows and rng.random() < 0.6:
                r = rng.choice(rows)
                if rng.random() < 0.3:
                    txn.delete(r)
                elif rng.random() < 0.5:
                    r.name = f"{table[:2]}{n}"  # renamed
                else:
                    setattr(r, col, [f"v{n}"])
            else:
                r = txn.insert(table)
                r.name = f"{rng.choice(['', '5_'])}{table[:2]}{n}"
                setattr(r, col, [f"v{n}", f"w{n}"])
        elif k == 12:
            m = txn.insert("Multicast_Group")
            m.datapath, m.name, m.tunnel_key = rng.choice(dps), f"_MC_{n}", 32768 + n
            m.ports = rng.sample(ports, min(len(ports), 2))
        elif k == 13:
            groups = self._rows(idl, "Multicast_Group")
            if groups:
                rng.choice(groups).ports = rng.sample(ports, min(len(ports), 3))
        elif k in (16, 17) and chassis:
            # A gateway port's HA chassis group (priorities, ref_chassis), or a change to one.
            groups = self._rows(idl, "HA_Chassis_Group")
            if groups and k == 17:
                g = rng.choice(groups)
                members = [idl.tables["HA_Chassis"].rows[u] for u in g.raw("ha_chassis")]
                if members and rng.random() < 0.5:
                    rng.choice(members).priority = rng.randint(0, 50)
                else:
                    g.ref_chassis = rng.sample(chassis, min(len(chassis), 2))
            else:
                g = txn.insert("HA_Chassis_Group")
                g.name = f"g{n}"
                hs = []
                for c in rng.sample(chassis, min(len(chassis), rng.randint(1, 3))):
                    h = txn.insert("HA_Chassis")
                    h.chassis, h.priority = [c], rng.randint(0, 50)
                    hs.append(h)
                g.ha_chassis = hs
                p = rng.choice(ports)
                p.type, p.ha_chassis_group = "chassisredirect", [g]
        elif k == 19:
            # MAC learning (put_fdb): a new MAC, one moved to another port, one forgotten.
            rows = self._rows(idl, "FDB")
            if rows and rng.random() < 0.5:
                r = rng.choice(rows)
                if rng.random() < 0.4:
                    txn.delete(r)
                else:
                    r.port_key = rng.randint(1, 100)
            else:
                f = txn.insert("FDB")
                f.mac, f.dp_key, f.port_key = f"0a:00:00:00:{n >> 8:02x}:{n & 255:02x}", \
                    rng.randint(1, 5), rng.randint(1, 5)
        elif k in (20, 21):
            # A load balancer on datapaths or on a datapath group (northd 23.03 uses the
            # group), edited or deleted.
            rows = self._rows(idl, "Load_Balancer")
            if rows and rng.random() < 0.5:
                lb = rng.choice(rows)
                r = rng.random()
                if r < 0.3:
                    txn.delete(lb)
                elif r < 0.6:
                    lb.vips = {f"172.16.{n >> 8}.{n & 255}:80": "10.0.0.1:80"}
                    lb.options = {"hairpin_orig_tuple": "true"} if rng.random() < 0.5 else {}
                else:
                    lb.datapaths = rng.sample(dps, min(len(dps), rng.randint(0, 2)))
            else:
                lb = txn.insert("Load_Balancer")
                lb.name, lb.protocol = f"lb{n}", [rng.choice(["tcp", "udp", "sctp"])]
                lb.vips = {f"172.16.0.{n & 255}:80": "10.0.0.1:80,10.0.0.2:80"}
                if rng.random() < 0.5:
                    g = txn.insert("Logical_DP_Group")
                    g.datapaths = rng.sample(dps, min(len(dps), 2))
                    lb.datapath_group = [g]
                else:
                    lb.datapaths = [rng.choice(dps)]
        elif k == 22:
            # northd's options: the hairpin flavour flips, or another one changes.
            rows = self._rows(idl, "SB_Global")
            g = rows[0] if rows else txn.insert("SB_Global")
            opts = dict(rows[0].raw("options")) if rows else {}
            key = rng.choice(["lb_hairpin_use_ct_mark", "mac_prefix"])
            if rng.random() < 0.3:
                opts.pop(key, None)
            else:
                opts[key] = rng.choice(["true", "false", f"{n}"])
            g.options = opts


def test_mirror_and_its_delta_follow_a_live_sb(sb_server: DbServer) -> None:
    async def main() -> None:
        writer, reader = _idl(sb_server.remote), _idl(sb_server.remote)
        try:
            await writer.wait_synced(10)
            await reader.wait_synced(10)
            mirror = SbMirror()
            mirror.rebuild(reader.tables)
            mirror.take_delta()
            w = Writer(random.Random(11))
            for _ in range(150):
                await writer.transact(lambda txn: w.step(writer, txn))
                want = _snapshot(writer)
                await reader.wait_until(lambda want=want: _snapshot(reader) == want)  # type: ignore[misc]
                before = M.copy_state(mirror.state)
                mirror.apply(reader.take_changes(), reader.tables)
                delta = mirror.take_delta()
                fresh = SbMirror()
                fresh.rebuild(reader.tables)
                assert mirror.state == fresh.state
                truth = M.diff_states(before, mirror.state)
                for field in ("datapaths", "ports", "mcast_groups", "lflows", "mac_bindings",
                              "fdbs", "load_balancers"):
                    got, need = getattr(delta, field), getattr(truth, field)
                    assert set(need) <= set(got), field
                    assert all(got[u] == getattr(before, field).get(u) for u in got), field
                assert truth.address_sets <= delta.address_sets
                assert truth.port_groups <= delta.port_groups
                assert truth.chassis <= delta.chassis
                assert truth.options <= delta.options
            # (The writer's sequence is fixed: it did reach the newer tables.)
            st = mirror.state
            assert st.fdbs and st.load_balancers and st.options
            assert any(len(lb.datapaths) > 1 for lb in st.load_balancers.values())
        finally:
            await writer.close()
            await reader.close()

    asyncio.run(asyncio.wait_for(main(), 120))
