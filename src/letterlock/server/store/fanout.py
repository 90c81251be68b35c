"""The fan-out of application messages, merged: many messages' writes in a few statements.

A PrivateMessage is fanned out without reading the group's public state: the server needs
only the group's epoch, its member devices, the next group sequence number and each
recipient's next mailbox sequence number. :func:`fan_out_many` does that for a whole batch
of messages (every one queued while the previous batch was being written, see
:meth:`letterlock.server.store.Store.write_many`) in five statements whatever the batch
size: the groups' epochs, the sent-message records (which also tells which client ids
were used before), the groups' sequence numbers, the recipients' mailbox sequence numbers,
and the mailbox entries. Both databases run it the same way.

Each message gets its own verdict (:class:`FanOutResult`); a message that fails a check
writes nothing. On PostgreSQL the rows whose counters move are locked in key order first,
so that two nodes' batches over the same groups or devices cannot deadlock.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Integer, Table, Update, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from .rows import MailboxEntry
from .tables import devices, groups, mailbox, sent_messages

__all__ = ["FanOut", "FanOutResult", "Verdict", "fan_out_many"]


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"  # the sender used this client id before: nothing written
    NO_GROUP = "no_group"
    NOT_MEMBER = "not_member"
    STALE_EPOCH = "stale_epoch"  # the group has left the message's epoch


@dataclass(frozen=True, slots=True)
class FanOut:
    """One message to fan out. ``payload(seq)`` is what each recipient's mailbox gets once
    the message has its group sequence number ``seq``."""

    sender: str
    client_msg_id: str
    group_id: bytes
    epoch: int
    payload: Callable[[int], bytes]
    now: int


@dataclass(frozen=True, slots=True)
class FanOutResult:
    verdict: Verdict
    epoch: int = 0  # the group's current epoch (0 when there is no such group)
    seq: int = 0  # the message's group sequence number, when delivered
    entries: list[tuple[str, MailboxEntry]] = field(default_factory=list)


# (connection, group id, epoch) -> the group's member devices at that epoch.
MembersAt = Callable[[Connection, bytes, int], frozenset[str]]


def fan_out_many(conn: Connection, batch: Sequence[FanOut],
                 members_at: MembersAt) -> list[FanOutResult]:
    """Check and write every message of ``batch``; one result per message, in order.

    Raises only what the database raises (on PostgreSQL a concurrent send with the same
    client id fails the record insert with IntegrityError: the caller sees a duplicate).
    """
    postgres = conn.dialect.name == "postgresql"
    epochs = _epochs(conn, {m.group_id for m in batch})
    results: list[FanOutResult | None] = [None] * len(batch)
    checked: list[int] = []
    recipients: dict[int, list[str]] = {}
    for index, message in enumerate(batch):
        current = epochs.get(message.group_id)
        if current is None:
            results[index] = FanOutResult(Verdict.NO_GROUP)
            continue
        members = members_at(conn, message.group_id, current)
        if message.sender not in members:
            results[index] = FanOutResult(Verdict.NOT_MEMBER, current)
            continue
        if message.epoch != current:
            results[index] = FanOutResult(Verdict.STALE_EPOCH, current)
            continue
        checked.append(index)
        recipients[index] = sorted(members - {message.sender})
    # Record the client ids; one already recorded (before, or earlier in this batch) is a
    # duplicate and writes nothing more.
    firsts: dict[tuple[str, str], int] = {}
    for index in checked:
        firsts.setdefault((batch[index].sender, batch[index].client_msg_id), index)
    recorded = _record(conn, [batch[i] for i in firsts.values()], postgres)
    live = [i for i in checked if firsts[(batch[i].sender, batch[i].client_msg_id)] == i
            and (batch[i].sender, batch[i].client_msg_id) in recorded]
    for index in checked:
        if results[index] is None and index not in live:
            results[index] = FanOutResult(Verdict.DUPLICATE, epochs[batch[index].group_id])
    if not live:
        return [r for r in results if r is not None]

    group_seqs = _take(conn, groups, Counter(batch[i].group_id for i in live), postgres)
    device_seqs = _take(conn, devices, Counter(d for i in live for d in recipients[i]),
                        postgres)
    rows: list[dict[str, object]] = []
    for index in live:
        message = batch[index]
        seq = group_seqs[message.group_id]
        group_seqs[message.group_id] = seq + 1
        payload = message.payload(seq)
        entries: list[tuple[str, MailboxEntry]] = []
        for device in recipients[index]:
            slot = device_seqs.get(device)
            if slot is None:
                continue  # removed from the server since the member list was read
            device_seqs[device] = slot + 1
            entries.append((device, MailboxEntry(slot, message.sender, payload, message.now)))
            rows.append({"device_id": device, "seq": slot, "sender_device_id": message.sender,
                         "payload": payload, "created_at": message.now})
        results[index] = FanOutResult(Verdict.DELIVERED, message.epoch, seq, entries)
    if rows:
        conn.execute(insert(mailbox), rows)
    return [r for r in results if r is not None]


_RECORD = {
    dialect: insert_of(sent_messages)
    .on_conflict_do_nothing(index_elements=["sender_device_id", "client_msg_id"])
    .returning(sent_messages.c.sender_device_id, sent_messages.c.client_msg_id)
    for dialect, insert_of in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def _record(conn: Connection, messages: Sequence[FanOut],
            postgres: bool) -> set[tuple[str, str]]:
    """Insert the messages' ``(sender, client id)`` records; returns those that are new."""
    if not messages:
        return set()
    # An executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues") from
    # one cached compilation, where .values([...]) would compile anew for every batch.
    rows = conn.execute(_RECORD["postgresql" if postgres else "sqlite"], [
        {"sender_device_id": m.sender, "client_msg_id": m.client_msg_id,
         "created_at": m.now} for m in messages])
    return {(str(r[0]), str(r[1])) for r in rows}


_EPOCHS = (select(groups.c.group_id, groups.c.epoch)
           .where(groups.c.group_id.in_(bindparam("ids", expanding=True))))


def _epochs(conn: Connection, group_ids: set[bytes]) -> dict[bytes, int]:
    return {bytes(r[0]): int(r[1])
            for r in conn.execute(_EPOCHS, {"ids": sorted(group_ids)})}


def _uniform_step(table: Table, key: ColumnElement[object], counter: ColumnElement[int],
                  postgres: bool) -> Update:
    """``counter += :step`` for the rows whose key is in ``:keys``."""
    keys: BindParameter[list[object]] = bindparam("keys", expanding=True)
    target = key.in_(keys)
    if postgres:
        target = key.in_(select(key).where(key.in_(keys)).order_by(key).with_for_update()
                         .scalar_subquery())
    return (update(table).where(target)
            .values({counter: counter + bindparam("step", type_=Integer)})
            .returning(key, counter))


_LOCK = {table.name: select(key).where(key.in_(bindparam("keys", expanding=True)))
         .order_by(key).with_for_update()
         for table, key in ((groups, groups.c.group_id), (devices, devices.c.id))}
# Built once (immutable): the counters' common update, per table and dialect.
_STEP = {(table.name, postgres): _uniform_step(table, key, counter, postgres)
         for table, key, counter in ((groups, groups.c.group_id, groups.c.next_seq),
                                     (devices, devices.c.id, devices.c.next_seq))
         for postgres in (False, True)}


def _take(conn: Connection, table: Table, counts: Counter[object],
          postgres: bool) -> dict[object, int]:
    """Move each keyed row's counter up by its count, one ``UPDATE ... RETURNING`` per
    distinct count (the statement is built once: a ``CASE`` per batch would be compiled
    per batch); returns, per row that exists, the first of the numbers it took."""
    by_amount: dict[int, list[object]] = {}
    for k in sorted(counts):  # type: ignore[type-var]
        by_amount.setdefault(counts[k], []).append(k)
    if postgres and len(by_amount) > 1:
        # Lock every row first, in key order (each statement below locks only its own
        # keys), so that batches on several nodes always lock in the same order.
        conn.execute(_LOCK[table.name], {"keys": sorted(counts)})  # type: ignore[type-var]
    rows = [row for amount, keys in sorted(by_amount.items())
            for row in conn.execute(_STEP[table.name, postgres],
                                    {"keys": keys, "step": amount})]
    first: dict[object, int] = {}
    for row_key, top in rows:
        found = bytes(row_key) if isinstance(row_key, memoryview) else row_key
        first[found] = int(top) - counts[found] + 1
    return first
