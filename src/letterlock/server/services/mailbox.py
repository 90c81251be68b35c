"""Mailboxes: one durable queue per device, drained by acknowledgement.

- :meth:`MailboxService.enqueue` (internal; group delivery will call it) appends one
  envelope per recipient device, each with that device's next sequence number, and wakes
  the recipients through the bus after the transaction commits.
- :meth:`MailboxService.send` is a device's direct send to devices (a Welcome, say): the
  same, made idempotent by the sender's client message id.
- :meth:`MailboxService.fetch` returns entries after a sequence and reports a gap when
  retention deleted entries the device never acknowledged.
- :meth:`MailboxService.acknowledge` deletes entries up to a sequence.

Time is always passed in as ``now`` (Unix seconds), so tests control retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from letterlock.server.bus import Bus
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, RELAXED, Connection, IntegrityError, Store
from letterlock.server.store import mailbox as db
from letterlock.server.store.rows import MailboxEntry

from .errors import InvalidInput, NotFound

__all__ = ["Fetched", "MailboxEntry", "MailboxService", "Sent"]


@dataclass(frozen=True, slots=True)
class Sent:
    """``seqs`` maps recipient device to sequence; empty with ``duplicate`` for a retry."""

    duplicate: bool
    seqs: dict[str, int]


@dataclass(frozen=True, slots=True)
class Fetched:
    entries: list[MailboxEntry]
    # (first, last) sequence numbers lost to retention after the requested point.
    gap: tuple[int, int] | None


class MailboxService:
    def __init__(self, store: Store, settings: Settings, bus: Bus) -> None:
        self._store = store
        self._settings = settings
        self._bus = bus

    async def enqueue(self, recipients: Sequence[str], payload: bytes, now: int,
                      sender_device_id: str | None = None) -> dict[str, int]:
        """Append ``payload`` to each recipient's mailbox; NotFound if one is unknown."""
        seqs = await self._store.write(
            lambda conn: self._append(conn, recipients, payload, now, sender_device_id))
        for device_id, seq in seqs.items():
            await self._bus.publish(device_id,
                                    MailboxEntry(seq, sender_device_id, payload, now))
        return seqs

    async def send(self, sender_device_id: str, client_msg_id: str,
                   recipients: Sequence[str], payload: bytes, now: int) -> Sent:
        """Idempotent direct send: a repeated ``client_msg_id`` enqueues nothing."""
        if not recipients or len(set(recipients)) != len(recipients):
            raise InvalidInput("recipients must be distinct and non-empty", "bad_recipients")

        def deliver(conn: Connection) -> dict[str, int] | None:
            if not db.record_send(conn, sender_device_id, client_msg_id, now):
                return None
            return self._append(conn, recipients, payload, now, sender_device_id)

        try:
            seqs = await self._store.write(deliver)
            if seqs is None:
                return Sent(True, {})
        except IntegrityError:
            return Sent(True, {})  # a concurrent retry won the unique constraint
        for device_id, seq in seqs.items():
            await self._bus.publish(device_id,
                                    MailboxEntry(seq, sender_device_id, payload, now))
        return Sent(False, seqs)

    @staticmethod
    def _append(conn: Connection, recipients: Sequence[str], payload: bytes,
                now: int, sender: str | None) -> dict[str, int]:
        found = db.append_many(conn, recipients, sender, payload, now)
        if len(found) != len(set(recipients)):
            raise NotFound("no such recipient device", "no_device")
        return {device_id: found[device_id] for device_id in recipients}

    async def fetch(self, device_id: str, after: int, now: int,
                    limit: int | None = None) -> Fetched:
        """Entries with sequence > ``after``, oldest first, after applying retention."""
        cutoff = now - self._settings.retention_seconds
        limit = limit or self._settings.mailbox_batch
        # The common case has nothing past retention: read a snapshot without the write
        # lock. Only when something expired does it take a writing transaction.
        async with self._store.transaction(READ_ONLY) as conn:
            stale = await db.has_entries_before(conn, device_id, cutoff)
            if not stale:
                expired_through = await db.expired_through(conn, device_id)
                entries = await db.entries_after(conn, device_id, after, limit)
        if stale:
            async with self._store.transaction(RELAXED) as conn:
                await db.expire(conn, cutoff, device_id)
                expired_through = await db.expired_through(conn, device_id)
                entries = await db.entries_after(conn, device_id, after, limit)
        gap = (after + 1, expired_through) if expired_through > after else None
        return Fetched(entries, gap)

    async def acknowledge(self, device_id: str, through: int) -> int:
        """Delete entries up to ``through``; returns the device's acknowledged mark."""
        if through < 0:
            raise InvalidInput("sequence numbers are positive", "bad_seq")
        # Group-committed with the sends on SQLite; on PostgreSQL relaxed durability: an
        # acknowledgement lost to a power cut only means the entries are delivered again
        # (at-least-once). See store.engine.
        return await self._store.write_many(db.acknowledge_many, (device_id, through),
                                            mode=RELAXED)

    async def acked(self, device_id: str) -> int:
        """Where a reconnecting device resumes: its last acknowledged sequence."""
        async with self._store.transaction(READ_ONLY) as conn:
            return await db.acked_seq(conn, device_id)

    async def expire(self, now: int) -> None:
        """Apply retention to every mailbox and to the idempotency records."""
        cutoff = now - self._settings.retention_seconds
        async with self._store.transaction(RELAXED) as conn:
            await db.expire(conn, cutoff)
            await db.expire_sends(conn, cutoff)
