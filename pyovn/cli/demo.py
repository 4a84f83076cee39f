"""`pyovn db-demo`: NB and SB on pyovn's server with the real northd, exercised by real clients.

Brings up pyovn's OVSDB server twice (OVN_Northbound and OVN_Southbound) in a temp dir with the
real ovn-northd between them, drives them with the real clients (ovn-nbctl builds two switches,
a router, ports and an ACL; ovn-sbctl registers a chassis and binds a port), waits for northd
(`ovn-nbctl --wait=sb sync`), prints what the clients see, then stops everything.  With
``--real`` the real ovsdb-server plays the same part, for comparison.

A component that fails is named with the path of its log, and the temp dir is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
START_TIMEOUT = 30.0
CMD_TIMEOUT = 60.0

# What ovn-nbctl builds: sw0 (vm1, vm2, an ACL) and sw1 (vm3), joined by lr0.
TOPOLOGY: list[list[str]] = [
    ["ls-add", "sw0", "--", "ls-add", "sw1", "--", "lr-add", "lr0"],
    ["lrp-add", "lr0", "lr0-sw0", "00:00:00:00:ff:01", "10.0.0.254/24", "--",
     "lsp-add", "sw0", "sw0-lr0", "--", "lsp-set-type", "sw0-lr0", "router", "--",
     "lsp-set-addresses", "sw0-lr0", "router", "--",
     "lsp-set-options", "sw0-lr0", "router-port=lr0-sw0"],
    ["lrp-add", "lr0", "lr0-sw1", "00:00:00:00:ff:02", "10.0.1.254/24", "--",
     "lsp-add", "sw1", "sw1-lr0", "--", "lsp-set-type", "sw1-lr0", "router", "--",
     "lsp-set-addresses", "sw1-lr0", "router", "--",
     "lsp-set-options", "sw1-lr0", "router-port=lr0-sw1"],
    ["lsp-add", "sw0", "vm1", "--", "lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.1"],
    ["lsp-add", "sw0", "vm2", "--", "lsp-set-addresses", "vm2", "00:00:00:00:00:02 10.0.0.2"],
    ["lsp-add", "sw1", "vm3", "--", "lsp-set-addresses", "vm3", "00:00:00:00:00:03 10.0.1.3"],
    ["acl-add", "sw0", "to-lport", "1000", "outport == \"vm1\" && tcp.dst == 22",
     "allow-related"],
]


class DemoError(Exception):
    """A step failed; ``log`` names the file that tells why."""

    def __init__(self, what: str, log: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.log = log


@dataclass
class Component:
    name: str
    proc: subprocess.Popen[bytes]
    log: str
    out: str
    ctl: str | None = None


@dataclass
class Demo:
    dir: str
    server_cmd: list[str]
    tool_cmd: list[str]
    server_label: str
    components: list[Component] = field(default_factory=list)

    def p(self, name: str) -> str:
        return os.path.join(self.dir, name)

    @property
    def nb(self) -> str:
        return self.p("nb.sock")

    @property
    def sb(self) -> str:
        return self.p("sb.sock")

    def start(self, name: str, stem: str, argv: list[str], log: str, ctl: str | None = None,
              env: dict[str, str] | None = None) -> Component:
        out = self.p(f"{stem}.out")
        with open(out, "ab") as f:
            # Own session: a Ctrl-C in the terminal must not kill a --keep deployment.
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                    stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                    start_new_session=True)
        c = Component(name, proc, log, out, ctl)
        self.components.append(c)
        return c

    def start_server(self, key: str, schema: str) -> None:
        label = f"{key.upper()} ovsdb-server ({self.server_label})"
        db = self.p(f"{key}.db")
        r = run([*self.tool_cmd, "create", db, schema])
        if r.returncode != 0:
            raise DemoError(f"{' '.join(self.tool_cmd)} create {db} failed: "
                            f"{(r.stderr or r.stdout).strip()}")
        sock, log = self.p(f"{key}.sock"), self.p(f"{key}.log")
        c = self.start(label, key, [
            *self.server_cmd, "-vconsole:off", "--no-chdir", f"--pidfile={self.p(key + '.pid')}",
            f"--log-file={log}", f"--remote=punix:{sock}",
            f"--unixctl={self.p(key + '.ctl')}", db], log, self.p(f"{key}.ctl"))
        deadline = time.monotonic() + START_TIMEOUT
        while not can_connect(sock):
            if c.proc.poll() is not None:
                raise DemoError(f"{label} exited with status {c.proc.returncode}",
                                self.log_of(c))
            if time.monotonic() > deadline:
                raise DemoError(f"{label} did not open {sock} within {START_TIMEOUT:.0f} s",
                                self.log_of(c))
            time.sleep(0.02)
        print(f"demo: {label} serving {sock} (pid {c.proc.pid})", flush=True)

    def start_northd(self) -> None:
        c = self.start("ovn-northd", "northd", [
            "ovn-northd", "-vconsole:off", "--no-chdir", f"--pidfile={self.p('northd.pid')}",
            f"--log-file={self.p('northd.log')}", f"--unixctl={self.p('northd.ctl')}",
            f"--ovnnb-db=unix:{self.nb}", f"--ovnsb-db=unix:{self.sb}"],
            self.p("northd.log"), self.p("northd.ctl"), env={"OVN_RUNDIR": self.dir})
        print(f"demo: ovn-northd (real) between them (pid {c.proc.pid})", flush=True)

    def log_of(self, c: Component) -> str:
        """The log worth reading: the log file if the program wrote one, else its output."""
        if os.path.exists(c.log) and os.path.getsize(c.log) > 0:
            return c.log
        return c.out

    def check_alive(self) -> None:
        for c in self.components:
            if c.proc.poll() is not None:
                raise DemoError(f"{c.name} exited with status {c.proc.returncode}",
                                self.log_of(c))

    def client(self, label: str, argv: list[str], timeout: float = CMD_TIMEOUT) -> str:
        """Run a real client; on failure blame it, or the component that died meanwhile."""
        try:
            r = run(argv, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.check_alive()
            raise DemoError(f"{label} timed out after {timeout:.0f} s: {shlex.join(argv)}",
                            self.suspect_log(argv)) from None
        if r.returncode != 0:
            self.check_alive()
            raise DemoError(f"{label} failed (status {r.returncode}): {shlex.join(argv)}\n"
                            f"{r.stderr.strip()}", self.suspect_log(argv))
        return r.stdout

    def suspect_log(self, argv: Sequence[str]) -> str | None:
        """The server a failed client talked to: its log is where the reason is."""
        text = " ".join(argv)
        if "--wait=sb" in text:
            return self.p("northd.log")
        for key in ("nb", "sb"):
            if self.p(f"{key}.sock") in text:
                return self.p(f"{key}.log")
        return None

    def nbctl(self, *args: str, timeout: float = CMD_TIMEOUT) -> str:
        return self.client("ovn-nbctl", ["ovn-nbctl", f"--db=unix:{self.nb}", *args], timeout)

    def sbctl(self, *args: str) -> str:
        return self.client("ovn-sbctl", ["ovn-sbctl", f"--db=unix:{self.sb}", *args])

    def stop(self) -> list[str]:
        """Stop what was started (servers via their control socket, like the real ones, then
        by pid); returns the names of components that had already died."""
        dead = [c.name for c in self.components if c.proc.poll() is not None]
        for c in reversed(self.components):
            if c.proc.poll() is None and c.ctl:
                with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                    run(["ovs-appctl", "-t", c.ctl, "exit"], timeout=5)
            if c.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for c in self.components:
            try:
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()
        return dead


def can_connect(path: str) -> bool:
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def run(argv: Sequence[str], timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.rstrip("\n").splitlines()) or "    (empty)\n"


def exercise(d: Demo) -> None:
    print("demo: ovn-nbctl builds two switches, a router, ports and an ACL", flush=True)
    for args in TOPOLOGY:
        d.nbctl(*args)
    print("demo: ovn-sbctl registers chassis hv1", flush=True)
    d.sbctl("chassis-add", "hv1", "geneve", "127.0.0.1")
    print("demo: ovn-nbctl --wait=sb sync (until ovn-northd has caught up)", flush=True)
    d.nbctl("--wait=sb", "--timeout=30", "sync", timeout=45)
    print("demo: ovn-sbctl binds vm1 to hv1", flush=True)
    d.sbctl("lsp-bind", "vm1", "hv1")
    print("\n$ ovn-nbctl show")
    print(indent(d.nbctl("show")))
    print("$ ovn-sbctl show")
    print(indent(d.sbctl("show")))
    flows = d.sbctl("--bare", "--columns=_uuid", "list", "Logical_Flow").split()
    if not flows:
        d.check_alive()
        raise DemoError("ovn-northd wrote no logical flows", d.p("northd.log"))
    print(f"logical flows in the southbound database: {len(flows)}\n")
    for key in ("nb", "sb"):
        sock = d.p(f"{key}.sock")
        out = d.client("ovsdb-client", ["ovsdb-client", "list-dbs", f"unix:{sock}"])
        print(f"$ ovsdb-client list-dbs unix:{sock}")
        print(indent(out))
    d.check_alive()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="pyovn demo",
        description="Bring up pyovn's OVSDB server for NB and SB with the real ovn-northd between "
        "them, exercise them with the real clients, then stop everything.")
    ap.add_argument("--keep", action="store_true",
                    help="leave everything running and print the sockets and how to stop it")
    ap.add_argument("--real", action="store_true",
                    help="use the real ovsdb-server instead of pyovn's, for comparison")
    ap.add_argument("--server-cmd", metavar="CMD", help=argparse.SUPPRESS)  # for tests
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if a.server_cmd:
        server_cmd, label = shlex.split(a.server_cmd), a.server_cmd
    elif a.real:
        server_cmd, label = ["ovsdb-server"], "real"
    else:
        server_cmd, label = [sys.executable, "-m", "pyovn", "ovsdb-server"], "pyovn"
    tool_cmd = ["ovsdb-tool"] if a.real else [sys.executable, "-m", "pyovn", "ovsdb-tool"]
    needed = ["ovn-northd", "ovn-nbctl", "ovn-sbctl", "ovsdb-client", "ovs-appctl"]
    if a.real:
        needed += ["ovsdb-server", "ovsdb-tool"]
    missing = [t for t in needed if shutil.which(t) is None]
    missing += [s for s in (NB_SCHEMA, SB_SCHEMA) if not os.path.exists(s)]
    if missing:
        print(f"demo: missing {', '.join(missing)} (install ovn-central, or run scripts/setup.sh)",
              file=sys.stderr)
        return 1
    d = Demo(tempfile.mkdtemp(prefix=f"pyovn-demo-{os.getpid()}-"), server_cmd, tool_cmd, label)
    print(f"demo: working in {d.dir}", flush=True)
    ok = False
    try:
        d.start_server("nb", NB_SCHEMA)
        d.start_server("sb", SB_SCHEMA)
        d.start_northd()
        exercise(d)
        ok = True
    except DemoError as e:
        print(f"demo: FAILED: {e.what}", file=sys.stderr)
        if e.log:
            print(f"demo: see {e.log}", file=sys.stderr)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"demo: FAILED: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
    if ok and a.keep:
        print("demo: left running (--keep):")
        print(f"  NB: unix:{d.nb}    ovn-nbctl --db=unix:{d.nb} show")
        print(f"  SB: unix:{d.sb}    ovn-sbctl --db=unix:{d.sb} show")
        pids = " ".join(str(c.proc.pid) for c in d.components)
        print(f"  pids: {pids}")
        print("  stop with:")
        for c in d.components:
            if c.ctl:
                print(f"    ovs-appctl -t {c.ctl} exit    # {c.name}")
        print(f"    rm -rf {d.dir}")
        return 0
    dead = d.stop()
    if ok and dead:
        ok = False
        print(f"demo: FAILED: {', '.join(dead)} died", file=sys.stderr)
    if ok:
        shutil.rmtree(d.dir, ignore_errors=True)
        print("demo: OK: everything stopped, temp dir removed")
        return 0
    print(f"demo: temp dir kept for the logs: {d.dir}", file=sys.stderr)
    return 1
