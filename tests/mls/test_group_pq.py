"""The Group state machine under the post-quantum X-Wing suite (0x0053, draft-ietf-mls-pq-
ciphersuites): the multi-member scenarios of test_group.py with ML-KEM-768 + X25519 in
every HPKE operation (UpdatePath secrets, Welcome secrets, external init).

X-Wing encapsulation draws pyca's own randomness (see letterlock.crypto._xwing), so these
runs are not byte-for-byte reproducible; every check here is agreement between members,
never a fixed value.
"""

from __future__ import annotations

import pytest
from mls_group_kit import World, accept, client, kp_bytes

from letterlock.crypto import CipherSuite, cipher_suite
from letterlock.crypto.suite import DRAFT_SUITES
from letterlock.mls.group import (
    ApplicationMessage,
    CommitApplied,
    Group,
    GroupConfig,
    GroupState,
    InvalidStateError,
    RemovedFromGroup,
    WelcomeTreeError,
)
from letterlock.mls.secret_tree import GenerationReusedError

XWING = 0x0053
SUITE: CipherSuite = cipher_suite(XWING)


def world() -> World:
    return World(suite=SUITE)


def test_the_suite_is_the_xwing_draft_suite() -> None:
    assert XWING in DRAFT_SUITES
    world_ = world()
    alice = world_.create("alice")
    assert alice.suite.suite_id == XWING
    # An X-Wing public key: ML-KEM-768 (1184 bytes) || X25519 (32).
    [leaf] = [leaf for _, leaf in alice._state.tree.leaves()]
    assert len(leaf.encryption_key) == 1216


def test_two_members_talk_both_ways() -> None:
    w = world()
    w.create("alice")
    w.add("alice", ["bob"])
    w.assert_agree()
    alice, bob = w.groups["alice"], w.groups["bob"]
    [event] = bob.process(alice.encrypt(b"hi bob", b"ad"))
    assert isinstance(event, ApplicationMessage)
    assert (event.sender, event.data, event.authenticated_data) == (0, b"hi bob", b"ad")
    [event] = alice.process(bob.encrypt(b"hi alice", padding=16))
    assert isinstance(event, ApplicationMessage) and event.data == b"hi alice"


def test_three_members_update_by_reference_remove_and_interleaved_messages() -> None:
    w = world()
    w.create("alice")
    w.add("alice", ["bob", "carol"])
    alice, bob, carol = (w.groups[n] for n in ("alice", "bob", "carol"))
    # Interleaved: Carol's message was sent before Bob's proposal but reaches Alice
    # after it, still in the same epoch.
    early = carol.encrypt(b"before the update")
    proposal = bob.propose_update()
    for g in (alice, carol):
        g.process(proposal)
    [event] = alice.process(early)
    assert isinstance(event, ApplicationMessage) and event.data == b"before the update"
    result = carol.commit()
    [applied_bob] = bob.process(result.commit_message)
    alice.process(result.commit_message)
    [applied] = carol.merge_pending_commit()
    assert isinstance(applied, CommitApplied) and applied.updated == (1,)
    assert applied_bob == applied
    w.assert_agree()
    for sender, receivers in ((alice, (bob, carol)), (bob, (alice, carol)),
                              (carol, (alice, bob))):
        message = sender.encrypt(b"round %d" % sender.own_leaf)
        for g in receivers:
            [event] = g.process(message)
            assert isinstance(event, ApplicationMessage) and event.sender == sender.own_leaf
    # Alice removes Bob: he learns it and stops; the other two go on.
    result = alice.commit(remove=[1])
    events = bob.process(result.commit_message)
    assert isinstance(events[1], RemovedFromGroup) and bob.state is GroupState.INACTIVE
    carol.process(result.commit_message)
    alice.merge_pending_commit()
    del w.groups["bob"]
    w.assert_agree()
    [event] = carol.process(alice.encrypt(b"just us"))
    assert isinstance(event, ApplicationMessage) and event.data == b"just us"


def test_fifty_members() -> None:
    w = world()
    w.create("m0")
    w.add("m0", [f"m{i}" for i in range(1, 50)])
    w.assert_agree()
    w.commit("m17", remove=[3, 40])
    w.assert_agree()
    w.commit("m30")  # a pure update path: X-Wing ciphertexts to every copath resolution
    w.assert_agree()
    w.add("m5", ["late1", "late2"])  # new members fill the blanked leaves 3 and 40
    w.assert_agree()
    assert {w.groups["late1"].own_leaf, w.groups["late2"].own_leaf} == {3, 40}
    message = w.groups["m44"].encrypt(b"to everyone")
    for name, events in w.deliver("m44", message).items():
        assert isinstance(events[0], ApplicationMessage) and events[0].sender == 44, name


def test_external_join_and_resync() -> None:
    w = world()
    w.create("alice")
    w.add("alice", ["bob"])
    dave = client("dave", SUITE)
    info = w.groups["bob"].group_info()
    group, commit = Group.join_external(info, dave.signer, dave.credential, dave.rng,
                                        credential_validator=accept)
    events = w.deliver("dave", commit)
    assert all(isinstance(e[0], CommitApplied) and e[0].external for e in events.values())
    w.groups["dave"] = group
    w.assert_agree()
    # Bob lost his state and rejoins externally, removing his old leaf (resync), with
    # the tree delivered out of band.
    bob = w.clients["bob"]
    alice = w.groups["alice"]
    info = alice.group_info(ratchet_tree_ext=False)
    del w.groups["bob"]
    group, commit = Group.join_external(info, bob.signer, bob.credential, bob.rng,
                                        credential_validator=accept,
                                        ratchet_tree=alice.ratchet_tree, resync_leaf=1)
    events = w.deliver("bob", commit)
    assert all(e[0].removed == (1,) for e in events.values())  # type: ignore[union-attr]
    w.groups["bob"] = group
    w.assert_agree()
    [event] = group.process(w.groups["dave"].encrypt(b"welcome back"))
    assert isinstance(event, ApplicationMessage) and event.data == b"welcome back"


def test_out_of_order_within_the_window_and_replay() -> None:
    w = world()
    w.create("alice")
    w.add("alice", ["bob"])
    alice, bob = w.groups["alice"], w.groups["bob"]
    messages = [alice.encrypt(b"m%d" % i) for i in range(6)]
    for i in (3, 0, 5, 1, 4, 2):
        [event] = bob.process(messages[i])
        assert isinstance(event, ApplicationMessage) and event.data == b"m%d" % i
    with pytest.raises(GenerationReusedError):
        bob.process(messages[4])


def test_competing_commits() -> None:
    w = world()
    w.create("alice")
    w.add("alice", ["bob", "carol"])
    alice, bob, carol = (w.groups[n] for n in ("alice", "bob", "carol"))
    bob_commit = bob.commit().commit_message
    carol.commit()
    # The delivery service takes Bob's; Carol must drop her own first.
    with pytest.raises(InvalidStateError):
        carol.process(bob_commit)
    carol.discard_pending_commit()
    carol.process(bob_commit)
    alice.process(bob_commit)
    bob.merge_pending_commit()
    w.assert_agree()


def test_welcome_without_the_tree_in_band() -> None:
    w = World(GroupConfig(ratchet_tree_in_welcome=False), suite=SUITE)
    alice = w.create("alice")
    erin = client("erin", SUITE)
    bundle = erin.key_package()
    result = alice.commit(add=[kp_bytes(bundle)])
    alice.merge_pending_commit()
    assert result.welcome is not None
    with pytest.raises(WelcomeTreeError):
        Group.join(result.welcome, bundle, erin.signer, rng=erin.rng,
                   credential_validator=accept)
    erin_group = Group.join(result.welcome, bundle, erin.signer, rng=erin.rng,
                            credential_validator=accept, ratchet_tree=alice.ratchet_tree)
    assert erin_group.epoch_authenticator == alice.epoch_authenticator
    assert erin_group.export_secret("x", b"", 32) == alice.export_secret("x", b"", 32)


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
