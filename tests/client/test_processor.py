"""The GroupProcessor with in-memory MLS groups, no server: joining by Welcome, message
decoding, gaps, replays, membership changes, removal, leave requests, and the
credential policy's directory look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from letterlock.client import (
    CommitDue,
    ConversationJoined,
    DeliveryGap,
    Error,
    InboundEntry,
    MembershipChanged,
    Processed,
    RemovedFromConversation,
    Text,
    UnknownIdentity,
)
from letterlock.client._records import (
    ConversationKind,
    ConversationRecord,
    ConversationStatus,
)
from letterlock.client.content import encode_content, text
from letterlock.client.directory import CredentialPolicy, Directory
from letterlock.client.processor import GROUP_CONFIG, GroupProcessor
from letterlock.client.store import KeyPackageSecret
from letterlock.client.transport import DeviceInfo
from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.mls.credentials import Credential
from letterlock.mls.group import Group
from letterlock.mls.key_package import KeyPackage
from letterlock.mls.key_packages import create_key_package, key_package_ref
from letterlock.mls.leaf_node import Lifetime
from letterlock.protocol.envelope import Envelope, EnvelopeKind

SUITE = cipher_suite(1)
GROUP_ID = bytes([2]) + bytes(31)
NOW = 1_800_000_000


@dataclass
class Person:
    handle: str
    device_id: str
    signer: bytes
    public: bytes
    states: dict[bytes, bytes] = field(default_factory=dict)
    secrets: dict[bytes, KeyPackageSecret] = field(default_factory=dict)

    # GroupStates -------------------------------------------------------------------
    def get(self, group_id: bytes) -> bytes | None:
        return self.states.get(group_id)

    def key_package(self, ref: bytes) -> KeyPackageSecret | None:
        return self.secrets.get(ref)

    def new_key_package(self, rng: SeededRandom) -> KeyPackage:
        bundle = create_key_package(
            SUITE, credential=Credential.basic(self.handle.encode()),
            signature_private_key=self.signer, lifetime=Lifetime(0, 2**63), rng=rng)
        ref = key_package_ref(SUITE, bundle.key_package)
        self.secrets[ref] = KeyPackageSecret(ref, False, bundle.init_private_key,
                                             bundle.encryption_private_key,
                                             bundle.key_package.to_bytes())
        return bundle.key_package

    def apply(self, result: Processed) -> None:
        for change in result.state_changes:
            assert change.state is not None
            self.states[change.group_id] = change.state
        for ref in result.used_key_packages:
            del self.secrets[ref]

    def record(self) -> ConversationRecord:
        return ConversationRecord.from_bytes(self.states[GROUP_ID])


def person(handle: str, rng: SeededRandom) -> Person:
    signer, public = SUITE.generate_signature_key_pair(rng)
    return Person(handle, handle.lstrip("@") + "-device", signer, public)


def directory_of(*people: Person) -> Directory:
    async def never(handle: str) -> list[DeviceInfo]:
        raise AssertionError("no I/O in these tests")

    directory = Directory(never)
    for p in people:
        directory.learn(p.handle, [DeviceInfo(p.device_id, p.public, 1, 0)])
    return directory


class World:
    """@alice's group (a Group object) and @bob's processor over his states."""

    def __init__(self) -> None:
        self.rng = SeededRandom(b"processor tests")
        self.alice = person("@alice", self.rng)
        self.bob = person("@bob", self.rng)
        self.carol = person("@carol", self.rng)
        self.policy = CredentialPolicy(directory_of(self.alice, self.bob, self.carol))
        self.processor = GroupProcessor("@bob", self.bob.signer, self.policy, self.rng)
        self.group = Group.create(SUITE, group_id=GROUP_ID, signer=self.alice.signer,
                                  credential=Credential.basic(b"@alice"), rng=self.rng,
                                  credential_validator=self.policy, config=GROUP_CONFIG)
        self.seq = 0
        self.mailbox = 0

    def entry(self, kind: EnvelopeKind, message: bytes, seq: int | None = None,
              sender: str = "alice-device") -> InboundEntry:
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.mailbox += 1
        payload = Envelope(kind, GROUP_ID, seq, sender, message).to_bytes()
        return InboundEntry(self.mailbox, sender, payload, NOW)

    def bob_processes(self, entry: InboundEntry) -> Processed:
        result = self.processor.process(entry, self.bob)
        self.bob.apply(result)
        return result

    def commit(self, **kwargs: object) -> tuple[bytes, bytes | None]:
        result = self.group.commit(**kwargs)  # type: ignore[arg-type]
        self.group.merge_pending_commit()
        return result.commit_message, result.welcome

    def add_bob(self) -> Processed:
        _commit, welcome = self.commit(add=[self.bob.new_key_package(self.rng)])
        assert welcome is not None
        self.seq += 1
        return self.bob_processes(self.entry(EnvelopeKind.WELCOME, welcome, self.seq))

    def say(self, words: str) -> bytes:
        content = text(words, rng=self.rng, sent_at_ms=1)
        return self.group.encrypt(encode_content(content))


def test_welcome_join_uses_up_the_key_package() -> None:
    world = World()
    assert len(world.bob.secrets) == 0
    result = world.add_bob()
    [joined] = result.events
    assert joined == ConversationJoined(GROUP_ID, "@alice", ("@alice", "@bob"), False)
    assert result.used_key_packages and not world.bob.secrets
    record = world.bob.record()
    assert record.status is ConversationStatus.ACTIVE and record.last_seq == 1
    assert record.members == ("@alice", "@bob")
    # the same Welcome again is a replay: nothing happens
    again = world.entry(EnvelopeKind.WELCOME, b"ignored", 1)
    assert world.bob_processes(again) == Processed()


def test_message_decode_gap_and_replay() -> None:
    world = World()
    world.add_bob()
    hello = world.entry(EnvelopeKind.APPLICATION, world.say("hello bob"))
    result = world.bob_processes(hello)
    assert result.message is not None and result.message.sender == "@alice"
    assert result.message.content.body == Text("hello bob")
    assert world.processor.process(hello, world.bob) == Processed()  # replay: ignored

    # sequences 3 and 4 went to someone else's send that never reached us
    world.seq += 2
    later = world.bob_processes(world.entry(EnvelopeKind.APPLICATION, world.say("later")))
    assert later.events == (DeliveryGap(3, 4, GROUP_ID),)
    assert later.message is not None and later.message.content.body == Text("later")
    assert world.bob.record().last_seq == 5


def test_invalid_message_is_an_error_and_leaves_the_group_alone() -> None:
    world = World()
    world.add_bob()
    before = world.bob.record()
    result = world.bob_processes(world.entry(EnvelopeKind.APPLICATION, b"\x00\x01junk"))
    [error] = result.events
    assert isinstance(error, Error) and not error.fatal
    after = world.bob.record()
    assert after.mls_state == before.mls_state and after.last_seq == 2  # not a gap later
    ok = world.bob_processes(world.entry(EnvelopeKind.APPLICATION, world.say("fine")))
    assert ok.events == () and ok.message is not None


def test_membership_change_leave_request_and_removal() -> None:
    world = World()
    world.add_bob()
    commit, _welcome = world.commit(add=[world.carol.new_key_package(world.rng)])
    changed = world.bob_processes(world.entry(EnvelopeKind.COMMIT, commit))
    assert changed.events == (MembershipChanged(GROUP_ID, "@alice", 2, ("@carol",)),)
    assert world.bob.record().members == ("@alice", "@bob", "@carol")

    # A Remove proposal from @alice (leaf 0): the lowest leaf of another account is
    # bob's (leaf 1), so bob's client is told to commit it.
    carol_leaf = next(m.leaf for m in world.group.roster()
                      if m.credential.identity == b"@carol")
    proposal = world.group.propose_remove(carol_leaf)
    heard = world.bob_processes(world.entry(EnvelopeKind.PROPOSAL, proposal))
    assert heard.events == (CommitDue(GROUP_ID),)

    bob_leaf = next(m.leaf for m in world.group.roster() if m.credential.identity == b"@bob")
    commit, _ = world.commit(remove=[bob_leaf], by_reference=False)
    removed = world.bob_processes(world.entry(EnvelopeKind.COMMIT, commit))
    assert removed.events == (RemovedFromConversation(GROUP_ID, "@alice"),)
    record = world.bob.record()
    assert record.status is ConversationStatus.REMOVED and record.mls_state == b""
    # what follows cannot be read, and is not attempted
    after = world.bob_processes(world.entry(EnvelopeKind.APPLICATION, world.say("gone")))
    assert after.message is None and after.events == ()


def test_unknown_identity_asks_for_a_look_up_then_rejects() -> None:
    world = World()
    world.processor = GroupProcessor("@bob", world.bob.signer,
                                     CredentialPolicy(directory_of(world.bob)), world.rng)
    _commit, welcome = world.commit(add=[world.bob.new_key_package(world.rng)])
    assert welcome is not None
    entry = world.entry(EnvelopeKind.WELCOME, welcome, 1)
    with pytest.raises(UnknownIdentity) as miss:
        world.processor.process(entry, world.bob)
    assert miss.value.handles == frozenset({"@alice"})
    assert world.bob.secrets  # nothing was used up


def test_record_sequence_bookkeeping() -> None:
    record = ConversationRecord.from_bytes(ConversationRecord(
        ConversationKind.GROUP, ConversationStatus.ACTIVE, "n", 1, 3).to_bytes())
    assert record.name == "n" and record.last_seq == 3
    own = record.seen(5)  # our own send at 5: 4 is still expected
    assert (own.last_seq, own.ahead) == (3, frozenset({5}))
    assert own.check(4).gap is None and own.check(6).gap == (4, 4)
    assert own.check(5).duplicate and own.check(3).duplicate
    assert own.seen(4).last_seq == 5 and own.delivered(4).last_seq == 5
    assert own.delivered(7) == ConversationRecord.from_bytes(own.delivered(7).to_bytes())
    assert own.delivered(7).last_seq == 7 and not own.delivered(7).ahead
