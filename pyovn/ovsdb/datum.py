"""Typed OVSDB values: conversion between the wire's JSON and pyovn's internal form.

Internal form, chosen so that rows compare and serialise cheaply:
- a column of exactly one atom (min 1, max 1, no value type) holds the bare atom;
- any other set holds a tuple of atoms, sorted and unique;
- a map holds a dict whose keys are inserted in sorted order.
Atoms are Python int, float, bool and str; UUIDs are lowercase 36-character strings, since
the column type always says how to print them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from pyovn.ovsdb.error import OvsdbError, constraint_violation, json_text
from pyovn.ovsdb.schema import UINT_MAX, UNLIMITED, UUID_ZERO, BaseType, Type

_BARE_STRING_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

# Resolves a ["named-uuid", name] reference to a UUID (None: named-uuid not allowed here).
SymbolResolver = Callable[[str], str]

_ATOM_DEFAULTS: dict[str, Any] = {
    "integer": 0, "real": 0.0, "boolean": False, "string": "", "uuid": UUID_ZERO,
}


def default_value(type_: Type) -> Any:
    """RFC 7047's default: empty if min is 0, else one default atom (or key-value pair)."""
    key = _ATOM_DEFAULTS[type_.key.type]
    if type_.value is not None:
        return {key: _ATOM_DEFAULTS[type_.value.type]} if type_.min else {}
    if type_.is_scalar:
        return key
    return (key,) if type_.min else ()


class JsonError(OvsdbError):
    """An error about a piece of JSON, which is reported back as "syntax" even when it is
    null, with reals printed the way Open vSwitch prints them."""

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"error": self.tag}
        if self.details is not None:
            obj["details"] = self.details
        obj["syntax"] = json_text(ovs_json(self.syntax))
        return obj


def json_error(syntax: Any, details: str, tag: str = "syntax error") -> JsonError:
    return JsonError(tag, details, syntax)


def ovs_json(value: Any) -> Any:
    """JSON with every real replaced by what OVS's "%.15g" printing of it parses back as."""
    if isinstance(value, float):
        return real_to_json(value)
    if isinstance(value, list):
        return [ovs_json(v) for v in value]
    if isinstance(value, dict):
        return {k: ovs_json(v) for k, v in value.items()}
    return value


def is_valid_uuid(text: Any) -> bool:
    return isinstance(text, str) and UUID_RE.match(text) is not None


# --- atoms ---------------------------------------------------------------------------------


def atom_from_json(base: BaseType, json: Any, symbols: SymbolResolver | None = None) -> Any:
    """Parses one atom and checks the base type's constraints."""
    atomic = base.type
    if atomic == "string":
        if not isinstance(json, str):
            raise json_error(json, "expected string")
        atom: Any = json
    elif atomic == "integer":
        if type(json) is float and json.is_integer() and -(2**63) <= json < 2**63:
            json = int(json)  # OVS's JSON parser reads 5.0 (or 5e0) as the integer 5
        if isinstance(json, bool) or not isinstance(json, int):
            raise json_error(json, "expected integer")
        if not -(2**63) <= json < 2**63:
            # OVS's JSON parser reads integers beyond 64 bits as reals.
            raise json_error(float(json), "expected integer")
        atom = json
    elif atomic == "real":
        if isinstance(json, bool) or not isinstance(json, (int, float)):
            raise json_error(json, "expected real")
        atom = float(json)
    elif atomic == "boolean":
        if not isinstance(json, bool):
            raise json_error(json, "expected boolean")
        atom = json
    else:
        atom = _uuid_from_json(json, symbols)
    if base.has_constraints:
        check_atom(base, atom)
    return atom


def _uuid_from_json(json: Any, symbols: SymbolResolver | None) -> str:
    if isinstance(json, list) and len(json) == 2 and isinstance(json[1], str):
        if json[0] == "uuid":
            if not UUID_RE.match(json[1]):
                raise json_error(json, f'"{json[1]}" is not a valid UUID')
            return json[1].lower()
        if json[0] == "named-uuid" and symbols is not None:
            if not ID_RE.match(json[1]):
                raise json_error(json, "named-uuid string is not a valid <id>")
            return symbols(json[1])
    raise json_error(json, 'expected ["uuid", <string>]')


def check_atom(base: BaseType, atom: Any) -> None:
    if base.enum_set is not None and atom not in base.enum_set:
        allowed = ", ".join(_atom_text(base.type, v) for v in base.enum or ())
        raise constraint_violation(
            f"{_atom_text(base.type, atom)} is not one of the allowed values ([{allowed}])"
        )
    atomic = base.type
    if atomic == "integer":
        if not base.min_integer <= atom <= base.max_integer:
            raise constraint_violation(
                _range_message(atom, base.min_integer, base.max_integer, -(2**63), 2**63 - 1)
            )
    elif atomic == "real":
        if not base.min_real <= atom <= base.max_real:
            raise constraint_violation(
                _range_message(
                    _real_text(atom), _real_text(base.min_real), _real_text(base.max_real),
                    None, None, base.min_real == -1.7976931348623157e308,
                    base.max_real == 1.7976931348623157e308,
                )
            )
    elif atomic == "string":
        length = len(atom)
        if length < base.min_length:
            raise constraint_violation(
                f"{json_text(atom)} length {length} is less than minimum "
                f"allowed length {base.min_length}"
            )
        if length > base.max_length:
            raise constraint_violation(
                f"{json_text(atom)} length {length} is greater than maximum "
                f"allowed length {base.max_length}"
            )


def _range_message(
    value: Any, lo: Any, hi: Any, lo_none: Any, hi_none: Any,
    lo_unbounded: bool = False, hi_unbounded: bool = False,
) -> str:
    lo_unbounded = lo_unbounded or (lo_none is not None and lo == lo_none)
    hi_unbounded = hi_unbounded or (hi_none is not None and hi == hi_none)
    if lo_unbounded:
        return f"{value} is greater than maximum allowed value {hi}"
    if hi_unbounded:
        return f"{value} is less than minimum allowed value {lo}"
    return f"{value} is not in the valid range {lo} to {hi} (inclusive)"


def _real_text(value: float) -> str:
    """Formats a real like Open vSwitch's "%.*g" with DBL_DIG (15) significant digits."""
    text = f"{value:.15g}"
    return text


def _atom_text(atomic: str, atom: Any) -> str:
    """An atom as OVSDB prints it in messages (ovsdb_atom_to_string)."""
    if atomic == "string":
        # string_needs_quotes() in OVS: anything but a letter/underscore-led word of letters,
        # "_", "-" and "." (and not a boolean or a UUID) is printed as a JSON string.
        if _BARE_STRING_RE.match(atom) and atom not in ("true", "false") and not (
            UUID_RE.match(atom)
        ):
            return str(atom)
        return json_text(atom)
    if atomic == "boolean":
        return "true" if atom else "false"
    if atomic == "real":
        return _real_text(atom)
    return str(atom)


def atom_to_json(atomic: str, atom: Any) -> Any:
    if atomic == "uuid":
        return ["uuid", atom]
    if atomic == "real":
        return real_to_json(atom)
    return atom


def real_to_json(value: float) -> Any:
    """What a client parses from OVS's "%.15g" printing of a real: 1.0 goes out as 1,
    0.1 + 0.2 as 0.3."""
    text = f"{value:.15g}"
    if "." in text or "e" in text or "n" in text:
        return float(text)
    return int(text)


_PY_ATOM = {"string": str, "integer": int, "real": float, "boolean": bool}
LOWER_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def atom_is_valid(base: BaseType, atom: Any) -> bool:
    atomic = base.type
    if atomic == "uuid":
        if type(atom) is not str or LOWER_UUID_RE.fullmatch(atom) is None:
            return False
    elif atomic == "integer":
        if type(atom) is not int or not -(2**63) <= atom < 2**63:
            return False
    elif type(atom) is not _PY_ATOM[atomic]:
        return False
    if base.has_constraints:
        try:
            check_atom(base, atom)
        except OvsdbError:
            return False
    return True


def datum_is_valid(type_: Type, value: Any) -> bool:
    """Whether `value` already is a valid internal value of `type_` (a fast check for
    values a program built; False means: convert the slow way, which says what is wrong)."""
    key = type_.key
    if type_.value is not None:
        vbase = type_.value
        return (type(value) is dict and type_.min <= len(value) <= type_.max
                and all(atom_is_valid(key, k) and atom_is_valid(vbase, v)
                        for k, v in value.items()))
    if type_.min == 1 and type_.max == 1:
        return atom_is_valid(key, value)
    return (type(value) is tuple and type_.min <= len(value) <= type_.max
            and all(atom_is_valid(key, a) for a in value))


_Parser = Callable[[Any, SymbolResolver | None], Any]


def _fast_atom(base: BaseType) -> Callable[[Any, SymbolResolver | None], Any] | None:
    """Parses one atom of the usual kinds; returns _NO for anything the general path must
    look at (to accept it with its conversions, or to report the error it would)."""
    atomic = base.type
    # Integers have a range even without constraints (atom_is_valid checks it).
    checked = base.has_constraints or atomic == "integer"
    if atomic in ("string", "integer", "boolean"):
        pytype = _PY_ATOM[atomic]

        def plain(json: Any, symbols: SymbolResolver | None) -> Any:
            if type(json) is not pytype or (checked and not atom_is_valid(base, json)):
                return _NO
            return json

        return plain
    if atomic == "uuid":
        def ref(json: Any, symbols: SymbolResolver | None) -> Any:
            if type(json) is list and len(json) == 2 and type(json[1]) is str:
                kind, text = json
                if kind == "uuid" and LOWER_UUID_RE.fullmatch(text):
                    return text
                if kind == "named-uuid" and symbols is not None and ID_RE.match(text):
                    return symbols(text)
            return _NO

        return ref
    return None


_NO = object()


@functools.lru_cache(maxsize=4096)  # per Type object: schemas' types, replicas' plain ones
def column_parser(type_: Type) -> _Parser:
    """datum_from_json for one column type (not relaxed), with a fast path for the values
    clients send most: plain atoms, sets of them, maps of strings.  Anything the fast path
    does not take goes through datum_from_json, which gives the same value or the error."""

    def slow(json: Any, symbols: SymbolResolver | None) -> Any:
        return datum_from_json(type_, json, symbols)

    key = _fast_atom(type_.key)
    if key is None:
        return slow
    lo, hi = type_.min, type_.max
    if type_.value is not None:
        value = _fast_atom(type_.value)
        if value is None:
            return slow

        def fmap(json: Any, symbols: SymbolResolver | None) -> Any:
            if type(json) is list and len(json) == 2 and json[0] == "map" \
                    and type(json[1]) is list and lo <= len(json[1]) <= hi:
                out = {}
                for pair in json[1]:
                    if type(pair) is not list or len(pair) != 2:
                        return slow(json, symbols)
                    k = key(pair[0], symbols)
                    v = value(pair[1], symbols)
                    if k is _NO or v is _NO:
                        return slow(json, symbols)
                    out[k] = v
                if len(out) == len(json[1]):
                    return sorted_map(out)
            return slow(json, symbols)

        return fmap
    if lo == 1 and hi == 1:
        def scalar(json: Any, symbols: SymbolResolver | None) -> Any:
            atom = key(json, symbols)
            return slow(json, symbols) if atom is _NO else atom

        return scalar

    def fset(json: Any, symbols: SymbolResolver | None) -> Any:
        if type(json) is list and json and json[0] == "set":
            if len(json) == 2 and type(json[1]) is list and lo <= len(json[1]) <= hi:
                atoms = [key(j, symbols) for j in json[1]]
                if _NO not in atoms:
                    result = tuple(sorted(set(atoms)))
                    if len(result) == len(atoms):
                        return result
            return slow(json, symbols)
        atom = key(json, symbols)
        return slow(json, symbols) if atom is _NO else (atom,)

    return fset


# --- datums --------------------------------------------------------------------------------


def datum_from_json(
    type_: Type, json: Any, symbols: SymbolResolver | None = None, relax_size: bool = False
) -> Any:
    """Parses a column value into the internal form, checking sizes and constraints, in the
    order ovsdb_datum_from_json() does (so that the first error reported is the same).

    With relax_size the minimum size is not enforced and a set is returned even for a
    scalar type (as for mutation arguments and log differences).
    """
    if type_.value is not None:
        return _map_from_json(type_, json, symbols, relax_size)
    key = type_.key
    if isinstance(json, list) and json and json[0] == "set":
        if len(json) != 2 or not isinstance(json[1], list):
            raise json_error(json, 'expected ["set", <array>]')
        items = json[1]
        _check_size(type_, len(items), json, relax_size)
        atoms = [atom_from_json(key, item, symbols) for item in items]
    else:
        atoms = [atom_from_json(key, json, symbols)]
    if type_.is_scalar and not relax_size:
        return atoms[0]
    if len(atoms) < 2:
        return tuple(atoms)
    result = tuple(sorted(set(atoms)))
    if len(result) != len(atoms):
        raise OvsdbError("ovsdb error", "set contains duplicate")
    return result


def _map_from_json(type_: Type, json: Any, symbols: SymbolResolver | None, relax: bool) -> Any:
    if not (isinstance(json, list) and len(json) == 2 and json[0] == "map"
            and isinstance(json[1], list)):
        raise json_error(json, 'expected ["map", <array>]')
    pairs = json[1]
    _check_size(type_, len(pairs), json, relax)
    assert type_.value is not None
    result: dict[Any, Any] = {}
    duplicate = False
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise json_error(pair, "expected 2-element array")
        k = atom_from_json(type_.key, pair[0], symbols)
        v = atom_from_json(type_.value, pair[1], symbols)
        if k in result:
            duplicate = True
        result[k] = v
    if duplicate:
        raise OvsdbError("ovsdb error", "map contains duplicate key")
    return sorted_map(result)


def _check_size(type_: Type, n: int, json: Any, relax: bool) -> None:
    lo = 0 if relax else type_.min
    if n < lo or n > type_.max:
        kind = "map" if type_.is_map else "set"
        if lo == 1 and type_.max == 1:
            raise json_error(json, f"{kind} must have exactly one member but {n} are present")
        hi = UINT_MAX if type_.max == UNLIMITED else type_.max
        raise json_error(json, f"{kind} must have {lo} to {hi} members but {n} are present")


def sorted_map(mapping: dict[Any, Any]) -> dict[Any, Any]:
    return {k: mapping[k] for k in sorted(mapping)}


# Atomic types whose wire form differs from the internal atom.
_SPECIAL = ("uuid", "real")


def datum_to_json(type_: Type, value: Any) -> Any:
    """The wire form of an internal value (ovsdb_datum_to_json)."""
    key_type = type_.key.type
    if type_.value is not None:
        value_type = type_.value.type
        if key_type not in _SPECIAL and value_type not in _SPECIAL:
            return ["map", [[k, v] for k, v in value.items()]]
        return [
            "map",
            [[atom_to_json(key_type, k), atom_to_json(value_type, v)] for k, v in value.items()],
        ]
    if type_.is_scalar:
        return atom_to_json(key_type, value) if key_type in _SPECIAL else value
    if len(value) == 1:
        return atom_to_json(key_type, value[0]) if key_type in _SPECIAL else value[0]
    if key_type in _SPECIAL:
        return ["set", [atom_to_json(key_type, v) for v in value]]
    return ["set", list(value)]


def as_set(type_: Type, value: Any) -> tuple[Any, ...]:
    """The atoms of a non-map value as a sorted tuple, whatever its storage form."""
    if type_.is_scalar:
        return (value,)
    return value


def from_set(type_: Type, atoms: Iterable[Any]) -> Any:
    """Builds a non-map internal value from atoms (sorted and deduplicated here)."""
    result = tuple(sorted(set(atoms)))
    if type_.is_scalar:
        return result[0]
    return result


def datum_size(type_: Type, value: Any) -> int:
    if type_.is_scalar:
        return 1
    return len(value)


# --- differences (update2 "modify" and "_is_diff" log records) -----------------------------


def datum_diff(type_: Type, old: Any, new: Any) -> Any:
    """The difference that turns old into new, in the internal form of the column's type.

    For a set: the symmetric difference.  For a map: keys removed (with their old values),
    keys added, and keys whose value changed (with the new value).  A type of at most one
    element (not "composite" in OVS's terms): the new value.
    """
    if type_.max == 1:
        return new
    if type_.value is not None:
        diff: dict[Any, Any] = {}
        for k, v in old.items():
            if k not in new:
                diff[k] = v
            elif new[k] != v:
                diff[k] = new[k]
        for k, v in new.items():
            if k not in old:
                diff[k] = v
        return sorted_map(diff)
    return tuple(sorted(set(old).symmetric_difference(new)))


def datum_apply_diff(type_: Type, old: Any, diff: Any) -> Any:
    """Applies a difference made by datum_diff (the inverse operation)."""
    if type_.max == 1:
        return diff
    if type_.value is not None:
        result = dict(old)
        for k, v in diff.items():
            if k in result and result[k] == v:
                del result[k]
            else:
                result[k] = v
        return sorted_map(result)
    return tuple(sorted(set(old).symmetric_difference(diff)))


def diff_from_json(type_: Type, json: Any) -> Any:
    """Parses a difference (no size limits: a diff may be larger than the column allows)."""
    if type_.max == 1:
        return datum_from_json(type_, json)
    relaxed = Type(type_.key, type_.value, 0, UNLIMITED)
    return datum_from_json(relaxed, json, relax_size=True)


def diff_to_json(type_: Type, diff: Any) -> Any:
    if type_.max == 1:
        return datum_to_json(type_, diff)
    relaxed = Type(type_.key, type_.value, 0, UNLIMITED)
    return datum_to_json(relaxed, diff)


# --- Open vSwitch's hash order -------------------------------------------------------------
# When a request has several problems, OVS reports the first it meets while walking a JSON
# object or a table's columns, which is the iteration order of its hash map (hash_string()
# of lib/hash.c and the bucket layout of lib/hmap.c).  Only error paths need this order.

_M32 = 0xFFFFFFFF


def _rot32(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


def _mhash_add(h: int, d: int) -> int:
    if d:
        d = (d * 0xCC9E2D51) & _M32
        d = _rot32(d, 15)
        d = (d * 0x1B873593) & _M32
        h ^= d
    h = _rot32(h, 13)
    return (h * 5 + 0xE6546B64) & _M32


def hash_string(text: str, basis: int = 0) -> int:
    data = text.encode()
    n = len(data)
    h = basis
    full = n - n % 4
    for i in range(0, full, 4):
        h = _mhash_add(h, int.from_bytes(data[i:i + 4], "little"))
    if n % 4:
        h = _mhash_add(h, int.from_bytes(data[full:], "little"))
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


def _calc_mask(capacity: int) -> int:
    mask = capacity // 2
    for k in (1, 2, 4, 8, 16, 32):
        mask |= mask >> k
    return mask | ((mask & 1) << 1)


def shash_order(names: Iterable[str]) -> list[str]:
    """The order in which OVS iterates a shash whose keys were added in this order."""
    mask = 0
    buckets: list[list[tuple[str, int]]] = [[]]
    for i, name in enumerate(names):
        h = hash_string(name)
        buckets[h & mask].insert(0, (name, h))
        n = i + 1
        if n // 2 > mask:
            new_mask = _calc_mask(n)
            if new_mask > mask:
                new: list[list[tuple[str, int]]] = [[] for _ in range(new_mask + 1)]
                for bucket in buckets:
                    for item in bucket:
                        new[item[1] & new_mask].insert(0, item)
                buckets, mask = new, new_mask
    return [name for bucket in buckets for name, _ in bucket]
