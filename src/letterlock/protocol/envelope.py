"""What the delivery service puts in a device's mailbox for a group (sans-I/O).

The MLS message inside is opaque to the server; the envelope adds only what the server
itself decided and the recipient needs to act on it: which group, the group's server
sequence number (clients order by it, never by senders' clocks, and detect gaps with it),
and what kind of message it is::

    enum { commit(1), application(2), proposal(3), welcome(4) } EnvelopeKind;

    struct {
        uint16 version = 1;
        EnvelopeKind kind;
        opaque group_id<V>;
        uint64 group_seq;        /* for a welcome: the sequence of the commit it joins */
        opaque sender_device<V>; /* the authenticated sending device, as the server saw it */
        opaque message<V>;       /* an MLSMessage */
    } Envelope;
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from letterlock.codec import DecodeError, Reader, Struct, Writer

__all__ = ["ENVELOPE_VERSION", "Envelope", "EnvelopeKind"]

ENVELOPE_VERSION = 1


class EnvelopeKind(IntEnum):
    COMMIT = 1
    APPLICATION = 2
    PROPOSAL = 3
    WELCOME = 4


@dataclass(frozen=True, slots=True)
class Envelope(Struct):
    kind: EnvelopeKind
    group_id: bytes
    group_seq: int
    sender_device: str
    message: bytes

    def push(self, w: Writer) -> None:
        w.push_uint16(ENVELOPE_VERSION)
        w.push_uint8(self.kind)
        w.push_opaque(self.group_id)
        w.push_uint64(self.group_seq)
        w.push_opaque(self.sender_device.encode())
        w.push_opaque(self.message)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        start = r.position
        version = r.pull_uint16()
        if version != ENVELOPE_VERSION:
            raise DecodeError(f"unsupported envelope version {version}", start)
        kind = r.pull_enum(EnvelopeKind, "envelope kind")
        group_id, group_seq = r.pull_opaque(), r.pull_uint64()
        sender = r.pull_utf8("sender device id")
        return cls(kind, group_id, group_seq, sender, r.pull_opaque())
