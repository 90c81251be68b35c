"""The client's signed statements are byte-for-byte the server's, and a real in-process
server accepts them (register, login, KeyPackage upload)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st

from letterlock.client import Client
from letterlock.client import statements as client_statements
from letterlock.crypto import SeededRandom
from letterlock.server.app import create_app
from letterlock.server.services import statements as server_statements
from letterlock.server.settings import Settings

handles = st.text(max_size=40)
keys = st.binary(max_size=64)
nonces = st.binary(max_size=64)
suites = st.integers(0, 2**64 - 1)


@given(handles, keys, suites, nonces, suites, st.text(max_size=40))
def test_same_bytes_as_the_server(handle: str, key: bytes, suite: int, nonce: bytes,
                                  expires_at: int, device_id: str) -> None:
    pairs = [
        (client_statements.register_statement(handle, key, suite),
         server_statements.register_statement(handle, key, suite)),
        (client_statements.auth_statement(device_id, nonce),
         server_statements.auth_statement(device_id, nonce)),
        (client_statements.add_device_statement(handle, key, suite, nonce, expires_at),
         server_statements.add_device_statement(handle, key, suite, nonce, expires_at)),
        (client_statements.remove_device_statement(handle, device_id, nonce, expires_at),
         server_statements.remove_device_statement(handle, device_id, nonce, expires_at)),
    ]
    for ours, theirs in pairs:
        assert ours == theirs
    assert client_statements.AUTH == server_statements.AUTH


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
