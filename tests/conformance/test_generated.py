"""Hypothesis-generated transaction sequences (derandomized), compared with the real server."""

from __future__ import annotations

import pytest
from hypothesis import given

from .conftest import Servers
from .generated import SETTINGS, atoms_sequence, checker, refs_sequence
from .harness import Case

pytestmark = pytest.mark.real


@SETTINGS
@given(case=atoms_sequence())
def test_generated_atoms(conformance_servers: Servers, case: Case) -> None:
    s = conformance_servers
    checker(s.ref, s.other, s.executor)(case)


@SETTINGS
@given(case=refs_sequence())
def test_generated_refs(conformance_servers: Servers, case: Case) -> None:
    s = conformance_servers
    checker(s.ref, s.other, s.executor)(case)
