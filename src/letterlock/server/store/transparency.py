"""The key transparency log's leaves (table ``kt_entries``), in log order, and the signed
tree heads served for it (table ``kt_tree_heads``).

Appends are serialised so that indices have no gaps and commit in index order: on
SQLite every writing transaction already holds the database's one write lock
(``BEGIN IMMEDIATE``); on PostgreSQL :func:`lock_for_append` takes a transaction-scoped
advisory lock, held until commit or rollback. A transaction that rolls back leaves no
row, and the next append takes the same index. So a reader that sees index ``n`` also
sees every index below it, whichever node wrote them.

Tree heads are stored first-signer-wins: :func:`insert_tree_head` inserts a size's head
unless one is there (``ON CONFLICT DO NOTHING``), and the caller reads back the winner
with :func:`tree_head_at`. Signing is serialised like appending (the SQLite write lock,
or :func:`lock_for_tree_head` on PostgreSQL), so that a head's timestamp can be chosen
between its stored neighbours' (see the service).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import accounts, devices, kt_entries, kt_tree_heads

__all__ = ["KtRow", "LastLeaf", "StoredHead", "count", "entries_of", "insert_entry",
           "insert_tree_head", "last_leaf", "latest_of_devices", "leaves_from",
           "lock_for_append", "lock_for_tree_head", "neighbour_heads", "range_of",
           "tree_head_at", "UnloggedDevice", "unlogged_devices"]

# Arbitrary constants naming the log's advisory locks (pg_advisory_xact_lock takes a
# bigint): "LLKTLOG1" and "LLKTSTH1" in ASCII.
_APPEND_LOCK = 0x4C4C4B544C4F4731
_HEAD_LOCK = 0x4C4C4B5453544831


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


@dataclass(frozen=True, slots=True)
class StoredHead:
    """A stored signed tree head (``tree_head`` encoded) and the fields copied out of it."""

    tree_size: int
    root_hash: bytes
    timestamp: int
    tree_head: bytes


def _head(row: Any) -> StoredHead:
    return StoredHead(row.tree_size, bytes(row.root_hash), row.timestamp, bytes(row.tree_head))


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


async def lock_for_tree_head(conn: AsyncConnection) -> None:
    """Serialise head signing until this transaction ends (PostgreSQL; on SQLite the
    writing transaction already holds the database's write lock)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _HEAD_LOCK})


async def tree_head_at(conn: AsyncConnection, size: int) -> StoredHead | None:
    """The stored head for ``size``, or None."""
    row = (await conn.execute(select(kt_tree_heads)
                              .where(kt_tree_heads.c.tree_size == size))).first()
    return _head(row) if row else None


async def neighbour_heads(conn: AsyncConnection,
                          size: int) -> tuple[StoredHead | None, StoredHead | None]:
    """The stored heads just below and just above ``size`` (None where there is none)."""
    below = (await conn.execute(
        select(kt_tree_heads).where(kt_tree_heads.c.tree_size < size)
        .order_by(kt_tree_heads.c.tree_size.desc()).limit(1))).first()
    above = (await conn.execute(
        select(kt_tree_heads).where(kt_tree_heads.c.tree_size > size)
        .order_by(kt_tree_heads.c.tree_size).limit(1))).first()
    return (_head(below) if below else None), (_head(above) if above else None)


async def insert_tree_head(conn: AsyncConnection, head: StoredHead) -> bool:
    """Store ``head`` unless a head of its size is stored already; True if this one was."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    inserted = (await conn.execute(
        dialect_insert(kt_tree_heads).values(
            tree_size=head.tree_size, root_hash=head.root_hash, timestamp=head.timestamp,
            tree_head=head.tree_head)
        .on_conflict_do_nothing(index_elements=["tree_size"])
        .returning(kt_tree_heads.c.tree_size))).first()
    return inserted is not None


@dataclass(frozen=True, slots=True)
class UnloggedDevice:
    device_id: str
    handle: str
    signature_key: bytes
    cipher_suite: int


async def unlogged_devices(conn: AsyncConnection) -> list[UnloggedDevice]:
    """Devices with no log entry at all (made before the log existed, or by a node
    running an older version), oldest first."""
    rows = await conn.execute(
        select(devices.c.id, accounts.c.handle, devices.c.signature_key,
               devices.c.cipher_suite)
        .join(accounts, accounts.c.id == devices.c.account_id)
        .outerjoin(kt_entries, kt_entries.c.device_id == devices.c.id)
        .where(kt_entries.c.log_index.is_(None))
        .order_by(devices.c.created_at, devices.c.id))
    return [UnloggedDevice(r.id, r.handle, bytes(r.signature_key), r.cipher_suite)
            for r in rows]
