"""IPv6 router advertisements of router ports joined to a switch (not to another router)
whose ipv6_ra_configs has a valid address_mode (ovn-northd's
build_ND_RA_flows_for_lrouter_port): the flows that answer a router solicitation with
put_nd_ra_opts (lr_in_nd_ra_options, lr_in_nd_ra_response), and, with send_periodic=true,
the Port_Binding options that tell ovn-controller to advertise on its own (copy_ra_to_sb).
Checked against the real ovn-northd 23.03 (tests/northd/test_ipv6_ra.py)."""

from __future__ import annotations

from pyovn.logical.nd_ra import MAX_INTERVAL_DEFAULT, min_interval_default, smap_int
from pyovn.northd.addresses import mac_to_lla
from pyovn.northd.model import Router, RouterPort
from pyovn.northd.nb import opt
from pyovn.northd.stages import FlowSink, Stage

ADDRESS_MODES = ("slaac", "dhcpv6_stateful", "dhcpv6_stateless")
MAX_INTERVAL_MAX = 1800
MAX_INTERVAL_MIN = 4
MIN_INTERVAL_MIN = 3
MTU_MIN = 1280  # RFC 2460


def _configs(p: RouterPort) -> tuple[dict[str, str], str] | None:
    """The port's ipv6_ra_configs and address mode, if it advertises at all."""
    configs: dict[str, str] = dict(p.row.get("ipv6_ra_configs") or {})
    if opt(p.row, "peer") or p.peer is None:
        return None
    mode = configs.get("address_mode")
    return (configs, mode) if mode in ADDRESS_MODES else None


def build_nd_ra(r: Router, f: FlowSink) -> None:
    """A router solicitation to ff02::2 on a port with at least one prefix to announce is
    answered with the advertisement put_nd_ra_opts builds, from the port's link-local
    address, back out of the port."""
    for p in r.ports:
        got = _configs(p)
        prefixes = [a.cidr for a in p.networks.ip6 if not a.is_lla]
        if got is None or not prefixes:
            continue
        configs, mode = got
        args = [f'addr_mode = "{mode}"', f"slla = {p.networks.mac}"]
        mtu = smap_int(configs, "mtu", 0)
        if mtu >= MTU_MIN:
            args.append(f"mtu = {mtu}")
        prf = configs.get("router_preference", "MEDIUM")
        if prf != "MEDIUM":
            args.append(f'router_preference = "{prf}"')
        if "rdnss" in configs:
            args.append(f"rdnss = {configs['rdnss']}")
        for key in ("dnssl", "route_info"):
            if key in configs:
                args.append(f'{key} = "{configs[key]}"')
        args += [f"prefix = {c}" for c in prefixes]
        port = f'inport == "{p.name}" && ip6.dst == ff02::2'
        f.add(Stage.LR_IN_ND_RA_OPTIONS, 50, f"{port} && nd_rs",
              f"reg0[5] = put_nd_ra_opts({', '.join(args)}); next;")
        f.add(Stage.LR_IN_ND_RA_RESPONSE, 50, f"{port} && nd_ra && reg0[5]",
              f"eth.dst = eth.src; eth.src = {p.networks.mac}; ip6.dst = ip6.src; "
              f"ip6.src = {mac_to_lla(p.networks.mac).addr}; outport = inport; "
              "flags.loopback = 1; output;")


def ra_options(p: RouterPort) -> dict[str, str]:
    """The ipv6_ra_* options of the port's Port_Binding; empty when it does not advertise
    periodically."""
    got = _configs(p)
    if got is None:
        return {}
    configs, mode = got
    if configs.get("send_periodic", "").lower() != "true":
        return {}
    out = {"ipv6_ra_send_periodic": "true", "ipv6_ra_address_mode": mode}
    max_i = min(max(smap_int(configs, "max_interval", MAX_INTERVAL_DEFAULT), MAX_INTERVAL_MIN),
                MAX_INTERVAL_MAX)
    out["ipv6_ra_max_interval"] = str(max_i)
    min_i = max(min(smap_int(configs, "min_interval", min_interval_default(max_i)), max_i * 3 // 4),
                MIN_INTERVAL_MIN)
    out["ipv6_ra_min_interval"] = str(min_i)
    mtu = smap_int(configs, "mtu", 0)
    if mtu >= MTU_MIN:
        out["ipv6_ra_mtu"] = str(mtu)
    out["ipv6_ra_prefixes"] = " ".join(a.cidr for a in p.networks.ip6 if not a.is_lla)
    for key in ("rdnss", "dnssl"):
        if key in configs:
            out[f"ipv6_ra_{key}"] = configs[key]
    out["ipv6_ra_src_eth"] = p.networks.mac
    out["ipv6_ra_src_addr"] = mac_to_lla(p.networks.mac).addr
    prf = configs.get("router_preference")
    out["ipv6_ra_prf"] = prf if prf in ("HIGH", "LOW") else "MEDIUM"
    if "route_info" in configs:
        out["ipv6_ra_route_info"] = configs["route_info"]
    return out
