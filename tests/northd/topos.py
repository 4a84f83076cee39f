"""Topologies for comparing pyovn's northd with the real one, as ovn-nbctl commands, and the
battery of packets (ovn-trace microflows) each is probed with.  Addresses are regular so that
the packets can be generated: switch i is 10.0.i.0/24 and fd00:i::/64, VM j on it has MAC
00:00:00:00:0i:0j; router ports end in .254 / ::fe with MAC 00:00:00:00:ff:0i."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Vif:
    name: str
    switch: str
    mac: str
    ip4: str
    ip6: str | None = None
    port_security: bool = False
    dhcp: bool = False


@dataclass
class Topo:
    name: str
    cmds: list[list[str]] = field(default_factory=list)
    vifs: list[Vif] = field(default_factory=list)
    gateways: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    remote_dsts: list[str] = field(default_factory=list)  # behind static routes


def _switch(t: Topo, i: int, n: int, *, v6: bool = False, secure: int = 0,
            dhcp: bool = False) -> str:
    sw = f"sw{i}"
    t.cmds.append(["ls-add", sw])
    for j in range(1, n + 1):
        name = f"vm{i}{j}"
        mac = f"00:00:00:00:{i:02x}:{j:02x}"
        ip4 = f"10.0.{i}.{j}"
        ip6 = f"fd00:{i}::{j}" if v6 else None
        addr = " ".join(x for x in (mac, ip4, ip6) if x)
        t.cmds += [["lsp-add", sw, name], ["lsp-set-addresses", name, addr]]
        if j <= secure:
            t.cmds.append(["lsp-set-port-security", name, addr])
        t.vifs.append(Vif(name, sw, mac, ip4, ip6, j <= secure, dhcp))
    return sw


def _router(t: Topo, lr: str, switches: list[int], v6: bool = False) -> None:
    t.cmds.append(["lr-add", lr])
    for i in switches:
        mac = f"00:00:00:00:ff:{i:02x}"
        nets = [f"10.0.{i}.254/24"] + ([f"fd00:{i}::fe/64"] if v6 else [])
        t.cmds.append(["lrp-add", lr, f"{lr}-sw{i}", mac, *nets])
        sp = f"sw{i}-{lr}"
        t.cmds += [["lsp-add", f"sw{i}", sp], ["lsp-set-type", sp, "router"],
                   ["lsp-set-addresses", sp, "router"],
                   ["lsp-set-options", sp, f"router-port={lr}-sw{i}"]]
        t.gateways[f"sw{i}"] = (mac, f"10.0.{i}.254", f"fd00:{i}::fe" if v6 else None)


def l2() -> Topo:
    t = Topo("l2")
    _switch(t, 1, 4, v6=True, secure=2)
    t.cmds += [["lsp-add", "sw1", "unk"], ["lsp-set-addresses", "unk", "unknown"],
               ["lsp-add", "sw1", "off"],
               ["lsp-set-addresses", "off", "00:00:00:00:01:99 10.0.1.99"],
               ["lsp-set-enabled", "off", "disabled"],
               ["lsp-add", "sw1", "lp"], ["lsp-set-type", "lp", "localport"],
               ["lsp-set-addresses", "lp", "00:00:00:00:01:98 10.0.1.98"],
               ["lsp-add", "sw1", "ctr", "vm11", "42"],
               ["lsp-set-addresses", "ctr", "00:00:00:00:01:97 10.0.1.97"]]
    t.vifs.append(Vif("ctr", "sw1", "00:00:00:00:01:97", "10.0.1.97"))
    return t


def acl() -> Topo:
    t = Topo("acl")
    _switch(t, 1, 4)
    _switch(t, 2, 3)
    t.cmds += [
        ["pg-add", "web", "vm11", "vm12"],
        ["create", "Address_Set", "name=admins", 'addresses="10.0.1.3","10.0.2.1"'],
        ["acl-add", "web", "to-lport", "1002", "outport == @web && ip4 && tcp.dst == 22 && "
         "ip4.src == $admins", "allow-related"],
        ["acl-add", "web", "to-lport", "1001", "outport == @web && ip4 && tcp.dst == 80",
         "allow-related"],
        ["acl-add", "web", "to-lport", "1000", "outport == @web && ip4", "drop"],
        ["acl-add", "web", "from-lport", "1000", "inport == @web && ip4", "allow-related"],
        ["acl-add", "sw1", "from-lport", "900", "udp.dst == 53", "reject"],
        ["acl-add", "sw1", "to-lport", "800", "tcp.dst == 443", "allow-stateless"],
        ["--log", "--name=dropweb", "--severity=warning", "acl-add", "sw2", "to-lport", "700",
         "tcp.dst == 8080", "drop"],
        ["acl-add", "sw2", "from-lport", "600", "icmp4", "allow"],
        ["--label=77", "acl-add", "sw1", "to-lport", "500", "udp", "allow-related"],
    ]
    return t


def routed() -> Topo:
    t = Topo("routed")
    _switch(t, 1, 3, v6=True)
    _switch(t, 2, 3, v6=True)
    _switch(t, 3, 2)
    _router(t, "lr0", [1, 2], v6=True)
    _router(t, "lr1", [3])
    t.cmds += [["lr-route-add", "lr0", "192.168.0.0/16", "10.0.2.3"],
               ["lr-route-add", "lr0", "192.168.7.0/24", "10.0.1.2"],
               ["lr-route-add", "lr0", "0.0.0.0/0", "10.0.1.3"],
               ["lr-route-add", "lr0", "fd01::/64", "fd00:2::2"]]
    t.remote_dsts = ["192.168.1.1", "192.168.7.9", "8.8.8.8"]
    return t


def dhcp() -> Topo:
    t = Topo("dhcp")
    _switch(t, 1, 3, v6=True, dhcp=True)
    _router(t, "lr0", [1], v6=True)
    t.cmds += [
        ["--", "--id=@d", "create", "DHCP_Options", "cidr=10.0.1.0/24",
         'options="lease_time"="3600" "router"="10.0.1.254" "server_id"="10.0.1.254" '
         '"server_mac"="00:00:00:00:ff:01" "dns_server"="{8.8.8.8}"',
         "--", "set", "Logical_Switch_Port", "vm11", "dhcpv4_options=@d",
         "--", "set", "Logical_Switch_Port", "vm12", "dhcpv4_options=@d"],
        ["--", "--id=@d", "create", "DHCP_Options", 'cidr="fd00:1::/64"',
         'options="server_id"="00:00:00:00:ff:01"',
         "--", "set", "Logical_Switch_Port", "vm11", "dhcpv6_options=@d"],
        ["--", "--id=@d", "create", "DNS", 'records={"vm12.ovn"="10.0.1.2"}', "--", "add",
         "Logical_Switch", "sw1", "dns_records", "@d"],
        ["acl-add", "sw1", "to-lport", "100", "ip4", "allow-related"],
    ]
    return t


def provider() -> Topo:
    t = Topo("provider")
    _switch(t, 1, 3)
    t.cmds += [["lsp-add", "sw1", "ln"], ["lsp-set-type", "ln", "localnet"],
               ["lsp-set-addresses", "ln", "unknown"],
               ["lsp-set-options", "ln", "network_name=physnet1"]]
    _switch(t, 2, 2)
    _router(t, "lr0", [1, 2])
    return t


ALL = (l2, acl, routed, dhcp, provider)


def packets(t: Topo) -> list[tuple[str, str, str]]:
    """(datapath, --ct option, microflow) to trace."""
    out: list[tuple[str, str, str]] = []
    bcast = "ff:ff:ff:ff:ff:ff"
    for a in t.vifs:
        src = f'inport == "{a.name}" && eth.src == {a.mac}'
        for b in t.vifs:
            if a is b:
                continue
            if a.switch == b.switch:
                l3 = f"ip4.src == {a.ip4} && ip4.dst == {b.ip4} && ip.ttl == 64"
                out.append((a.switch, "", f"{src} && eth.dst == {b.mac} && {l3} && "
                            "icmp4.type == 8"))
                for port in (22, 80, 443, 8080):
                    for ct in ("new", "est", "est,rpl"):
                        out.append((a.switch, ct, f"{src} && eth.dst == {b.mac} && {l3} && "
                                    f"tcp.dst == {port}"))
                out.append((a.switch, "new", f"{src} && eth.dst == {b.mac} && {l3} && "
                            "udp.dst == 53"))
                out.append((a.switch, "", f"{src} && eth.dst == {bcast} && arp.op == 1 && "
                            f"arp.sha == {a.mac} && arp.spa == {a.ip4} && "
                            f"arp.tha == 00:00:00:00:00:00 && arp.tpa == {b.ip4}"))
                if a.ip6 and b.ip6:
                    low = int(b.ip6.split("::")[1], 16)
                    out.append((a.switch, "", f"{src} && eth.dst == 33:33:ff:00:00:{low:02x} && "
                                f"ip6.src == {a.ip6} && ip6.dst == ff02::1:ff00:{low:x} && "
                                f"nd.target == {b.ip6} && icmp6.type == 135 && "
                                f"icmp6.code == 0 && nd.sll == {a.mac} && ip.ttl == 255"))
            elif a.switch in t.gateways and b.switch in t.gateways:
                gmac = t.gateways[a.switch][0]
                for ttl in (64, 1):
                    out.append((a.switch, "", f"{src} && eth.dst == {gmac} && "
                                f"ip4.src == {a.ip4} && ip4.dst == {b.ip4} && ip.ttl == {ttl} "
                                "&& icmp4.type == 8"))
                if a.ip6 and b.ip6 and t.gateways[a.switch][2]:
                    out.append((a.switch, "", f"{src} && eth.dst == {gmac} && "
                                f"ip6.src == {a.ip6} && ip6.dst == {b.ip6} && ip.ttl == 64 && "
                                "icmp6.type == 128"))
        # Port security: a spoofed source.
        out.append((a.switch, "", f'inport == "{a.name}" && eth.src == 00:00:00:00:aa:aa && '
                    f"eth.dst == {bcast} && ip4.src == {a.ip4} && ip4.dst == 255.255.255.255 "
                    "&& udp.dst == 9"))
        out.append((a.switch, "", f"{src} && eth.dst == {bcast} && ip4.src == 10.9.9.9 && "
                    "ip4.dst == 255.255.255.255 && udp.dst == 9"))
        out.append((a.switch, "", f"{src} && eth.dst == 00:00:00:00:ee:ee && "
                    f"ip4.src == {a.ip4} && ip4.dst == 10.0.0.200 && icmp4.type == 8"))
        if a.dhcp:
            out.append((a.switch, "", f"{src} && eth.dst == {bcast} && ip4.src == 0.0.0.0 && "
                        "ip4.dst == 255.255.255.255 && udp.src == 68 && udp.dst == 67"))
            out.append((a.switch, "", f"{src} && eth.dst == 00:00:00:00:ff:01 && "
                        f"ip4.src == {a.ip4} && ip4.dst == 10.0.1.254 && udp.src == 33 && "
                        "udp.dst == 53"))
            if a.ip6:
                out.append((a.switch, "", f"{src} && eth.dst == 33:33:00:01:00:02 && "
                            "ip6.src == fe80::1 && ip6.dst == ff02::1:2 && udp.src == 546 && "
                            "udp.dst == 547"))
        gw = t.gateways.get(a.switch)
        if gw is not None:
            gmac, gip, gip6 = gw
            out.append((a.switch, "", f"{src} && eth.dst == {gmac} && ip4.src == {a.ip4} && "
                        f"ip4.dst == {gip} && ip.ttl == 64 && icmp4.type == 8"))
            out.append((a.switch, "", f"{src} && eth.dst == {bcast} && arp.op == 1 && "
                        f"arp.sha == {a.mac} && arp.spa == {a.ip4} && "
                        f"arp.tha == 00:00:00:00:00:00 && arp.tpa == {gip}"))
            for dst in t.remote_dsts:
                out.append((a.switch, "", f"{src} && eth.dst == {gmac} && ip4.src == {a.ip4} "
                            f"&& ip4.dst == {dst} && ip.ttl == 64 && icmp4.type == 8"))
            if a.ip6 and gip6:
                out.append((a.switch, "", f"{src} && eth.dst == {gmac} && ip6.src == {a.ip6} "
                            "&& ip6.dst == fd01::9 && ip.ttl == 64 && icmp6.type == 128"))
    return out
