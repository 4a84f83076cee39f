"""Smoke test of bench/ovsdb_bench.py: a --quick run on pyovn's server reports numbers.
No timing is asserted, only that every metric was measured and the counts are right."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from .procs import ROOT, require_server, require_tools, under_test

pytestmark = pytest.mark.real
BENCH = ROOT / "bench" / "ovsdb_bench.py"


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          timeout=600)


def test_quick_bench_reports_numbers() -> None:
    kind = under_test()
    require_tools()
    require_server(kind)
    args = ["--quick", "--json", "--only", "pyovn"]
    if kind == "real":
        args += ["--pyovn-cmd", "ovsdb-server"]
    r = run_bench(*args)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    res = out["results"]["pyovn"]
    assert "error" not in res
    p = out["params"]
    assert res["a_seq_txns"] == p["seq"]
    assert res["b_bulk_rows"] == p["bulk"]
    assert res["c_monitor_rows"] == res["c_monitor_cond_rows"] == p["seq"] + p["bulk"]
    assert res["d_fanout_clients"] == p["clients"]
    for key in ("a_seq_txn_per_s", "b_bulk_seconds", "c_monitor_initial_seconds",
                "c_monitor_cond_initial_seconds", "d_fanout_all_received_ms_median",
                "server_rss_kb_end"):
        assert isinstance(res[key], int | float) and res[key] > 0, key
    assert out["results"]["real"].get("skipped")


def test_bench_table_names_both_servers_and_the_ratio_direction() -> None:
    require_tools()
    r = run_bench("--quick", "--only", "real")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ">= 1.0 means pyovn is at least as fast" in r.stdout
    assert "txn/s" in r.stdout and "real" in r.stdout and "pyovn" in r.stdout


def test_bench_rejects_bad_options() -> None:
    r = run_bench("--only", "mysql")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = run_bench("--seq", "0")
    assert r.returncode == 2 and "--seq must be at least 1" in r.stderr


def test_bench_reports_a_server_that_does_not_start() -> None:
    require_tools()
    r = run_bench("--quick", "--only", "pyovn", "--pyovn-cmd", "false")
    assert r.returncode == 1
    assert "pyovn: FAILED" in r.stdout and "exited with" in r.stdout
    kept = [line.split(" in ", 1)[1] for line in r.stdout.splitlines()
            if line.startswith("pyovn: logs kept in ")]
    assert len(kept) == 1 and os.path.isdir(kept[0])
    assert os.path.exists(os.path.join(kept[0], "nb.db"))
    shutil.rmtree(kept[0])
