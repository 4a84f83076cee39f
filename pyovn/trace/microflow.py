"""The microflow argument: an expression that must pin down exactly one packet.

As in ovn-trace, the expression (with its prerequisites) is normalised; it must come out as
a single conjunction of masked field tests, whose values become the packet (every other
field is zero).  A disjunction is ambiguous, nothing at all contradictory.
"""

from __future__ import annotations

from collections.abc import Callable

from pyovn.logical.annotate import annotate
from pyovn.logical.expr import And, Node, StrCmp, parse
from pyovn.logical.lexer import LexError
from pyovn.logical.normalize import normalize
from pyovn.logical.symbols import SYMTAB
from pyovn.trace.packet import Packet
from pyovn.trace.sb import SB, Datapath, TraceError


def port_lookup(sb: SB, dp: Datapath) -> Callable[[str], int | None]:
    """Port or multicast group name -> tunnel key within 'dp' (ovn-trace's lookup_port):
    a port of another datapath does not resolve."""
    def lookup(name: str) -> int | None:
        if name in ("", "none"):
            return 0
        p = sb.lookup_port(name)
        if p is not None:
            return p.tunnel_key if p.dp is dp else None
        g = dp.mcgroups.get(name)
        return g.tunnel_key if g is not None else None
    return lookup


def find_inport(node: Node) -> str | None:
    """The port named by a top-level `inport == "name"' test, if any."""
    if isinstance(node, StrCmp) and node.symbol == "inport" and node.relop == "==":
        return node.value
    if isinstance(node, And):
        for c in node.children:
            r = find_inport(c)
            if r is not None:
                return r
    return None


def datapath_from_inport(sb: SB, text: str) -> Datapath:
    try:
        node = parse(text, SYMTAB, sb.address_sets, {})
    except LexError as e:
        raise TraceError(f"error parsing flow: {e.msg}") from None
    name = find_inport(node)
    if name is None:
        raise TraceError("error parsing flow: Microflow does not specify ingress port "
                         "(so the datapath cannot be inferred).")
    port = sb.ports.get(name)
    if port is None:
        raise TraceError(f'unknown port "{name}"')
    return port.dp


def parse_microflow(sb: SB, dp: Datapath, text: str) -> Packet:
    lookup = port_lookup(sb, dp)
    try:
        node = parse(text, SYMTAB, sb.address_sets, dp.port_groups)
        inport = find_inport(node)
        if inport is not None and lookup(inport) is None:
            where = sb.lookup_port(inport)
            raise TraceError(
                f'error parsing flow: port "{inport}" is not in datapath "{dp.friendly}"'
                + (f' (it is in "{where.dp.friendly}")' if where else " (no such port)"))
        ann = annotate(node, SYMTAB)
        terms = normalize(ann, lookup, lambda _f, arg: arg == "" or arg in sb.ports)
    except LexError as e:
        raise TraceError(f"error parsing flow: {e.msg}") from None
    if not terms:
        raise TraceError("error parsing flow: Constraints are contradictory.")
    if len(terms) > 1 or any(len(alts) > 1 for alts in terms[0].dims.values()):
        raise TraceError(f"error parsing flow: Constraints are ambiguous: {text}.")
    pkt = Packet()
    fields = dict(terms[0].base)
    for f, alts in terms[0].dims.items():
        fields[f] = alts[0]
    for f, (value, mask) in fields.items():
        pkt.write_bits(f, 0, mask.bit_length() or 1, value & mask, mask)
    return pkt
