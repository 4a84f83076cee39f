"""Fixtures shared by the integration tests (see procs.py for what they start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .procs import Central, require_server, require_tools, under_test


@pytest.fixture
def kind() -> str:
    """The server compared with the real one (pyovn unless INTEGRATION_SERVER=real)."""
    k = under_test()
    require_tools()
    require_server(k)
    return k


@pytest.fixture
def real_central() -> Iterator[Central]:
    require_tools()
    c = Central("real", tag="ref")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def test_central(kind: str) -> Iterator[Central]:
    c = Central(kind, tag="sut")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def real_northd() -> Iterator[Central]:
    require_tools()
    c = Central("real", northd=True, tag="ref")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def test_northd(kind: str) -> Iterator[Central]:
    c = Central(kind, northd=True, tag="sut")
    try:
        yield c
    finally:
        c.stop()
