"""The OpenFlow action encoder the controller uses: pyovn.openflow's, plus the VLAN
actions the physical flows need for container and tagged localnet ports (push_vlan,
pop_vlan), which the logical actions never produce."""

from __future__ import annotations

import struct
from typing import Final

from pyovn.logical import ofrep as O
from pyovn.openflow.actions import (
    NXAST_STACK_POP,
    NXAST_STACK_PUSH,
    OFPAT_SET_FIELD,
    ActionEncoder,
    _nx,
)

OFPAT_PUSH_VLAN: Final = 17
OFPAT_POP_VLAN: Final = 18
# Open vSwitch refuses set_field on the 32-bit OXM in_port; like ovn-controller, the
# loopback bypass (table 64) writes the 16-bit NXM_OF_IN_PORT instead.
NXM_OF_IN_PORT: Final = 0x00000002
OFPP_NONE16: Final = 0xFFFF


class ControllerEncoder(ActionEncoder):
    def __init__(self) -> None:
        super().__init__()
        self._dispatch[O.PushVlan] = self._push_vlan
        self._dispatch[O.PopVlan] = self._pop_vlan
        self._base_set_field = self._dispatch[O.SetField]
        self._base_push = self._dispatch[O.Push]
        self._base_pop = self._dispatch[O.Pop]
        self._dispatch[O.SetField] = self._set_field_in_port
        self._dispatch[O.Push] = self._push_in_port
        self._dispatch[O.Pop] = self._pop_in_port

    def _set_field_in_port(self, a: O.Action) -> bytes:
        assert isinstance(a, O.SetField)
        if a.field != "in_port":
            return self._base_set_field(a)
        value = OFPP_NONE16 if a.value >= 0xFFFFFF00 else a.value & 0xFFFF
        return struct.pack("!HHIH6x", OFPAT_SET_FIELD, 16, NXM_OF_IN_PORT, value)

    def _in_port_stack(self, subtype: int, sf: O.SubField) -> bytes:
        return _nx(subtype, struct.pack("!HIH6x", 0, NXM_OF_IN_PORT, 16))

    def _push_in_port(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Push)
        if a.src.field != "in_port":
            return self._base_push(a)
        return self._in_port_stack(NXAST_STACK_PUSH, a.src)

    def _pop_in_port(self, a: O.Action) -> bytes:
        assert isinstance(a, O.Pop)
        if a.dst.field != "in_port":
            return self._base_pop(a)
        return self._in_port_stack(NXAST_STACK_POP, a.dst)

    def _push_vlan(self, a: O.Action) -> bytes:
        assert isinstance(a, O.PushVlan)
        return struct.pack("!HHH2x", OFPAT_PUSH_VLAN, 8, a.ethertype)

    def _pop_vlan(self, a: O.Action) -> bytes:
        return struct.pack("!HH4x", OFPAT_POP_VLAN, 8)
