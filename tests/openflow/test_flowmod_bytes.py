"""The fast flow_mod encoder sends exactly the bytes the original one did: compared with a
frozen copy of the original (legacy_flowmod) over every flow the real northd's corpus
compiles to (with a grown address set) and the synthetic mix of flowgen, for add, modify,
delete and bundling, with every encoder; and pinned by hash on the synthetic mix, so that
the copy and the encoder cannot drift together."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest

from pyovn.controller.ofencode import ControllerEncoder
from pyovn.logical import ofrep as O
from pyovn.openflow import messages as M
from pyovn.openflow import oxm
from pyovn.openflow.actions import ActionEncoder
from pyovn.openflow.protocol import OpenFlowError
from tests.openflow import legacy_flowmod as L
from tests.openflow.flowgen import flows as synthetic_flows
from tests.openflow.ovn_corpus import ovn_flows

FULL32 = 0xFFFFFFFF


@pytest.fixture(scope="module")
def corpus() -> list[O.Flow]:
    fl = ovn_flows(2000) + synthetic_flows(3000)
    assert len(fl) > 12_000
    return fl


def _encoders() -> Iterator[tuple[str, Callable[[], ActionEncoder | None]]]:
    yield "none", lambda: None
    yield "plain", ActionEncoder
    yield "controller", ControllerEncoder


@pytest.mark.parametrize("name,make", list(_encoders()))
def test_flow_add_and_modify_bytes_unchanged(corpus: list[O.Flow], name: str,
                                             make: Callable[[], ActionEncoder | None]) -> None:
    new_enc, old_enc = make(), make()
    # Twice over, so that the second pass is served from whatever the encoder cached.
    for _ in range(2):
        for i, f in enumerate(corpus):
            assert M.flow_add(i, f, encoder=new_enc) == L.flow_add(i, f, encoder=old_enc), str(f)
            assert M.flow_modify(i, f, encoder=new_enc) == \
                L.flow_modify(i, f, encoder=old_enc), str(f)
            assert M.flow_modify(i, f, strict=False, cookie_mask=FULL32, encoder=new_enc) == \
                L.flow_modify(i, f, strict=False, cookie_mask=FULL32, encoder=old_enc), str(f)


def test_flow_delete_match_and_bundle_bytes_unchanged(corpus: list[O.Flow]) -> None:
    for i, f in enumerate(corpus):
        assert oxm.encode_match(f.match) == L.encode_match(f.match), str(f)
        new = M.flow_delete(i, f.table, f.match, f.priority, strict=True)
        assert new == L.flow_delete(i, f.table, f.match, f.priority, strict=True), str(f)
        assert M.flow_delete(i, f.table, f.match, cookie=f.cookie, cookie_mask=FULL32) == \
            L.flow_delete(i, f.table, f.match, cookie=f.cookie, cookie_mask=FULL32)
        assert M.bundle_add(i + 7, 3, new) == L.bundle_add(i + 7, 3, new)
    assert M.flow_delete(9) == L.flow_delete(9)


def test_other_tlv_lengths_encode_as_before(corpus: list[O.Flow]) -> None:
    """tun_metadata0 mapped to 8 bytes, and to nothing (an error either way)."""
    wide = {0: 8}
    tun = [f for f in corpus if any(k.startswith("tun_metadata") for k in f.match.fields)]
    assert tun
    for f in tun:
        assert M.flow_add(1, f, tlv_len=wide) == L.flow_add(1, f, tlv_len=wide)
        with pytest.raises(OpenFlowError) as new:
            M.flow_add(1, f, tlv_len={})
        with pytest.raises(OpenFlowError) as old:
            L.flow_add(1, f, tlv_len={})
        assert str(new.value) == str(old.value)


_BAD_MATCHES = [
    {"no_such_field": (1, 1)},
    {"in_port": (1, 0xFF)},
    {"nw_proto": (1 << 9, 0xFFFF)},
    {"nw_proto": (-1, 0xFF)},
    {"reg0": (1 << 32, FULL32)},
    {"reg0": (1, 1 << 40)},
    {"reg3": (1, 1 << 33 | 1)},
    {"tun_metadata5": (1, FULL32)},
    {"metadata": (1, 1), "bogus": (1, 1), "ct_zone": (1, 3)},
    {"ct_zone": (1, 3), "icmp_type": (1, 1)},
]


@pytest.mark.parametrize("fields", _BAD_MATCHES)
def test_bad_matches_fail_as_before(fields: dict[str, tuple[int, int]]) -> None:
    with pytest.raises(OpenFlowError) as new:
        oxm.encode_match(O.Match(dict(fields)))
    with pytest.raises(OpenFlowError) as old:
        L.encode_match(O.Match(dict(fields)))
    assert str(new.value) == str(old.value)


def test_odd_but_valid_matches_encode_as_before() -> None:
    """Aliases, masks with bits beyond the field, widths below the byte size, empty."""
    cases: list[dict[str, tuple[int, int]]] = [
        {}, {"eth_src": (5, (1 << 48) - 1)}, {"dl_src": (1, 1), "eth_dst": (2, 2)},
        {"reg3": (7, (1 << 40) - 1)},
        {"ip_dscp": (3, 0x3F)}, {"nw_ecn": (1, 3)}, {"ipv6_label": (5, 0xFFFFF)},
        {"ipv6_label": (5, 0xFFFF)}, {"tcp_flags": (2, 0xFFF)}, {"nw_frag": (1, 1)},
        {"xreg1": (9, (1 << 64) - 1)}, {"xxreg0": (1 << 100, 1 << 100)},
        {"ct_label": (1 << 127, 1 << 127)}, {"metadata": (0, 0)},
        {"tcp_dst": (80, 0xFFFF), "dl_type": (0x800, 0xFFFF), "nw_proto": (6, 0xFF)},
    ]
    for fields in cases:
        m = O.Match(dict(fields))
        assert oxm.encode_match(m) == L.encode_match(m), fields
    # A match changed after it was encoded encodes its new contents.
    m = O.Match()
    m.add("reg1", 1, FULL32)
    first = oxm.encode_match(m)
    m.add("metadata", 4, (1 << 64) - 1)
    assert oxm.encode_match(m) == L.encode_match(m) != first
    m.fields["reg1"] = (2, FULL32)
    assert oxm.encode_match(m) == L.encode_match(m)


def test_equal_actions_in_new_tuples_and_mutated_cache_keys_encode_right() -> None:
    enc = ControllerEncoder()
    a1 = (O.SetField("in_port", 5, FULL32), O.Resubmit(8))
    a2 = (O.SetField("in_port", 5, FULL32), O.Resubmit(8))
    m = O.Match()
    f1, f2 = O.Flow(1, 1, m, a1), O.Flow(1, 1, m, a2)
    assert M.flow_add(1, f1, encoder=enc) == M.flow_add(1, f2, encoder=enc) == \
        L.flow_add(1, f2, encoder=ControllerEncoder())
    # The plain encoder writes in_port differently: caches are per encoder.
    assert M.flow_add(1, f1, encoder=ActionEncoder()) == L.flow_add(1, f1) != \
        M.flow_add(1, f1, encoder=enc)
    # Flows whose actions attribute is replaced are encoded with the new actions.
    f1.actions = (O.Resubmit(9),)
    assert M.flow_add(1, f1, encoder=enc) == L.flow_add(1, f1, encoder=ControllerEncoder())
    # A list of actions (not a tuple) works too.
    assert M.flow_mod(1, 0, 1, 1, m, list(a1), encoder=enc) == \
        L.flow_mod(1, 0, 1, 1, m, list(a1), encoder=ControllerEncoder())


# sha256 of the synthetic mix's messages, recorded with the original encoder.
_PINNED = "fd3ab2553263ad90d9cd5dbbf51a824876f8997deaa020efe616b136115ed750"


def _synthetic_digest() -> str:
    h = hashlib.sha256()
    fl = synthetic_flows(3000)
    for enc in (ActionEncoder(), ControllerEncoder()):
        for i, f in enumerate(fl):
            h.update(M.flow_add(i, f, encoder=enc))
            h.update(M.flow_modify(i, f, strict=False, cookie_mask=FULL32, encoder=enc))
            h.update(M.bundle_add(i, 5, M.flow_delete(i, f.table, f.match, f.priority, True)))
    return h.hexdigest()


def test_synthetic_mix_bytes_are_pinned() -> None:
    assert _synthetic_digest() == _PINNED


@pytest.mark.parametrize("msg", [b"", b"\x06", b"\x06\x0e\x00", b"\x06\x0e\x00\x08\x00\x00",
                                 b"\x06\x0e\x00\x08\x00\x00\x00\x01",
                                 b"\x06\x0e\xff\xf0" + b"\0" * (0xFFFF - 20),
                                 b"\x06\x0e\xff\xf0" + b"\0" * (0xFFFF - 19)])
def test_bundle_add_of_odd_messages_as_before(msg: bytes) -> None:
    try:
        want = L.bundle_add(0xDEADBEEF, 7, msg, 1)
    except OpenFlowError as e:
        with pytest.raises(OpenFlowError, match=str(e)):
            M.bundle_add(0xDEADBEEF, 7, msg, 1)
    else:
        assert M.bundle_add(0xDEADBEEF, 7, msg, 1) == want


def test_flow_mod_with_timeouts_and_flags_as_before(corpus: list[O.Flow]) -> None:
    enc = ActionEncoder()
    for i, f in enumerate(corpus[:3000]):
        for kw in ({"idle_timeout": 30, "hard_timeout": 60}, {"flags": M.OFPFF_SEND_FLOW_REM},
                   {"flags": M.OFPFF_CHECK_OVERLAP | M.OFPFF_RESET_COUNTS, "cookie": 5,
                    "cookie_mask": 7}):
            assert M.flow_mod(i, i % 5, f.table, f.priority, f.match, f.actions, encoder=enc,
                              **kw) == \
                L.flow_mod(i, i % 5, f.table, f.priority, f.match, f.actions, encoder=enc,
                           **kw)


def test_instructions_are_apply_actions_of_the_encoding() -> None:
    for enc in (ActionEncoder(), ControllerEncoder()):
        for f in synthetic_flows(300):
            acts = f.actions
            want = M.instructions(L.encode_actions(enc, acts))
            assert enc.instructions(acts) == want
            assert enc.instructions(acts) == want  # by identity this time
            assert enc.instructions(list(acts)) == want
    with pytest.raises(OpenFlowError, match="too long"):
        ActionEncoder().instructions(tuple(O.Note(b"x" * 200) for _ in range(400)))


def test_errors_come_in_the_same_order_as_before() -> None:
    bad_match = O.Match({"in_port": (1, 0xFF)})
    too_long = tuple(O.Note(b"x" * 200) for _ in range(400))
    unknown = (O.PushVlan(),)  # only the controller's encoder knows it
    cases = [(bad_match, too_long), (O.Match(), too_long), (bad_match, unknown),
             (bad_match, (O.Resubmit(1),)), (O.Match(), unknown)]
    for match, acts in cases:
        flow = O.Flow(1, 1, match, acts)
        with pytest.raises(OpenFlowError) as new:
            M.flow_add(1, flow, encoder=ActionEncoder())
        with pytest.raises(OpenFlowError) as old:
            L.flow_add(1, flow, encoder=ActionEncoder())
        assert str(new.value) == str(old.value)
    with pytest.raises(OpenFlowError, match="bad table"):
        M.flow_add(1, O.Flow(256, 1, bad_match, unknown))
