"""OpenFlow 1.5 with the Nicira extensions OVN needs: encoding of pyovn.logical.ofrep flows
and actions, the messages around them, a flow-table differ and an asyncio switch
connection."""

from pyovn.openflow.actions import ActionEncoder, Output, encode_actions
from pyovn.openflow.connection import BundleError, SwitchConnection, SwitchError
from pyovn.openflow.flowtable import FlowDiff, FlowTable, diff_flows, diff_messages
from pyovn.openflow.oxm import encode_match
from pyovn.openflow.protocol import OpenFlowError

__all__ = [
    "ActionEncoder", "BundleError", "FlowDiff", "FlowTable", "OpenFlowError", "Output",
    "SwitchConnection", "SwitchError", "diff_flows", "diff_messages", "encode_actions",
    "encode_match",
]
