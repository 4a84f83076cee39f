"""list_dbs, get_schema, echo, get_server_id, set_db_change_aware, and the _Server database."""

from __future__ import annotations

from .common import Case, Script, ins, select


def _cases() -> list[Case]:
    cases: list[Case] = []
    for dbs in (("conf",), ("nb",), ("sb",), ("conf", "nb", "sb")):
        tag = "-".join(dbs)
        s = Script(f"server-list-dbs-{tag}", dbs=dbs)
        s.call(0, "list_dbs")
        cases.append(s.case())
        s = Script(f"server-get-schema-{tag}", dbs=dbs)
        for key in dbs:
            s.call(0, "get_schema", Script(key, dbs=(key,)).db)
        s.call(0, "get_schema", "_Server")
        cases.append(s.case())
        for method in ("monitor", "monitor_cond", "monitor_cond_since"):
            s = Script(f"server-db-{method}-{tag}", dbs=dbs)
            params = ["_Server", "srv", {"Database": {"columns": [
                "name", "model", "connected", "leader", "schema", "cid", "sid", "index"]}}]
            if method == "monitor_cond_since":
                params.append("00000000-0000-0000-0000-000000000000")
            s.send(0, method, params)
            s.recv(0)
            cases.append(s.case())
    s = Script("server-db-select")
    s.tx(select("Database", [], ["name", "model", "connected", "leader", "cid", "sid", "index"]),
         db="_Server")
    s.tx(select("Database", [["name", "==", "Conformance"]], ["name", "_uuid"]), db="_Server")
    cases.append(s.case())
    s = Script("server-db-write-rejected")
    s.tx(ins("Database", {"name": "x", "model": "standalone"}), db="_Server")
    s.tx({"op": "delete", "table": "Database", "where": []}, db="_Server")
    s.tx({"op": "update", "table": "Database", "where": [], "row": {"connected": False}},
         db="_Server")
    s.tx(select("Database", [], ["name"]), db="_Server")
    cases.append(s.case())
    s = Script("server-db-monitor-all-columns")
    s.send(0, "monitor_cond", ["_Server", "srv", {"Database": [{}]}])
    s.recv(0)
    cases.append(s.case())
    s = Script("server-db-monitor-where")
    s.send(0, "monitor_cond", ["_Server", "srv", {"Database": [
        {"columns": ["name"], "where": [["name", "==", "_Server"]]}]}])
    s.recv(0)
    cases.append(s.case())
    s = Script("server-id-stable", clients=2)
    s.call(0, "get_server_id")
    s.call(0, "get_server_id")
    s.call(1, "get_server_id")
    cases.append(s.case())
    s = Script("server-echo-variants")
    s.call(0, "echo")
    s.call(0, "echo", 1, "two", [3], {"four": 4}, None, True, 1.5)
    s.send(0, "echo", ["notify"], notify=True)
    s.recv(0)
    cases.append(s.case())
    s = Script("server-set-db-change-aware")
    s.call(0, "set_db_change_aware", True)
    s.tx(ins("Atoms", {"i": 1}))
    s.call(0, "set_db_change_aware", False)
    s.call(0, "set_db_change_aware", True)
    cases.append(s.case())
    s = Script("server-list-dbs-then-transact-every-db", dbs=("conf", "nb", "sb"))
    s.call(0, "list_dbs")
    s.tx(select("Atoms", [], ["i"]))
    s.tx(select("NB_Global", [], ["nb_cfg"]), db="OVN_Northbound")
    s.tx(select("SB_Global", [], ["nb_cfg"]), db="OVN_Southbound")
    s.tx(select("Atoms", [], ["i"]), db="OVN_Northbound")
    cases.append(s.case())
    return cases


CASES: list[Case] = _cases()
