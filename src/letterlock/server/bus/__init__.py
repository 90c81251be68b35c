"""Wake-ups between the code that fills a mailbox and the WebSocket that drains it.

The bus carries no messages, only "device X has new mail": the database stays the one
source of truth, so a lost or duplicated wake-up costs a query, never a message. The
in-process bus serves one server process; a Redis pub/sub implementation of the same
:class:`Bus` protocol will serve several nodes.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from .memory import InProcessBus

__all__ = ["Bus", "InProcessBus", "Subscription"]


class Subscription(Protocol):
    async def wait(self) -> None:
        """Return once something was published for this device since the last call."""


class Bus(Protocol):
    async def publish(self, device_id: str) -> None:
        """Wake every subscriber of ``device_id`` (on any node)."""

    def subscribe(self, device_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Listen for ``device_id`` for the duration of the ``async with`` block."""
