"""The standalone database file format, checked against the real ovsdb-tool and ovsdb-server."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from pyovn.ovsdb import storage
from pyovn.ovsdb.storage import LogContents, LogError, LogWriter

NB_SCHEMA_FILE = "/usr/share/ovn/ovn-nb.ovsschema"
HAVE_REAL = all(shutil.which(p) for p in ("ovsdb-tool", "ovsdb-server", "ovsdb-client"))
real = pytest.mark.skipif(not HAVE_REAL, reason="needs the real ovsdb-tool/ovsdb-server")
_counter = itertools.count()


def nb_schema() -> dict[str, Any]:
    return dict(orjson.loads(Path(NB_SCHEMA_FILE).read_bytes()))


def run(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


class RealServer:
    """A real ovsdb-server on a unix socket in a private directory, killed by pid."""

    def __init__(self, db: Path, workdir: Path) -> None:
        n = next(_counter)
        self.sock = workdir / f"s{os.getpid()}-{n}.sock"
        self.ctl = workdir / f"c{os.getpid()}-{n}.ctl"
        self.log = workdir / f"server{n}.log"
        self.proc = subprocess.Popen(
            ["ovsdb-server", f"--remote=punix:{self.sock}", f"--unixctl={self.ctl}",
             "--no-chdir", f"--log-file={self.log}", "-vconsole:off", str(db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"ovsdb-server exited: {err} {self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ovsdb-server did not start")
            time.sleep(0.01)

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def remote(self) -> str:
        return f"unix:{self.sock}"

    def transact(self, *ops: dict[str, Any], db: str = "OVN_Northbound") -> Any:
        out = run("ovsdb-client", "transact", self.remote(), orjson.dumps([db, *ops]).decode())
        result = orjson.loads(out.stdout)
        assert not any(isinstance(r, dict) and "error" in r for r in result), result
        return result

    def dump(self, table: str = "Logical_Switch", *columns: str) -> str:
        args = ["ovsdb-client", "dump", "-f", "csv", self.remote(), "OVN_Northbound", table]
        return run(*args, *columns).stdout

    def names(self, table: str = "Logical_Switch") -> set[str]:
        """The "name" column of every row in ``table``."""
        args = ["ovsdb-client", "dump", "-f", "json", self.remote(), "OVN_Northbound", table]
        out = orjson.loads(run(*args, "name").stdout)
        return {row[0] for row in out["data"]}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[Any]:
    servers: list[RealServer] = []

    def start(db: Path) -> RealServer:
        server = RealServer(db, tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def insert_op(name: str, **extra: Any) -> dict[str, Any]:
    return {"op": "insert", "table": "Logical_Switch", "row": {"name": name, **extra}}


def real_db_with_transactions(tmp_path: Path, real_server: Any) -> Path:
    """A database file written by the real ovsdb-server: inserts, a map mutation, an update,
    a delete and a comment with a newline."""
    db = tmp_path / "real.db"
    run("ovsdb-tool", "create", str(db), NB_SCHEMA_FILE)
    server = real_server(db)
    server.transact(insert_op("sw0", external_ids=["map", [["a", "b"]]]),
                    {"op": "comment", "comment": "first\nsecond"})
    server.transact({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
                     "mutations": [["external_ids", "insert", ["map", [["c", "d"]]]]]})
    server.transact(insert_op("sw1"), insert_op("sw2"))
    server.transact({"op": "update", "table": "Logical_Switch",
                     "where": [["name", "==", "sw1"]], "row": {"name": "sw1-renamed"}})
    server.transact({"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "sw2"]]})
    server.stop()
    return db


def make_db(tmp_path: Path, n_records: int = 3, name: str = "t.db") -> tuple[Path, list[dict]]:
    """A file written by pyovn: NB schema plus ``n_records`` single-switch inserts."""
    path = tmp_path / name
    storage.create(str(path), nb_schema())
    records = [switch_record(f"sw{i}") for i in range(n_records)]
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))) as w:
        for rec in records:
            w.append(rec)
    return path, records


def switch_record(name: str, uuid: str | None = None) -> dict[str, Any]:
    uuid = uuid or str(__import__("uuid").uuid4())
    return {"_date": storage.now_ms(), "Logical_Switch": {uuid: {"name": name}},
            "_comment": f"add {name}"}


# --- reading and writing -----------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path, records = make_db(tmp_path, 5)
    contents = storage.read_log(str(path))
    assert contents.schema == nb_schema()
    assert contents.records == records
    assert not contents.torn and contents.error is None and contents.dropped is None
    assert contents.valid_size == contents.file_size == path.stat().st_size
    assert contents.record_offsets[0] == contents.schema_end
    assert contents.record_ends[-1] == contents.valid_size


def test_record_framing_is_ovsdb_format(tmp_path: Path) -> None:
    path, records = make_db(tmp_path, 1)
    data = path.read_bytes()
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 5
    for header, body in ((lines[0], lines[1]), (lines[2], lines[3])):
        magic, kind, length, sha1 = header.split(b" ")
        assert (magic, kind) == (b"OVSDB", b"JSON")
        assert int(length) == len(body) + 1
        assert sha1.decode() == hashlib.sha1(body + b"\n").hexdigest()
        assert b": " not in body and b", " not in body  # compact, like ovsdb-server
    assert orjson.loads(lines[3]) == records[0]


def test_writer_tracks_size_and_records(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 2)
    w = LogWriter.open_for_append(str(path), storage.read_log(str(path)))
    assert w.size == path.stat().st_size and w.records_since_snapshot == 2
    w.append(switch_record("x"), durable=True)
    w.append(switch_record("y"))
    assert w.size == path.stat().st_size  # flushed to the OS before returning
    assert w.records_since_snapshot == 4
    assert not w.should_compact()
    w.close()
    w.close()  # idempotent
    with pytest.raises(LogError, match="closed"):
        w.append(switch_record("z"))
    assert [next(iter(r["Logical_Switch"].values()))["name"]
            for r in storage.read_log(str(path)).records] == ["sw0", "sw1", "x", "y"]


def test_special_strings_survive(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 0)
    rec = {"_date": 1, "_comment": "line1\nline2 \"q\" \\ \u00e9 \u2603 \x01",
           "Logical_Switch": {"7b8a5b5e-1b0e-4a49-9e4b-6d9e3f5f8e01": {"name": "\t\u0000x"}}}
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))) as w:
        w.append(rec)
    assert storage.read_log(str(path)).records == [rec]
    assert path.read_bytes().count(b"\n") == 4  # newlines inside strings are escaped


def test_create_refuses_existing_file(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 1)
    before = path.read_bytes()
    with pytest.raises(LogError) as e:
        storage.create(str(path), nb_schema())
    assert str(e.value) == f"I/O error: {path}: create failed (File exists)"
    assert path.read_bytes() == before
    with pytest.raises(LogError, match="No such file or directory"):
        storage.create(str(tmp_path / "missing-dir" / "x.db"), nb_schema())


def test_lock_excludes_second_writer_in_process(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 1)
    contents = storage.read_log(str(path))
    with LogWriter.open_for_append(str(path), contents):
        with pytest.raises(LogError, match="failed to lock lockfile"):
            LogWriter.open_for_append(str(path), contents)
        assert (tmp_path / ".t.db.~lock~").exists()
    with LogWriter.open_for_append(str(path), contents):  # released on close
        pass


def test_open_for_append_keep_records(tmp_path: Path) -> None:
    path, records = make_db(tmp_path, 4)
    contents = storage.read_log(str(path))
    with LogWriter.open_for_append(str(path), contents, keep_records=2) as w:
        assert w.size == contents.record_offsets[2] == path.stat().st_size
        w.append(records[3])
    assert storage.read_log(str(path)).records == [records[0], records[1], records[3]]


def test_replace_is_atomic_compaction(tmp_path: Path) -> None:
    path, records = make_db(tmp_path, 5)
    contents = storage.read_log(str(path))
    w = LogWriter.open_for_append(str(path), contents)
    snapshot = {"Logical_Switch": {k: v for r in records for k, v in r["Logical_Switch"].items()}}
    w2 = w.replace(contents.schema, snapshot, comment="compacting")
    assert w2.records_since_snapshot == 0 and w2.size == path.stat().st_size
    assert not (tmp_path / "t.db.tmp").exists()
    w2.append(switch_record("after"))
    with pytest.raises(LogError, match="closed"):
        w.append(switch_record("old writer"))
    with pytest.raises(LogError, match="failed to lock"):  # the lock moved to w2
        storage.Lock(str(path))
    w2.close()
    after = storage.read_log(str(path))
    assert after.schema == contents.schema and len(after.records) == 2
    snap = after.records[0]
    assert snap["_comment"] == "compacting" and isinstance(snap["_date"], int)
    assert snap["Logical_Switch"] == snapshot["Logical_Switch"]
    # Module-level form, taking the lock itself; None means "schema only".
    w3 = storage.replace(str(path), contents.schema, None)
    w3.close()
    assert storage.read_log(str(path)).records == []


def test_replace_with_stale_tmp_file(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 1)
    (tmp_path / "t.db.tmp").write_bytes(b"junk from an earlier crash")
    storage.replace(str(path), nb_schema(), {"Logical_Switch": {}}).close()
    assert len(storage.read_log(str(path)).records) == 1


# --- torn and corrupt files ---------------------------------------------------------------------


def test_torn_tail_at_every_offset(tmp_path: Path) -> None:
    path, records = make_db(tmp_path, 3)
    data = path.read_bytes()
    full = storage.read_log(str(path))
    start = full.record_offsets[-1]
    cut_path = tmp_path / "cut.db"
    for cut in range(start, len(data)):
        cut_path.write_bytes(data[:cut])
        contents = storage.read_log(str(cut_path))
        assert contents.records == records[:-1], cut
        assert contents.valid_size == start
        assert contents.torn == (cut > start)
        assert (contents.error is not None) == (cut > start)
        # The writer drops the torn bytes and the next record lands where they were.
        with LogWriter.open_for_append(str(cut_path), contents) as w:
            w.append(records[-1])
        assert cut_path.read_bytes() == data


@real
def test_torn_tail_every_offset_matches_real_tool(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 2)
    data = path.read_bytes()
    start = storage.read_log(str(path)).record_offsets[-1]
    cut_path = tmp_path / "cut.db"
    for cut in range(start + 1, len(data)):
        cut_path.write_bytes(data[:cut])
        result = run("ovsdb-tool", "show-log", str(cut_path), check=False)
        assert result.returncode == 1 and result.stdout.count("record ") == 2
        contents = storage.read_log(str(cut_path))
        assert len(contents.records) == 1
        assert result.stderr.strip() == f"ovsdb-tool: {contents.error}"


@real
def test_real_server_truncates_torn_tail_like_we_do(tmp_path: Path, real_server: Any) -> None:
    path, records = make_db(tmp_path, 3)
    data = path.read_bytes()
    start = storage.read_log(str(path)).record_offsets[-1]
    path.write_bytes(data[: start + 40])
    contents = storage.read_log(str(path))
    assert contents.valid_size == start
    server = real_server(path)
    assert server.names() == {"sw0", "sw1"}
    server.transact(insert_op("new"))
    server.stop()
    after = storage.read_log(str(path))
    assert not after.torn and after.records[:2] == records[:2] and len(after.records) == 3
    assert after.record_offsets[2] == start  # real server wrote where the torn record was


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


@real
def test_corruption_in_the_middle_ends_the_log(tmp_path: Path, real_server: Any) -> None:
    """ovsdb-server stops at the first bad record (warning) and truncates there on the next
    write; so do we.  The records after it are lost in both."""
    path, records = make_db(tmp_path, 4)
    full = storage.read_log(str(path))
    path.write_bytes(_flip(path.read_bytes(), full.record_ends[1] - 5))  # in record 2's body
    contents = storage.read_log(str(path))
    assert contents.records == records[:1]
    assert contents.valid_size == full.record_offsets[1]
    assert contents.error is not None and "SHA-1 hash" in contents.error
    assert contents.dropped is not None and str(contents.valid_size) in contents.dropped
    server = real_server(path)
    assert server.names() == {"sw0"}
    assert "SHA-1" in server.log_text()


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"OVSDB JSON 99999999999999 " + b"0" * 40 + b"\n{}\n", "error reading 99999999999999"),
        (b"OVSDB JSON 3 " + b"0" * 40 + b"\n{}\n", "SHA-1 hash"),
        (b"OVSDB JSON 0 " + b"0" * 40 + b"\n", "parse error"),
        (b"OVSDB JSON -3 " + b"0" * 40 + b"\n{}\n", "parse error"),
        (b"OVSDB JSON 3 " + b"0" * 39 + b"\n{}\n", "parse error"),
        (b"OVSDB CLUSTER 3 " + b"0" * 40 + b"\n{}\n", "parse error"),
        (b"OVSDB  JSON 3 " + b"0" * 40 + b"\n{}\n", "parse error"),
        (b"OVSDB JSON 3 " + b"0" * 40 + b" \n{}\n", "parse error"),
        (b"OVSDB JSON 3" + b"1" * 200 + b"\n{}\n", "parse error"),
        (b"\x00\xff\xfe garbage \x80", "parse error"),
        (b"\n", "parse error"),
    ],
)
def test_bad_later_record_is_dropped(tmp_path: Path, tail: bytes, message: str) -> None:
    path, records = make_db(tmp_path, 2)
    size = path.stat().st_size
    with path.open("ab") as f:
        f.write(tail)
    contents = storage.read_log(str(path))
    assert contents.records == records and contents.valid_size == size and contents.torn
    assert contents.error is not None and message in contents.error and str(path) in contents.error


def _framed(body: bytes) -> bytes:
    return b"OVSDB JSON %d %s\n%s" % (len(body), hashlib.sha1(body).hexdigest().encode(), body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json\n", "not valid JSON"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'"str"\n', "not a JSON object"),
        (b'{"a": \n', "not valid JSON"),
        (b"\xff\xfe\n", "not valid JSON"),
    ],
)
def test_bad_json_with_good_hash_is_dropped(tmp_path: Path, body: bytes, message: str) -> None:
    path, records = make_db(tmp_path, 1)
    with path.open("ab") as f:
        f.write(_framed(body) + _framed(orjson.dumps(records[0]) + b"\n"))
    contents = storage.read_log(str(path))
    assert contents.records == records  # and the good record after the bad one is not used
    assert contents.error is not None and message in contents.error


def test_tolerates_pretty_printed_and_uppercase_hash(tmp_path: Path) -> None:
    body = orjson.dumps(nb_schema(), option=orjson.OPT_INDENT_2) + b"\n"
    header = b"OVSDB JSON %d %s\n" % (len(body), hashlib.sha1(body).hexdigest().upper().encode())
    path = tmp_path / "pretty.db"
    path.write_bytes(header + body)
    assert storage.read_log(str(path)).schema == nb_schema()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "cannot identify file type"),
        (b"garbage\n", "unexpected file format"),
        (b"\x00" * 1000, "unexpected file format"),
        (b"OVSDB JSON 99999999999 " + b"a" * 40 + b"\n{}", "error reading 99999999999 bytes"),
        (b"OVSDB JSON 3 " + b"a" * 40 + b"\n{}\n", "SHA-1 hash"),
        (b"OVSDB OTHER 3 " + b"a" * 40 + b"\n{}\n", "cannot identify file type"),
        (_framed(b"[1]\n"), "not a JSON object"),
        (_framed(b"nope\n"), "not valid JSON"),
        (_framed(b'{"name": "x"}\n'), "not a database schema"),
        (_framed(b'{"tables": {}}\n'), "not a database schema"),
        (_framed(b'{"name": 5, "tables": {}}\n'), "not a database schema"),
        (_framed(b"{}\n") + _framed(b"{}\n"), "not a database schema"),
    ],
)
def test_bad_first_record_is_an_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(data)
    with pytest.raises(LogError) as e:
        storage.read_log(str(path))
    assert message in str(e.value) and str(path) in str(e.value)
    assert e.value.path == str(path)


def test_clustered_file_is_reported_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(
        b"OVSDB CLUSTER %d %s\n%s"
        % (3, hashlib.sha1(b"{}\n").hexdigest().encode(), b"{}\n")
    )
    assert storage.file_magic(str(path)) == storage.CLUSTER_MAGIC
    with pytest.raises(LogError, match=r"clustered.*not supported"):
        storage.read_log(str(path))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="No such file or directory"):
        storage.read_log(str(tmp_path / "nope.db"))
    with pytest.raises(LogError, match="Is a directory"):
        storage.read_log(str(tmp_path))


def test_random_garbage_never_crashes(tmp_path: Path) -> None:
    """Random bytes and random mutations of a good file: LogError or a clean prefix, always."""
    rng = random.Random(1234)
    good, _ = make_db(tmp_path, 3)
    good_data = good.read_bytes()
    good_records = storage.read_log(str(good)).records
    path = tmp_path / "fuzz.db"
    for i in range(400):
        if i % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(300)))
            if i % 4 == 1:
                data = b"OVSDB JSON " + data
        else:
            mutated = bytearray(good_data)
            for _ in range(rng.randrange(1, 4)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            data = bytes(mutated[: rng.randrange(len(mutated) + 1)])
        path.write_bytes(data)
        try:
            contents = storage.read_log(str(path))
        except LogError:
            continue
        assert contents.valid_size <= len(data)
        assert contents.records == good_records[: len(contents.records)]


# --- interoperability with the real tools -------------------------------------------------------


@real
def test_reads_file_created_by_real_ovsdb_tool(tmp_path: Path) -> None:
    path = tmp_path / "real.db"
    run("ovsdb-tool", "create", str(path), NB_SCHEMA_FILE)
    contents = storage.read_log(str(path))
    expected = nb_schema()
    assert contents.records == [] and not contents.torn
    for key in ("name", "version", "cksum"):
        assert contents.schema[key] == expected[key]
    assert set(contents.schema["tables"]) == set(expected["tables"])


@real
def test_reads_file_written_by_real_ovsdb_server(tmp_path: Path, real_server: Any) -> None:
    path = real_db_with_transactions(tmp_path, real_server)
    contents = storage.read_log(str(path))
    assert not contents.torn and len(contents.records) == 5
    first, mutate, two, update, delete = contents.records
    assert first["_comment"] == "first\nsecond"
    assert all(isinstance(r["_date"], int) and r["_date"] > 2**32 for r in contents.records)
    # Open vSwitch 3.1 writes column diffs for every transaction record.
    assert all(r.get("_is_diff") is True for r in contents.records)
    (uuid0, row0), = first["Logical_Switch"].items()
    assert row0 == {"name": "sw0", "external_ids": ["map", [["a", "b"]]]}
    assert mutate["Logical_Switch"] == {uuid0: {"external_ids": ["map", [["c", "d"]]]}}
    assert len(two["Logical_Switch"]) == 2
    (_, renamed), = update["Logical_Switch"].items()
    assert renamed == {"name": "sw1-renamed"}
    assert list(delete["Logical_Switch"].values()) == [None]


@real
def test_appending_to_real_file_then_real_tools_read_it(tmp_path: Path, real_server: Any) -> None:
    path = real_db_with_transactions(tmp_path, real_server)
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))) as w:
        w.append(switch_record("from-pyovn"), durable=True)
    log = run("ovsdb-tool", "show-log", str(path)).stdout
    assert "record 6:" in log and '"add from-pyovn"' in log
    assert "from-pyovn" in real_server(path).names()


@real
def test_pyovn_written_file_accepted_by_real_tools(tmp_path: Path, real_server: Any) -> None:
    path, _ = make_db(tmp_path, 3)
    uuid_ = "5a8e0b3c-60b1-4c2b-8b1d-3a7f0f0e0b11"
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))) as w:
        w.append({"_date": storage.now_ms(), "_is_diff": True,
                  "Logical_Switch": {uuid_: {"name": "mapped",
                                             "external_ids": ["map", [["k", "v"]]]}}})
        w.append({"_date": storage.now_ms(), "_is_diff": True,
                  "Logical_Switch": {uuid_: {"external_ids": ["map", [["k2", "v2"]]]}}})
    log = run("ovsdb-tool", "show-log", "-m", str(path)).stdout
    assert log.count("record ") == 6 and 'row "mapped" (5a8e0b3c) diff:' in log
    server = real_server(path)
    assert server.names() == {"sw0", "sw1", "sw2", "mapped"}
    assert '"{k=v, k2=v2}",mapped' in server.dump("Logical_Switch", "name", "external_ids")
    server.stop()
    compacted = tmp_path / "compacted.db"
    run("ovsdb-tool", "compact", str(path), str(compacted))
    contents = storage.read_log(str(compacted))
    assert len(contents.records) == 1 and len(contents.records[0]["Logical_Switch"]) == 4


@real
def test_replaced_file_accepted_by_real_server(tmp_path: Path, real_server: Any) -> None:
    path, records = make_db(tmp_path, 3)
    snapshot = {"Logical_Switch": {k: v for r in records for k, v in r["Logical_Switch"].items()}}
    with storage.replace(str(path), nb_schema(), snapshot, comment="compacted") as w:
        w.append(switch_record("after-compaction"))
    assert "compacted" in run("ovsdb-tool", "show-log", str(path)).stdout
    assert real_server(path).names() == {"sw0", "sw1", "sw2", "after-compaction"}


@real
def test_our_lock_excludes_real_ovsdb_tool(tmp_path: Path) -> None:
    path, _ = make_db(tmp_path, 1)
    with LogWriter.open_for_append(str(path), storage.read_log(str(path))):
        result = run("ovsdb-tool", "compact", str(path), check=False)
        assert result.returncode == 1 and "failed to lock lockfile" in result.stderr
    run("ovsdb-tool", "compact", str(path))
    assert len(storage.read_log(str(path)).records) == 1


@real
def test_real_server_lock_excludes_us(tmp_path: Path, real_server: Any) -> None:
    path, _ = make_db(tmp_path, 1)
    real_server(path)
    with pytest.raises(LogError, match="failed to lock lockfile"):
        LogWriter.open_for_append(str(path), storage.read_log(str(path)))


def test_contents_type() -> None:
    assert LogContents("p", {}, [], 0, 0).torn is False
