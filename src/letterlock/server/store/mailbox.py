"""Per-device mailboxes: a durable queue with server-assigned increasing sequence numbers.

``devices.next_seq`` is the last sequence handed out; bumping it with
``UPDATE ... RETURNING`` row-locks the device on PostgreSQL (and SQLite serialises writers),
so two enqueues never get the same number. ``acked_seq`` is where a reconnecting device
resumes; ``expired_through`` is the highest sequence lost to retention, reported as a gap.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .rows import MailboxEntry
from .tables import devices, mailbox, sent_messages

__all__ = [
    "acked_seq",
    "acknowledge",
    "append",
    "entries_after",
    "expire",
    "expire_sends",
    "expired_through",
    "record_send",
]


async def record_send(conn: AsyncConnection, sender_device_id: str, client_msg_id: str,
                      now: int) -> bool:
    """Remember a send; False when this sender used this client id before.

    Two racing sends with the same id both pass the check on PostgreSQL; the unique
    constraint then fails one of them with IntegrityError, which the caller treats as a
    duplicate.
    """
    exists = (await conn.execute(
        select(sent_messages.c.id).where(sent_messages.c.sender_device_id == sender_device_id,
                                         sent_messages.c.client_msg_id == client_msg_id)
    )).first()
    if exists is not None:
        return False
    await conn.execute(insert(sent_messages).values(
        sender_device_id=sender_device_id, client_msg_id=client_msg_id, created_at=now))
    return True


async def append(conn: AsyncConnection, device_id: str, sender_device_id: str | None,
                 payload: bytes, now: int) -> int | None:
    """Append to a device's mailbox; the new sequence number, or None if no such device."""
    seq = (await conn.execute(
        update(devices).where(devices.c.id == device_id)
        .values(next_seq=devices.c.next_seq + 1).returning(devices.c.next_seq))).first()
    if seq is None:
        return None
    await conn.execute(insert(mailbox).values(
        device_id=device_id, seq=seq.next_seq, sender_device_id=sender_device_id,
        payload=payload, created_at=now))
    return int(seq.next_seq)


async def entries_after(conn: AsyncConnection, device_id: str, after: int,
                        limit: int) -> list[MailboxEntry]:
    rows = await conn.execute(
        select(mailbox.c.seq, mailbox.c.sender_device_id, mailbox.c.payload,
               mailbox.c.created_at)
        .where(mailbox.c.device_id == device_id, mailbox.c.seq > after)
        .order_by(mailbox.c.seq).limit(limit))
    return [MailboxEntry(int(r.seq), r.sender_device_id, bytes(r.payload), int(r.created_at))
            for r in rows]


async def acknowledge(conn: AsyncConnection, device_id: str, through: int) -> int:
    """Delete entries up to ``through`` (capped at the last assigned sequence) and move the
    device's acknowledged mark forward (never back). Returns the new mark."""
    row = (await conn.execute(
        select(devices.c.next_seq, devices.c.acked_seq).where(devices.c.id == device_id)
    )).one()
    mark = max(int(row.acked_seq), min(through, int(row.next_seq)))
    await conn.execute(delete(mailbox).where(mailbox.c.device_id == device_id,
                                             mailbox.c.seq <= mark))
    await conn.execute(update(devices).where(devices.c.id == device_id)
                       .values(acked_seq=mark))
    return mark


async def expire(conn: AsyncConnection, cutoff: int, device_id: str | None = None) -> None:
    """Delete entries created before ``cutoff`` (for one device, or all), recording the
    highest lost sequence per device in ``expired_through``."""
    condition = mailbox.c.created_at < cutoff
    if device_id is not None:
        condition = condition & (mailbox.c.device_id == device_id)
    lost = await conn.execute(select(mailbox.c.device_id, func.max(mailbox.c.seq).label("top"))
                              .where(condition).group_by(mailbox.c.device_id))
    for row in lost.all():
        await conn.execute(
            update(devices).where(devices.c.id == row.device_id,
                                  devices.c.expired_through < row.top)
            .values(expired_through=row.top))
    await conn.execute(delete(mailbox).where(condition))


async def expire_sends(conn: AsyncConnection, cutoff: int) -> None:
    """Forget idempotency records older than ``cutoff``."""
    await conn.execute(delete(sent_messages).where(sent_messages.c.created_at < cutoff))


async def acked_seq(conn: AsyncConnection, device_id: str) -> int:
    row = (await conn.execute(
        select(devices.c.acked_seq).where(devices.c.id == device_id))).first()
    return int(row.acked_seq) if row else 0


async def expired_through(conn: AsyncConnection, device_id: str) -> int:
    row = (await conn.execute(
        select(devices.c.expired_through).where(devices.c.id == device_id))).first()
    return int(row.expired_through) if row else 0
