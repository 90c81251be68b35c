"""Wake-ups between the code that fills a mailbox and the WebSocket that drains it.

The bus carries no messages, only "device X has new mail": the database stays the one
source of truth, so a lost or duplicated wake-up costs a query, never a message. The
in-process bus serves one server process; a Redis pub/sub implementation of the same
:class:`Bus` protocol will serve several nodes.

The bus also carries *revocations*: "device X was removed, drop what you cached for it".
Each node caches token lookups for a few seconds (``services/auth.py``); a revocation
published on one node reaches every node's handler at once, so a removed device's token
stops working everywhere, not just where it was removed. A node that may have missed
revocations (the Redis connection dropped) tells its handlers ``None``: forget all.

A publisher may attach the committed entry as a *hint*. The in-process bus hands hints to
the local subscriber, which pushes them without a query when they continue exactly where
it is (see ``api/ws.py``); anything else (a gap, an overflow, no hint, the Redis bus,
which only wakes) falls back to reading the mailbox. A hint is never the only copy.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from letterlock.server.store.rows import MailboxEntry

from .memory import InProcessBus

__all__ = ["Bus", "InProcessBus", "RevocationHandler", "Subscription"]

# Called with a removed device's id, or with None when revocations may have been lost.
RevocationHandler = Callable[[str | None], None]


class Subscription(Protocol):
    async def wait(self) -> None:
        """Return once something was published for this device since the last call."""

    def take_hints(self) -> list[MailboxEntry] | None:
        """The hints published since the last call, in publication order; None when some
        wake-up came without one (or too many piled up): then read the mailbox."""


class Bus(Protocol):
    async def publish(self, device_id: str, hint: MailboxEntry | None = None) -> None:
        """Wake every subscriber of ``device_id`` (on any node), with the committed entry
        that caused it as an optional ``hint``."""

    def subscribe(self, device_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Listen for ``device_id`` for the duration of the ``async with`` block."""

    async def publish_revocation(self, device_id: str) -> None:
        """Tell every node, this one included, that ``device_id`` was removed."""

    def on_revocation(self, handler: RevocationHandler) -> None:
        """Call ``handler`` with each revoked device id published on any node (and with
        None when some may have been missed). Handlers must not block."""
