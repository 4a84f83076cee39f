"""OVSDB errors as RFC 7047 reports them: a short tag ("error") and human "details"."""

from __future__ import annotations

from typing import Any

import orjson


class OvsdbError(Exception):
    """An error that becomes an RFC 7047 error object in a reply."""

    def __init__(self, tag: str, details: str | None = None, syntax: Any = None) -> None:
        super().__init__(f"{tag}: {details}" if details else tag)
        self.tag = tag
        self.details = details
        self.syntax = syntax  # the offending JSON, reported back as text like ovsdb-server does

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"error": self.tag}
        if self.details is not None:
            obj["details"] = self.details
        if self.syntax is not None:
            obj["syntax"] = json_text(self.syntax)
        return obj


def json_text(value: Any) -> str:
    """Compact JSON text with sorted keys, as Open vSwitch's json_to_string() prints it."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def syntax_error(syntax: Any, details: str) -> OvsdbError:
    return OvsdbError("syntax error", details, syntax)


def constraint_violation(details: str) -> OvsdbError:
    return OvsdbError("constraint violation", details)
