"""Tables 66 and 67 from SB MAC_Binding: get_arp/get_nd resubmit to 66 with the output
port in reg15 and the IP in reg0 (xxreg0 for IPv6) and get the MAC in eth.dst;
lookup_arp/lookup_nd resubmit to 67 with the input port in reg14, the IP, and the MAC in
eth.src, and get MLF_LOOKUP_MAC set when the binding is known."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping

from pyovn.controller.deps import Dep
from pyovn.controller.model import MacBinding, PortBinding, SbState
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S

_F32 = 0xFFFFFFFF
_F64 = (1 << 64) - 1
_F128 = (1 << 128) - 1


def _mac(s: str) -> int:
    return int(s.replace(":", ""), 16)


def binding_key(mb: MacBinding) -> tuple[str, str] | None:
    """(logical port, normalised IP): one binding, whatever rows say it; None for an IP
    that does not parse (such a row is ignored)."""
    try:
        return mb.logical_port, str(ipaddress.ip_address(mb.ip))
    except ValueError:
        return None


def binding_flows(rows: Iterable[MacBinding], sb: SbState, by_name: Mapping[str, PortBinding],
                  local_datapaths: Collection[str], deps: set[Dep]) -> list[O.Flow]:
    """Tables 66 and 67 for one (port, IP), from the rows that state it: two rows for one
    binding (a race between chassis) cannot both be installed; the smallest UUID with a
    valid MAC wins."""
    for mb in sorted(rows, key=lambda m: m.uuid):
        deps.add(("name", mb.logical_port))
        pb = by_name.get(mb.logical_port)
        if pb is None:
            return []
        deps.add(("localdp", pb.datapath))
        deps.add(("dp", pb.datapath))
        dp = sb.datapaths.get(pb.datapath)
        if pb.datapath not in local_datapaths or dp is None:
            return []
        try:
            ip = ipaddress.ip_address(mb.ip)
            mac = _mac(mb.mac)
        except ValueError:
            continue
        cookie = int(mb.uuid[:8], 16)
        get = O.Match({S.LOG_DATAPATH: (dp.key, _F64), S.LOG_OUTPORT: (pb.key, _F32)})
        look = O.Match({S.LOG_DATAPATH: (dp.key, _F64), S.LOG_INPORT: (pb.key, _F32),
                        "dl_src": (mac, (1 << 48) - 1)})
        if ip.version == 4:
            get.add("reg0", int(ip), _F32)
            look.add("reg0", int(ip), _F32)
        else:
            get.add("xxreg0", int(ip), _F128)
            look.add("xxreg0", int(ip), _F128)
        bit = 1 << S.MLF_LOOKUP_MAC_BIT
        return [O.Flow(O.OFTABLE_MAC_BINDING, 100, get,
                       (O.SetField("dl_dst", mac, (1 << 48) - 1),), cookie),
                O.Flow(O.OFTABLE_MAC_LOOKUP, 100, look,
                       (O.SetField(S.LOG_FLAGS, bit, bit),), cookie)]
    return []


def mac_binding_flows(sb: SbState, local_datapaths: Collection[str]) -> list[O.Flow]:
    """Every MAC binding's flows (the reference the incremental core agrees with)."""
    groups: dict[tuple[str, str], list[MacBinding]] = {}
    for mb in sb.mac_bindings.values():
        k = binding_key(mb)
        if k is not None:
            groups.setdefault(k, []).append(mb)
    by_name = sb.port_by_name()
    flows: list[O.Flow] = []
    for k in sorted(groups):
        flows += binding_flows(groups[k], sb, by_name, local_datapaths, set())
    return flows
