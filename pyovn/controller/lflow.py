"""Logical flows -> OpenFlow, one (logical flow, local datapath) at a time, through
pyovn.logical.  Compiling records what it read (deps.py): the port and multicast-group
names it looked up on the datapath, residency (is_chassis_resident), the local-ness of a
tagged in/out port, the address sets and port groups it names, the datapath itself; so a
change recompiles exactly the logical flows it can affect, like ovn-controller's lflow
resource references.

A logical flow that does not compile is counted and logged once, never silently dropped.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pyovn.controller.deps import Dep
from pyovn.controller.model import Datapath, LogicalFlow, PortBinding, SbState
from pyovn.logical import ofrep as O
from pyovn.logical.compile import CompileContext, Compiler

log = logging.getLogger("pyovn.controller.lflow")

# Port types whose flows matter only on the chassis that has the port (tags:in_out_port).
LOCAL_ONLY_TYPES = frozenset({"", "virtual", "localport"})


def conj_base(lflow_uuid: str, dp_key: int) -> int:
    """Conjunction ids for one (logical flow, datapath): a function of both, so that an
    incremental run and a full recompute agree.  Ids only need to be distinct among flows
    of one table, priority and datapath."""
    return (zlib.crc32(f"{lflow_uuid}/{dp_key}".encode()) & 0x0FFFFFFF) << 3 | 1


@dataclass
class LflowStats:
    compiled: int = 0
    cached: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # lflow uuid -> error


class _Recorded(Mapping[str, Sequence[str]]):
    """A name -> values mapping whose every lookup is recorded as (kind, name)."""

    def __init__(self, kind: str, get: Callable[[str], Sequence[str] | None],
                 names: Callable[[], Iterator[str]], deps: set[Dep]) -> None:
        self._kind = kind
        self._get = get
        self._names = names
        self.deps = deps

    def __getitem__(self, name: str) -> Sequence[str]:
        self.deps.add((self._kind, name))
        v = self._get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self.deps.add((self._kind, name))
        return self._get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return self._names()

    def __len__(self) -> int:
        return sum(1 for _ in self._names())

    def __bool__(self) -> bool:
        return True  # (the parser treats a false mapping as "none given")


def port_group_view(port_groups: Mapping[str, tuple[str, ...]], dp_key: int
                    ) -> Callable[[str], tuple[str, ...] | None]:
    """Port groups as seen from a datapath: the per-datapath ones that northd writes as
    "<datapath key>_<name>" hide the global ones."""
    prefix = f"{dp_key}_"

    def get(name: str) -> tuple[str, ...] | None:
        v = port_groups.get(prefix + name)
        return v if v is not None else port_groups.get(name)
    return get


def port_group_deps(sb_name: str) -> list[Dep]:
    """The keys a change of SB Port_Group 'sb_name' invalidates: its name, and for a
    per-datapath group ("<key>_<name>") the name flows use."""
    out: list[Dep] = [("pg", sb_name)]
    head, sep, tail = sb_name.partition("_")
    if sep and head.isdigit() and tail:
        out.append(("pg", tail))
    return out


class LflowCompiler:
    """Compiles one (logical flow, datapath) with recorded reads.  Holds what must stay
    the same across runs: the compiler's caches, the group and meter id tables, and the
    set of flows already logged as untranslatable."""

    def __init__(self, compiler: Compiler | None = None) -> None:
        self.compiler = compiler or Compiler()
        self.groups = O.GroupTable()
        self.meters = O.GroupTable()
        self.logged: set[str] = set()
        self.deps: set[Dep] = set()

    def compile(self, lf: LogicalFlow, dp: Datapath, sb: SbState,
                port_keys: Mapping[tuple[str, str], int],
                by_name: Mapping[str, PortBinding], local: frozenset[str],
                resident: frozenset[str]) -> tuple[list[O.Flow], str | None]:
        """(flows, error).  'deps' holds what was read."""
        deps: set[Dep] = {("dp", dp.uuid)}
        self.deps = deps
        dpu = dp.uuid

        def lookup(name: str) -> int | None:
            deps.add(("lookup", dpu, name))
            return port_keys.get((dpu, name))

        def is_resident(name: str) -> bool:
            deps.add(("resident", name))
            return name in resident

        def is_local(name: str) -> bool:
            deps.add(("local", name))
            if name in local:
                return True
            deps.add(("name", name))
            pb = by_name.get(name)
            return (pb.type if pb is not None else "") not in LOCAL_ONLY_TYPES

        ases = _Recorded("as", sb.address_sets.get, lambda: iter(sb.address_sets), deps)
        pg_get = port_group_view(sb.port_groups, dp.key)
        pgs = _Recorded("pg", pg_get, lambda: iter(sb.port_groups), deps)
        ctx = CompileContext(ases, pgs, lookup, is_resident, is_port_local=is_local,
                             groups=self.groups, meters=self.meters,
                             next_conj_id=conj_base(lf.uuid, dp.key))
        # The packet-ins of a flow with a controller meter go through it (like
        # ovn-controller, by the SB Meter row's name).
        meter = self.meters.get(lf.controller_meter) if lf.controller_meter else None
        try:
            out = self.compiler.compile(
                lf.match, lf.actions, lf.pipeline, lf.table, lf.priority, dp.key, ctx,
                dp.is_switch, lf.cookie, ctrl_meter_id=meter, in_out_port=lf.in_out_port)
        except Exception as e:  # a flow pyovn cannot translate: count and log it
            if lf.uuid not in self.logged:
                self.logged.add(lf.uuid)
                log.warning("logical flow %s not translated (%s): match=%r actions=%r",
                            lf.uuid, e, lf.match, lf.actions)
            return [], str(e)
        return out, None
