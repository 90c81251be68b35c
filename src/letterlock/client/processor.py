"""The group layer's receive side: mailbox Envelope → MLS → history and events.

:class:`GroupProcessor` is the :class:`~letterlock.client.pipeline.Processor` the
client uses by default. For each mailbox entry (an
:class:`~letterlock.protocol.envelope.Envelope`), inside the pipeline's transaction:

- WELCOME: find which of our KeyPackages it names (by KeyPackageRef, §12.4.3.1), join
  with that KeyPackage's sealed private keys, and use the one-time secret up (a
  last-resort one stays). Emits ConversationJoined.
- COMMIT / PROPOSAL / APPLICATION: load the conversation record, drop it if its
  group sequence was seen (a replay, or a commit we learnt from a 409 already), report
  skipped sequences as a DeliveryGap, and run ``Group.process``. Emits MessageReceived
  (through the history), MembershipChanged, RemovedFromConversation, or CommitDue when
  a member asked to leave and this device is the one to commit it.
- A sequence reported as a gap that turns up later (reordered on its way, not lost) is
  processed once: its MessageReceived says ``late`` (and carries ``group_seq``), so an
  application can place it; a second copy is a duplicate (see ``_records.py``).

Invalid MLS input leaves the group state untouched and becomes an Error event; its
sequence still counts as delivered, so it is not reported again as a gap. A late
message whose keys the group no longer keeps (out-of-order keys are kept only within
a window of generations and epochs, RFC 9420 §15.3) is such an Error, saying so.
"""

from __future__ import annotations

from dataclasses import replace

from letterlock.codec import DecodeError
from letterlock.crypto import DecryptError, RandomSource, VerifyError
from letterlock.mls.constants import ProposalType
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.group import (
    ApplicationMessage,
    CommitApplied,
    EpochTooOldError,
    Group,
    GroupConfig,
    GroupState,
    Member,
    OwnCommitError,
    ProposalReceived,
    RemovedFromGroup,
)
from letterlock.mls.group import Event as MLSEvent
from letterlock.mls.key_package import KeyPackage
from letterlock.mls.key_packages import KeyPackageBundle
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.secret_tree import GenerationTooOldError
from letterlock.mls.welcome import Welcome
from letterlock.protocol.envelope import Envelope, EnvelopeKind

from ._records import ConversationKind, ConversationRecord, ConversationStatus
from .content import decode_content
from .directory import CredentialPolicy, handle_of
from .errors import ProcessingError
from .events import (
    CommitDue,
    ConversationJoined,
    DeliveryGap,
    Error,
    Event,
    MembershipChanged,
    RemovedFromConversation,
)
from .pipeline import GroupStates, InboundEntry, InboundMessage, Processed, StateChange

__all__ = ["GROUP_CONFIG", "MLS_ERRORS", "GroupProcessor", "kind_of", "leaf_handle",
           "membership_change", "roster_handles"]

# max_past_epochs: an application message sent just before a commit may be processed
# after it (we may learn the commit from a 409 first); keeping two past epochs' secret
# trees lets it still decrypt, at a bounded cost to forward secrecy (§15.3).
GROUP_CONFIG = GroupConfig(max_past_epochs=2)

MLS_ERRORS = (InvalidMessageError, VerifyError, DecryptError, DecodeError, UsageError)


def kind_of(group_id: bytes, handles: tuple[str, ...]) -> ConversationKind:
    """The first byte of a group id is the kind its creator chose; a "direct" group
    with other than two accounts is shown as a group, whatever its creator said."""
    if group_id[:1] == bytes([ConversationKind.DIRECT]) and len(handles) == 2:
        return ConversationKind.DIRECT
    return ConversationKind.GROUP


def roster_handles(roster: list[Member]) -> tuple[str, ...]:
    """The accounts in a roster, sorted, each once."""
    return tuple(sorted({handle_of(m.credential.identity) for m in roster}))


def membership_change(group_id: bytes, before: list[Member], after: list[Member],
                      event: CommitApplied) -> MembershipChanged | None:
    """The account-level change a commit made, or None if nobody joined or left."""
    old = {m.leaf: handle_of(m.credential.identity) for m in before}
    new = {m.leaf: handle_of(m.credential.identity) for m in after}
    committer = old.get(event.committer) or new.get(event.committer, "?")
    # An external commit adds its committer's leaf (not listed in ``event.added``): the
    # server holds every GroupInfo, so a join this way must be reported like any add.
    added_leaves = event.added + ((event.committer,) if event.external else ())
    if not added_leaves and not event.removed:
        return None
    added = tuple(sorted(set(new.values()) - set(old.values())))
    removed = tuple(sorted(set(old.values()) - set(new.values())))
    return MembershipChanged(group_id, committer, event.epoch, added, removed,
                             len(added_leaves) - len(added), len(event.removed) - len(removed))


class GroupProcessor:
    """See the module docstring. ``handle`` and ``signature_key`` are this device's
    account handle and signature private key."""

    def __init__(self, handle: str, signature_key: bytes, policy: CredentialPolicy,
                 rng: RandomSource) -> None:
        self._handle = handle
        self._signature_key = signature_key
        self._policy = policy
        self._rng = rng

    def load(self, record: ConversationRecord) -> Group:
        return Group.from_bytes(record.mls_state, credential_validator=self._policy,
                                rng=self._rng)

    def process(self, entry: InboundEntry, states: GroupStates) -> Processed:
        try:
            envelope = Envelope.from_bytes(entry.payload)
        except DecodeError as exc:
            raise ProcessingError(f"not a group envelope: {exc}") from None
        if envelope.kind is EnvelopeKind.WELCOME:
            return self._welcome(entry, envelope, states)
        raw = states.get(envelope.group_id)
        if raw is None:
            raise ProcessingError("a message for a conversation this device is not in")
        record = ConversationRecord.from_bytes(raw)
        check = record.check(envelope.group_seq)
        if check.duplicate:
            return Processed()
        events: list[Event] = []
        if check.gap is not None:
            events.append(DeliveryGap(check.gap[0], check.gap[1], envelope.group_id))
        record = record.delivered(envelope.group_seq)
        if record.status is ConversationStatus.REMOVED:
            return self._done(envelope.group_id, record, events)
        group = self.load(record)
        before = group.roster()
        try:
            mls_events = self.process_commit(group, envelope.message, entry.created_at)
        except (EpochTooOldError, GenerationTooOldError) as exc:
            # Too late to read: its key is gone (§15.3 bounds the out-of-order window).
            events.append(Error(f"group sequence {envelope.group_seq} arrived too late to "
                                f"decrypt: its key is no longer kept ({type(exc).__name__})",
                                seq=entry.seq))
            return self._done(envelope.group_id, record, events)
        except MLS_ERRORS as exc:
            # The group state is unchanged (we reload it from the record next time).
            events.append(Error(f"rejected {envelope.kind.name.lower()} in a conversation: "
                                f"{type(exc).__name__}: {exc}", seq=entry.seq))
            return self._done(envelope.group_id, record, events)
        message: InboundMessage | None = None
        for event in mls_events:
            if isinstance(event, RemovedFromGroup):
                # Our removal says it all: no MembershipChanged for the same commit.
                events.append(RemovedFromConversation(envelope.group_id,
                                                      leaf_handle(before, event.by)))
                record = replace(record, status=ConversationStatus.REMOVED, mls_state=b"")
                return self._done(envelope.group_id, record, events)
        for event in mls_events:
            if isinstance(event, ApplicationMessage):
                message = self._message(envelope.group_id, event, entry.seq, events)
                if message is not None:
                    message = replace(message, group_seq=envelope.group_seq,
                                      late=check.late)
            elif isinstance(event, CommitApplied):
                changed = membership_change(envelope.group_id, before, group.roster(), event)
                if changed is not None:
                    events.append(changed)
            elif isinstance(event, ProposalReceived) \
                    and self._commit_is_ours(group, before, event):
                events.append(CommitDue(envelope.group_id))
        record = _with_group(record, group)
        return self._done(envelope.group_id, record, events, message)

    @staticmethod
    def process_commit(group: Group, message: bytes, now: int) -> list[MLSEvent]:
        """``group.process``, resolving a pending commit of ours: merged if this is
        it, discarded if another commit won. :raises: as Group.process."""
        try:
            return group.process(message, now=now)
        except OwnCommitError:
            # Our own commit, read back after a crash between sending and merging.
            if group.state is not GroupState.PENDING_COMMIT:
                raise
            return group.merge_pending_commit()
        except UsageError:
            if group.state is not GroupState.PENDING_COMMIT:
                raise
            # Another commit won the epoch while ours was pending (we crashed before
            # the server's answer): ours is void, the winner applies.
            group.discard_pending_commit()
            return group.process(message, now=now)

    def _message(self, group_id: bytes, event: ApplicationMessage, seq: int,
                 events: list[Event]) -> InboundMessage | None:
        try:
            content = decode_content(event.data)
        except DecodeError as exc:
            events.append(Error(f"undecodable message content: {exc}", seq=seq))
            return None
        return InboundMessage(group_id, handle_of(event.credential.identity), content)

    def _commit_is_ours(self, group: Group, roster: list[Member],
                        event: ProposalReceived) -> bool:
        """A member asked to be removed (leaving, §12.1.3: nobody commits their own
        removal): the lowest leaf of another account commits it."""
        if event.proposal_type != ProposalType.REMOVE or event.sender is None:
            return False
        proposer = leaf_handle(roster, event.sender)
        others = [m.leaf for m in roster if handle_of(m.credential.identity) != proposer]
        return bool(others) and min(others) == group.own_leaf

    def _welcome(self, entry: InboundEntry, envelope: Envelope,
                 states: GroupStates) -> Processed:
        raw = states.get(envelope.group_id)
        if raw is not None and ConversationRecord.from_bytes(raw).status \
                is ConversationStatus.ACTIVE:
            return Processed()  # a replayed Welcome: we are in already
        try:
            body = MLSMessage.from_bytes(envelope.message).body
        except DecodeError as exc:
            raise ProcessingError(f"undecodable Welcome: {exc}") from None
        if not isinstance(body, Welcome):
            raise ProcessingError("a welcome envelope without a Welcome")
        for secrets in body.secrets:
            secret = states.key_package(secrets.new_member)
            if secret is not None:
                break
        else:
            raise ProcessingError("the Welcome names none of this device's KeyPackages")
        if secret.key_package is None:
            raise ProcessingError("the KeyPackage named was made before this client kept "
                                  "KeyPackages; it cannot join")
        try:
            bundle = KeyPackageBundle(KeyPackage.from_bytes(secret.key_package),
                                      secret.init_private_key, secret.encryption_private_key)
            group = Group.join(envelope.message, bundle, self._signature_key, rng=self._rng,
                               credential_validator=self._policy, now=entry.created_at,
                               config=GROUP_CONFIG)
        except MLS_ERRORS as exc:
            raise ProcessingError(f"invalid Welcome: {type(exc).__name__}: {exc}") from None
        roster = group.roster()
        members = roster_handles(roster)
        by = self._policy.directory.handle_of_device(envelope.sender_device) or "?"
        record = ConversationRecord(kind_of(envelope.group_id, members),
                                    ConversationStatus.ACTIVE, None, entry.created_at,
                                    envelope.group_seq, frozenset(), members,
                                    group.to_bytes())
        joined = ConversationJoined(envelope.group_id, by, members,
                                    record.kind is ConversationKind.DIRECT)
        used = () if secret.last_resort else (secret.ref,)
        return Processed((StateChange(envelope.group_id, record.to_bytes()),),
                         events=(joined,), used_key_packages=used)

    @staticmethod
    def _done(group_id: bytes, record: ConversationRecord, events: list[Event],
              message: InboundMessage | None = None) -> Processed:
        return Processed((StateChange(group_id, record.to_bytes()),), message,
                         tuple(events))


def leaf_handle(roster: list[Member], leaf: int) -> str:
    for member in roster:
        if member.leaf == leaf:
            return handle_of(member.credential.identity)
    return "?"


def _with_group(record: ConversationRecord, group: Group) -> ConversationRecord:
    return replace(record, members=roster_handles(group.roster()),
                   mls_state=group.to_bytes())
