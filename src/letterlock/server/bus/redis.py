"""The Redis bus: wake-ups across server nodes over Redis pub/sub.

Each node holds one pub/sub connection. A device's channel is subscribed while at least
one of its WebSockets is connected to this node (reference-counted), so a node only hears
about devices it serves. ``publish`` goes through Redis even for a device on the same
node: one code path, and Redis is the one place that orders wake-ups.

Wake-ups carry nothing but the channel name; the database holds the messages. If the
Redis connection drops, wake-ups sent meanwhile are lost, so after reconnecting the node
wakes every local subscriber once: each then re-reads its mailbox and misses nothing.

Revocations (a removed device's id, which is public) go on one more channel that every
node subscribes to from :meth:`RedisBus.start`. After a dropped connection the handlers
are told ``None`` (forget every cached credential), since a revocation may have been
lost with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from letterlock.server.store.rows import MailboxEntry

from .memory import InProcessSubscription

__all__ = ["RedisBus"]

log = logging.getLogger("letterlock.server.bus")
CHANNEL_PREFIX = "letterlock:wake:"
# After the prefix; "!" is never part of a device id, so no device's channel is this one.
REVOCATION_CHANNEL = "!revoked"
RECONNECT_DELAY = 1.0


class RedisBus:
    """A :class:`~letterlock.server.bus.Bus` over Redis pub/sub; ``await start()`` first."""

    def __init__(self, url: str, *, channel_prefix: str = CHANNEL_PREFIX) -> None:
        self._url = url
        self._prefix = channel_prefix
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._local: defaultdict[str, set[InProcessSubscription]] = defaultdict(set)
        self._subscribed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._revocation_handlers: list[Callable[[str | None], None]] = []

    async def start(self) -> None:
        """Connect (failing fast if Redis is unreachable) and start listening."""
        self._redis = Redis.from_url(self._url)
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._revocation_channel)
        self._subscribed.set()
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks a hint
        if self._redis is not None:
            await self._redis.aclose()

    def _channel(self, device_id: str) -> str:
        return self._prefix + device_id

    @property
    def _revocation_channel(self) -> str:
        return self._prefix + REVOCATION_CHANNEL

    async def publish_revocation(self, device_id: str) -> None:
        """Tell every node (this one through Redis as well) that ``device_id`` is gone."""
        assert self._redis is not None, "RedisBus.start() was not awaited"
        await self._redis.publish(self._revocation_channel, device_id.encode())

    def on_revocation(self, handler: Callable[[str | None], None]) -> None:
        self._revocation_handlers.append(handler)

    def _revoked(self, device_id: str | None) -> None:
        for handler in self._revocation_handlers:
            try:
                handler(device_id)
            except Exception:  # one broken handler must not stop the reader
                log.exception("revocation handler failed")

    async def publish(self, device_id: str, hint: MailboxEntry | None = None) -> None:
        """Wake ``device_id`` on every node; the ``hint`` is not sent (subscribers read the
        mailbox, which every node shares)."""
        del hint
        assert self._redis is not None, "RedisBus.start() was not awaited"
        await self._redis.publish(self._channel(device_id), b"")

    @contextlib.asynccontextmanager
    async def subscribe(self, device_id: str) -> AsyncIterator[InProcessSubscription]:
        assert self._pubsub is not None, "RedisBus.start() was not awaited"
        subscription = InProcessSubscription()
        async with self._lock:
            first = not self._local[device_id]
            self._local[device_id].add(subscription)
            if first:
                await self._pubsub.subscribe(self._channel(device_id))
                self._subscribed.set()
        try:
            yield subscription
        finally:
            async with self._lock:
                self._local[device_id].discard(subscription)
                if not self._local[device_id]:
                    del self._local[device_id]
                    with contextlib.suppress(RedisError):
                        await self._pubsub.unsubscribe(self._channel(device_id))

    def _wake_all(self) -> None:
        for subscriptions in self._local.values():
            for subscription in subscriptions:
                subscription.notify()

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            # redis-py's get_message needs at least one subscription to read from.
            await self._subscribed.wait()
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning("redis bus connection lost; reconnecting",
                            extra={"error": type(exc).__name__})
                await asyncio.sleep(RECONNECT_DELAY)
                self._wake_all()  # wake-ups may have been lost meanwhile
                self._revoked(None)  # and so may revocations
                continue
            if not self._pubsub.subscribed:
                self._subscribed.clear()
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            if name == self._revocation_channel:
                data = message.get("data")
                self._revoked(data.decode() if isinstance(data, bytes) else str(data))
                continue
            for subscription in self._local.get(name.removeprefix(self._prefix), ()):
                subscription.notify()
