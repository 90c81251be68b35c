"""The key transparency log's leaves (table ``kt_entries``), in log order.

Appends are serialised so that indices have no gaps and commit in index order: on
SQLite every writing transaction already holds the database's one write lock
(``BEGIN IMMEDIATE``); on PostgreSQL :func:`lock_for_append` takes a transaction-scoped
advisory lock, held until commit or rollback. A transaction that rolls back leaves no
row, and the next append takes the same index. So a reader that sees index ``n`` also
sees every index below it, whichever node wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import kt_entries

__all__ = ["KtRow", "LastLeaf", "entries_of", "insert_entry", "last_leaf", "latest_of_devices",
           "leaves_from", "lock_for_append", "range_of", "count"]

# An arbitrary constant naming the log's advisory lock (pg_advisory_xact_lock takes a
# bigint): "LLKTLOG1" in ASCII.
_APPEND_LOCK = 0x4C4C4B544C4F4731


@dataclass(frozen=True, slots=True)
class KtRow:
    """One stored leaf: the encoded LogEntry and the opening of its handle commitment."""

    index: int
    entry: bytes
    handle: str
    device_id: str
    action: int
    nonce: bytes


@dataclass(frozen=True, slots=True)
class LastLeaf:
    index: int
    created_at: int


def _row(row: Any) -> KtRow:
    return KtRow(row.log_index, bytes(row.entry), row.handle, row.device_id, row.action,
                 bytes(row.nonce))


_COLUMNS = (kt_entries.c.log_index, kt_entries.c.entry, kt_entries.c.handle,
            kt_entries.c.device_id, kt_entries.c.action, kt_entries.c.nonce)


async def lock_for_append(conn: AsyncConnection) -> None:
    """Serialise appends until this transaction ends (PostgreSQL; a no-op on SQLite,
    whose writing transactions are serialised already)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})


async def last_leaf(conn: AsyncConnection) -> LastLeaf | None:
    """The newest stored leaf's index and timestamp, or None for an empty log."""
    row = (await conn.execute(
        select(kt_entries.c.log_index, kt_entries.c.created_at)
        .order_by(kt_entries.c.log_index.desc()).limit(1))).first()
    return LastLeaf(row.log_index, row.created_at) if row else None


async def insert_entry(conn: AsyncConnection, index: int, leaf_hash: bytes, entry: bytes,
                       handle: str, device_id: str, action: int, nonce: bytes,
                       created_at: int) -> None:
    await conn.execute(insert(kt_entries).values(
        log_index=index, leaf_hash=leaf_hash, entry=entry, handle=handle,
        device_id=device_id, action=action, nonce=nonce, created_at=created_at))


async def leaves_from(conn: AsyncConnection, start: int) -> list[tuple[int, bytes, int]]:
    """``(index, leaf_hash, created_at)`` of every leaf at ``start`` or later, in order:
    how a node catches its in-memory log up (empty when it is current)."""
    rows = await conn.execute(
        select(kt_entries.c.log_index, kt_entries.c.leaf_hash, kt_entries.c.created_at)
        .where(kt_entries.c.log_index >= start).order_by(kt_entries.c.log_index))
    return [(r.log_index, bytes(r.leaf_hash), r.created_at) for r in rows]


async def entries_of(conn: AsyncConnection, handle: str, after: int, below: int,
                     limit: int) -> list[KtRow]:
    """``handle``'s entries with ``after < index < below``, oldest first, at most ``limit``."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(kt_entries.c.handle == handle, kt_entries.c.log_index > after,
               kt_entries.c.log_index < below)
        .order_by(kt_entries.c.log_index).limit(limit))
    return [_row(r) for r in rows]


async def range_of(conn: AsyncConnection, start: int, stop: int) -> list[KtRow]:
    """Every entry with ``start <= index < stop``, in order."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(kt_entries.c.log_index >= start, kt_entries.c.log_index < stop)
        .order_by(kt_entries.c.log_index))
    return [_row(r) for r in rows]


async def latest_of_devices(conn: AsyncConnection, device_ids: Sequence[str],
                            below: int) -> dict[str, KtRow]:
    """Each device's newest entry with index below ``below`` (devices without one absent).

    A device has at most two entries (added, then removed), so fetching all of them and
    keeping the newest per device is one small query.
    """
    if not device_ids:
        return {}
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(kt_entries.c.device_id.in_(list(device_ids)), kt_entries.c.log_index < below)
        .order_by(kt_entries.c.log_index))
    return {row.device_id: row for row in map(_row, rows)}


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(kt_entries))).scalar_one())
