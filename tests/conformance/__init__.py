"""Differential OVSDB conformance suite: the same JSON-RPC conversations are held with the
real Open vSwitch ovsdb-server and with pyovn's, and the normalised transcripts must be equal.

Run:
    .venv/bin/pytest tests/conformance                         # real vs pyovn
    .venv/bin/pytest tests/conformance --conformance-server=real   # real vs real (sanity)
    CONFORMANCE_SERVER=real .venv/bin/pytest tests/conformance
    .venv/bin/python -m tests.conformance.report [--server real] [-k NAME] [--diff]

Layout: harness.py (servers, raw clients, runner, normaliser), cases/*.py (hand-written cases
by topic), generated.py (hypothesis sequences), schemas/conformance.ovsschema.
"""
