"""A removed device's token stops working on every node at once, not when another
node's token cache expires: the revocation travels on the bus (in-process and Redis).

The apps' clocks stand still in these tests, so a cached token would stay valid for as
long as the test runs: only the revocation can make another node refuse it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from letterlock.protocol import statements
from letterlock.server.app import create_app
from letterlock.server.bus import Bus, InProcessBus
from letterlock.server.bus.redis import RedisBus
from letterlock.server.services import Services
from letterlock.server.services._common import secret_hash
from letterlock.server.services.auth import CACHE_SECONDS
from letterlock.server.services.errors import Unauthorized
from letterlock.server.settings import Settings
from letterlock.server.store import Store

from .bus.test_redis_bus import redis_url
from .helpers import NOW, Clock, Device, add_device, b64, login, signed_up, unb64

__all__ = ["redis_url"]  # a fixture, imported for these tests


async def _node(settings: Settings, bus: Bus, *, attached: bool = True) -> Services:
    services = Services.build(settings, await Store.open(settings.resolved_database_url()),
                              bus)
    if attached:
        services.auth.attach_bus(bus)  # what the app does at start
    return services


async def _second_device(node: Services, first: Device) -> Device:
    """Register ``first`` and add a second device to its account through ``node``."""
    info = await node.accounts.register(
        first.handle, first.public, first.suite,
        first.sign(statements.register_statement(first.handle, first.public, first.suite)),
        NOW)
    first.device_id = info.device_id
    laptop = Device(first.handle)
    nonce = await node.accounts.nonce(first.handle, "add-device", NOW)
    message = statements.add_device_statement(first.handle, laptop.public, laptop.suite,
                                              nonce.nonce, nonce.expires_at)
    added = await node.accounts.add_device(first.handle, laptop.public, laptop.suite,
                                           first.device_id, nonce.nonce,
                                           first.sign(message), laptop.sign(message), NOW)
    laptop.device_id = added.device_id
    return laptop


async def _token(node: Services, device: Device) -> str:
    challenge = await node.auth.challenge(device.device_id, NOW)
    signature = device.sign(statements.auth_statement(device.device_id, challenge.nonce))
    return (await node.auth.token(device.device_id, challenge.nonce, signature, NOW)).token


async def _remove(node: Services, actor: Device, target_id: str) -> None:
    nonce = await node.accounts.nonce(actor.handle, "remove-device", NOW)
    message = statements.remove_device_statement(actor.handle, target_id, nonce.nonce,
                                                 nonce.expires_at)
    await node.accounts.remove_device(actor.device_id, target_id, nonce.nonce,
                                      actor.sign(message), NOW)


async def _in_process(settings: Settings) -> None:
    bus = InProcessBus()
    node_a, node_b = await _node(settings, bus), await _node(settings, bus)
    # A node that never attached the bus: the behaviour this fixes, for contrast.
    deaf = await _node(settings, InProcessBus(), attached=False)
    try:
        alice = Device("@alice")
        laptop = await _second_device(node_a, alice)
        token = await _token(node_b, laptop)
        for node in (node_b, deaf):  # each node caches the token's device
            assert (await node.auth.authenticate(token, NOW)).id == laptop.device_id

        await _remove(node_a, alice, laptop.device_id)
        # No yield to the loop here: remove_device awaited the revocation, so node B's
        # cache has already dropped the token when it returns (the clock stands still,
        # so a cached entry would still answer, as the deaf node shows below).
        with pytest.raises(Unauthorized):
            await node_b.auth.authenticate(token, NOW)
        with pytest.raises(Unauthorized):
            await node_a.auth.authenticate(token, NOW)
        # without the bus, the cache answers for up to CACHE_SECONDS more
        assert (await deaf.auth.authenticate(token, NOW)).id == laptop.device_id
    finally:
        for node in (node_a, node_b, deaf):
            await node.store.close()


def test_removed_device_token_refused_on_every_node_in_process_bus(
        settings: Settings) -> None:
    asyncio.run(_in_process(settings))


def test_revocation_published_on_one_redis_node_reaches_the_others(redis_url: str) -> None:
    prefix = f"letterlock-test:{uuid.uuid4().hex}:"

    async def scenario() -> None:
        node_a, node_b = (RedisBus(redis_url, channel_prefix=prefix),
                          RedisBus(redis_url, channel_prefix=prefix))
        await node_a.start()
        await node_b.start()
        heard: asyncio.Queue[str | None] = asyncio.Queue()
        node_b.on_revocation(heard.put_nowait)
        try:
            await node_a.publish_revocation("dev-1")
            assert await asyncio.wait_for(heard.get(), 5) == "dev-1"
            async with node_b.subscribe("dev-1") as sub:  # wake-ups still work beside it
                await node_a.publish("dev-1")
                await asyncio.wait_for(sub.wait(), 5)
            assert heard.empty()  # a wake-up is not a revocation
        finally:
            await node_a.close()
            await node_b.close()

    asyncio.run(scenario())


def test_removed_device_token_refused_at_once_on_another_node_redis(
        redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    # Two real app nodes over one PostgreSQL database and one Redis bus.
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, bus_url=redis_url)
    clock = Clock()
    tag = uuid.uuid4().hex[:8]
    with TestClient(create_app(settings, clock=clock)) as node_a, \
            TestClient(create_app(settings, clock=clock)) as node_b:
        alice = signed_up(node_a, f"@alice{tag}")
        laptop = Device(alice.handle)
        laptop.device_id = add_device(node_a, alice, laptop).json()["device_id"]
        login(node_a, laptop)
        assert node_b.get("/v1/keypackages", headers=laptop.headers).status_code == 200

        nonce = node_a.post(f"/v1/accounts/{alice.handle}/nonces",
                            json={"purpose": "remove-device"}).json()
        message = statements.remove_device_statement(
            alice.handle, laptop.device_id, unb64(nonce["nonce"]), nonce["expires_at"])
        removed = node_a.post(f"/v1/devices/{laptop.device_id}/remove",
                              headers=alice.headers,
                              json={"nonce": nonce["nonce"],
                                    "signature": b64(alice.sign(message))})
        assert removed.status_code == 204

        # The clock stands still, so node B's cache alone would accept the token for
        # ever; the revocation reaches it over Redis in milliseconds.
        deadline = time.monotonic() + 2
        while (status := node_b.get("/v1/keypackages",
                                    headers=laptop.headers).status_code) == 200:
            assert time.monotonic() < deadline, "node B still accepts the removed token"
            time.sleep(0.01)
        assert status == 401


async def _stale_entries(settings: Settings) -> None:
    # A node that misses a revocation (no bus here) serves a stale entry once more, checks
    # the token in the background meanwhile, and refuses it from then on; a request never
    # waits for that check.
    source, deaf = await _node(settings, InProcessBus()), await _node(settings, InProcessBus())
    try:
        alice = Device("@alice")
        laptop = await _second_device(source, alice)
        token = await _token(deaf, laptop)
        assert (await deaf.auth.authenticate(token, NOW)).id == laptop.device_id
        await _remove(source, alice, laptop.device_id)
        later = NOW + CACHE_SECONDS + 1
        assert (await deaf.auth.authenticate(token, later)).id == laptop.device_id
        for _ in range(200):  # the background check finishes within a few loop turns
            try:
                await deaf.auth.authenticate(token, later)
            except Unauthorized:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the stale entry was never checked again")
        # A still-valid token is refreshed the same way and keeps working.
        mine = await _token(deaf, alice)
        assert (await deaf.auth.authenticate(mine, NOW)).id == alice.device_id
        for moment in (later, later, later + CACHE_SECONDS + 1):
            assert (await deaf.auth.authenticate(mine, moment)).id == alice.device_id
            await asyncio.sleep(0.05)
    finally:
        for node in (source, deaf):
            await node.store.close()


def test_a_stale_cache_entry_is_served_while_it_is_checked_again(settings: Settings) -> None:
    asyncio.run(_stale_entries(settings))


async def _revoked_mid_lookup(settings: Settings) -> None:
    node = await _node(settings, InProcessBus())
    try:
        alice = Device("@alice")
        laptop = await _second_device(node, alice)
        token = await _token(node, laptop)
        # The lookup reads the token, then a revocation of its device arrives before it
        # returns: it answers (the read was valid) but must not cache what it read.
        lookup = asyncio.ensure_future(node.auth.authenticate(token, NOW))
        await asyncio.sleep(0)
        node.auth._revoked(laptop.device_id)
        assert (await lookup).id == laptop.device_id
        assert secret_hash(token) not in node.auth._cache
        assert (await node.auth.authenticate(token, NOW)).id == laptop.device_id
        assert secret_hash(token) in node.auth._cache  # a lookup with no revocation caches
    finally:
        await node.store.close()


def test_a_lookup_overtaken_by_a_revocation_caches_nothing(settings: Settings) -> None:
    asyncio.run(_revoked_mid_lookup(settings))
