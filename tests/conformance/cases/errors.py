"""Malformed input: JSON framing, JSON-RPC envelopes, methods and parameters.  Every case
then checks that the server still serves a second, well-behaved client."""

from __future__ import annotations

from typing import Any

from .common import Case, Script, ins, select

# Bytes that break framing or JSON-RPC; the server may answer or close that one connection.
RAW: list[tuple[str, bytes]] = [
    ("truncated-object", b'{"method": xx'),
    ("bad-literal", b'{"method": xx}'),
    ("bare-word", b"xx "),
    ("binary", b"\x00\x01\x02"),
    ("close-bracket", b"]"),
    ("close-brace", b"}"),
    ("number", b"1 "),
    ("string", b'"str"'),
    ("array", b"[1,2]"),
    ("empty-object", b"{}"),
    ("null", b"null "),
    ("true", b"true "),
    ("method-only", b'{"method":"echo"}'),
    ("method-not-string", b'{"method":7,"params":[],"id":1}'),
    ("params-object", b'{"method":"echo","params":{},"id":1}'),
    ("params-string", b'{"method":"echo","params":"x","id":1}'),
    ("extra-member", b'{"method":"echo","params":[],"id":1,"extra":1}'),
    ("reply-unsolicited", b'{"result":7,"error":null,"id":7}'),
    ("error-unsolicited", b'{"result":null,"error":"x","id":7}'),
    ("reply-without-id", b'{"result":7,"error":null}'),
    ("result-and-method", b'{"method":"echo","params":[],"result":1,"id":1}'),
    ("number-overflow", b'{"method":"echo","params":[1e400],"id":1}'),
    ("big-integer", b'{"method":"echo","params":[12345678901234567890],"id":1}'),
    ("negative-zero", b'{"method":"echo","params":[-0.0, -0],"id":1}'),
    ("reals", b'{"method":"echo","params":[1.5e300, 0.1, 1E2, 5e-324, 1.0],"id":1}'),
    ("int-limits", b'{"method":"echo","params":[9223372036854775807,-9223372036854775808],'
                   b'"id":1}'),
    ("unicode-escapes", b'{"method":"echo","params":["\\u00e9\\ud83d\\ude00\\n\\t"],"id":1}'),
    ("lone-surrogate", b'{"method":"echo","params":["\\ud800"],"id":1}'),
    # Not here: "invalid-utf8" ('["\xff\xfe"]' inside a string).  The real server echoes
    # the bytes back; pyovn refuses text that is not UTF-8 (RFC 8259 section 8.1) and closes
    # that connection, a deliberate difference pinned by tests/ovsdb/test_server_input.py.
    ("control-char", b'{"method":"echo","params":["a\x01b"],"id":1}'),
    ("bad-escape", b'{"method":"echo","params":["\\q"],"id":1}'),
    ("duplicate-key", b'{"method":"echo","method":"echo","params":[],"id":1}'),
    ("trailing-comma", b'{"method":"echo","params":[1,],"id":1}'),
    ("single-quotes", b"{'method':'echo'}"),
    ("nan", b'{"method":"echo","params":[NaN],"id":1}'),
    ("leading-zero", b'{"method":"echo","params":[01],"id":1}'),
    ("two-messages-one-write", b'{"method":"echo","params":[1],"id":1}'
                               b'{"method":"echo","params":[2],"id":2}'),
    ("message-split-by-newlines", b'{"method":\n"echo",\r\n"params":[3],\t"id":3}\n\n'),
    ("deep-nesting-ok", b'{"method":"echo","params":' + b"[" * 500 + b"]" * 500 + b',"id":1}'),
    ("deep-nesting-too-deep", b'{"method":"echo","params":' + b"[" * 2000 + b"]" * 2000
     + b',"id":1}'),
    ("oversized-echo", b'{"method":"echo","params":["' + b"a" * (4 << 20) + b'"],"id":1}'),
    ("oversized-garbage", b"[" + b"1," * (1 << 20) + b"x]"),
    ("id-types", b'{"method":"echo","params":[],"id":{"a":[1,null]}}'
                 b'{"method":"echo","params":[],"id":1.5}{"method":"echo","params":[],'
                 b'"id":"s"}{"method":"echo","params":[],"id":true}'),
]


def _raw_cases() -> list[Case]:
    cases: list[Case] = []
    for name, data in RAW:
        s = Script(f"raw-{name}", clients=2)
        s.raw(0, data)
        s.recv(0)
        s.recv(0)
        s.tx(ins("Atoms", {"i": 1}), select("Atoms", [], ["i"]), c=1)
        cases.append(s.case())
    s = Script("raw-byte-at-a-time", clients=1)
    for b in b'{"method":"echo","params":["slow"],"id":"slow"}':
        s.raw(0, bytes([b]))
    s.recv(0)
    cases.append(s.case())
    s = Script("raw-garbage-other-client-monitor", clients=2)
    s.send(1, "monitor", [s.db, "m", {"Atoms": {"columns": ["i"]}}])
    s.recv(1)
    s.raw(0, b"garbage]")
    s.recv(0)
    s.tx(ins("Atoms", {"i": 5}), c=1)
    cases.append(s.case())
    return cases


# (method, params) with wrong methods or parameters
CALLS: list[tuple[str, Any]] = [
    ("nope", []),
    ("", []),
    ("ECHO", []),
    ("list_dbs", [1]),
    ("list_dbs", {}),
    ("get_schema", []),
    ("get_schema", [1]),
    ("get_schema", ["Nope"]),
    ("get_schema", ["Conformance", "extra"]),
    ("get_schema", ["_Server"]),
    ("transact", []),
    ("transact", [1]),
    ("transact", ["Nope", {"op": "comment", "comment": "x"}]),
    ("transact", ["Conformance", 1]),
    ("transact", ["Conformance", [{"op": "comment"}]]),
    ("transact", [None]),
    ("monitor", []),
    ("monitor", [1, None, {}]),
    ("monitor_cancel", []),
    ("monitor_cancel", ["nope"]),
    ("monitor_cancel", [1, 2]),
    ("monitor_cond_change", []),
    ("monitor_cond_change", ["a", "b", {}]),
    ("lock", []),
    ("get_server_id", [1]),
    ("set_db_change_aware", []),
    ("set_db_change_aware", [1]),
    ("set_db_change_aware", [True, True]),
    ("set_db_change_aware", [False]),
    ("echo", [{"nested": [1, 2, {"x": None}]}, "two", 3]),
    ("convert", ["Conformance", {}]),
    ("cancel", [1]),
]


def _call_cases() -> list[Case]:
    cases: list[Case] = []
    for n, (method, params) in enumerate(CALLS):
        s = Script(f"call-{n:02d}-{method or 'empty'}", clients=2)
        s.send(0, method, params)
        s.recv(0)
        s.send(0, method, params, notify=True)
        s.recv(0)
        s.call(1, "echo", "still", "alive")
        cases.append(s.case())
    return cases


CASES: list[Case] = _raw_cases() + _call_cases()
