"""What the SDK tells the application: one small frozen dataclass per event.

:meth:`letterlock.client.Client.events` yields these, in order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .content import Content

__all__ = [
    "ConnectionState",
    "ConnectionStatus",
    "DeliveryGap",
    "Error",
    "Event",
    "KeyPackagesLow",
    "MessageReceived",
]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message committed to local history (shown once, whatever the redeliveries)."""

    seq: int
    conversation_id: bytes
    sender: str
    content: Content
    received_at: int


@dataclass(frozen=True, slots=True)
class DeliveryGap:
    """Mailbox entries ``first..last`` were deleted by server retention before arrival."""

    first: int
    last: int


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


Event = MessageReceived | DeliveryGap | KeyPackagesLow | ConnectionState | Error
