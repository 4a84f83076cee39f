"""Bring a sandbox up and take it down.

Central: NB and SB OVSDB servers and northd, in the sandbox directory, sockets and pidfiles
under OVN's usual names (ovnnb_db.sock, ovnsb_db.sock, ovn-northd.pid) so that OVN's tools
find them with just OVN_RUNDIR set.  Each chassis ``hvN``: a namespace with its own
ovsdb-server and ovs-vswitchd (userspace datapath) and controller, run from ``DIR/hvN`` as
OVS_RUNDIR; ``br-phy`` carries the underlay address 172.31.0.N used for the tunnels (Geneve,
or VXLAN with ``--encap``), ``br-ex`` is the localnet bridge
(``ovn-bridge-mappings=physnet:br-ex``).  The underlay and the physical network are Linux
bridges ``ul`` and ``phys`` in a namespace of their own, ``net``.

Without root or without Open vSwitch only the control plane runs: the chassis are rows in
the SB database (``ovn-sbctl chassis-add``) and no packet moves.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable

from .components import Stack
from .proc import (
    Daemon,
    SandboxError,
    check_socket_path,
    run,
    start_daemon,
    stop_daemons,
    wait_socket,
)
from .state import STATE_FILE, State, StateError

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DATAPLANE_TOOLS = ("ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ip", "ping", "ethtool")
UNDERLAY = "172.31.0"
PHYSNET = "physnet"
MAX_CHASSIS = 200
# ovn-encap-type values a chassis may get: those the real ovn-controller 23.03 and pyovn's
# both tunnel with (STT needs a kernel module the userspace datapath does not have).
ENCAP_TYPES = ("geneve", "vxlan")
ENCAP_NAMES = {"geneve": "Geneve", "vxlan": "VXLAN"}

Out = Callable[[str], None]


def dataplane_unavailable() -> str | None:
    """Why the data plane cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "not running as root (namespaces and veths need it)"
    missing = [t for t in DATAPLANE_TOOLS if shutil.which(t) is None]
    if missing:
        return f"Open vSwitch tools missing: {' '.join(missing)}"
    return None


def parse_encaps(spec: str | None, chassis: int) -> list[str]:
    """``--encap``: one type for every chassis, or a comma-separated list with one type per
    chassis (hv1 first).  Mixed lists are allowed on purpose: OVN then tunnels to each
    chassis with that chassis' type, which is how a real cluster migrates."""
    if spec is None or not spec.strip():
        return ["geneve"] * chassis
    types = [t.strip().lower() for t in spec.split(",")]
    bad = [t or "''" for t in types if t not in ENCAP_TYPES]
    if bad:
        raise StateError(f"--encap: unknown encapsulation(s) {', '.join(bad)}; "
                         f"choose from {', '.join(ENCAP_TYPES)}")
    if len(types) == 1:
        return types * chassis
    if len(types) != chassis:
        raise StateError(f"--encap: {len(types)} types for {chassis} chassis (give one for "
                         "all, or one per chassis)")
    return types


def ns_exists(ns: str) -> bool:
    return os.path.exists(f"/run/netns/{ns}")


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


class Sandbox:
    def __init__(self, state: State, out: Out = print) -> None:
        self.state = state
        self.out = out

    # ---- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: str, out: Out = print) -> Sandbox:
        """The sandbox running in ``directory``."""
        st = State.load(directory)
        if st is None:
            raise StateError(f"no sandbox in {directory} (start one with: pyovn sandbox start)")
        if st.status != "running":
            raise StateError(f"sandbox in {directory} is not running ({st.status}); "
                             "run 'pyovn sandbox stop' to clean up")
        return cls(st, out)

    @classmethod
    def create(cls, directory: str, stack: Stack, chassis: int = 2,
               dataplane: bool | None = None, out: Out = print,
               encap: str | None = None) -> Sandbox:
        """A new, not yet started sandbox in ``directory``; refuses if one is there.
        ``encap`` is ``--encap``'s value (see parse_encaps)."""
        if not 1 <= chassis <= MAX_CHASSIS:
            raise StateError(f"--chassis must be 1..{MAX_CHASSIS}, not {chassis}")
        encaps = parse_encaps(encap, chassis)
        old = State.load(directory)
        if old is not None:
            if old.status in ("running", "starting") and old.alive():
                raise StateError(f"a sandbox is already running in {directory} "
                                 "(pyovn sandbox stop, or pick another --dir)")
            Sandbox(old, out).teardown()
        if os.path.isdir(directory) and os.listdir(directory) and old is None:
            raise StateError(f"{directory} exists and is not a sandbox directory; "
                             "refusing to use it")
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        why = dataplane_unavailable()
        if dataplane is None:
            dataplane = why is None
        elif dataplane and why is not None:
            raise StateError(f"no data plane possible: {why}")
        sid = secrets.token_hex(3)[:5]
        while any(n.startswith(f"pyovn-{sid}-") for n in _netns_list()):
            sid = secrets.token_hex(3)[:5]
        st = State(dir=directory, id=sid, status="starting", stack=stack.as_dict(),
                   dataplane=dataplane, chassis=chassis, encaps=encaps)
        st.nb = os.path.join(directory, "ovnnb_db.sock")
        st.sb = os.path.join(directory, "ovnsb_db.sock")
        for i in range(1, chassis + 1):
            check_socket_path(os.path.join(st.hv_dir(i), "br-int.mgmt"))
        st.save()
        sb = cls(st, out)
        if not dataplane:
            sb.say(f"no data plane: {why or 'control plane only was asked for'}")
        return sb

    @property
    def stack(self) -> Stack:
        return Stack.from_dict(self.state.stack)

    def say(self, msg: str) -> None:
        self.out(f"sandbox: {msg}")

    def env(self) -> dict[str, str]:
        """What OVN's and pyovn's tools need to find this sandbox."""
        st = self.state
        return {"OVN_NB_DB": f"unix:{st.nb}", "OVN_SB_DB": f"unix:{st.sb}",
                "OVN_RUNDIR": st.dir, "PYOVN_SANDBOX_DIR": st.dir}

    # ---- bringing up --------------------------------------------------------------------

    def start(self) -> None:
        st = self.state
        self.say(f"starting in {st.dir} (id {st.id}, stack {self.stack.label()})")
        if self.stack.label() != "all-real":
            self.say(f"pyovn has no {', '.join(self.stack.stand_ins())} yet: the real "
                     "ones stand in")
        try:
            self._central()
            if st.dataplane:
                self._underlay()
                for i in range(1, st.chassis + 1):
                    self._chassis(i)
                self._wait_chassis()
            else:
                for i in range(1, st.chassis + 1):
                    self.sbctl("chassis-add", f"hv{i}", st.encap(i), f"{UNDERLAY}.{i}")
                self.say(f"simulated chassis hv1..hv{st.chassis} registered in SB "
                         "(rows only: NO DATA PLANE RUNS, no packet moves)")
            st.status = "running"
            st.save()
            self.say("ready")
        except BaseException as e:
            if isinstance(e, SandboxError):
                self.say(f"FAILED: {e.component}: {e.what}")
                if e.log:
                    self.say(f"  log: {e.log}")
            self.teardown(remove_dir=False)
            st.status = "failed"
            st.save()
            raise

    def _record(self, d: Daemon) -> Daemon:
        self.state.daemons.append(d)
        self.state.save()
        return d

    def _server(self, key: str, db_name: str, schema: str) -> None:
        st, stack = self.state, self.stack
        p = os.path.join(st.dir, db_name)
        tool = (["ovsdb-tool"] if stack.of(key) == "real"
                else [*stack.command(key)[:-1], "ovsdb-tool"])
        run([*tool, "create", p + ".db", schema], component=key)
        d = self._record(start_daemon(key, [
            *stack.command(key), "-vconsole:off", "--no-chdir", f"--pidfile={p}.pid",
            f"--log-file={p}.log", f"--remote=punix:{p}.sock", f"--unixctl={p}.ctl",
            f"{p}.db"], log=f"{p}.log", out=f"{p}.out"))
        wait_socket(d, f"{p}.sock")
        self.say(f"{key.upper()} ovsdb-server ({stack.of(key)}) serving unix:{p}.sock")

    def _central(self) -> None:
        st, stack = self.state, self.stack
        self._server("nb", "ovnnb_db", NB_SCHEMA)
        self._server("sb", "ovnsb_db", SB_SCHEMA)
        p = os.path.join(st.dir, "ovn-northd")
        d = self._record(start_daemon("northd", [
            *stack.command("northd"), "-vconsole:off", "--no-chdir", f"--pidfile={p}.pid",
            f"--log-file={p}.log", f"--ovnnb-db=unix:{st.nb}", f"--ovnsb-db=unix:{st.sb}"],
            log=f"{p}.log", out=f"{p}.out", env={"OVN_RUNDIR": st.dir}))
        wait_socket(d, os.path.join(st.dir, f"ovn-northd.{d.pid}.ctl"))
        # northd is connected once it has filled in SB_Global.
        self._poll("northd", d, lambda: self.sbctl("--bare", "--columns=_uuid", "list",
                                                    "SB_Global", check=False).stdout.strip())
        self.say(f"northd ({stack.of('northd')}) running")

    def _poll(self, component: str, d: Daemon | None, ready: Callable[[], object],
              timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if d is not None and not d.alive():
                d.reap()
                raise d.failure("exited")
            if time.monotonic() > deadline:
                raise (d.failure(f"not ready within {timeout:g}s") if d is not None
                       else SandboxError(component, f"not ready within {timeout:g}s"))
            time.sleep(0.1)

    def add_ns(self, name: str) -> str:
        ns = self.state.ns(name)
        self.state.namespaces.append(ns)
        self.state.save()
        run(["ip", "netns", "add", ns], component=name)
        run(["ip", "link", "set", "lo", "up"], netns=ns, component=name)
        return ns

    def veth(self, a: str, ns_a: str, b: str, ns_b: str, component: str) -> None:
        """A veth pair made straight inside two namespaces: it dies with them and never
        shows in the root namespace.  Remembered anyway, in case creation half-fails."""
        self.state.root_links += [a, b]
        self.state.save()
        run(["ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b,
             "netns", ns_b], component=component)
        run(["ip", "link", "set", a, "up"], netns=ns_a, component=component)
        run(["ip", "link", "set", b, "up"], netns=ns_b, component=component)

    def _underlay(self) -> None:
        net = self.add_ns("net")
        for br in ("ul", "phys"):
            run(["ip", "link", "add", br, "type", "bridge"], netns=net, component="underlay")
            run(["ip", "link", "set", br, "up"], netns=net, component="underlay")
        self.say(f"underlay: namespace {net} (bridges ul: tunnels {UNDERLAY}.0/24, "
                 f"phys: localnet '{PHYSNET}')")

    def vsctl(self, i: int, *args: str, check: bool = True) -> str:
        h = self.state.hv_dir(i)
        return run(["ovs-vsctl", "--timeout=30", f"--db=unix:{h}/db.sock", *args],
                   check=check, component=f"hv{i} ovs-vsctl",
                   log=os.path.join(h, "ovs-vswitchd.log")).stdout

    def vs_appctl(self, i: int, *args: str) -> str:
        st = self.state
        d = st.daemon(f"hv{i} ovs-vswitchd")
        assert d is not None
        ctl = os.path.join(st.hv_dir(i), f"ovs-vswitchd.{d.pid}.ctl")
        return run(["ovs-appctl", "-t", ctl, *args], component=d.name, log=d.log).stdout

    def _chassis(self, i: int) -> None:
        st, stack = self.state, self.stack
        h = st.hv_dir(i)
        os.makedirs(h, exist_ok=True)
        ns = self.add_ns(f"hv{i}")
        net = st.ns("net")
        ul, ul_peer = st.link(f"a{i}"), st.link(f"b{i}")
        ph, ph_peer = st.link(f"c{i}"), st.link(f"d{i}")
        self.veth(ul, ns, ul_peer, net, f"hv{i} underlay")
        self.veth(ph, ns, ph_peer, net, f"hv{i} underlay")
        run(["ip", "link", "set", ul_peer, "master", "ul"], netns=net, component="underlay")
        run(["ip", "link", "set", ph_peer, "master", "phys"], netns=net, component="underlay")
        env = {"OVS_RUNDIR": h, "OVS_DBDIR": h, "OVS_LOGDIR": h, "OVN_RUNDIR": h}
        name = f"hv{i} ovsdb-server"
        run(["ovsdb-tool", "create", f"{h}/conf.db", VS_SCHEMA], component=name)
        d = self._record(start_daemon(name, [
            "ovsdb-server", "-vconsole:off", "--no-chdir", f"--pidfile={h}/ovsdb-server.pid",
            f"--log-file={h}/ovsdb-server.log", f"--remote=punix:{h}/db.sock",
            f"{h}/conf.db"], log=f"{h}/ovsdb-server.log", out=f"{h}/ovsdb-server.out",
            env=env, netns=ns))
        wait_socket(d, f"{h}/db.sock")
        self.vsctl(i, "--no-wait", "init")
        name = f"hv{i} ovs-vswitchd"
        d = self._record(start_daemon(name, [
            "ovs-vswitchd", "-vconsole:off", "--no-chdir", f"--pidfile={h}/ovs-vswitchd.pid",
            f"--log-file={h}/ovs-vswitchd.log", f"unix:{h}/db.sock"],
            log=f"{h}/ovs-vswitchd.log", out=f"{h}/ovs-vswitchd.out", env=env, netns=ns))
        wait_socket(d, f"{h}/ovs-vswitchd.{d.pid}.ctl")
        self.vsctl(i, "add-br", "br-phy", "--", "set", "bridge", "br-phy",
                   "datapath_type=netdev", "--", "add-port", "br-phy", ul)
        run(["ip", "addr", "add", f"{UNDERLAY}.{i}/24", "dev", "br-phy"], netns=ns,
            component=name)
        run(["ip", "link", "set", "br-phy", "up"], netns=ns, component=name)
        # The userspace datapath routes tunnel packets by its own table, not the kernel's.
        # It refuses the route until it has seen br-phy's new address (netlink, async).
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self.vs_appctl(i, "ovs/route/add", f"{UNDERLAY}.0/24", "br-phy")
                break
            except SandboxError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.vsctl(i, "add-br", "br-ex", "--", "set", "bridge", "br-ex",
                   "datapath_type=netdev", "--", "add-port", "br-ex", ph)
        self.vsctl(i, "add-br", "br-int", "--", "set", "bridge", "br-int",
                   "datapath_type=netdev", "fail-mode=secure")
        self.vsctl(i, "set", "open", ".", f"external-ids:system-id=hv{i}",
                   f"external-ids:ovn-remote=unix:{st.sb}",
                   f"external-ids:ovn-encap-type={st.encap(i)}",
                   f"external-ids:ovn-encap-ip={UNDERLAY}.{i}",
                   f"external-ids:ovn-bridge-mappings={PHYSNET}:br-ex")
        name = f"hv{i} controller"
        d = self._record(start_daemon(name, [
            *stack.command("controller"), "-vconsole:off", "--no-chdir",
            f"--pidfile={h}/ovn-controller.pid", f"--log-file={h}/ovn-controller.log",
            f"unix:{h}/db.sock"], log=f"{h}/ovn-controller.log",
            out=f"{h}/ovn-controller.out", env=env, netns=ns))
        wait_socket(d, f"{h}/ovn-controller.{d.pid}.ctl")
        self.say(f"chassis hv{i}: namespace {ns}, ovsdb-server + ovs-vswitchd (netdev) + "
                 f"controller ({stack.of('controller')}), encap {st.encap(i)} {UNDERLAY}.{i}")

    def _wait_chassis(self) -> None:
        want = {f"hv{i}" for i in range(1, self.state.chassis + 1)}

        def registered() -> bool:
            for d in self.state.daemons:
                if not d.alive():
                    d.reap()
                    raise d.failure("exited")
            r = self.sbctl("--bare", "--columns=name", "list", "Chassis", check=False)
            return want <= set(r.stdout.split())

        self._poll("controller", None, registered)
        mesh = "/".join(ENCAP_NAMES[t] for t in sorted(set(self.state.encaps))) or "Geneve"
        self.say(f"chassis {', '.join(sorted(want))} registered in SB; {mesh} mesh up")

    # ---- clients ------------------------------------------------------------------------

    def nbctl(self, *args: str, check: bool = True, timeout: float = 60.0
              ) -> subprocess.CompletedProcess[str]:
        return run([*self.stack.command("nbctl"), f"--db=unix:{self.state.nb}", *args],
                   check=check, timeout=timeout, component="nbctl",
                   log=os.path.join(self.state.dir, "ovnnb_db.log"))

    def sbctl(self, *args: str, check: bool = True, timeout: float = 60.0
              ) -> subprocess.CompletedProcess[str]:
        return run([*self.stack.command("sbctl"), f"--db=unix:{self.state.sb}", *args],
                   check=check, timeout=timeout, component="sbctl",
                   log=os.path.join(self.state.dir, "ovnsb_db.log"))

    def trace(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([*self.stack.command("trace"), f"--db=unix:{self.state.sb}", *args],
                   check=False, component="trace")

    def check_alive(self) -> None:
        for d in self.state.daemons:
            if not d.alive():
                d.reap()
                raise d.failure("is no longer running")

    # ---- taking down --------------------------------------------------------------------

    def teardown(self, remove_dir: bool = True) -> list[str]:
        """Stop every process, delete every namespace and link this sandbox made.  Returns
        what needed force (SIGKILL)."""
        st = self.state
        daemons = [h.listener for h in st.hosts if h.listener] + st.daemons
        forced = stop_daemons(daemons)
        for ns in reversed(st.namespaces):
            if ns_exists(ns):
                run(["ip", "netns", "del", ns], check=False)
        for link in st.root_links:
            if link_exists(link):
                run(["ip", "link", "del", link], check=False)
        st.daemons.clear()
        st.hosts.clear()
        st.namespaces.clear()
        st.root_links.clear()
        if remove_dir and os.path.exists(st.path):
            shutil.rmtree(st.dir, ignore_errors=True)
        elif os.path.isdir(st.dir):
            st.save()
        return forced

    def leftovers(self) -> list[str]:
        """Anything of this sandbox still present: for ``stop`` to report, and tests."""
        st = self.state
        left = [f"namespace {n}" for n in _netns_list() if n.startswith(f"pyovn-{st.id}-")]
        left += [f"link {n}" for n in os.listdir("/sys/class/net")
                 if n.startswith(f"ps{st.id}")]
        left += [f"process {d.name} pid {d.pid}" for d in st.daemons if d.alive()]
        return left



def _netns_list() -> list[str]:
    try:
        return os.listdir("/run/netns")
    except OSError:
        return []


def stop(directory: str, out: Out = print) -> bool:
    """Stop the sandbox in ``directory``; False if there was none."""
    st = State.load(directory)
    if st is None:
        return False
    sb = Sandbox(st, out)
    daemons = [*st.daemons, *(h.listener for h in st.hosts if h.listener)]
    forced = sb.teardown()
    if forced:
        out(f"sandbox: {', '.join(forced)} needed SIGKILL")
    st.daemons = daemons
    left = sb.leftovers()
    st.daemons = []
    if left:
        raise StateError("left behind: " + "; ".join(left))
    if os.path.exists(os.path.join(directory, STATE_FILE)):
        raise StateError(f"could not remove {directory}")
    return True
