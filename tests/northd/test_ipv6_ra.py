"""Router advertisements in northd (ipv6_ra.py): the periodic advertisement options of a
router port's Port_Binding and the flows answering router solicitations, against what the
real ovn-northd 23.03 wrote in a sandbox (tests/controller/test_pinctrl_ra.REAL_OPTIONS and
REAL_RA_FLOWS below; tests/sandbox/test_ipv6_ra.py checks both on the wire), and the clamps
and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.northd.addresses import parse_lrp_networks
from pyovn.northd.ipv6_ra import build_nd_ra, ra_options
from pyovn.northd.model import Router, RouterPort
from pyovn.northd.stages import FlowSink
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


# --- the flows answering router solicitations ------------------------------------------------

# The real ovn-northd 23.03's flows (ovn-sbctl lflow-list lr0) for lr0-sw0 as above plus
# fd00:20::1/80, lr0-sw1 (dhcpv6_stateful, mtu=1000: below 1280, left out) and lr0-sw2
# (dhcpv6_stateless without an IPv6 network: no flows).
REAL_RA_FLOWS = {
    (10, 'inport == "lr0-sw0" && ip6.dst == ff02::2 && nd_rs',
     'reg0[5] = put_nd_ra_opts(addr_mode = "slaac", slla = 00:00:00:00:ff:01, mtu = 1400, '
     'router_preference = "LOW", rdnss = fd00::53, dnssl = "a.example.com,b.org", '
     'route_info = "HIGH-fd01::/48,LOW-fd02::/96", prefix = fd00:10::/64, '
     'prefix = fd00:20::/80); next;'),
    (10, 'inport == "lr0-sw1" && ip6.dst == ff02::2 && nd_rs',
     'reg0[5] = put_nd_ra_opts(addr_mode = "dhcpv6_stateful", slla = 00:00:00:00:ff:02, '
     'prefix = fd00:11::/64); next;'),
    (11, 'inport == "lr0-sw0" && ip6.dst == ff02::2 && nd_ra && reg0[5]',
     'eth.dst = eth.src; eth.src = 00:00:00:00:ff:01; ip6.dst = ip6.src; '
     'ip6.src = fe80::200:ff:fe00:ff01; outport = inport; flags.loopback = 1; output;'),
    (11, 'inport == "lr0-sw1" && ip6.dst == ff02::2 && nd_ra && reg0[5]',
     'eth.dst = eth.src; eth.src = 00:00:00:00:ff:02; ip6.dst = ip6.src; '
     'ip6.src = fe80::200:ff:fe00:ff02; outport = inport; flags.loopback = 1; output;'),
}


def _named(name: str, mac: str, networks: tuple[str, ...], configs: dict[str, str],
           peer: str | None) -> RouterPort:
    r = {"name": name, "mac": mac, "networks": networks, "ipv6_ra_configs": configs}
    return RouterPort(name, name, parse_lrp_networks(mac, networks), True, {}, peer, r)


def test_solicitation_flows_as_the_real_northd() -> None:
    ports = [
        _named("lr0-sw0", "00:00:00:00:ff:01",
               ("10.0.0.254/24", "fd00:10::1/64", "fd00:20::1/80"), REAL_CONFIGS, "sw0-lr0"),
        _named("lr0-sw1", "00:00:00:00:ff:02", ("10.0.1.254/24", "fd00:11::1/64"),
               {"address_mode": "dhcpv6_stateful", "mtu": "1000"}, "sw1-lr0"),
        _named("lr0-sw2", "00:00:00:00:ff:03", ("10.0.2.254/24",),
               {"address_mode": "dhcpv6_stateless"}, "sw2-lr0"),
        _named("lr0-lr1", "00:00:00:00:ff:04", ("fd00:99::1/64",),
               {"address_mode": "slaac"}, None),  # no switch behind it
    ]
    f = FlowSink("lr0")
    build_nd_ra(Router("lr0", "lr0", {}, ports, [], [], {}), f)
    assert {(x.table, x.match, x.actions) for x in f.flows} == REAL_RA_FLOWS
    assert {x.priority for x in f.flows} == {50}
