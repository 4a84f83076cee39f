"""`pyovn ovsdb-tool`, compared command by command with the real ovsdb-tool."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb import storage, tool
from pyovn.ovsdb.storage import LogWriter

from .test_storage import (
    NB_SCHEMA_FILE,
    make_db,
    real,
    real_db_with_transactions,
    real_server,  # noqa: F401  (fixture)
    run,
    switch_record,
)

SCHEMAS = [NB_SCHEMA_FILE, "/usr/share/ovn/ovn-sb.ovsschema",
           "/usr/share/openvswitch/vswitch.ovsschema"]
PYOVN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "pyovn")
have_database = pytest.mark.skipif(
    importlib.util.find_spec("pyovn.ovsdb.database") is None,
    reason="pyovn.ovsdb.database (the lead's core) is not written yet",
)


def ours(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = tool.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def theirs(*argv: str) -> tuple[int, str, str]:
    r = run("ovsdb-tool", *argv, check=False)
    return r.returncode, r.stdout, r.stderr


def same(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    mine = ours(capsys, *argv)
    assert mine == theirs(*argv), argv
    return mine


# --- show-log ----------------------------------------------------------------------------------


@real
@pytest.mark.parametrize("more", [[], ["-m"], ["-mm"], ["-m", "--more"]])
def test_show_log_matches_real(tmp_path: Path, real_server: Any,  # noqa: F811
                               capsys: pytest.CaptureFixture[str], more: list[str]) -> None:
    path = real_db_with_transactions(tmp_path, real_server)
    status, out, _ = same(capsys, *more, "show-log", str(path))
    assert status == 0 and out.startswith('record 0: "OVN_Northbound" schema, version="')
    assert 'record 1: ' in out and ' "first\nsecond"' in out


@real
def test_show_log_of_fresh_and_pyovn_files(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    fresh = tmp_path / "fresh.db"
    run("ovsdb-tool", "create", str(fresh), NB_SCHEMA_FILE)
    assert same(capsys, "show-log", str(fresh))[1].count("\n") == 2
    path, _ = make_db(tmp_path, 4)
    for more in ("-m", "-mm"):
        same(capsys, more, "show-log", str(path))


@real
def test_show_log_seconds_dates_and_no_date(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = make_db(tmp_path, 0)
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))) as w:
        w.append({"_date": 1234567890, "Logical_Switch": {}})  # old files: seconds
        w.append({"_comment": "no date", "_date": "not a number"})
        w.append({"Logical_Switch": {"0e0e0e0e-0000-0000-0000-000000000001": {
            "name": "x", "ports": ["set", [["uuid", "0e0e0e0e-0000-0000-0000-000000000002"]]],
            "other_config": ["map", [["z", "1"], ["a", "true"], ["m", ""]]]}}})
    for more in ("", "-m", "-mm"):
        same(capsys, *([more] if more else []), "show-log", str(path))


@real
def test_show_log_of_torn_file_fails_like_real(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = make_db(tmp_path, 3)
    path.write_bytes(path.read_bytes()[:-10])
    status, out, err = same(capsys, "show-log", str(path))
    assert status == 1 and out.count("record ") == 3 and "error reading" in err


# --- metadata commands -------------------------------------------------------------------------


@real
@pytest.mark.parametrize("schema", SCHEMAS)
def test_schema_and_db_metadata_match_real(tmp_path: Path, schema: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.db"
    run("ovsdb-tool", "create", str(db), schema)
    for cmd in ("schema-name", "schema-version", "schema-cksum"):
        assert same(capsys, cmd, schema)[0] == 0
    for cmd in ("db-name", "db-version", "db-cksum"):
        assert same(capsys, cmd, str(db))[0] == 0
    assert same(capsys, "db-is-standalone", str(db))[0] == 0
    assert same(capsys, "db-is-clustered", str(db))[0] == 2


@real
def test_clustered_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cluster.db"
    run("ovsdb-tool", "create-cluster", str(db), NB_SCHEMA_FILE, f"unix:{tmp_path}/raft.sock")
    assert same(capsys, "db-is-clustered", str(db))[0] == 0
    assert same(capsys, "db-is-standalone", str(db))[0] == 2
    assert same(capsys, "db-name", str(db))[1] == "OVN_Northbound\n"
    assert same(capsys, "db-version", str(db))[0] == 1
    status, _, err = ours(capsys, "show-log", str(db))
    assert status == 1 and "clustered" in err


@real
def test_bad_files_and_arguments_match_real(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00\x01 binary garbage\n")
    for path in (empty, garbage):
        for cmd in ("show-log", "db-name", "db-version", "db-is-standalone"):
            assert same(capsys, cmd, str(path))[0] == 1
    same(capsys, "frobnicate")
    same(capsys, "db-name", "a", "b")
    same(capsys, "db-is-clustered")
    same(capsys, "schema-name", str(tmp_path / "missing.ovsschema"))
    missing = ours(capsys, "db-name", str(tmp_path / "missing.db"))
    assert missing[0] == 1 and "No such file or directory" in missing[2]
    bad_json = tmp_path / "bad.ovsschema"
    bad_json.write_text("{")
    status, _, err = ours(capsys, "schema-name", str(bad_json))
    assert status == 1 and "could not be read as JSON" in err
    status, _, err = ours(capsys, "--bogus", "show-log")
    assert status == 1 and "unrecognized option" in err
    assert ours(capsys)[0] == 1
    status, out, _ = ours(capsys, "--help")
    assert status == 0 and "show-log" in out


# --- create ------------------------------------------------------------------------------------


@real
def test_create_matches_real(tmp_path: Path, real_server: Any,  # noqa: F811
                             capsys: pytest.CaptureFixture[str]) -> None:
    mine, theirs_ = tmp_path / "mine.db", tmp_path / "theirs.db"
    assert ours(capsys, "create", str(mine), NB_SCHEMA_FILE) == (0, "", "")
    run("ovsdb-tool", "create", str(theirs_), NB_SCHEMA_FILE)
    assert storage.read_log(str(mine)).schema == storage.read_log(str(theirs_)).schema
    assert run("ovsdb-tool", "show-log", str(mine)).stdout == \
        run("ovsdb-tool", "show-log", str(theirs_)).stdout
    status, _, err = ours(capsys, "create", str(mine), NB_SCHEMA_FILE)
    assert (status, err) == (1, f"ovsdb-tool: I/O error: {mine}: create failed (File exists)\n")
    assert err == theirs("create", str(mine), NB_SCHEMA_FILE)[2]
    server = real_server(mine)
    server.transact({"op": "insert", "table": "Logical_Switch", "row": {"name": "ok"}})
    assert server.names() == {"ok"}


def test_create_bad_schema_leaves_no_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    schema = tmp_path / "s.ovsschema"
    schema.write_text('{"name": "x"}')
    status, _, err = ours(capsys, "create", str(tmp_path / "x.db"), str(schema))
    assert status == 1 and "ovsdb-tool: " in err
    assert not (tmp_path / "x.db").exists()


def test_command_line_entry_point(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    r = subprocess.run([PYOVN, "ovsdb-tool", "create", str(db), NB_SCHEMA_FILE],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([PYOVN, "ovsdb-tool", "db-name", str(db)],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "OVN_Northbound\n")


# --- compact (needs the lead's Database) -------------------------------------------------------


@real
@have_database
def test_compact_real_server_file(tmp_path: Path, real_server: Any,  # noqa: F811
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = real_db_with_transactions(tmp_path, real_server)
    before = real_server(path)
    expected = before.dump("Logical_Switch", "_uuid", "name", "external_ids")
    before.stop()
    dst = tmp_path / "dst.db"
    assert ours(capsys, "compact", str(path), str(dst))[0] == 0
    assert ours(capsys, "compact", str(path))[0] == 0  # in place
    for compacted in (dst, path):
        contents = storage.read_log(str(compacted))
        assert len(contents.records) == 1
        assert contents.records[0]["_comment"].startswith("compacted by pyovn ovsdb-tool")
        log = run("ovsdb-tool", "show-log", str(compacted)).stdout
        assert log.count("record ") == 2
        server = real_server(compacted)
        assert server.dump("Logical_Switch", "_uuid", "name", "external_ids") == expected
        server.stop()
    assert not (tmp_path / "real.db.tmp").exists()


@real
@have_database
def test_compact_respects_lock_and_torn_files(tmp_path: Path, real_server: Any,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = make_db(tmp_path, 3)
    server = real_server(path)
    status, _, err = ours(capsys, "compact", str(path))
    assert status == 1 and "failed to lock lockfile" in err
    server.stop()
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))) as w:
        w.append(switch_record("last"))
    path.write_bytes(path.read_bytes()[:-3])
    before = path.read_bytes()
    status, _, err = ours(capsys, "compact", str(path))
    assert status == 1 and "error reading" in err and path.read_bytes() == before
    assert theirs("compact", str(path))[0] == 1
