"""What the client keeps per conversation: the MLS state and the bookkeeping around it.

One record per group, stored (sealed) in the store's ``group_states`` table, so the
receive pipeline writes MLS state, sequence bookkeeping and history in one transaction::

    enum { direct(1), group(2) } ConversationKind;
    enum { active(1), removed(2) } ConversationStatus;

    struct {
        uint8 version = 2;          /* 1: the same without ``missing`` (still read) */
        ConversationKind kind;
        ConversationStatus status;
        optional<opaque name<V>>;   /* local only: the server never sees it */
        uint64 created_at;
        uint64 last_seq;            /* every group_seq up to here is accounted for */
        uint64 ahead<V>;            /* group_seqs above last_seq handled out of band:
                                       our own sends, commits learnt from a 409 */
        uint64 missing<V>;          /* group_seqs at or below last_seq reported as a
                                       DeliveryGap and still awaited (v2) */
        opaque members<V>;          /* handles, for listing without loading MLS state */
        opaque mls_state<V>;        /* Group.to_bytes(); empty once removed */
    } ConversationRecord;

Why ``ahead``: the server does not echo a device's own messages back, and the commits
a 409 hands us arrive again through the mailbox later. Without remembering those
sequences, each would look like a gap, and each re-delivered commit like a new one.

Why ``missing``: the server numbers a group's messages when it accepts them, but two
sends accepted at once may reach a device's mailbox in the other order. The later one
is then seen first, and the sequence it skipped is reported as a gap; when the skipped
message turns up, it is not a replay but a late arrival, and is processed once
(:meth:`ConversationRecord.check` says ``late``; :meth:`ConversationRecord.delivered`
takes it off the list, so a second copy is a duplicate). The list is bounded: only the
newest :data:`MAX_MISSING` awaited sequences are kept, and a message older than those is
treated as a duplicate (by then the MLS layer could not decrypt it either: it keeps
keys for out-of-order messages only within a small window, RFC 9420 §15.3).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from letterlock.codec import DecodeError, Reader, Writer, decode, encode

__all__ = ["MAX_MISSING", "ConversationKind", "ConversationRecord", "ConversationStatus",
           "SeqCheck"]

RECORD_VERSION = 2
MAX_MISSING = 256  # awaited sequences kept per conversation: the newest ones


class ConversationKind(enum.IntEnum):
    DIRECT = 1
    GROUP = 2


class ConversationStatus(enum.IntEnum):
    ACTIVE = 1
    REMOVED = 2


@dataclass(frozen=True, slots=True)
class SeqCheck:
    """How a group sequence fits the record: a duplicate, or new with the missing
    sequences before it (``gap``, inclusive, or None), or ``late``: one reported
    missing before, arriving now."""

    duplicate: bool
    gap: tuple[int, int] | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    kind: ConversationKind
    status: ConversationStatus
    name: str | None
    created_at: int
    last_seq: int
    ahead: frozenset[int] = frozenset()
    members: tuple[str, ...] = ()
    mls_state: bytes = field(default=b"", repr=False)
    missing: frozenset[int] = frozenset()

    def check(self, seq: int) -> SeqCheck:
        """Is ``seq`` new (or a late arrival), and which sequences before it never
        arrived?"""
        if seq in self.missing:
            return SeqCheck(False, late=True)
        if seq <= self.last_seq or seq in self.ahead:
            return SeqCheck(True)
        gap = self._gap(seq)
        return SeqCheck(False, None if gap is None else (gap[0], gap[1][-1]))

    def _gap(self, seq: int) -> tuple[int, list[int]] | None:
        """The first sequence between ``last_seq`` and ``seq`` not accounted for, and the
        newest such ones (at most MAX_MISSING, ascending); None if there are none.
        Never walks the whole range: a server may send a sequence far ahead."""
        first = self.last_seq + 1
        while first < seq and first in self.ahead:  # ``ahead`` is small: our own sends
            first += 1
        if first >= seq:
            return None
        newest: list[int] = []
        s = seq - 1
        while s >= first and len(newest) < MAX_MISSING:
            if s not in self.ahead:
                newest.append(s)
            s -= 1
        return first, newest[::-1]

    def seen(self, seq: int) -> ConversationRecord:
        """``seq`` handled (from the mailbox, or out of band when it is above the next
        expected one): advance ``last_seq`` over every accounted-for sequence."""
        if seq in self.missing:
            return replace(self, missing=self.missing - {seq})
        if seq <= self.last_seq:
            return self
        ahead = set(self.ahead) | {seq}
        last = self.last_seq
        while last + 1 in ahead:
            last += 1
            ahead.discard(last)
        return replace(self, last_seq=last, ahead=frozenset(ahead))

    def delivered(self, seq: int) -> ConversationRecord:
        """``seq`` arrived through the mailbox: a late arrival fills its hole; else
        everything before it was delivered or is a gap, now reported and awaited."""
        if seq in self.missing:
            return replace(self, missing=self.missing - {seq})
        if seq <= self.last_seq:
            return self
        gap = self._gap(seq)
        ahead = {s for s in self.ahead if s > seq}
        last = seq
        while last + 1 in ahead:
            last += 1
            ahead.discard(last)
        awaited = self.missing | set(gap[1] if gap is not None else ())
        missing = sorted(awaited)[-MAX_MISSING:]
        return replace(self, last_seq=last, ahead=frozenset(ahead),
                       missing=frozenset(missing))

    def to_bytes(self) -> bytes:
        def body(w: Writer) -> None:
            w.push_uint8(RECORD_VERSION)
            w.push_uint8(self.kind)
            w.push_uint8(self.status)
            w.push_optional(self.name, lambda sub, n: sub.push_opaque(n.encode()))
            w.push_uint64(self.created_at)
            w.push_uint64(self.last_seq)
            w.push_vector(sorted(self.ahead), lambda sub, s: sub.push_uint64(s))
            w.push_vector(sorted(self.missing), lambda sub, s: sub.push_uint64(s))
            w.push_vector(self.members, lambda sub, h: sub.push_opaque(h.encode()))
            w.push_opaque(self.mls_state)

        return encode(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> ConversationRecord:
        """:raises DecodeError: not a record this version understands."""

        def body(r: Reader) -> ConversationRecord:
            version = r.pull_uint8()
            if version not in (1, RECORD_VERSION):  # v1: written before ``missing``
                raise r.error(f"unsupported conversation record version {version}")
            try:
                kind = ConversationKind(r.pull_uint8())
                status = ConversationStatus(r.pull_uint8())
                name = r.pull_optional(lambda sub: sub.pull_opaque().decode())
                created_at, last_seq = r.pull_uint64(), r.pull_uint64()
                ahead = frozenset(r.pull_vector(lambda sub: sub.pull_uint64()))
                missing = frozenset(r.pull_vector(lambda sub: sub.pull_uint64())) \
                    if version >= 2 else frozenset()
                members = tuple(r.pull_vector(lambda sub: sub.pull_opaque().decode()))
            except (ValueError, UnicodeDecodeError) as exc:
                raise DecodeError(f"bad conversation record: {exc}", r.position) from None
            return cls(kind, status, name, created_at, last_seq, ahead, members,
                       r.pull_opaque(), missing)

        return decode(data, body)
