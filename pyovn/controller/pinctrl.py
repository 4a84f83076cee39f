"""Packet-in services (ovn-controller's pinctrl): the logical actions that need the
controller in the loop arrive here as NXT_PACKET_IN2 with OVN's userdata (opcode, then
arguments or nested actions).  Each handler is a pure function from the packet-in to what
to send back (pinctrl_handlers.py); this class does the I/O."""

from __future__ import annotations

import copy
import logging
import struct
from typing import TYPE_CHECKING

from pyovn.controller import fdb as F
from pyovn.controller import pinctrl_dns
from pyovn.controller import pinctrl_handlers as H
from pyovn.logical import actions_encode as AE
from pyovn.logical import ofrep as O
from pyovn.openflow import SwitchConnection, oxm
from pyovn.openflow import messages as M
from pyovn.openflow import protocol as P
from pyovn.openflow.messages import NXPINT_METADATA, PacketIn2

if TYPE_CHECKING:
    from pyovn.controller.daemon import Controller

log = logging.getLogger("pyovn.controller.pinctrl")


class Pinctrl:
    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl
        self.conn: SwitchConnection | None = ctl.conn
        self.counts: dict[int, int] = {}

    async def handle(self, pin: PacketIn2) -> None:
        conn = self.ctl.conn
        if conn is None or len(pin.userdata) < 8:
            return
        opcode = int.from_bytes(pin.userdata[:4], "big")
        self.counts[opcode] = self.counts.get(opcode, 0) + 1
        res = H.dispatch(opcode, pin, self.ctl.mirror.state, self.ctl.encoder,
                         self._dns() if opcode == AE.OP_DNS_LOOKUP else ())
        for pkt, actions in res.packet_outs:
            conn.send(packet_out_raw(conn.xid(), pkt, actions, H.pin_metadata(pin)))
        if pin.continuation is not None:
            if res.resume_metadata is not None:
                pin = copy.copy(pin)
                pin.raw_props = [(t, H.metadata_prop(res.resume_metadata)
                                  if t == NXPINT_METADATA else raw)
                                 for t, raw in pin.raw_props]
            conn.send(M.resume(conn.xid(), pin, res.resume_packet))
        if res.mac_bindings:
            await self._put_mac_bindings(res.mac_bindings)
        if res.fdbs:
            await self._put_fdbs(res.fdbs)
        await conn.drain()

    def _dns(self) -> list[pinctrl_dns.DnsRecords]:
        """The SB DNS records, if the replica has the DNS table (it is only there when
        the SB helper registers it)."""
        sb = self.ctl.sb
        table = sb.tables.get("DNS") if sb is not None else None
        if table is None:
            return []
        return pinctrl_dns.dns_records(table.rows.values(), self.ctl.mirror.state)

    async def _put_mac_bindings(self, items: list[H.MacBindingUpdate]) -> None:
        sb = self.ctl.sb
        if sb is None or not sb.is_connected:
            return
        out = await sb.try_transact(lambda txn: H.write_mac_bindings(txn, sb.tables, items))
        if not out.ok:
            log.info("MAC_Binding update %s (%s)", out.status, out.txn.error)


    async def _put_fdbs(self, items: list[F.FdbUpdate]) -> None:
        """put_fdb: only what the replica does not show yet becomes a transaction (each
        packet of a not yet learned MAC comes here until its flows are installed).  A
        failed write (another chassis inserted the same MAC first: SB's index refuses
        the second) is simply retried by the next such packet."""
        sb = self.ctl.sb
        if sb is None or not sb.is_connected:
            return
        todo = F.fdb_changes(sb.tables, items)
        if not todo:
            return
        out = await sb.try_transact(lambda txn: F.write_fdbs(txn, sb.tables, todo))
        if not out.ok:
            log.info("FDB update %s (%s)", out.status, out.txn.error)


def packet_out_raw(xid: int, packet: bytes, actions: bytes, metadata: O.Match) -> bytes:
    """A packet-out whose actions are already encoded (the nested actions OVN puts in a
    controller action's userdata), entering as from the controller with the pipeline
    registers of the packet-in."""
    m = metadata.copy()
    m.fields["in_port"] = (P.OFPP_CONTROLLER, 0xFFFFFFFF)
    body = struct.pack("!IH2x", P.OFP_NO_BUFFER, len(actions)) + oxm.encode_match(m) + \
        actions + packet
    return P.message(P.OFPT_PACKET_OUT, xid, body)
