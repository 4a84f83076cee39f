"""Periodic IPv6 router advertisements (pinctrl_ra): the configuration read from Port_Binding
options, the exact frame (byte for byte as the real ovn-controller 23.03 sent it in a
sandbox, captured in a VM's namespace), the packet-out, the random min..max schedule, which
router ports advertise, and options full of garbage."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.controller import model as M
from pyovn.controller import pinctrl_ra as R
from pyovn.controller.binding import compute_bindings
from pyovn.logical.nd_ra import dnssl_option, min_interval_default
from tests.controller.test_pinctrl_garp import FakeConn
from tests.controller.topo import uid

# What real northd 23.03 wrote for lr0-sw0 with ipv6_ra_configs send_periodic=true,
# address_mode=slaac, max_interval=4, min_interval=3, mtu=1400, rdnss=fd00::53,
# dnssl="a.example.com,b.org", route_info="HIGH-fd01::/48,LOW-fd02::/96",
# router_preference=LOW, networks 10.0.0.254/24 and fd00:10::1/64.
REAL_OPTIONS = {
    "ipv6_ra_address_mode": "slaac", "ipv6_ra_dnssl": "a.example.com,b.org",
    "ipv6_ra_max_interval": "4", "ipv6_ra_min_interval": "3", "ipv6_ra_mtu": "1400",
    "ipv6_ra_prefixes": "fd00:10::/64", "ipv6_ra_prf": "LOW", "ipv6_ra_rdnss": "fd00::53",
    "ipv6_ra_route_info": "HIGH-fd01::/48,LOW-fd02::/96", "ipv6_ra_send_periodic": "true",
    "ipv6_ra_src_addr": "fe80::200:ff:fe00:ff01", "ipv6_ra_src_eth": "00:00:00:00:ff:01",
    "peer": "sw0-lr0"}
# ... and what the real ovn-controller sent from it, every 3-4 s, to vm1 on sw0.
REAL_RA = bytes.fromhex(
    "33330000000100000000ff0186dd6000000000a03afffe80000000000000020000fffe00ff01ff02"
    "000000000000000000000000000186003b69ff18ffff0000000000000000010100000000ff0105010000"
    "00000578030440c0ffffffffffffffff00000000fd00001000000000000000000000000019030000ffff"
    "fffffd0000000000000000000000000000531f040000ffffffff0161076578616d706c6503636f6d0001"
    "62036f726700000018023008fffffffffd0100000000000018036018fffffffffd02000000000000000000"
    "0000000000")


def test_the_frame_is_the_real_controllers() -> None:
    cfg = R.ra_config(REAL_OPTIONS)
    assert cfg is not None
    assert R.ra_packet(cfg) == REAL_RA


def test_minimal_configuration() -> None:
    cfg = R.ra_config({"ipv6_ra_address_mode": "dhcpv6_stateful",
                       "ipv6_ra_src_eth": "0a:00:00:00:00:01", "ipv6_ra_src_addr": "fe80::1"})
    assert cfg is not None
    assert (cfg.max_interval, cfg.min_interval, cfg.mtu) == (600, 200, 0)
    pkt = R.ra_packet(cfg)
    # RA header with the M flag, then only the source link-layer address option.
    assert pkt[54:56] == bytes([134, 0]) and pkt[58] == 255 and pkt[59] == R.FLAG_MANAGED
    assert pkt[70:] == bytes([1, 1]) + bytes.fromhex("0a0000000001")
    assert int.from_bytes(pkt[18:20], "big") == len(pkt) - 54


def test_address_modes_and_preferences() -> None:
    base = {"ipv6_ra_src_eth": "0a:00:00:00:00:01", "ipv6_ra_src_addr": "fe80::1",
            "ipv6_ra_prefixes": "fd00::/64"}
    want = {"slaac": (0, 0xC0), "dhcpv6_stateless": (0x40, 0xC0),
            "dhcpv6_stateful": (0x80, 0x80)}
    for mode, (mo, la) in want.items():
        cfg = R.ra_config({**base, "ipv6_ra_address_mode": mode, "ipv6_ra_prf": "HIGH"})
        assert cfg is not None and (cfg.mo_flags, cfg.la_flags) == (mo | 0x08, la)
    cfg = R.ra_config({**base, "ipv6_ra_address_mode": "slaac", "ipv6_ra_prf": "MEDIUM"})
    assert cfg is not None and cfg.mo_flags == 0
    assert min_interval_default(9) == 3 and min_interval_default(4) == 3
    assert min_interval_default(600) == 200


@pytest.mark.parametrize("bad", [
    {"ipv6_ra_address_mode": None},
    {"ipv6_ra_address_mode": "stateful"},
    {"ipv6_ra_src_eth": "00:00:00:00:ff"},
    {"ipv6_ra_src_eth": None},
    {"ipv6_ra_src_addr": "10.0.0.1"},
    {"ipv6_ra_src_addr": None},
    {"ipv6_ra_rdnss": "not-an-address"},
    {"ipv6_ra_prefixes": "garbage"},
])
def test_options_that_make_no_configuration_are_skipped(bad: dict[str, Any]) -> None:
    opts = {k: v for k, v in {**REAL_OPTIONS, **bad}.items() if v is not None}
    assert R.ra_config(opts) is None


def test_numbers_that_do_not_parse_take_the_defaults() -> None:
    cfg = R.ra_config({**REAL_OPTIONS, "ipv6_ra_max_interval": "x", "ipv6_ra_mtu": "1e3",
                       "ipv6_ra_min_interval": ""})
    assert cfg is not None and (cfg.max_interval, cfg.min_interval, cfg.mtu) == (600, 200, 0)


def test_overlong_search_list_is_left_out_not_cut_short() -> None:
    cfg = R.ra_config({**REAL_OPTIONS, "ipv6_ra_dnssl": ",".join(["x" * 60] * 5)})
    assert cfg is not None
    assert dnssl_option(cfg.dnssl) == b""
    assert R.ra_packet(cfg) == R.ra_packet(replace(cfg, dnssl=""))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(REAL_OPTIONS)), st.text(max_size=300)))
def test_hostile_options_never_raise(junk: dict[str, str]) -> None:
    cfg = R.ra_config({**REAL_OPTIONS, **junk})
    if cfg is not None:
        pkt = R.ra_packet(cfg)
        assert int.from_bytes(pkt[18:20], "big") == len(pkt) - 54


def test_packet_out_injects_into_the_switch_local_only() -> None:
    cfg = R.ra_config(REAL_OPTIONS)
    assert cfg is not None
    msg = R.Advertisement("lr0-sw0", cfg, 1, 3).packet_out(0x42)
    assert msg.endswith(REAL_RA)
    if shutil.which("ovs-ofctl") is None:
        pytest.skip("no ovs-ofctl")
    out = subprocess.run(["ovs-ofctl", "ofp-parse", "-"], input=msg, capture_output=True,
                         timeout=30, check=True).stdout.decode()
    assert ("OFPT_PACKET_OUT (OF1.5) (xid=0x42): in_port=CONTROLLER actions=set_field:0x1->"
            "metadata,set_field:0x3->reg14,set_field:0x10/0x10->reg10,resubmit(CONTROLLER,8) "
            f"data_len={len(REAL_RA)}") in out, out


# --- which ports, when -----------------------------------------------------------------------


def topology(options: dict[str, str] | None = None) -> tuple[M.LocalState, M.SbState]:
    """sw0 (key 1) with vm1 here, joined to router lr0 (key 2) by lr0-sw0 / sw0-lr0; sw9
    (key 3) elsewhere, joined to lr9 (key 4) the same way."""
    sb = M.SbState()
    for name, key, sw in (("sw0", 1, True), ("lr0", 2, False), ("sw9", 3, True),
                          ("lr9", 4, False)):
        sb.datapaths[uid(name)] = M.Datapath(uid(name), key, sw, name)
    ports = [
        M.PortBinding(uid("vm1"), "vm1", uid("sw0"), 1, chassis="hv1"),
        M.PortBinding(uid("sw0-lr0"), "sw0-lr0", uid("sw0"), 3, type="patch",
                      options={"peer": "lr0-sw0"}),
        M.PortBinding(uid("lr0-sw0"), "lr0-sw0", uid("lr0"), 1, type="patch",
                      options=options if options is not None else REAL_OPTIONS),
        M.PortBinding(uid("vm9"), "vm9", uid("sw9"), 1, chassis="hv9"),
        M.PortBinding(uid("sw9-lr9"), "sw9-lr9", uid("sw9"), 2, type="patch",
                      options={"peer": "lr9-sw9"}),
        M.PortBinding(uid("lr9-sw9"), "lr9-sw9", uid("lr9"), 1, type="patch",
                      options={**REAL_OPTIONS, "peer": "sw9-lr9"}),
    ]
    sb.ports = {p.uuid: p for p in ports}
    local = M.LocalState("hv1", "geneve", ("172.31.0.1",), {})
    local.interfaces["tap-vm1"] = M.Interface("tap-vm1", 10, "vm1")
    return local, sb


def test_only_local_routers_advertise_into_their_peer() -> None:
    local, sb = topology()
    got = R.wanted_advertisements(sb, compute_bindings(local, sb))
    assert list(got) == ["lr0-sw0"]  # lr9 is not local here
    assert (got["lr0-sw0"].dp_key, got["lr0-sw0"].port_key) == (1, 3)
    for broken in ({**REAL_OPTIONS, "peer": "nobody"}, {**REAL_OPTIONS, "peer": ""},
                   {**REAL_OPTIONS, "ipv6_ra_send_periodic": "false"},
                   {**REAL_OPTIONS, "ipv6_ra_address_mode": "bogus"}):
        local, sb = topology(broken)
        assert R.wanted_advertisements(sb, compute_bindings(local, sb)) == {}


def _ad(min_i: int = 3, max_i: int = 4) -> R.Advertisement:
    cfg = R.ra_config({**REAL_OPTIONS, "ipv6_ra_min_interval": str(min_i),
                       "ipv6_ra_max_interval": str(max_i)})
    assert cfg is not None
    return R.Advertisement("lr0-sw0", cfg, 1, 3)


def test_schedule_is_min_plus_a_random_part_of_the_span() -> None:
    draws: list[int] = []

    def rng(n: int) -> int:
        draws.append(n)
        return n // 2

    s = R.RaScheduler(rng)
    assert s.update({"lr0-sw0": _ad()}, 100.0)
    assert s.next_time() == 103.5 and draws == [1000]  # 3 s + 500 of 1000 ms
    assert s.due(103.4) == [] and [a.name for a in s.due(103.5)] == ["lr0-sw0"]
    assert s.next_time() == 107.0
    assert not s.update({"lr0-sw0": _ad()}, 104.0)  # same intervals: schedule kept
    assert s.next_time() == 107.0
    assert s.update({"lr0-sw0": _ad(10, 20)}, 104.0)  # new intervals: rescheduled
    assert s.next_time() == 104.0 + 10 + 5
    s.update({}, 105.0)
    assert s.next_time() is None and s.entries == {}


def test_equal_intervals_need_no_randomness() -> None:
    s = R.RaScheduler(lambda n: 1 // 0 if n == 0 else 0)  # would fail if asked for 0
    s.update({"lr0-sw0": _ad(4, 4)}, 0.0)
    assert s.next_time() == 4.0


def test_announcer_sends_when_due() -> None:
    async def go() -> None:
        clock = [50.0]
        a = R.RaAnnouncer(clock=lambda: clock[0], rng=lambda n: 0)
        local, sb = topology()
        conn = FakeConn()
        a.refresh(sb, compute_bindings(local, sb), conn)  # type: ignore[arg-type]
        await a._send_due()
        assert conn.sent == []
        clock[0] += 3.0
        await a._send_due()
        assert len(conn.sent) == 1 and conn.sent[0].endswith(REAL_RA) and a.sent == 1
        a.close()
        assert a._task is None

    asyncio.run(go())
