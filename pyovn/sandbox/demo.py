"""``pyovn sandbox demo``: the sample network on a sandbox, shown as OVN's tools see it.

Two switches and a router; VMs on different chassis, one of them addressed by DHCP; an ACL
that drops TCP port 22 to vm2 while allowing everything else statefully.  Prints
``ovn-nbctl show``, ``ovn-sbctl show``, the ping matrix (every VM pair, expected vs actual),
the other checks, and ``ovn-trace`` of one packet.
"""

from __future__ import annotations

from collections.abc import Callable

from .sandbox import Sandbox
from .scenario import CaseResult, Scenario, ScenarioResult, build, evaluate, load


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip("\n").splitlines())


def matrix(sc: Scenario, cases: list[CaseResult]) -> str:
    """Rows ping columns.  ✓ pinged as expected, · blocked as expected, ✗ not as expected,
    blank: not checked."""
    pings = {(c.check.src, c.check.dst): c for c in cases if c.check.proto == "ping"}
    names = [h["name"] for h in (*sc.vms, *sc.containers)]
    w = max(len(n) for n in names) + 2
    lines = [(" " * w + "".join(f"{n:^{w}}" for n in names)).rstrip()]
    for a in names:
        cells = []
        for b in names:
            c = pings.get((a, b))
            if a == b or c is None or c.actual is None:
                cells.append(f"{'-' if a == b else ' ':^{w}}")
            elif c.ok:
                cells.append(f"{'✓' if c.actual else '·':^{w}}")
            else:
                cells.append(f"{'✗':^{w}}")
        lines.append((f"{a:<{w}}" + "".join(cells)).rstrip())
    return "\n".join(lines)


def run_demo(sb: Sandbox, out: Callable[[str], None] = print) -> tuple[ScenarioResult, str]:
    """Builds and shows the demo; returns the result and the closing text (the ping matrix
    and the verdict), which the caller prints last, after stopping the sandbox."""
    sc = load("demo")
    res = ScenarioResult(sc.name, sb.stack.label())
    out(f"demo: building the sample network ({sc.description})")
    hosts = build(sb, sc, out)
    out("\n$ ovn-nbctl show")
    out(indent(sb.nbctl("show").stdout))
    out("\n$ ovn-sbctl show")
    out(indent(sb.sbctl("show").stdout))
    if not sb.state.dataplane:
        out("\nping matrix: not run: NO DATA PLANE (control plane only; chassis are "
            "simulated SB rows)")
        res.note = "control plane only"
        res.cases = [CaseResult(c, None) for c in sc.checks]
    else:
        res.cases = evaluate(sb, sc, hosts)
    if sc.trace:
        t = sc.trace
        # A new connection, in both conntrack passes: that is the packet the ACL drops.
        tracer = "pyovn trace" if sb.stack.of("trace") == "pyovn" else "ovn-trace"
        out(f"\n$ {tracer} --ct=new --ct=new --summary {t['datapath']} '{t['flow']}'")
        r = sb.trace("--ct=new", "--ct=new", "--summary", t["datapath"], t["flow"])
        out(indent(r.stdout + r.stderr))
    others = [c for c in res.cases if c.check.proto != "ping"]
    if others and sb.state.dataplane:
        out("\nother checks (expected vs actual):")
        for c in others:
            exp = "pass" if c.check.expect else "fail"
            got = "pass" if c.actual else "fail"
            out(f"  {c.mark()} {c.check.label():<26} expected {exp}, got {got}")
    tail = ""
    if sb.state.dataplane:
        tail = ("\nping matrix (row pings column; ✓ replied as expected, · blocked as "
                "expected, ✗ not as expected):\n" + indent(matrix(sc, res.cases)) + "\n")
    return res, tail + f"\ndemo: {res.summary()}"
