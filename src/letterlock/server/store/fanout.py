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
writes nothing. Sequence numbers come from :func:`.counters.take` (its docstring says how
rows are locked on PostgreSQL).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select

from . import _sqlite_hot as hot
from .counters import take
from .mailbox import EntryRow, insert_entries, record_sends
from .rows import MailboxEntry
from .tables import devices, groups

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
    recorded = record_sends(conn, [(batch[i].sender, batch[i].client_msg_id, batch[i].now)
                                   for i in firsts.values()])
    live = [i for i in checked if firsts[(batch[i].sender, batch[i].client_msg_id)] == i
            and (batch[i].sender, batch[i].client_msg_id) in recorded]
    for index in checked:
        if results[index] is None and index not in live:
            results[index] = FanOutResult(Verdict.DUPLICATE, epochs[batch[index].group_id])
    if not live:
        return [r for r in results if r is not None]

    group_seqs = take(conn, groups, Counter(batch[i].group_id for i in live))
    device_seqs = take(conn, devices, Counter(d for i in live for d in recipients[i]))
    rows: list[EntryRow] = []
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
            rows.append((device, slot, message.sender, payload, message.now))
        results[index] = FanOutResult(Verdict.DELIVERED, message.epoch, seq, entries)
    insert_entries(conn, rows)
    return [r for r in results if r is not None]


_EPOCHS = (select(groups.c.group_id, groups.c.epoch)
           .where(groups.c.group_id.in_(bindparam("ids", expanding=True))))


def _epochs(conn: Connection, group_ids: set[bytes]) -> dict[bytes, int]:
    ids = sorted(group_ids)
    raw = hot.cursor(conn)
    if raw is not None:
        raw.execute(hot.epochs(len(ids)), ids)
        found = raw.fetchall()
    else:
        found = conn.execute(_EPOCHS, {"ids": ids}).all()
    return {bytes(r[0]): int(r[1]) for r in found}
