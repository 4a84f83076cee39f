"""UnixctlServer against the real ovs-appctl, and `pyovn appctl` against real daemons."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Coroutine
from typing import Any

import pytest

from pyovn.jsonrpc import appctl
from pyovn.jsonrpc.unixctl import UnixctlError, UnixctlServer, unixctl_call
from pyovn.jsonrpc.vlog import Vlog

needs_appctl = pytest.mark.skipif(shutil.which("ovs-appctl") is None, reason="no ovs-appctl")


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


async def ovs_appctl(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "ovs-appctl", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def make_server() -> UnixctlServer:
    server = UnixctlServer("pyovn-test", vlog=Vlog())

    def greet(args: list[str]) -> str:
        return "hello " + " ".join(args)

    async def slow(args: list[str]) -> str:
        await asyncio.sleep(0.01)
        return "done\n"

    def fail(args: list[str]) -> str:
        raise UnixctlError(f"cannot {args[0]}")

    def crash(args: list[str]) -> str:
        raise RuntimeError("boom")

    server.register("test/greet", 0, 3, "[NAME...]", greet)
    server.register("test/slow", 0, 0, "", slow)
    server.register("test/fail", 1, 1, "WHAT", fail)
    server.register("test/crash", 0, 0, "", crash)
    return server


@needs_appctl
def test_real_ovs_appctl_against_pyovn(tmpdir_short: str) -> None:
    sock = os.path.join(tmpdir_short, "t.ctl")

    async def go() -> None:
        server = make_server()
        assert await server.start(sock) == sock
        try:
            rc, out, err = await ovs_appctl("-t", sock, "help")
            assert rc == 0, err
            assert out.startswith("The available commands are:\n")
            assert "  test/greet              [NAME...]\n" in out
            assert "  vlog/set                {spec | PATTERN:destination:pattern}\n" in out

            rc, out2, _ = await ovs_appctl("-t", sock, "list-commands")
            assert out2 == out

            rc, out, _ = await ovs_appctl("-t", sock, "version")
            assert (rc, out) == (0, "pyovn-test (pyovn) 0.1.0\n")

            rc, out, _ = await ovs_appctl("-t", sock, "test/greet", "a", "b c")
            assert (rc, out) == (0, "hello a b c\n")
            rc, out, _ = await ovs_appctl("-t", sock, "test/slow")
            assert (rc, out) == (0, "done\n")

            rc, out, err = await ovs_appctl("-t", sock, "test/fail", "fly")
            assert rc == 2 and out == ""
            assert err.startswith("cannot fly\n")
            assert "server returned an error" in err

            rc, _, err = await ovs_appctl("-t", sock, "test/greet", "1", "2", "3", "4")
            assert rc == 2
            assert err.startswith('"test/greet" command takes at most 3 arguments\n')
            rc, _, err = await ovs_appctl("-t", sock, "test/fail")
            assert err.startswith('"test/fail" command requires at least 1 arguments\n')
            rc, _, err = await ovs_appctl("-t", sock, "nosuch")
            assert rc == 2
            assert err.startswith('"nosuch" is not a valid command (use "list-commands" '
                                  "to see a list of valid commands)\n")
            rc, _, err = await ovs_appctl("-t", sock, "test/crash")
            assert rc == 2 and "internal error: boom" in err

            # vlog
            rc, out, _ = await ovs_appctl("-t", sock, "vlog/set", "unixctl:file:dbg")
            assert (rc, out) == (0, "")
            rc, out, _ = await ovs_appctl("-t", sock, "vlog/list")
            assert out.startswith("                 console    syslog    file\n")
            assert "unixctl           INFO       INFO        DBG\n" in out
            rc, _, err = await ovs_appctl("-t", sock, "vlog/set", "console:bogus")
            assert rc == 2 and err.startswith('no destination, level, or module "bogus"\n')
            rc, _, err = await ovs_appctl("-t", sock, "vlog/reopen")
            assert rc == 2 and err.startswith("Logging to file not configured")
        finally:
            await server.close()
        assert not os.path.exists(sock)

    run(go())


def test_unixctl_call_and_bad_requests(tmpdir_short: str) -> None:
    sock = os.path.join(tmpdir_short, "u.ctl")

    async def go() -> None:
        server = make_server()
        await server.start(sock)
        try:
            assert await unixctl_call(sock, "test/greet", ["x"]) == "hello x\n"
            assert await unixctl_call(sock, "test/greet", []) == "hello \n"
            with pytest.raises(UnixctlError, match="cannot swim"):
                await unixctl_call(sock, "test/fail", ["swim"])
            # Non-string arguments are refused as OVS does.
            ok, body = await server.run_command("test/greet", [1])
            assert (ok, body) == (False, '"test/greet" command has non-string argument')
            # Relative paths live in the rundir.
            os.environ["OVS_RUNDIR"] = tmpdir_short
            try:
                assert await unixctl_call("u.ctl", "version", []) == "pyovn-test (pyovn) 0.1.0\n"
            finally:
                del os.environ["OVS_RUNDIR"]
            with pytest.raises(OSError):
                await unixctl_call(os.path.join(tmpdir_short, "none.ctl"), "version", [])
            # A reply that is not a request closes the connection; the server goes on.
            reader, writer = await asyncio.open_unix_connection(sock)
            writer.write(b'{"result": "x", "error": null, "id": 1}')
            assert await reader.read() == b""
            writer.close()
            reader, writer = await asyncio.open_unix_connection(sock)
            writer.write(b"\x00garbage")
            assert await reader.read() == b""
            writer.close()
            assert await unixctl_call(sock, "test/greet", ["again"]) == "hello again\n"
        finally:
            await server.close()

    run(go())


def test_register_validates_counts() -> None:
    server = UnixctlServer()
    with pytest.raises(ValueError):
        server.register("x", 2, 1, "", lambda args: "")
    server.register("x", 0, 0, "", lambda args: "")
    assert "x" in server.commands()


# --- pyovn appctl --------------------------------------------------------------------------


def appctl_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = appctl.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_pyovn_appctl_against_real_ovsdb_server(
    ovsdb_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ctl = ovsdb_server.ctl_sock
    rc, out, err = appctl_main(["-t", ctl, "version"], capsys)
    assert rc == 0, err
    assert out.startswith("ovsdb-server (Open vSwitch)")
    rc, out, _ = appctl_main([f"--target={ctl}", "list-commands"], capsys)
    assert rc == 0 and "ovsdb-server/list-dbs" in out
    rc, out, _ = appctl_main(["-t", ctl, "--timeout=5", "ovsdb-server/list-dbs"], capsys)
    assert (rc, out) == (0, "Open_vSwitch\n_Server\n")
    rc, out, err = appctl_main(["-t", ctl, "nosuch", "arg"], capsys)
    assert rc == 2 and out == ""
    assert err.startswith('"nosuch" is not a valid command')
    assert err.endswith(f"pyovn appctl: {ctl}: server returned an error\n")
    rc, _, err = appctl_main(["-t", ctl, "version", "extra"], capsys)
    assert rc == 2 and '"version" command takes at most 0 arguments' in err


def test_pyovn_appctl_target_by_name(
    ovsdb_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rundir = ovsdb_server.dir
    monkeypatch.setenv("OVS_RUNDIR", rundir)
    pid = ovsdb_server.pid
    # ovs-appctl's convention: <rundir>/<name>.pid names <rundir>/<name>.<pid>.ctl.
    with open(os.path.join(rundir, "mydaemon.pid"), "w") as f:
        f.write(f"{pid}\n")
    os.symlink(ovsdb_server.ctl_sock, os.path.join(rundir, f"mydaemon.{pid}.ctl"))
    rc, out, err = appctl_main(["-t", "mydaemon", "version"], capsys)
    assert rc == 0, err
    assert "Open vSwitch" in out
    # Without a pidfile, <rundir>/<name>.ctl.
    os.symlink(ovsdb_server.ctl_sock, os.path.join(rundir, "other.ctl"))
    rc, out, _ = appctl_main(["-t", "other", "version"], capsys)
    assert rc == 0 and "Open vSwitch" in out
    rc, _, err = appctl_main(["-t", "missing", "version"], capsys)
    assert rc == 1
    assert err == (f'pyovn appctl: cannot read pidfile "{rundir}/missing.pid" '
                   "(No such file or directory)\n")


def test_pyovn_appctl_usage_errors(
    tmpdir_short: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = appctl_main(["--help"], capsys)
    assert rc == 0 and "usage: pyovn appctl" in out
    rc, out, _ = appctl_main(["-V"], capsys)
    assert rc == 0 and "pyovn" in out
    rc, _, err = appctl_main(["-t", "/x"], capsys)
    assert rc == 1 and "at least one non-option argument" in err
    rc, _, err = appctl_main(["--bogus", "version"], capsys)
    assert rc == 1 and "unrecognized option" in err
    rc, _, err = appctl_main(["-T", "abc", "version"], capsys)
    assert rc == 1 and "not a number" in err
    rc, _, err = appctl_main(["-t"], capsys)
    assert rc == 1 and "requires an argument" in err
    missing = os.path.join(tmpdir_short, "none.ctl")
    rc, _, err = appctl_main(["-t", missing, "version"], capsys)
    assert rc == 1
    assert err == f'pyovn appctl: cannot connect to "{missing}" (No such file or directory)\n'


def test_pyovn_appctl_timeout(tmpdir_short: str) -> None:
    # A daemon that never answers: accept and sit.  Run appctl as a subprocess so the
    # listening loop keeps running.
    sock = os.path.join(tmpdir_short, "mute.ctl")

    async def go() -> int:
        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()

        server = await asyncio.start_unix_server(mute, sock)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pyovn", "appctl", "-T", "0.3", "-t", sock, "version",
            stderr=subprocess.PIPE,
        )
        _, err = await proc.communicate()
        server.close()
        assert b"no response within 0.3 seconds" in err
        assert proc.returncode is not None
        return proc.returncode

    assert run(go()) == appctl.EXIT_TIMEOUT


def test_vlog_levels_and_specs() -> None:
    v = Vlog()
    logging.getLogger("pyovn.testmod")
    assert "testmod" in v.modules()
    v.set_levels_from_string("testmod:console:off")
    assert v.levels("testmod") == ("off", "info", "info")
    v.set_levels_from_string("file:dbg")
    assert v.levels("testmod") == ("off", "info", "dbg")
    assert v.levels("other-unknown") == ("info", "info", "dbg")
    v.set_levels_from_string("ANY:ANY:warn")
    assert v.levels("testmod") == ("warn", "warn", "warn")
    v.set_levels_from_string("")
    assert v.levels("testmod") == ("dbg", "dbg", "dbg")
    for spec, msg in [
        ("console:file", "cannot specify multiple destinations"),
        ("info:dbg", "cannot specify multiple levels"),
        ("testmod:unixctl", "cannot specify multiple modules"),
        ("nope", 'no destination, level, or module "nope"'),
        ("PATTERN:console:%m", "not supported"),
    ]:
        with pytest.raises(ValueError, match=msg):
            v.set_levels_from_string(spec)
    assert "FILE     none" in v.list_patterns()
