"""The Redis bus wakes a device's WebSocket on whichever node it is connected to."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from letterlock.server.app import create_app
from letterlock.server.bus.redis import RedisBus
from letterlock.server.settings import Settings

from ..helpers import Clock, b64, signed_up, unb64

REDIS = os.environ.get("LETTERLOCK_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("LETTERLOCK_REQUIRE_SERVICES") == "1"


@pytest.fixture
def redis_url() -> str:
    async def ping() -> None:
        bus = RedisBus(REDIS)
        try:
            await bus.start()
        finally:
            await bus.close()

    try:
        asyncio.run(ping())
    except Exception as exc:
        reason = f"Redis at {REDIS} unreachable: {type(exc).__name__}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS


def test_publish_reaches_a_subscriber_on_another_node(redis_url: str) -> None:
    prefix = f"letterlock-test:{uuid.uuid4().hex}:"

    async def scenario() -> None:
        node_a, node_b = RedisBus(redis_url, channel_prefix=prefix), \
            RedisBus(redis_url, channel_prefix=prefix)
        await node_a.start()
        await node_b.start()
        try:
            async with node_b.subscribe("dev-1") as sub, node_b.subscribe("dev-1") as sub2:
                await node_a.publish("dev-1")
                await asyncio.wait_for(sub.wait(), 5)
                await asyncio.wait_for(sub2.wait(), 5)
                await node_a.publish("dev-2")  # someone else's: no wake-up
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(sub.wait(), 0.3)
            # after the last local subscriber left, the node no longer listens
            async with node_b.subscribe("dev-3") as sub3:
                await node_a.publish("dev-3")
                await asyncio.wait_for(sub3.wait(), 5)
        finally:
            await node_a.close()
            await node_b.close()

    asyncio.run(scenario())


def test_two_nodes_share_database_and_bus(redis_url: str, postgres_url: str,
                                          tmp_path: Path) -> None:
    # Several nodes need a shared database: PostgreSQL (the session's test database).
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, bus_url=redis_url)
    clock = Clock()
    tag = uuid.uuid4().hex[:8]
    with TestClient(create_app(settings, clock=clock)) as node_a, \
            TestClient(create_app(settings, clock=clock)) as node_b:
        alice, bob = signed_up(node_a, f"@alice{tag}"), signed_up(node_a, f"@bob{tag}")
        with node_b.websocket_connect("/v1/ws", headers=bob.headers) as ws:
            assert ws.receive_json()["type"] == "hello"
            sent = node_a.post("/v1/messages", headers=alice.headers, json={
                "client_msg_id": "m1", "recipients": [bob.device_id],
                "payload": b64(b"across nodes")})
            assert sent.status_code == 200
            pushed = ws.receive_json()
            assert (pushed["type"], unb64(pushed["payload"])) == ("message", b"across nodes")
