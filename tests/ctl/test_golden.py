"""pyovn nbctl/sbctl against the real ovn-nbctl/ovn-sbctl: the same command lines (golden_*.txt)
through both, each against a server of its own, outputs compared after UUID normalisation.
Also runs pyovn's tools against the real ovsdb-server ("cross")."""

from __future__ import annotations

import pytest

from tests.ctl import golden

pytestmark = pytest.mark.real

_missing = golden.missing()


@pytest.mark.skipif(_missing is not None, reason=_missing or "")
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", golden.GOLDEN_FILES, ids=lambda p: p.stem)
def test_golden_output_matches_real_tools(path: object) -> None:
    groups = golden.load(path)  # type: ignore[arg-type]
    n, mismatches = golden.compare(groups)
    assert n > 0
    report = "\n".join(f"[{m.group}/{m.side}] {m.line}\n  want {m.want!r}\n  got  {m.got!r}"
                       for m in mismatches)
    assert not mismatches, report


def test_normaliser_numbers_uuids_by_first_appearance() -> None:
    norm = golden.Normalizer()
    a, b = "11111111-2222-3333-4444-555555555555", "aaaaaaaa-2222-3333-4444-555555555555"
    assert norm.text(f"{b} {a} {b}", False) == "<0> <1> <0>"
    assert norm.text(f"x {a}\nw cccccccc-2222-3333-4444-555555555555", True) == "w <?>\nx <1>"


def test_golden_files_parse_and_are_grouped() -> None:
    total = sum(len(g.lines) for p in golden.GOLDEN_FILES for g in golden.load(p))
    assert total >= 300
