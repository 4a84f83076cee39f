"""classify(): exactly what OVS's jsonrpc_msg_from_json() accepts, with its error texts."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.jsonrpc.message import (
    ErrorReply,
    Notification,
    ProtocolError,
    Reply,
    Request,
    classify,
    error_reply,
    notification,
    reply,
    request,
)


def test_request() -> None:
    m = classify({"method": "transact", "params": ["db"], "id": 7})
    assert m == Request("transact", ["db"], 7)
    assert m.kind == "request"
    assert m.to_json() == request("transact", ["db"], 7)


def test_notification_with_null_or_missing_id() -> None:
    assert classify({"method": "update", "params": [1, 2], "id": None}) == Notification(
        "update", [1, 2]
    )
    assert classify({"method": "update", "params": []}) == Notification("update", [])
    assert classify(notification("x", [])) == Notification("x", [])


def test_reply_and_error() -> None:
    assert classify({"result": [1], "error": None, "id": "a"}) == Reply([1], "a")
    assert classify({"result": {}, "id": 0}) == Reply({}, 0)
    assert classify({"result": None, "error": "oops", "id": 3}) == ErrorReply("oops", 3)
    assert classify({"error": {"error": "x"}, "id": 3}) == ErrorReply({"error": "x"}, 3)
    assert classify(reply(False, 1)) == Reply(False, 1)
    assert classify(error_reply("e", 1)) == ErrorReply("e", 1)
    assert Reply(0, 1).to_json() == {"result": 0, "error": None, "id": 1}
    assert ErrorReply("e", 1).to_json() == {"result": None, "error": "e", "id": 1}


def test_falsy_but_present_values_count() -> None:
    # Only JSON null counts as absent; 0, false, "" and [] are present.
    assert classify({"result": 0, "error": None, "id": 0}) == Reply(0, 0)
    assert classify({"method": "m", "params": [], "id": False}) == Request("m", [], False)
    assert classify({"method": "", "params": [], "id": ""}) == Request("", [], "")


@pytest.mark.parametrize(
    ("obj", "error"),
    [
        ([1, 2], "message is not a JSON object"),
        ("str", "message is not a JSON object"),
        (None, "message is not a JSON object"),
        ({"method": 5, "params": [], "id": 1}, "method is not a JSON string"),
        (
            {"method": "m", "params": [], "id": 1, "extra": 1},
            'message has unexpected member "extra"',
        ),
        ({"method": "m", "params": {}, "id": 1}, '"params" must be JSON array'),
        ({"method": "m", "params": "x", "id": None}, '"params" must be JSON array'),
        ({"method": "m", "id": 1}, 'request must have "params"'),
        ({"params": [], "id": 1}, 'request must have "method"'),
        # result and error both null: OVS sees a request without a method.
        ({"result": None, "error": None, "id": 1}, 'request must have "method"'),
        ({"method": "m", "id": None}, 'notification must have "params"'),
        ({}, 'notification must have "method"'),
        ({"params": []}, 'notification must have "method"'),
        ({"result": 1, "error": "e", "id": 1}, 'reply must not have "error"'),
        ({"result": 1}, 'reply must have "id"'),
        ({"result": 1, "id": 1, "method": "m"}, 'reply must not have "method"'),
        ({"result": 1, "id": 1, "params": []}, 'reply must not have "params"'),
        ({"error": "e"}, 'error must have "id"'),
        ({"error": "e", "id": 1, "method": "m"}, 'error must not have "method"'),
        ({"error": "e", "id": 1, "params": []}, 'error must not have "params"'),
    ],
)
def test_rejections(obj: Any, error: str) -> None:
    with pytest.raises(ProtocolError) as info:
        classify(obj)
    assert str(info.value) == error
