"""Real OVN central (ovsdb-server for NB and SB, ovn-northd) in a temp dir, topologies built
with ovn-nbctl, and a battery of microflows traced by both the real ovn-trace and pyovn.

Only processes started here are stopped, by pid.  Sockets live in the temp dir (unix only).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("ovsdb-server", "ovsdb-tool", "ovn-nbctl", "ovn-sbctl", "ovn-northd", "ovn-trace")
_counter = itertools.count()


def have_tools() -> bool:
    return all(shutil.which(t) for t in TOOLS)


class Central:
    """NB + SB ovsdb-servers and ovn-northd, all real."""

    def __init__(self, tag: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"pyovn-trace-{tag}-{os.getpid()}-"
                                               f"{next(_counter)}-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.nb = str(self.dir / "nb.sock")
        self.sb = str(self.dir / "sb.sock")
        try:
            for name in ("nb", "sb"):
                db = str(self.dir / f"{name}.db")
                schema = f"/usr/share/ovn/ovn-{name}.ovsschema"
                subprocess.run(["ovsdb-tool", "create", db, schema], check=True,
                               capture_output=True)
                self._start(name, ["ovsdb-server", "-vconsole:off", "--no-chdir",
                                   f"--log-file={self.dir / (name + '.log')}",
                                   f"--remote=punix:{self.dir / (name + '.sock')}",
                                   f"--unixctl={self.dir / (name + '.ctl')}", db])
                self._wait_socket(str(self.dir / f"{name}.sock"))
            self._start("northd", ["ovn-northd", "-vconsole:off", "--no-chdir",
                                   f"--log-file={self.dir / 'northd.log'}",
                                   f"--unixctl={self.dir / 'northd.ctl'}",
                                   f"--ovnnb-db=unix:{self.nb}", f"--ovnsb-db=unix:{self.sb}"])
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, argv: list[str]) -> None:
        with open(self.dir / f"{name}.out", "ab") as out:
            self.procs.append(subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "OVN_RUNDIR": str(self.dir), "OVS_RUNDIR": str(self.dir)}))

    def _wait_socket(self, path: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    return
                except OSError:
                    pass
                finally:
                    s.close()
            time.sleep(0.02)
        raise RuntimeError(f"{path} did not appear")

    def nbctl(self, *cmds: str) -> str:
        """Runs one ovn-nbctl invocation; commands separated by '--'."""
        r = subprocess.run(["ovn-nbctl", f"--db=unix:{self.nb}", *cmds], capture_output=True,
                           text=True, timeout=60)
        if r.returncode:
            raise RuntimeError(f"ovn-nbctl {' '.join(cmds)}: {r.stderr}")
        return r.stdout

    def sbctl(self, *cmds: str) -> str:
        r = subprocess.run(["ovn-sbctl", f"--db=unix:{self.sb}", *cmds], capture_output=True,
                           text=True, timeout=60)
        if r.returncode:
            raise RuntimeError(f"ovn-sbctl {' '.join(cmds)}: {r.stderr}")
        return r.stdout

    def sync(self) -> None:
        self.nbctl("--wait=sb", "--timeout=30", "sync")

    def stop(self) -> None:
        for pr in reversed(self.procs):
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
        for pr in self.procs:
            try:
                pr.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
        self.procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def real_trace(sb_sock: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ovn-trace", f"--db=unix:{sb_sock}", *args], capture_output=True,
                          text=True, timeout=60)


# -- topologies
@dataclass
class VM:
    name: str
    switch: str
    mac: str
    ip4: str | None = None
    ip6: str | None = None
    secure: bool = False


@dataclass
class RouterPort:
    switch: str
    mac: str
    ip4: str
    ip6: str


@dataclass
class Topology:
    name: str
    vms: list[VM] = field(default_factory=list)
    rports: list[RouterPort] = field(default_factory=list)
    static_routes: list[tuple[str, str]] = field(default_factory=list)  # prefix, nexthop
    acl_port_group: str | None = None
    dhcp: bool = False


def _mac(i: int) -> str:
    return f"50:54:00:00:{i >> 8:02x}:{i & 0xFF:02x}"


def topo_acl() -> Topology:
    """One switch: port security on some ports, an "unknown" port, ACLs on a port group
    using an address set, stateful (allow-related) and stateless (drop) rules."""
    t = Topology("acl", acl_port_group="pg_web")
    for i in range(1, 6):
        t.vms.append(VM(f"acl-vm{i}", "acl-sw", _mac(0x100 + i), f"10.1.0.{10 + i}",
                        f"fd10::{10 + i:x}", secure=i <= 3))
    return t


def build_acl(c: Central, t: Topology) -> None:
    cmds = ["ls-add", "acl-sw"]
    for vm in t.vms:
        addr = f"{vm.mac} {vm.ip4} {vm.ip6}"
        cmds += ["--", "lsp-add", "acl-sw", vm.name, "--", "lsp-set-addresses", vm.name, addr]
        if vm.secure:
            cmds += ["--", "lsp-set-port-security", vm.name, addr]
    cmds += ["--", "lsp-add", "acl-sw", "acl-unknown", "--", "lsp-set-addresses", "acl-unknown",
             "unknown"]
    c.nbctl(*cmds)
    c.nbctl("pg-add", "pg_web", "acl-vm1", "acl-vm2", "--", "pg-add", "pg_db", "acl-vm3")
    c.nbctl("create", "Address_Set", "name=as_clients",
            'addresses="10.1.0.14","10.1.0.15"')
    c.nbctl("acl-add", "pg_web", "to-lport", "1002",
            "outport == @pg_web && ip4 && ip4.src == $as_clients && tcp.dst == 80",
            "allow-related")
    c.nbctl("acl-add", "pg_web", "to-lport", "1001",
            "outport == @pg_web && ip4 && icmp4", "allow")
    c.nbctl("acl-add", "pg_web", "to-lport", "1000", "outport == @pg_web && ip", "drop")
    c.nbctl("acl-add", "pg_db", "from-lport", "1002",
            "inport == @pg_db && ip4 && tcp.dst == 22", "reject")
    c.nbctl("acl-add", "pg_db", "from-lport", "1001",
            "inport == @pg_db && ip4 && udp.dst == 53", "drop")
    # A load balancer with one backend (ct_lb_mark's choice is then not random).
    c.nbctl("lb-add", "acl-lb", "10.1.0.100:80", "10.1.0.12:8080", "tcp", "--",
            "ls-lb-add", "acl-sw", "acl-lb")


def topo_router() -> Topology:
    t = Topology("router")
    for s, net in (("r-sw1", 1), ("r-sw2", 2)):
        t.rports.append(RouterPort(s, f"00:00:00:00:f0:0{net}", f"192.168.{net}.1",
                                   f"fd0{net}::1"))
        for i in range(1, 4):
            t.vms.append(VM(f"r-vm{net}{i}", s, _mac(0x200 + net * 16 + i),
                            f"192.168.{net}.{10 + i}", f"fd0{net}::{10 + i:x}",
                            secure=(i == 1)))
    t.static_routes = [("172.16.0.0/16", "192.168.2.100"), ("10.99.0.0/24", "192.168.1.12"),
                       ("fd99::/64", "fd02::13")]
    return t


def build_router(c: Central, t: Topology) -> None:
    cmds = ["lr-add", "r-lr"]
    for rp in t.rports:
        lrp = f"r-lr-{rp.switch}"
        cmds += ["--", "ls-add", rp.switch,
                 "--", "lrp-add", "r-lr", lrp, rp.mac, f"{rp.ip4}/24", f"{rp.ip6}/64",
                 "--", "lsp-add", rp.switch, f"{rp.switch}-r-lr",
                 "--", "lsp-set-type", f"{rp.switch}-r-lr", "router",
                 "--", "lsp-set-addresses", f"{rp.switch}-r-lr", "router",
                 "--", "lsp-set-options", f"{rp.switch}-r-lr", f"router-port={lrp}"]
    for vm in t.vms:
        addr = f"{vm.mac} {vm.ip4} {vm.ip6}"
        cmds += ["--", "lsp-add", vm.switch, vm.name, "--", "lsp-set-addresses", vm.name, addr]
        if vm.secure:
            cmds += ["--", "lsp-set-port-security", vm.name, addr]
    for prefix, nh in t.static_routes:
        cmds += ["--", "lr-route-add", "r-lr", prefix, nh]
    c.nbctl(*cmds)
    c.sync()
    # A learnt neighbour for one static route's next hop (get_arp finds it).
    lr = c.sbctl("--bare", "--columns=_uuid", "find", "Datapath_Binding",
                 "external_ids:name=r-lr").split()[0]
    c.sbctl("create", "MAC_Binding", "logical_port=r-lr-r-sw2", "ip=192.168.2.100",
            'mac="0a:00:00:00:02:64"', f"datapath={lr}")


def topo_dhcp() -> Topology:
    t = Topology("dhcp", dhcp=True)
    for i in range(1, 4):
        t.vms.append(VM(f"d-vm{i}", "d-sw", _mac(0x300 + i), f"10.3.0.{10 + i}",
                        f"fd03::{10 + i:x}", secure=(i == 1)))
    return t


def build_dhcp(c: Central, t: Topology) -> None:
    cmds = ["ls-add", "d-sw"]
    for vm in t.vms:
        addr = f"{vm.mac} {vm.ip4} {vm.ip6}"
        cmds += ["--", "lsp-add", "d-sw", vm.name, "--", "lsp-set-addresses", vm.name, addr]
        if vm.secure:
            cmds += ["--", "lsp-set-port-security", vm.name, addr]
    c.nbctl(*cmds)
    u4 = c.nbctl("dhcp-options-create", "10.3.0.0/24").strip()
    u4 = c.nbctl("--bare", "--columns=_uuid", "find", "DHCP_Options",
                 'cidr="10.3.0.0/24"').split()[0]
    c.nbctl("dhcp-options-set-options", u4, "lease_time=3600", "router=10.3.0.1",
            "server_id=10.3.0.1", "server_mac=c0:ff:ee:00:00:01", "dns_server={8.8.8.8}")
    c.nbctl("dhcp-options-create", "fd03::/64")
    u6 = c.nbctl("--bare", "--columns=_uuid", "find", "DHCP_Options",
                 'cidr="fd03::/64"').split()[0]
    c.nbctl("dhcp-options-set-options", u6, "server_id=c0:ff:ee:00:00:02")
    for vm in t.vms[:2]:
        c.nbctl("lsp-set-dhcpv4-options", vm.name, u4, "--", "lsp-set-dhcpv6-options",
                vm.name, u6)


# -- the packet battery
@dataclass
class Case:
    topo: str
    category: str
    datapath: str
    flow: str
    options: tuple[str, ...] = ()


def _l2(vm: VM, dst_mac: str) -> str:
    return f'inport == "{vm.name}" && eth.src == {vm.mac} && eth.dst == {dst_mac}'


def _ip4(vm: VM, dst_mac: str, dst: str, ttl: int = 64, src: str | None = None) -> str:
    return (_l2(vm, dst_mac) + f" && ip4.src == {src or vm.ip4} && ip4.dst == {dst} && "
            f"ip.ttl == {ttl}")


def _ip6(vm: VM, dst_mac: str, dst: str, ttl: int = 64) -> str:
    return _l2(vm, dst_mac) + f" && ip6.src == {vm.ip6} && ip6.dst == {dst} && ip.ttl == {ttl}"


def _arp_req(vm: VM, tpa: str, sha: str | None = None, spa: str | None = None) -> str:
    return (_l2(vm, "ff:ff:ff:ff:ff:ff") + f" && arp.op == 1 && arp.sha == {sha or vm.mac} && "
            f"arp.spa == {spa or vm.ip4} && arp.tha == 00:00:00:00:00:00 && arp.tpa == {tpa}")


def _nd_ns(vm: VM, target: str) -> str:
    t = int.from_bytes(__import__("ipaddress").IPv6Address(target).packed, "big") & 0xFFFFFF
    sn = f"ff02::1:ff{t >> 16:02x}:{t & 0xFFFF:04x}"
    mac = f"33:33:ff:{t >> 16:02x}:{(t >> 8) & 0xFF:02x}:{t & 0xFF:02x}"
    return (_l2(vm, mac) + f" && ip6.src == {vm.ip6} && ip6.dst == {sn} && ip.ttl == 255 && "
            f"icmp6.type == 135 && icmp6.code == 0 && nd.target == {target} && "
            f"nd.sll == {vm.mac}")


CT_VARIANTS = ((), ("--ct=new",), ("--ct=est",), ("--ct=est,rpl",), ("--ct=inv",),
               ("--ct=new", "--ct=new"), ("--ct=rel",))


def battery(t: Topology) -> list[Case]:
    cases: list[Case] = []

    def add(cat: str, dp: str, flow: str, *opts: str) -> None:
        cases.append(Case(t.name, cat, dp, flow, tuple(opts)))

    sw_of = {vm.name: vm.switch for vm in t.vms}
    for a in t.vms:
        dp = sw_of[a.name]
        peers = [b for b in t.vms if b.switch == a.switch and b is not a]
        add("l2-broadcast", dp, _l2(a, "ff:ff:ff:ff:ff:ff") + " && eth.type == 0x88b5")
        add("l2-unknown-mac", dp, _l2(a, "50:54:00:99:99:99") + " && eth.type == 0x88b5")
        for b in peers:
            add("l2-unicast", dp, _l2(a, b.mac) + " && eth.type == 0x88b5")
            add("arp-request-known", dp, _arp_req(a, b.ip4 or ""))
            add("nd-ns-known", dp, _nd_ns(a, b.ip6 or ""))
            for opts in CT_VARIANTS:
                for proto, port in (("tcp", 80), ("tcp", 22), ("udp", 53)):
                    add(f"acl-{proto}", dp, _ip4(a, b.mac, b.ip4 or "") +
                        f" && {proto}.dst == {port}", *opts)
            add("acl-icmp4", dp, _ip4(a, b.mac, b.ip4 or "") + " && icmp4.type == 8")
            add("ip6-unicast", dp, _ip6(a, b.mac, b.ip6 or "") + " && udp.dst == 53")
        add("arp-request-unknown", dp, _arp_req(a, "10.250.0.1"))
        if t.name == "acl":
            for opts in ((), ("--ct=new",), ("--ct=est",), ("--lb-dst=10.1.0.12:8080",)):
                add("lb-vip", dp, _ip4(a, "50:54:00:00:01:02", "10.1.0.100") +
                    " && tcp.dst == 80", *opts)
        # Port security violations.
        add("ps-bad-eth-src", dp, f'inport == "{a.name}" && eth.src == 02:00:00:00:00:99 && '
            f"eth.dst == ff:ff:ff:ff:ff:ff && eth.type == 0x88b5")
        if peers:
            b = peers[0]
            add("ps-bad-ip4-src", dp, _ip4(a, b.mac, b.ip4 or "", src="10.250.0.9") +
                " && udp.dst == 9")
        add("ps-bad-arp-sha", dp, _arp_req(a, "10.250.0.2", sha="02:00:00:00:00:98"))
        add("ps-bad-arp-spa", dp, _arp_req(a, "10.250.0.3", spa="10.250.0.4"))
        if t.dhcp:
            add("dhcp-discover", dp, _l2(a, "ff:ff:ff:ff:ff:ff") +
                " && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && ip.ttl == 64 && "
                "udp.src == 68 && udp.dst == 67")
            add("dhcpv6-solicit", dp, _l2(a, "33:33:00:01:00:02") +
                " && ip6.src == fe80::1 && ip6.dst == ff02::1:2 && ip.ttl == 1 && "
                "udp.src == 546 && udp.dst == 547")
        for rp in t.rports:
            if rp.switch != a.switch:
                continue
            add("arp-router", dp, _arp_req(a, rp.ip4))
            add("ping-router", dp, _ip4(a, rp.mac, rp.ip4) + " && icmp4.type == 8")
            add("nd-ns-router", dp, _nd_ns(a, rp.ip6))
            for b in t.vms:
                if b.switch == a.switch:
                    continue
                for ttl in (64, 2, 1, 0):
                    add("routed-ip4", dp, _ip4(a, rp.mac, b.ip4 or "", ttl) + " && tcp.dst == 80")
                for opts in CT_VARIANTS[1:4]:
                    add("routed-ip4-ct", dp, _ip4(a, rp.mac, b.ip4 or "") + " && tcp.dst == 22",
                        *opts)
                add("routed-ip6", dp, _ip6(a, rp.mac, b.ip6 or "") + " && udp.dst == 53")
                add("routed-ip6-ttl1", dp, _ip6(a, rp.mac, b.ip6 or "", 1) + " && udp.dst == 53")
            for dst in ("172.16.3.4", "10.99.0.7", "8.8.8.8"):
                add("static-route", dp, _ip4(a, rp.mac, dst) + " && udp.dst == 53")
            add("static-route-ip6", dp, _ip6(a, rp.mac, "fd99::7") + " && udp.dst == 53")
            add("routed-ip4-arp-miss", dp, _ip4(a, rp.mac, "192.168.2.77") + " && udp.dst == 9")
    return cases


BUILDERS = {"acl": (topo_acl, build_acl), "router": (topo_router, build_router),
            "dhcp": (topo_dhcp, build_dhcp)}

_OUTPUT_RE = re.compile(r'output\("([^"]*)"\)')


def verdict(minimal_text: str) -> tuple[str, ...]:
    """The externally visible result: the ports the packet (or packets derived from it)
    leaves by, as a sorted multiset; () means dropped."""
    body = minimal_text.split("\n", 1)[1] if minimal_text.startswith("#") else minimal_text
    return tuple(sorted(_OUTPUT_RE.findall(body)))


@dataclass
class Stats:
    total: int = 0
    verdict_agree: int = 0
    minimal_exact: int = 0
    detailed_exact: int = 0
    real_failed: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)
