"""Values as text, in the syntax of ovs-vsctl(8) "Database Values" (ovsdb-data.c).

Parsing gives pyovn's internal datum form (datum.py: a bare atom for a one-atom column, sorted
tuples for sets, sorted dicts for maps), so results go straight into a Transaction.  Printing
gives what ovn-nbctl prints: `[a, b]` for sets, `{k=v}` for maps, strings quoted only when they
would not read back as the same string.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from pyovn.cli.ctl.errors import CtlError
from pyovn.ovsdb.datum import check_atom
from pyovn.ovsdb.error import OvsdbError
from pyovn.ovsdb.schema import UNLIMITED, BaseType, Type

__all__ = [
    "Symbol",
    "SymbolTable",
    "atom_from_string",
    "atom_to_bare",
    "atom_to_string",
    "datum_from_string",
    "datum_to_bare",
    "datum_to_string",
    "is_uuid",
    "token_parse",
]

_DELIMS = frozenset(":=, []{}!<>")
_BARE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)
_INT_RE = re.compile(r"[ \t\n\v\f\r]*[-+]?[0-9]+\Z")


def is_uuid(text: str) -> bool:
    return _UUID_RE.match(text) is not None


# --- symbols (--id=@name) --------------------------------------------------------------------


@dataclass
class Symbol:
    name: str
    uuid: str
    created: bool = False
    strong_ref: bool = False
    weak_ref: bool = False


@dataclass
class SymbolTable:
    """`@name` row ids of one batch: created by `--id=@name create`, referenced in values."""

    symbols: dict[str, Symbol] = field(default_factory=dict)

    def get(self, name: str) -> Symbol | None:
        return self.symbols.get(name)

    def insert(self, name: str) -> Symbol:
        sym = self.symbols.get(name)
        if sym is None:
            sym = self.symbols[name] = Symbol(name, str(uuidlib.uuid4()))
        return sym


# --- printing --------------------------------------------------------------------------------


def _string_text(s: str) -> str:
    if _BARE_RE.match(s) and s not in ("true", "false") and not _UUID_RE.match(s):
        return s
    return json.dumps(s, ensure_ascii=False)


def atom_to_string(atomic: str, atom: Any) -> str:
    if atomic == "string":
        return _string_text(atom)
    if atomic == "boolean":
        return "true" if atom else "false"
    if atomic == "real":
        return f"{atom:.15g}"
    return str(atom)


def atom_to_bare(atomic: str, atom: Any) -> str:
    return atom if atomic == "string" else atom_to_string(atomic, atom)


def datum_to_string(type_: Type, value: Any) -> str:
    key_t = type_.key.type
    if type_.value is not None:
        val_t = type_.value.type
        inner = ", ".join(f"{atom_to_string(key_t, k)}={atom_to_string(val_t, v)}"
                          for k, v in value.items())
        return inner if type_.max == 1 and value else "{" + inner + "}"
    if type_.is_scalar:
        return atom_to_string(key_t, value)
    inner = ", ".join(atom_to_string(key_t, a) for a in value)
    return inner if type_.max == 1 and value else "[" + inner + "]"


def datum_to_bare(type_: Type, value: Any) -> str:
    key_t = type_.key.type
    if type_.value is not None:
        val_t = type_.value.type
        return " ".join(f"{atom_to_bare(key_t, k)}={atom_to_bare(val_t, v)}"
                        for k, v in value.items())
    if type_.is_scalar:
        return atom_to_bare(key_t, value)
    return " ".join(atom_to_bare(key_t, a) for a in value)


# --- parsing ---------------------------------------------------------------------------------


def token_parse(s: str, pos: int = 0) -> tuple[str, int]:
    """One token from s[pos:]: up to an unquoted delimiter, backslash escapes kept inside
    quotes and removed outside (ovsdb_token_parse).  Returns (token, new position)."""
    out: list[str] = []
    in_quotes = False
    n = len(s)
    i = pos
    while i < n:
        c = s[i]
        i += 1
        if c == "\\":
            if in_quotes:
                out.append("\\")
            if i >= n:
                raise CtlError(f"{s[pos:]}: backslash at end of argument")
            out.append(s[i])
            i += 1
        elif not in_quotes and c in _DELIMS:
            i -= 1
            break
        else:
            out.append(c)
            if c == '"':
                in_quotes = not in_quotes
    if in_quotes:
        raise CtlError(f"{s[pos:]}: quoted string extends past end of argument")
    return "".join(out), i


def _unquote(s: str) -> str:
    if len(s) < 2 or s[-1] != '"':
        raise CtlError(f"{s}: missing quote at end of quoted string")
    try:
        value = json.loads(s)
    except ValueError as error:
        raise CtlError(f"{s}: {error}") from None
    if not isinstance(value, str):
        raise CtlError(f"{s}: missing quote at end of quoted string")
    return value


def atom_from_string(base: BaseType, s: str, symtab: SymbolTable | None = None) -> Any:
    """One atom, checked against the base type's constraints (ovsdb_atom_from_string)."""
    atomic = base.type
    atom: Any
    if atomic == "integer":
        if not _INT_RE.match(s):
            raise CtlError(f'"{s}" is not a valid integer')
        atom = int(s)
        if not -(2**63) <= atom < 2**63:
            raise CtlError(f'"{s}" is not a valid integer')
    elif atomic == "real":
        try:
            atom = float(s)
        except ValueError:
            raise CtlError(f'"{s}" is not a valid real number') from None
    elif atomic == "boolean":
        if s in ("true", "yes", "on", "1"):
            atom = True
        elif s in ("false", "no", "off", "0"):
            atom = False
        else:
            raise CtlError(f'"{s}" is not a valid boolean (use "true" or "false")')
    elif atomic == "string":
        if not s:
            raise CtlError('An empty string is not valid as input; use "" to represent '
                           "the empty string")
        atom = _unquote(s) if s[0] == '"' else s
    else:
        if s.startswith("@") and symtab is not None:
            sym = symtab.insert(s)
            if base.ref_strong:
                sym.strong_ref = True
            else:
                sym.weak_ref = True
            return sym.uuid
        if not _UUID_RE.match(s):
            raise CtlError(f'"{s}" is not a valid UUID')
        atom = s.lower()
    if base.has_constraints and atomic != "uuid":
        try:
            check_atom(base, atom)
        except OvsdbError as error:
            raise CtlError(str(error)) from None
    return atom


def _type_english(type_: Type) -> str:
    """ovsdb_type_to_english: how parse errors name a type."""
    key = type_.key.type
    if type_.is_scalar:
        return key
    value = type_.value
    if value is not None:
        return f"map from {key} to {value.type}"
    plural = {"integer": "integers", "real": "reals", "boolean": "booleans",
              "string": "strings", "uuid": "uuids"}[key]
    if type_.min == 0 and type_.max == 1:
        return f"optional {key}"
    if type_.max == UNLIMITED:
        if type_.min == 0:
            return f"set of {plural}"
        return f"set of {type_.min} or more {plural}"
    return f"set of up to {type_.max} {plural}"


def _skip_spaces(s: str, i: int) -> int:
    n = len(s)
    while i < n and s[i] in " \t\n\v\f\r":
        i += 1
    return i


_RANGE_RE = re.compile(r"(-?[0-9]+)-(-?[0-9]+)\Z")


def _parse_atom_token(s: str, i: int, base: BaseType, symtab: SymbolTable | None
                      ) -> tuple[list[Any], int]:
    """One atom, or for integers a range "LO-HI" of them (as in OVS 2.16+)."""
    token, i = token_parse(s, i)
    if base.type == "integer" and not _INT_RE.match(token):
        m = _RANGE_RE.match(token)
        if m is None:
            raise CtlError(f'"{token}" is not a valid integer or range')
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise CtlError(f'"{token}" is not a valid range. '
                           "Range end cannot be before start.")
        if hi - lo >= 4096:
            raise CtlError(f'Range "{token}" is too big.')
        return [atom_from_string(base, str(n), symtab) for n in range(lo, hi + 1)], i
    return [atom_from_string(base, token, symtab)], i


def datum_from_string(type_: Type, s: str, symtab: SymbolTable | None = None) -> Any:
    """A whole column value: "a", "[a, b]", "{k=v}", "[]" (ovsdb_datum_from_string)."""
    is_map = type_.value is not None
    i = _skip_spaces(s, 0)
    end_delim = ""
    if i < len(s) and s[i] == ("{" if is_map else "["):
        end_delim = "}" if is_map else "]"
        i = _skip_spaces(s, i + 1)
    elif i >= len(s):
        raise CtlError('use "{}" to specify the empty map' if is_map
                       else 'use "[]" to specify the empty set')
    keys: list[Any] = []
    values: list[Any] = []
    while i < len(s) and s[i] != end_delim:
        if s[i] in _DELIMS:
            raise CtlError(f'{s}: unexpected "{s[i]}" parsing {_type_english(type_)}')
        key, i = _parse_atom_token(s, i, type_.key, symtab)
        keys.extend(key)
        if type_.value is not None:
            i = _skip_spaces(s, i)
            if i >= len(s) or s[i] != "=":
                c = s[i] if i < len(s) else ""
                # OVS prints the NUL at the end of the string with "%c", which ends it.
                raise CtlError(f'{s}: syntax error at "{c}" expecting "="' if c
                               else f'{s}: syntax error at "')
            i = _skip_spaces(s, i + 1)
            value, i = _parse_atom_token(s, i, type_.value, symtab)
            values.extend(value)
        i = _skip_spaces(s, i)
        if i < len(s) and s[i] == ",":
            i = _skip_spaces(s, i + 1)
    if (s[i] if i < len(s) else "") != end_delim:
        raise CtlError(f'{s}: missing "{end_delim}" at end of data')
    if end_delim:
        i = _skip_spaces(s, i + 1)
        if i < len(s):
            raise CtlError(f'{s}: trailing garbage after "{end_delim}"')
    n = len(keys)
    what = "pair(s)" if is_map else "value(s)"
    if n < type_.min:
        raise CtlError(f"{s}: {n} {what} specified but the minimum number is {type_.min}")
    if n > type_.max:
        raise CtlError(f"{s}: {n} {what} specified but the maximum number is {type_.max}")
    return make_datum(type_, keys, values if is_map else None, s)


def make_datum(type_: Type, keys: list[Any], values: list[Any] | None, text: str = "") -> Any:
    """The internal form of parsed atoms; duplicate map keys are an error, as in OVS."""
    if values is not None:
        out: dict[Any, Any] = {}
        for k, v in zip(keys, values):
            if k in out:
                raise CtlError(f"{text}: map contains duplicate key")
            out[k] = v
        return {k: out[k] for k in sorted(out)}
    atoms = tuple(sorted(set(keys)))
    if type_.is_scalar:
        return atoms[0]
    return atoms


def set_type(type_: Type) -> Type:
    """The type of the argument of "add"/"remove": any number of the column's elements."""
    return Type(type_.key, type_.value, 0, UNLIMITED)


def key_type(type_: Type) -> Type:
    """Keys only (remove KEY from a map)."""
    return Type(type_.key, None, 0, UNLIMITED)


def as_atoms(type_: Type, value: Any) -> tuple[Any, ...]:
    if type_.is_scalar:
        return (value,)
    return tuple(value)
