"""Daemon options: pidfile, detach, log file format, -v specs, unixctl socket, cleanup."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from pyovn.jsonrpc.daemon import add_daemon_options, normalize_argv, parse_args, run_async_main

SCRIPT = textwrap.dedent(
    """
    import argparse, asyncio, logging, sys
    from pyovn.jsonrpc.daemon import (
        DaemonError, add_daemon_options, parse_args, run_async_main, setup_daemon)

    log = logging.getLogger("pyovn.testd")

    def main() -> int:
        p = argparse.ArgumentParser(prog="testd")
        add_daemon_options(p)
        p.add_argument("db", nargs="?")
        args = parse_args(p, sys.argv[1:])
        try:
            ctx = setup_daemon(args, "testd")
        except DaemonError as e:
            print(f"testd: {e}", file=sys.stderr)
            return 1

        async def serve() -> None:
            stop = asyncio.Event()
            server = await ctx.start_unixctl()
            assert server is not None
            server.register("test/stop", 0, 0, "", lambda a: (stop.set(), "bye")[1])
            log.info("started, db=%s", args.db)
            log.debug("a debug message")
            ctx.startup_done()
            await stop.wait()
            await asyncio.sleep(0.05)
            await server.close()

        run_async_main(serve())
        return 0

    sys.exit(main())
    """
)

LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|\d{5}\|[\w-]+\|(EMER|ERR|WARN|INFO|DBG)\|"
)


@pytest.fixture
def daemon_env(tmpdir_short: str) -> Iterator[tuple[str, dict[str, str]]]:
    script = os.path.join(tmpdir_short, "testd.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    env = dict(os.environ, OVS_RUNDIR=tmpdir_short, OVS_LOGDIR=tmpdir_short)
    yield script, env


def read_pid(path: str) -> int:
    with open(path) as f:
        return int(f.read().strip())


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def start(script: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, script, *args], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.skipif(shutil.which("ovs-appctl") is None, reason="no ovs-appctl")
def test_detached_daemon_lifecycle(daemon_env: tuple[str, dict[str, str]]) -> None:
    script, env = daemon_env
    rundir = env["OVS_RUNDIR"]
    pidfile = os.path.join(rundir, "testd.pid")
    logfile = os.path.join(rundir, "testd.log")
    # "--pidfile db.file": like getopt, the bare option must not eat the next word.
    proc = start(script, env, "--detach", "--log-file", "-vconsole:off", "-vfile:dbg",
                 "--no-chdir", "--monitor", "--user=nobody", "--pidfile", "db.file")
    assert proc.returncode == 0, proc.stderr
    pid = read_pid(pidfile)
    try:
        os.kill(pid, 0)  # the daemon runs, as a process other than the one that exited
        ctl = os.path.join(rundir, f"testd.{pid}.ctl")
        assert os.path.exists(ctl)

        # The real ovs-appctl resolves the name through the (locked) pidfile.
        r = subprocess.run(["ovs-appctl", "-t", "testd", "version"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout) == (0, "testd (pyovn) 0.1.0\n"), r.stderr
        r = subprocess.run([sys.executable, "-m", "pyovn", "appctl", "-t", "testd",
                            "vlog/list"], env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert re.search(r"^testd +OFF +INFO +DBG$", r.stdout, re.M), r.stdout

        # A second instance refuses to start while the first holds the pidfile.
        second = start(script, env, "--pidfile", "--unixctl=none")
        assert second.returncode == 1
        assert f"{pidfile}: already running as pid {pid}, aborting" in second.stderr

        r = subprocess.run(["ovs-appctl", "-t", "testd", "test/stop"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout) == (0, "bye\n")
        assert wait_gone(pid)
    finally:
        if not wait_gone(pid, 0.1):
            os.kill(pid, signal.SIGKILL)
    assert not os.path.exists(pidfile)
    assert not os.path.exists(ctl)
    with open(logfile) as f:
        lines = f.read().splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines
    assert any(line.endswith("|testd|INFO|started, db=db.file") for line in lines)
    assert any(line.endswith("|testd|DBG|a debug message") for line in lines)
    seqs = [int(line.split("|")[1]) for line in lines]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_sigterm_removes_pidfile(daemon_env: tuple[str, dict[str, str]]) -> None:
    script, env = daemon_env
    rundir = env["OVS_RUNDIR"]
    pidfile = os.path.join(rundir, "my.pid")
    proc = start(script, env, "--detach", "--pidfile=my.pid", "--unixctl=my.ctl",
                 f"--log-file={rundir}/x.log", "-vconsole:off")
    assert proc.returncode == 0, proc.stderr
    pid = read_pid(pidfile)
    assert os.path.exists(os.path.join(rundir, "my.ctl"))
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid)
    assert not os.path.exists(pidfile)
    assert not os.path.exists(os.path.join(rundir, "my.ctl"))
    with open(f"{rundir}/x.log") as f:
        assert "|fatal_signal|WARN|terminating with signal 15 (Terminated)" in f.read()


def test_stale_pidfile_is_replaced(daemon_env: tuple[str, dict[str, str]]) -> None:
    script, env = daemon_env
    pidfile = os.path.join(env["OVS_RUNDIR"], "testd.pid")
    with open(pidfile, "w") as f:
        f.write("1\n")  # nobody holds its lock: stale
    proc = start(script, env, "--detach", "--pidfile", "-vconsole:off")
    assert proc.returncode == 0, proc.stderr
    pid = read_pid(pidfile)
    assert pid != 1
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid)


def test_startup_failure_makes_parent_fail(daemon_env: tuple[str, dict[str, str]]) -> None:
    script, env = daemon_env
    proc = start(script, env, "--detach", "--unixctl=/nonexistent-dir/x.ctl")
    assert proc.returncode == 1
    assert "fork child died before signaling startup" in proc.stderr


def test_console_logging_format_and_off(daemon_env: tuple[str, dict[str, str]]) -> None:
    script, env = daemon_env
    # Foreground, console at info: the startup line goes to stderr without milliseconds.
    p = subprocess.Popen([sys.executable, script, "--unixctl=fg.ctl"], env=env,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        line = p.stderr.readline()
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d{5}\|testd\|INFO\|started", line)
        r = subprocess.run([sys.executable, "-m", "pyovn", "appctl", "-t",
                            os.path.join(env["OVS_RUNDIR"], "fg.ctl"), "test/stop"],
                           env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    p2 = subprocess.Popen([sys.executable, script, "--unixctl=fg2.ctl", "-vconsole:off"],
                          env=env, stderr=subprocess.PIPE, text=True)
    try:
        ctl = os.path.join(env["OVS_RUNDIR"], "fg2.ctl")
        deadline = time.monotonic() + 20
        while not os.path.exists(ctl) and time.monotonic() < deadline:
            time.sleep(0.02)
        subprocess.run([sys.executable, "-m", "pyovn", "appctl", "-t", ctl, "test/stop"],
                       env=env, capture_output=True, timeout=30)
        _, err = p2.communicate(timeout=30)
        assert err == ""
    finally:
        if p2.poll() is None:
            p2.kill()
            p2.wait()


def test_bad_verbose_spec(daemon_env: tuple[str, dict[str, str]]) -> None:
    script, env = daemon_env
    proc = start(script, env, "-vconsole:loud")
    assert proc.returncode == 1
    assert 'no destination, level, or module "loud"' in proc.stderr


def test_normalize_argv_and_parsing() -> None:
    assert normalize_argv(["-v", "--pidfile", "db", "--log-file", "-vdbg", "--", "-v"]) == [
        "--verbose=", "--pidfile=", "db", "--log-file=", "-vdbg", "--", "-v"]
    p = argparse.ArgumentParser()
    add_daemon_options(p)
    p.add_argument("db", nargs="?")
    a = parse_args(p, ["--pidfile", "x.db", "-v", "-vconsole:off", "--verbose=file:dbg"])
    assert a.pidfile == "" and a.db == "x.db"
    assert a.verbose == ["", "console:off", "file:dbg"]
    a = parse_args(p, ["--pidfile=/tmp/p", "--log-file=l", "--unixctl=none", "--detach"])
    assert (a.pidfile, a.log_file, a.unixctl, a.detach) == ("/tmp/p", "l", "none", True)
    # Plain parse_args is safe as well.
    a = p.parse_args(["--log-file", "y.db", "-v"])
    assert (a.log_file, a.db, a.verbose) == ("", "y.db", [""])
    a = p.parse_args(["--pidfile=/tmp/p", "--log-file=l", "--unixctl=none", "--detach"])
    assert (a.pidfile, a.log_file, a.unixctl, a.detach) == ("/tmp/p", "l", "none", True)


def test_run_async_main_returns_value() -> None:
    async def f() -> int:
        return 42

    assert run_async_main(f()) == 42
