"""The in-process bus: one asyncio.Event per subscription."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["InProcessBus", "InProcessSubscription"]


class InProcessSubscription:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()


class InProcessBus:
    """Fan-out within one event loop (the embedded, single-process server)."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[InProcessSubscription]] = defaultdict(set)

    async def publish(self, device_id: str) -> None:
        for subscription in self._subscribers.get(device_id, ()):
            subscription.notify()

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
