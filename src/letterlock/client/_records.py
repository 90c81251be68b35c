"""What the client keeps per conversation: the MLS state and the bookkeeping around it.

One record per group, stored (sealed) in the store's ``group_states`` table, so the
receive pipeline writes MLS state, sequence bookkeeping and history in one transaction::

    enum { direct(1), group(2) } ConversationKind;
    enum { active(1), removed(2) } ConversationStatus;

    struct {
        uint8 version = 1;
        ConversationKind kind;
        ConversationStatus status;
        optional<opaque name<V>>;   /* local only: the server never sees it */
        uint64 created_at;
        uint64 last_seq;            /* every group_seq up to here is accounted for */
        uint64 ahead<V>;            /* group_seqs above last_seq handled out of band:
                                       our own sends, commits learnt from a 409 */
        opaque members<V>;          /* handles, for listing without loading MLS state */
        opaque mls_state<V>;        /* Group.to_bytes(); empty once removed */
    } ConversationRecord;

Why ``ahead``: the server does not echo a device's own messages back, and the commits
a 409 hands us arrive again through the mailbox later. Without remembering those
sequences, each would look like a gap, and each re-delivered commit like a new one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from letterlock.codec import DecodeError, Reader, Writer, decode, encode

__all__ = ["ConversationKind", "ConversationRecord", "ConversationStatus", "SeqCheck"]

RECORD_VERSION = 1


class ConversationKind(enum.IntEnum):
    DIRECT = 1
    GROUP = 2


class ConversationStatus(enum.IntEnum):
    ACTIVE = 1
    REMOVED = 2


@dataclass(frozen=True, slots=True)
class SeqCheck:
    """How a group sequence fits the record: a duplicate, or new with the missing
    sequences before it (``gap``, inclusive, or None)."""

    duplicate: bool
    gap: tuple[int, int] | None = None


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

    def check(self, seq: int) -> SeqCheck:
        """Is ``seq`` new, and which sequences before it never arrived?"""
        if seq <= self.last_seq or seq in self.ahead:
            return SeqCheck(True)
        missing = [s for s in range(self.last_seq + 1, seq) if s not in self.ahead]
        return SeqCheck(False, (missing[0], missing[-1]) if missing else None)

    def seen(self, seq: int) -> ConversationRecord:
        """``seq`` handled (from the mailbox, or out of band when it is above the next
        expected one): advance ``last_seq`` over every accounted-for sequence."""
        if seq <= self.last_seq:
            return self
        ahead = set(self.ahead) | {seq}
        last = self.last_seq
        while last + 1 in ahead:
            last += 1
            ahead.discard(last)
        return replace(self, last_seq=last, ahead=frozenset(ahead))

    def delivered(self, seq: int) -> ConversationRecord:
        """``seq`` arrived through the mailbox, in server order: everything before it
        was delivered or is a gap already reported."""
        if seq <= self.last_seq:
            return self
        ahead = {s for s in self.ahead if s > seq}
        last = seq
        while last + 1 in ahead:
            last += 1
            ahead.discard(last)
        return replace(self, last_seq=last, ahead=frozenset(ahead))

    def to_bytes(self) -> bytes:
        def body(w: Writer) -> None:
            w.push_uint8(RECORD_VERSION)
            w.push_uint8(self.kind)
            w.push_uint8(self.status)
            w.push_optional(self.name, lambda sub, n: sub.push_opaque(n.encode()))
            w.push_uint64(self.created_at)
            w.push_uint64(self.last_seq)
            w.push_vector(sorted(self.ahead), lambda sub, s: sub.push_uint64(s))
            w.push_vector(self.members, lambda sub, h: sub.push_opaque(h.encode()))
            w.push_opaque(self.mls_state)

        return encode(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> ConversationRecord:
        """:raises DecodeError: not a record this version understands."""

        def body(r: Reader) -> ConversationRecord:
            version = r.pull_uint8()
            if version != RECORD_VERSION:
                raise r.error(f"unsupported conversation record version {version}")
            try:
                kind = ConversationKind(r.pull_uint8())
                status = ConversationStatus(r.pull_uint8())
                name = r.pull_optional(lambda sub: sub.pull_opaque().decode())
                created_at, last_seq = r.pull_uint64(), r.pull_uint64()
                ahead = frozenset(r.pull_vector(lambda sub: sub.pull_uint64()))
                members = tuple(r.pull_vector(lambda sub: sub.pull_opaque().decode()))
            except (ValueError, UnicodeDecodeError) as exc:
                raise DecodeError(f"bad conversation record: {exc}", r.position) from None
            return cls(kind, status, name, created_at, last_seq, ahead, members,
                       r.pull_opaque())

        return decode(data, body)
