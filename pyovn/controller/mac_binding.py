"""Tables 66 and 67 from SB MAC_Binding: get_arp/get_nd resubmit to 66 with the output
port in reg15 and the IP in reg0 (xxreg0 for IPv6) and get the MAC in eth.dst;
lookup_arp/lookup_nd resubmit to 67 with the input port in reg14, the IP, and the MAC in
eth.src, and get MLF_LOOKUP_MAC set when the binding is known."""

from __future__ import annotations

import ipaddress

from pyovn.controller.binding import Bindings
from pyovn.controller.model import SbState
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S

_F32 = 0xFFFFFFFF
_F64 = (1 << 64) - 1
_F128 = (1 << 128) - 1


def _mac(s: str) -> int:
    return int(s.replace(":", ""), 16)


def mac_binding_flows(sb: SbState, b: Bindings) -> list[O.Flow]:
    flows: list[O.Flow] = []
    by_name = sb.port_by_name()
    seen: set[tuple[str, str]] = set()
    for mb in sorted(sb.mac_bindings.values(), key=lambda m: m.uuid):
        pb = by_name.get(mb.logical_port)
        if pb is None or pb.datapath not in b.local_datapaths:
            continue
        dp = sb.datapaths.get(pb.datapath)
        if dp is None:
            continue
        try:
            ip = ipaddress.ip_address(mb.ip)
            mac = _mac(mb.mac)
        except ValueError:
            continue
        if (mb.logical_port, str(ip)) in seen:
            continue  # two rows for one binding (a race between chassis): the first wins
        seen.add((mb.logical_port, str(ip)))
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
        flows.append(O.Flow(O.OFTABLE_MAC_BINDING, 100, get,
                            (O.SetField("dl_dst", mac, (1 << 48) - 1),), cookie))
        bit = 1 << S.MLF_LOOKUP_MAC_BIT
        flows.append(O.Flow(O.OFTABLE_MAC_LOOKUP, 100, look,
                            (O.SetField(S.LOG_FLAGS, bit, bit),), cookie))
    return flows
