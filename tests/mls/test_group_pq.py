"""The Group under the post-quantum X-Wing suites of draft-ietf-mls-pq-ciphersuites:
what is particular to them. The multi-member scenarios run under X-Wing (0x0053) in
test_group.py, parametrized by suite, and the 1,000-member group in test_group_large.py.
"""

from __future__ import annotations

import pytest
from mls_group_kit import XWING_SUITE, World

from letterlock.crypto import cipher_suite
from letterlock.crypto.suite import DRAFT_SUITES
from letterlock.mls.group import ApplicationMessage

XWING = 0x0053


def test_the_suite_is_the_xwing_draft_suite() -> None:
    assert XWING in DRAFT_SUITES and XWING_SUITE.suite_id == XWING
    world = World(suite=XWING_SUITE)
    alice = world.create("alice")
    assert alice.suite.suite_id == XWING
    # An X-Wing public key: ML-KEM-768 (1184 bytes) || X25519 (32).
    [leaf] = [leaf for _, leaf in alice._state.tree.leaves()]
    assert len(leaf.encryption_key) == 1216


@pytest.mark.parametrize("suite_id", [0xF001, 0xF002])
def test_the_drafts_own_xwing_suites(suite_id: int) -> None:
    # draft-ietf-mls-pq-ciphersuites' X-Wing suites (private-use code points until IANA
    # assigns them): a group forms, commits and talks.
    w = World(suite=cipher_suite(suite_id))
    w.create("alice")
    w.add("alice", ["bob", "carol"])
    w.assert_agree()
    alice, bob = w.groups["alice"], w.groups["bob"]
    assert alice.suite.suite_id == suite_id and suite_id in DRAFT_SUITES
    [event] = bob.process(alice.encrypt(b"post-quantum hello"))
    assert isinstance(event, ApplicationMessage) and event.data == b"post-quantum hello"
    w.commit("bob")
    w.assert_agree()
