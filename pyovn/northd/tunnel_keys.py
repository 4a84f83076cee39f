"""The ranges tunnel keys are allocated from, which depend on the encapsulations in use.

ovn-architecture(7), "Tunnel Encapsulations": Geneve carries a 24-bit datapath key and 15/16
bit port keys.  VXLAN's VNI has only 24 bits for both, so once any chassis registers a VXLAN
encapsulation, ovn-northd allocates datapath keys from 12 bits and port keys from 11 (the
12th bit marks multicast groups on the wire) and advertises the datapath maximum as
options:max_tunid in NB_Global and SB_Global.  Keys handed out before stay as they are;
only new ones come from the smaller range (as the real ovn-northd 23.03 does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyovn.ovsdb.idl import Table

# 2^24 - 1 less the 65535 keys ovn-northd leaves to interconnection (ovn-ic).
MAX_DP_KEY = (1 << 24) - 1 - 65535
MAX_PORT_KEY = (1 << 15) - 1
MAX_DP_VXLAN_KEY = (1 << 12) - 1
MAX_PORT_VXLAN_KEY = (1 << 11) - 1


@dataclass(frozen=True)
class KeyLimits:
    dp: int
    port: int

    @property
    def max_tunid(self) -> str:
        return str(self.dp)


GENEVE_LIMITS = KeyLimits(MAX_DP_KEY, MAX_PORT_KEY)
VXLAN_LIMITS = KeyLimits(MAX_DP_VXLAN_KEY, MAX_PORT_VXLAN_KEY)


def vxlan_mode(tables: Mapping[str, Table]) -> bool:
    """Whether any chassis has a VXLAN encapsulation (SB Chassis.encaps -> Encap.type)."""
    if "Chassis" not in tables or "Encap" not in tables:
        return False
    encaps = tables["Encap"].rows
    for ch in tables["Chassis"].rows.values():
        for u in ch.raw("encaps"):
            e = encaps.get(u)
            if e is not None and e.raw("type") == "vxlan":
                return True
    return False


def key_limits(vxlan: bool) -> KeyLimits:
    return VXLAN_LIMITS if vxlan else GENEVE_LIMITS
