"""The shipped OVN schemas equal OVN 23.03's, table by table and column by column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyovn.schemas import load_schema, load_schema_json, schema_path

INSTALLED = {"OVN_Northbound": "/usr/share/ovn/ovn-nb.ovsschema",
             "OVN_Southbound": "/usr/share/ovn/ovn-sb.ovsschema"}


@pytest.mark.parametrize("name", sorted(INSTALLED))
def test_shipped_schema_equals_installed_ovn(name: str) -> None:
    path = Path(INSTALLED[name])
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    want = json.loads(path.read_text())
    got = load_schema_json(name)
    assert got["name"] == want["name"] and got["version"] == want["version"]
    assert sorted(got["tables"]) == sorted(want["tables"])
    for table, tw in want["tables"].items():
        tg = got["tables"][table]
        assert sorted(tg["columns"]) == sorted(tw["columns"]), table
        for column, cw in tw["columns"].items():
            assert tg["columns"][column] == cw, f"{table}.{column}"
        for key in ("isRoot", "maxRows", "indexes"):
            assert tg.get(key) == tw.get(key), f"{table} {key}"


def test_versions_are_ovn_23_03() -> None:
    assert load_schema("nb").version == "7.0.0"
    assert load_schema("sb").version == "20.27.0"
    assert load_schema("OVN_Northbound") is load_schema("OVN_Northbound")


def test_unknown_schema_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        schema_path("vswitch")
