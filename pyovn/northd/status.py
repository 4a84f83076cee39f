"""Status that flows back north (ovn-architecture(7), "Information Flow"): which NB
Logical_Switch_Port.up values the Port_Bindings imply, and hv_cfg, the sequence number every
chassis has caught up with.  Pure functions of replica rows."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

Data = Mapping[str, Any]


def port_up(lsp: Data, pb: Data | None) -> bool | None:
    """The `up` a switch port should have (None: leave it alone).

    Router ports are always up; others are up when their Port_Binding says so (the `up`
    column, which ovn-controller sets once the port's flows are installed) or, from an
    older controller that does not set it, when a chassis has claimed them."""
    if lsp.get("type") == "router":
        return True
    if pb is None:
        return False
    up = pb.get("up", ())
    if up:
        return bool(up[0])
    return bool(pb.get("chassis", ()))


def hv_cfg(chassis_private: Mapping[str, Data], sb_nb_cfg: int) -> tuple[int, int]:
    """(hv_cfg, its timestamp): the smallest nb_cfg any chassis has reported; with no
    chassis, everything there is has caught up, so hv_cfg is SB's nb_cfg."""
    if not chassis_private:
        return sb_nb_cfg, 0
    low = min(int(d.get("nb_cfg", 0)) for d in chassis_private.values())
    ts = max(int(d.get("nb_cfg_timestamp", 0)) for d in chassis_private.values())
    return low, ts


def random_mac_prefix() -> str:
    b = secrets.token_bytes(3)
    return ":".join(f"{(b[0] & 0xFE) | 0x02 if i == 0 else x:02x}" for i, x in enumerate(b))


def random_mac() -> str:
    b = bytearray(secrets.token_bytes(6))
    b[0] = (b[0] & 0xFE) | 0x02  # unicast, locally administered
    return ":".join(f"{x:02x}" for x in b)
