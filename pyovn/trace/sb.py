"""What a trace needs from the Southbound database, read once.

load_sb() takes the rows of the SB tables as OVSDB JSON (what a "select" returns) and builds
datapaths, ports, multicast groups, address sets, port groups, MAC bindings and FDB entries,
and each datapath's logical flows sorted by pipeline, table and priority.  Flows are parsed
lazily (a trace visits few tables), per datapath because port-group names are per datapath
("<tunnel key>_<name>" in SB since OVN 22.x).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyovn.logical import actions_ast as A
from pyovn.logical.actions import parse_actions
from pyovn.logical.expr import And, Bool, Node, combine, parse
from pyovn.logical.lexer import LexError
from pyovn.logical.symbols import SYMTAB

TABLES: dict[str, list[str]] = {
    "Datapath_Binding": ["tunnel_key", "external_ids"],
    "Port_Binding": ["logical_port", "datapath", "tunnel_key", "type", "options",
                     "external_ids", "port_security"],
    "Multicast_Group": ["datapath", "name", "tunnel_key", "ports"],
    "Address_Set": ["name", "addresses"],
    "Port_Group": ["name", "ports"],
    "Logical_Flow": ["logical_datapath", "logical_dp_group", "pipeline", "table_id",
                     "priority", "match", "actions", "external_ids"],
    "Logical_DP_Group": ["datapaths"],
    "MAC_Binding": ["logical_port", "ip", "mac", "datapath"],
    "FDB": ["mac", "dp_key", "port_key"],
    "Load_Balancer": ["vips"],
}
LOG_PIPELINE_LEN = 29
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}$")


class TraceError(Exception):
    """An error ovn-trace reports as the whole output of a trace (exit status 0)."""


# -- OVSDB JSON decoding
def _atom(v: Any) -> Any:
    if isinstance(v, list) and len(v) == 2 and v[0] in ("uuid", "named-uuid"):
        return str(v[1])
    return v


def _set(v: Any) -> list[Any]:
    if isinstance(v, list) and len(v) == 2 and v[0] == "set":
        return [_atom(x) for x in v[1]]
    return [_atom(v)]


def _map(v: Any) -> dict[str, Any]:
    if isinstance(v, list) and len(v) == 2 and v[0] == "map":
        return {str(_atom(k)): _atom(x) for k, x in v[1]}
    if isinstance(v, dict):
        return dict(v)
    return {}


def _opt(v: Any) -> Any:
    s = _set(v)
    return s[0] if s else None


def _uuid_of(row: Mapping[str, Any]) -> str:
    return str(_atom(row.get("_uuid", ["uuid", str(uuidlib.uuid4())])))


def shorten_uuid(s: str) -> str:
    """A name ending in a UUID, with the UUID cut to 6 digits (as ovn-trace shows it)."""
    if len(s) >= 36 and _UUID_RE.match(s[-36:]):
        return s[:-30]
    return s


# -- the model
@dataclass
class PortSecurity:
    mac: int
    ipv4: list[int]
    ipv6: list[int]


@dataclass(eq=False)
class Port:
    uuid: str
    name: str
    friendly: str
    dp: Datapath
    type: str
    tunnel_key: int
    name2: str | None = None
    peer: Port | None = None
    distributed_port: Port | None = None
    ps_addrs: list[PortSecurity] = field(default_factory=list)


@dataclass(eq=False)
class McGroup:
    name: str
    tunnel_key: int
    ports: list[Port]


@dataclass(eq=False)
class Flow:
    uuid: str
    pipeline: str
    table: int
    priority: int
    match: str
    actions: str
    stage_name: str | None
    source: str | None
    match_friendly: str = ""
    # Filled on first use: the match with the actions' prerequisites, the actions, and the
    # action statements as written (for display).
    node: Node | None = None
    acts: list[A.Act] | None = None
    texts: list[str] | None = None
    bad: str | None = None


@dataclass(eq=False)
class Datapath:
    uuid: str
    nb_uuid: str
    name: str
    name2: str | None
    friendly: str
    tunnel_key: int
    mcgroups: dict[str, McGroup] = field(default_factory=dict)
    flows: dict[tuple[str, int], list[Flow]] = field(default_factory=dict)
    mac_bindings: dict[tuple[int, int], int] = field(default_factory=dict)
    fdbs: dict[int, int] = field(default_factory=dict)
    has_local_l3gateway: bool = False
    port_groups: dict[str, list[str]] = field(default_factory=dict)

    def mcgroup_by_key(self, key: int) -> McGroup | None:
        for g in self.mcgroups.values():
            if g.tunnel_key == key:
                return g
        return None


@dataclass
class SB:
    datapaths: dict[str, Datapath]
    ports: dict[str, Port]
    address_sets: dict[str, list[str]]
    lb_vips: list[str]
    warnings: list[str] = field(default_factory=list)

    def port_by_key(self, dp: Datapath, key: int) -> Port | None:
        return self._by_key.get((dp.tunnel_key, key))

    def __post_init__(self) -> None:
        self._by_key = {(p.dp.tunnel_key, p.tunnel_key): p for p in self.ports.values()}

    def port_key_to_name(self, dp: Datapath, key: int) -> str:
        p = self.port_by_key(dp, key)
        return p.friendly if p else "" if not key else "(unnamed)"

    def find_datapath(self, name: str) -> Datapath | None:
        for dp in self.datapaths.values():
            if name == dp.name or name == dp.name2:
                return dp
        found = None
        if len(name) >= 4:
            for dp in self.datapaths.values():
                if dp.uuid.startswith(name.lower()) or dp.nb_uuid.startswith(name.lower()):
                    if found is not None:
                        return None
                    found = dp
        return found

    def lookup_port(self, name: str) -> Port | None:
        p = self.ports.get(name)
        if p is not None:
            return p
        match = None
        for p in self.ports.values():
            if p.name2 == name:
                if match is not None:
                    return None
                match = p
        return match

    def friendly(self, text: str) -> str:
        """Replaces quoted port names with their friendly names."""
        def sub(m: re.Match[str]) -> str:
            p = self.ports.get(m.group(1))
            return f'"{p.friendly}"' if p is not None else m.group(0)
        return re.sub(r'"((?:[^"\\]|\\.)*)"', sub, text)

    # -- flows
    def flows_for(self, dp: Datapath, pipeline: str, table: int) -> list[Flow]:
        return dp.flows.get((pipeline, table), [])

    def prepare(self, dp: Datapath, f: Flow) -> bool:
        """Parses a flow on first use; False (and a warning) if it does not parse, as
        ovn-trace skips such flows."""
        if f.acts is not None:
            return True
        if f.bad is not None:
            return False
        try:
            pa = parse_actions(f.actions, f.pipeline, f.table, SYMTAB, LOG_PIPELINE_LEN)
            node = parse(f.match, SYMTAB, self.address_sets, dp.port_groups)
            parts = [node] + [parse(p, SYMTAB) for p in pa.prereqs]
            f.node = combine(And, parts) if len(parts) > 1 else node
            f.acts = pa.actions
            f.texts = split_statements(f.actions)
        except LexError as e:
            f.bad = str(e)
            self.warnings.append(f"{f.match}: parsing flow failed ({e})")
            return False
        return True

    def may_omit(self, dp: Datapath, f: Flow) -> bool:
        """Flows with match 1 and the single action next; are left out of traces."""
        if not self.prepare(dp, f):
            return False
        acts = f.acts or []
        return (isinstance(f.node, Bool) and f.node.value and len(acts) == 1
                and isinstance(acts[0], A.Next) and acts[0].pipeline == f.pipeline
                and acts[0].table == f.table + 1)


_COMMENT_RE = re.compile(r'"(?:[^"\\]|\\.)*"|/\*(?:[^*]|\*(?!/))*\*/|//[^\n]*')


def _strip_comments(text: str) -> str:
    return _COMMENT_RE.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)


def _split(text: str) -> list[str]:
    out: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return [st for st in (_format_statement(x) for x in out) if st]


def _format_statement(text: str) -> str:
    a, b = text.find("{"), text.rfind("}")
    if 0 <= a < b and re.fullmatch(r"\s*[A-Za-z_][A-Za-z_0-9]*\s*", text[:a]):
        inner = _split(text[a + 1:b])
        body = " ".join(st + ";" for st in inner)
        return " ".join(f"{text[:a].strip()} {{ {body} }}{text[b + 1:].strip()}".split())
    return _NEXT_RE.sub(r"next(pipeline=\1, table=\2)", " ".join(text.split()))


_NEXT_RE = re.compile(r"next\(\s*pipeline\s*=\s*(\w+)\s*,\s*table\s*=\s*(\d+)\s*\)")


def split_statements(text: str) -> list[str]:
    """Top-level action statements, without their `;' or comments, nested blocks kept
    whole and spaced as OVN prints them ("arp { eth.dst = ...; output; }")."""
    return [st for st in _split(_strip_comments(text)) if st != "drop"]


def _ps_entry(text: str) -> PortSecurity | None:
    parts = text.split()
    if not parts:
        return None
    try:
        mac = int(parts[0].replace(":", ""), 16)
        if parts[0].count(":") != 5:
            return None
    except ValueError:
        return None
    v4: list[int] = []
    v6: list[int] = []
    for p in parts[1:]:
        try:
            net = ipaddress.ip_interface(p)
        except ValueError:
            continue
        (v4 if net.version == 4 else v6).append(int(net.ip))
    return PortSecurity(mac, v4, v6)


def _calc_mask(capacity: int) -> int:
    mask = capacity // 2
    for sh in (1, 2, 4, 8, 16, 32):
        mask |= mask >> sh
    return mask | ((mask & 1) << 1)


def _hmap_mask(n: int) -> int:
    """The bucket mask of an OVS hmap after n insertions."""
    mask = 0
    for i in range(1, n + 1):
        if i // 2 > mask:
            mask = max(mask, _calc_mask(i))
    return mask


def _uuid_bits(u: str) -> int:
    try:
        return int(u[:8], 16)
    except ValueError:
        return 0


def load_sb(tables: Mapping[str, Sequence[Mapping[str, Any]]], friendly_names: bool = True
            ) -> SB:
    """Builds the model from SB rows given as OVSDB JSON objects (with _uuid)."""
    warnings: list[str] = []
    datapaths: dict[str, Datapath] = {}
    for row in tables.get("Datapath_Binding", []):
        u = _uuid_of(row)
        ids = _map(row.get("external_ids"))
        nb = ids.get("logical-switch") or ids.get("logical-router") or u
        name = ids.get("name") or nb
        name2 = ids.get("name2")
        fr = shorten_uuid(name2 or name) if friendly_names else nb
        datapaths[u] = Datapath(u, nb, name, name2, fr, int(row.get("tunnel_key", 0)))
    by_key = {dp.tunnel_key: dp for dp in datapaths.values()}

    ports: dict[str, Port] = {}
    pb_uuid: dict[str, Port] = {}
    pb_rows = list(tables.get("Port_Binding", []))
    for row in pb_rows:
        name = str(row.get("logical_port", ""))
        dp = datapaths.get(str(_opt(row.get("datapath"))))
        if dp is None:
            warnings.append(f"logical port {name} missing datapath")
            continue
        if name in ports:
            warnings.append(f"duplicate logical port name {name}")
            continue
        ids = _map(row.get("external_ids"))
        name2 = ids.get("name")
        port = Port(_uuid_of(row), name, shorten_uuid(name2 or name) if friendly_names else name,
                    dp, str(row.get("type", "")), int(row.get("tunnel_key", 0)), name2)
        for ps in _set(row.get("port_security", ["set", []])):
            e = _ps_entry(str(ps))
            if e is not None:
                port.ps_addrs.append(e)
        ports[name] = port
        pb_uuid[port.uuid] = port
        opts = _map(row.get("options"))
        if port.type in ("patch", "l3gateway"):
            if port.type == "l3gateway":
                dp.has_local_l3gateway = True
            peer = ports.get(str(opts.get("peer", "")))
            if peer is not None:
                port.peer = peer
                peer.peer = port
    for row in pb_rows:
        cr = ports.get(str(row.get("logical_port", "")))
        if cr is not None and cr.type == "chassisredirect":
            d = ports.get(str(_map(row.get("options")).get("distributed-port", "")))
            if d is not None and d.dp is cr.dp:
                cr.distributed_port = d

    for row in tables.get("Multicast_Group", []):
        dp = datapaths.get(str(_opt(row.get("datapath"))))
        if dp is None:
            continue
        members = [pb_uuid[u] for u in _set(row.get("ports", ["set", []])) if u in pb_uuid]
        members = [m for m in members if m.dp is dp]
        members.sort(key=lambda m: m.name)
        name = str(row.get("name", ""))
        dp.mcgroups[name] = McGroup(name, int(row.get("tunnel_key", 0)), members)

    address_sets = {str(r.get("name")): [str(a) for a in _set(r.get("addresses", ["set", []]))]
                    for r in tables.get("Address_Set", [])}
    port_groups = {str(r.get("name")): [str(a) for a in _set(r.get("ports", ["set", []]))]
                   for r in tables.get("Port_Group", [])}
    for dp in datapaths.values():
        prefix = f"{dp.tunnel_key}_"
        pgs = dict(port_groups)
        for pg_name, pg_ports in port_groups.items():
            if pg_name.startswith(prefix):
                pgs[pg_name[len(prefix):]] = pg_ports
        dp.port_groups = pgs

    groups = {_uuid_of(r): [str(d) for d in _set(r.get("datapaths", ["set", []]))]
              for r in tables.get("Logical_DP_Group", [])}
    for row in tables.get("Logical_Flow", []):
        dps = []
        ld = _opt(row.get("logical_datapath", ["set", []]))
        if ld is not None:
            dps.append(str(ld))
        g = _opt(row.get("logical_dp_group", ["set", []]))
        if g is not None:
            dps.extend(groups.get(str(g), []))
        if not dps:
            warnings.append("logical flow missing datapath")
        ids = _map(row.get("external_ids"))
        for du in dps:
            dp = datapaths.get(du)
            if dp is None:
                continue
            f = Flow(_uuid_of(row), str(row.get("pipeline")), int(row.get("table_id", 0)),
                     int(row.get("priority", 0)), str(row.get("match", "")),
                     str(row.get("actions", "")), ids.get("stage-name"), ids.get("source"))
            dp.flows.setdefault((f.pipeline, f.table), []).append(f)
    # ovn-trace tries flows of equal priority in the order its IDL iterates them (a hash
    # map keyed on the first 32 bits of the UUID); imitating it keeps traces identical when
    # two flows of one priority both match.
    mask = _hmap_mask(len(tables.get("Logical_Flow", [])))
    for dp in datapaths.values():
        for fl in dp.flows.values():
            fl.sort(key=lambda f: (-f.priority, _uuid_bits(f.uuid) & mask))

    for row in tables.get("MAC_Binding", []):
        mb = ports.get(str(row.get("logical_port", "")))
        if mb is None:
            continue
        try:
            ip = ipaddress.ip_address(str(row.get("ip", "")))
            mac = int(str(row.get("mac", "")).replace(":", ""), 16)
        except ValueError:
            continue
        key = int(ip) if ip.version == 6 else (0xFFFF << 32) | int(ip)
        mb.dp.mac_bindings[(mb.tunnel_key, key)] = mac
    for row in tables.get("FDB", []):
        dp = by_key.get(int(row.get("dp_key", 0)))
        if dp is None:
            continue
        try:
            dp.fdbs[int(str(row.get("mac", "")).replace(":", ""), 16)] = int(row.get("port_key", 0))
        except ValueError:
            continue
    vips = [str(k) for r in tables.get("Load_Balancer", []) for k in _map(r.get("vips"))]
    sb = SB(datapaths, ports, address_sets, vips, warnings)
    for dp in datapaths.values():
        for fl in dp.flows.values():
            for f in fl:
                f.match_friendly = sb.friendly(f.match) if friendly_names else f.match
    return sb


async def _fetch(remote: str, timeout: float) -> dict[str, list[dict[str, Any]]]:
    from pyovn.jsonrpc.connection import RpcClient

    client = await asyncio.wait_for(RpcClient.connect(remote), timeout)
    try:
        schema = await client.call("get_schema", ["OVN_Southbound"], timeout)
        have = schema.get("tables", {})
        names = [t for t in TABLES if t in have]
        ops = [{"op": "select", "table": t, "where": [],
                "columns": ["_uuid"] + [c for c in TABLES[t] if c in have[t]["columns"]]}
               for t in names]
        res = await client.call("transact", ["OVN_Southbound", *ops], timeout)
    finally:
        await client.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for t, r in zip(names, res, strict=False):
        if not isinstance(r, dict) or "rows" not in r:
            raise TraceError(f"select from {t} failed: {r}")
        out[t] = r["rows"]
    return out


def fetch_sb(remote: str, timeout: float = 30.0) -> dict[str, list[dict[str, Any]]]:
    """Reads the SB tables a trace needs from an OVSDB server (one transaction)."""
    return asyncio.run(_fetch(remote, timeout))
