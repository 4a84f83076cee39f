"""Integration tests: real OVN/OVS clients and daemons against pyovn (see procs.py)."""
