"""Test doubles for the client tests: a processor that reads plain Content payloads (the
group layer will supply the real one), and a running ``letterlock serve``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from letterlock.client import (
    Client,
    Error,
    Event,
    GroupStates,
    InboundEntry,
    InboundMessage,
    Processed,
    ProcessingError,
    StateChange,
)
from letterlock.client.content import decode_content
from letterlock.codec import DecodeError
from letterlock.server.process import ServerProcess

CONVERSATION = b"test-conversation"


class PlainContentProcessor:
    """Treats each payload as encoded Content of one conversation and counts entries in
    that conversation's "group state", so state writes go through the same transaction."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def process(self, entry: InboundEntry, states: GroupStates) -> Processed:
        self.calls.append(entry.seq)
        try:
            content = decode_content(entry.payload)
        except DecodeError as exc:
            raise ProcessingError(str(exc)) from None
        count = int(states.get(CONVERSATION) or b"0") + 1
        return Processed((StateChange(CONVERSATION, str(count).encode()),),
                         InboundMessage(CONVERSATION, entry.sender_device_id or "?", content))


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """A ``letterlock serve`` process on a free loopback port; yields its base URL.

    Its logs go to files in ``data_dir``: an undrained pipe fills up (64 KiB) and then
    blocks the server mid-request, which the tests would see as read timeouts.
    """
    with ServerProcess(data_dir, data_dir) as server:
        yield server.url


class Events:
    """Consumes a client's events in the background; tests wait for the ones they need."""

    def __init__(self) -> None:
        self.seen: list[Event] = []
        self._queue: asyncio.Queue[Event] = asyncio.Queue()

    async def pump(self, client: Client) -> None:
        async for event in client.events():
            self.seen.append(event)
            self._queue.put_nowait(event)

    async def wait(self, predicate: Callable[[Event], bool], timeout: float = 15) -> Event:
        async def first() -> Event:
            while True:
                event = await self._queue.get()
                if isinstance(event, Error) and event.fatal:
                    raise AssertionError(f"receiver stopped: {event.message}")
                if predicate(event):
                    return event

        return await asyncio.wait_for(first(), timeout)


@asynccontextmanager
async def receiving(client: Client) -> AsyncIterator[Events]:
    """Pump ``client``'s events in a background task for the block's duration."""
    events = Events()
    task = asyncio.create_task(events.pump(client))
    try:
        yield events
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
