"""Small SB and chassis states for the controller's pure tests."""

from __future__ import annotations

import uuid

from pyovn.controller import model as M


def uid(tag: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, tag))


def two_chassis_switch(me: str = "hv1") -> tuple[M.LocalState, M.SbState]:
    """sw0 (key 1) with vm1 on hv1 and vm2 on hv2; sw1 (key 2) with vm9 on hv3 only."""
    sb = M.SbState()
    for name, key in (("sw0", 1), ("sw1", 2)):
        sb.datapaths[uid(name)] = M.Datapath(uid(name), key, True, name)
    for name, dp, key, ch in (("vm1", "sw0", 1, "hv1"), ("vm2", "sw0", 2, "hv2"),
                              ("vm9", "sw1", 1, "hv3")):
        sb.ports[uid(name)] = M.PortBinding(uid(name), name, uid(dp), key, chassis=ch)
    sb.mcast_groups[uid("flood0")] = M.MulticastGroup(
        uid("flood0"), "_MC_flood", uid("sw0"), 32768, (uid("vm1"), uid("vm2")))
    for i, ch in enumerate(("hv1", "hv2", "hv3"), 1):
        sb.chassis[ch] = M.Chassis(ch, (M.Encap("geneve", f"172.31.0.{i}"),))
    local = M.LocalState(me, "geneve", ("172.31.0.1",))
    local.interfaces["tap1"] = M.Interface("tap1", 5, "vm1")
    local.interfaces["ovn-hv2-0"] = M.Interface("ovn-hv2-0", 1, None, "geneve", "hv2")
    local.interfaces["ovn-hv3-0"] = M.Interface("ovn-hv3-0", 2, None, "geneve", "hv3")
    return local, sb


def lflow(name: str, dp: str, table: int, prio: int, match: str, actions: str,
          pipeline: str = "ingress") -> M.LogicalFlow:
    return M.LogicalFlow(uid(name), (uid(dp),), pipeline, table, prio, match, actions)
