"""The periodic router advertisement options northd puts on a router port's Port_Binding
(ipv6_ra.ra_options), against what the real ovn-northd 23.03 wrote in a sandbox
(tests/controller/test_pinctrl_ra.REAL_OPTIONS, checked on the wire by
tests/sandbox/test_ipv6_ra.py), and its clamps and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.northd.addresses import parse_lrp_networks
from pyovn.northd.ipv6_ra import ra_options
from pyovn.northd.model import RouterPort
from tests.controller.test_pinctrl_ra import REAL_OPTIONS

REAL_CONFIGS = {"send_periodic": "true", "address_mode": "slaac", "max_interval": "4",
                "min_interval": "3", "mtu": "1400", "rdnss": "fd00::53",
                "dnssl": "a.example.com,b.org", "route_info": "HIGH-fd01::/48,LOW-fd02::/96",
                "router_preference": "LOW"}


def port(configs: dict[str, str], peer: str | None = "sw0-lr0",
         networks: tuple[str, ...] = ("10.0.0.254/24", "fd00:10::1/64"),
         row: dict[str, Any] | None = None) -> RouterPort:
    r = {"name": "lr0-sw0", "mac": "00:00:00:00:ff:01", "networks": networks,
         "ipv6_ra_configs": configs, **(row or {})}
    return RouterPort("u", "lr0-sw0", parse_lrp_networks(r["mac"], networks), True, {}, peer,
                      r)


def test_as_the_real_northd() -> None:
    want = {k: v for k, v in REAL_OPTIONS.items() if k != "peer"}
    assert ra_options(port(REAL_CONFIGS)) == want


def test_defaults_and_clamps() -> None:
    base = {"send_periodic": "true", "address_mode": "dhcpv6_stateless"}
    got = ra_options(port(base))
    assert (got["ipv6_ra_max_interval"], got["ipv6_ra_min_interval"]) == ("600", "200")
    assert got["ipv6_ra_prf"] == "MEDIUM" and "ipv6_ra_mtu" not in got
    got = ra_options(port({**base, "max_interval": "1", "min_interval": "100",
                           "mtu": "1000", "router_preference": "bogus"}))
    assert (got["ipv6_ra_max_interval"], got["ipv6_ra_min_interval"]) == ("4", "3")
    assert got["ipv6_ra_prf"] == "MEDIUM" and "ipv6_ra_mtu" not in got
    got = ra_options(port({**base, "max_interval": "99999", "min_interval": "x"}))
    assert (got["ipv6_ra_max_interval"], got["ipv6_ra_min_interval"]) == ("1800", "600")
    # Only link-local: no prefix to announce, the key still written (empty).
    assert ra_options(port(base, networks=("10.0.0.254/24",)))["ipv6_ra_prefixes"] == ""


@pytest.mark.parametrize("configs,peer,row", [
    ({**REAL_CONFIGS, "send_periodic": "false"}, "sw0-lr0", {}),
    ({k: v for k, v in REAL_CONFIGS.items() if k != "send_periodic"}, "sw0-lr0", {}),
    ({**REAL_CONFIGS, "address_mode": "stateless"}, "sw0-lr0", {}),
    ({k: v for k, v in REAL_CONFIGS.items() if k != "address_mode"}, "sw0-lr0", {}),
    (REAL_CONFIGS, None, {}),  # not joined to a switch
    (REAL_CONFIGS, "lr1-lr0", {"peer": ("lr1-lr0",)}),  # joined to a router
    ({}, "sw0-lr0", {}),
])
def test_ports_that_do_not_advertise(configs: dict[str, str], peer: str | None,
                                     row: dict[str, Any]) -> None:
    assert ra_options(port(configs, peer, row=row)) == {}
