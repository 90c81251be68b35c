"""Concurrent claims and enqueues against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from letterlock.protocol import statements
from letterlock.server.bus import InProcessBus
from letterlock.server.services import Services
from letterlock.server.settings import Settings
from letterlock.server.store import Store, async_url

from ..helpers import NOW, Device


async def _services(url: str, tmp_path: Path) -> Services:
    store = await Store.open(url)
    return Services.build(Settings(data_dir=tmp_path, database_url=url), store, InProcessBus())


async def _register(svc: Services, device: Device) -> Device:
    info = await svc.accounts.register(
        device.handle, device.public, device.suite,
        device.sign(statements.register_statement(device.handle, device.public, device.suite)),
        NOW)
    device.device_id = info.device_id
    return device


async def _claims(url: str, tmp_path: Path) -> None:
    svc = await _services(url, tmp_path)
    try:
        bob = await _register(svc, Device("@bob"))
        row = await svc.auth.authenticate_device(bob.device_id)
        pool = [bob.key_package() for _ in range(12)]
        resort = bob.key_package()
        await svc.keypackages.upload(row, pool, resort, NOW)
        results = await asyncio.gather(*(svc.keypackages.claim("@bob", NOW)
                                         for _ in range(20)))
        handed = [c.key_package for r in results for c in r if not c.last_resort]
        assert sorted(handed) == sorted(pool)  # each exactly once
        fallback = [c.key_package for r in results for c in r if c.last_resort]
        assert fallback == [resort] * 8
        assert (await svc.keypackages.status(row)).remaining == 0
    finally:
        await svc.store.close()


async def _enqueues(url: str, tmp_path: Path) -> None:
    svc = await _services(url, tmp_path)
    try:
        alice = await _register(svc, Device("@alice"))
        bob = await _register(svc, Device("@bob"))
        sends = [svc.mailbox.send(alice.device_id, f"m{i}", [bob.device_id, alice.device_id],
                                  f"{i}".encode(), NOW) for i in range(15)]
        retries = [svc.mailbox.send(alice.device_id, "m0", [bob.device_id], b"0", NOW)
                   for _ in range(5)]
        results = await asyncio.gather(*sends, *retries)
        assert sum(not r.duplicate for r in results) == 15
        page = await svc.mailbox.fetch(bob.device_id, 0, NOW)
        assert [e.seq for e in page.entries] == list(range(1, 16))
        assert sorted(e.payload for e in page.entries) == sorted(
            f"{i}".encode() for i in range(15))
    finally:
        await svc.store.close()


def test_concurrent_claims_never_hand_out_a_key_package_twice(database_url: str,
                                                              tmp_path: Path) -> None:
    asyncio.run(_claims(database_url, tmp_path))


def test_concurrent_sends_get_distinct_sequences(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_enqueues(database_url, tmp_path))


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ("postgresql://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
    ("postgresql+asyncpg://h/db", "postgresql+asyncpg://h/db"),
])
def test_async_url(url: str, expected: str) -> None:
    assert async_url(url) == expected


def test_async_url_rejects_other_databases() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://h/db")
