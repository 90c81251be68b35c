"""The secret tree (RFC 9420 §9): out-of-order windows, replay, deletion, staging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letterlock.crypto import cipher_suite
from letterlock.mls.constants import ContentType
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.key_schedule import EncryptionSecret, SenderDataSecret
from letterlock.mls.secret_tree import (
    GenerationReusedError,
    GenerationTooFarError,
    GenerationTooOldError,
    RatchetConfig,
    RatchetKey,
    RatchetType,
    SecretTree,
    UnknownLeafError,
    sender_data_key,
)
from letterlock.mls.tree_math import LeafIndex

SUITE = cipher_suite(1)
SECRET = EncryptionSecret(b"e" * 32)
APP, HS = RatchetType.APPLICATION, RatchetType.HANDSHAKE
L0, L1 = LeafIndex(0), LeafIndex(1)


def tree(tolerance: int = 5, forward: int = 1000, n_leaves: int = 4) -> SecretTree:
    return SecretTree(SUITE, SECRET, n_leaves, RatchetConfig(tolerance, forward))


def in_order(n: int, leaf: LeafIndex = L1, kind: RatchetType = APP) -> list[RatchetKey]:
    """Reference keys: what the sender derives, generation by generation."""
    sender = tree()
    return [sender.key_for_encryption(leaf, kind) for _ in range(n)]


def receive(t: SecretTree, generation: int, leaf: LeafIndex = L1,
            kind: RatchetType = APP) -> RatchetKey:
    staged = t.key_for_decryption(leaf, kind, generation)
    t.consume(staged)
    return staged.key


def test_sender_generations_count_up_and_match_the_receiver() -> None:
    keys = in_order(4)
    assert [k.generation for k in keys] == [0, 1, 2, 3]
    assert len({k.key for k in keys}) == 4 and len({k.nonce for k in keys}) == 4
    receiver = tree()
    assert [receive(receiver, g) for g in range(4)] == keys


def test_ratchets_and_leaves_are_independent() -> None:
    t = tree()
    keys = {(leaf, kind): t.key_for_encryption(leaf, kind).key
            for leaf in (L0, L1, LeafIndex(3)) for kind in RatchetType}
    assert len(set(keys.values())) == 6
    assert RatchetType.for_content(ContentType.APPLICATION) is APP
    assert RatchetType.for_content(ContentType.COMMIT) is HS
    assert RatchetType.for_content(ContentType.PROPOSAL) is HS


def test_out_of_order_within_the_window() -> None:
    keys = in_order(12)
    t = tree(tolerance=5)
    assert receive(t, 10) == keys[10]  # jump ahead: 5..9 are retained
    for g in (7, 9, 5, 8, 6, 11):
        assert receive(t, g) == keys[g]


def test_a_replayed_generation_is_refused() -> None:
    t = tree()
    receive(t, 3)
    with pytest.raises(GenerationReusedError) as info:
        t.key_for_decryption(L1, APP, 3)
    assert isinstance(info.value, InvalidMessageError)
    assert (info.value.rule, info.value.generation, info.value.leaf) == ("RFC 9420 §9.2", 3, 1)
    receive(t, 1)  # a retained older key is consumed once...
    with pytest.raises(GenerationReusedError):
        t.key_for_decryption(L1, APP, 1)  # ...and then gone


def test_too_old_for_the_window() -> None:
    t = tree(tolerance=5)
    receive(t, 20)
    receive(t, 15)  # the oldest retained generation: 20 - 5
    with pytest.raises(GenerationTooOldError) as info:
        t.key_for_decryption(L1, APP, 14)
    assert info.value.rule == "RFC 9420 §15.3"
    receive(t, 21)  # moving on slides the window: 15 consumed, 16 now leaves it
    receive(t, 26)
    with pytest.raises(GenerationTooOldError):
        t.key_for_decryption(L1, APP, 20)  # retained until 26 arrived, deleted unused


def test_too_far_in_the_future() -> None:
    t = tree(forward=10)
    with pytest.raises(GenerationTooFarError) as info:
        t.key_for_decryption(L1, APP, 11)
    assert info.value.rule == "RFC 9420 §15.3"
    receive(t, 10)  # exactly the maximum distance is fine
    with pytest.raises(GenerationTooFarError):
        t.key_for_decryption(L1, APP, 22)
    receive(t, 21)


def test_zero_tolerance_keeps_nothing_behind() -> None:
    t = tree(tolerance=0)
    receive(t, 3)
    with pytest.raises(GenerationReusedError):
        t.key_for_decryption(L1, APP, 3)
    with pytest.raises(GenerationTooOldError):
        t.key_for_decryption(L1, APP, 2)


def test_staging_changes_nothing_until_consumed() -> None:
    keys = in_order(10)
    t = tree()
    first = t.key_for_decryption(L1, APP, 9)  # e.g. the AEAD then fails: never consumed
    again = t.key_for_decryption(L1, APP, 9)
    assert first.key == again.key == keys[9]
    assert receive(t, 0) == keys[0]  # the ratchet did not move past 0
    # Two keys staged from the same state can both be consumed, in either order.
    a, b = t.key_for_decryption(L1, APP, 4), t.key_for_decryption(L1, APP, 2)
    t.consume(a)
    t.consume(b)
    with pytest.raises(GenerationReusedError):
        t.consume(b)
    with pytest.raises(UsageError):
        t.consume(tree().key_for_decryption(L1, APP, 5))  # from another tree


def test_consumed_secrets_are_deleted() -> None:
    t = tree(tolerance=3, n_leaves=8)
    receive(t, 10, leaf=LeafIndex(5))
    # Node secrets: the root and everything on the path to leaf 5 is gone; the
    # frontier holds only the siblings along the path (§9.2).
    assert sorted(t._nodes) == [3, 8, 13]
    ratchet = t._ratchets[LeafIndex(5), APP]._state
    assert ratchet.generation == 11
    assert sorted(ratchet.retained) == [7, 8, 9]  # only the window, never 0..6
    receive(t, 8, leaf=LeafIndex(5))
    assert sorted(t._ratchets[LeafIndex(5), APP]._state.retained) == [7, 9]


def test_leaf_outside_the_tree_and_bad_sizes() -> None:
    with pytest.raises(UnknownLeafError) as info:
        tree(n_leaves=4).key_for_decryption(LeafIndex(4), APP, 0)
    assert info.value.rule == "RFC 9420 §6.3.2"
    with pytest.raises(UsageError):
        SecretTree(SUITE, SECRET, 3)
    for bad in ((-1, 10), (5, -1)):
        with pytest.raises(UsageError):
            RatchetConfig(*bad)
    with pytest.raises(UsageError):
        tree().key_for_decryption(L1, APP, -1)


def test_single_leaf_tree_uses_the_root_as_the_leaf() -> None:
    t = SecretTree(SUITE, SECRET, 1)
    key = t.key_for_encryption(L0, HS)
    leaf = SECRET.value  # the root is leaf 0: its ratchets come straight from it
    root = SUITE.expand_with_label(leaf, "handshake", b"", 32)
    assert key.key == SUITE.derive_tree_secret(root, "key", 0, 16)


def test_sender_data_key_samples_the_first_nh_bytes() -> None:
    secret = SenderDataSecret(b"s" * 32)
    long = sender_data_key(SUITE, secret, b"c" * 32 + b"tail")
    assert long == sender_data_key(SUITE, secret, b"c" * 32 + b"other tail")
    assert (len(long.key), len(long.nonce)) == (16, 12)
    short = sender_data_key(SUITE, secret, b"c" * 20)  # shorter than Nh: all of it
    assert short.key == SUITE.expand_with_label(secret.value, "key", b"c" * 20, 16)
    assert short != long
    assert long.key.hex() not in repr(long) and long.nonce.hex() not in repr(long)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=25))
def test_any_arrival_order_agrees_with_a_simple_model(arrivals: list[int]) -> None:
    tolerance, forward = 4, 8
    keys = in_order(41)
    t = tree(tolerance=tolerance, forward=forward)
    consumed: set[int] = set()
    newest = -1
    for g in arrivals:
        # Below the window nothing is remembered, consumed or not: "too old" wins.
        if g > newest + 1 + forward:
            expected: type[Exception] | None = GenerationTooFarError
        elif g < newest - tolerance:
            expected = GenerationTooOldError
        elif g in consumed:
            expected = GenerationReusedError
        else:
            expected = None
        if expected is None:
            assert receive(t, g) == keys[g]
            consumed.add(g)
            newest = max(newest, g)
        else:
            with pytest.raises(expected):
                t.key_for_decryption(L1, APP, g)
        assert len(t._ratchets[L1, APP]._state.retained) <= tolerance
