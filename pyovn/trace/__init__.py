"""A logical packet tracer over the Southbound logical flows: ovn-trace(8) in Python."""

from pyovn.trace.main import main, run_trace
from pyovn.trace.sb import SB, TraceError, fetch_sb, load_sb

__all__ = ["SB", "TraceError", "fetch_sb", "load_sb", "main", "run_trace"]
