"""Resuming a group in a new one (RFC 9420 §11.2 reinit, §11.3 branch), and external
joins that inject PSKs (§12.4.3.2): members move over and keep talking; a Welcome
that does not resume the old group it claims to is refused with its documented error."""

from __future__ import annotations

import pytest
from mls_group_kit import FOREVER, World, accept, client

from letterlock.crypto import VerifyError, cipher_suite
from letterlock.mls.constants import ProtocolVersion, ResumptionPSKUsage
from letterlock.mls.errors import UsageError
from letterlock.mls.group import (
    ApplicationMessage,
    CommitApplied,
    Group,
    GroupConfig,
    GroupReinitializedError,
    GroupState,
    InvalidStateError,
    ResumptionMismatchError,
    UnknownPskError,
)
from letterlock.mls.key_packages import KeyPackageBundle, create_key_package
from letterlock.mls.proposals import ReInit

SUITE_3 = cipher_suite(3)  # X25519, ChaCha20Poly1305, SHA-256, Ed25519


def _three_members() -> World:
    world = World()
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    return world


def _bundle(world: World, name: str, suite_id: int = 3) -> KeyPackageBundle:
    """A KeyPackage of an existing member, for the new group's suite."""
    c = world.clients[name]
    return create_key_package(cipher_suite(suite_id), credential=c.credential,
                              signature_private_key=c.signer, lifetime=FOREVER, rng=c.rng)


def _commit_reinit(world: World, group_id: bytes = b"next group") -> None:
    """bob proposes a ReInit to suite 3, alice commits it, everyone applies it."""
    alice, bob = world.groups["alice"], world.groups["bob"]
    proposal = bob.propose_reinit(group_id, 3)
    world.deliver("bob", proposal)
    result = alice.commit(update_path=False)
    events = world.deliver("alice", result.commit_message)
    [own] = alice.merge_pending_commit()
    for event in [own, *(e for evs in events.values() for e in evs)]:
        assert isinstance(event, CommitApplied) and event.reinit is not None
        assert event.reinit.cipher_suite == 3


def _join(world: World, name: str, welcome: bytes, bundle: KeyPackageBundle,
          old_group: Group | None, tree: bytes | None = None) -> Group:
    c = world.clients[name]
    return Group.join(welcome, bundle, c.signer, rng=c.rng, credential_validator=accept,
                      ratchet_tree=tree, old_group=old_group)


def test_reinit_to_another_suite_and_keep_talking() -> None:
    world = _three_members()
    _commit_reinit(world)
    alice, bob, carol = (world.groups[n] for n in ("alice", "bob", "carol"))
    world.assert_agree()
    for g in (alice, bob, carol):
        assert g.state is GroupState.REINIT
        assert g.committed_reinit == ReInit(b"next group", ProtocolVersion.MLS10, 3)
        # §11.2: the old group carries nothing more, whatever we try.
        with pytest.raises(InvalidStateError):
            g.encrypt(b"late")
        with pytest.raises(InvalidStateError):
            g.propose_update()
        with pytest.raises(InvalidStateError):
            g.commit()
        assert g.export_secret("still readable", b"", 8)

    # Any member (here carol, who neither proposed nor committed it) starts the group.
    bundles = {n: _bundle(world, n) for n in ("alice", "bob")}
    new_carol, welcome = carol.reinit([b.key_package for b in bundles.values()])
    assert welcome is not None
    assert (new_carol.suite.suite_id, new_carol.group_id, new_carol.epoch) == \
        (3, b"next group", 1)
    new = {"carol": new_carol}
    for name, bundle in bundles.items():
        new[name] = _join(world, name, welcome, bundle, world.groups[name])
        assert new[name].suite.suite_id == 3
    successor = World(groups=new, clients=world.clients, suite=SUITE_3)
    successor.assert_agree()

    # The new group works as any other: messages, then a commit.
    [event] = new["bob"].process(new["alice"].encrypt(b"hello, suite 3"))
    assert isinstance(event, ApplicationMessage) and event.data == b"hello, suite 3"
    successor.commit("bob")
    successor.assert_agree()
    assert new["alice"].epoch == 2


def test_old_group_refuses_messages_of_its_last_epoch() -> None:
    world = _three_members()
    _commit_reinit(world)
    alice, bob = world.groups["alice"], world.groups["bob"]
    # A misbehaving member that ignores §11.2 (forced past its own state table).
    alice._lifecycle = GroupState.OPERATIONAL
    with pytest.raises(GroupReinitializedError):
        bob.process(alice.encrypt(b"should not be sent"))


def test_reinit_state_survives_storage() -> None:
    world = _three_members()
    _commit_reinit(world)
    carol = world.groups["carol"]
    c = world.clients["carol"]
    restored = Group.from_bytes(carol.to_bytes(), credential_validator=accept, rng=c.rng)
    assert restored.state is GroupState.REINIT
    assert restored.committed_reinit == carol.committed_reinit
    bundle = _bundle(world, "alice")
    new_carol, welcome = restored.reinit([bundle.key_package])
    assert welcome is not None
    new_alice = _join(world, "alice", welcome, bundle, world.groups["alice"])
    assert new_alice.epoch_authenticator == new_carol.epoch_authenticator


def test_reinit_join_with_wrong_old_group_or_psk() -> None:
    world = _three_members()
    before = Group.from_bytes(world.groups["bob"].to_bytes(), credential_validator=accept,
                              rng=world.clients["bob"].rng)
    _commit_reinit(world)
    alice = world.groups["alice"]

    def welcome_for_bob() -> tuple[bytes, KeyPackageBundle]:
        bundle = _bundle(world, "bob")
        _, welcome = alice.reinit([bundle.key_package])
        assert welcome is not None
        return welcome, bundle

    # No old group: the reinit PSK is one we do not hold (§12.4.3.1).
    welcome, bundle = welcome_for_bob()
    with pytest.raises(UnknownPskError):
        _join(world, "bob", welcome, bundle, None)
    # Another group entirely.
    other = World()
    other.create("dave")
    welcome, bundle = welcome_for_bob()
    with pytest.raises(UnknownPskError):
        _join(world, "bob", welcome, bundle, other.groups["dave"])
    # Our old group, but from before the ReInit commit: the PSK's epoch is not ours.
    welcome, bundle = welcome_for_bob()
    with pytest.raises(UnknownPskError):
        _join(world, "bob", welcome, bundle, before)
    # The right old group resolves the PSK, but the new group is not what the ReInit
    # asked for (§11.2: group_id, version, suite, extensions must be the ReInit's).
    # (A forger's successor: usage reinit, yet another group_id than the ReInit's.)
    bundle = _bundle(world, "bob")
    _, forged = alice._start_successor(
        ResumptionPSKUsage.REINIT, SUITE_3, b"not the reinit's", (), [bundle.key_package],
        rng=None, signer=None, credential=None, capabilities=None, lifetime=None,
        config=None, now=None)
    assert forged is not None
    with pytest.raises(ResumptionMismatchError, match="group_id"):
        _join(world, "bob", forged, bundle, world.groups["bob"])
    # A group that was reinitialised cannot branch any more.
    with pytest.raises(InvalidStateError):
        alice.branch(b"branch", [_bundle(world, "bob", 1).key_package])


def test_reinit_misuse() -> None:
    world = _three_members()
    alice = world.groups["alice"]
    with pytest.raises(InvalidStateError):  # no ReInit committed
        alice.reinit([])
    _commit_reinit(world)
    stranger = client("mallory", SUITE_3).key_package()
    with pytest.raises(UsageError, match="member"):
        alice.reinit([stranger.key_package])
    wrong_suite = _bundle(world, "bob", 1)
    with pytest.raises(UsageError, match="suite"):
        alice.reinit([wrong_suite.key_package])


def test_branch_a_subgroup() -> None:
    world = _three_members()
    alice, bob = world.groups["alice"], world.groups["bob"]
    bundle = _bundle(world, "bob", 1)
    sub_alice, welcome = alice.branch(b"subgroup", [bundle.key_package])
    assert welcome is not None and sub_alice.epoch == 1
    sub_bob = _join(world, "bob", welcome, bundle, bob)
    assert sub_bob.epoch_authenticator == sub_alice.epoch_authenticator
    assert [m.credential.identity for m in sub_bob.roster()] == [b"alice", b"bob"]
    [event] = sub_bob.process(sub_alice.encrypt(b"just us"))
    assert isinstance(event, ApplicationMessage) and event.data == b"just us"
    # The old group goes on.
    assert alice.state is GroupState.OPERATIONAL
    world.commit("carol")
    world.assert_agree()
    # A branch Welcome offered as the resumption of an unrelated group fails.
    bundle = _bundle(world, "bob", 1)
    _, welcome = world.groups["alice"].branch(b"subgroup 2", [bundle.key_package])
    assert welcome is not None
    other = World()
    other.create("dave")
    with pytest.raises(UnknownPskError):
        _join(world, "bob", welcome, bundle, other.groups["dave"])


def test_external_join_with_psk() -> None:
    world = World()
    world.create("alice")
    world.add("alice", ["bob"])
    alice, bob = world.groups["alice"], world.groups["bob"]
    for g in (alice, bob):
        g.add_external_psk(b"door code", b"1234")
    carol = client("carol")
    world.clients["carol"] = carol
    info = alice.group_info()
    joined, commit = Group.join_external(info, carol.signer, carol.credential, carol.rng,
                                         credential_validator=accept,
                                         psks={b"door code": b"1234"})
    events = world.deliver("carol", commit)
    for [event] in events.values():
        assert isinstance(event, CommitApplied) and event.external and event.psks == 1
    world.groups["carol"] = joined
    world.assert_agree()
    # The PSK stays registered with the joiner.
    world.commit("carol", psks=[b"door code"])
    world.assert_agree()

    # Without the right secret the members cannot follow the commit (§8.4).
    dave = client("dave")
    _, commit = Group.join_external(world.groups["alice"].group_info(), dave.signer,
                                    dave.credential, dave.rng, credential_validator=accept,
                                    psks={b"door code": b"wrong"})
    with pytest.raises(VerifyError):  # the confirmation tag of other epoch secrets
        world.groups["alice"].process(commit)
    eve = client("eve")
    _, commit = Group.join_external(world.groups["alice"].group_info(), eve.signer,
                                    eve.credential, eve.rng, credential_validator=accept,
                                    psks={b"unknown": b"x"})
    with pytest.raises(UnknownPskError):
        world.groups["alice"].process(commit)


def test_late_messages_of_earlier_epochs_still_decrypt() -> None:
    world = World(GroupConfig(max_past_epochs=2))
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    late = world.groups["carol"].encrypt(b"sent before the ReInit commit")
    _commit_reinit(world)
    [event] = world.groups["bob"].process(late)
    assert isinstance(event, ApplicationMessage) and event.epoch == 1


def test_welcome_that_resumes_nothing_is_refused() -> None:
    # A plain Welcome (no reinit/branch PSK) offered as the successor of a group.
    world = _three_members()
    _commit_reinit(world)
    dave_world = World()
    dave_world.create("dave")
    bob = world.clients["bob"]
    bundle = bob.key_package()
    result = dave_world.groups["dave"].commit(add=[bundle.key_package])
    assert result.welcome is not None
    with pytest.raises(ResumptionMismatchError, match="no reinit/branch PSK"):
        _join(world, "bob", result.welcome, bundle, world.groups["bob"])
