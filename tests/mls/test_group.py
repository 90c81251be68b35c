"""The Group state machine in memory (RFC 9420 §11-§12): members built by adds, removes,
updates and external joins agree on every epoch; each rejection raises its error.

The multi-member scenarios run under suite 1 and under the post-quantum X-Wing suite
(``SUITES`` in mls_group_kit), where every HPKE operation is ML-KEM-768 + X25519; the
X-Wing runs are not byte-for-byte reproducible, so every check is agreement between
members. X-Wing-only checks are in test_group_pq.py.
"""

from __future__ import annotations

import pytest
from mls_group_kit import SUITES, World, accept, client, kp_bytes

from letterlock.crypto import CipherSuite, DecryptError, VerifyError
from letterlock.mls.group import (
    ApplicationMessage,
    CommitApplied,
    EpochTooOldError,
    Group,
    GroupConfig,
    GroupInactiveError,
    GroupState,
    InvalidStateError,
    OwnCommitError,
    ProposalReceived,
    RemovedFromGroup,
    WelcomeTreeError,
)
from letterlock.mls.secret_tree import GenerationReusedError

each_suite = pytest.mark.parametrize("suite", list(SUITES.values()), ids=list(SUITES))


@each_suite
def test_two_members_talk(suite: CipherSuite) -> None:
    world = World(suite=suite)
    alice = world.create("alice")
    assert alice.epoch == 0 and alice.own_leaf == 0 and alice.suite is suite
    world.add("alice", ["bob"])
    bob = world.groups["bob"]
    world.assert_agree()
    assert bob.own_leaf == 1 and [m.leaf for m in bob.roster()] == [0, 1]
    [event] = bob.process(alice.encrypt(b"hi bob", b"ad"))
    assert isinstance(event, ApplicationMessage)
    assert (event.sender, event.data, event.authenticated_data, event.epoch) == \
        (0, b"hi bob", b"ad", 1)
    assert event.credential.identity == b"alice"
    [event] = alice.process(bob.encrypt(b"hi alice", padding=32))
    assert isinstance(event, ApplicationMessage) and event.data == b"hi alice"


@each_suite
def test_three_members_update_by_reference_and_remove(suite: CipherSuite) -> None:
    world = World(suite=suite)
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    alice, bob, carol = (world.groups[n] for n in ("alice", "bob", "carol"))
    # Interleaved: Carol's message was sent before Bob's proposal but reaches Alice
    # after it, still in the same epoch.
    early = carol.encrypt(b"before the update")
    # Bob proposes an update; Carol commits it by reference (§12.4).
    proposal = bob.propose_update()
    for g in (alice, carol):
        [event] = g.process(proposal)
        assert isinstance(event, ProposalReceived) and event.sender == 1
    [event] = alice.process(early)
    assert isinstance(event, ApplicationMessage) and event.data == b"before the update"
    result = carol.commit()
    events = {n: g.process(result.commit_message) for n, g in (("alice", alice), ("bob", bob))}
    [applied] = carol.merge_pending_commit()
    assert isinstance(applied, CommitApplied) and applied.updated == (1,)
    assert events["bob"] == [applied]
    world.assert_agree()
    for sender, receivers in ((alice, (bob, carol)), (bob, (alice, carol)),
                              (carol, (alice, bob))):
        message = sender.encrypt(b"round %d" % sender.own_leaf)
        for g in receivers:
            [event] = g.process(message)
            assert isinstance(event, ApplicationMessage) and event.sender == sender.own_leaf
    # Alice removes Bob: Bob learns it and becomes inactive; the other two go on.
    result = alice.commit(remove=[1])
    [applied, removed] = bob.process(result.commit_message)
    assert isinstance(removed, RemovedFromGroup) and removed.by == 0
    assert bob.state is GroupState.INACTIVE
    with pytest.raises(GroupInactiveError):
        bob.encrypt(b"still here?")
    carol.process(result.commit_message)
    alice.merge_pending_commit()
    del world.groups["bob"]
    world.assert_agree()
    assert [m.credential.identity for m in alice.roster()] == [b"alice", b"carol"]
    [event] = carol.process(alice.encrypt(b"just us"))
    assert isinstance(event, ApplicationMessage) and event.data == b"just us"


@each_suite
def test_fifty_members(suite: CipherSuite) -> None:
    world = World(suite=suite)
    world.create("m0")
    world.add("m0", [f"m{i}" for i in range(1, 50)])
    world.assert_agree()
    world.commit("m17", remove=[3, 40])
    world.assert_agree()
    world.commit("m30")  # a pure update path: ciphertexts to every copath resolution
    world.assert_agree()
    world.add("m5", ["late1", "late2"])  # new members fill the blanked leaves 3 and 40
    world.assert_agree()
    assert {world.groups["late1"].own_leaf, world.groups["late2"].own_leaf} == {3, 40}
    message = world.groups["m44"].encrypt(b"to everyone")
    for name, events in world.deliver("m44", message).items():
        assert isinstance(events[0], ApplicationMessage) and events[0].sender == 44, name


@each_suite
def test_external_join_and_resync(suite: CipherSuite) -> None:
    world = World(suite=suite)
    world.create("alice")
    world.add("alice", ["bob"])
    dave = client("dave", suite)
    info = world.groups["bob"].group_info()
    group, commit = Group.join_external(info, dave.signer, dave.credential, dave.rng,
                                        credential_validator=accept)
    events = world.deliver("dave", commit)
    assert all(isinstance(e[0], CommitApplied) and e[0].external for e in events.values())
    world.groups["dave"] = group
    world.clients["dave"] = dave
    world.assert_agree()
    # Bob lost his state: he rejoins externally, removing his old leaf (resync), with
    # the tree delivered out of band.
    bob = world.clients["bob"]
    info = world.groups["alice"].group_info(ratchet_tree_ext=False)
    del world.groups["bob"]
    group, commit = Group.join_external(info, bob.signer, bob.credential, bob.rng,
                                        credential_validator=accept,
                                        ratchet_tree=world.groups["alice"].ratchet_tree,
                                        resync_leaf=1)
    events = world.deliver("bob", commit)
    assert all(e[0].removed == (1,) for e in events.values())  # type: ignore[union-attr]
    world.groups["bob"] = group
    world.assert_agree()
    [event] = group.process(world.groups["dave"].encrypt(b"welcome back"))
    assert isinstance(event, ApplicationMessage) and event.data == b"welcome back"


@each_suite
def test_out_of_order_and_replay(suite: CipherSuite) -> None:
    world = World(suite=suite)
    world.create("alice")
    world.add("alice", ["bob"])
    alice, bob = world.groups["alice"], world.groups["bob"]
    # Two batches, each within the out-of-order window (5 by default, §15.3), then a
    # replay of one message of the batch.
    for order, replayed in (((2, 0, 3, 1), 1), ((3, 0, 5, 1, 4, 2), 4)):
        messages = [alice.encrypt(f"m{i}".encode()) for i in range(len(order))]
        for i in order:
            [event] = bob.process(messages[i])
            assert isinstance(event, ApplicationMessage) and event.data == f"m{i}".encode()
        with pytest.raises(GenerationReusedError):
            bob.process(messages[replayed])


def test_past_epoch_window() -> None:
    for window, ok in ((0, False), (1, True)):
        world = World(GroupConfig(max_past_epochs=window))
        world.create("alice")
        world.add("alice", ["bob"])
        late = world.groups["bob"].encrypt(b"late")
        world.commit("alice")
        if ok:
            [event] = world.groups["alice"].process(late)
            assert isinstance(event, ApplicationMessage) and event.epoch == 1
        else:
            with pytest.raises(EpochTooOldError):
                world.groups["alice"].process(late)


@each_suite
def test_competing_commits(suite: CipherSuite) -> None:
    world = World(suite=suite)
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    alice, bob, carol = (world.groups[n] for n in ("alice", "bob", "carol"))
    bob_commit = bob.commit().commit_message
    carol.commit()
    # The server takes Bob's. Carol must first drop her own.
    with pytest.raises(InvalidStateError):
        carol.process(bob_commit)
    carol.discard_pending_commit()
    carol.process(bob_commit)
    alice.process(bob_commit)
    bob.merge_pending_commit()
    world.assert_agree()


@each_suite
def test_welcome_without_the_tree_in_band(suite: CipherSuite) -> None:
    world = World(GroupConfig(ratchet_tree_in_welcome=False), suite=suite)
    alice = world.create("alice")
    erin = client("erin", suite)
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


def test_own_commit_echo_is_rejected() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob"])
    alice = world.groups["alice"]
    result = alice.commit()
    with pytest.raises(OwnCommitError):
        alice.process(result.commit_message)
    world.groups["bob"].process(result.commit_message)
    alice.merge_pending_commit()
    world.assert_agree()


def test_tampered_welcome_and_group_info() -> None:
    world = World()
    world.create("alice")
    bob = client("bob")
    bundle = bob.key_package()
    result = world.groups["alice"].commit(add=[kp_bytes(bundle)])
    assert result.welcome is not None
    tampered = bytearray(result.welcome)
    tampered[-5] ^= 1
    with pytest.raises(DecryptError):
        Group.join(bytes(tampered), bundle, bob.signer, rng=bob.rng,
                   credential_validator=accept)
    world.groups["alice"].merge_pending_commit()
    info = bytearray(world.groups["alice"].group_info())
    info[-3] ^= 1
    with pytest.raises(VerifyError):
        Group.join_external(bytes(info), bob.signer, bob.credential, bob.rng,
                            credential_validator=accept)


def test_psk_reinit_and_lifecycle_errors() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob"])
    alice, bob = world.groups["alice"], world.groups["bob"]
    for g in (alice, bob):
        g.add_external_psk(b"shared", b"psk value")
    world.commit("alice", psks=[b"shared"])
    world.assert_agree()
    bob.process(alice.propose_psk(b"shared"))
    world.commit("bob")
    world.assert_agree()
    # A member without the PSK cannot follow (§8.4: unknown PSK fails the commit).
    from letterlock.mls.group import NoPendingCommitError, UnknownPskError

    alice.add_external_psk(b"alice only", b"x")
    result = alice.commit(psks=[b"alice only"])
    with pytest.raises(UnknownPskError):
        bob.process(result.commit_message)
    with pytest.raises(InvalidStateError):
        alice.commit()
    alice.discard_pending_commit()
    with pytest.raises(NoPendingCommitError):
        alice.merge_pending_commit()
    # ReInit travels alone and comes out in the event.
    bob.process(alice.propose_reinit(b"next group"))
    result = bob.commit(update_path=False)
    [event] = alice.process(result.commit_message)
    bob.merge_pending_commit()
    assert isinstance(event, CommitApplied) and event.reinit is not None
    assert event.reinit.group_id == b"next group"
    world.assert_agree()


def test_repr_shows_no_secrets() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob"])
    alice = world.groups["alice"]
    result = alice.commit()
    text = repr(alice) + repr(alice._state) + repr(alice._private) + repr(alice._pending)
    for secret in (alice._signer.raw, alice._state.init_secret.value,
                   alice._state.exporter_secret.value, *alice._private.keys.values()):
        assert secret.hex() not in text and repr(secret) not in text
    assert result.commit_message
