"""pyovn nbctl against the real ovn-nbctl, side by side.

- batch: one invocation with N commands ("ls-add sw0 -- lsp-add sw0 p0 -- ... " and
  lsp-set-addresses for each port), the way orchestration scripts build big changes;
- separate: M invocations of one small command each (startup cost dominates);
- startup: wall time of `pyovn nbctl ls-list` against an empty database.

Each tool runs against a fresh server of each kind (real ovsdb-server, pyovn ovsdb-server).

    .venv/bin/python bench/nbctl_bench.py [--batch 1000] [--separate 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The test suite's server launcher (real or pyovn ovsdb-server, stopped by pid).
from tests.ctl.golden import Servers

TOOLS = {"ovn-nbctl": ["ovn-nbctl"], "pyovn nbctl": [sys.executable, "-m", "pyovn", "nbctl"]}


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=600)
    elapsed = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"{cmd[:4]}... failed: {proc.stderr.decode()[-500:]}")
    return elapsed


def batch_args(n: int) -> list[str]:
    """n commands: a switch, then ports alternating lsp-add / lsp-set-addresses."""
    args = ["ls-add", "sw0"]
    i = 0
    while args.count("--") + 2 < n:
        args += ["--", "lsp-add", "sw0", f"p{i}"]
        args += ["--", "lsp-set-addresses", f"p{i}", f"00:00:00:00:{i >> 8 & 255:02x}:"
                 f"{i & 255:02x} 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"]
        i += 1
    return args


def count_commands(args: list[str]) -> int:
    return args.count("--") + 1


def bench(tool: str, server: str, n_batch: int, n_separate: int) -> dict[str, float]:
    out: dict[str, float] = {}
    servers = Servers(server, northd=False)
    try:
        env = dict(os.environ, OVN_NB_DB=servers.nb)
        env.pop("OVN_NB_DAEMON", None)
        base = TOOLS[tool]
        out["startup"] = statistics.median(_run([*base, "ls-list"], env) for _ in range(5))
        args = batch_args(n_batch)
        out["batch"] = _run([*base, *args], env)
        t = time.perf_counter()
        for i in range(n_separate):
            _run([*base, "ls-add", f"s{i}"], env)
        out["separate"] = time.perf_counter() - t
        out["commands"] = count_commands(args)
    finally:
        servers.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--separate", type=int, default=100)
    opts = ap.parse_args()
    print(f"{'server':<8} {'tool':<12} {'startup ls-list':>16} "
          f"{'batch of ' + str(opts.batch):>16} {str(opts.separate) + ' invocations':>16}")
    for server in ("real", "pyovn"):
        results = {tool: bench(tool, server, opts.batch, opts.separate) for tool in TOOLS}
        for tool, r in results.items():
            print(f"{server:<8} {tool:<12} {r['startup'] * 1000:>14.0f}ms "
                  f"{r['batch']:>15.2f}s {r['separate']:>15.2f}s")
        ref, ours = results["ovn-nbctl"], results["pyovn nbctl"]
        print(f"{server:<8} {'ratio':<12} {ours['startup'] / ref['startup']:>15.1f}x "
              f"{ours['batch'] / ref['batch']:>15.1f}x {ours['separate'] / ref['separate']:>15.1f}x"
              f"   (pyovn / real; batch = {int(ref['commands'])} commands)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
