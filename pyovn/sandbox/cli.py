"""``pyovn sandbox``: start, stop, status, shell, demo and scenario."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

from .components import COMPONENTS, Stack, StackError, available_mixes
from .proc import SandboxError
from .sandbox import Sandbox, stop
from .state import State, StateError, sandbox_dir


def add_common(p: argparse.ArgumentParser, stack: bool = False) -> None:
    p.add_argument("--dir", help="sandbox directory (default $PYOVN_SANDBOX_DIR or ./sandbox)")
    if stack:
        p.add_argument("--real", nargs="?", const="all", default=None, metavar="LIST",
                       help="use the real OVN's programs: all of them, or a comma-separated "
                       f"list of {', '.join(COMPONENTS)}")
        p.add_argument("--chassis", type=int, default=2, help="number of chassis (default 2)")
        p.add_argument("--control-plane-only", action="store_true",
                       help="no data plane even where one could run")
        p.add_argument("--encap", default=None, metavar="TYPE[,TYPE...]",
                       help="each chassis' ovn-encap-type: geneve (default) or vxlan, one for "
                       "all chassis or one per chassis (hv1 first)")


def new_sandbox(a: argparse.Namespace, stack: Stack | None = None) -> Sandbox:
    sb = Sandbox.create(sandbox_dir(a.dir), stack or Stack.parse(a.real), chassis=a.chassis,
                        dataplane=False if a.control_plane_only else None, out=_out,
                        encap=a.encap)
    sb.start()
    return sb


def _out(s: str) -> None:
    print(s, flush=True)


def cmd_start(a: argparse.Namespace) -> int:
    sb = new_sandbox(a)
    _out(f"sandbox: stop it with: pyovn sandbox stop --dir {sb.state.dir}")
    return 0


def cmd_stop(a: argparse.Namespace) -> int:
    d = sandbox_dir(a.dir)
    if not stop(d, out=_out):
        _out(f"sandbox: none in {d}")
        return 0
    _out(f"sandbox: stopped; every process, namespace and link removed ({d})")
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    d = sandbox_dir(a.dir)
    st = State.load(d)
    if st is None:
        _out(f"sandbox: none in {d}")
        return 1
    encaps = ",".join(st.encap(i) for i in range(1, st.chassis + 1))
    _out(f"sandbox {st.id} in {d}: {st.status}, stack {Stack.from_dict(st.stack).label()}, "
         f"{st.chassis} chassis (encap {encaps}), data plane: "
         f"{'yes' if st.dataplane else 'NO'}")
    for dmn in st.daemons:
        _out(f"  {dmn.name:<22} pid {dmn.pid:<8} {'running' if dmn.alive() else 'DEAD'}"
             f"  log {dmn.log}")
    for h in st.hosts:
        _out(f"  host {h.name:<17} {h.kind:<9} netns {h.netns}  ip {h.ip}")
    dead = [dmn for dmn in st.daemons if not dmn.alive()]
    return 1 if dead or st.status != "running" else 0


RCFILE = """\
[ -f ~/.bashrc ] && [ -n "$PS1" ] && . ~/.bashrc
export OVN_NB_DB={nb} OVN_SB_DB={sb} OVN_RUNDIR={dir} PYOVN_SANDBOX_DIR={dir}
PS1='(pyovn sandbox {id}) \\w\\$ '
# hv N CMD...: run CMD in chassis N's namespace, its Open vSwitch as the default
hv() {{ local i=$1; shift; OVS_RUNDIR={dir}/hv$i OVN_RUNDIR={dir}/hv$i \\
    ip netns exec pyovn-{id}-hv$i "$@"; }}
# vm NAME CMD...: run CMD inside a VM (or container, or external host)
vm() {{ local n=$1; shift; ip netns exec pyovn-{id}-$n "$@"; }}
"""


def cmd_shell(a: argparse.Namespace) -> int:
    sb = Sandbox.open(sandbox_dir(a.dir), out=_out)
    st = sb.state
    q = shlex.quote
    rc = os.path.join(st.dir, "shellrc")
    with open(rc, "w") as f:
        f.write(RCFILE.format(nb=q(f"unix:{st.nb}"), sb=q(f"unix:{st.sb}"), dir=q(st.dir),
                              id=st.id))
    env = {**os.environ, **sb.env(), "BASH_ENV": rc}
    if a.command is not None:
        return subprocess.run(["bash", "-c", a.command], env=env).returncode
    _out(f"sandbox: shell for {st.id}: ovn-nbctl, ovn-sbctl, ovn-trace point at it; "
         "'hv N CMD' runs in chassis N, 'vm NAME CMD' in a VM; exit to leave")
    return subprocess.run(["bash", "--rcfile", rc, "-i"], env=env).returncode


def cmd_demo(a: argparse.Namespace) -> int:
    from .demo import run_demo

    d = sandbox_dir(a.dir)
    st = State.load(d)
    mine = not (st is not None and st.status == "running" and st.alive())
    if not mine and (a.real is not None or a.encap is not None):
        raise StateError(f"a sandbox is running in {d}: --real/--encap apply to a new one")
    sb = new_sandbox(a) if mine else Sandbox.open(d, out=_out)
    tail = ""
    try:
        res, tail = run_demo(sb, out=_out)
    finally:
        if mine and not a.keep:
            stop(d, out=_out)
            _out("sandbox: stopped; every process, namespace and link removed")
        elif mine:
            _out(f"sandbox: left running (--keep); pyovn sandbox shell --dir {d} | "
                 f"pyovn sandbox stop --dir {d}")
        _out(tail)
    return 0 if res.ok else 1


def cmd_scenario(a: argparse.Namespace) -> int:
    from .scenario import load, names, report, run_one

    if a.name == "list":
        for n in names(include_demo=True):
            _out(f"{n:<12} {load(n).description}")
        return 0
    chosen = [load(n) for n in (names() if a.name == "all" else a.name.split(","))]
    d = sandbox_dir(a.dir)
    st = State.load(d)
    running = st is not None and st.status == "running" and st.alive()
    results = []
    if running:
        if a.real is not None or a.compare or a.encap is not None:
            raise StateError(f"a sandbox is running in {d}: --real/--compare/--encap start "
                             "their own; stop it first or use another --dir")
        sb = Sandbox.open(d, out=_out)
        results = [run_one(sb, sc, out=_out) for sc in chosen]
    else:
        stacks = available_mixes() if a.compare else [Stack.parse(a.real)]
        a.chassis = max([a.chassis, *(sc.chassis_needed for sc in chosen)])
        for stack in stacks:
            sb = new_sandbox(a, stack)
            try:
                results += [run_one(sb, sc, out=_out) for sc in chosen]
            finally:
                stop(d, out=_out)
    _out("\n" + report(results))
    return 0 if all(r.ok for r in results) else 1


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="pyovn sandbox", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="bring up NB, SB, northd and the chassis")
    add_common(p, stack=True)
    p.set_defaults(func=cmd_start)
    p = sub.add_parser("stop", help="remove every process, namespace and link")
    add_common(p)
    p.set_defaults(func=cmd_stop)
    p = sub.add_parser("status", help="what runs, with pids and logs")
    add_common(p)
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("shell", help="a shell whose OVN tools point at the sandbox")
    add_common(p)
    p.add_argument("-c", dest="command", help="run this command instead of an interactive shell")
    p.set_defaults(func=cmd_shell)
    p = sub.add_parser("demo", help="start, build a sample network, show it, stop")
    add_common(p, stack=True)
    p.add_argument("--keep", action="store_true", help="leave the sandbox running")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("scenario", help="run scenarios: NAME[,NAME...], all, or list")
    add_common(p, stack=True)
    p.add_argument("name")
    p.add_argument("--compare", action="store_true",
                   help="run on all-real, all-pyovn and each available mix")
    p.set_defaults(func=cmd_scenario)
    a = ap.parse_args(argv)
    try:
        rc: int = a.func(a)
        return rc
    except (SandboxError, StateError, StackError, ValueError) as e:
        print(f"pyovn sandbox: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `pyovn sandbox status | head`
        sys.stderr.close()
        return 0
