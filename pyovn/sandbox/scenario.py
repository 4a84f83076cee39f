"""Scenarios: a topology (NB commands), a placement of hosts on chassis, and the expected
connectivity; run on whatever stack the sandbox has, reported case by case.

A scenario is a JSON file in ``scenarios/``::

    {"name": "l2", "description": "...",
     "nb": [["ls-add", "sw0"], {"cmd": ["create", "DHCP_Options", ...], "save": "opts"},
            ["lsp-set-dhcpv4-options", "vm1", "{{opts}}"], ...],
     "vms": [{"name": "vm1", "chassis": 1, "port": "vm1", "mac": "...",
              "ip": "10.0.0.1/24" | "dhcp", "gw": "10.0.0.254"}],
     "containers": [{"name": "c1", "vm": "vm1", "port": "c1", "tag": 42, "mac": ..., "ip": ...}],
     "externals": [{"name": "ext", "mac": ..., "ip": ...}],
     "checks": [{"from": "vm1", "to": "vm2", "proto": "ping"|"tcp"|"udp", "port": 22,
                 "expect": "pass"|"fail"}],
     "ping_all": true,            # also: every VM/container pings every other one
     "trace": {"datapath": "sw0", "flow": "inport == ..."}}

``to`` names a host (its address, static or leased, is used) or is an IPv4 address.
A saved command's output (e.g. a new row's UUID) replaces ``{{name}}`` in later commands.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .hosts import Hosts
from .proc import SandboxError
from .sandbox import Sandbox

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "scenarios")
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,14}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
RESERVED = re.compile(r"^(hv\d+|net)$")
PROTOS = ("ping", "tcp", "udp")
CONVERGE_TIMEOUT = 30.0


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Check:
    src: str
    dst: str
    proto: str
    port: int | None
    expect: bool

    def label(self) -> str:
        what = self.proto if self.port is None else f"{self.proto}/{self.port}"
        return f"{self.src} -> {self.dst} {what}"


@dataclass
class Scenario:
    name: str
    description: str
    nb: list[tuple[list[str], str | None]]
    vms: list[dict[str, Any]]
    containers: list[dict[str, Any]]
    externals: list[dict[str, Any]]
    checks: list[Check]
    trace: dict[str, str] | None = None
    chassis_needed: int = 1

    def host_names(self) -> list[str]:
        return [h["name"] for h in (*self.vms, *self.containers, *self.externals)]


def _req(d: dict[str, Any], key: str, typ: type, where: str) -> Any:
    if key not in d:
        raise ScenarioError(f"{where}: missing {key!r}")
    v = d[key]
    if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        raise ScenarioError(f"{where}: {key!r} must be {typ.__name__}, not {v!r}")
    return v


def _host(d: Any, where: str, fields: dict[str, type], dhcp_ok: bool) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ScenarioError(f"{where}: must be an object")
    unknown = set(d) - set(fields) - {"gw", "ip"}
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for k, t in fields.items():
        _req(d, k, t, where)
    name = d["name"]
    if not NAME_RE.match(name) or RESERVED.match(name):
        raise ScenarioError(f"{where}: bad host name {name!r} (lowercase letters and digits, "
                            "at most 15, not hvN or net)")
    if not MAC_RE.match(d["mac"]):
        raise ScenarioError(f"{where}: bad MAC {d['mac']!r}")
    ip = d.get("ip")
    if ip is None or (ip == "dhcp" and not dhcp_ok):
        raise ScenarioError(f"{where}: needs 'ip' (an address with prefix"
                            + (" or \"dhcp\")" if dhcp_ok else ")"))
    if ip != "dhcp":
        try:
            ipaddress.IPv4Interface(ip)
        except ValueError as e:
            raise ScenarioError(f"{where}: bad ip {ip!r}: {e}") from e
        if "/" not in ip:
            raise ScenarioError(f"{where}: ip {ip!r} needs a prefix length")
    if d.get("gw") is not None:
        try:
            ipaddress.IPv4Address(d["gw"])
        except ValueError as e:
            raise ScenarioError(f"{where}: bad gw {d['gw']!r}") from e
    return dict(d)


def parse(raw: Any, origin: str = "scenario") -> Scenario:
    """A scenario from its JSON form; every mistake is a ScenarioError naming the spot."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: must be a JSON object")
    known = {"name", "description", "nb", "vms", "containers", "externals", "checks",
             "ping_all", "trace"}
    unknown = set(raw) - known
    if unknown:
        raise ScenarioError(f"{origin}: unknown field(s) {', '.join(sorted(unknown))}")
    name = _req(raw, "name", str, origin)
    where = f"scenario {name}"
    nb: list[tuple[list[str], str | None]] = []
    for i, c in enumerate(_req(raw, "nb", list, where)):
        save = None
        if isinstance(c, dict):
            save = _req(c, "save", str, f"{where} nb[{i}]")
            c = _req(c, "cmd", list, f"{where} nb[{i}]")
        if not c or not all(isinstance(a, str) for a in c):
            raise ScenarioError(f"{where} nb[{i}]: must be a non-empty list of strings")
        nb.append((list(c), save))
    vm_fields: dict[str, type] = {"name": str, "chassis": int, "port": str, "mac": str}
    vms = [_host(v, f"{where} vms[{i}]", vm_fields, True)
           for i, v in enumerate(raw.get("vms", []))]
    ct_fields: dict[str, type] = {"name": str, "vm": str, "port": str, "tag": int, "mac": str}
    containers = [_host(v, f"{where} containers[{i}]", ct_fields, True)
                  for i, v in enumerate(raw.get("containers", []))]
    ext_fields: dict[str, type] = {"name": str, "mac": str}
    externals = [_host(v, f"{where} externals[{i}]", ext_fields, False)
                 for i, v in enumerate(raw.get("externals", []))]
    names = [h["name"] for h in (*vms, *containers, *externals)]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ScenarioError(f"{where}: host name(s) used twice: {', '.join(sorted(dup))}")
    vm_names = {v["name"] for v in vms}
    for c in containers:
        if c["vm"] not in vm_names:
            raise ScenarioError(f"{where}: container {c['name']} in unknown VM {c['vm']!r}")
        if not 1 <= c["tag"] <= 4094:
            raise ScenarioError(f"{where}: container {c['name']}: tag must be 1..4094")
    for v in vms:
        if v["chassis"] < 1:
            raise ScenarioError(f"{where}: VM {v['name']}: chassis must be >= 1")
    checks: list[Check] = []
    for i, c in enumerate(raw.get("checks", [])):
        w = f"{where} checks[{i}]"
        if not isinstance(c, dict):
            raise ScenarioError(f"{w}: must be an object")
        src, dst = _req(c, "from", str, w), _req(c, "to", str, w)
        proto, expect = _req(c, "proto", str, w), _req(c, "expect", str, w)
        if src not in names:
            raise ScenarioError(f"{w}: unknown host {src!r}")
        if dst not in names:
            try:
                ipaddress.IPv4Address(dst)
            except ValueError as e:
                raise ScenarioError(f"{w}: 'to' {dst!r} is neither a host nor an IPv4 "
                                    "address") from e
        if proto not in PROTOS:
            raise ScenarioError(f"{w}: proto must be one of {', '.join(PROTOS)}")
        if expect not in ("pass", "fail"):
            raise ScenarioError(f"{w}: expect must be pass or fail")
        port = c.get("port")
        if proto == "ping":
            if port is not None:
                raise ScenarioError(f"{w}: ping takes no port")
        elif not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ScenarioError(f"{w}: {proto} needs a port 1..65535")
        checks.append(Check(src, dst, proto, port, expect == "pass"))
    ping_all = raw.get("ping_all", False)
    if not isinstance(ping_all, bool):
        raise ScenarioError(f"{where}: ping_all must be true or false")
    if ping_all:
        have = {(c.src, c.dst) for c in checks if c.proto == "ping"}
        inside = [h["name"] for h in (*vms, *containers)]
        checks = [Check(a, b, "ping", None, True) for a in inside for b in inside
                  if a != b and (a, b) not in have] + checks
    trace = raw.get("trace")
    if trace is not None and (not isinstance(trace, dict)
                              or set(trace) != {"datapath", "flow"}
                              or not all(isinstance(v, str) for v in trace.values())):
        raise ScenarioError(f"{where}: trace must be {{\"datapath\": ..., \"flow\": ...}}")
    return Scenario(name=name, description=str(raw.get("description", "")), nb=nb, vms=vms,
                    containers=containers, externals=externals, checks=checks, trace=trace,
                    chassis_needed=max([v["chassis"] for v in vms], default=1))


def load(name: str) -> Scenario:
    path = name if name.endswith(".json") else os.path.join(SCENARIO_DIR, f"{name}.json")
    if not os.path.exists(path):
        raise ScenarioError(f"no scenario {name!r} (have: {', '.join(names())})")
    try:
        with open(path) as f:
            raw = json.load(f)
    except ValueError as e:
        raise ScenarioError(f"{path}: not valid JSON: {e}") from e
    return parse(raw, path)


def names(include_demo: bool = False) -> list[str]:
    out = sorted(f[:-5] for f in os.listdir(SCENARIO_DIR) if f.endswith(".json"))
    return out if include_demo else [n for n in out if n != "demo"]


# ---- running ---------------------------------------------------------------------------


@dataclass
class CaseResult:
    check: Check
    actual: bool | None  # None: not run

    @property
    def ok(self) -> bool:
        return self.actual == self.check.expect

    def mark(self) -> str:
        if self.actual is None:
            return "-"
        return "✓" if self.ok else "✗"


@dataclass
class ScenarioResult:
    scenario: str
    stack: str
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok or c.actual is None for c in self.cases)

    def summary(self) -> str:
        if self.error:
            return f"ERROR: {self.error}"
        if self.note:
            return self.note
        bad = sum(not c.ok for c in self.cases)
        return (f"all {len(self.cases)} cases as expected" if not bad
                else f"{bad} of {len(self.cases)} cases NOT as expected")


def reset_nb(sb: Sandbox) -> None:
    """Empty the NB database of everything a scenario makes (the roots of its tables)."""
    args: list[str] = []
    for table in ("Logical_Switch", "Logical_Router", "DHCP_Options", "Port_Group",
                  "Address_Set", "Load_Balancer", "Load_Balancer_Group", "Meter"):
        args += ["--", "--all", "destroy", table]
    sb.nbctl(*args[1:])


def substitute(args: list[str], saved: dict[str, str]) -> list[str]:
    def one(a: str) -> str:
        for k, v in saved.items():
            a = a.replace("{{" + k + "}}", v)
        if "{{" in a:
            raise ScenarioError(f"unknown {{{{name}}}} in {a!r}")
        return a
    return [one(a) for a in args]


def build(sb: Sandbox, sc: Scenario, out: Callable[[str], None]) -> Hosts:
    """Reset the sandbox, then create ``sc``'s topology and hosts, wait until every logical
    port is up and every DHCP lease is taken."""
    if sc.chassis_needed > sb.state.chassis:
        raise ScenarioError(f"scenario {sc.name} needs {sc.chassis_needed} chassis, the "
                            f"sandbox has {sb.state.chassis}")
    hosts = Hosts(sb)
    hosts.remove_all()
    reset_nb(sb)
    if sb.state.dataplane:
        for i in range(1, sb.state.chassis + 1):
            # A new scenario reuses addresses and ports: forget the old connections.
            sb.vs_appctl(i, "dpctl/flush-conntrack")
    saved: dict[str, str] = {}
    for cmd, save in sc.nb:
        r = sb.nbctl(*substitute(cmd, saved))
        if save:
            saved[save] = r.stdout.strip()
    if not sb.state.dataplane:
        # lsp-bind needs the Port_Binding rows: northd must have caught up first.
        sb.nbctl("--wait=sb", "--timeout=30", "sync")
        for v in [*sc.vms, *sc.containers]:
            chassis = v.get("chassis") or next(x["chassis"] for x in sc.vms
                                               if x["name"] == v["vm"])
            sb.sbctl("lsp-bind", v["port"], f"hv{chassis}")
        sb.nbctl("--wait=sb", "--timeout=30", "sync")
        return hosts
    with_containers = {c["vm"] for c in sc.containers}
    for v in sc.vms:
        hosts.add_vm(v["name"], v["chassis"], v["port"], v["mac"], v["ip"], v.get("gw"),
                     trunk=v["name"] in with_containers)
    for c in sc.containers:
        hosts.add_container(c["name"], c["vm"], c["tag"], c["mac"], c["ip"], c.get("gw"))
    for e in sc.externals:
        hosts.add_external(e["name"], e["mac"], e["ip"], e.get("gw"))
    sb.nbctl("--wait=hv", "--timeout=30", "sync", timeout=45)
    ports = [v["port"] for v in (*sc.vms, *sc.containers)]
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    for p in ports:
        while sb.nbctl("lsp-get-up", p).stdout.strip() != "up":
            sb.check_alive()
            if time.monotonic() > deadline:
                raise SandboxError("controller", f"logical port {p} never came up")
            time.sleep(0.1)
    for v in (*sc.vms, *sc.containers):
        if v["ip"] == "dhcp":
            addr = hosts.dhcp(v["name"])
            out(f"  {v['name']}: DHCP lease {addr}")
    listen: dict[str, tuple[list[int], list[int]]] = {}
    for chk in sc.checks:
        if chk.proto != "ping" and chk.dst in sc.host_names() and chk.port is not None:
            tcp, udp = listen.setdefault(chk.dst, ([], []))
            (tcp if chk.proto == "tcp" else udp).append(chk.port)
    for name, (tcp, udp) in listen.items():
        hosts.listen(name, tcp, udp)
    return hosts


def evaluate(sb: Sandbox, sc: Scenario, hosts: Hosts) -> list[CaseResult]:
    """Expected successes are retried for a while (the first packets of a flow set up ARP
    and MAC bindings); expected failures get one attempt each, after the successes, so the
    network has settled."""
    def target(c: Check) -> str:
        if c.dst in sc.host_names():
            ip = sb.state.host(c.dst).ip
            if ip is None:
                raise SandboxError(c.dst, "has no address")
            return ip
        return c.dst

    results: dict[Check, bool] = {}
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    for c in sc.checks:
        if c.expect:
            while not (ok := hosts.check(c.src, target(c), c.proto, c.port)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            results[c] = ok
    for c in sc.checks:
        if not c.expect:
            results[c] = hosts.check(c.src, target(c), c.proto, c.port)
    return [CaseResult(c, results[c]) for c in sc.checks]


def run_one(sb: Sandbox, sc: Scenario, out: Callable[[str], None] = print) -> ScenarioResult:
    res = ScenarioResult(sc.name, sb.stack.label())
    out(f"scenario {sc.name} ({sb.stack.label()}): {sc.description}")
    try:
        hosts = build(sb, sc, out)
        if not sb.state.dataplane:
            res.cases = [CaseResult(c, None) for c in sc.checks]
            res.note = "topology built; checks not run: no data plane"
        else:
            res.cases = evaluate(sb, sc, hosts)
    except (SandboxError, ScenarioError) as e:
        res.error = str(e)
    for c in res.cases:
        exp = "pass" if c.check.expect else "fail"
        got = {None: "not run", True: "pass", False: "fail"}[c.actual]
        out(f"  {c.mark()} {c.check.label():<30} expected {exp}, got {got}")
    out(f"  => {res.summary()}")
    return res


def report(results: list[ScenarioResult]) -> str:
    """Case by case, one column per stack."""
    stacks: list[str] = []
    for r in results:
        if r.stack not in stacks:
            stacks.append(r.stack)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for r in results:
        if r.error:
            rows.setdefault((r.scenario, "(scenario)"), {})[r.stack] = "ERROR"
        for c in r.cases:
            rows.setdefault((r.scenario, c.check.label()), {})[r.stack] = c.mark()
    w = max([len(f"{s} {c}") for s, c in rows] + [10])
    lines = [f"{'case':<{w}}  " + "  ".join(f"{s:>10}" for s in stacks)]
    for (scen, case), marks in rows.items():
        lines.append(f"{scen + ' ' + case:<{w}}  " + "  ".join(f"{marks.get(k, ''):>10}"
                                                                for k in stacks))
    ok = all(r.ok for r in results)
    lines.append("all cases as expected" if ok else "SOME CASES NOT AS EXPECTED")
    return "\n".join(lines)
