"""OpenFlow groups and meters: which ones br-int should hold (those the flow table uses),
and the group_mod / meter_mod messages that turn what the switch has into that, as pure
functions.

Ids come from the translator's tables (description -> id, like ovn-controller's
ovn_extend_table).  A group's description carries its buckets (GroupTable.specs); a
meter's is either the name of an SB Meter row (log(meter=...), controller_meter) or, with
the "__string: " prefix, the meter itself (set_meter), as in ovn-controller's ofctrl.

Open vSwitch bundles group_mod with flow_mod but refuses meter_mod in a bundle
(ofputil_is_bundlable()), so group messages come split around the flow messages of the
bundle (adds and modifies before, deletes after), and meter messages around the bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pyovn.logical import ofrep as O
from pyovn.openflow import messages as M
from pyovn.openflow.actions import ActionEncoder
from pyovn.openflow.desired import action_refs
from pyovn.openflow.protocol import OpenFlowError

OFPM_ALL = 0xFFFFFFFF
METER_STRING = "__string: "
GROUP_TYPES = {"all": M.OFPGT_ALL, "select": M.OFPGT_SELECT, "indirect": M.OFPGT_INDIRECT,
               "ff": M.OFPGT_FF, "fast_failover": M.OFPGT_FF}

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class MeterSpec:
    flags: int
    bands: tuple[tuple[int, int], ...]  # drop bands: (rate, burst size)


@dataclass
class Diff(Generic[K, V]):
    adds: dict[K, V] = field(default_factory=dict)
    modifies: dict[K, V] = field(default_factory=dict)
    deletes: list[K] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.adds) + len(self.modifies) + len(self.deletes)


def diff(installed: Mapping[K, V], desired: Mapping[K, V]) -> Diff[K, V]:
    d: Diff[K, V] = Diff()
    for k, v in desired.items():
        old = installed.get(k)
        if old is None:
            d.adds[k] = v
        elif old != v:
            d.modifies[k] = v
    d.deletes = [k for k in installed if k not in desired]
    return d


# --- what the flows use ------------------------------------------------------------------


def used_ids(flows: Iterable[O.Flow]) -> tuple[set[int], set[int]]:
    """(group ids, meter ids) the flows refer to: group actions, meter actions and the
    meter of controller actions (packet-in rate limits).  The daemon does not walk its
    table: DesiredFlows counts these references as owners change."""
    groups: set[int] = set()
    meters: set[int] = set()
    for f in flows:
        g, m = action_refs(f.actions)
        groups |= g
        meters |= m
    return groups, meters


def desired_groups(used: Iterable[int], table: O.GroupTable) -> dict[int, O.GroupSpec]:
    """The groups to install; an id without a spec (a description pyovn cannot express)
    is left out, and the switch refuses the flows that use it."""
    return {g: table.specs[g] for g in used if g in table.specs}


def parse_meter_string(text: str) -> MeterSpec:
    """A set_meter description (ovs-ofctl meter syntax without the id), e.g.
    "kbps burst stats bands=type=drop rate=100 burst_size=10"."""
    head, sep, bands = text.partition("bands=")
    if not sep:
        raise OpenFlowError(f"meter {text!r}: no bands")
    flags = 0
    names = {"kbps": M.OFPMF13_KBPS, "pktps": M.OFPMF13_PKTPS, "burst": M.OFPMF13_BURST,
             "stats": M.OFPMF13_STATS}
    for w in head.replace(",", " ").split():
        if w not in names:
            raise OpenFlowError(f"meter {text!r}: unknown flag {w!r}")
        flags |= names[w]
    out: list[tuple[int, int]] = []
    for band in bands.split("type=")[1:]:
        kv = dict(w.split("=", 1) for w in ("type=" + band).replace(",", " ").split()
                  if "=" in w)
        if kv.get("type") != "drop" or "rate" not in kv:
            raise OpenFlowError(f"meter {text!r}: only drop bands with a rate are supported")
        try:
            out.append((int(kv["rate"]), int(kv.get("burst_size", "0"))))
        except ValueError as e:
            raise OpenFlowError(f"meter {text!r}: {e}") from e
    if not out:
        raise OpenFlowError(f"meter {text!r}: no bands")
    return MeterSpec(flags, tuple(out))


def sb_meter(unit: str, bands: Iterable[tuple[str, int, int]]) -> MeterSpec:
    """An SB Meter row's meter, as ovn-controller's add_meter() makes it: statistics on,
    the unit, and burst when a band has a burst size; only drop bands exist in SB."""
    flags = M.OFPMF13_STATS | (M.OFPMF13_PKTPS if unit == "pktps" else M.OFPMF13_KBPS)
    out = []
    for action, rate, burst in bands:
        if action != "drop":
            continue
        out.append((rate, burst))
        if burst:
            flags |= M.OFPMF13_BURST
    return MeterSpec(flags, tuple(sorted(out)))


def sb_meters(tables: Mapping[str, Any]) -> dict[str, MeterSpec]:
    """Meters by name from SB's Meter and Meter_Band tables (IDL tables: '.rows' of rows
    with 'raw(column)'); empty when they are not monitored."""
    if "Meter" not in tables or "Meter_Band" not in tables:
        return {}
    band_rows = tables["Meter_Band"].rows
    out: dict[str, MeterSpec] = {}
    for r in tables["Meter"].rows.values():
        bands = []
        for u in r.raw("bands"):
            b = band_rows.get(u)
            if b is not None:
                bands.append((b.raw("action"), b.raw("rate"), b.raw("burst_size")))
        out[r.raw("name")] = sb_meter(r.raw("unit"), bands)
    return out


def desired_meters(used: Iterable[int], table: O.GroupTable,
                   named: Mapping[str, MeterSpec]) -> tuple[dict[int, MeterSpec], list[str]]:
    """The meters to install, and the problems: a name SB has no Meter row for (like
    ovn-controller, that meter is not installed) or a description that does not parse."""
    by_id = {v: k for k, v in table.ids.items()}
    out: dict[int, MeterSpec] = {}
    problems: list[str] = []
    for mid in sorted(used):
        desc = by_id.get(mid)
        if desc is None:
            problems.append(f"meter {mid}: unknown id")
        elif desc.startswith(METER_STRING):
            try:
                out[mid] = parse_meter_string(desc[len(METER_STRING):])
            except OpenFlowError as e:
                problems.append(str(e))
        elif desc in named:
            out[mid] = named[desc]
        else:
            problems.append(f"could not find meter named {desc!r}")
    return out, problems


# --- messages ----------------------------------------------------------------------------


def group_mod(xid: int, command: int, gid: int, spec: O.GroupSpec,
              encoder: ActionEncoder) -> bytes:
    gtype = GROUP_TYPES.get(spec.type)
    if gtype is None:
        raise OpenFlowError(f"group {gid}: unknown type {spec.type!r}")
    buckets = [M.Bucket(b.actions, b.bucket_id, b.weight, b.watch_port) for b in spec.buckets]
    return M.group_mod(xid, command, gid, gtype, buckets, spec.selection_method,
                       spec.selection_method_param, encoder, spec.fields)


def group_messages(d: Diff[int, O.GroupSpec], xid: Callable[[], int], encoder: ActionEncoder,
                   fresh: bool = False) -> tuple[list[bytes], list[bytes]]:
    """(before the flow messages, after them) in one bundle: groups exist before the flows
    that use them are added, and go only after those flows are gone.  'fresh' (a new
    connection: what the switch holds is unknown) deletes every group first."""
    before = [M.group_mod(xid(), M.OFPGC15_DELETE, M.OFPG_ALL, M.OFPGT_ALL)] if fresh else []
    before += [group_mod(xid(), M.OFPGC15_ADD, g, s, encoder) for g, s in sorted(d.adds.items())]
    before += [group_mod(xid(), M.OFPGC15_MODIFY, g, s, encoder)
               for g, s in sorted(d.modifies.items())]
    after = [M.group_mod(xid(), M.OFPGC15_DELETE, g, M.OFPGT_ALL) for g in sorted(d.deletes)]
    return before, after


def meter_messages(d: Diff[int, MeterSpec], xid: Callable[[], int],
                   fresh: bool = False) -> tuple[list[bytes], list[bytes]]:
    """(before the bundle, after it).  'fresh' deletes every meter first; Open vSwitch
    then also drops the flows with meter actions (set_meter), until the bundle restores
    them: meters cannot join the bundle."""
    before = [M.meter_mod(xid(), M.OFPMC13_DELETE, OFPM_ALL, 0)] if fresh else []
    before += [M.meter_mod(xid(), M.OFPMC13_ADD, m, s.flags, s.bands)
               for m, s in sorted(d.adds.items())]
    before += [M.meter_mod(xid(), M.OFPMC13_MODIFY, m, s.flags, s.bands)
               for m, s in sorted(d.modifies.items())]
    after = [M.meter_mod(xid(), M.OFPMC13_DELETE, m, 0) for m in sorted(d.deletes)]
    return before, after


# --- one installation --------------------------------------------------------------------


@dataclass
class Installed:
    """What the switch holds (as far as this connection knows), and the meter problems
    last reported (so that each is logged once, not every iteration)."""

    groups: dict[int, O.GroupSpec] = field(default_factory=dict)
    meters: dict[int, MeterSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan:
    installed: Installed  # once everything below is accepted
    before_bundle: list[bytes]  # meter adds/modifies
    bundle_head: list[bytes]  # group adds/modifies, before the flow messages
    bundle_tail: list[bytes]  # group deletes, after them
    after_bundle: list[bytes]  # meter deletes

    def __len__(self) -> int:
        return (len(self.before_bundle) + len(self.bundle_head) + len(self.bundle_tail)
                + len(self.after_bundle))


def plan(used: tuple[Iterable[int], Iterable[int]], groups: O.GroupTable,
         meters: O.GroupTable, named_meters: Mapping[str, MeterSpec], have: Installed,
         xid: Callable[[], int], encoder: ActionEncoder, fresh: bool = False) -> Plan:
    """The messages that give the switch the groups and meters the flows use ('used':
    their group and meter ids).  'fresh': the switch's groups and meters are unknown (new
    connection), so all are replaced."""
    used_g, used_m = used
    want_g = desired_groups(used_g, groups)
    want_m, problems = desired_meters(used_m, meters, named_meters)
    if fresh:
        have = Installed()
    g_before, g_after = group_messages(diff(have.groups, want_g), xid, encoder, fresh)
    m_before, m_after = meter_messages(diff(have.meters, want_m), xid, fresh)
    return Plan(Installed(want_g, want_m, problems), m_before, g_before, g_after, m_after)
