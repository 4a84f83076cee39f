"""JSON-RPC 1.0 message kinds as OVSDB uses them (RFC 7047 section 4).

classify() accepts and rejects exactly what Open vSwitch's jsonrpc_msg_from_json()
does, with the same error texts, so that a pyovn peer and a C peer agree on what is
a protocol violation.  Notably a member whose value is JSON null counts as absent,
which makes {"result": null, "error": null, "id": 1} a request without a method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ErrorReply",
    "Message",
    "Notification",
    "ProtocolError",
    "Reply",
    "Request",
    "classify",
    "error_reply",
    "notification",
    "reply",
    "request",
]


class ProtocolError(Exception):
    """A decoded JSON value that is not a valid JSON-RPC message."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    params: list[Any]
    id: Any

    kind = "request"

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params, "id": self.id}


@dataclass(frozen=True, slots=True)
class Notification:
    method: str
    params: list[Any]

    kind = "notification"

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params, "id": None}


@dataclass(frozen=True, slots=True)
class Reply:
    result: Any
    id: Any

    kind = "reply"

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "error": None, "id": self.id}


@dataclass(frozen=True, slots=True)
class ErrorReply:
    error: Any
    id: Any

    kind = "error"

    def to_json(self) -> dict[str, Any]:
        return {"result": None, "error": self.error, "id": self.id}


Message = Request | Notification | Reply | ErrorReply

_MEMBERS = ("method", "params", "result", "error", "id")

# Which members each kind must have (True) or must not have (False), in the order OVS
# checks them.
_PATTERNS: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    "request": (True, True, False, False, True),
    "notification": (True, True, False, False, False),
    "reply": (False, False, True, False, True),
    "error": (False, False, False, True, True),
}


def classify(obj: object) -> Message:
    """Turns a decoded JSON value into a message, or raises ProtocolError."""
    if type(obj) is not dict:
        raise ProtocolError("message is not a JSON object")
    method = obj.get("method")
    if method is not None and not isinstance(method, str):
        raise ProtocolError("method is not a JSON string")
    params = obj.get("params")
    result = obj.get("result")
    error = obj.get("error")
    id_ = obj.get("id")

    if len(obj) > 5 or any(key not in _MEMBERS for key in obj):
        extra = next(key for key in obj if key not in _MEMBERS)
        raise ProtocolError(f'message has unexpected member "{extra}"')

    if params is not None and type(params) is not list:
        raise ProtocolError('"params" must be JSON array')

    if result is not None:
        kind = "reply"
    elif error is not None:
        kind = "error"
    elif id_ is not None:
        kind = "request"
    else:
        kind = "notification"

    present = (method is not None, params is not None, result is not None,
               error is not None, id_ is not None)
    for name, want, have in zip(_MEMBERS, _PATTERNS[kind], present):
        if want != have:
            raise ProtocolError(f'{kind} must{"" if want else " not"} have "{name}"')

    if kind == "request":
        return Request(method, params, id_)  # type: ignore[arg-type]
    if kind == "notification":
        return Notification(method, params)  # type: ignore[arg-type]
    if kind == "reply":
        return Reply(result, id_)
    return ErrorReply(error, id_)


def request(method: str, params: list[Any], id: Any) -> dict[str, Any]:
    return {"method": method, "params": params, "id": id}


def notification(method: str, params: list[Any]) -> dict[str, Any]:
    return {"method": method, "params": params, "id": None}


def reply(result: Any, id: Any) -> dict[str, Any]:
    return {"result": result, "error": None, "id": id}


def error_reply(error: Any, id: Any) -> dict[str, Any]:
    return {"result": None, "error": error, "id": id}
