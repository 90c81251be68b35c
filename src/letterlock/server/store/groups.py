"""Groups: public state, member devices by leaf, the per-group sequence, accepted commits.

Commits are ordered per group by compare-and-set on the epoch: ``advance`` moves a group
from epoch ``n`` to ``n + 1`` only if it is still at ``n`` — in one ``UPDATE ... WHERE
epoch = n RETURNING``, which PostgreSQL row-locks and SQLite serialises — so of two
commits for the same epoch exactly one wins, whatever the interleaving.

What an application message's fan-out reads and writes (:func:`get`, :func:`members`,
:func:`next_seq`, :func:`save_state`) takes a synchronous connection,
to run in :meth:`~letterlock.server.store.Store.write` batches; async transactions call
those through ``run_sync``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .counters import take
from .tables import group_commits, group_members, groups

__all__ = [
    "AcceptedCommit",
    "GroupRow",
    "advance",
    "commits_since",
    "create",
    "expire_commits",
    "get",
    "groups_of_device",
    "leaves_of_device",
    "members",
    "next_seq",
    "save_state",
]


@dataclass(frozen=True, slots=True)
class GroupRow:
    group_id: bytes
    cipher_suite: int
    epoch: int
    state: bytes
    next_seq: int
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class AcceptedCommit:
    epoch: int  # the epoch the commit was sent in (it moved the group to epoch + 1)
    seq: int
    message: bytes


async def create(conn: AsyncConnection, group_id: bytes, cipher_suite: int, epoch: int,
                 state: bytes, members_by_leaf: Iterable[tuple[int, str]], now: int) -> bool:
    """Record a new group; False when the group id is taken (nothing is written then)."""
    taken = (await conn.execute(
        select(groups.c.group_id).where(groups.c.group_id == group_id))).first()
    if taken is not None:
        return False
    await conn.execute(insert(groups).values(
        group_id=group_id, cipher_suite=cipher_suite, epoch=epoch, state=state,
        next_seq=0, created_at=now, updated_at=now))
    await _add_members(conn, group_id, members_by_leaf)
    return True


def get(conn: Connection, group_id: bytes) -> GroupRow | None:
    row = conn.execute(select(groups).where(groups.c.group_id == group_id)).first()
    if row is None:
        return None
    return GroupRow(bytes(row.group_id), int(row.cipher_suite), int(row.epoch),
                    bytes(row.state), int(row.next_seq), int(row.created_at),
                    int(row.updated_at))


def members(conn: Connection, group_id: bytes) -> list[tuple[int, str]]:
    """``(leaf_index, device_id)`` of every member, by leaf."""
    return [(int(r[0]), str(r[1])) for r in conn.execute(_MEMBERS, {"group": group_id})]


async def leaves_of_device(conn: AsyncConnection, group_id: bytes, device_id: str) -> list[int]:
    rows = await conn.execute(
        select(group_members.c.leaf_index)
        .where(group_members.c.group_id == group_id, group_members.c.device_id == device_id))
    return [int(r.leaf_index) for r in rows]


async def groups_of_device(conn: AsyncConnection, device_id: str) -> list[bytes]:
    rows = await conn.execute(
        select(group_members.c.group_id).where(group_members.c.device_id == device_id)
        .distinct())
    return [bytes(r.group_id) for r in rows]


_MEMBERS = (select(group_members.c.leaf_index, group_members.c.device_id)
            .where(group_members.c.group_id == bindparam("group"))
            .order_by(group_members.c.leaf_index))


def next_seq(conn: Connection, group_id: bytes) -> int | None:
    """Take the group's next server sequence number; None if there is no such group
    (row-locked on PostgreSQL until the transaction ends, like ``advance``, so sequence
    numbers follow commit order within a group)."""
    return take(conn, groups, Counter([group_id])).get(group_id)


def save_state(conn: Connection, group_id: bytes, state: bytes, now: int) -> None:
    """Replace the public state within an epoch (a cached proposal changes it)."""
    conn.execute(update(groups).where(groups.c.group_id == group_id)
                       .values(state=state, updated_at=now))


async def advance(conn: AsyncConnection, group_id: bytes, from_epoch: int, state: bytes,
                  commit_message: bytes, now: int, *,
                  added: Iterable[tuple[int, str]] = (),
                  removed: Sequence[int] = ()) -> int | None:
    """Apply an accepted commit sent in ``from_epoch``: the group moves to the next epoch
    with its new public ``state`` and membership, and the commit is kept for catch-up.

    Returns the commit's group sequence number, or None when the group is no longer at
    ``from_epoch`` (another commit won that epoch; nothing is written).
    """
    row = (await conn.execute(
        update(groups)
        .where(groups.c.group_id == group_id, groups.c.epoch == from_epoch)
        .values(epoch=from_epoch + 1, state=state, next_seq=groups.c.next_seq + 1,
                updated_at=now)
        .returning(groups.c.next_seq))).first()
    if row is None:
        return None
    seq = int(row.next_seq)
    if removed:
        await conn.execute(delete(group_members).where(
            group_members.c.group_id == group_id, group_members.c.leaf_index.in_(removed)))
    await _add_members(conn, group_id, added)
    await conn.execute(insert(group_commits).values(
        group_id=group_id, epoch=from_epoch, seq=seq, message=commit_message, created_at=now))
    return seq


async def commits_since(conn: AsyncConnection, group_id: bytes, epoch: int) -> list[AcceptedCommit]:
    """Accepted commits sent in ``epoch`` or later, in order (what a client at ``epoch``
    needs to catch up)."""
    rows = await conn.execute(
        select(group_commits.c.epoch, group_commits.c.seq, group_commits.c.message)
        .where(group_commits.c.group_id == group_id, group_commits.c.epoch >= epoch)
        .order_by(group_commits.c.epoch))
    return [AcceptedCommit(int(r.epoch), int(r.seq), bytes(r.message)) for r in rows]


async def expire_commits(conn: AsyncConnection, cutoff: int) -> None:
    """Forget accepted commits older than ``cutoff`` (retention)."""
    await conn.execute(delete(group_commits).where(group_commits.c.created_at < cutoff))


async def _add_members(conn: AsyncConnection, group_id: bytes,
                       members_by_leaf: Iterable[tuple[int, str]]) -> None:
    rows = [{"group_id": group_id, "leaf_index": leaf, "device_id": device}
            for leaf, device in members_by_leaf]
    if rows:
        # A leaf freed by a Remove in the same commit may be taken by an Add: replace it.
        await conn.execute(delete(group_members).where(
            group_members.c.group_id == group_id,
            group_members.c.leaf_index.in_([r["leaf_index"] for r in rows])))
        await conn.execute(insert(group_members), rows)
