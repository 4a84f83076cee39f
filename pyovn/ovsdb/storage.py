"""The standalone OVSDB file format (ovsdb(7), "File Formats"): framing only, no schema logic.

A database file is a series of records, each two lines:

    OVSDB JSON <length> <sha1-hex of the next line>\\n
    <compact JSON object>\\n          (exactly <length> bytes, LF included)

Record 0 is the schema; later records are transactions.  The format and every error message
follow Open vSwitch's ovsdb/log.c so that files move freely between pyovn and the real
ovsdb-server/ovsdb-tool, and so that messages read the same.

Recovery follows ovsdb-server: reading stops at the first bad record (a crash leaves a torn
tail; anything after a bad record is unreachable anyway), the good prefix is used, and the next
write truncates the file there.  Only a bad *first* record makes the file unusable.

Files are locked the way OVS locks them (fcntl write lock on ``.<name>.~lock~`` next to the
file), so a pyovn server and the real ovsdb-tool exclude each other.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

MAGIC = "JSON"  # standalone
CLUSTER_MAGIC = "CLUSTER"  # Raft; recognised so we can say it is unsupported

# ovsdb_log_read() reads the header with fgets(header, 128): longer lines cannot parse.
_MAX_HEADER = 127
_HEADER_RE = re.compile(rb"OVSDB ([^ \n]+) ([0-9]+) ([0-9a-fA-F]{40})\n")

# ovsdb_log_grew_lots(): compaction is worth it past 10 MiB and twice the post-snapshot size.
_GREW_LOTS_BYTES = 10 * 1024 * 1024
_MIN_RECORDS_FOR_SNAPSHOT = 100


class LogError(Exception):
    """A database file cannot be used.  ``str()`` is OVS-style "<tag>: <details>"."""

    def __init__(self, message: str, path: str | None = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.offset = offset


def _io_error(err: OSError | int, text: str, path: str | None = None) -> LogError:
    code = err if isinstance(err, int) else (err.errno or 0)
    reason = "End of file" if code == 0 else os.strerror(code)
    return LogError(f"I/O error: {text} ({reason})", path)


@dataclass
class LogContents:
    """What read_log() found: the schema, the transaction records, and where the good data ends.

    ``record_offsets[i]`` / ``record_ends[i]`` delimit ``records[i]`` in the file, so a caller
    that rejects record i at a higher level can truncate there (``open_for_append(...,
    keep_records=i)``), as ovsdb-server does with ovsdb_storage_unread().
    """

    path: str
    schema: dict[str, Any]
    records: list[dict[str, Any]]
    valid_size: int
    file_size: int
    schema_end: int = 0
    record_offsets: list[int] = field(default_factory=list)
    record_ends: list[int] = field(default_factory=list)
    # SHA-1 (hex) of each record's JSON, from its header: pyovn derives transaction ids from it.
    record_hashes: list[str] = field(default_factory=list)
    error: str | None = None  # why reading stopped early (OVS wording), None if it did not

    @property
    def torn(self) -> bool:
        """True if bytes after ``valid_size`` will be dropped (torn or corrupt tail)."""
        return self.valid_size < self.file_size

    @property
    def dropped(self) -> str | None:
        """Human description of what was dropped, for a warning at startup."""
        if not self.torn:
            return None
        n = self.file_size - self.valid_size
        return f"{self.path}: dropping {n} bytes after offset {self.valid_size}: {self.error}"


def _sha1_hex(data: bytes | memoryview) -> str:
    return hashlib.sha1(data).hexdigest()


class _Reader:
    """Parses records out of a whole file held in memory."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data
        self.view = memoryview(data)
        self.pos = 0

    def header(self, magic: str | None) -> tuple[str, int, str, int] | None:
        """Parses the header at self.pos: (magic, length, sha1, data_offset).

        None at a clean end of file; raises _BadRecord on anything else.
        """
        data, pos = self.data, self.pos
        if pos >= len(data):
            return None
        nl = data.find(b"\n", pos, pos + _MAX_HEADER)
        m = _HEADER_RE.fullmatch(data, pos, nl + 1) if nl >= 0 else None
        if m is None or int(m.group(2)) == 0 or (
            magic is not None and m.group(1) != magic.encode()
        ):
            # Quote the line as OVS does: what fgets() read, up to a newline or NUL, and cut
            # after the magic word (its parse_header() writes a NUL there).
            raw = data[pos : pos + _MAX_HEADER].split(b"\n", 1)[0].split(b"\0", 1)[0]
            space = raw.find(b" ", 6)
            if raw.startswith(b"OVSDB ") and space >= 0:
                raw = raw[:space]
            line = raw.decode("utf-8", "replace")
            raise _BadRecord(
                f'syntax error: {self.path}: parse error at offset {pos} in header line "{line}"'
            )
        return m.group(1).decode(), int(m.group(2)), m.group(3).decode().lower(), nl + 1

    def body(self, length: int, sha1: str, offset: int) -> dict[str, Any]:
        if offset + length > len(self.data):
            raise _BadRecord(
                f"I/O error: {self.path}: error reading {length} bytes starting at offset "
                f"{offset} (End of file)"
            )
        chunk = self.view[offset : offset + length]
        actual = _sha1_hex(chunk)
        if actual != sha1:
            raise _BadRecord(
                f"syntax error: {self.path}: {length} bytes starting at offset {offset} have "
                f"SHA-1 hash {actual} but should have hash {sha1}"
            )
        try:
            obj = orjson.loads(chunk)
        except orjson.JSONDecodeError as e:
            raise _BadRecord(
                f"syntax error: {self.path}: {length} bytes starting at offset {offset} are "
                f"not valid JSON ({e})"
            ) from None
        if not isinstance(obj, dict):
            raise _BadRecord(
                f"syntax error: {self.path}: {length} bytes starting at offset {offset} are "
                f"not a JSON object"
            )
        self.pos = offset + length
        return obj


class _BadRecord(Exception):
    pass


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise _io_error(e, f"{path}: open failed", path) from None


def file_magic(path: str) -> str:
    """The magic of a database file: MAGIC ("JSON") or CLUSTER_MAGIC, as ovsdb_log_open() sees it.

    Raises LogError for an empty file or one that does not start with a record header.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(_MAX_HEADER)
    except OSError as e:
        raise _io_error(e, f"{path}: open failed", path) from None
    if not head:
        raise LogError(f"ovsdb error: {path}: cannot identify file type", path, 0)
    try:
        hdr = _Reader(path, head).header(None)
    except _BadRecord:
        raise LogError(f"ovsdb error: {path}: unexpected file format", path, 0) from None
    assert hdr is not None
    if hdr[0] not in (MAGIC, CLUSTER_MAGIC):
        raise LogError(f"ovsdb error: {path}: cannot identify file type", path, 0)
    return hdr[0]


def _clustered_error(path: str) -> LogError:
    return LogError(
        f"ovsdb error: {path}: clustered (Raft) database files are not supported by pyovn; "
        f"convert it with 'ovsdb-tool cluster-to-standalone'",
        path,
        0,
    )


def read_log(path: str) -> LogContents:
    """Reads a standalone database file.

    A bad first record (or an empty, non-OVSDB or clustered file) raises LogError.  A bad later
    record ends the log there: the records before it are returned and ``error``/``dropped`` say
    what happened, exactly as ovsdb-server warns and carries on.
    """
    magic = file_magic(path)
    if magic == CLUSTER_MAGIC:
        raise _clustered_error(path)
    data = _read_file(path)
    reader = _Reader(path, data)
    try:
        hdr = reader.header(MAGIC)
        if hdr is None:  # file shrank since file_magic()
            raise _BadRecord(f"ovsdb error: {path}: cannot identify file type")
        schema = reader.body(hdr[1], hdr[2], hdr[3])
    except _BadRecord as e:
        raise LogError(str(e), path, 0) from None
    if not isinstance(schema.get("name"), str) or not isinstance(schema.get("tables"), dict):
        raise LogError(
            f"syntax error: {path}: record 0 is not a database schema "
            f"(it needs a \"name\" string and a \"tables\" object)",
            path,
            0,
        )
    contents = LogContents(path, schema, [], reader.pos, len(data), schema_end=reader.pos)
    records, offsets, ends = contents.records, contents.record_offsets, contents.record_ends
    while True:
        start = reader.pos
        try:
            hdr = reader.header(MAGIC)
            if hdr is None:
                break
            record = reader.body(hdr[1], hdr[2], hdr[3])
        except _BadRecord as e:
            contents.error = str(e)
            break
        records.append(record)
        offsets.append(start)
        ends.append(reader.pos)
        contents.record_hashes.append(hdr[2])
    contents.valid_size = reader.pos
    return contents


def compose_record(record: dict[str, Any]) -> bytes:
    """One record's bytes, header and JSON line, as ovsdb_log_compose_record() makes them."""
    body = orjson.dumps(record) + b"\n"
    return b"OVSDB JSON %d %s\n%s" % (len(body), hashlib.sha1(body).hexdigest().encode(), body)


def now_ms() -> int:
    """The "_date" of a record written now."""
    return time.time_ns() // 1_000_000


# --- locking -----------------------------------------------------------------------------------

# fcntl locks belong to the process and are released when *any* descriptor for the file is
# closed, so the process must never open a lock file twice: keep one descriptor per lock file.
_held_locks: dict[str, int] = {}


def lockfile_name(path: str) -> str:
    """``dir/.name.~lock~``, OVS's lock file for ``dir/name`` (symlinks followed first)."""
    real = os.path.realpath(path)
    head, tail = os.path.split(real)
    return os.path.join(head, f".{tail}.~lock~")


class Lock:
    """An exclusive lock on a database file, compatible with OVS's lockfile_lock()."""

    def __init__(self, path: str) -> None:
        self.name = lockfile_name(path)
        if self.name in _held_locks:
            raise _io_error(
                errno.EDEADLK, f"{path}: failed to lock lockfile (already locked by this process)"
            )
        try:
            fd = os.open(self.name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise _io_error(e, f"{path}: failed to lock lockfile", path) from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise _io_error(e, f"{path}: failed to lock lockfile", path) from None
        _held_locks[self.name] = fd
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is not None:
            _held_locks.pop(self.name, None)
            os.close(self.fd)  # closing drops the fcntl lock; the file stays, as OVS leaves it
            self.fd = None


def _fsync_dir(path: str) -> None:
    dirname = os.path.dirname(os.path.realpath(path)) or "."
    try:
        fd = os.open(dirname, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# --- writing -----------------------------------------------------------------------------------


class LogWriter:
    """Appends records to a database file that this process has locked.

    Every append reaches the OS (a single write(2)) before returning, so it survives the
    process being killed; ``durable=True`` also waits for the disk.
    """

    def __init__(
        self,
        path: str,
        fd: int,
        size: int,
        lock: Lock | None,
        *,
        base_size: int = 0,
        records_since_snapshot: int = 0,
    ) -> None:
        self.path = path
        self._fd: int | None = fd
        self.size = size
        self._lock = lock
        # ovsdb_log_mark_base(): the size right after the last snapshot, for should_compact().
        self.base_size = base_size
        # Transaction records in the file beyond the schema, other than the snapshot itself
        # written by replace() (a freshly opened file counts all its transaction records).
        self.records_since_snapshot = records_since_snapshot

    @classmethod
    def open_for_append(
        cls, path: str, contents: LogContents, *, keep_records: int | None = None,
        lock: bool = True,
    ) -> LogWriter:
        """Locks ``path``, truncates away whatever read_log() did not accept, and positions
        at the end.  ``keep_records`` truncates further, after that many transaction records
        (for a record that parsed but that the database refused to replay)."""
        end = contents.valid_size
        n = len(contents.records)
        if keep_records is not None and keep_records < n:
            n = max(keep_records, 0)
            end = contents.record_offsets[n] if n < len(contents.records) else end
        held = Lock(path) if lock else None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            if held:
                held.release()
            raise _io_error(e, f"{path}: open failed", path) from None
        try:
            actual = os.fstat(fd).st_size
            if actual != end:
                os.ftruncate(fd, end)
                os.fsync(fd)
            os.lseek(fd, end, os.SEEK_SET)
        except OSError as e:
            os.close(fd)
            if held:
                held.release()
            raise _io_error(e, f"{path}: cannot truncate to length {end}", path) from None
        base = contents.record_ends[0] if n >= 1 else 0
        return cls(path, fd, end, held, base_size=base, records_since_snapshot=n)

    def _fd_or_raise(self) -> int:
        if self._fd is None:
            raise LogError(f"ovsdb error: {self.path}: log is closed", self.path)
        return self._fd

    def append(self, record: dict[str, Any], durable: bool = False) -> str:
        """Writes one record; returns its SHA-1 (hex).  On failure the partial write is
        removed and LogError raised."""
        fd = self._fd_or_raise()
        body = orjson.dumps(record) + b"\n"
        sha1 = hashlib.sha1(body).hexdigest()
        data = b"OVSDB JSON %d %s\n%s" % (len(body), sha1.encode(), body)
        try:
            n = os.write(fd, data)
            if n != len(data):
                _write_all(fd, data[n:])
            if durable:
                os.fdatasync(fd)
        except OSError as e:
            try:
                os.ftruncate(fd, self.size)
                os.lseek(fd, self.size, os.SEEK_SET)
            except OSError:
                pass
            raise _io_error(e, f"{self.path}: write failed", self.path) from None
        self.size += len(data)
        self.records_since_snapshot += 1
        return sha1

    def sync(self) -> None:
        """Waits until everything appended so far is on disk."""
        fd = self._fd_or_raise()
        try:
            os.fdatasync(fd)
        except OSError as e:
            raise _io_error(e, f"{self.path}: fsync failed", self.path) from None

    def should_compact(self) -> bool:
        """OVS's size rule: >= 100 records, over 10 MiB, and more than twice the snapshot size.
        (ovsdb-server also waits 10-20 minutes between snapshots; that timing is the caller's.)
        """
        return (
            self.records_since_snapshot >= _MIN_RECORDS_FOR_SNAPSHOT
            and self.size > _GREW_LOTS_BYTES
            and self.size // 2 > self.base_size
        )

    def replace(
        self,
        schema_json: dict[str, Any],
        snapshot_record: dict[str, Any] | None,
        comment: str | None = "compacting database online",
    ) -> LogWriter:
        """Atomically rewrites the file as schema + snapshot; this writer is closed and the
        returned one (holding the same lock) continues at the end of the new file."""
        return replace(self.path, schema_json, snapshot_record, comment, writer=self)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _annotate(
    snapshot_record: dict[str, Any], comment: str | None
) -> dict[str, Any]:
    rec: dict[str, Any] = {"_date": now_ms()}
    rec.update(snapshot_record)
    if comment and "_comment" not in rec:
        rec["_comment"] = comment
    return rec


def create(path: str, schema_json: dict[str, Any]) -> None:
    """Creates a new database file holding only ``schema_json``, like ``ovsdb-tool create``.

    Refuses to overwrite an existing file ("I/O error: PATH: create failed (File exists)")."""
    lock = Lock(path)
    try:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        if os.path.islink(path) and not os.path.exists(path):
            flags &= ~os.O_EXCL  # dangling symlink: create its target, as OVS does
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as e:
            raise _io_error(e, f"{path}: create failed", path) from None
        try:
            _write_all(fd, compose_record(schema_json))
            os.fsync(fd)
        except OSError as e:
            os.close(fd)
            os.unlink(path)
            raise _io_error(e, f"{path}: write failed", path) from None
        os.close(fd)
        _fsync_dir(path)
    finally:
        lock.release()


def write_new(
    path: str, schema_json: dict[str, Any], snapshot_record: dict[str, Any] | None,
    comment: str | None = None,
) -> int:
    """Writes (creating or overwriting) a compacted file: schema, then one snapshot record
    stamped with ``_date`` and ``_comment``.  fsyncs it.  Returns the size.  No locking."""
    data = compose_record(schema_json)
    if snapshot_record is not None:
        data += compose_record(_annotate(snapshot_record, comment))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise _io_error(e, f"{path}: create or open failed", path) from None
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as e:
        raise _io_error(e, f"{path}: write failed", path) from None
    finally:
        os.close(fd)
    return len(data)


def replace(
    path: str,
    schema_json: dict[str, Any],
    snapshot_record: dict[str, Any] | None,
    comment: str | None = "compacting database online",
    *,
    writer: LogWriter | None = None,
) -> LogWriter:
    """Atomic compaction: writes ``<path>.tmp`` (schema + snapshot), fsyncs it, renames it over
    ``path`` and fsyncs the directory, as ovsdb_log_replace() does.  A crash at any point
    leaves either the old or the new file.

    ``writer``, if given, is the open writer for ``path``: its lock moves to the returned writer
    and it is closed.  Without one, the file is locked here (and must not be locked already).
    """
    real = os.path.realpath(path)
    tmp = real + ".tmp"
    if writer is not None:
        lock, writer._lock = writer._lock, None
    else:
        lock = Lock(path)
    try:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise _io_error(e, f"failed to remove {tmp}", path) from None
        data = compose_record(schema_json)
        base = 0
        if snapshot_record is not None:
            data += compose_record(_annotate(snapshot_record, comment))
            base = len(data)
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as e:
            raise _io_error(e, f"{tmp}: create failed", path) from None
        try:
            _write_all(fd, data)
            os.fsync(fd)
            os.rename(tmp, real)
        except OSError as e:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise _io_error(e, f'failed to rename "{tmp}" to "{real}"', path) from None
        _fsync_dir(real)
    except BaseException:
        if writer is not None:
            writer._lock = lock  # the old file is intact: let the old writer keep going
        elif lock is not None:
            lock.release()
        raise
    if writer is not None and writer._fd is not None:
        os.close(writer._fd)
        writer._fd = None
    return LogWriter(path, fd, len(data), lock, base_size=base, records_since_snapshot=0)
