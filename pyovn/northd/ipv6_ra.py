"""The Port_Binding options that tell ovn-controller to send periodic IPv6 router
advertisements (ovn-northd's ovn_update_ipv6_options / copy_ra_to_sb): for a router port
joined to a switch (not to another router) whose ipv6_ra_configs has a valid address_mode
and send_periodic=true."""

from __future__ import annotations

from pyovn.northd.addresses import mac_to_lla
from pyovn.northd.model import RouterPort
from pyovn.northd.nb import opt

ADDRESS_MODES = ("slaac", "dhcpv6_stateful", "dhcpv6_stateless")
MAX_INTERVAL_DEFAULT = 600
MAX_INTERVAL_MAX = 1800
MAX_INTERVAL_MIN = 4
MIN_INTERVAL_MIN = 3
MTU_MIN = 1280  # RFC 2460


def _int(configs: dict[str, str], key: str, default: int) -> int:
    """smap_get_int(): the default when missing or not an integer."""
    try:
        return int(configs.get(key, ""))
    except ValueError:
        return default


def ra_options(p: RouterPort) -> dict[str, str]:
    """The ipv6_ra_* options of the port's Port_Binding; empty when it does not advertise."""
    configs: dict[str, str] = dict(p.row.get("ipv6_ra_configs") or {})
    if opt(p.row, "peer") or p.peer is None:
        return {}
    mode = configs.get("address_mode")
    if mode not in ADDRESS_MODES or configs.get("send_periodic", "").lower() != "true":
        return {}
    out = {"ipv6_ra_send_periodic": "true", "ipv6_ra_address_mode": mode}
    max_i = min(max(_int(configs, "max_interval", MAX_INTERVAL_DEFAULT), MAX_INTERVAL_MIN),
                MAX_INTERVAL_MAX)
    out["ipv6_ra_max_interval"] = str(max_i)
    min_default = max_i // 3 if max_i >= 9 else max_i * 3 // 4
    min_i = max(min(_int(configs, "min_interval", min_default), max_i * 3 // 4),
                MIN_INTERVAL_MIN)
    out["ipv6_ra_min_interval"] = str(min_i)
    mtu = _int(configs, "mtu", 0)
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
