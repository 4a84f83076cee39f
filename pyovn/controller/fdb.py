"""MAC learning for switch ports with "unknown" addresses (ovn-sb(5) FDB), as
ovn-controller 23.03 does it.

Flows (tables 71 and 72), one pair per SB FDB row whose datapath is local:
get_fdb(eth.dst) resubmits to table 71 with outport cleared and reads the port back from
it; lookup_fdb(inport, eth.src) resubmits to table 72 and reads MLF_LOOKUP_FDB back
(pyovn/logical/actions_encode.py).  Both match the row's keys as stored (dp_key,
port_key), not the rows they name: a row for a port that is gone still forwards to its
key, exactly as in ovn-controller.

Learning: the put_fdb(inport, eth.src) action sends the packet to the controller
(opcode 25, no pause: the packet goes on through the pipeline meanwhile); the handler
turns it into an FdbUpdate and the controller writes the row (dp_key, mac) with the
port's key, inserting it or moving the MAC to its new port.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyovn.controller.model import Fdb
from pyovn.logical import ofrep as O
from pyovn.logical import symbols as S
from pyovn.ovsdb.idl import Table, Transaction

_F32 = 0xFFFFFFFF
_F48 = (1 << 48) - 1
_F64 = (1 << 64) - 1
# The SB schema's range for both keys.
MAX_KEY = 0xFFFFFF
PRIORITY = 100

# OVS's eth_addr_from_string: six colon-separated groups of one or two hex digits, and
# nothing after them.
_MAC = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")


def parse_mac(text: str) -> int | None:
    """A MAC as an integer, or None if 'text' is not one (the row is then skipped, as
    ovn-controller skips it with a "bad 'mac'" warning)."""
    if not _MAC.match(text):
        return None
    v = 0
    for part in text.split(":"):
        v = (v << 8) | int(part, 16)
    return v


def format_mac(mac: bytes) -> str:
    """ETH_ADDR_FMT: what put_fdb writes and looks rows up by (lower case, two digits)."""
    return ":".join(f"{b:02x}" for b in mac)


def valid_keys(fdb: Fdb) -> bool:
    return 1 <= fdb.dp_key <= MAX_KEY and 1 <= fdb.port_key <= MAX_KEY


def fdb_flows(fdb: Fdb) -> list[O.Flow]:
    """Tables 71 and 72 for one FDB row (the caller checks that its datapath is local);
    nothing for a row whose MAC or keys are malformed."""
    mac = parse_mac(fdb.mac)
    if mac is None or not valid_keys(fdb):
        return []
    get = O.Match({S.LOG_DATAPATH: (fdb.dp_key, _F64), "dl_dst": (mac, _F48)})
    look = O.Match({S.LOG_DATAPATH: (fdb.dp_key, _F64), S.LOG_INPORT: (fdb.port_key, _F32),
                    "dl_src": (mac, _F48)})
    bit = 1 << S.MLF_LOOKUP_FDB_BIT
    return [O.Flow(O.OFTABLE_GET_FDB, PRIORITY, get,
                   (O.SetField(S.LOG_OUTPORT, fdb.port_key, _F32),), fdb.cookie),
            O.Flow(O.OFTABLE_LOOKUP_FDB, PRIORITY, look,
                   (O.SetField(S.LOG_FLAGS, bit, bit),), fdb.cookie)]


def all_fdb_flows(fdbs: Iterable[Fdb], local_dp_keys: set[int]) -> list[O.Flow]:
    """Every FDB row's flows (the reference the incremental core agrees with)."""
    out: list[O.Flow] = []
    for f in sorted(fdbs, key=lambda x: x.uuid):
        if f.dp_key in local_dp_keys:
            out += fdb_flows(f)
    return out


# --- learning (pinctrl) ---------------------------------------------------------------------


@dataclass(frozen=True)
class FdbUpdate:
    dp_key: int
    mac: str  # as format_mac writes it
    port_key: int


def learned(dp_key: int, port_key: int, packet: bytes) -> FdbUpdate | None:
    """What a put_fdb packet-in teaches: the packet's source MAC is on the input port (the
    action loaded inport and eth.src with its arguments before sending the packet).
    Nothing for a frame too short to have a source, for keys outside the schema's range
    (the write would be refused), or for a group or all-zero source: no station has
    those, and northd drops such frames before they reach put_fdb anyway."""
    if len(packet) < 12 or not (1 <= dp_key <= MAX_KEY and 1 <= port_key <= MAX_KEY):
        return None
    src = packet[6:12]
    if src[0] & 1 or not any(src):
        return None
    return FdbUpdate(dp_key, format_mac(src), port_key)


def fdb_changes(tables: Mapping[str, Table], items: Iterable[FdbUpdate]) -> list[FdbUpdate]:
    """The updates the SB replica does not already show, once each: a put_fdb per packet
    until the learned flows are installed must not become an SB write per packet."""
    table = tables.get("FDB")
    if table is None:
        return []
    have = {(r.raw("dp_key"), r.raw("mac")): r.raw("port_key") for r in table.rows.values()}
    out: dict[tuple[int, str], FdbUpdate] = {}
    for it in items:
        if have.get((it.dp_key, it.mac)) != it.port_key:
            out[(it.dp_key, it.mac)] = it  # the last packet's port wins
    return list(out.values())


def write_fdbs(txn: Transaction, tables: Mapping[str, Table], items: Iterable[FdbUpdate]) -> int:
    """Inserts the (dp_key, mac) rows that are missing and moves the others to their new
    port, as ovn-controller's run_put_fdb (rows are found by dp_key and the exact MAC
    string, SB's index).  Returns the number of rows written."""
    rows = {(r.raw("dp_key"), r.raw("mac")): r for r in tables["FDB"].rows.values()}
    last = {(it.dp_key, it.mac): it.port_key for it in items}
    n = 0
    for (dp_key, mac), port_key in last.items():
        r = rows.get((dp_key, mac))
        if r is None:
            r = txn.insert("FDB")
            r.dp_key = dp_key
            r.mac = mac
        elif r.raw("port_key") == port_key:
            continue
        r.port_key = port_key
        n += 1
    return n
