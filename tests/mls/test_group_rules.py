"""Each MUST on received group data is enforced with its own error (RFC 9420 §6,
§12.2, §12.4), and a rejected message leaves the group unchanged; the state survives a
round trip through bytes; a PublicGroup and external senders (§12.1.8.1) work."""

from __future__ import annotations

import pytest
from mls_group_kit import SUITE, World, accept, client, kp_bytes

from letterlock.crypto import SeededRandom, VerifyError
from letterlock.mls.commit import Commit, ProposalOrRef
from letterlock.mls.constants import WireFormat
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.extension_types import ExternalSender, ExternalSenders, to_extension
from letterlock.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    PublicMessage,
    Sender,
)
from letterlock.mls.group import (
    ApplicationMessage,
    CommitApplied,
    Group,
    GroupConfig,
    InvalidProposalListError,
    NotAMemberError,
    PathRequiredError,
    ProposalReceived,
    PublicGroup,
    RemovedFromGroup,
    UnknownProposalRefError,
    WireFormatPolicy,
    WrongEpochError,
    WrongGroupError,
)
from letterlock.mls.group.commit import stage_commit
from letterlock.mls.group.proposals import ProposalCache, QueuedProposal, apply_proposals
from letterlock.mls.leaf_node import LeafNode
from letterlock.mls.message_protection import sign_content
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.proposals import (
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    ReInit,
    Remove,
)
from letterlock.mls.ratchet_tree import BlankLeafError
from letterlock.mls.tree_validation import CredentialRejectedError


def _three() -> World:
    world = World()
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    return world


def _apply(group: Group, proposals: list[QueuedProposal], committer: int = 0) -> None:
    apply_proposals(group._state, proposals, Sender.member(committer),
                    credential_validator=accept)


def test_proposal_list_rules() -> None:
    world = _three()
    alice = world.groups["alice"]
    me = Sender.member(0)
    dave = kp_bytes(client("dave").key_package())
    with pytest.raises(InvalidProposalListError, match="same client"):
        alice.commit(add=[dave, dave])
    with pytest.raises(InvalidProposalListError, match="removes itself"):
        alice.commit(remove=[0])
    with pytest.raises(InvalidProposalListError, match="two Updates/Removes"):
        alice.commit(remove=[1, 1])
    with pytest.raises(UsageError):  # the committer's own path rules (§12.4)
        alice.commit(remove=[1], update_path=False)
    gce = QueuedProposal(Proposal(GroupContextExtensions(())), me)
    with pytest.raises(InvalidProposalListError, match="GroupContextExtensions"):
        _apply(alice, [gce, gce])
    with pytest.raises(InvalidProposalListError, match="ExternalInit"):
        _apply(alice, [QueuedProposal(Proposal(ExternalInit(b"x" * 32)), me)])
    reinit = QueuedProposal(Proposal(ReInit(b"new", 1, 1)), me)
    with pytest.raises(InvalidProposalListError, match="ReInit"):
        _apply(alice, [reinit, QueuedProposal(Proposal(Remove(1)), me)])
    psk = QueuedProposal(Proposal(PreSharedKey(PreSharedKeyID.external(b"p", bytes(32)))), me)
    with pytest.raises(InvalidProposalListError, match="PSK"):
        _apply(alice, [psk, psk])
    with pytest.raises(BlankLeafError):
        _apply(alice, [QueuedProposal(Proposal(Remove(7)), me)])
    # Nothing was committed: the group still works and agrees.
    assert alice.epoch == 1
    world.assert_agree()


def test_receiver_rules() -> None:
    world = _three()
    alice, bob = world.groups["alice"], world.groups["bob"]
    state = bob._state
    content = FramedContent(bob.group_id, bob.epoch, Sender.member(0), b"",
                            Commit((ProposalOrRef(proposal=Proposal(Remove(2))),)))
    fake = AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, content,
                                FramedContentAuthData(b"sig", b"tag"))
    with pytest.raises(PathRequiredError):
        stage_commit(state, fake, ProposalCache(), private=bob._private,
                     psk_resolver=lambda _: None, credential_validator=accept,
                     ratchet_config=bob._config.ratchet)
    by_ref = FramedContent(bob.group_id, bob.epoch, Sender.member(0), b"",
                           Commit((ProposalOrRef(reference=b"\x00" * 32),)))
    with pytest.raises(UnknownProposalRefError):
        stage_commit(state, AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, by_ref,
                                                 FramedContentAuthData(b"s", b"t")),
                     ProposalCache(), private=bob._private, psk_resolver=lambda _: None,
                     credential_validator=accept, ratchet_config=bob._config.ratchet)
    # A commit injected by the server, signed by a key no member holds: the membership
    # tag (and the signature) fail; from a blank leaf it is not a member at all.
    outsider = client("mallory")
    for leaf, error in ((0, VerifyError), (5, NotAMemberError)):
        signed = sign_content(SUITE, outsider.signer, WireFormat.PUBLIC_MESSAGE,
                              FramedContent(bob.group_id, bob.epoch, Sender.member(leaf), b"",
                                            Commit()), bob._state.context, b"\x00" * 32)
        message = PublicMessage(signed.content, signed.auth, b"\x00" * 32)
        with pytest.raises(error):
            bob.process(MLSMessage(message).to_bytes())
    # A commit from the wrong epoch or group.
    old = alice.commit().commit_message
    alice.discard_pending_commit()
    world.commit("carol")
    with pytest.raises(WrongEpochError):
        bob.process(old)
    other = World()
    other.create("zed")
    with pytest.raises(WrongGroupError):
        bob.process(MLSMessage.from_bytes(other.groups["zed"].commit().commit_message)
                    .to_bytes().replace(b"test group", b"test grouq"))
    world.assert_agree()


def test_state_round_trip_mid_conversation() -> None:
    world = World(GroupConfig(max_past_epochs=1))
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    alice, bob = world.groups["alice"], world.groups["bob"]
    early = alice.encrypt(b"early")
    world.deliver("alice", alice.propose_update())
    result = bob.commit()
    # Save everyone mid-flight: Bob with a pending commit, Alice with a cached proposal.
    for name in list(world.groups):
        g = world.groups[name]
        world.groups[name] = Group.from_bytes(g.to_bytes(), credential_validator=accept,
                                              rng=SeededRandom(name.encode() + b"2"))
        assert world.groups[name].to_bytes() == g.to_bytes()
    world.groups["alice"].process(result.commit_message)
    world.groups["carol"].process(result.commit_message)
    [event] = world.groups["bob"].merge_pending_commit()
    assert isinstance(event, CommitApplied) and event.updated == (0,)
    world.assert_agree()
    [late] = world.groups["carol"].process(early)  # from the retained past epoch
    assert isinstance(late, ApplicationMessage) and late.data == b"early"


def test_private_handshake_messages() -> None:
    world = World(GroupConfig(wire_format_policy=WireFormatPolicy.PRIVATE))
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    world.deliver("bob", world.groups["bob"].propose_update())
    world.deliver("alice", world.groups["alice"].propose_remove(1))
    world.commit("carol", remove=[0])
    assert sorted(world.groups) == ["carol"]
    world.assert_agree()


def test_public_group_and_external_sender_remove() -> None:
    server = client("server")
    server_pub = SUITE.signature_public_key(server.signer)
    senders = ExternalSenders((ExternalSender(server_pub, Credential.basic(b"server")),))
    world = World()
    alice = world.create("alice", extensions=[to_extension(senders)])
    observer = PublicGroup.from_group_info(alice.group_info(),
                                           credential_validator=accept)
    joiners = [client(n) for n in ("bob", "carol")]
    bundles = [c.key_package() for c in joiners]
    result = alice.commit(add=[kp_bytes(b) for b in bundles])
    [event] = observer.process(result.commit_message)
    assert isinstance(event, CommitApplied) and event.added == (1, 2)
    alice.merge_pending_commit()
    assert result.welcome is not None
    for c, bundle in zip(joiners, bundles, strict=True):
        name = c.name
        world.clients[name] = c
        world.groups[name] = Group.join(result.welcome, bundle, c.signer, rng=c.rng,
                                        credential_validator=accept)
    assert observer.roster() == alice.roster() and observer.epoch == alice.epoch
    assert observer.ratchet_tree == alice.ratchet_tree
    # The server bans Carol: an external Remove proposal, signed with its key (§12.1.8.1).
    content = FramedContent(alice.group_id, alice.epoch, Sender.external(0), b"",
                            Proposal(Remove(2)))
    signed = sign_content(SUITE, server.signer, WireFormat.PUBLIC_MESSAGE, content, None)
    proposal = MLSMessage(PublicMessage(signed.content, signed.auth)).to_bytes()
    receivers: list[Group | PublicGroup] = [*world.groups.values(), observer]
    for g in receivers:
        [received] = g.process(proposal)
        assert isinstance(received, ProposalReceived) and received.sender == 0
    commit = world.groups["bob"].commit().commit_message
    [applied] = observer.process(commit)
    assert isinstance(applied, CommitApplied) and applied.removed == (2,)
    alice.process(commit)
    assert isinstance(world.groups["carol"].process(commit)[-1], RemovedFromGroup)
    world.groups["bob"].merge_pending_commit()
    del world.groups["carol"]
    world.assert_agree()
    assert observer.roster() == alice.roster()
    restored = PublicGroup.from_bytes(observer.to_bytes(), credential_validator=accept)
    assert restored.epoch == alice.epoch
    # A forged external proposal (wrong key) is refused by members and the observer.
    forged = sign_content(SUITE, client("eve").signer, WireFormat.PUBLIC_MESSAGE,
                          FramedContent(alice.group_id, alice.epoch, Sender.external(0), b"",
                                        Proposal(Remove(1))), None)
    message = MLSMessage(PublicMessage(forged.content, forged.auth)).to_bytes()
    for g2 in receivers[::len(receivers) - 1]:
        with pytest.raises(VerifyError):
            g2.process(message)
    _ctype, epoch = observer.check_envelope(alice.encrypt(b"x"))
    assert epoch == alice.epoch
    with pytest.raises(InvalidMessageError):
        observer.process(alice.encrypt(b"y"))


def _same_identity(leaf: LeafNode, previous: LeafNode | None) -> None:
    if previous is not None and leaf.credential.identity != previous.credential.identity:
        raise CredentialRejectedError("not the same client")


def test_external_join_seen_by_public_group_and_resync_rules() -> None:
    world = _three()
    alice = world.groups["alice"]
    observer = PublicGroup.from_group_info(alice.group_info(), credential_validator=accept)
    eve = client("eve")
    # Eve claims to resync Bob's leaf: the AS sees a successor with another identity.
    group, commit = Group.join_external(alice.group_info(), eve.signer, eve.credential,
                                        eve.rng, credential_validator=accept, resync_leaf=1)
    strict = Group.from_bytes(alice.to_bytes(), credential_validator=_same_identity,
                              rng=SeededRandom(b"x"))
    with pytest.raises(CredentialRejectedError):
        strict.process(commit)
    # An honest external join: members and the observer follow it.
    group, commit = Group.join_external(alice.group_info(), eve.signer, eve.credential,
                                        eve.rng, credential_validator=accept)
    [event] = observer.process(commit)
    assert isinstance(event, CommitApplied) and event.external and event.committer == 3
    world.deliver("eve", commit)
    world.groups["eve"] = group
    world.assert_agree()
    assert observer.roster() == alice.roster() and observer.epoch == alice.epoch
