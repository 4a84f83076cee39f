#!/usr/bin/env python3
"""Regenerate the logical-flow corpus from a real ovn-northd 23.03 run.

Starts its own NB and SB ovsdb-servers (unix sockets in a private temp dir) and a
real ovn-northd, builds a topology with ovn-nbctl, waits for northd, and dumps
the Logical_Flow table together with what a compiler needs to resolve names
(datapath and port tunnel keys, multicast groups, address sets, port groups).

Unless --no-chassis is given, a real chassis "ch1" also joins (ovsdb-server,
ovs-vswitchd with dummy netdevs, ovn-controller, inside a network namespace this
script creates; needs root), with every switch port bound to it: northd then
writes the flows of a deployment whose chassis report their features, and the
real ovn-controller's br-int flows and groups are recorded for comparison.

    scripts/gen_lflows.py rich  tests/logical/data/lflows_rich.json.gz
    scripts/gen_lflows.py large /tmp/lflows_large.json.gz [N_SWITCHES [N_PORTS]]

Only the processes this script starts are stopped (by pid); the namespace and
temp dirs are removed.  Uses only the standard library.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"


class RealOVN:
    """NB + SB ovsdb-server and ovn-northd in a private directory."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"pyovn-genlf-{os.getpid()}-")
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        d = self.dir
        for db, schema in (("nb", NB_SCHEMA), ("sb", SB_SCHEMA)):
            subprocess.run(["ovsdb-tool", "create", f"{d}/{db}.db", schema], check=True)
            self._spawn(["ovsdb-server", "-vconsole:off", "--no-chdir",
                         f"--log-file={d}/{db}.log", f"--remote=punix:{d}/{db}.sock",
                         f"--unixctl={d}/{db}.ctl", f"{d}/{db}.db"])
        for db in ("nb", "sb"):
            self._wait_for(f"{d}/{db}.sock")
        env = dict(os.environ, OVN_RUNDIR=d)
        self._spawn(["ovn-northd", "-vconsole:off", "--no-chdir",
                     f"--log-file={d}/northd.log", f"--unixctl={d}/northd.ctl",
                     f"--ovnnb-db=unix:{d}/nb.sock", f"--ovnsb-db=unix:{d}/sb.sock"], env)

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))

    @staticmethod
    def _wait_for(path: str) -> None:
        for _ in range(200):
            if os.path.exists(path):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{path} never appeared")

    def nbctl(self, *args: str) -> str:
        argv = ["ovn-nbctl", f"--db=unix:{self.dir}/nb.sock", *args]
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r.stdout.strip()

    def nb_batch(self, cmds: list[list[str]]) -> None:
        """Runs many nbctl commands in one transaction (the large topology needs it)."""
        argv: list[str] = []
        for c in cmds:
            if argv:
                argv.append("--")
            argv.extend(c)
        if argv:
            self.nbctl(*argv)

    def sbctl(self, *args: str) -> str:
        argv = ["ovn-sbctl", f"--db=unix:{self.dir}/sb.sock", *args]
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r.stdout.strip()

    def stop_northd(self) -> None:
        """Stops ovn-northd (the last process started), so that Logical_Flow rows can
        be written directly without northd replacing them."""
        p = self.procs.pop()
        p.terminate()
        p.wait(timeout=10)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class RealChassis:
    """ovsdb-server + ovs-vswitchd (dummy netdevs) + ovn-controller in a private netns."""

    def __init__(self, sb_sock: str, name: str = "ch1") -> None:
        self.dir = tempfile.mkdtemp(prefix=f"pyovn-bench-{os.getpid()}-")
        self.ns = f"pyovn-bench-{os.getpid()}"
        self.sb_sock = sb_sock
        self.name = name
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ctl = ""

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], env=env,
                                           stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))

    def vsctl(self, *args: str) -> str:
        return subprocess.run(["ovs-vsctl", f"--db=unix:{self.dir}/db.sock", *args],
                              check=True, capture_output=True, text=True).stdout

    def appctl(self, *args: str) -> str:
        return subprocess.run(["ovn-appctl", "-t", self.ctl, *args],
                              check=True, capture_output=True, text=True).stdout

    def start(self, lports: list[str]) -> None:
        d = self.dir
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ovsdb-tool", "create", f"{d}/conf.db",
                        "/usr/share/openvswitch/vswitch.ovsschema"], check=True)
        self._spawn(["ovsdb-server", "-vconsole:off", "--no-chdir", f"--log-file={d}/db.log",
                     f"--remote=punix:{d}/db.sock", f"--unixctl={d}/db.ctl", f"{d}/conf.db"])
        RealOVN._wait_for(f"{d}/db.sock")
        self.vsctl("--no-wait", "init")
        env = dict(os.environ, OVS_RUNDIR=d, OVN_RUNDIR=d)
        self._spawn(["ovs-vswitchd", "--enable-dummy=override", "-vconsole:off", "--no-chdir",
                     f"--log-file={d}/vs.log", f"--unixctl={d}/vs.ctl", f"unix:{d}/db.sock"],
                    env)
        self.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev",
                   "fail-mode=secure",
                   "other-config:disable-in-band=true")
        self.vsctl("set", "open", ".", f"external-ids:system-id={self.name}",
                   f"external-ids:ovn-remote=unix:{self.sb_sock}",
                   "external-ids:ovn-encap-type=geneve", "external-ids:ovn-encap-ip=127.0.0.1",
                   "external-ids:ovn-enable-lflow-cache=false")
        cmds: list[str] = []
        for i, lp in enumerate(lports):
            cmds += ["--", "add-port", "br-int", f"vif{i}", "--", "set", "interface", f"vif{i}",
                     "type=dummy", f"external_ids:iface-id={lp}"]
            if len(cmds) > 2000:
                self.vsctl(*cmds[1:])
                cmds = []
        if cmds:
            self.vsctl(*cmds[1:])
        self._spawn(["ovn-controller", "-vconsole:off", "--no-chdir",
                     f"--log-file={d}/ovnc.log", f"--pidfile={d}/ovnc.pid",
                     f"unix:{d}/db.sock"], env)
        # ovn-controller has no --unixctl: its socket is OVN_RUNDIR/ovn-controller.PID.ctl.
        for _ in range(200):
            ctls = glob.glob(f"{d}/ovn-controller.*.ctl")
            if ctls:
                self.ctl = ctls[0]
                return
            time.sleep(0.05)
        raise RuntimeError("ovn-controller did not start; see " + f"{d}/ovnc.log")

    def dump(self, what: str) -> list[str]:
        """`ovs-ofctl dump-flows`/`dump-groups` of br-int, without counters, sorted."""
        out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", what,
                              f"unix:{self.dir}/br-int.mgmt"], check=True,
                             capture_output=True, text=True).stdout
        lines = []
        for line in out.splitlines()[1:]:
            line = re.sub(r" (duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,", "", line)
            lines.append(line.strip())
        return sorted(lines)

    def n_flows(self) -> int:
        out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "dump-aggregate",
                              f"unix:{self.dir}/br-int.mgmt"], capture_output=True, text=True)
        m = re.search(r"flow_count=(\d+)", out.stdout)
        return int(m.group(1)) if m else 0

    def wait_stable(self, timeout: float = 300) -> int:
        deadline = time.time() + timeout
        last, same = -1, 0
        while time.time() < deadline:
            n = self.n_flows()
            same = same + 1 if n == last and n > 0 else 0
            if same >= 3:
                return n
            last = n
            time.sleep(1)
        return last

    def flow_generation_ms(self, rounds: int, cache: bool = False) -> list[float]:
        """Per full recompute: the controller's 'flow-generation' stopwatch (ms), with
        its lflow cache off (every flow compiled) or on (after one warming recompute)."""
        self.vsctl("set", "open", ".",
                   f"external-ids:ovn-enable-lflow-cache={'true' if cache else 'false'}")
        time.sleep(1)
        if cache:
            self.appctl("inc-engine/recompute")
            time.sleep(1)
        out = []
        for _ in range(rounds):
            self.appctl("stopwatch/reset", "flow-generation")
            time.sleep(0.2)
            self.appctl("inc-engine/recompute")
            time.sleep(0.5)
            for _ in range(600):
                text = self.appctl("stopwatch/show", "flow-generation")
                m = re.search(r"Maximum:\s*([\d.]+)\s*msec", text)
                if m and float(m.group(1)) > 0:
                    break
                time.sleep(0.2)
            m = re.search(r"Maximum:\s*([\d.]+)\s*msec", text)
            out.append(float(m.group(1)) if m else float("nan"))
        return out

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", self.ns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def build_rich(ovn: RealOVN) -> None:
    """Switches with port security, port-group ACLs over address sets, routers with
    static routes, NAT, gateway ports, load balancers, DHCPv4/v6, DNS, and more."""
    nb = ovn.nbctl
    nb("set", "NB_Global", ".", "options:controller_event=true",
       "options:mac_binding_removal_limit=0")
    for sw in ("sw0", "sw1", "ext"):
        nb("ls-add", sw)
    nb("set", "logical_switch", "sw1", "other_config:mcast_snoop=true",
       "other_config:mcast_querier=true")
    nb("set", "logical_switch", "sw0", "other_config:subnet=10.0.0.0/24")
    # VIFs with port security.
    vifs = [("sw0", "vm1", "00:00:00:00:00:01", "10.0.0.1", "aef0::1"),
            ("sw0", "vm2", "00:00:00:00:00:02", "10.0.0.2", "aef0::2"),
            ("sw0", "vm5", "00:00:00:00:00:05", "10.0.0.5", "aef0::5"),
            ("sw1", "vm3", "00:00:00:00:00:03", "10.0.1.3", "bef0::3"),
            ("sw1", "vm4", "00:00:00:00:00:04", "10.0.1.4", "bef0::4")]
    for sw, p, mac, ip4, ip6 in vifs:
        nb("lsp-add", sw, p)
        nb("lsp-set-addresses", p, f"{mac} {ip4} {ip6}")
        nb("lsp-set-port-security", p, f"{mac} {ip4}/24 {ip6}/64")
    nb("lsp-add", "sw0", "vm-unknown")
    nb("lsp-set-addresses", "vm-unknown", "00:00:00:00:00:10 10.0.0.10", "unknown")
    nb("lsp-add", "sw0", "vm-dyn")
    nb("lsp-set-addresses", "vm-dyn", "dynamic")
    nb("lsp-add", "sw0", "vip-port")
    nb("lsp-set-type", "vip-port", "virtual")
    nb("lsp-set-options", "vip-port", "virtual-ip=10.0.0.50", "virtual-parents=vm1,vm2")
    nb("lsp-add", "sw0", "lport0")
    nb("lsp-set-type", "lport0", "localport")
    nb("lsp-set-addresses", "lport0", "00:00:00:00:00:20 10.0.0.20")
    nb("lsp-add", "sw1", "vm-parent")
    nb("lsp-set-addresses", "vm-parent", "00:00:00:00:00:30 10.0.1.30")
    nb("lsp-add", "sw1", "container1", "vm-parent", "42")
    nb("lsp-set-addresses", "container1", "00:00:00:00:00:31 10.0.1.31")
    # Address sets and port groups with ACLs.
    nb("create", "Address_Set", "name=as_web", 'addresses="10.0.0.1","10.0.0.2","10.0.1.0/24"')
    nb("create", "Address_Set", "name=as_v6", 'addresses="aef0::1","bef0::/64"')
    nb("create", "Address_Set", "name=as_mac",
       'addresses="00:00:00:00:00:01","00:00:00:00:00:03"')
    nb("pg-add", "pg_web", "vm1", "vm2", "vm3")
    nb("pg-add", "pg_db", "vm4", "vm5")
    acls = [
        ("pg_web", "from-lport", "1002", "inport == @pg_web && ip4", "allow-related"),
        ("pg_web", "from-lport", "1002", "inport == @pg_web && ip6", "allow-related"),
        ("pg_web", "to-lport", "1003",
         "outport == @pg_web && ip4.src == $as_web && tcp.dst == {80, 443}", "allow-related"),
        ("pg_web", "to-lport", "1002",
         "outport == @pg_web && ip6.src == $as_v6 && udp.dst == 53", "allow"),
        ("pg_web", "to-lport", "1001", "outport == @pg_web && ip", "drop"),
        ("pg_db", "to-lport", "1004",
         "outport == @pg_db && ip4.src == $pg_web_ip4 && tcp.dst >= 5432 && tcp.dst <= 5440",
         "allow-related"),
        ("pg_db", "to-lport", "1003",
         "outport == @pg_db && ip6.src == $pg_web_ip6 && sctp", "allow-stateless"),
        ("pg_db", "to-lport", "1002", "outport == @pg_db && icmp4", "reject"),
        ("pg_db", "from-lport", "1001",
         "inport == @pg_db && eth.src == $as_mac && !(ip4.dst == 10.0.0.0/8)", "reject"),
        ("pg_db", "to-lport", "1000", "outport == @pg_db && ip", "drop"),
    ]
    for pg, direction, prio, match, action in acls:
        extra = ["--log", "--severity=info", f"--name=acl{prio}"] if prio in ("1002",) else []
        nb("--type=port-group", *extra, "acl-add", pg, direction, prio, match, action)
    nb("acl-add", "sw1", "from-lport", "900", "ip4 && udp && udp.dst == 9999", "drop")
    nb("--apply-after-lb", "acl-add", "sw1", "from-lport", "901",
       "ip4.dst == 10.0.1.100", "allow")
    nb("meter-add", "acl-meter", "drop", "10", "pktps")
    nb("qos-add", "sw0", "from-lport", "100", "ip4 && inport == \"vm1\"", "dscp=12")
    nb("qos-add", "sw0", "to-lport", "100", "ip4 && outport == \"vm2\"", "rate=1000",
       "burst=100")
    # DHCP and DNS.
    d4 = nb("dhcp-options-create", "10.0.0.0/24")
    d4 = nb("--bare", "--columns=_uuid", "find", "DHCP_Options", "cidr=\"10.0.0.0/24\"")
    nb("dhcp-options-set-options", d4, "lease_time=3600", "router=10.0.0.254",
       "server_id=10.0.0.254", "server_mac=00:00:00:00:ff:01", "dns_server={8.8.8.8,8.8.4.4}",
       "domain_name=\"ovn.test\"", "mtu=1442",
       "classless_static_route={30.0.0.0/24,10.0.0.10, 0.0.0.0/0,10.0.0.254}")
    nb("dhcp-options-create", "aef0::/64")
    d6 = nb("--bare", "--columns=_uuid", "find", "DHCP_Options", "cidr=\"aef0::/64\"")
    nb("dhcp-options-set-options", d6, "server_id=00:00:00:00:ff:01",
       "dns_server={aef0::fe}", "domain_search=\"ovn.test\"")
    for p in ("vm1", "vm2", "vm5"):
        nb("lsp-set-dhcpv4-options", p, d4)
        nb("lsp-set-dhcpv6-options", p, d6)
    dns = nb("create", "DNS",
             'records={vm1.ovn.test="10.0.0.1 aef0::1", vm3.ovn.test="10.0.1.3"}')
    nb("add", "Logical_Switch", "sw0", "dns_records", dns)
    nb("add", "Logical_Switch", "sw1", "dns_records", dns)
    # Distributed router with a gateway port, static routes and NAT.
    nb("lr-add", "lr0")
    for sw, mac, nets in (("sw0", "00:00:00:00:ff:01", ["10.0.0.254/24", "aef0::fe/64"]),
                          ("sw1", "00:00:00:00:ff:02", ["10.0.1.254/24", "bef0::fe/64"])):
        nb("lrp-add", "lr0", f"lr0-{sw}", mac, *nets)
        nb("lsp-add", sw, f"{sw}-lr0")
        nb("lsp-set-type", f"{sw}-lr0", "router")
        nb("lsp-set-addresses", f"{sw}-lr0", "router")
        nb("lsp-set-options", f"{sw}-lr0", f"router-port=lr0-{sw}")
    nb("set", "logical_router_port", "lr0-sw0", "ipv6_ra_configs:address_mode=dhcpv6_stateful",
       "ipv6_ra_configs:send_periodic=true", "ipv6_ra_configs:mtu=1400")
    nb("set", "logical_router_port", "lr0-sw1", "ipv6_ra_configs:address_mode=slaac")
    nb("lrp-add", "lr0", "lr0-ext", "00:00:00:00:ff:10", "172.16.0.1/24", "2001:db8::1/64")
    nb("lrp-set-gateway-chassis", "lr0-ext", "ch1", "20")
    nb("lrp-set-gateway-chassis", "lr0-ext", "ch2", "10")
    nb("set", "logical_router_port", "lr0-ext", "options:gateway_mtu=1400")
    nb("lsp-add", "ext", "ext-lr0")
    nb("lsp-set-type", "ext-lr0", "router")
    nb("lsp-set-addresses", "ext-lr0", "router")
    nb("lsp-set-options", "ext-lr0", "router-port=lr0-ext")
    nb("lsp-add", "ext", "ln-ext")
    nb("lsp-set-type", "ln-ext", "localnet")
    nb("lsp-set-addresses", "ln-ext", "unknown")
    nb("lsp-set-options", "ln-ext", "network_name=physnet1")
    nb("lr-route-add", "lr0", "0.0.0.0/0", "172.16.0.254")
    nb("lr-route-add", "lr0", "::/0", "2001:db8::fe")
    nb("lr-route-add", "lr0", "192.168.100.0/24", "10.0.1.100")
    nb("--ecmp-symmetric-reply", "lr-route-add", "lr0", "192.168.200.0/24", "172.16.0.11")
    nb("--ecmp-symmetric-reply", "lr-route-add", "lr0", "192.168.200.0/24", "172.16.0.12")
    nb("--policy=src-ip", "lr-route-add", "lr0", "10.0.1.0/24", "10.0.0.253")
    nb("lr-policy-add", "lr0", "1000", "ip4.src == 10.0.0.5 && ip4.dst == 8.8.8.8", "drop")
    nb("lr-policy-add", "lr0", "900", "ip4.src == 10.0.1.0/24", "reroute", "10.0.0.100")
    nb("lr-policy-add", "lr0", "800", "ip4.src == 10.0.0.0/24", "allow", "pkt_mark=7")
    nb("lr-nat-add", "lr0", "snat", "172.16.0.1", "10.0.0.0/24")
    nb("lr-nat-add", "lr0", "dnat_and_snat", "172.16.0.100", "10.0.0.1", "vm1",
       "00:00:00:00:01:01")
    nb("lr-nat-add", "lr0", "dnat_and_snat", "172.16.0.101", "10.0.1.3")
    nb("lr-nat-add", "lr0", "dnat", "172.16.0.102", "10.0.1.4")
    nb("--portrange", "lr-nat-add", "lr0", "snat", "172.16.0.2", "10.0.1.0/24", "1000-2000")
    nb("lr-nat-add", "lr0", "snat", "2001:db8::1", "aef0::/64")
    # Load balancers on the switch and the router (with health-check-free backends).
    nb("lb-add", "lb-web", "10.0.0.100:80", "10.0.0.1:8080,10.0.0.2:8080", "tcp")
    nb("lb-add", "lb-web", "172.16.0.200:80", "10.0.0.1:8080,10.0.1.3:8080", "tcp")
    nb("lb-add", "lb-udp", "10.0.0.101:53", "10.0.0.5:53", "udp")
    nb("lb-add", "lb-v6", "[aef0::100]:80", "[aef0::1]:8080,[aef0::2]:8080", "tcp")
    nb("lb-add", "lb-noport", "10.0.0.102", "10.0.0.1,10.0.0.2")
    nb("lb-add", "lb-sctp", "10.0.0.103:9000", "10.0.0.5:9000", "sctp")
    nb("set", "load_balancer", "lb-udp", "options:affinity_timeout=60")
    nb("set", "load_balancer", "lb-web", "selection_fields=ip_src,tp_src")
    nb("set", "load_balancer", "lb-noport", "options:hairpin_snat_ip=10.0.0.253")
    nb("create", "Load_Balancer", "name=lb-empty", "protocol=tcp",
       'vips:"10.0.0.104:80"=""')
    for lb in ("lb-web", "lb-udp", "lb-v6", "lb-noport", "lb-sctp", "lb-empty"):
        nb("ls-lb-add", "sw0", lb)
    for lb in ("lb-web", "lb-v6", "lb-udp"):
        nb("lr-lb-add", "lr0", lb)
    nb("ls-lb-add", "sw1", "lb-web")
    # Gateway router with its own NAT and load balancer.
    nb("lr-add", "gw1")
    nb("set", "logical_router", "gw1", "options:chassis=ch1",
       "options:lb_force_snat_ip=router_ip", "options:dynamic_neigh_routers=true")
    nb("lrp-add", "gw1", "gw1-ext", "00:00:00:00:ff:20", "172.16.0.2/24")
    nb("lsp-add", "ext", "ext-gw1")
    nb("lsp-set-type", "ext-gw1", "router")
    nb("lsp-set-addresses", "ext-gw1", "router")
    nb("lsp-set-options", "ext-gw1", "router-port=gw1-ext")
    nb("ls-add", "join")
    nb("lrp-add", "gw1", "gw1-join", "00:00:00:00:ff:21", "100.64.0.1/16")
    nb("lsp-add", "join", "join-gw1")
    nb("lsp-set-type", "join-gw1", "router")
    nb("lsp-set-addresses", "join-gw1", "router")
    nb("lsp-set-options", "join-gw1", "router-port=gw1-join")
    nb("lr-route-add", "gw1", "10.0.0.0/16", "100.64.0.2")
    nb("lr-nat-add", "gw1", "snat", "172.16.0.2", "10.0.0.0/16")
    nb("lr-nat-add", "gw1", "dnat_and_snat", "172.16.0.150", "10.0.0.5")
    nb("lb-add", "lb-gw", "172.16.0.160:8000", "10.0.0.1:80,10.0.0.2:80", "tcp")
    nb("set", "load_balancer", "lb-gw", "options:skip_snat=true")
    nb("lr-lb-add", "gw1", "lb-gw")
    nb("lb-add", "lb-gw2", "172.16.0.161:8000", "10.0.0.1:80", "tcp")
    nb("lr-lb-add", "gw1", "lb-gw2")
    nb("set", "logical_router", "gw1", "options:snat-ct-zone=100")
    # Extras that bring out more actions: egress QoS queues (set_queue), a forwarding
    # group (fwd_group), ARP learning limits (lookup_arp_ip), ECMP symmetric replies on
    # the gateway router (commit_ecmp_nh), BFD (handle_bfd_msg), RARP activation
    # strategy, a rejecting empty load balancer, ACL logging through a meter.
    nb("lsp-set-options", "ln-ext", "network_name=physnet1", "qdisc_queue_id=10")
    nb("lsp-set-options", "vm3", "qdisc_queue_id=11")
    nb("--liveness", "fwd-group-add", "fwd1", "sw1", "10.0.1.99", "00:00:00:00:00:aa", "vm3",
       "vm4")
    nb("set", "logical_router", "lr0", "options:always_learn_from_arp_request=false")
    nb("--ecmp-symmetric-reply", "lr-route-add", "gw1", "192.168.50.0/24", "172.16.0.21")
    nb("--ecmp-symmetric-reply", "lr-route-add", "gw1", "192.168.50.0/24", "172.16.0.22")
    nb("--bfd", "lr-route-add", "lr0", "192.168.60.0/24", "172.16.0.30", "lr0-ext")
    nb("lsp-set-options", "vm4", "requested-chassis=ch1,ch2", "activation-strategy=rarp")
    nb("create", "Load_Balancer", "name=lb-reject", "protocol=tcp", "options:reject=true",
       'vips:"10.0.1.105:80"=""')
    nb("ls-lb-add", "sw1", "lb-reject")
    nb("--type=port-group", "--log", "--meter=acl-meter", "--severity=alert",
       "--name=metered", "acl-add", "pg_web", "to-lport", "1004",
       "outport == @pg_web && tcp.dst == 8443", "allow-related")
    nb("set", "logical_router", "lr0", "options:mcast_relay=true")
    nb("--wait=sb", "sync")


def build_large(ovn: RealOVN, n: int, n_ports: int = 20) -> None:
    """n tenant switches behind one router, n_ports ports each, port groups with ACLs over
    address sets, one load balancer per switch; sized for the bench."""
    cmds: list[list[str]] = [["lr-add", "lr0"]]
    for s in range(n):
        sw = f"ls{s}"
        cmds.append(["ls-add", sw])
        cmds += [["lrp-add", "lr0", f"lr0-{sw}", f"00:00:01:00:{s // 256:02x}:{s % 256:02x}",
                  f"10.{s // 256}.{s % 256}.254/24"],
                 ["lsp-add", sw, f"{sw}-lr0"], ["lsp-set-type", f"{sw}-lr0", "router"],
                 ["lsp-set-addresses", f"{sw}-lr0", "router"],
                 ["lsp-set-options", f"{sw}-lr0", f"router-port=lr0-{sw}"]]
        ports = []
        for p in range(n_ports):
            name = f"{sw}-p{p}"
            mac = f"0a:00:{s // 256:02x}:{s % 256:02x}:00:{p + 1:02x}"
            ip = f"10.{s // 256}.{s % 256}.{p + 1}"
            ports.append(name)
            cmds += [["lsp-add", sw, name], ["lsp-set-addresses", name, f"{mac} {ip}"],
                     ["lsp-set-port-security", name, f"{mac} {ip}"]]
        cmds += [["pg-add", f"pg{s}", *ports]]
        cmds += [["lb-add", f"lb{s}", f"10.{s // 256}.{s % 256}.200:80",
                  f"10.{s // 256}.{s % 256}.1:80,10.{s // 256}.{s % 256}.2:80", "tcp"],
                 ["ls-lb-add", sw, f"lb{s}"]]
        if len(cmds) > 400:
            ovn.nb_batch(cmds)
            cmds = []
    ovn.nb_batch(cmds)
    cmds = []
    for s in range(n):
        addrs = ",".join(f'"10.{(s + 1) % n // 256}.{(s + 1) % n % 256}.{i}"' for i in range(1, 30))
        ovn.nbctl("create", "Address_Set", f"name=as{s}", f"addresses={addrs}")
        for prio, direction, match, action in (
                (1002, "from-lport", f"inport == @pg{s} && ip4", "allow-related"),
                (1003, "to-lport", f"outport == @pg{s} && ip4.src == $as{s} && "
                 "tcp.dst == {22, 80, 443, 8080}", "allow-related"),
                (1002, "to-lport", f"outport == @pg{s} && ip4.src == $pg{s}_ip4", "allow"),
                (1001, "to-lport", f"outport == @pg{s} && ip", "drop")):
            cmds.append(["--type=port-group", "acl-add", f"pg{s}", direction, str(prio),
                         match, action])
        if len(cmds) > 200:
            ovn.nb_batch(cmds)
            cmds = []
    ovn.nb_batch(cmds)
    ovn.nbctl("--wait=sb", "--timeout=600", "sync")


def _rows(dump: dict[str, Any], table: str) -> list[dict[str, Any]]:
    """Turns one table of `ovsdb-client dump -f json` into a list of dicts."""
    for t in dump:
        if t.get("caption", "").endswith(f"{table} table"):
            cols = t["headings"]
            return [dict(zip(cols, row)) for row in t["data"]]
    raise KeyError(table)


def _set(value: Any) -> list[Any]:
    if isinstance(value, list) and value and value[0] == "set":
        return list(value[1])
    if isinstance(value, list) and value and value[0] in ("uuid", "map"):
        return [value]
    return [value]


def _map(value: Any) -> dict[str, Any]:
    return dict(value[1]) if isinstance(value, list) and value and value[0] == "map" else {}


def _uuid(value: Any) -> str:
    return str(value[1])


def dump_sb(ovn: RealOVN) -> dict[str, Any]:
    tables = ["Logical_Flow", "Logical_DP_Group", "Datapath_Binding", "Port_Binding",
              "Multicast_Group", "Address_Set", "Port_Group"]
    # `ovsdb-client dump` takes one table (then columns), so dump them one by one.
    out = "".join(subprocess.run(["ovsdb-client", "dump", "-f", "json",
                                  f"unix:{ovn.dir}/sb.sock", "OVN_Southbound", t],
                                 check=True, capture_output=True, text=True).stdout
                  for t in tables)
    # ovsdb-client prints one JSON object per table, concatenated.
    dec = json.JSONDecoder()
    dump: list[dict[str, Any]] = []
    pos = 0
    while pos < len(out):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        obj, pos = dec.raw_decode(out, pos)
        dump.append(obj)
    dps = {_uuid(r["_uuid"]): r for r in _rows(dump, "Datapath_Binding")}  # type: ignore[arg-type]
    groups = {_uuid(r["_uuid"]): [_uuid(u) for u in _set(r["datapaths"])]
              for r in _rows(dump, "Logical_DP_Group")}  # type: ignore[arg-type]
    datapaths: dict[str, dict[str, Any]] = {}
    for u, r in dps.items():
        ext = _map(r["external_ids"])
        datapaths[u] = {"key": r["tunnel_key"], "name": ext.get("name", u),
                        "kind": "router" if "logical-router" in ext else "switch",
                        "ports": {}, "mcast_groups": {}}
    for r in _rows(dump, "Port_Binding"):  # type: ignore[arg-type]
        dp = datapaths[_uuid(r["datapath"])]
        dp["ports"][r["logical_port"]] = r["tunnel_key"]
        dp.setdefault("port_types", {})[r["logical_port"]] = r["type"]
    for r in _rows(dump, "Multicast_Group"):  # type: ignore[arg-type]
        datapaths[_uuid(r["datapath"])]["mcast_groups"][r["name"]] = r["tunnel_key"]
    flows = []
    for r in _rows(dump, "Logical_Flow"):  # type: ignore[arg-type]
        ld = _set(r["logical_datapath"])
        dg = _set(r["logical_dp_group"])
        if ld and ld[0] != ["set", []] and isinstance(ld[0], list) and ld[0][0] == "uuid":
            members = [_uuid(ld[0])]
        else:
            members = groups[_uuid(dg[0])]
        flow = {"pipeline": r["pipeline"], "table": r["table_id"],
                "priority": r["priority"], "match": r["match"], "actions": r["actions"],
                "stage": _map(r["external_ids"]).get("stage-name", ""),
                "uuid": _uuid(r["_uuid"]),
                "datapaths": sorted(datapaths[m]["key"] for m in members)}
        # ovn-controller skips a flow tagged with a port that is not local to it.
        io_port = _map(r["tags"]).get("in_out_port")
        if io_port:
            flow["in_out_port"] = io_port
        meter = _set(r["controller_meter"])
        if meter and isinstance(meter[0], str):
            flow["controller_meter"] = meter[0]
        flows.append(flow)
    flows.sort(key=lambda f: (f["pipeline"], f["table"], -f["priority"], f["match"],
                              f["actions"], f["datapaths"]))
    address_sets = {r["name"]: sorted(str(a) for a in _set(r["addresses"]))
                    for r in _rows(dump, "Address_Set")}  # type: ignore[arg-type]
    port_groups = {r["name"]: sorted(str(p) for p in _set(r["ports"]))
                   for r in _rows(dump, "Port_Group")}  # type: ignore[arg-type]
    return {"ovn_version": subprocess.run(["ovn-northd", "--version"], capture_output=True,
                                          text=True).stdout.splitlines()[0],
            "datapaths": sorted(datapaths.values(), key=lambda d: d["key"]),
            "address_sets": address_sets, "port_groups": port_groups, "flows": flows}


def switch_ports(ovn: RealOVN) -> list[str]:
    """Every VIF-like logical switch port (bound on the chassis so that it computes the
    flows of every datapath)."""
    out = ovn.nbctl("--bare", "--columns=name,type", "list", "Logical_Switch_Port")
    names = []
    for block in out.split("\n\n"):
        lines = [x.strip() for x in block.strip().splitlines()]
        if lines and (len(lines) < 2 or lines[1] in ("", "virtual")):
            names.append(lines[0])
    return names


def claimed_ports(ovn: RealOVN) -> list[str]:
    """Logical ports some chassis has claimed (Port_Binding.chassis set)."""
    out = subprocess.run(["ovn-sbctl", f"--db=unix:{ovn.dir}/sb.sock", "--bare",
                          "--columns=logical_port,chassis", "list", "Port_Binding"],
                         check=True, capture_output=True, text=True).stdout
    names = []
    for block in out.split("\n\n"):
        lines = [x.strip() for x in block.strip().splitlines()]
        if len(lines) == 2 and lines[1]:
            names.append(lines[0])
    return sorted(names)


def run(kind: str, n: int = 50, n_ports: int = 20, chassis: bool = True) -> dict[str, Any]:
    """Builds the topology, optionally runs a real chassis (so northd sees its features
    and the real ovn-controller's flows can be recorded), and dumps everything."""
    ovn = RealOVN()
    ch: RealChassis | None = None
    try:
        ovn.start()
        if kind == "rich":
            build_rich(ovn)
        else:
            build_large(ovn, n, n_ports)
        real: dict[str, Any] = {}
        if chassis:
            ch = RealChassis(f"{ovn.dir}/sb.sock")
            bound = switch_ports(ovn)
            ch.start(bound)
            ch.wait_stable()
            ovn.nbctl("--wait=sb", "sync")
            ch.wait_stable()
            real = {"flows": ch.dump("dump-flows"), "groups": ch.dump("dump-groups"),
                    "bound_ports": claimed_ports(ovn), "chassis": ch.name}
        data = dump_sb(ovn)
        if real:
            data["real_controller"] = real
        return data
    finally:
        if ch is not None:
            ch.stop()
        ovn.stop()


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) < 2 or args[0] not in ("rich", "large"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path = args[0], args[1]
    n = int(args[2]) if len(args) > 2 else 50
    n_ports = int(args[3]) if len(args) > 3 else 20
    data = run(kind, n, n_ports, chassis="--no-chassis" not in argv)
    blob = json.dumps(data, indent=0, sort_keys=True).encode()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:  # type: ignore[operator]
        f.write(blob)
    print(f"{len(data['flows'])} logical flows -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
