"""The text syntax of values and command lines, including bad input (no server needed)."""

from __future__ import annotations

import pytest

from pyovn.cli.ctl.command import CommandSet
from pyovn.cli.ctl.dbcmds import DB_COMMANDS, evaluate
from pyovn.cli.ctl.errors import CtlError
from pyovn.cli.ctl.options import parse_command_line
from pyovn.cli.ctl.output import Cell, Style, Table, TablePrinter
from pyovn.cli.ctl.values import (
    SymbolTable,
    datum_from_string,
    datum_to_bare,
    datum_to_string,
    token_parse,
)
from pyovn.ovsdb.schema import Type

MAP = Type.from_json({"key": "string", "value": "string", "min": 0, "max": "unlimited"})
SET = Type.from_json({"key": "string", "min": 0, "max": "unlimited"})
INT_SET = Type.from_json({"key": {"type": "integer", "minInteger": 0, "maxInteger": 10},
                          "min": 0, "max": "unlimited"})
OPT_INT = Type.from_json({"key": "integer", "min": 0, "max": 1})
REF = Type.from_json({"key": {"type": "uuid", "refTable": "T"}, "min": 0, "max": "unlimited"})


def test_strings_are_quoted_only_when_they_would_not_read_back() -> None:
    value = ("a", "p1", "1a", "true", "x y", "")
    assert datum_to_string(SET, tuple(sorted(value))) == '["", "1a", a, p1, "true", "x y"]'
    assert datum_to_string(MAP, {"k": "v w"}) == '{k="v w"}'
    assert datum_to_string(OPT_INT, ()) == "[]"
    assert datum_to_string(OPT_INT, (5,)) == "5"
    assert datum_to_bare(MAP, {"k": "v w"}) == "k=v w"


def test_maps_sets_and_ranges_parse() -> None:
    assert datum_from_string(MAP, '{a=b, c="d e"}') == {"a": "b", "c": "d e"}
    assert datum_from_string(SET, '["x y", z]') == ("x y", "z")
    assert datum_from_string(INT_SET, "1-3") == (1, 2, 3)
    assert datum_from_string(SET, "[]") == ()


@pytest.mark.parametrize(("type_", "text", "message"), [
    (MAP, "x", 'x: syntax error at "'),
    (MAP, "{a=b", '{a=b: missing "}" at end of data'),
    (MAP, "{a=b}x", '{a=b}x: trailing garbage after "}"'),
    (MAP, "{a=b, a=c}", "{a=b, a=c}: map contains duplicate key"),
    (SET, "00:11", '00:11: unexpected ":" parsing set of strings'),
    (SET, "", 'use "[]" to specify the empty set'),
    (INT_SET, "abc", '"abc" is not a valid integer or range'),
    (INT_SET, "11", "constraint violation: 11 is not in the valid range 0 to 10 (inclusive)"),
    (OPT_INT, "[1,2]", "[1,2]: 2 value(s) specified but the maximum number is 1"),
    (REF, "nope", '"nope" is not a valid UUID'),
    (SET, '"abc', '"abc: quoted string extends past end of argument'),
])
def test_bad_values_give_ovs_errors(type_: Type, text: str, message: str) -> None:
    with pytest.raises(CtlError) as info:
        datum_from_string(type_, text)
    assert info.value.message == message


def test_symbols_are_created_on_reference() -> None:
    symtab = SymbolTable()
    uuid = datum_from_string(REF, "[@a]", symtab)[0]
    sym = symtab.get("@a")
    assert sym is not None and sym.uuid == uuid and sym.strong_ref and not sym.created


def test_token_parse_stops_at_unquoted_delimiters() -> None:
    assert token_parse('external_ids:"a:b"=c') == ("external_ids", 12)
    assert token_parse('"a:b"=c') == ('"a:b"', 5)
    with pytest.raises(CtlError):
        token_parse("abc\\")


def test_set_relations() -> None:
    assert evaluate("{<=}", SET, ("a",), ("a", "b"))
    assert not evaluate("{<}", SET, ("a", "b"), ("a", "b"))
    assert evaluate("{not-in}", SET, ("c",), ("a", "b"))
    assert evaluate("<", SET, ("b",), ("a", "b"))  # fewer elements sorts first


COMMANDS = CommandSet(DB_COMMANDS)


def test_command_line_splits_commands_and_options() -> None:
    g, cmds = parse_command_line(
        ["--format=csv", "--columns=name", "list", "T", "--", "--if-exists", "get", "T", "r",
         "c"], COMMANDS)
    assert g.format == "csv" and g.style_order == ["format"]
    assert [c.name for c in cmds] == ["list", "get"]
    assert cmds[0].opts == {"--columns": "name"} and cmds[1].opts == {"--if-exists": None}


@pytest.mark.parametrize(("argv", "message"), [
    (["--foo", "list", "T"], "unrecognized option '--foo'"),
    (["--", "--foo", "list", "T"], "'list' command has no '--foo' option"),
    (["list"], "'list' command requires at least 1 arguments"),
    (["nope"], "unknown command 'nope'; use --help for help"),
    ([], "missing command name (use --help for help)"),
    (["--", "--columns", "list", "T"], "missing argument to '--columns' option on 'list' command"),
    (["--wait=x", "list", "T"], 'argument to --wait must be "none", "sb", or "hv"'),
    (["-t", "x", "list", "T"], "value x on -t or --timeout is invalid"),
    (["--", "--if-exists", "--if-exists", "list", "T"],
     "'--if-exists' option specified multiple times"),
])
def test_bad_command_lines(argv: list[str], message: str) -> None:
    with pytest.raises(CtlError) as info:
        parse_command_line(argv, COMMANDS)
    assert info.value.message == message


def test_table_formats() -> None:
    t = Table(["name", "ids"], [[Cell(None, "a,b"), Cell(MAP, {"k": "v"})]])
    assert TablePrinter(Style("table")).render(t) == "name ids\n---- -----\na,b  {k=v}\n"
    assert TablePrinter(Style("csv")).render(t) == 'name,ids\n"a,b",{k=v}\n'
    assert TablePrinter(Style("json")).render(t) == \
        '{"data":[["a,b",["map",[["k","v"]]]]],"headings":["name","ids"]}\n'
    p = TablePrinter(Style("list"))
    p.render(t)
    assert p.render(t).startswith("\nname                : a,b\n")
    with pytest.raises(CtlError):
        Style().set_format("xml")
