"""The pure core: (this chassis, the SB rows that concern it, its conntrack zones) ->
the OpenFlow table br-int should hold.  The daemon diffs it against what is installed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyovn.controller.binding import Bindings, compute_bindings
from pyovn.controller.ct_zones import assign_zones, needed_zones
from pyovn.controller.lflow import LflowStats, LflowTranslator, datapath_contexts
from pyovn.controller.mac_binding import mac_binding_flows
from pyovn.controller.model import LocalState, SbState
from pyovn.controller.physical import physical_flows
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


def compute_flows(local: LocalState, sb: SbState, zones: Mapping[str, int],
                  translator: LflowTranslator | None = None) -> Computed:
    """Everything br-int should hold.  'zones' are the zones in use (kept where still
    needed); a fresh translator gives a full recompute, a long-lived one reuses what the
    last call compiled and is unaffected by the change."""
    b = compute_bindings(local, sb)
    z = assign_zones(needed_zones(b.local_ports(), b.local_datapaths), zones)
    tunnels = {c: p for c, p in local.tunnel_ofports().items() if c in b.remote_chassis()}
    flows = physical_flows(sb, b, z, tunnels, local.encap_type)
    tr = translator or LflowTranslator()
    ctxs = datapath_contexts(sb, b, local.chassis, tr.groups, tr.meters)
    lflows, stats = tr.translate(sb, ctxs)
    flows += lflows
    flows += mac_binding_flows(sb, b)
    return Computed(b, z, flows, stats)
