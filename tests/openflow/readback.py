"""Comparing `ovs-ofctl dump-flows` output with the neutral representation's printing.

dump-flows adds statistics (removed here) and orders match fields its own way (compared
as sets).  ofrep's `__str__` spells everything else as ovs-ofctl does."""

from __future__ import annotations

import re

from pyovn.logical import ofrep as O

_STATS = re.compile(r" (duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,")


def strip_stats(line: str) -> str:
    return _STATS.sub("", line.strip())


def dump_lines(dump: str) -> list[str]:
    """Flow lines of a (possibly multi-reply) dump-flows output, without statistics."""
    return [strip_stats(ln) for ln in dump.splitlines()
            if ln.strip() and not ln.startswith(("OFPST_FLOW", "NXST_FLOW"))]


def canonical(line: str) -> tuple[str, frozenset[str], str]:
    """(head "cookie=.., table=.., priority=..", match tokens, actions)."""
    head_match, _, actions = line.partition(" actions=")
    parts = head_match.split(",")
    head = [p.strip() for p in parts if p.strip().startswith(("cookie=", "table=",
                                                              "priority="))]
    rest = frozenset(p.strip() for p in parts if p.strip() and p.strip() not in head)
    return ", ".join(head), rest, actions


def expected(flow: O.Flow) -> tuple[str, frozenset[str], str]:
    return canonical(str(flow))
