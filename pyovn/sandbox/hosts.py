"""Hosts on the sandbox's networks, and the traffic between them.

A VM is a namespace whose interface is a veth into its chassis' br-int, carrying
``external_ids:iface-id`` (the logical port).  A VM that hosts containers gets, like a real VM
running its own switch, a small OVS bridge on its chassis: the VM's interface untagged, each
container's interface tagged with its VLAN, and a trunk into br-int (this needs no 8021q kernel
module).  An external host sits on the physical network ``phys`` that the chassis' localnet
bridges share.

Addresses are static or come from the logical switch's DHCP through a real DHCP client
(busybox ``udhcpc``) in the namespace.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

from . import probe
from .proc import SandboxError, run, start_daemon, stop_daemons
from .sandbox import Sandbox, link_exists, ns_exists
from .state import Host

UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc calls this on DHCP events; it configures only the namespace it runs in.
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi ;;
esac
exit 0
"""


def dhcp_client() -> list[str] | None:
    if shutil.which("udhcpc"):
        return ["udhcpc"]
    if shutil.which("busybox"):
        return ["busybox", "udhcpc"]
    return None


class Hosts:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.st = sb.state

    def _next(self) -> int:
        self.st.counter += 1
        self.st.save()
        return self.st.counter

    def _new(self, name: str, kind: str, chassis: int | None) -> tuple[Host, int]:
        if any(h.name == name for h in self.st.hosts):
            raise SandboxError(name, "a host of that name exists already")
        k = self._next()
        h = Host(name=name, kind=kind, netns=self.st.ns(name), iface=self.st.link(f"e{k}"),
                 ip=None, chassis=chassis)
        self.st.hosts.append(h)
        self.st.save()
        self.sb.add_ns(name)
        return h, k

    def _configure(self, h: Host, mac: str, ip: str | None, gw: str | None) -> None:
        run(["ip", "link", "set", h.iface, "address", mac], netns=h.netns, component=h.name)
        # The userspace datapath sees veth packets before the kernel fills in TCP/UDP
        # checksums: without this, conntrack calls them invalid and stateful ACLs drop them.
        run(["ethtool", "-K", h.iface, "tx", "off"], netns=h.netns, component=h.name,
            check=False)
        if ip and ip != "dhcp":
            run(["ip", "addr", "add", ip, "dev", h.iface], netns=h.netns, component=h.name)
            h.ip = ip.split("/")[0]
            if gw:
                run(["ip", "route", "add", "default", "via", gw], netns=h.netns,
                    component=h.name)
        self.st.save()

    def add_vm(self, name: str, chassis: int, port: str, mac: str, ip: str | None,
               gw: str | None = None, trunk: bool = False) -> Host:
        if not 1 <= chassis <= self.st.chassis:
            raise SandboxError(name, f"no chassis hv{chassis} (sandbox has {self.st.chassis})")
        h, k = self._new(name, "vm", chassis)
        hv_ns = self.st.ns(f"hv{chassis}")
        vif = self.st.link(f"p{k}")
        self.sb.veth(h.iface, h.netns, vif, hv_ns, name)
        if trunk:
            br, t_int, t_br = self.st.link(f"w{k}"), self.st.link(f"t{k}"), self.st.link(f"r{k}")
            self.sb.veth(t_int, hv_ns, t_br, hv_ns, name)
            h.ovs_bridges.append((chassis, br))
            self.sb.vsctl(chassis, "add-br", br, "--", "set", "bridge", br,
                          "datapath_type=netdev", "--", "add-port", br, t_br, "--",
                          "add-port", br, vif)
            h.ovs_ports.append((chassis, t_int))
            self.sb.vsctl(chassis, "add-port", "br-int", t_int, "--", "set", "interface",
                          t_int, f"external_ids:iface-id={port}")
        else:
            h.ovs_ports.append((chassis, vif))
            self.sb.vsctl(chassis, "add-port", "br-int", vif, "--", "set", "interface", vif,
                          f"external_ids:iface-id={port}")
        self._configure(h, mac, ip, gw)
        return h

    def add_container(self, name: str, vm: str, tag: int, mac: str, ip: str | None,
                      gw: str | None = None) -> Host:
        parent = self.st.host(vm)
        if not parent.ovs_bridges:
            raise SandboxError(name, f"VM {vm} was not made to host containers")
        chassis, br = parent.ovs_bridges[0]
        h, k = self._new(name, "container", chassis)
        vif = self.st.link(f"p{k}")
        self.sb.veth(h.iface, h.netns, vif, self.st.ns(f"hv{chassis}"), name)
        self.sb.vsctl(chassis, "add-port", br, vif, "--", "set", "port", vif, f"tag={tag}")
        self._configure(h, mac, ip, gw)
        return h

    def add_external(self, name: str, mac: str, ip: str, gw: str | None = None) -> Host:
        h, k = self._new(name, "external", None)
        self.sb.veth(h.iface, h.netns, self.st.link(f"p{k}"), self.st.ns("net"), name)
        run(["ip", "link", "set", self.st.link(f"p{k}"), "master", "phys"],
            netns=self.st.ns("net"), component=name)
        self._configure(h, mac, ip, gw)
        return h

    def dhcp(self, name: str, timeout: float = 20.0) -> str:
        """Get ``name``'s address from DHCP with a real client; returns the address."""
        h = self.st.host(name)
        client = dhcp_client()
        if client is None:
            raise SandboxError(name, "no DHCP client: install busybox (udhcpc)")
        script = os.path.join(self.st.dir, "udhcpc.script")
        if not os.path.exists(script):
            with open(script, "w") as f:
                f.write(UDHCPC_SCRIPT)
            os.chmod(script, 0o755)
        log = os.path.join(self.st.dir, f"dhcp-{name}.log")
        deadline = time.monotonic() + timeout
        while True:
            r = run([*client, "-f", "-q", "-n", "-t", "3", "-T", "1", "-i", h.iface,
                     "-s", script], netns=h.netns, check=False, component=name,
                    timeout=timeout + 10)
            with open(log, "a") as f:
                f.write(r.stdout + r.stderr)
            addr = self.address(h)
            if r.returncode == 0 and addr:
                h.ip = addr
                self.st.save()
                return addr
            if time.monotonic() > deadline:
                raise SandboxError(name, "got no DHCP lease", log)

    def address(self, h: Host) -> str | None:
        r = run(["ip", "-4", "-o", "addr", "show", "dev", h.iface], netns=h.netns,
                check=False)
        parts = r.stdout.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
        return None

    def listen(self, name: str, tcp: list[int], udp: list[int]) -> None:
        h = self.st.host(name)
        ready = os.path.join(self.st.dir, f"probe-{name}.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        argv = [sys.executable, probe.__file__, "serve", ready]
        if tcp:
            argv += ["--tcp", ",".join(map(str, sorted(set(tcp))))]
        if udp:
            argv += ["--udp", ",".join(map(str, sorted(set(udp))))]
        out = os.path.join(self.st.dir, f"probe-{name}.out")
        h.listener = start_daemon(f"{name} probe", argv, log=out, out=out, netns=h.netns)
        self.st.save()
        deadline = time.monotonic() + 15
        while not os.path.exists(ready):
            if not h.listener.alive() or time.monotonic() > deadline:
                h.listener.reap()
                raise h.listener.failure("probe listener did not start")
            time.sleep(0.02)

    def check(self, src: str, dst_ip: str, proto: str, port: int | None = None,
              timeout: float = 1.5) -> bool:
        """One attempt: does ``proto`` from ``src`` reach ``dst_ip``?"""
        h = self.st.host(src)
        if proto == "ping":
            argv = ["ping", "-c", "1", "-W", str(max(1, round(timeout))), dst_ip]
        else:
            argv = [sys.executable, probe.__file__, "connect", proto, dst_ip, str(port),
                    "--timeout", str(timeout)]
        try:
            r = run(argv, netns=h.netns, check=False, timeout=timeout + 10, component=src)
        except SandboxError:
            return False
        return r.returncode == 0

    def remove(self, name: str) -> None:
        h = self.st.host(name)
        if h.listener is not None:
            stop_daemons([h.listener])
        for chassis, port in h.ovs_ports:
            self.sb.vsctl(chassis, "--if-exists", "del-port", port, check=False)
        for chassis, br in h.ovs_bridges:
            self.sb.vsctl(chassis, "--if-exists", "del-br", br, check=False)
        if ns_exists(h.netns):
            run(["ip", "netns", "del", h.netns], check=False)
        if h.netns in self.st.namespaces:
            self.st.namespaces.remove(h.netns)
        # Its veths went with the namespaces; keep only links that somehow still show.
        self.st.root_links = [x for x in self.st.root_links if link_exists(x)]
        self.st.hosts.remove(h)
        self.st.save()

    def remove_all(self) -> None:
        # Containers first: their ports hang off their VM's bridge.
        order = {"container": 0, "external": 1, "vm": 2}
        for h in sorted(self.st.hosts, key=lambda x: order[x.kind]):
            self.remove(h.name)

