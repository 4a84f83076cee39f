"""pyovn trace against the real ovn-trace, on SB databases the real ovn-northd wrote.

Three topologies (a switch with port security, port-group ACLs over an address set and a
load balancer; a router between two switches with IPv4/IPv6 and static routes, one with a
MAC binding; a switch with DHCPv4/v6 options) and a battery of microflows each (L2 unicast,
broadcast and unknown destinations, ARP and ND for known addresses, port-security
violations, ACL allow/drop/reject under several --ct states, DHCP, routed IPv4/IPv6, TTL
expiry, static routes, neighbour misses).  The real ovn-trace 23.03 aborts on ND
solicitations for a router address (an assertion in nd_na_router); those cases are counted
and left out.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from trace_harness import (
    BUILDERS,
    ROOT,
    Central,
    battery,
    have_tools,
    real_trace,
    verdict,
)

from pyovn.trace.main import parse_ct, parse_lb_dst, run_trace
from pyovn.trace.sb import SB, fetch_sb, load_sb

pytestmark = [pytest.mark.real,
              pytest.mark.skipif(not have_tools(), reason="real OVN tools not installed")]

PYOVN = str(ROOT / ".venv" / "bin" / "pyovn")


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def deployment(request: pytest.FixtureRequest) -> Iterator[tuple[str, Central, SB]]:
    name = request.param
    make, build = BUILDERS[name]
    c = Central(name)
    try:
        build(c, make())
        c.sync()
        yield name, c, load_sb(fetch_sb(f"unix:{c.sb}"))
    finally:
        c.stop()


def test_battery_verdicts_and_traces_match_real(deployment: tuple[str, Central, SB]) -> None:
    name, c, sb = deployment
    cases = battery(BUILDERS[name][0]())
    assert len(cases) > 150
    compared = crashed = exact = 0
    drops = outs = 0
    bad: list[str] = []
    for case in cases:
        r = real_trace(c.sb, ["--detailed", "--minimal", *case.options, case.datapath,
                              case.flow])
        if r.returncode != 0:
            assert case.category == "nd-ns-router", r.stderr  # the known 23.03 abort
            crashed += 1
            continue
        ct = [parse_ct(o.split("=", 1)[1]) for o in case.options if o.startswith("--ct=")]
        lb = [parse_lb_dst(o.split("=", 1)[1]) for o in case.options
              if o.startswith("--lb-dst=")]
        mine = run_trace(sb, case.datapath, case.flow, detailed=True, minimal_=True, ct=ct,
                         lb_dst=lb[0] if lb else None)
        real_min = r.stdout.split("# Minimal trace.\n")[1]
        my_min = mine.split("# Minimal trace.\n")[1]
        compared += 1
        v = verdict(real_min)
        if v:
            outs += 1
        else:
            drops += 1
        if verdict(my_min) != v:
            bad.append(f"{case.category} {case.options} {case.flow}: real {v}, "
                       f"pyovn {verdict(my_min)}")
        exact += mine == r.stdout
        if mine != r.stdout and os.environ.get("TRACE_DEBUG"):
            import difflib
            print("\n".join(difflib.unified_diff(r.stdout.splitlines(), mine.splitlines(),
                                                 lineterm="", n=2)))
    print(f"\n{name}: {len(cases)} cases, {compared} compared ({outs} delivered, {drops} "
          f"dropped), {crashed} crashed the real ovn-trace, {exact} byte-identical traces")
    assert not bad, "\n".join(bad[:10])
    assert drops >= 5 and outs >= 5  # the battery exercises both outcomes
    # Detailed and minimal forms are the same text, not only the same verdict.
    assert exact == compared


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYOVN, "trace", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OVN_SB_DB": "unix:/nonexistent"})


def test_cli_all_forms_match_real(deployment: tuple[str, Central, SB]) -> None:
    name, c, _sb = deployment
    cases = [k for k in battery(BUILDERS[name][0]()) if k.category != "nd-ns-router"]
    for case in cases[:: max(1, len(cases) // 6)]:
        for form in (["--all"], ["--summary"], []):
            args = [f"--db=unix:{c.sb}", *form, *case.options, case.datapath, case.flow]
            real = real_trace(c.sb, args[1:])
            mine = _cli(*args)
            assert mine.returncode == real.returncode == 0, mine.stderr
            assert mine.stdout == real.stdout


@pytest.mark.parametrize("args", [
    ["nosuch-dp", 'inport == "x"'],
    ["@DP", 'inport == "@PORT" && ip4.src == '],
    ["@DP", 'inport == "@PORT" && tcp.src == 80'],
    ["@DP", 'inport == "@PORT" && ip4 && ip6'],
    ['inport == "no-such-port"'],
    ["@DP", 'inport == "@PORT" && eth.type == 0x1234'],
    ['inport == "@PORT" && eth.src == 00:00:00:00:00:01'],
])
def test_bad_input_reported_like_real(deployment: tuple[str, Central, SB],
                                      args: list[str]) -> None:
    """Trace-level errors are the trace's output (stdout, status 0) in both tools."""
    _name, c, sb = deployment
    port = sorted(p for p in sb.ports if sb.ports[p].type == "")[0]
    dp = sb.ports[port].dp.name
    args = [a.replace("@DP", dp).replace("@PORT", port) for a in args]
    real = real_trace(c.sb, args)
    mine = _cli(f"--db=unix:{c.sb}", *args)
    assert mine.returncode == real.returncode == 0
    if args[0].startswith("tcp.src") or "tcp.src" in args[-1]:
        # The ambiguity message quotes the expression; pyovn quotes it as written.
        assert real.stdout.startswith("error parsing flow: Constraints are ambiguous")
        assert mine.stdout.startswith("error parsing flow: Constraints are ambiguous")
    else:
        assert mine.stdout == real.stdout


def test_microflow_without_inport(deployment: tuple[str, Central, SB]) -> None:
    """The real ovn-trace 23.03 warns and then aborts on an assertion; pyovn says why and
    exits with status 1."""
    _name, c, sb = deployment
    dp = next(iter(sb.datapaths.values())).name
    real = real_trace(c.sb, [dp, "ip4 && tcp.src == 80"])
    assert real.returncode != 0 and "does not specify ingress port" in real.stderr
    mine = _cli(f"--db=unix:{c.sb}", dp, "ip4 && tcp.src == 80")
    assert mine.returncode == 1
    assert mine.stdout == "microflow does not specify ingress port\n"


def test_fatal_errors_exit_1(deployment: tuple[str, Central, SB]) -> None:
    _name, c, _sb = deployment
    for args in (["--ct=bogus", "dp", "1"], ["--bogus-option", "dp", "1"],
                 ["--lb-dst=not-an-ip", "dp", "1"], ["--select-id=x", "dp", "1"],
                 ["a", "b", "c"], [], ["--detach"], ["--ovs", "dp", "1"]):
        r = _cli(f"--db=unix:{c.sb}", *args)
        assert r.returncode == 1, args
        assert r.stderr.startswith("pyovn trace: ") and r.stdout == "", (args, r.stderr)
    r = _cli("--db=unix:/nonexistent/sb.sock", "dp", 'inport == "x"')
    assert r.returncode == 1 and "database connection failed" in r.stderr
