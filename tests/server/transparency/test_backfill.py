"""Devices made before the log existed get their ADDED entry when the server starts:
logged once (a second start adds nothing) and provable as a claim's proof is."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from letterlock.server.app import create_app
from letterlock.server.bus import InProcessBus
from letterlock.server.services import Services
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, Store
from letterlock.server.store import accounts as accounts_db
from letterlock.server.store import transparency as kt_db
from letterlock.transparency import LogAction, LogVerifier, audit_log

from ..helpers import NOW, Clock, Device
from .kit import follow, pinned_key


async def _legacy_devices(url: str, devices: list[Device]) -> None:
    """What a database migrated from before 0003 holds: devices, and no log entry."""
    store = await Store.open(url)
    try:
        async with store.transaction() as conn:
            account_ids: dict[str, int] = {}
            for n, device in enumerate(devices):
                if device.handle not in account_ids:
                    account_ids[device.handle] = await accounts_db.create_account(
                        conn, device.handle, NOW - 100)
                device.device_id = f"{n:032x}"
                await accounts_db.create_device(conn, device.device_id,
                                                account_ids[device.handle], device.public,
                                                device.suite, NOW - 100 + n)
    finally:
        await store.close()


async def _log_size(url: str) -> int:
    store = await Store.open(url)
    try:
        async with store.transaction(READ_ONLY) as conn:
            return await kt_db.count(conn)
    finally:
        await store.close()


def test_devices_without_entries_are_logged_at_start(settings: Settings) -> None:
    url = settings.resolved_database_url()
    old = [Device("@old"), Device("@old"), Device("@older")]
    asyncio.run(_legacy_devices(url, old))
    assert asyncio.run(_log_size(url)) == 0
    clock = Clock()
    for _start in range(2):  # the second start finds nothing left to log
        with TestClient(create_app(settings, clock=clock)) as client:
            services: Services = client.app.state.services  # type: ignore[attr-defined]
            verifier = LogVerifier(pinned_key(client))
            sth = follow(client, verifier)
            assert sth.tree_size == 3
            assert client.portal is not None  # the app's own event loop
            proofs = client.portal.call(services.transparency.device_proofs,
                                        [d.device_id for d in old], int(clock()))
            for device in old:
                proof = proofs[device.device_id]
                entry = proof.proven.entry
                assert (entry.action, entry.device_id, entry.signature_key) == (
                    LogAction.ADDED, device.device_id, device.public)
                assert proof.proven.opening.handle == device.handle
                proof.proven.opening.check(entry.handle_commitment)
                verifier.verify_inclusion(entry, proof.proven.proof, sth)
            clock.advance(10)
    assert asyncio.run(_log_size(url)) == 3


def test_backfill_on_an_up_to_date_log_logs_nothing(settings: Settings) -> None:
    url = settings.resolved_database_url()

    async def scenario() -> None:
        store = await Store.open(url)
        try:
            services = Services.build(settings, store, InProcessBus())
            assert await services.transparency.backfill(NOW) == 0
            await _legacy_devices(url, [Device("@late")])
            assert await services.transparency.backfill(NOW) == 1
            assert await services.transparency.backfill(NOW + 1) == 0
            head, _ = await services.transparency.head(0, NOW + 2)
            async with store.transaction(READ_ONLY) as conn:
                entries = [r.entry for r in await kt_db.range_of(conn, 0, 10)]
            report = audit_log(services.transparency.public_key, entries, [head])
            assert (report.entries, report.added) == (1, 1)
        finally:
            await store.close()

    asyncio.run(scenario())
