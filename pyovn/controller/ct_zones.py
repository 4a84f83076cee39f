"""Conntrack zones: one per local logical port and two (DNAT, SNAT) per local datapath,
numbered 1..65535, only meaningful on this chassis.

Zones survive restarts: ovn-controller stores them in br-int's external_ids as
``ct-zone-<port>`` and ``ct-zone-<datapath uuid>_dnat`` / ``_snat``, and so does pyovn, so
that connections tracked before a restart keep their zone (and their state)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PREFIX = "ct-zone-"
MAX_ZONE = 65535


def dnat_key(dp_uuid: str) -> str:
    return f"{dp_uuid}_dnat"


def snat_key(dp_uuid: str) -> str:
    return f"{dp_uuid}_snat"


def zones_from_external_ids(ext: Mapping[str, str]) -> dict[str, int]:
    """The zones recorded in br-int's external_ids (bad values ignored)."""
    out: dict[str, int] = {}
    for k, v in ext.items():
        if k.startswith(PREFIX):
            try:
                z = int(v)
            except ValueError:
                continue
            if 0 < z <= MAX_ZONE:
                out[k[len(PREFIX):]] = z
    return out


def assign_zones(needed: Iterable[str], current: Mapping[str, int]) -> dict[str, int]:
    """Zones for exactly 'needed': the current zone where there is one, otherwise the
    lowest free number.  Names are visited in sorted order so the result is deterministic."""
    want = sorted(set(needed))
    out = {n: current[n] for n in want if n in current}
    used = set(out.values())
    nxt = 1
    for n in want:
        if n in out:
            continue
        while nxt in used:
            nxt += 1
        if nxt > MAX_ZONE:
            raise ValueError("out of conntrack zones")
        out[n] = nxt
        used.add(nxt)
    return out


def needed_zones(ports: Iterable[str], datapaths: Iterable[str]) -> set[str]:
    names = set(ports)
    for dp in datapaths:
        names.add(dnat_key(dp))
        names.add(snat_key(dp))
    return names
