"""Every hand-written case, one test id each: same replies and notifications as the real
ovsdb-server once UUIDs are normalised."""

from __future__ import annotations

import pytest

from .cases import all_cases
from .conftest import Servers
from .harness import Case, compare_case, diff

pytestmark = pytest.mark.real

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, conformance_servers: Servers) -> None:
    s = conformance_servers
    o = compare_case(case, s.ref, s.other, s.executor)
    if o.error:
        pytest.fail(o.error)
    if o.nondeterministic:
        pytest.fail("the real ovsdb-server does not reproduce its own transcript: "
                    "the case depends on hash order and must be rewritten")
    if not o.ok:
        pytest.fail(f"{o.summary()}\n" + diff(o.expected, o.actual, ("real", s.kind)),
                    pytrace=False)
