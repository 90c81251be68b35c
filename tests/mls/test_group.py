"""The Group state machine in memory (RFC 9420 §11-§12): members built by adds, removes,
updates and external joins agree on every epoch; each rejection raises its error."""

from __future__ import annotations

import pytest
from mls_group_kit import World, accept

from letterlock.crypto import DecryptError, VerifyError
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
)
from letterlock.mls.secret_tree import GenerationReusedError


def test_two_members_talk() -> None:
    world = World()
    alice = world.create("alice")
    assert alice.epoch == 0 and alice.own_leaf == 0
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


def test_three_members_update_by_reference_and_remove() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    alice, bob, carol = (world.groups[n] for n in ("alice", "bob", "carol"))
    # Bob proposes an update; Carol commits it by reference (§12.4).
    proposal = bob.propose_update()
    for g in (alice, carol):
        [event] = g.process(proposal)
        assert isinstance(event, ProposalReceived) and event.sender == 1
    result = carol.commit()
    events = {n: g.process(result.commit_message) for n, g in (("alice", alice), ("bob", bob))}
    [applied] = carol.merge_pending_commit()
    assert isinstance(applied, CommitApplied) and applied.updated == (1,)
    assert events["bob"] == [applied]
    world.assert_agree()
    # Alice removes Bob: Bob learns it and becomes inactive.
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


def test_fifty_members() -> None:
    world = World()
    world.create("m0")
    world.add("m0", [f"m{i}" for i in range(1, 50)])
    world.assert_agree()
    world.commit("m17", remove=[3, 40])
    world.assert_agree()
    world.commit("m30")  # a pure update path
    world.assert_agree()
    message = world.groups["m44"].encrypt(b"to everyone")
    for name, events in world.deliver("m44", message).items():
        assert isinstance(events[0], ApplicationMessage) and events[0].sender == 44, name


def test_external_join_and_resync() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob"])
    from mls_group_kit import client

    dave = client("dave")
    info = world.groups["bob"].group_info()
    group, commit = Group.join_external(info, dave.signer, dave.credential, dave.rng,
                                        credential_validator=accept)
    events = world.deliver("dave", commit)
    assert all(isinstance(e[0], CommitApplied) and e[0].external for e in events.values())
    world.groups["dave"] = group
    world.clients["dave"] = dave
    world.assert_agree()
    # Bob lost his state: he rejoins externally, removing his old leaf (resync).
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


def test_out_of_order_and_replay() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob"])
    alice, bob = world.groups["alice"], world.groups["bob"]
    messages = [alice.encrypt(f"m{i}".encode()) for i in range(4)]
    for i in (2, 0, 3, 1):
        [event] = bob.process(messages[i])
        assert isinstance(event, ApplicationMessage) and event.data == f"m{i}".encode()
    with pytest.raises(GenerationReusedError):
        bob.process(messages[1])


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


def test_competing_commits() -> None:
    world = World()
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
    from mls_group_kit import client, kp_bytes

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
