"""Script mode: run every case on two servers and print what matches and what differs.

    python -m tests.conformance.report [--server real|pyovn] [-k SUBSTRING] [--diff]
        [--fresh] [--no-generated] [--dump DIR]

``--server real`` compares the real ovsdb-server with a second real one (a harness sanity
check that must match 100%); the default compares the real server with pyovn's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .cases import all_cases
from .harness import PYOVN_CMD, REAL_CMD, Outcome, ServerPool, compare_case, diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.conformance.report")
    ap.add_argument("--server", choices=["real", "pyovn"], default="pyovn")
    ap.add_argument("-k", dest="keyword", default="", help="only cases whose name contains this")
    ap.add_argument("--diff", action="store_true", help="print a full diff for each failure")
    ap.add_argument("--fresh", action="store_true", help="a new server for every case")
    ap.add_argument("--no-generated", action="store_true", help="skip hypothesis sequences")
    ap.add_argument("--dump", type=Path, help="write both transcripts of each case here")
    args = ap.parse_args(argv)

    other_cmd = REAL_CMD if args.server == "real" else PYOVN_CMD
    ref = ServerPool(REAL_CMD, always_fresh=args.fresh)
    other = ServerPool(other_cmd, always_fresh=args.fresh)
    cases = [c for c in all_cases() if args.keyword in c.name]
    outcomes: list[Outcome] = []
    start = time.monotonic()
    try:
        with ThreadPoolExecutor(2) as ex:
            for case in cases:
                o = compare_case(case, ref, other, ex)
                outcomes.append(o)
                if args.dump:
                    args.dump.mkdir(parents=True, exist_ok=True)
                    (args.dump / f"{case.name}.json").write_text(
                        json.dumps({"real": o.expected, "other": o.actual}, indent=1,
                                   ensure_ascii=True))
                if not o.ok:
                    tag = "NONDETERMINISTIC-CASE" if o.nondeterministic else "DIFF"
                    print(f"{tag} {case.name}: {o.summary()}", flush=True)
                    if args.diff and not o.error:
                        print(diff(o.expected, o.actual, ("real", args.server)))
        gen_failures: list[str] = []
        if not args.no_generated and not args.keyword:
            from . import generated

            gen_failures = generated.run_all(ref, other)
            for g in gen_failures:
                print(f"DIFF generated: {g}", flush=True)
    finally:
        ref.close()
        other.close()
    n = len(outcomes)
    ok = sum(o.ok for o in outcomes)
    ok2 = sum(o.ok_ignoring_details for o in outcomes)
    print()
    print(f"{ok}/{n} cases identical; {ok2}/{n} identical ignoring error 'details' texts; "
          f"{time.monotonic() - start:.1f}s")
    if not args.no_generated and not args.keyword:
        print(f"generated sequences: {'all identical' if not gen_failures else 'DIFFERENCES'}")
    return 0 if ok == n and not (not args.no_generated and not args.keyword and gen_failures) \
        else 1


if __name__ == "__main__":
    sys.exit(main())
