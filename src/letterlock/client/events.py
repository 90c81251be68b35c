"""What the SDK tells the application: one small frozen dataclass per event.

:meth:`letterlock.client.Client.events` yields these, in order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .content import Content

__all__ = [
    "CommitDue",
    "ConnectionState",
    "ContactDevicesChanged",
    "ConnectionStatus",
    "ConversationJoined",
    "DeliveryGap",
    "DeliveryStatus",
    "DeviceRemovedFromAccount",
    "Error",
    "Event",
    "KeyPackagesLow",
    "MembershipChanged",
    "MessageDelivery",
    "MessageReceived",
    "NewDeviceOnAccount",
    "RemovedFromConversation",
    "SplitViewAlert",
]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message committed to local history (shown once, whatever the redeliveries).

    ``seq`` is the mailbox sequence; ``group_seq`` the conversation's own order (None
    if unknown). ``late``: it fills a gap reported earlier (a DeliveryGap with this
    conversation covered ``group_seq``): it was reordered on its way, not lost, and
    belongs before messages already shown.
    """

    seq: int
    conversation_id: bytes
    sender: str
    content: Content
    received_at: int
    group_seq: int | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryGap:
    """Entries ``first..last`` have not arrived.

    Without ``conversation_id``: mailbox sequences deleted by server retention (they
    never will). With it: that conversation's group sequences (the server's per-group
    order) skipped; one that turns up later comes as a MessageReceived with ``late``.
    """

    first: int
    last: int
    conversation_id: bytes | None = None


class DeliveryStatus(enum.Enum):
    """Where a message this device sent stands with the server."""

    PENDING = "pending"  # in the outbox: the server could not be reached; retried
    SENT = "sent"        # the server accepted it (it fans out to the members)
    FAILED = "failed"    # it never will be sent (e.g. we left or were removed)


@dataclass(frozen=True, slots=True)
class MessageDelivery:
    """A message of ours that did not go out at once: queued in the outbox
    (PENDING), sent later on a reconnect (SENT; only after a PENDING), or given up
    (FAILED, with ``detail``). The text stays in the local history either way."""

    conversation_id: bytes
    client_message_id: bytes
    status: DeliveryStatus
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationJoined:
    """A Welcome added this device to a conversation, by ``by`` (a handle)."""

    conversation_id: bytes
    by: str
    members: tuple[str, ...]
    direct: bool


@dataclass(frozen=True, slots=True)
class MembershipChanged:
    """A commit changed who is in the conversation (handles; ``by`` committed it).

    ``added``/``removed`` are accounts that joined or left entirely; a new or removed
    device of an account that stays counts in ``devices_added``/``devices_removed``.
    """

    conversation_id: bytes
    by: str
    epoch: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    devices_added: int = 0
    devices_removed: int = 0


@dataclass(frozen=True, slots=True)
class RemovedFromConversation:
    """A commit by ``by`` removed this device; the conversation is read-only now."""

    conversation_id: bytes
    by: str


@dataclass(frozen=True, slots=True)
class CommitDue:
    """Proposals (a member's request to leave) wait for a commit, and this device is
    the one to make it. The client acts on it itself; applications may ignore it."""

    conversation_id: bytes


@dataclass(frozen=True, slots=True)
class KeyPackagesLow:
    """The server's one-time KeyPackage pool for this device is low (``remaining``)."""

    remaining: int


class ConnectionStatus(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """The mailbox connection changed state; ``retry_in`` is set while backing off."""

    status: ConnectionStatus
    attempt: int = 0
    retry_in: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """Something went wrong that the application should know of.

    ``seq`` names the mailbox entry concerned, if any. ``fatal`` means the receiver
    stopped (an internal error: retrying the same entry would fail again); otherwise the
    entry was rejected as invalid input, skipped and acknowledged.
    """

    message: str
    seq: int | None = None
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class NewDeviceOnAccount:
    """SECURITY: the key-transparency log shows a device on *our own* account that this
    device did not link (``known_device``: a device id we know, with another key).

    A device this one approved (:meth:`Client.approve_link`), and the devices a newly
    linked device was told of and found in the log, raise none. Otherwise either the
    account's owner linked it from another device, or the server added a ghost device
    or swapped a key to read future messages. Show it prominently.
    """

    handle: str
    device_id: str
    index: int
    timestamp: int
    known_device: bool = False


@dataclass(frozen=True, slots=True)
class DeviceRemovedFromAccount:
    """SECURITY: the key-transparency log shows a device removed from *our own* account
    (``device_id``, at log ``index``) that this device did not remove.

    Another of the owner's devices may have removed it; otherwise someone holding one
    of the account's devices did, or the server is rewriting the account. Show it.
    """

    handle: str
    device_id: str
    index: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class SplitViewAlert:
    """SECURITY: the log showed someone a tree head that is not consistent with ours
    (two histories: the server may be showing different key directories to different
    users). ``conversation_id``/``sender`` say where the other head came from (gossip),
    None when our own checks found it."""

    detail: str
    conversation_id: bytes | None = None
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class ContactDevicesChanged:
    """A contact's log-verified device list changed since we last looked.

    ``reason``: "new device logged", "device removed", or "unexplained" (a device
    appeared without a new log entry, or vanished without a removal entry: the log
    left something out of one of its answers). Safety numbers with them change.
    """

    handle: str
    reason: str


Event = (MessageReceived | DeliveryGap | KeyPackagesLow | ConnectionState | Error
         | ConversationJoined | MembershipChanged | RemovedFromConversation | CommitDue
         | NewDeviceOnAccount | SplitViewAlert | ContactDevicesChanged | MessageDelivery
         | DeviceRemovedFromAccount)
