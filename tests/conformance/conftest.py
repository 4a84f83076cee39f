"""Fixtures for the differential conformance suite.

Which server is compared with the real ovsdb-server:
  --conformance-server=pyovn|real   (pytest option, when pytest is run on tests/conformance)
  CONFORMANCE_SERVER=pyovn|real     (environment; works from any directory)
``real`` compares two real servers: a sanity check of the harness that must always pass.
--conformance-fresh / CONFORMANCE_FRESH=1 start a new server for every case.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from .harness import PYOVN_CMD, PYOVN_SERVER_MODULE, REAL_CMD, ServerPool


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--conformance-server", choices=["pyovn", "real"], default=None,
                    help="server compared with the real ovsdb-server (default pyovn)")
    group.addoption("--conformance-fresh", action="store_true", default=False,
                    help="start a new server for every case")


@dataclass
class Servers:
    kind: str
    ref: ServerPool
    other: ServerPool
    executor: ThreadPoolExecutor


def _kind(config: pytest.Config) -> str:
    opt = config.getoption("--conformance-server", default=None)
    return str(opt or os.environ.get("CONFORMANCE_SERVER", "pyovn"))


@pytest.fixture(scope="session")
def conformance_servers(pytestconfig: pytest.Config) -> Iterator[Servers]:
    if shutil.which("ovsdb-server") is None or shutil.which("ovsdb-tool") is None:
        pytest.skip("the real ovsdb-server/ovsdb-tool are not installed")
    kind = _kind(pytestconfig)
    if kind == "pyovn" and not PYOVN_SERVER_MODULE.exists():
        pytest.skip("pyovn's ovsdb-server does not exist yet (use --conformance-server=real)")
    fresh = bool(pytestconfig.getoption("--conformance-fresh", default=False)) or (
        os.environ.get("CONFORMANCE_FRESH", "") == "1"
    )
    ref = ServerPool(REAL_CMD, always_fresh=fresh)
    other = ServerPool(REAL_CMD if kind == "real" else PYOVN_CMD, always_fresh=fresh)
    with ThreadPoolExecutor(2) as ex:
        try:
            yield Servers(kind, ref, other, ex)
        finally:
            ref.close()
            other.close()
