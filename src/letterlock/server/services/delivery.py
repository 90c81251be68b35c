"""Group delivery: the MLS delivery service (RFC 9420 §14, §16.10).

The server orders each group's handshake messages and fans every message out to the
member devices' mailboxes, wrapped in an :class:`~letterlock.protocol.envelope.Envelope`
carrying the group's server sequence number. It never holds a group secret: it follows
each group through :class:`~letterlock.mls.group.PublicGroup`, a secret-free view that
checks signatures, epochs, membership and the proposal and tree rules of PublicMessages.

- **Creating a group**: a member registers the group from its GroupInfo. Every leaf must
  be a registered device whose basic credential names that device's handle, so the
  server always knows which device sits at which leaf.
- **Commits** (PublicMessages only): at most one per epoch. The group row moves from
  epoch ``n`` to ``n + 1`` by compare-and-set, so of two commits racing for an epoch
  exactly one wins; the loser is told :class:`EpochAdvanced` with the commits it needs to
  catch up. The committer must be the authenticated device (or, for an external commit,
  the device joining). The commit goes to every device of the group before it (a removed
  member learns it was removed), the Welcome to the new members' devices.
- **Application messages and proposals**: accepted only from a device that is a member,
  for the current epoch; a PrivateMessage is never decrypted, only its clear header is
  checked (group id, epoch).

Every send carries the sender's client message id: a retry with the same id is
acknowledged as a duplicate and delivered once.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from letterlock.codec import DecodeError
from letterlock.crypto import CryptoError
from letterlock.mls.constants import ContentType, CredentialType, SenderType
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import MLSError
from letterlock.mls.framing import PublicMessage
from letterlock.mls.group import PublicGroup
from letterlock.mls.leaf_node import LeafNode
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.private_message import PrivateMessage
from letterlock.protocol.envelope import Envelope, EnvelopeKind
from letterlock.server.bus import Bus
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, AsyncConnection, Connection, IntegrityError, Store
from letterlock.server.store import accounts as account_db
from letterlock.server.store import groups as db
from letterlock.server.store import mailbox as mailbox_db
from letterlock.server.store.fanout import FanOut, Verdict, fan_out_many
from letterlock.server.store.groups import AcceptedCommit
from letterlock.server.store.rows import DeviceRow, MailboxEntry

from .errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["Accepted", "DeliveryService", "EpochAdvanced", "GroupCreated", "GroupView"]

log = logging.getLogger("letterlock.server.delivery")
MEMBER_CACHE_LIMIT = 10_000


class EpochAdvanced(Conflict):
    """The message was for an epoch the group has left: another commit won it.

    ``commits`` are the accepted commits from the message's epoch on, in order: what the
    sender must process before trying again.
    """

    code = "epoch_advanced"

    def __init__(self, message: str, current_epoch: int,
                 commits: Sequence[AcceptedCommit] = ()) -> None:
        super().__init__(message)
        self.current_epoch = current_epoch
        self.commits = list(commits)

    def extra(self) -> dict[str, object]:
        return {"current_epoch": self.current_epoch,
                "commits": [{"epoch": c.epoch, "seq": c.seq,
                             "message": base64.b64encode(c.message).decode()}
                            for c in self.commits]}


@dataclass(frozen=True, slots=True)
class GroupCreated:
    group_id: bytes
    epoch: int


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted send: the group's sequence number and epoch after it."""

    seq: int
    epoch: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class GroupView:
    group_id: bytes
    epoch: int
    members: list[tuple[int, str, str]]  # (leaf, device id, handle)


class _Retry(Exception):
    """Internal: the compare-and-set lost; roll back and report EpochAdvanced."""


def _accept_any(leaf: LeafNode, previous: LeafNode | None) -> None:
    """The MLS-level credential hook: accepts. The server's own credential rule (the leaf
    key is a device of the handle its credential names) needs the database, so it runs
    after the MLS checks, in ``_check_members``."""
    del leaf, previous


def _mls_message(data: bytes) -> MLSMessage:
    try:
        return MLSMessage.from_bytes(data)
    except DecodeError as exc:
        raise InvalidInput(f"not an MLS message: {exc.reason}", "bad_mls") from None


def _existing(conn: Connection, group_id: bytes) -> db.GroupRow:
    row = db.get(conn, group_id)
    if row is None:
        raise NotFound("no such group", "no_group")
    return row


def _load(state: bytes) -> PublicGroup:
    return PublicGroup.from_bytes(state, credential_validator=_accept_any)


def _invalid(exc: Exception) -> InvalidInput:
    # MLS rule violations carry the RFC section; crypto failures stay opaque.
    if isinstance(exc, CryptoError):
        return InvalidInput("signature or key check failed", "bad_mls")
    return InvalidInput(f"rejected by MLS checks: {exc}", "bad_mls")


class DeliveryService:
    def __init__(self, store: Store, settings: Settings, bus: Bus) -> None:
        self._store = store
        self._settings = settings
        self._bus = bus
        self._members: dict[bytes, tuple[int, frozenset[str]]] = {}
        # One object, so that the store merges every queued send into one call.
        self._fan_out_many = functools.partial(fan_out_many, members_at=self._member_devices)

    # ---- groups ------------------------------------------------------------------------

    async def create_group(self, device: DeviceRow, group_info: bytes,
                           ratchet_tree: bytes | None, now: int) -> GroupCreated:
        """Start delivering for a new group described by a member's GroupInfo."""
        try:
            view = PublicGroup.from_group_info(group_info, ratchet_tree=ratchet_tree,
                                               credential_validator=_accept_any, now=now)
        except (MLSError, CryptoError, DecodeError) as exc:
            raise _invalid(exc) from None
        roster = view.roster()
        async with self._store.transaction() as conn:
            devices = await self._check_members(
                conn, [(m.leaf, m.signature_key, m.credential) for m in roster])
            if device.id not in devices.values():
                raise Forbidden("the creating device must be a member", "not_a_member")
            created = await db.create(conn, view.group_id, view.group_context.cipher_suite,
                                      view.epoch, view.to_bytes(), devices.items(), now)
        if not created:
            raise Conflict("a group with this id exists", "group_exists")
        log.info("group created", extra={"epoch": view.epoch, "members": len(roster)})
        return GroupCreated(view.group_id, view.epoch)

    async def view(self, device: DeviceRow, group_id: bytes) -> GroupView:
        async with self._store.transaction(READ_ONLY) as conn:
            row = await self._member_row(conn, group_id, device)
            members = await conn.run_sync(db.members, group_id)
            handles = {d: r.handle for _, d in members
                       if (r := await account_db.device(conn, d)) is not None}
        return GroupView(group_id, row.epoch,
                         [(leaf, d, handles.get(d, "")) for leaf, d in members])

    async def commits_since(self, device: DeviceRow, group_id: bytes,
                            epoch: int) -> list[AcceptedCommit]:
        async with self._store.transaction(READ_ONLY) as conn:
            await self._member_row(conn, group_id, device)
            return await db.commits_since(conn, group_id, epoch)

    # ---- commits -----------------------------------------------------------------------

    async def commit(self, device: DeviceRow, group_id: bytes, client_msg_id: str,
                     commit: bytes, welcome: bytes | None, now: int) -> Accepted:
        """Accept a commit for the group's current epoch, or raise EpochAdvanced."""
        message = _mls_message(commit).body
        if not isinstance(message, PublicMessage) \
                or message.content.content_type != ContentType.COMMIT:
            raise InvalidInput("a commit travels as a PublicMessage", "bad_mls")
        if message.content.group_id != group_id:
            raise InvalidInput("the commit is for another group", "wrong_group")
        try:
            async with self._store.transaction() as conn:
                if not await conn.run_sync(mailbox_db.record_send, device.id, client_msg_id,
                                           now):
                    row = await self._row(conn, group_id)
                    return Accepted(0, row.epoch, duplicate=True)
                accepted, woken = await self._apply_commit(conn, device, group_id, message,
                                                           commit, welcome, now)
        except IntegrityError:
            async with self._store.transaction() as conn:
                row = await self._row(conn, group_id)
            return Accepted(0, row.epoch, duplicate=True)
        except _Retry:
            raise await self._advanced(group_id, message.content.epoch) from None
        await self._wake(woken)
        return accepted

    async def _apply_commit(self, conn: AsyncConnection, device: DeviceRow, group_id: bytes,
                            message: PublicMessage, commit: bytes, welcome: bytes | None,
                            now: int) -> tuple[Accepted, list[str]]:
        row = await self._row(conn, group_id)
        if message.content.epoch != row.epoch:
            raise _Retry
        view = _load(row.state)
        before = {m.leaf: m.signature_key for m in view.roster()}
        sender = message.content.sender
        if sender.sender_type == SenderType.MEMBER:
            if before.get(sender.leaf_index or 0) != device.signature_key \
                    or sender.leaf_index is None:
                raise Forbidden("the committer's leaf is not this device", "not_a_member")
        elif sender.sender_type != SenderType.NEW_MEMBER_COMMIT:
            raise InvalidInput("commits come from members or joiners", "bad_mls")
        old_devices = await conn.run_sync(db.members, group_id)
        try:
            view.process(commit, now=now)
        except (MLSError, CryptoError, DecodeError) as exc:
            raise _invalid(exc) from None
        after = {m.leaf: m for m in view.roster()}
        removed = [leaf for leaf, key in before.items()
                   if leaf not in after or after[leaf].signature_key != key]
        added_leaves = [(leaf, m.signature_key, m.credential) for leaf, m in after.items()
                        if before.get(leaf) != m.signature_key]
        added = await self._check_members(conn, added_leaves)
        if sender.sender_type == SenderType.NEW_MEMBER_COMMIT \
                and device.id not in added.values():
            raise Forbidden("an external commit must add the joining device", "not_a_member")
        new_members = [d for d in added.values() if d != device.id]
        if new_members and welcome is None:
            raise InvalidInput("a commit adding members needs their Welcome", "no_welcome")
        seq = await db.advance(conn, group_id, row.epoch, view.to_bytes(), commit, now,
                               added=added.items(), removed=removed)
        if seq is None:
            raise _Retry
        recipients = sorted({d for _, d in old_devices} - {device.id})
        envelope = Envelope(EnvelopeKind.COMMIT, group_id, seq, device.id, commit).to_bytes()
        await self._append(conn, recipients, envelope, device.id, now)
        if welcome is not None and new_members:
            joining = Envelope(EnvelopeKind.WELCOME, group_id, seq, device.id,
                               welcome).to_bytes()
            await self._append(conn, sorted(set(new_members)), joining, device.id, now)
        return Accepted(seq, row.epoch + 1), [*recipients, *new_members]

    # ---- application messages and proposals --------------------------------------------

    async def send(self, device: DeviceRow, group_id: bytes, client_msg_id: str,
                   data: bytes, now: int) -> Accepted:
        """Fan out an application message or proposal from a member device."""
        body = _mls_message(data).body
        if isinstance(body, PrivateMessage):
            kind = (EnvelopeKind.APPLICATION if body.content_type == ContentType.APPLICATION
                    else EnvelopeKind.PROPOSAL)
            if body.content_type == ContentType.COMMIT:
                raise InvalidInput("commits go to the commit endpoint", "bad_mls")
            epoch, msg_group = body.epoch, body.group_id
        elif isinstance(body, PublicMessage) and \
                body.content.content_type == ContentType.PROPOSAL:
            kind, epoch, msg_group = EnvelopeKind.PROPOSAL, body.content.epoch, \
                body.content.group_id
        else:
            raise InvalidInput("expected a PrivateMessage or a PublicMessage proposal",
                               "bad_mls")
        if msg_group != group_id:
            raise InvalidInput("the message is for another group", "wrong_group")

        if isinstance(body, PrivateMessage):
            return await self._send_private(device, group_id, client_msg_id, kind, epoch,
                                            data, now)

        def proposal(conn: Connection) -> tuple[Accepted, list[tuple[str, MailboxEntry]]]:
            # Runs in a Store.write batch (possibly on the store's writer thread): only conn.
            if not mailbox_db.record_send(conn, device.id, client_msg_id, now):
                return Accepted(0, _existing(conn, group_id).epoch, duplicate=True), []
            row = _existing(conn, group_id)
            seq, current = db.next_seq(conn, group_id), row.epoch
            devices = self._member_devices(conn, group_id, current)
            if device.id not in devices:
                raise Forbidden("this device is not a member of the group", "not_a_member")
            if epoch != current:
                raise _Retry
            # The server caches proposals so it can check the commit that refers to them
            # (§12.4.2).
            view = _load(row.state)
            try:
                view.process(data, now=now)
            except (MLSError, CryptoError, DecodeError) as exc:
                raise _invalid(exc) from None
            db.save_state(conn, group_id, view.to_bytes(), now)
            assert seq is not None  # the row exists: we just read it
            recipients = sorted(devices - {device.id})
            envelope = Envelope(kind, group_id, seq, device.id, data).to_bytes()
            seqs = mailbox_db.append_many(conn, recipients, device.id, envelope, now)
            return Accepted(seq, current), [(d, MailboxEntry(s, device.id, envelope, now))
                                            for d, s in seqs.items()]

        try:
            accepted, entries = await self._store.write(proposal)
        except IntegrityError:
            return Accepted(0, epoch, duplicate=True)
        except _Retry:
            raise await self._advanced(group_id, epoch) from None
        await self._publish(entries)
        return accepted

    async def _send_private(self, device: DeviceRow, group_id: bytes, client_msg_id: str,
                            kind: EnvelopeKind, epoch: int, data: bytes,
                            now: int) -> Accepted:
        """A PrivateMessage: merged with the others being sent (see store.fanout)."""
        def payload(seq: int) -> bytes:
            return Envelope(kind, group_id, seq, device.id, data).to_bytes()

        # A retry racing its original on another node is a DUPLICATE verdict: the record
        # insert skips an existing id instead of failing.
        result = await self._store.write_many(
            self._fan_out_many, FanOut(device.id, client_msg_id, group_id, epoch, payload, now))
        if result.verdict is Verdict.DUPLICATE:
            return Accepted(0, result.epoch, duplicate=True)
        if result.verdict is Verdict.NO_GROUP:
            raise NotFound("no such group", "no_group")
        if result.verdict is Verdict.NOT_MEMBER:
            raise Forbidden("this device is not a member of the group", "not_a_member")
        if result.verdict is Verdict.STALE_EPOCH:
            raise await self._advanced(group_id, epoch)
        await self._publish(result.entries)
        return Accepted(result.seq, result.epoch)

    async def _publish(self, entries: Sequence[tuple[str, MailboxEntry]]) -> None:
        for device_id, entry in entries:
            # The entry itself rides along as a hint: a local WebSocket pushes it without
            # reading it back (the bus module explains why that is safe).
            await self._bus.publish(device_id, entry)

    # ---- helpers -----------------------------------------------------------------------

    def _member_devices(self, conn: Connection, group_id: bytes,
                        epoch: int) -> frozenset[str]:
        """The group's member devices at ``epoch`` (its current one, just read in this
        transaction). Membership changes only by a commit, which moves the epoch, so the
        list is remembered per (group, epoch); a device removed from the server meanwhile
        may linger in it, but it can no longer authenticate, and fan-out skips devices
        that no longer exist. Called only from ``send``'s batched work, and the store runs
        one batch at a time, so the cache has one user at a time."""
        cached = self._members.get(group_id)
        if cached is not None and cached[0] == epoch:
            return cached[1]
        devices = frozenset(d for _, d in db.members(conn, group_id))
        if len(self._members) >= MEMBER_CACHE_LIMIT:
            self._members.clear()
        self._members[group_id] = (epoch, devices)
        return devices

    @staticmethod
    async def _row(conn: AsyncConnection, group_id: bytes) -> db.GroupRow:
        return await conn.run_sync(_existing, group_id)

    async def _member_row(self, conn: AsyncConnection, group_id: bytes,
                          device: DeviceRow) -> db.GroupRow:
        row = await self._row(conn, group_id)
        if not await db.leaves_of_device(conn, group_id, device.id):
            raise Forbidden("this device is not a member of the group", "not_a_member")
        return row

    async def _advanced(self, group_id: bytes, epoch: int) -> EpochAdvanced:
        async with self._store.transaction() as conn:
            row = await self._row(conn, group_id)
            commits = await db.commits_since(conn, group_id, epoch)
        return EpochAdvanced(f"the group is at epoch {row.epoch}, not {epoch}", row.epoch,
                             commits)

    @staticmethod
    async def _check_members(conn: AsyncConnection,
                             leaves: Sequence[tuple[int, bytes, Credential]]) -> dict[int, str]:
        """Map leaves to registered devices; every leaf's key must be a device's and its
        basic credential must name that device's handle. Returns ``{leaf: device id}``."""
        found = await account_db.devices_by_key(conn, [key for _, key, _ in leaves])
        devices: dict[int, str] = {}
        for leaf, key, credential in leaves:
            row = found.get(key)
            if row is None:
                raise InvalidInput(f"leaf {leaf} is not a registered device", "unknown_member")
            if credential.credential_type != CredentialType.BASIC \
                    or credential.identity != row.handle.encode():
                raise InvalidInput(f"leaf {leaf}'s credential does not name its account",
                                   "bad_credential")
            devices[leaf] = row.id
        return devices

    @staticmethod
    async def _append(conn: AsyncConnection, recipients: Sequence[str], payload: bytes,
                      sender: str, now: int) -> None:
        await conn.run_sync(mailbox_db.append_many, recipients, sender, payload, now)

    async def _wake(self, devices: Sequence[str]) -> None:
        for device_id in devices:
            await self._bus.publish(device_id)

