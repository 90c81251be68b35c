"""Attacks 5-7 on MLS messages: an injected commit, dropped/reordered/replayed
messages, a replaced Welcome or GroupInfo. In memory, at the MLS level (the group kit)
and at the client's GroupProcessor (what the application is told)."""

from __future__ import annotations

import dataclasses

import pytest
from mls_group_kit import SUITE, World, accept, client, kp_bytes

from client.test_processor import World as ProcessorWorld
from client.test_processor import directory_of, person
from letterlock.client import DeliveryGap, Error, MembershipChanged, Processed, Text
from letterlock.client.directory import CredentialPolicy
from letterlock.client.processor import GroupProcessor
from letterlock.crypto import DecryptError, VerifyError
from letterlock.mls.framing import PublicMessage
from letterlock.mls.group import ApplicationMessage, CommitApplied, Group, NotAMemberError
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.secret_tree import GenerationReusedError
from letterlock.mls.welcome import GroupInfo, Welcome
from letterlock.mls.welcome_processing import GroupInfoSignatureError, NoWelcomeEntryError
from letterlock.protocol.envelope import EnvelopeKind


def three_members() -> World:
    world = World()
    world.create("alice")
    world.add("alice", ["bob", "carol"])
    return world


# 5 ------------------------------------------------------------------------------------


def test_attack_5_injected_commit_adding_a_member() -> None:
    world = three_members()
    mallory = client("mallory")
    # The server sees commits as PublicMessages. It takes a real commit of alice's
    # shape and puts its own add in her name: without the membership key and her
    # signing key it cannot authenticate it, and every member refuses it.
    genuine = world.groups["alice"].commit(add=[kp_bytes(mallory.key_package())])
    world.groups["alice"].discard_pending_commit()
    message = MLSMessage.from_bytes(genuine.commit_message).body
    assert isinstance(message, PublicMessage) and message.membership_tag is not None
    epoch = world.groups["bob"].epoch

    forged_tag = MLSMessage(dataclasses.replace(
        message, membership_tag=bytes(len(message.membership_tag)))).to_bytes()
    forged_sig = MLSMessage(dataclasses.replace(message, auth=dataclasses.replace(
        message.auth, signature=mallory_signature(mallory.signer, message)))).to_bytes()
    for name in ("bob", "carol"):
        for forged in (forged_tag, forged_sig):
            with pytest.raises(VerifyError):
                world.groups[name].process(forged)
        assert world.groups[name].epoch == epoch
        assert len(world.groups[name].roster()) == 3

    # A commit in the name of a leaf that is not in the tree: not a member.
    ghost_sender = dataclasses.replace(message, content=dataclasses.replace(
        message.content, sender=dataclasses.replace(message.content.sender, leaf_index=7)))
    with pytest.raises((NotAMemberError, VerifyError)):
        world.groups["bob"].process(MLSMessage(ghost_sender).to_bytes())
    assert world.groups["bob"].epoch == epoch

    # A compromised member (carol) adds mallory: valid, but every member sees the
    # new leaf in CommitApplied.added, and the roster says who it is.
    result = world.groups["carol"].commit(add=[kp_bytes(mallory.key_package())])
    seen = world.deliver("carol", result.commit_message)
    world.groups["carol"].merge_pending_commit()
    for name in ("alice", "bob"):
        [applied] = [e for e in seen[name] if isinstance(e, CommitApplied)]
        assert applied.committer == world.groups["carol"].own_leaf
        [leaf] = applied.added
        member = next(m for m in world.groups[name].roster() if m.leaf == leaf)
        assert member.credential.identity == b"mallory"

    # The same, as the client tells it: a MembershipChanged naming the account.
    pw = ProcessorWorld()
    pw.add_bob()
    commit, _welcome = pw.commit(add=[pw.carol.new_key_package(pw.rng)])
    assert pw.bob_processes(pw.entry(EnvelopeKind.COMMIT, commit)).events == (
        MembershipChanged(pw.group.group_id, "@alice", 2, ("@carol",)),)


def test_attack_5_external_commit_by_the_server_is_a_visible_roster_change() -> None:
    """The server holds every group's GroupInfo (with external_pub), so it can join by
    external commit as an account it controls: members must be told."""
    pw = ProcessorWorld()
    mallory = person("@mallory", pw.rng)
    policy = CredentialPolicy(directory_of(pw.alice, pw.bob, pw.carol, mallory))
    pw.processor = GroupProcessor("@bob", pw.bob.signer, policy, pw.rng)
    pw.add_bob()
    from letterlock.mls.credentials import Credential

    _group, commit = Group.join_external(
        pw.group.group_info(), mallory.signer, Credential.basic(b"@mallory"), pw.rng,
        credential_validator=policy)
    result = pw.bob_processes(pw.entry(EnvelopeKind.COMMIT, commit, sender="server"))
    assert pw.bob.record().members == ("@alice", "@bob", "@mallory")
    [changed] = result.events
    assert isinstance(changed, MembershipChanged) and changed.added == ("@mallory",)
    assert changed.by == "@mallory"


def mallory_signature(signer: bytes, message: PublicMessage) -> bytes:
    """A signature over the same content by a key that is not the sender's."""


    return SUITE.sign_with_label(signer, "FramedContentTBS", message.content.to_bytes())


# 6 ------------------------------------------------------------------------------------


def test_attack_6_dropped_reordered_replayed_messages() -> None:
    # MLS level: a replayed PrivateMessage is refused (its key was used and deleted).
    world = three_members()
    first = world.groups["alice"].encrypt(b"one")
    [got] = world.groups["bob"].process(first)
    assert isinstance(got, ApplicationMessage) and got.data == b"one"
    with pytest.raises(GenerationReusedError):
        world.groups["bob"].process(first)
    # reordered by the server: each still decrypts once, in any order
    two, three = (world.groups["alice"].encrypt(w) for w in (b"two", b"three"))
    assert [e.data for e in world.groups["bob"].process(three)
            if isinstance(e, ApplicationMessage)] == [b"three"]
    assert [e.data for e in world.groups["bob"].process(two)
            if isinstance(e, ApplicationMessage)] == [b"two"]

    # Client level: the server's per-group sequence numbers expose drops and order.
    pw = ProcessorWorld()
    pw.add_bob()  # group_seq 1
    hello = pw.entry(EnvelopeKind.APPLICATION, pw.say("hello"))  # seq 2
    assert pw.bob_processes(hello).message is not None
    # replayed as is (same sequence): ignored as a duplicate
    assert pw.processor.process(hello, pw.bob) == Processed()
    # replayed under a fresh sequence: the MLS layer refuses it, an Error says so
    again = pw.bob_processes(pw.entry(EnvelopeKind.APPLICATION,
                                      ProcessorWorld_payload(hello)))
    assert again.message is None
    [error] = again.events
    assert isinstance(error, Error) and "GenerationReusedError" in error.message
    assert not error.fatal
    # dropped: sequences 4 and 5 never reach bob
    pw.seq += 2
    later = pw.bob_processes(pw.entry(EnvelopeKind.APPLICATION, pw.say("later")))
    assert later.events == (DeliveryGap(4, 5, pw.group.group_id),)
    assert later.message is not None and later.message.content.body == Text("later")
    # reordered: 8 is handed over before 7; the skipped 7 is reported as a gap
    seven = pw.entry(EnvelopeKind.APPLICATION, pw.say("seven"), pw.seq + 1)
    eight = pw.entry(EnvelopeKind.APPLICATION, pw.say("eight"), pw.seq + 2)
    pw.seq += 2
    early = pw.bob_processes(eight)
    assert early.events == (DeliveryGap(7, 7, pw.group.group_id),)
    assert early.message is not None and early.message.content.body == Text("eight")
    # ... and the late one is not shown out of order (the gap was already reported)
    assert pw.bob_processes(seven) == Processed() or not pw.bob_processes(seven).events


def ProcessorWorld_payload(entry: object) -> bytes:
    from letterlock.client import InboundEntry
    from letterlock.protocol.envelope import Envelope

    assert isinstance(entry, InboundEntry)
    return Envelope.from_bytes(entry.payload).message


# 7 ------------------------------------------------------------------------------------


def test_attack_7_replaced_welcome_or_group_info() -> None:
    world = three_members()
    alice = world.groups["alice"]
    dave = client("dave")
    bundle = dave.key_package()
    result = alice.commit(add=[kp_bytes(bundle)])
    alice.merge_pending_commit()
    assert result.welcome is not None
    welcome = MLSMessage.from_bytes(result.welcome).body
    assert isinstance(welcome, Welcome)
    tree = alice.ratchet_tree

    def join(raw: bytes, ratchet_tree: bytes = tree) -> Group:
        return Group.join(raw, bundle, dave.signer, rng=dave.rng,
                          credential_validator=accept, ratchet_tree=ratchet_tree)

    # the encrypted GroupInfo altered in transit: it does not decrypt
    sealed = bytearray(welcome.encrypted_group_info)
    sealed[len(sealed) // 2] ^= 1
    with pytest.raises(DecryptError):
        join(MLSMessage(dataclasses.replace(
            welcome, encrypted_group_info=bytes(sealed))).to_bytes())

    # a Welcome the server made for someone else's KeyPackage, handed to dave
    erin = client("erin")
    other = world.groups["bob"]
    other_result = other.commit(add=[kp_bytes(erin.key_package())])
    other.discard_pending_commit()
    assert other_result.welcome is not None
    with pytest.raises(NoWelcomeEntryError):
        join(other_result.welcome)

    # the GroupInfo the server stores for external joins, altered or re-signed
    info_bytes = alice.group_info()
    info = MLSMessage.from_bytes(info_bytes).body
    assert isinstance(info, GroupInfo)
    frank = client("frank")
    altered = dataclasses.replace(info, extensions=info.extensions[:-1]) \
        if info.extensions else dataclasses.replace(info, confirmation_tag=bytes(32))
    resigned = dataclasses.replace(info, signature=world.suite.sign_with_label(
        frank.signer, "GroupInfoTBS", info.tbs.to_bytes()))
    for bad in (altered, resigned):
        with pytest.raises((GroupInfoSignatureError, VerifyError)):
            Group.join_external(MLSMessage(bad).to_bytes(), frank.signer, frank.credential,
                                frank.rng, credential_validator=accept,
                                ratchet_tree=alice.ratchet_tree)
    # the honest one works, and the good Welcome joins dave
    assert join(result.welcome).epoch == alice.epoch
