"""The receive pipeline: mailbox entry → processor → one local transaction → ack.

The seam for the group layer is :class:`Processor`. For each mailbox entry the pipeline
runs, inside ONE SQLite transaction on the store's thread:

1. skip the entry if its server sequence is at or below the last processed one (it was
   committed before a crash, but the ack never reached the server);
2. ``processor.process(entry, states)``: pure, synchronous work (MLS decryption, say)
   that may read group states and KeyPackage secrets through ``states`` and returns a
   :class:`Processed`: the group-state writes, the KeyPackage secrets to delete, the
   events to show and, optionally, one message for the history;
3. write the state changes, delete the used KeyPackage secrets, insert the history
   entry (a repeated ``(sender, client_message_id)`` is recognised and not shown again),
   and advance the processed sequence.

Only after that transaction commits does the caller acknowledge the entry to the server.
So an entry is either wholly applied and remembered, or not applied at all, and a crash
between commit and ack costs one harmless redelivery.

A processor raises :class:`~letterlock.client.errors.ProcessingError` for invalid input:
the entry is then marked processed (nothing else is written) and acknowledged, so a bad
entry cannot wedge the mailbox. :class:`~letterlock.client.errors.UnknownIdentity` rolls
the transaction back and propagates: the caller looks the handles up (I/O has no place
inside the transaction) and applies the entry again. Any other exception rolls the
transaction back and stops the receiver: it is a bug, and retrying the same entry would
hit it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .content import Content, encode_content
from .errors import ProcessingError
from .events import Error as ErrorEvent
from .events import Event, MessageReceived
from .store import HistoryRow, KeyPackageSecret, Store, Tx

__all__ = [
    "GroupStates",
    "InboundEntry",
    "InboundMessage",
    "Pipeline",
    "Processed",
    "Processor",
    "StateChange",
]


@dataclass(frozen=True, slots=True)
class InboundEntry:
    """One mailbox entry as the server delivered it: opaque bytes and routing metadata."""

    seq: int
    sender_device_id: str | None
    payload: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class StateChange:
    """Replace the stored state of ``group_id`` (``state`` None deletes it)."""

    group_id: bytes
    state: bytes | None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message for the history. ``sender`` is the authenticated sender (for MLS, from
    the sender's credential), never the server's claim. ``group_seq`` is its place in
    the conversation (if the processor knows it); ``late``: it fills a gap reported
    before."""

    conversation_id: bytes
    sender: str
    content: Content
    group_seq: int | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class Processed:
    """What one entry changes: state writes, KeyPackage secrets used up (by ref), events
    to show (before the message's MessageReceived), and the message for the history."""

    state_changes: tuple[StateChange, ...] = ()
    message: InboundMessage | None = None
    events: tuple[Event, ...] = ()
    used_key_packages: tuple[bytes, ...] = ()


class GroupStates(Protocol):
    """Read access to stored group states and KeyPackage secrets, inside the
    pipeline's transaction."""

    def get(self, group_id: bytes) -> bytes | None: ...

    def key_package(self, ref: bytes) -> KeyPackageSecret | None: ...


class Processor(Protocol):
    """Turns a mailbox entry into state changes and history (the group layer's job).

    Must be deterministic over (entry, states) and do no I/O: it runs inside the
    transaction. Raise ProcessingError for input that is not acceptable.
    """

    def process(self, entry: InboundEntry, states: GroupStates) -> Processed: ...


class _TxStates:
    __slots__ = ("_tx",)

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def get(self, group_id: bytes) -> bytes | None:
        return self._tx.group_state(group_id)

    def key_package(self, ref: bytes) -> KeyPackageSecret | None:
        return self._tx.key_package(ref)


class Pipeline:
    """Applies entries one at a time; see the module docstring."""

    def __init__(self, store: Store, processor: Processor,
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._processor = processor
        self._clock = clock

    async def apply(self, entry: InboundEntry) -> list[Event]:
        """Process and commit ``entry``; returns the events to show (none: nothing new).

        The caller acknowledges ``entry.seq`` to the server after this returns.

        :raises UnknownIdentity: look the handles up, then apply the entry again.
        """
        now = int(self._clock())
        return await self._store.transaction(lambda tx: self._apply(tx, entry, now))

    def _apply(self, tx: Tx, entry: InboundEntry, now: int) -> list[Event]:
        processed_seq, _acked = tx.mailbox_cursor()
        if entry.seq <= processed_seq:
            return []  # committed before; only the ack was lost
        try:
            result = self._processor.process(entry, _TxStates(tx))
        except ProcessingError as exc:
            tx.set_processed(entry.seq)
            return [ErrorEvent(f"rejected mailbox entry: {exc}", seq=entry.seq)]
        for change in result.state_changes:
            if change.state is None:
                tx.delete_group_state(change.group_id)
            else:
                tx.put_group_state(change.group_id, change.state, now)
        for ref in result.used_key_packages:
            tx.delete_key_package(ref)
        tx.set_processed(entry.seq)
        events = list(result.events)
        message = result.message
        if message is None:
            return events
        content = message.content
        fresh = tx.add_message(HistoryRow(
            message.conversation_id, message.sender, content.client_message_id, entry.seq,
            content.sent_at_ms, now, encode_content(content)))
        if fresh:  # else the same message arrived again under another sequence
            events.append(MessageReceived(entry.seq, message.conversation_id, message.sender,
                                          content, now, message.group_seq, message.late))
        return events
