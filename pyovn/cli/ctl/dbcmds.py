"""The database commands every ovs-vsctl-style tool has (ovs-vsctl(8) "Database Commands"):
list, find, get, set, add, remove, clear, create, destroy, wait-until."""

from __future__ import annotations

from typing import Any

from pyovn.cli.ctl.command import UNLIMITED, Command
from pyovn.cli.ctl.context import Context
from pyovn.cli.ctl.errors import CtlError, TryAgain
from pyovn.cli.ctl.output import Cell, Table
from pyovn.cli.ctl.values import (
    SymbolTable,
    as_atoms,
    atom_from_string,
    atom_to_string,
    datum_from_string,
    datum_to_string,
    make_datum,
    token_parse,
)
from pyovn.ovsdb.datum import datum_to_json
from pyovn.ovsdb.idl import Row
from pyovn.ovsdb.schema import UNLIMITED as DB_UNLIMITED
from pyovn.ovsdb.schema import ColumnSchema, TableSchema, Type

__all__ = ["DB_COMMANDS"]

_FIND_OPS = ("=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}",
             "{in}", "{not-in}")


def read(row: Row, column: ColumnSchema) -> Any:
    return row.uuid if column.name == "_uuid" else row.raw(column.name)


def parse_column_key_value(
    ctx: Context, arg: str, table: TableSchema, operators: tuple[str, ...] | None
) -> tuple[ColumnSchema, str | None, str | None, str | None]:
    """COLUMN[:KEY][OP VALUE] -> (column, key, operator, value) (parse_column_key_value)."""
    name, pos = token_parse(arg, 0)
    if not name:
        raise CtlError(f"{arg}: missing column name")
    column = ctx.column(table, name)
    key: str | None = None
    if pos < len(arg) and arg[pos] == ":":
        key, pos = token_parse(arg, pos + 1)
    if operators is None:
        if pos < len(arg):
            raise CtlError(f'{arg}: trailing garbage "{arg[pos:]}" in argument')
        return column, key, None, None
    rest = arg[pos:]
    best = ""
    for op in operators:
        if len(op) > len(best) and rest.startswith(op) and len(rest) > len(op):
            best = op
    if not best:
        quoted = [f'"{op}"' for op in operators]
        if len(quoted) == 1:
            ops = quoted[0]
        elif len(quoted) == 2:
            ops = f"{quoted[0]} or {quoted[1]}"
        else:
            ops = ", ".join(quoted[:-1]) + f", or {quoted[-1]}"
        raise CtlError(f"{arg}: argument does not end in {ops} followed by a value.")
    return column, key, best, rest[len(best):]


def column_names(ctx: Context, table: TableSchema, spec: str | None) -> list[ColumnSchema]:
    if spec is None:
        return [ctx.column(table, "_uuid")] + [table.columns[c] for c in sorted(table.columns)]
    out = []
    for name in spec.replace(" ", ",").split(","):
        if name:
            out.append(ctx.column(table, name))
    if not out:
        raise CtlError("must specify at least one column name")
    return out


def make_table(columns: list[ColumnSchema], rows: list[Row]) -> Table:
    table = Table([c.name for c in columns])
    for row in rows:
        table.rows.append([Cell(c.type, read(row, c)) for c in columns])
    return table


def check_mutable(ctx: Context, row: Row, column: ColumnSchema) -> None:
    if not column.mutable and not ctx.is_inserted(row):
        raise CtlError(f"cannot modify read-only column {column.name} in table "
                       f"{row.table.name}")


def _compare(type_: Type, a: tuple[Any, ...], b: tuple[Any, ...],
             av: tuple[Any, ...] = (), bv: tuple[Any, ...] = ()) -> int:
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    for x, y in zip(a, b):
        if x != y:
            return -1 if x < y else 1
    for x, y in zip(av, bv):
        if x != y:
            return -1 if x < y else 1
    return 0


def _items(type_: Type, value: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    if type_.value is not None:
        return tuple(value), tuple(value.values())
    return as_atoms(type_, value), ()


def evaluate(op: str, type_: Type, a: Any, b: Any) -> bool:
    ak, av = _items(type_, a)
    bk, bv = _items(type_, b)
    if op in ("=", "{=}"):
        return _compare(type_, ak, bk, av, bv) == 0
    if op in ("!=", "{!=}"):
        return _compare(type_, ak, bk, av, bv) != 0
    if op in ("<", ">", "<=", ">="):
        c = _compare(type_, ak, bk, av, bv)
        return {"<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]
    a_set = set(zip(ak, av)) if av else set(ak)
    b_set = set(zip(bk, bv)) if bv else set(bk)
    if op == "{<}":
        return len(b_set) > len(a_set) and a_set <= b_set
    if op == "{>}":
        return len(a_set) > len(b_set) and b_set <= a_set
    if op in ("{<=}", "{in}"):
        return a_set <= b_set
    if op == "{not-in}":
        return a_set.isdisjoint(b_set)
    return b_set <= a_set  # {>=}


def check_condition(ctx: Context, table: TableSchema, row: Row, arg: str,
                    symtab: SymbolTable) -> bool:
    column, key, op, value = parse_column_key_value(ctx, arg, table, _FIND_OPS)
    assert op is not None and value is not None
    have = read(row, column)
    if key is not None:
        vtype = column.type.value
        if vtype is None:
            raise CtlError(f"cannot specify key to check for non-map column {column.name}")
        want_key = atom_from_string(column.type.key, key, symtab)
        vset = Type(vtype, None, 0, DB_UNLIMITED)
        want = datum_from_string(vset, value, symtab)
        if want_key not in have:
            if not op.startswith("{"):
                return False
            return evaluate(op, vset, (), want)
        return evaluate(op, vset, (have[want_key],), want)
    want = datum_from_string(column.type, value, symtab)
    return evaluate(op, column.type, have, want)


class ListCmd(Command):
    name = "list"
    min_args, max_args = 1, UNLIMITED
    options = "--if-exists,--columns="

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        columns = column_names(ctx, table, self.opt("--columns"))
        if len(self.args) > 1:
            rows = []
            for rec in self.args[1:]:
                row = ctx.get_row(table, rec, not self.has("--if-exists"))
                if row is not None:
                    rows.append(row)
        else:
            rows = list(ctx.rows(table.name))
        self.table = make_table(columns, rows)


class FindCmd(Command):
    name = "find"
    min_args, max_args = 1, UNLIMITED
    options = "--columns="

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        columns = column_names(ctx, table, self.opt("--columns"))
        rows = [row for row in ctx.rows(table.name)
                if all(check_condition(ctx, table, row, a, ctx.symtab) for a in self.args[1:])]
        self.table = make_table(columns, rows)


class GetCmd(Command):
    name = "get"
    min_args, max_args = 2, UNLIMITED
    options = "--if-exists,--id="

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        record = self.args[1]
        must_exist = not self.has("--if-exists")
        row = ctx.get_row(table, record, must_exist)
        if row is None:
            return
        sym_id = self.opt("--id")
        if sym_id is not None:
            new = ctx.symtab.get(sym_id) is None
            sym = create_symbol(ctx, sym_id)
            if not new:
                raise CtlError(f'row id "{sym_id}" specified on "get" command was used '
                               "before it was defined")
            sym.uuid = row.uuid
            sym.strong_ref = True
        for arg in self.args[2:]:
            if arg.lower() in ("_uuid", "-uuid"):
                self.print(row.uuid)
                continue
            column, key, _, _ = parse_column_key_value(ctx, arg, table, None)
            if column.name != "_uuid":
                ctx.verify(row, column.name)
            value = read(row, column)
            if key is not None:
                vtype = column.type.value
                if vtype is None:
                    raise CtlError(f"cannot specify key to get for non-map column {column.name}")
                k = atom_from_string(column.type.key, key, ctx.symtab)
                if k not in value:
                    if must_exist:
                        raise CtlError(f'no key "{key}" in {table.name} record "{record}" '
                                       f"column {column.name}")
                    self.print("")
                else:
                    self.print(atom_to_string(vtype.type, value[k]))
            else:
                self.print(datum_to_string(column.type, value))


def create_symbol(ctx: Context, sym_id: str) -> Any:
    if not sym_id.startswith("@"):
        raise CtlError(f'row id "{sym_id}" does not begin with "@"')
    sym = ctx.symtab.insert(sym_id)
    if sym.created:
        raise CtlError(f'row id "{sym_id}" may only be specified on one --id option')
    sym.created = True
    return sym


def set_column(ctx: Context, table: TableSchema, row: Row, arg: str) -> None:
    column, key, _, value = parse_column_key_value(ctx, arg, table, ("=",))
    assert value is not None
    if column.name == "_uuid":
        raise CtlError(f"cannot modify read-only column _uuid in table {table.name}")
    check_mutable(ctx, row, column)
    if key is not None:
        vtype = column.type.value
        if vtype is None:
            raise CtlError(f"cannot specify key to set for non-map column {column.name}")
        k = atom_from_string(column.type.key, key, ctx.symtab)
        v = atom_from_string(vtype, value, ctx.symtab)
        ctx.set_key(row, column.name, k, v)
    else:
        ctx.write(row, column.name, datum_from_string(column.type, value, ctx.symtab))


class SetCmd(Command):
    name = "set"
    min_args, max_args = 3, UNLIMITED
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        row = ctx.get_row(table, self.args[1], not self.has("--if-exists"))
        if row is None:
            return
        for arg in self.args[2:]:
            set_column(ctx, table, row, arg)


def _set_column_arg(ctx: Context, table: TableSchema, name: str) -> ColumnSchema:
    column, _, _, _ = parse_column_key_value(ctx, name, table, None)
    return column


class AddCmd(Command):
    name = "add"
    min_args, max_args = 4, UNLIMITED
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        row = ctx.get_row(table, self.args[1], not self.has("--if-exists"))
        if row is None:
            return
        column = ctx.column(table, self.args[2])
        check_mutable(ctx, row, column)
        type_ = column.type
        add_type = Type(type_.key, type_.value, 1, DB_UNLIMITED)
        if type_.max == 1 and not ctx.is_inserted(row):
            # Sent as the mutation it is, so that the server reports what does not fit in
            # its own words, as it does for ovn-nbctl.
            atoms: list[Any] = []
            for arg in reversed(self.args[3:]):
                atoms.extend(as_atoms(add_type, datum_from_string(add_type, arg, ctx.symtab)))
            arg_json = datum_to_json(Type(type_.key, None, 0, DB_UNLIMITED), tuple(atoms))
            if not (isinstance(arg_json, list) and arg_json and arg_json[0] == "set"):
                arg_json = ["set", [arg_json]]
            ctx.txn.add_op({"op": "mutate", "table": table.name,
                            "where": [["_uuid", "==", ["uuid", row.uuid]]],
                            "mutations": [[column.name, "insert", arg_json]]})
            return
        old = read(row, column)
        if type_.value is not None:
            new = dict(old)
            for arg in self.args[3:]:
                new.update(datum_from_string(add_type, arg, ctx.symtab))
            n = len(new)
            result: Any = {k: new[k] for k in sorted(new)}
        else:
            merged = set(old)
            for arg in self.args[3:]:
                merged |= set(as_atoms(add_type, datum_from_string(add_type, arg, ctx.symtab)))
            n = len(merged)
            result = make_datum(type_, list(merged), None)
        if n > type_.max:
            what = "values" if type_.value is None else "pairs"
            raise CtlError(f'"add" operation would put {n} {what} in column {column.name} of '
                           f"table {table.name} but the maximum number is {type_.max}")
        ctx.write(row, column.name, result)


class RemoveCmd(Command):
    name = "remove"
    min_args, max_args = 4, UNLIMITED
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        row = ctx.get_row(table, self.args[1], not self.has("--if-exists"))
        if row is None:
            return
        column = ctx.column(table, self.args[2])
        check_mutable(ctx, row, column)
        type_ = column.type
        rm_type = Type(type_.key, type_.value, 1, DB_UNLIMITED)
        old = read(row, column)
        if type_.value is not None:
            new = dict(old)
            for arg in self.args[3:]:
                try:
                    pairs = datum_from_string(rm_type, arg, ctx.symtab)
                except CtlError:
                    keys = datum_from_string(Type(type_.key, None, 1, DB_UNLIMITED), arg,
                                             ctx.symtab)
                    for k in as_atoms(Type(type_.key, None, 1, DB_UNLIMITED), keys):
                        new.pop(k, None)
                    continue
                for k, v in pairs.items():
                    if new.get(k) == v:
                        del new[k]
            n = len(new)
            result: Any = new
        else:
            atoms = list(as_atoms(type_, old))
            for arg in self.args[3:]:
                gone = set(as_atoms(rm_type, datum_from_string(rm_type, arg, ctx.symtab)))
                atoms = [a for a in atoms if a not in gone]
            n = len(atoms)
            result = tuple(atoms) if not type_.is_scalar or n != 1 else atoms[0]
        if n < type_.min:
            what = "values" if type_.value is None else "pairs"
            raise CtlError(f'"remove" operation would put {n} {what} in column {column.name} '
                           f"of table {table.name} but the minimum number is {type_.min}")
        ctx.write(row, column.name, result)


class ClearCmd(Command):
    name = "clear"
    min_args, max_args = 3, UNLIMITED
    options = "--if-exists"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        row = ctx.get_row(table, self.args[1], not self.has("--if-exists"))
        if row is None:
            return
        for name in self.args[2:]:
            column = ctx.column(table, name)
            check_mutable(ctx, row, column)
            if column.type.min > 0:
                raise CtlError(f'"clear" operation cannot be applied to column {column.name} '
                               f"of table {table.name}, which is not allowed to be empty")
            ctx.write(row, column.name, {} if column.type.value is not None else ())


class CreateCmd(Command):
    name = "create"
    min_args, max_args = 2, UNLIMITED
    options = "--id="
    mode = "RW"

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        sym_id = self.opt("--id")
        uuid = None
        if sym_id is not None:
            sym = create_symbol(ctx, sym_id)
            if table.is_root:
                sym.strong_ref = True
            uuid = sym.uuid
        else:
            if not table.is_root:
                ctx.warnings.append(f'db_ctl_base|WARN|applying "create" command to table '
                                    f"{table.name} without --id option will have no effect")
        new = ctx.insert(table.name, uuid)
        for arg in self.args[1:]:
            set_column(ctx, table, new, arg)
        self.row = new

    def post(self, ctx: Context) -> None:
        real = ctx.txn.get_insert_uuid(self.row.uuid)
        self.print(real or self.row.uuid)


class DestroyCmd(Command):
    name = "destroy"
    min_args, max_args = 1, UNLIMITED
    options = "--if-exists,--all"
    mode = "RW"

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        delete_all = self.has("--all")
        must_exist = not self.has("--if-exists")
        if delete_all and len(self.args) > 1:
            raise CtlError("--all and records argument should not be specified together")
        if delete_all and not must_exist:
            raise CtlError("--all and --if-exists should not be specified together")
        if delete_all:
            for each in list(ctx.rows(table.name)):
                ctx.delete(each)
            return
        for rec in self.args[1:]:
            row = ctx.get_row(table, rec, must_exist)
            if row is not None:
                ctx.delete(row)


class WaitUntilCmd(Command):
    name = "wait-until"
    min_args, max_args = 2, UNLIMITED
    options = ""

    def run(self, ctx: Context) -> None:
        table = ctx.table_schema(self.args[0])
        row = ctx.get_row(table, self.args[1], False)
        if row is None:
            raise TryAgain()
        for arg in self.args[2:]:
            if not check_condition(ctx, table, row, arg, ctx.symtab):
                raise TryAgain()


DB_COMMANDS: list[type[Command]] = [
    ListCmd, FindCmd, GetCmd, SetCmd, AddCmd, RemoveCmd, ClearCmd, CreateCmd, DestroyCmd,
    WaitUntilCmd,
]
