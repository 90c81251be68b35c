"""The group layer's sending side: conversations over MLS groups.

A conversation is an MLS group whose leaves are devices: a direct (1:1) conversation
holds every device of two accounts, a group conversation those of any number. The
server orders each group's commits (one per epoch wins) and fans messages out; it
never sees content or conversation names (names are local, sealed in the profile).

Every operation here runs under the client's group lock, which the receive loop also
takes around each mailbox entry, so one device never interleaves two changes of one
group's state. The shape of an operation:

1. load the conversation record, resolve a commit left pending by a crash (the
   server's commit list says whether it won), and build the MLS message;
2. store the new state *before* sending: an encrypted message has used its ratchet
   key, and a pending commit must survive a crash;
3. send; a 409 ``epoch_advanced`` means another member's commit won the epoch:
   discard ours, apply the winners the server returned, and try again (bounded).

Messages go through an outbox (the store's ``outbox`` table, sealed): written in the
transaction that spends the ratchet key, removed when the server accepts the message,
kept when it cannot be reached, and sent again, re-encrypted for the current epoch if
need be, on the next connect or send (:meth:`Conversations._deliver`).

Leaving (:meth:`Conversations.leave`): RFC 9420 §12.1.3 and §12.2 forbid committing
one's own removal, so a leaver sends Remove proposals for each of its account's leaves,
and the other account's member with the lowest leaf commits them when they arrive (the
receive loop does this: see :class:`~letterlock.client.events.CommitDue`). Until that
commit, the leaver is still a member.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from letterlock.codec import DecodeError
from letterlock.crypto import CipherSuite, RandomSource
from letterlock.mls.credentials import Credential
from letterlock.mls.group import (
    CommitApplied,
    CommitResult,
    Group,
    GroupState,
    RemovedFromGroup,
)
from letterlock.mls.key_package import KeyPackage
from letterlock.mls.key_packages import verify_key_package
from letterlock.mls.tree_validation import CredentialRejectedError

from ._records import ConversationKind, ConversationRecord, ConversationStatus
from .content import Content, ContentExtension, decode_content, encode_content
from .content import text as text_content
from .directory import CredentialPolicy, Directory, handle_of, resolving
from .errors import (
    ClientError,
    CommitRaceLost,
    ConflictError,
    ConversationError,
    KeyNotLogged,
    ServerError,
    TransportError,
    UnknownIdentity,
)
from .events import DeliveryStatus, Event, MessageDelivery, RemovedFromConversation
from .processor import (
    GROUP_CONFIG,
    MLS_ERRORS,
    GroupProcessor,
    leaf_handle,
    membership_change,
    roster_handles,
)
from .store import HistoryRow, OutboxRow, Store, Tx
from .transport import Api, ClaimProof, GroupCommit, GroupPosted

__all__ = ["Conversation", "ConversationMember", "Conversations", "HistoryEntry",
           "SentMessage"]

T = TypeVar("T")
ClaimCheck = Callable[[str, str, bytes, int, ClaimProof | None], Awaitable[None]]
Gossip = Callable[[bytes, int], tuple[ContentExtension, ...]]
MAX_COMMIT_ATTEMPTS = 5
GROUP_ID_SIZE = 32


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation as this device knows it. ``name`` is local (None: unnamed);
    ``members`` are account handles; ``active`` is False once we were removed."""

    id: bytes
    direct: bool
    name: str | None
    members: tuple[str, ...]
    active: bool
    created_at: int
    own_handle: str

    @property
    def peer(self) -> str | None:
        """A direct conversation's other account."""
        if not self.direct:
            return None
        others = [h for h in self.members if h != self.own_handle]
        return others[0] if others else None

    @property
    def title(self) -> str:
        """What to call it: the local name, the peer, or the members."""
        others = [h for h in self.members if h != self.own_handle]
        return self.name or self.peer or ", ".join(others) or self.id.hex()[:12]


@dataclass(frozen=True, slots=True)
class ConversationMember:
    """One device in a conversation: its leaf, account and (if listed) device id."""

    leaf: int
    handle: str
    device_id: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A message in the local history; ``seq`` is None for one this device sent.

    ``delivery`` (ours only; None for received messages): PENDING while it waits in
    the outbox, FAILED if it was given up, else SENT.
    """

    conversation_id: bytes
    sender: str
    content: Content
    seq: int | None
    received_at: int
    outgoing: bool
    delivery: DeliveryStatus | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What :meth:`Client.send_message` did: ``status`` SENT (the server accepted
    it) or PENDING (queued in the outbox: the server could not be reached; it is sent
    on the next connect, and a MessageDelivery event says when)."""

    conversation_id: bytes
    client_message_id: bytes
    status: DeliveryStatus


class Conversations:
    """The operations behind :class:`~letterlock.client.Client`'s conversation methods.

    ``emit`` receives events caused by commits learnt out of band (from a 409), which
    the mailbox will not show again. ``check_claim`` (key transparency) checks each
    claimed KeyPackage's log proof and raises KeyNotLogged; ``gossip`` gives the
    content extensions to add to a message in a group at an epoch.
    """

    def __init__(self, *, store: Store, api: Api, directory: Directory,
                 processor: GroupProcessor, suite: CipherSuite, handle: str,
                 device_id: str, signature_key: bytes, rng: RandomSource,
                 clock: Callable[[], float], emit: Callable[[Event], None],
                 check_claim: ClaimCheck | None = None,
                 gossip: Gossip | None = None) -> None:
        self._store = store
        self._api = api
        self._directory = directory
        self._policy = CredentialPolicy(directory)
        self._processor = processor
        self._suite = suite
        self._handle = handle
        self._device_id = device_id
        self._signer = signature_key
        self._rng = rng
        self._clock = clock
        self._emit = emit
        self._check_claim = check_claim
        self._gossip = gossip

    # reading ------------------------------------------------------------------------

    async def all(self) -> list[Conversation]:
        """Every conversation, oldest first."""
        def read(tx: Tx) -> list[tuple[bytes, bytes]]:
            found = []
            for gid in tx.group_ids():
                state = tx.group_state(gid)
                if state is not None:
                    found.append((gid, state))
            return found

        records = [(gid, ConversationRecord.from_bytes(raw))
                   for gid, raw in await self._store.transaction(read)]
        return sorted((self._view(gid, r) for gid, r in records),
                      key=lambda c: (c.created_at, c.id))

    async def get(self, conversation_id: bytes) -> Conversation:
        """:raises ConversationError: no such conversation."""
        return self._view(conversation_id, await self._record(conversation_id))

    async def find(self, ref: str) -> Conversation:
        """A conversation by local name, by a direct conversation's peer handle, or by
        a prefix (at least 8 hex digits) of its id.

        :raises ConversationError: none, or more than one, matches.
        """
        every = await self.all()
        matches = [c for c in every if c.name == ref]
        if not matches and ref.startswith("@"):
            matches = [c for c in every if c.direct and c.peer == ref and c.active]
        if not matches and len(ref) >= 8:
            matches = [c for c in every if c.id.hex().startswith(ref.lower())]
        if not matches:
            raise ConversationError(f"no conversation called {ref!r}")
        if len(matches) > 1:
            raise ConversationError(f"{ref!r} names {len(matches)} conversations; use an id")
        return matches[0]

    async def members(self, conversation: Conversation) -> list[ConversationMember]:
        """The devices in the conversation, by leaf (device ids from the directory)."""
        record = await self._record(conversation.id)
        if record.status is not ConversationStatus.ACTIVE:
            return []
        group = self._processor.load(record)
        roster = group.roster()
        handles = {handle_of(m.credential.identity) for m in roster}
        await self._directory.refresh(handles)
        self._directory.settle()
        return [ConversationMember(
            m.leaf, handle_of(m.credential.identity),
            self._directory.device_id(handle_of(m.credential.identity), m.signature_key),
            m.leaf == group.own_leaf) for m in roster]

    async def epoch_authenticator(self, conversation: Conversation) -> tuple[int, bytes]:
        """The group's current epoch and its epoch authenticator (RFC 9420 §8.7)."""
        _record, group = await self._load_active(conversation.id)
        return group.epoch, group.epoch_authenticator

    async def history(self, conversation: Conversation, limit: int = 100) -> list[HistoryEntry]:
        """The latest ``limit`` messages, oldest first."""
        def read(tx: Tx) -> tuple[list[HistoryRow], list[OutboxRow]]:
            return (tx.history(conversation.id, limit),
                    tx.outbox(conversation.id, failed=None))

        rows, queued = await self._store.transaction(read)
        states = {q.client_message_id: DeliveryStatus.FAILED if q.failed is not None
                  else DeliveryStatus.PENDING for q in queued}
        out = []
        for row in rows:
            try:
                content = decode_content(row.content)
            except DecodeError:
                continue  # written by a newer client version; nothing to show here
            outgoing = row.seq is None
            delivery = states.get(row.client_message_id, DeliveryStatus.SENT) \
                if outgoing else None
            out.append(HistoryEntry(row.conversation_id, row.sender, content, row.seq,
                                    row.received_at, outgoing, delivery))
        return out

    # creating -----------------------------------------------------------------------

    async def start(self, handle: str) -> Conversation:
        """The direct conversation with ``handle``: the existing one, or a new one."""
        if handle == self._handle:
            raise ConversationError("a direct conversation needs another account")
        for existing in await self.all():
            if existing.direct and existing.active and existing.peer == handle:
                return existing
        return await self._create(ConversationKind.DIRECT, None, [handle])

    async def create_group(self, name: str | None, handles: Iterable[str]) -> Conversation:
        """A new group conversation of us and ``handles`` (all their devices)."""
        others = sorted({h for h in handles if h != self._handle})
        return await self._create(ConversationKind.GROUP, name, others)

    async def _create(self, kind: ConversationKind, name: str | None,
                      handles: list[str]) -> Conversation:
        await self._resolving(lambda: self._directory.refresh([self._handle, *handles]))
        group_id = bytes([kind]) + self._rng.random_bytes(GROUP_ID_SIZE - 1)
        # Claim first: a handle with no devices fails before anything is created.
        key_packages = await self._resolving(lambda: self._claim(handles, own=True))
        group = Group.create(self._suite, group_id=group_id, signer=self._signer,
                             credential=Credential.basic(self._handle.encode()),
                             rng=self._rng, credential_validator=self._policy,
                             now=self._now(), config=GROUP_CONFIG)
        await self._api.create_group(group.group_info(ratchet_tree_ext=True))
        record = ConversationRecord(kind, ConversationStatus.ACTIVE, name, self._now(), 0,
                                    members=(self._handle,), mls_state=group.to_bytes())
        await self._save(group_id, record)
        if key_packages:
            await self._commit(group_id, add=key_packages)
        return await self.get(group_id)

    async def rename(self, conversation: Conversation, name: str | None) -> Conversation:
        """Set the local name (never sent anywhere)."""
        record = await self._record(conversation.id)
        await self._save(conversation.id, replace(record, name=name))
        return await self.get(conversation.id)

    # membership ---------------------------------------------------------------------

    async def add(self, conversation: Conversation, handles: Iterable[str]) -> None:
        """Add every device of ``handles`` (accounts already in are left out)."""
        present = set((await self.get(conversation.id)).members)
        wanted = sorted({h for h in handles if h not in present})
        if not wanted:
            raise ConversationError("everyone named is in the conversation already")
        await self._resolving(lambda: self._directory.refresh(wanted))
        key_packages = await self._resolving(lambda: self._claim(wanted, own=False))
        await self._commit(conversation.id, add=key_packages)

    async def remove(self, conversation: Conversation, handles: Iterable[str]) -> None:
        """Remove every device of ``handles``. Use :meth:`leave` for ourselves."""
        gone = set(handles)
        if self._handle in gone:
            raise ConversationError("to remove yourself, leave the conversation")
        if not gone & set((await self.get(conversation.id)).members):
            raise ConversationError("nobody named is in the conversation")
        await self._commit(conversation.id, remove_handles=gone)

    async def commit_proposals(self, conversation_id: bytes) -> None:
        """Commit the proposals waiting in the group (members' requests to leave)."""
        await self._commit(conversation_id)

    async def leave(self, conversation: Conversation) -> None:
        """Ask the others to remove all of this account's devices (see the module
        docstring). With nobody else left in it, the conversation is just closed."""
        for _attempt in range(MAX_COMMIT_ATTEMPTS):
            record, group = await self._load_active(conversation.id)
            mine = [m.leaf for m in group.roster()
                    if handle_of(m.credential.identity) == self._handle]
            if len(set(record.members)) <= 1:
                await self._save(conversation.id, replace(
                    record, status=ConversationStatus.REMOVED, mls_state=b""))
                return
            proposals = [group.propose_remove(leaf) for leaf in mine]
            await self._save(conversation.id, _with_group(record, group))
            try:
                for proposal in proposals:
                    posted = await self._api.post_group_message(
                        conversation.id, self._rng.random_bytes(16).hex(), proposal)
                    await self._seen(conversation.id, posted.seq)
                return
            except ConflictError as exc:
                if exc.code != "epoch_advanced":
                    raise
                await self._catch_up(conversation.id, _commits(exc))
        raise CommitRaceLost("the group kept changing; try leaving again")

    # messages -----------------------------------------------------------------------

    async def send_text(self, conversation: Conversation, message: str) -> SentMessage:
        """Encrypt and send ``message`` through the outbox (see :meth:`_deliver`). The
        message is in our history before it leaves (the server does not echo it back).

        :raises ConversationError: we are not in the conversation; :raises ServerError:
            the server refused the message for good (it is marked failed, not retried).
        """
        content = text_content(message, rng=self._rng, sent_at_ms=int(self._clock() * 1000))
        gid = conversation.id
        record, group = await self._load_active(gid)
        if self._gossip is not None:
            content = replace(content, extensions=self._gossip(gid, group.epoch))
        encoded = encode_content(content)
        ciphertext = group.encrypt(encoded)
        now = self._now()
        row = HistoryRow(gid, self._handle, content.client_message_id, None,
                         content.sent_at_ms, now, encoded)
        item = OutboxRow(gid, content.client_message_id, now, group.epoch, encoded,
                         ciphertext)
        updated = _with_group(record, group)

        def keep(tx: Tx) -> None:
            # One transaction: the ratchet key is used up exactly when the message is in
            # our history and in the outbox, so a crash or a dead server loses nothing.
            tx.put_group_state(gid, updated.to_bytes(), now)
            tx.add_message(row)
            tx.add_outbox(item)

        await self._store.transaction(keep)
        status = await self._deliver(item)
        if status is DeliveryStatus.PENDING:
            self._emit(MessageDelivery(gid, item.client_message_id, DeliveryStatus.PENDING,
                                       "the server could not be reached; queued"))
        return SentMessage(gid, item.client_message_id, status)

    async def pending(self, conversation: Conversation | None = None) -> list[OutboxRow]:
        """Queued sends, oldest first (of one conversation, or all)."""
        gid = conversation.id if conversation is not None else None
        return await self._store.transaction(lambda tx: tx.outbox(gid))

    async def flush_one(self) -> tuple[OutboxRow, DeliveryStatus] | None:
        """Try to send the oldest queued message; None if the outbox is empty. Emits
        MessageDelivery when it was sent (SENT) or given up (FAILED)."""
        queued = await self._store.transaction(lambda tx: tx.outbox())
        if not queued:
            return None
        item = queued[0]
        try:
            status = await self._deliver(item)
        except ClientError as exc:  # refused for good: _deliver marked it failed
            self._emit(MessageDelivery(item.conversation_id, item.client_message_id,
                                       DeliveryStatus.FAILED, str(exc)))
            return item, DeliveryStatus.FAILED
        if status is DeliveryStatus.SENT:
            self._emit(MessageDelivery(item.conversation_id, item.client_message_id,
                                       DeliveryStatus.SENT))
        return item, status

    async def _deliver(self, item: OutboxRow) -> DeliveryStatus:
        """Send a queued message until the server accepts it (then it leaves the
        outbox), refuses it for good (FAILED: marked so, never retried), or cannot be
        reached (PENDING: it stays queued for the next connect).

        Every attempt uses the same client message id, the Content's own: the server
        accepts one send per (device, id) and answers a repeat as a duplicate, so a
        send whose answer was lost is delivered once. If the group moved to a later
        epoch (the server answers 409 ``epoch_advanced``, or we learnt the commits
        meanwhile), the sealed plaintext is encrypted again for the current epoch,
        under that same id. The server refuses a message for a past epoch whole (its
        id is not used up), so the new ciphertext is delivered; and if the old one was
        accepted after all (its answer lost), the new one is answered as a duplicate:
        either way the message goes out once. Recipients' histories also drop a repeat
        of (sender, client message id).
        """
        gid, wire_id = item.conversation_id, item.client_message_id.hex()
        try:
            for _attempt in range(MAX_COMMIT_ATTEMPTS):
                item = await self._current(item)
                try:
                    posted = await self._retrying(
                        partial(self._api.post_group_message, gid, wire_id, item.ciphertext))
                except ConflictError as exc:
                    if exc.code != "epoch_advanced":
                        raise
                    await self._catch_up(gid, _commits(exc))
                    continue
                await self._sent(item, None if posted.duplicate else posted.seq)
                return DeliveryStatus.SENT
            return DeliveryStatus.PENDING  # the group kept changing: try again later
        except ServerError as exc:
            if exc.status >= 500 or exc.status == 429:
                return DeliveryStatus.PENDING  # the server is unwell or busy: later
            await self._fail(item, f"the server refused it: {exc.code}: {exc.detail}")
            raise
        except TransportError:
            return DeliveryStatus.PENDING
        except ClientError as exc:  # e.g. ConversationError: we were removed
            await self._fail(item, str(exc))
            raise

    async def _current(self, item: OutboxRow) -> OutboxRow:
        """``item`` with a ciphertext for the group's current epoch (encrypting the
        sealed content again if the epoch moved on since it was made).

        :raises ConversationError: we are no longer in the conversation.
        """
        gid = item.conversation_id
        record, group = await self._load_active(gid)
        if group.epoch == item.epoch:
            return item
        fresh = replace(item, epoch=group.epoch, ciphertext=group.encrypt(item.content))
        updated = _with_group(record, group)
        now = self._now()

        def keep(tx: Tx) -> None:
            tx.put_group_state(gid, updated.to_bytes(), now)
            tx.update_outbox(fresh)

        await self._store.transaction(keep)
        return fresh

    async def _sent(self, item: OutboxRow, seq: int | None) -> None:
        """Out of the outbox, and its group sequence accounted for, in one commit."""
        gid, now = item.conversation_id, self._now()

        def done(tx: Tx) -> None:
            tx.delete_outbox(item.client_message_id)
            raw = tx.group_state(gid)
            if seq is None or raw is None:
                return
            record = ConversationRecord.from_bytes(raw)
            tx.put_group_state(gid, _seen_record(record, seq).to_bytes(), now)

        await self._store.transaction(done)

    async def _fail(self, item: OutboxRow, reason: str) -> None:
        await self._store.transaction(lambda tx: tx.update_outbox(replace(item,
                                                                          failed=reason)))

    # internals ------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _view(self, group_id: bytes, record: ConversationRecord) -> Conversation:
        return Conversation(group_id, record.kind is ConversationKind.DIRECT, record.name,
                            record.members, record.status is ConversationStatus.ACTIVE,
                            record.created_at, self._handle)

    async def _record(self, group_id: bytes) -> ConversationRecord:
        raw = await self._store.transaction(lambda tx: tx.group_state(group_id))
        if raw is None:
            raise ConversationError("no such conversation on this device")
        return ConversationRecord.from_bytes(raw)

    async def _save(self, group_id: bytes, record: ConversationRecord) -> None:
        now = self._now()
        await self._store.transaction(
            lambda tx: tx.put_group_state(group_id, record.to_bytes(), now))

    async def _seen(self, group_id: bytes, seq: int) -> None:
        await self._save(group_id, _seen_record(await self._record(group_id), seq))

    async def _load_active(self, group_id: bytes) -> tuple[ConversationRecord, Group]:
        """The record and group, with a commit left pending by a crash resolved."""
        record = await self._record(group_id)
        if record.status is not ConversationStatus.ACTIVE:
            raise ConversationError("this device is no longer in the conversation")
        group = self._processor.load(record)
        if group.state is GroupState.PENDING_COMMIT:
            await self._catch_up(group_id, await self._api.group_commits(group_id,
                                                                         group.epoch))
            record = await self._record(group_id)
            group = self._processor.load(record)
            if group.state is GroupState.PENDING_COMMIT:  # the server never took it
                group.discard_pending_commit()
                record = _with_group(record, group)
                await self._save(group_id, record)
        return record, group

    async def _resolving(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run ``step``, looking up handles it does not know and retrying."""
        try:
            return await resolving(self._directory, step)
        finally:
            self._directory.settle()

    async def _retrying(self, send: Callable[[], Awaitable[T]]) -> T:
        """Send, retrying the same request on a lost connection (the server drops
        repeats by client_msg_id)."""
        for _attempt in range(2):
            try:
                return await send()
            except ServerError:
                raise  # an answer, not a lost connection
            except TransportError:
                continue
        return await send()

    async def _claim(self, handles: list[str], *, own: bool) -> list[KeyPackage]:
        """One verified KeyPackage per device of each handle (and, with ``own``, of our
        account's other devices). A handle without devices is an error."""
        claimed: list[KeyPackage] = []
        wanted = list(handles)
        # The directory's listings were refreshed by the caller (from the log, with key
        # transparency): our other devices are the ones it proves.
        if own and any(d != self._device_id for d in self._directory.device_ids(self._handle)):
            wanted.append(self._handle)
        for handle in wanted:
            packages = [c for c in await self._api.claim_key_packages(handle)
                        if c.device_id != self._device_id]
            if not packages and handle != self._handle:
                raise ConversationError(f"{handle} has no devices to add")
            for c in packages:
                try:
                    kp = KeyPackage.from_bytes(c.key_package)
                    verify_key_package(self._suite, kp, now=self._now())
                except Exception as exc:  # any defect: refuse this KeyPackage
                    raise ConversationError(
                        f"{handle}'s KeyPackage is invalid: {type(exc).__name__}") from None
                leaf = kp.leaf_node
                if handle_of(leaf.credential.identity) != handle:
                    raise ConversationError(f"a KeyPackage for {handle} names another "
                                            "account")
                if self._check_claim is not None:
                    await self._check_claim(handle, c.device_id, leaf.signature_key,
                                            kp.cipher_suite, c.transparency)
                try:
                    self._policy.check_device(handle, leaf.signature_key)
                except CredentialRejectedError:
                    if self._check_claim is None:
                        raise
                    raise KeyNotLogged(handle, c.device_id, "not among the account's "
                                       "devices in the log") from None
                if self._directory.device_id(handle, leaf.signature_key) != c.device_id:
                    raise ConversationError(f"a KeyPackage for {handle} has another "
                                            "device's key")
                claimed.append(kp)
        return claimed

    async def _commit(self, group_id: bytes, *, add: list[KeyPackage] | None = None,
                      remove_handles: set[str] | None = None) -> None:
        """Commit adds, removals of accounts, and cached proposals; on a lost race,
        catch up and try again."""
        for _attempt in range(MAX_COMMIT_ATTEMPTS):
            record, group = await self._load_active(group_id)
            leaves = [m.leaf for m in group.roster()
                      if handle_of(m.credential.identity) in (remove_handles or set())]
            if not add and not leaves and not group.pending_proposals:
                return  # nothing (left) to do: e.g. another member committed it
            before = group.roster()
            try:
                result = group.commit(add=add or (), remove=leaves, now=self._now())
            except UnknownIdentity as miss:
                await self._directory.refresh(miss.handles)
                continue
            # The pending commit is stored before it is sent: after a crash, the
            # server's commit list tells whether it won (see _load_active).
            await self._save(group_id, _with_group(record, group))
            try:
                posted = await self._post_commit(group_id, result)
            except ConflictError as exc:
                if exc.code != "epoch_advanced":
                    raise
                group.discard_pending_commit()
                await self._save(group_id, _with_group(record, group))
                await self._catch_up(group_id, _commits(exc))
                continue
            merged = group.merge_pending_commit()
            record = await self._record(group_id)
            await self._save(group_id, _with_group(record, group))
            await self._seen(group_id, posted.seq)
            for event in merged:
                if isinstance(event, CommitApplied):
                    changed = membership_change(group_id, before, group.roster(), event)
                    if changed is not None:
                        self._emit(changed)
            return
        raise CommitRaceLost("other members' commits won the epoch every time")

    async def _post_commit(self, group_id: bytes, result: CommitResult) -> GroupPosted:
        msg_id = self._rng.random_bytes(16).hex()
        return await self._retrying(lambda: self._api.post_commit(
            group_id, msg_id, result.commit_message, result.welcome))

    async def _catch_up(self, group_id: bytes, commits: list[GroupCommit]) -> None:
        """Apply commits the server accepted (from a 409 or the commit list) in order;
        the mailbox delivers them again later, and they are then recognised as seen."""
        for commit in commits:
            await self._resolving(partial(self._apply_commit, group_id, commit))

    async def _apply_commit(self, group_id: bytes, commit: GroupCommit) -> None:
        record = await self._record(group_id)
        if record.status is not ConversationStatus.ACTIVE or record.check(commit.seq).duplicate:
            return
        group = self._processor.load(record)
        if commit.epoch < group.epoch:  # applied already (our own, merged)
            await self._save(group_id, record.seen(commit.seq))
            return
        before = group.roster()
        try:
            events = GroupProcessor.process_commit(group, commit.message, self._now())
        except MLS_ERRORS as exc:
            # The server's PublicGroup accepted it: our state and the server's disagree.
            raise ConversationError(f"cannot apply the group's commit at epoch "
                                    f"{commit.epoch}: {type(exc).__name__}: {exc}") from None
        for event in events:
            if isinstance(event, RemovedFromGroup):
                await self._save(group_id, replace(
                    record.seen(commit.seq), status=ConversationStatus.REMOVED,
                    mls_state=b""))
                self._emit(RemovedFromConversation(group_id,
                                                   leaf_handle(before, event.by)))
                return
        await self._save(group_id, _with_group(record.seen(commit.seq), group))
        for event in events:
            if isinstance(event, CommitApplied):
                changed = membership_change(group_id, before, group.roster(), event)
                if changed is not None:
                    self._emit(changed)


def _with_group(record: ConversationRecord, group: Group) -> ConversationRecord:
    return replace(record, members=roster_handles(group.roster()),
                   mls_state=group.to_bytes())


def _seen_record(record: ConversationRecord, seq: int) -> ConversationRecord:
    """``record`` with our own (or an out-of-band) group sequence ``seq`` handled."""
    if record.last_seq == 0 and not record.ahead:
        # The creator's first sequence: nothing before it was meant for us.
        record = replace(record, last_seq=seq)
    return record.seen(seq)


def _commits(exc: ConflictError) -> list[GroupCommit]:
    return [GroupCommit.from_json(c) for c in exc.body.get("commits", [])]

