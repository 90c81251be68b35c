"""Backoff with injected jitter, reconnects, and typed server errors — no real server."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest

from letterlock.client import (
    Client,
    ConflictError,
    ConnectionState,
    ConnectionStatus,
    NotRegistered,
    RejectedError,
    ServerError,
)
from letterlock.client.store import AccountRow
from letterlock.client.transport import Api, Backoff
from letterlock.crypto import SeededRandom
from letterlock.server.process import free_port

from .helpers import PlainContentProcessor


def test_full_jitter_is_uniform_under_a_doubling_cap() -> None:
    assert [Backoff(lambda: 0.999, base=0.5, cap=10).delay(n) for n in range(7)] == \
        pytest.approx([0.4995, 0.999, 1.998, 3.996, 7.992, 9.99, 9.99])
    assert Backoff(lambda: 0.0).delay(5) == 0.0
    assert Backoff(lambda: 0.5, cap=60).delay(10_000) == 30.0  # no overflow


def test_receiver_reconnects_with_backoff(tmp_path: Path) -> None:
    """Against a closed port: CONNECTING, DISCONNECTED(retry_in from the injected jitter),
    and the injected sleep is called with exactly those delays."""
    jitter = itertools.cycle([0.25, 0.5, 1.0 - 1e-9])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def scenario() -> list[ConnectionState]:
        seen: list[ConnectionState] = []
        async with Client.open(tmp_path, processor=PlainContentProcessor(),
                               jitter=lambda: next(jitter), sleep=sleep,
                               rng=SeededRandom(b"t")) as client:
            # a registered profile whose server is gone
            await client.store.transaction(lambda tx: tx.put_secret(
                "device_signature_private_key", b"\x01" * 32))
            await client.store.transaction(lambda tx: tx.save_account(AccountRow(
                "@alice", f"http://127.0.0.1:{free_port()}", "0" * 32, 1, b"\x02" * 32, 0)))
        async with Client.open(tmp_path, processor=PlainContentProcessor(),
                               jitter=lambda: next(jitter), sleep=sleep,
                               rng=SeededRandom(b"t")) as client:
            async for event in client.events():
                assert isinstance(event, ConnectionState)
                seen.append(event)
                if len(seen) == 6:
                    break
        return seen

    seen = asyncio.run(scenario())
    assert [e.status for e in seen] == [ConnectionStatus.CONNECTING,
                                        ConnectionStatus.DISCONNECTED] * 3
    assert [e.attempt for e in seen] == [0, 0, 1, 1, 2, 2]
    delays = [e.retry_in for e in seen[1::2]]
    assert delays == pytest.approx([0.125, 0.5, 2.0 - 4e-9])
    assert slept == pytest.approx(delays)
    assert all(e.reason for e in seen[1::2])


def _api(handler: httpx.MockTransport) -> Api:
    api = Api("http://server.test", transport=handler)
    api.device_id = "d" * 32
    api.signer = lambda message: b"sig"
    return api


def test_error_bodies_become_typed_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/accounts":
            return httpx.Response(409, json={"error": "handle_taken", "detail": "taken"})
        return httpx.Response(502, text="<html>bad gateway</html>")

    async def scenario() -> None:
        api = _api(httpx.MockTransport(handler))
        with pytest.raises(ConflictError) as conflict:
            await api.register("@alice", b"k" * 32, 1, b"s", None)
        assert (conflict.value.status, conflict.value.code) == (409, "handle_taken")
        with pytest.raises(ServerError) as other:
            await api.call("GET", "/v1/anything", auth=False)
        assert other.value.code == "http_error" and other.value.status == 502
        await api.aclose()

    asyncio.run(scenario())


def test_401_logs_in_again_once_and_retries() -> None:
    tokens = iter(["t1", "t2", "t3"])
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/challenge":
            return httpx.Response(200, json={"nonce": "bm9uY2U=", "expires_at": 1})
        if request.url.path == "/v1/auth/token":
            return httpx.Response(200, json={"token": next(tokens), "expires_at": 1})
        seen.append(request.headers.get("authorization"))
        if request.headers.get("authorization") == "Bearer t1":
            return httpx.Response(401, json={"error": "bad_token", "detail": "expired"})
        if request.url.path == "/v1/bad":
            return httpx.Response(400, json={"error": "bad_input", "detail": "no"})
        return httpx.Response(200, json={"remaining": 3, "low": True})

    async def scenario() -> None:
        api = _api(httpx.MockTransport(handler))
        status = await api.pool_status()
        assert (status.remaining, status.low) == (3, True)
        assert seen == ["Bearer t1", "Bearer t2"]
        with pytest.raises(RejectedError):
            await api.call("GET", "/v1/bad")
        await api.aclose()

    asyncio.run(scenario())


def test_unregistered_profile_cannot_list_devices(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Client.open(tmp_path) as client:
            with pytest.raises(NotRegistered):
                client.account()
            with pytest.raises(NotRegistered):
                await client.devices()

    asyncio.run(scenario())
