"""Which chassis is active for an HA chassis group (a distributed gateway port's
chassisredirect port, an external port): ovn-controller's ha_chassis_group_is_active, as a
pure function.

A group of one chassis is that chassis'.  Otherwise the candidates are the members whose
chassis exists and that this chassis can reach (itself, or a chassis whose tunnel's BFD
session is up: 'active_tunnels'); the highest priority wins, ties going to the greater
name.  A chassis that reaches nobody is not active (it may be the one cut off), unless it
is the only member with a chassis at all; a chassis that is its own only candidate must
reach one of the group's ref_chassis (the chassis using the gateway) to be active.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

# (priority, chassis name or None when HA_Chassis.chassis is unset)
Member = tuple[int, str | None]


def ha_group_is_active(members: Sequence[Member], ref_chassis: Collection[str],
                       active_tunnels: Collection[str], me: str) -> bool:
    if not members:
        return False
    if len(members) == 1:
        return members[0][1] == me
    present = [name for _, name in members if name is not None]
    if present == [me]:
        return True
    if not active_tunnels:
        return False
    cands = [(prio, name) for prio, name in members
             if name is not None and (name == me or name in active_tunnels)]
    if not cands:
        return False
    if len(cands) == 1:
        return cands[0][1] == me and any(c in active_tunnels for c in ref_chassis)
    best = max(cands, key=lambda m: (m[0], m[1]))
    return best[1] == me


# ([member chassis name, or None where HA_Chassis.chassis is unset],
#  [(ref chassis name, is-remote)]) of one HA_Chassis_Group.
Group = tuple[Sequence[str | None], Sequence[tuple[str, bool]]]


def bfd_chassis(me: str, groups: Iterable[Group]) -> set[str]:
    """The chassis this one must run BFD with (ovn-controller's bfd_calculate_chassis):
    for each group of two or more members, a member runs it with the other members and
    the group's ref_chassis (the chassis that use the gateway; remote ones excepted), and a
    ref_chassis runs it with the members.  "Two or more" counts the HA_Chassis rows, with
    or without a chassis: a group whose second gateway has not registered yet keeps BFD
    between the first and the chassis using it, as with ovn-controller."""
    out: set[str] = set()
    for members, refs in groups:
        if len(members) < 2:
            continue
        present = {m for m in members if m is not None}
        if me in present:
            out.update(present)
            out.update(name for name, remote in refs if not remote)
        elif any(name == me for name, _ in refs):
            out.update(present)
    out.discard(me)
    return out


def bfd_settings(sb_options: Mapping[str, str]) -> dict[str, str]:
    """Interface.bfd for a tunnel that runs BFD: enabled, with the timers SB_Global's
    options set, and check_tnl_key (so that a logical port cannot inject BFD)."""
    out = {"enable": "true"}
    for opt, key in (("bfd-min-rx", "min_rx"), ("bfd-decay-min-rx", "decay_min_rx"),
                     ("bfd-min-tx", "min_tx"), ("bfd-mult", "mult")):
        if opt in sb_options:
            out[key] = sb_options[opt]
    out["check_tnl_key"] = "true"
    return out
