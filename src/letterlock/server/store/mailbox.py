"""Per-device mailboxes: a durable queue with server-assigned increasing sequence numbers.

``devices.next_seq`` is the last sequence handed out; bumping it with
``UPDATE ... RETURNING`` row-locks the device on PostgreSQL (and SQLite serialises writers),
so two enqueues never get the same number.

The functions of a send and of an acknowledgement (:func:`record_send`,
:func:`append_many`, :func:`acknowledge`) take a synchronous connection: they run in
:meth:`~letterlock.server.store.Store.write` batches (an async transaction calls them
through ``run_sync``). ``acked_seq`` is where a reconnecting device
resumes; ``expired_through`` is the highest sequence lost to retention, reported as a gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Connection, Integer, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from . import _sqlite_hot as hot
from .counters import take
from .rows import MailboxEntry
from .tables import devices, mailbox, sent_messages

__all__ = [
    "acked_seq",
    "acknowledge",
    "acknowledge_many",
    "append_many",
    "entries_after",
    "expire",
    "expire_sends",
    "expired_through",
    "has_entries_before",
    "insert_entries",
    "record_send",
    "record_sends",
]


# The statements of a send and of an acknowledgement are built once, with bind
# parameters: SQLAlchemy then finds each one's compiled form by the key memoised on the
# object, instead of building and hashing a new expression tree per message.
_RECORD = {
    dialect: insert_of(sent_messages)
    .on_conflict_do_nothing(index_elements=["sender_device_id", "client_msg_id"])
    .returning(sent_messages.c.sender_device_id, sent_messages.c.client_msg_id)
    for dialect, insert_of in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_INSERT_ENTRY = insert(mailbox)
_through: BindParameter[int] = bindparam("through", type_=Integer)
_capped = case((devices.c.next_seq < _through, devices.c.next_seq), else_=_through)
_ACK_MANY = (update(devices).where(devices.c.id == bindparam("device"))
             .values(acked_seq=case((devices.c.acked_seq > _capped, devices.c.acked_seq),
                                    else_=_capped)))
_DELETE_ACKED_MANY = delete(mailbox).where(
    mailbox.c.device_id == bindparam("device"),
    mailbox.c.seq <= select(devices.c.acked_seq).where(devices.c.id == bindparam("device"))
    .scalar_subquery())
_MARKS = (select(devices.c.id, devices.c.acked_seq)
          .where(devices.c.id.in_(bindparam("ids", expanding=True))))


def record_send(conn: Connection, sender_device_id: str, client_msg_id: str,
                now: int) -> bool:
    """Remember a send; False when this sender used this client id before."""
    return bool(record_sends(conn, [(sender_device_id, client_msg_id, now)]))


def record_sends(conn: Connection,
                 sends: Sequence[tuple[str, str, int]]) -> set[tuple[str, str]]:
    """Remember ``(sender device, client id, time)`` sends; returns the ``(sender, client
    id)`` pairs that are new (the others were used before: duplicates).

    One insert that skips existing pairs, as an executemany: SQLAlchemy sends it as
    multi-row INSERTs from one cached compilation. Two racing sends with the same id on
    PostgreSQL: the second waits for the first to commit, then skips.
    """
    if not sends:
        return set()
    raw = hot.cursor(conn)
    if raw is not None:
        raw.execute(hot.record(len(sends)), [x for send in sends for x in send])
        return {(str(r[0]), str(r[1])) for r in raw.fetchall()}
    rows = conn.execute(_RECORD["postgresql" if conn.dialect.name == "postgresql"
                                else "sqlite"],
                        [{"sender_device_id": sender, "client_msg_id": client_id,
                          "created_at": now} for sender, client_id, now in sends])
    return {(str(r[0]), str(r[1])) for r in rows}


def append_many(conn: Connection, device_ids: Sequence[str],
                sender_device_id: str | None, payload: bytes, now: int) -> dict[str, int]:
    """Append ``payload`` to several mailboxes in two statements (one fan-out): the
    devices' next sequence numbers (:func:`.counters.take`), then one executemany
    insert. Returns ``{device id: seq}`` for the devices that exist."""
    if not device_ids:
        return {}
    seqs = {str(d): s for d, s in take(conn, devices, Counter(device_ids)).items()}
    insert_entries(conn, [(device_id, seq, sender_device_id, payload, now)
                          for device_id, seq in seqs.items()])
    return seqs


# A mailbox row: (device, seq, sender device, payload, created at).
EntryRow = tuple[str, int, str | None, bytes, int]
_ENTRY_KEYS = ("device_id", "seq", "sender_device_id", "payload", "created_at")


def insert_entries(conn: Connection, rows: Sequence[EntryRow]) -> None:
    """Insert mailbox entries in one executemany (on SQLite through the driver's cursor,
    see :mod:`._sqlite_hot`)."""
    if not rows:
        return
    raw = hot.cursor(conn)
    if raw is not None:
        raw.executemany(hot.INSERT_ENTRY, rows)
    else:
        conn.execute(_INSERT_ENTRY, [dict(zip(_ENTRY_KEYS, row, strict=True)) for row in rows])


async def entries_after(conn: AsyncConnection, device_id: str, after: int,
                        limit: int) -> list[MailboxEntry]:
    rows = await conn.execute(
        select(mailbox.c.seq, mailbox.c.sender_device_id, mailbox.c.payload,
               mailbox.c.created_at)
        .where(mailbox.c.device_id == device_id, mailbox.c.seq > after)
        .order_by(mailbox.c.seq).limit(limit))
    return [MailboxEntry(int(r.seq), r.sender_device_id, bytes(r.payload), int(r.created_at))
            for r in rows]


def acknowledge(conn: Connection, device_id: str, through: int) -> int:
    """Delete entries up to ``through`` (capped at the last assigned sequence) and move the
    device's acknowledged mark forward (never back). Returns the new mark."""
    return acknowledge_many(conn, [(device_id, through)])[0]


def acknowledge_many(conn: Connection, acks: Sequence[tuple[str, int]]) -> list[int]:
    """:func:`acknowledge` for many ``(device, through)`` at once (the acknowledgements
    queued while the previous batch was written, see ``Store.write_many``): three
    statements for the lot. Returns each one's new mark, in order (0 for a device that
    no longer exists)."""
    highest: dict[str, int] = {}
    for device_id, through in acks:
        highest[device_id] = max(through, highest.get(device_id, through))
    raw = hot.cursor(conn)
    if raw is not None:
        raw.executemany(hot.ACKNOWLEDGE, [(t, d) for d, t in highest.items()])
        raw.executemany(hot.DELETE_ACKNOWLEDGED, [(d, d) for d in highest])
        raw.execute(hot.acked(len(highest)), list(highest))
        marks = {str(r[0]): int(r[1]) for r in raw.fetchall()}
        return [marks.get(device_id, 0) for device_id, _ in acks]
    params = [{"device": d, "through": t} for d, t in highest.items()]
    conn.execute(_ACK_MANY, params)
    conn.execute(_DELETE_ACKED_MANY, params)
    marks = {str(r[0]): int(r[1])
             for r in conn.execute(_MARKS, {"ids": sorted(highest)})}
    return [marks.get(device_id, 0) for device_id, _ in acks]


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


async def has_entries_before(conn: AsyncConnection, device_id: str, cutoff: int) -> bool:
    """Whether the device has an entry created before ``cutoff`` (so retention applies)."""
    row = (await conn.execute(
        select(mailbox.c.seq).where(mailbox.c.device_id == device_id,
                                    mailbox.c.created_at < cutoff).limit(1))).first()
    return row is not None


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
