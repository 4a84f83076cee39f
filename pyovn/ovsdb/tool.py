"""`pyovn ovsdb-tool`: create, compact and inspect standalone database files (ovsdb-tool(1)).

Commands, arguments, defaults, output and error messages follow Open vSwitch's ovsdb-tool so that
scripts written for one work with the other.  Errors print "ovsdb-tool: <message>" on stderr and
exit 1; db-is-standalone/db-is-clustered answer with exit status 0 (yes) or 2 (no).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import orjson

from pyovn.ovsdb import storage
from pyovn.ovsdb.storage import LogError

PROGRAM = "ovsdb-tool"


class Fatal(Exception):
    """Ends the command: message for stderr, exit status 1."""


def default_db() -> str:
    return os.path.join(os.environ.get("OVS_DBDIR") or "/etc/openvswitch", "conf.db")


def default_schema() -> str:
    pkgdatadir = os.environ.get("OVS_PKGDATADIR") or "/usr/share/openvswitch"
    return os.path.join(pkgdatadir, "vswitch.ovsschema")


def _check_schema(obj: Any, normalize: bool = False) -> dict[str, Any]:
    """Validates a schema with pyovn's schema module and returns its JSON: as given, or
    ``normalize``d the way ovsdb_schema_to_json() writes it (what ovsdb-tool create stores)."""
    from pyovn.ovsdb.error import OvsdbError
    from pyovn.ovsdb.schema import DatabaseSchema

    try:
        schema = DatabaseSchema.from_json(obj)
    except OvsdbError as e:
        raise Fatal(str(e)) from None
    return schema.to_json() if normalize else dict(obj)


def read_schema_file(path: str, normalize: bool = False) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as e:
        raise Fatal(f'failed to read schema: "{path}" could not be read as JSON '
                    f'(error opening "{path}": {os.strerror(e.errno or 0)})') from None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise Fatal(f'failed to read schema: "{path}" could not be read as JSON ({e})') from None
    return _check_schema(obj, normalize)


def read_db_schema(path: str) -> dict[str, Any]:
    """The schema record of a standalone database (ovsdb_storage_read_schema())."""
    if storage.file_magic(path) == storage.CLUSTER_MAGIC:
        raise Fatal(f"ovsdb error: {path}: cannot apply this operation to clustered "
                    f"database file")
    return _check_schema(storage.read_log(path).schema)


# --- commands ----------------------------------------------------------------------------------


def do_create(args: list[str], _: int) -> int:
    db = args[0] if len(args) >= 1 else default_db()
    schema = read_schema_file(args[1] if len(args) >= 2 else default_schema(), normalize=True)
    storage.create(db, schema)
    return 0


def _replay(contents: storage.LogContents) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replays a file into pyovn's in-memory database: (schema JSON, snapshot record)."""
    # Imported by name so this module type-checks whether or not the core is present yet.
    database: Any = importlib.import_module("pyovn.ovsdb.database")
    from pyovn.ovsdb.error import OvsdbError
    from pyovn.ovsdb.schema import DatabaseSchema

    try:
        schema = DatabaseSchema.from_json(contents.schema)
        db = database.Database(schema)
        for record in contents.records:
            db.apply_log_record(record)
    except OvsdbError as e:
        raise Fatal(str(e)) from None
    snapshot: dict[str, Any] = db.snapshot_record()
    return schema.to_json(), snapshot


def do_compact(args: list[str], _: int) -> int:
    """Replays the log into memory and writes it back as schema + one snapshot record.
    In place, the new file is written to DB.tmp and renamed over DB, under DB's lock."""
    from pyovn import __version__

    src = os.path.realpath(args[0] if len(args) >= 1 else default_db())
    in_place = len(args) < 2
    dst = src + ".tmp" if in_place else os.path.realpath(args[1])
    src_lock = storage.Lock(src) if in_place else None
    try:
        dst_lock = storage.Lock(dst)
        try:
            if storage.file_magic(src) == storage.CLUSTER_MAGIC:
                raise Fatal(f"ovsdb error: {src}: cannot apply this operation to clustered "
                            f"database file")
            contents = storage.read_log(src)
            if contents.error:  # the real ovsdb-tool refuses too: compact a file you can read
                raise Fatal(contents.error)
            schema_json, snapshot = _replay(contents)
            comment = f"compacted by pyovn ovsdb-tool {__version__}"
            try:
                storage.write_new(dst, schema_json, snapshot, comment)
            except LogError:
                _unlink_quietly(dst)
                raise
            if in_place:
                try:
                    os.rename(dst, src)
                except OSError as e:
                    raise Fatal(f'failed to rename "{dst}" to "{src}" '
                                f"({os.strerror(e.errno or 0)})") from None
                storage._fsync_dir(src)
        finally:
            dst_lock.release()
    finally:
        if src_lock is not None:
            src_lock.release()
    return 0


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _clustered_name(path: str) -> str:
    """The database name from a clustered file's header record (its "name" member)."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    reader = storage._Reader(path, data)
    try:
        hdr = reader.header(storage.CLUSTER_MAGIC)
        assert hdr is not None
        header = reader.body(hdr[1], hdr[2], hdr[3])
    except storage._BadRecord as e:
        raise Fatal(str(e)) from None
    name = header.get("name")
    if not isinstance(name, str):
        raise Fatal(f"syntax error: {path}: clustered database header lacks a name")
    return name


def do_db_name(args: list[str], _: int) -> int:
    db = args[0] if args else default_db()
    if storage.file_magic(db) == storage.CLUSTER_MAGIC:
        print(_clustered_name(db))
    else:
        print(read_db_schema(db)["name"])
    return 0


def do_db_version(args: list[str], _: int) -> int:
    print(read_db_schema(args[0] if args else default_db()).get("version", ""))
    return 0


def do_db_cksum(args: list[str], _: int) -> int:
    print(read_db_schema(args[0] if args else default_db()).get("cksum", ""))
    return 0


def do_schema_name(args: list[str], _: int) -> int:
    print(read_schema_file(args[0] if args else default_schema())["name"])
    return 0


def do_schema_version(args: list[str], _: int) -> int:
    print(read_schema_file(args[0] if args else default_schema()).get("version", ""))
    return 0


def do_schema_cksum(args: list[str], _: int) -> int:
    print(read_schema_file(args[0] if args else default_schema()).get("cksum", ""))
    return 0


def do_db_is_standalone(args: list[str], _: int) -> int:
    return 0 if storage.file_magic(args[0]) == storage.MAGIC else 2


def do_db_is_clustered(args: list[str], _: int) -> int:
    return 0 if storage.file_magic(args[0]) == storage.CLUSTER_MAGIC else 2


# --- show-log ----------------------------------------------------------------------------------


def _json_sorted(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


_UUID_CHARS = set("0123456789abcdefABCDEF")


def _looks_like_uuid(s: str) -> bool:
    return (
        len(s) == 36
        and all(s[i] == "-" for i in (8, 13, 18, 23))
        and all(c in _UUID_CHARS for i, c in enumerate(s) if i not in (8, 13, 18, 23))
    )


def _string_needs_quotes(s: str) -> bool:
    """OVS prints a string bare only if it looks like an identifier (ovsdb-data.c)."""
    if not s or not (s[0].isascii() and (s[0].isalpha() or s[0] == "_")):
        return True
    if any(not (c.isascii() and (c.isalnum() or c in "_-.")) for c in s[1:]):
        return True
    return s in ("true", "false") or _looks_like_uuid(s)


class _BadDatum(Exception):
    pass


def _atom(json: Any, atype: str) -> tuple[Any, str]:
    """(sort key, printed form) of one atom, or _BadDatum."""
    if atype == "integer" and type(json) is int:
        return json, str(json)
    if atype == "real" and type(json) in (int, float):
        return float(json), f"{float(json):.15g}"
    if atype == "boolean" and type(json) is bool:
        return json, "true" if json else "false"
    if atype == "string" and type(json) is str:
        return json, _json_sorted(json) if _string_needs_quotes(json) else json
    if (atype == "uuid" and type(json) is list and len(json) == 2 and json[0] == "uuid"
            and type(json[1]) is str and _looks_like_uuid(json[1])):
        return json[1].lower(), json[1].lower()
    raise _BadDatum


def _base_type(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("type"), str):
        return str(obj["type"])
    raise _BadDatum


def _datum_string(value: Any, ctype: Any) -> str:
    """ovsdb_datum_to_string() of a column value, or _BadDatum if it does not fit the type."""
    if isinstance(ctype, str) or (isinstance(ctype, dict) and "key" not in ctype):
        key_t, value_t, n_min, n_max = _base_type(ctype), None, 1, 1
    elif isinstance(ctype, dict):
        key_t = _base_type(ctype["key"])
        value_t = _base_type(ctype["value"]) if "value" in ctype else None
        n_min = int(ctype.get("min", 1))
        raw_max = ctype.get("max", 1)
        n_max = 2**63 if raw_max == "unlimited" else int(raw_max)
    else:
        raise _BadDatum
    items: list[tuple[Any, str]] = []
    if value_t is not None:
        if not (type(value) is list and len(value) == 2 and value[0] == "map"
                and type(value[1]) is list):
            raise _BadDatum
        for pair in value[1]:
            if not (type(pair) is list and len(pair) == 2):
                raise _BadDatum
            k, ks = _atom(pair[0], key_t)
            _, vs = _atom(pair[1], value_t)
            items.append((k, f"{ks}={vs}"))
    elif type(value) is list and len(value) == 2 and value[0] == "set":
        if type(value[1]) is not list:
            raise _BadDatum
        items = [_atom(a, key_t) for a in value[1]]
    else:
        items = [_atom(value, key_t)]
    if not n_min <= len(items) <= n_max:
        raise _BadDatum
    items.sort(key=lambda kv: kv[0])
    if any(items[i][0] == items[i + 1][0] for i in range(len(items) - 1)):
        raise _BadDatum
    body = ", ".join(s for _, s in items)
    if n_max > 1 or not items:
        return f"{{{body}}}" if value_t is not None else f"[{body}]"
    return body


def _format_date(t: int) -> str:
    if t < 2**31 - 1:  # early OVSDB versions wrote seconds
        t *= 1000
    dt = datetime.datetime.fromtimestamp(t // 1000, datetime.UTC)
    return f" {dt:%Y-%m-%d %H:%M:%S}.{t % 1000:03d}"


def _print_changes(record: dict[str, Any], names: dict[str, str], tables: dict[str, Any],
                   verbosity: int, out: list[str]) -> None:
    diff = record.get("_is_diff") is True
    first = True
    for table, rows in record.items():
        if table.startswith("_") or not isinstance(rows, dict):
            continue
        if first:
            out.append("\n")
            first = False
        table_schema = tables.get(table)
        columns_schema = table_schema.get("columns", {}) if isinstance(table_schema, dict) else {}
        for row_uuid, columns in rows.items():
            old_name = names.get(row_uuid)
            new_name = None
            if isinstance(columns, dict) and "name" in columns:
                new_name = _json_sorted(columns["name"])
            out.append(f"  table {table}")
            if old_name is None:
                if new_name is not None:
                    out.append(f" insert row {new_name} ({row_uuid[:8]}):\n")
                else:
                    out.append(f" insert row {row_uuid[:8]}:\n")
            else:
                out.append(f" row {old_name} ({row_uuid[:8]}){' diff' if diff else ''}:\n")
            if isinstance(columns, dict):
                if verbosity > 1:
                    for column, value in columns.items():
                        cschema = columns_schema.get(column)
                        try:
                            if not isinstance(cschema, dict):
                                raise _BadDatum
                            text = _datum_string(value, cschema.get("type"))
                        except (_BadDatum, ValueError, TypeError):
                            text = _json_sorted(value)
                        out.append(f"    {column}={text}\n")
                if new_name is not None and new_name != old_name:
                    names[row_uuid] = new_name
                elif old_name is None:
                    names[row_uuid] = row_uuid[:8]
            elif columns is None:
                out.append("    delete row\n")
                names.pop(row_uuid, None)


def do_show_log(args: list[str], verbosity: int) -> int:
    db = args[0] if args else default_db()
    if storage.file_magic(db) == storage.CLUSTER_MAGIC:
        raise Fatal(f"ovsdb error: {db}: show-log of clustered databases is not supported "
                    f"by pyovn; use the real ovsdb-tool")
    contents = storage.read_log(db)
    schema = _check_schema(contents.schema)
    tables = schema["tables"]
    names: dict[str, str] = {}
    out = [
        f'record 0: "{schema["name"]}" schema, version="{schema.get("version", "")}", '
        f'cksum="{schema.get("cksum", "")}"\n\n'
    ]
    for i, record in enumerate(contents.records, 1):
        out.append(f"record {i}:")
        date = record.get("_date")
        if type(date) is int:
            out.append(_format_date(date))
        comment = record.get("_comment")
        if isinstance(comment, str):
            out.append(f' "{comment}"')
        if verbosity > 0:
            _print_changes(record, names, tables, verbosity, out)
        out.append("\n")
        if len(out) > 4096:
            sys.stdout.write("".join(out))
            out.clear()
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    if contents.error:  # like ovsdb-tool: print what is readable, then fail on the bad record
        raise Fatal(contents.error)
    return 0


# --- command line ------------------------------------------------------------------------------

Command = Callable[[list[str], int], int]

# name -> (usage, min args, max args, function)
COMMANDS: dict[str, tuple[str, int, int, Command]] = {
    "create": ("[db [schema]]", 0, 2, do_create),
    "compact": ("[db [dst]]", 0, 2, do_compact),
    "db-name": ("[db]", 0, 1, do_db_name),
    "db-version": ("[db]", 0, 1, do_db_version),
    "db-cksum": ("[db]", 0, 1, do_db_cksum),
    "db-is-clustered": ("db", 1, 1, do_db_is_clustered),
    "db-is-standalone": ("db", 1, 1, do_db_is_standalone),
    "schema-name": ("[schema]", 0, 1, do_schema_name),
    "schema-version": ("[schema]", 0, 1, do_schema_version),
    "schema-cksum": ("[schema]", 0, 1, do_schema_cksum),
    "show-log": ("[db]", 0, 1, do_show_log),
}


def usage() -> str:
    return (
        f"{PROGRAM}: Open vSwitch database management utility (pyovn)\n"
        f"usage: pyovn {PROGRAM} [OPTIONS] COMMAND [ARG...]\n"
        "  create [DB [SCHEMA]]    create DB with the given SCHEMA\n"
        "  compact [DB [DST]]      compact DB in-place (or to DST)\n"
        "  db-name [DB]            report name of schema used by DB\n"
        "  db-version [DB]         report version of schema used by DB\n"
        "  db-cksum [DB]           report checksum of schema used by DB\n"
        "  db-is-clustered DB      test whether DB is clustered\n"
        "  db-is-standalone DB     test whether DB is standalone\n"
        "  schema-name [SCHEMA]    report SCHEMA's name\n"
        "  schema-version [SCHEMA] report SCHEMA's schema version\n"
        "  schema-cksum [SCHEMA]   report SCHEMA's checksum\n"
        "  [-m]... show-log [DB]   print DB's log entries\n"
        f"The default DB is {default_db()}.\n"
        f"The default SCHEMA is {default_schema()}.\n"
        "\nOther options:\n"
        "  -m, --more                  increase show-log verbosity\n"
        "  -h, --help                  display this help message\n"
        "  -V, --version               display version information\n"
    )


def _fail(message: str) -> int:
    sys.stdout.flush()
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    verbosity = 0
    positional: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--":
            positional.extend(args)
            break
        if arg in ("-h", "--help"):
            print(usage(), end="")
            return 0
        if arg in ("-V", "--version"):
            from pyovn import __version__

            print(f"{PROGRAM} (pyovn) {__version__}")
            return 0
        if arg == "--more":
            verbosity += 1
        elif arg.startswith("-") and len(arg) > 1 and not arg.startswith("--") \
                and set(arg[1:]) == {"m"}:
            verbosity += len(arg) - 1
        elif arg.startswith("-") and len(arg) > 1:
            return _fail(f"unrecognized option '{arg}'")
        else:
            positional.append(arg)
    if not positional:
        return _fail("missing command name; use --help for help")
    name, cmd_args = positional[0], positional[1:]
    entry = COMMANDS.get(name)
    if entry is None:
        return _fail(f"unknown command '{name}'; use --help for help")
    _, n_min, n_max, func = entry
    if len(cmd_args) < n_min:
        return _fail(f"'{name}' command requires at least {n_min} arguments")
    if len(cmd_args) > n_max:
        return _fail(f"'{name}' command takes at most {n_max} arguments")
    try:
        return func(cmd_args, verbosity)
    except (Fatal, LogError) as e:
        return _fail(str(e))
    except BrokenPipeError:
        return 1
