"""The pure core as one function: (this chassis, the SB rows that concern it, its conntrack
zones) -> the OpenFlow table br-int should hold, recomputed from nothing.  The daemon keeps
a long-lived ControllerCore (incremental.py) instead; this is its reference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyovn.controller.binding import Bindings
from pyovn.controller.incremental import ControllerCore
from pyovn.controller.lflow import LflowStats
from pyovn.controller.model import LocalState, SbState
from pyovn.logical import ofrep as O


@dataclass
class Computed:
    bindings: Bindings
    zones: dict[str, int]
    flows: list[O.Flow]
    lflow_stats: LflowStats = field(default_factory=LflowStats)

    @property
    def untranslated(self) -> int:
        return len(self.lflow_stats.failed)


def compute_flows(local: LocalState, sb: SbState, zones: Mapping[str, int]) -> Computed:
    """Everything br-int should hold.  'zones' are the zones in use (kept where still
    needed)."""
    core = ControllerCore()
    core.run(local, sb, zones, full=True)
    return Computed(core.bindings, core.zones, core.desired.flows(), core.lflow_stats())
