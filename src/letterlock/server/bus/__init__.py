"""Wake-ups between the code that fills a mailbox and the WebSocket that drains it.

The bus carries no messages, only "device X has new mail": the database stays the one
source of truth, so a lost or duplicated wake-up costs a query, never a message. The
in-process bus serves one server process; a Redis pub/sub implementation of the same
:class:`Bus` protocol will serve several nodes.

A publisher may attach the committed entry as a *hint*. The in-process bus hands hints to
the local subscriber, which pushes them without a query when they continue exactly where
it is (see ``api/ws.py``); anything else (a gap, an overflow, no hint, the Redis bus,
which only wakes) falls back to reading the mailbox. A hint is never the only copy.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from letterlock.server.store.rows import MailboxEntry

from .memory import InProcessBus

__all__ = ["Bus", "InProcessBus", "Subscription"]


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
