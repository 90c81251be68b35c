"""Device authentication: challenge, signature, short-lived bearer token. No passwords.

A device asks for a challenge (a random single-use nonce with an expiry), signs the auth
statement over it with its registered Ed25519 key, and receives a bearer token bound to
that device. The store keeps only the token's SHA-256; removing the device deletes its
tokens, so revocation is immediate.

Every request authenticates, so a token's device is remembered, keyed by the token's hash,
never past the token's own expiry. An entry is fresh for up to :data:`CACHE_SECONDS`; a request
that finds it stale is served from it while one background read checks the token again
(and drops the entry if the token or its device is gone). So a busy device never waits
for that read: before, every connected device's token went stale at the same moment
after a restart, and their reads, queued together, held up sends for a fifth of a second
every few seconds. An entry is dropped as soon as a revocation arrives, and a read that
was under way when one arrived does not put the entry back.
Removing a device through :class:`~.accounts.AccountService` awaits
:meth:`AuthService.revoke_device` before the removal returns: it forgets the device's
entries on this node and, once the app has attached the bus
(:meth:`AuthService.attach_bus`), publishes the revocation so that every other node of a
cluster forgets them too, as soon as the bus delivers it (milliseconds) rather than when
the cache entry expires. If the bus loses revocations (Redis reconnects), the nodes drop
their whole cache.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass

from letterlock.protocol import statements
from letterlock.server.bus import Bus
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, RELAXED, Store
from letterlock.server.store import accounts as db
from letterlock.server.store import auth as auth_db
from letterlock.server.store.rows import DeviceRow

from ._common import Nonce, Random, secret_hash, system_random
from ._signatures import verify_statement
from .errors import NotFound, Unauthorized

__all__ = ["CACHE_SECONDS", "AuthService", "IssuedToken"]

log = logging.getLogger("letterlock.server.auth")

CACHE_SECONDS = 5
CACHE_LIMIT = 100_000
# Background re-checks of stale entries run this many at a time, and an entry is fresh
# for CACHE_SECONDS minus up to CACHE_JITTER seconds: devices that logged in together
# (every one, after a restart) would otherwise go stale together, and their re-checks,
# all at once, still took ~0.1 s of the server's loop every few seconds.
REFRESH_CONCURRENCY = 2
CACHE_JITTER = 2


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: int


class AuthService:
    def __init__(self, store: Store, settings: Settings, random: Random = system_random) -> None:
        self._store = store
        self._settings = settings
        self._random = random
        # token hash -> (device, fresh until, token expires at); see the module docstring.
        self._cache: dict[bytes, tuple[DeviceRow, int, int]] = {}
        # Bumped by every revocation: a lookup that started before one does not cache.
        self._revocations = 0
        self._refreshing: set[bytes] = set()
        self._refresh_slots = asyncio.Semaphore(REFRESH_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._bus: Bus | None = None

    def attach_bus(self, bus: Bus) -> None:
        """Share revocations with the other nodes over ``bus`` (the app does this at start)."""
        self._bus = bus
        bus.on_revocation(self._revoked)

    async def challenge(self, device_id: str, now: int) -> Nonce:
        """A fresh challenge for ``device_id``; raises NotFound for an unknown device."""
        challenge = Nonce(self._random(32), now + self._settings.challenge_ttl)
        async with self._store.transaction() as conn:
            if await db.device(conn, device_id) is None:
                raise NotFound("no such device", "no_device")
            await auth_db.add_nonce(conn, challenge.nonce, "auth", device_id,
                                    challenge.expires_at)
        return challenge

    async def token(self, device_id: str, nonce: bytes, signature: bytes,
                    now: int) -> IssuedToken:
        """Redeem a signed challenge for a bearer token.

        Raises Unauthorized when the challenge is unknown, used, expired or not the
        device's, or when the signature does not verify (the challenge is then burnt
        anyway: a challenge gets one attempt).
        """
        async with self._store.transaction() as conn:
            expires_at = await auth_db.take_nonce(conn, nonce, "auth", device_id, now)
            device = await db.device(conn, device_id)
        # The nonce is consumed (committed) before any verdict, so it cannot be retried.
        if expires_at is None or device is None:
            raise Unauthorized("unknown or used challenge", "bad_challenge")
        if expires_at <= now:
            raise Unauthorized("challenge expired", "challenge_expired")
        verify_statement(device.signature_key, statements.auth_statement(device_id, nonce),
                          signature, "challenge")
        token = base64.urlsafe_b64encode(self._random(32)).rstrip(b"=").decode()
        issued = IssuedToken(token, now + self._settings.token_ttl)
        async with self._store.transaction() as conn:
            await auth_db.add_token(conn, secret_hash(token), device_id, now,
                                    issued.expires_at)
        return issued

    async def authenticate(self, token: str, now: int) -> DeviceRow:
        """The device a bearer token stands for; raises Unauthorized otherwise."""
        key = secret_hash(token)
        cached = self._cache.get(key)
        if cached is not None:
            device, fresh_until, expires_at = cached
            if now < fresh_until:
                return device
            if now < expires_at:
                self._refresh(key, now)
                return device
            del self._cache[key]
        return await self._lookup(key, now)

    async def _lookup(self, key: bytes, now: int) -> DeviceRow:
        """Read the token's device and cache it; raises Unauthorized (and forgets the
        token) when the token is unknown or expired or its device is gone."""
        revocations = self._revocations
        async with self._store.transaction(READ_ONLY) as conn:
            found = await auth_db.token_device(conn, key, now)
            device = await db.device(conn, found[0]) if found else None
        if device is None or found is None:
            self._cache.pop(key, None)
            raise Unauthorized("invalid or expired token", "bad_token")
        if revocations == self._revocations:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            fresh = CACHE_SECONDS - self._random(1)[0] % (CACHE_JITTER + 1)
            self._cache[key] = (device, min(now + fresh, found[1]), found[1])
        return device

    def _refresh(self, key: bytes, now: int) -> None:
        """Check a stale entry's token again in the background (once at a time)."""
        if key in self._refreshing:
            return
        self._refreshing.add(key)
        task = asyncio.get_running_loop().create_task(self._refreshed(key, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refreshed(self, key: bytes, now: int) -> None:
        try:
            async with self._refresh_slots:
                await self._lookup(key, now)
        except Unauthorized:
            pass  # _lookup forgot it: the next request is refused
        except Exception as exc:  # the database is unreachable: check again next time
            self._cache.pop(key, None)
            log.warning("could not check a cached token", extra={"error": type(exc).__name__})
        finally:
            self._refreshing.discard(key)

    async def revoke_device(self, device_id: str) -> None:
        """Drop ``device_id``'s cached tokens here and return once every node was told."""
        self._drop(device_id)
        await self._publish(device_id)

    async def _publish(self, device_id: str) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish_revocation(device_id)
        except Exception as exc:  # the bus is down: other nodes' caches expire on their own
            log.warning("could not publish a device revocation",
                        extra={"error": type(exc).__name__})

    def _revoked(self, device_id: str | None) -> None:
        """A revocation from the bus (None: some may have been lost, forget everything)."""
        if device_id is None:
            self._revocations += 1
            self._cache.clear()
        else:
            self._drop(device_id)

    def _drop(self, device_id: str) -> None:
        self._revocations += 1
        for key in [k for k, (d, _, _) in self._cache.items() if d.id == device_id]:
            del self._cache[key]

    async def authenticate_device(self, device_id: str) -> DeviceRow:
        """The device row for an id the caller has authenticated by other means (internal
        callers and tests); raises NotFound."""
        async with self._store.transaction() as conn:
            device = await db.device(conn, device_id)
        if device is None:
            raise NotFound("no such device", "no_device")
        return device

    async def purge_expired(self, now: int) -> None:
        """Forget expired challenges, approval nonces and tokens."""
        async with self._store.transaction(RELAXED) as conn:
            await auth_db.purge_expired(conn, now)
