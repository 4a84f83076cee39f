"""Parses `ovs-ofctl dump-flows` output into pyovn's canonical match form, so flows of
the real ovn-controller can be compared with pyovn's (tests only)."""

from __future__ import annotations

import ipaddress
import re

from pyovn.logical import ofrep as O

_PROTO = {"ip": (0x800, None), "ipv6": (0x86DD, None), "arp": (0x806, None),
          "rarp": (0x8035, None), "tcp": (0x800, 6), "udp": (0x800, 17), "sctp": (0x800, 132),
          "icmp": (0x800, 1), "tcp6": (0x86DD, 6), "udp6": (0x86DD, 17),
          "sctp6": (0x86DD, 132), "icmp6": (0x86DD, 58), "igmp": (0x800, 2)}
# ovs-ofctl prints nw_frag by meaning, and "later" covers both 3/3 and 2/2 (a later
# fragment is always a fragment): read it back as OVN's ip.later_frag, ip.frag[1].
_FRAG = {"no": (0, 1), "yes": (1, 1), "first": (1, 3), "later": (2, 2), "not_later": (0, 2)}
_RENAME = {"eth_src": "dl_src", "eth_dst": "dl_dst", "eth_type": "dl_type",
           "ip_src": "nw_src", "ip_dst": "nw_dst", "ip_proto": "nw_proto",
           "tun_id": "tun_id", "pkt_mark": "pkt_mark"}


def _num(field: str, text: str) -> int:
    fmt = O.FIELDS.get(field, (0, "hex"))[1]
    if fmt == "mac":
        return int(text.replace(":", ""), 16)
    if fmt in ("ipv4", "ipv6"):
        return int(ipaddress.ip_address(text))
    return int(text, 0)


def _value_mask(field: str, text: str) -> tuple[int, int]:
    width = O.FIELDS[field][0]
    full = (1 << width) - 1
    if "/" not in text:
        return _num(field, text), full
    v, m = text.split("/", 1)
    fmt = O.FIELDS[field][1]
    if fmt in ("ipv4", "ipv6") and m.isdigit():
        plen = int(m)
        return _num(field, v), full ^ ((1 << (width - plen)) - 1)
    return _num(field, v), _num(field, m)


def parse_match(text: str) -> O.Match:
    m = O.Match()
    items = [t for t in text.split(",") if t]
    dl_type = None
    proto = None
    for it in items:
        if it in _PROTO:
            dl_type, proto = _PROTO[it]
    for it in items:
        if it in _PROTO:
            t, p = _PROTO[it]
            m.add("dl_type", t, 0xFFFF)
            if p is not None:
                m.add("nw_proto", p, 0xFF)
            continue
        k, _, v = it.partition("=")
        k = _RENAME.get(k, k)
        if k == "dl_type":
            dl_type = int(v, 0)
        if k == "nw_proto":
            proto = int(v, 0)
    for it in items:
        if it in _PROTO:
            continue
        k, _, v = it.partition("=")
        k = _RENAME.get(k, k)
        if k == "ct_state":
            val = mask = 0
            for sign, name in re.findall(r"([+-])([a-z]+)", v):
                bit = 1 << O.CT_STATE_BITS.index(name)
                mask |= bit
                if sign == "+":
                    val |= bit
            m.add("ct_state", val, mask)
            continue
        if k == "nw_frag":
            fv, fm = _FRAG[v]
            m.add("nw_frag", fv, fm)
            continue
        if k == "nw_tos":
            m.add("ip_dscp", int(v, 0) >> 2, 0x3F)
            continue
        if k in ("tp_src", "tp_dst"):
            k = {6: "tcp", 17: "udp", 132: "sctp"}[proto or 0] + k[2:]
        if k in ("icmp_type", "icmp_code") and dl_type == 0x86DD:
            k = "icmpv6" + k[4:]
        if k == "dl_vlan":
            m.add("vlan_tci", 0x1000 | int(v, 0), 0x1FFF)
            continue
        val, mask = _value_mask(k, v)
        m.add(k, val, mask)
    return m


_LINE = re.compile(r"cookie=(0x[0-9a-f]+),.*?table=(\d+),.*?priority=(\d+),?(\S*) actions=(.*)$")


def parse_dump(text: str) -> list[tuple[int, int, int, O.Match, str]]:
    """(cookie, table, priority, match, actions) for each flow in a dump-flows output."""
    out = []
    for line in text.splitlines():
        mm = _LINE.search(line)
        if not mm:
            continue
        cookie, table, prio, match, actions = mm.groups()
        out.append((int(cookie, 16), int(table), int(prio), parse_match(match), actions))
    return out


# -- actions: rewrite ovs-ofctl action text into the spelling pyovn prints, so that
# equal actions compare equal as strings.

_NESTED_OPCODES = {0, 3, 9, 10, 11, 12, 14, 20, 22, 24}
_SET_RENAME = {"eth_src": "dl_src", "eth_dst": "dl_dst", "ip_src": "nw_src", "ip_dst": "nw_dst"}


def _reg_name(reg: int, lo: int, hi: int) -> str:
    if lo == hi:
        return f"NXM_NX_REG{reg}[{lo}]"
    if (lo, hi) == (0, 31):
        return f"NXM_NX_REG{reg}[]"
    return f"NXM_NX_REG{reg}[{lo}..{hi}]"


def _composite_sub(m: re.Match[str], n_regs: int) -> str:
    n, lo = int(m.group(1)), int(m.group(2))
    hi = int(m.group(3)) if m.group(3) else lo
    if m.group(0).endswith("[]"):
        return m.group(0)
    k = lo // 32
    if hi // 32 != k:
        return m.group(0)
    return _reg_name(n_regs * n + n_regs - 1 - k, lo - 32 * k, hi - 32 * k)


def _composite_set(m: re.Match[str], kind: str) -> str:
    v = int(m.group(1), 0)
    width = 128 if kind == "xxreg" else 64
    mask = int(m.group(2), 0) if m.group(2) else (1 << width) - 1
    return ",".join(f"set_field:{vv}/{mm}->{reg}"
                    for reg, vv, mm in O.split_composite(f"{kind}{m.group(3)}", v, mask))


def _controller(m: re.Match[str]) -> str:
    ud = m.group(1).split(".")
    op = int("".join(ud[:4]), 16)
    body = "" if op in _NESTED_OPCODES else ",ud=" + ".".join(ud)
    return f"controller(op={op}{body}{m.group(3)}"


def canon_actions(a: str) -> str:
    """Canonical text of an action list printed by ovs-ofctl or by pyovn.  Nested
    controller actions are compared by opcode (pyovn keeps them unencoded)."""
    a = a.replace("dec_ttl()", "dec_ttl")
    a = re.sub(r"NXM_NX_XXREG(\d)\[(\d+)(?:\.\.(\d+))?\]", lambda m: _composite_sub(m, 4), a)
    a = re.sub(r"OXM_OF_PKT_REG(\d)\[(\d+)(?:\.\.(\d+))?\]", lambda m: _composite_sub(m, 2), a)
    a = re.sub(r"set_field:(0x[0-9a-f]+|\d+)(?:/(0x[0-9a-f]+))?->xxreg(\d)",
               lambda m: _composite_set(m, "xxreg"), a)
    a = re.sub(r"set_field:(0x[0-9a-f]+|\d+)(?:/(0x[0-9a-f]+))?->xreg(\d)",
               lambda m: _composite_set(m, "xreg"), a)
    a = re.sub(r"controller\(userdata=([0-9a-f.]+)(,nested\(.*?\)\)?)?"
               r"((?:,pause)?(?:,meter_id=\d+)?\))", _controller, a)
    for k, v in _SET_RENAME.items():
        a = a.replace(f"->{k}", f"->{v}")
    a = re.sub(r"set_field:(0x[0-9a-f]+|\d+)->(reg\d+)",
               lambda m: f"set_field:{int(m.group(1), 0)}/{0xFFFFFFFF}->{m.group(2)}", a)
    a = re.sub(r"\b0x[0-9a-f]+\b", lambda m: str(int(m.group(0), 16)), a)
    # Group and meter ids depend on allocation order; their contents are compared
    # separately (groups) or are the same by construction (meters).
    a = re.sub(r"group:\d+", "group", a)
    a = re.sub(r"meter(_id=|:)\d+", r"meter\1N", a)
    return a
