"""The in-process bus: one asyncio.Event per subscription."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from letterlock.server.store.rows import MailboxEntry

__all__ = ["MAX_HINTS", "InProcessBus", "InProcessSubscription"]

# Hints kept per subscription; past this the subscriber reads the mailbox instead.
MAX_HINTS = 256


class InProcessSubscription:
    __slots__ = ("_event", "_hinted", "_hints")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._hints: list[MailboxEntry] | None = None  # created on first use: idle is cheap
        self._hinted = True  # every wake-up since the last take came with a hint

    def notify(self, hint: MailboxEntry | None = None) -> None:
        if hint is None:
            self._hinted = False
        elif self._hinted:
            if self._hints is None:
                self._hints = []
            self._hints.append(hint)
            if len(self._hints) > MAX_HINTS:
                self._hinted = False
        self._event.set()

    def take_hints(self) -> list[MailboxEntry] | None:
        hints, hinted = self._hints, self._hinted
        self._hints, self._hinted = None, True
        return (hints or []) if hinted else None

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()


class InProcessBus:
    """Fan-out within one event loop (the embedded, single-process server)."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[InProcessSubscription]] = defaultdict(set)
        self._revocation_handlers: list[Callable[[str | None], None]] = []

    async def publish_revocation(self, device_id: str) -> None:
        """Every handler hears it before this returns (they share this process)."""
        for handler in self._revocation_handlers:
            handler(device_id)

    def on_revocation(self, handler: Callable[[str | None], None]) -> None:
        self._revocation_handlers.append(handler)

    async def publish(self, device_id: str, hint: MailboxEntry | None = None) -> None:
        for subscription in self._subscribers.get(device_id, ()):
            subscription.notify(hint)

    @asynccontextmanager
    async def subscribe(self, device_id: str) -> AsyncIterator[InProcessSubscription]:
        subscription = InProcessSubscription()
        self._subscribers[device_id].add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[device_id].discard(subscription)
            if not self._subscribers[device_id]:
                del self._subscribers[device_id]
