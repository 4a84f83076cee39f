"""JSON-RPC (RFC 7047) framing, connections, the unixctl control socket, and the
command-line conventions every pyovn daemon shares with OVS daemons."""

from pyovn.jsonrpc.connection import (
    Connection,
    Remote,
    RemoteError,
    RpcClient,
    RpcError,
    open_connection,
    parse_remote,
    start_server,
)
from pyovn.jsonrpc.message import (
    ErrorReply,
    Message,
    Notification,
    ProtocolError,
    Reply,
    Request,
    classify,
)
from pyovn.jsonrpc.stream import FramingError, JsonSplitter
from pyovn.jsonrpc.unixctl import UnixctlError, UnixctlServer, unixctl_call

__all__ = [
    "Connection",
    "ErrorReply",
    "FramingError",
    "JsonSplitter",
    "Message",
    "Notification",
    "ProtocolError",
    "Remote",
    "RemoteError",
    "Reply",
    "Request",
    "RpcClient",
    "RpcError",
    "UnixctlError",
    "UnixctlServer",
    "classify",
    "open_connection",
    "parse_remote",
    "start_server",
    "unixctl_call",
]
