"""A real in-process server accepts what the client signs (register, login, KeyPackage
upload): both sides build statements with :mod:`letterlock.protocol.statements`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from letterlock.client import Client
from letterlock.crypto import SeededRandom
from letterlock.server.app import create_app
from letterlock.server.settings import Settings


def test_in_process_server_accepts_the_client(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "server"))

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with Client.open(tmp_path / "profile", http_transport=transport,
                                   rng=SeededRandom(b"alice"), key_package_batch=12) as alice:
                account = await alice.register("@alice", "http://server.test")
                (device,) = await alice.devices()  # a bearer token from the auth statement
                assert device.current and device.device_id == account.device_id
                assert device.signature_key == account.signature_key
                status = await alice.api.pool_status()
                assert (status.remaining, status.low) == (12, False)
                assert await alice.store.key_package_count() == 12
                assert await alice.store.key_package_count(last_resort=True) == 1

    asyncio.run(scenario())
