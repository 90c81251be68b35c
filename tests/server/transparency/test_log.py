"""The log's storage and its in-memory cache, against a real database (SQLite and
PostgreSQL): appends commit or roll back with the device change, a restart rebuilds the
same tree, concurrent registrations leave no gaps, and two nodes agree."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from letterlock.protocol import statements
from letterlock.server.bus import InProcessBus
from letterlock.server.services import Services, TransparencyService
from letterlock.server.services.errors import Conflict, NotFound
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, Store
from letterlock.server.store import transparency as kt_db
from letterlock.transparency import LogAction, LogEntry, MerkleLog, audit_log

from ..helpers import NOW, Device


async def _node(url: str, data_dir: Path) -> Services:
    store = await Store.open(url)
    return Services.build(Settings(data_dir=data_dir, database_url=url), store, InProcessBus())


async def _register(svc: Services, device: Device, now: int = NOW) -> Device:
    info = await svc.accounts.register(
        device.handle, device.public, device.suite,
        device.sign(statements.register_statement(device.handle, device.public, device.suite)),
        now)
    device.device_id = info.device_id
    return device


async def _stored(svc: Services) -> tuple[list[int], MerkleLog, list[bytes]]:
    async with svc.store.transaction(READ_ONLY) as conn:
        rows = await kt_db.leaves_from(conn, 0)
        entries = await kt_db.range_of(conn, 0, 1 << 62)
    return ([index for index, _, _ in rows], MerkleLog.from_leaf_hashes(r[1] for r in rows),
            [e.entry for e in entries])


async def _rollback(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = await _node(url, tmp_path)
    try:
        original = TransparencyService.append

        async def append_then_fail(self: TransparencyService, *args: Any) -> Any:
            await original(self, *args)
            raise RuntimeError("the transaction fails after the append")

        monkeypatch.setattr(TransparencyService, "append", append_then_fail)
        with pytest.raises(RuntimeError):
            await _register(svc, Device("@alice"))
        monkeypatch.undo()
        assert (await _stored(svc))[0] == []
        assert (await svc.transparency.head(0, NOW))[0].tree_size == 0
        with pytest.raises(NotFound):  # the account was rolled back with the entry
            await svc.accounts.list_devices("@alice")
        alice = await _register(svc, Device("@alice"))
        with pytest.raises(Conflict):
            await _register(svc, Device("@alice"))
        indices, _, entries = await _stored(svc)
        assert indices == [0]
        assert LogEntry.from_bytes(entries[0]).device_id == alice.device_id
    finally:
        await svc.store.close()


async def _restart(url: str, tmp_path: Path) -> None:
    first = await _node(url, tmp_path)
    try:
        for n in range(5):
            await _register(first, Device(f"@user{n}"), NOW + n)
        head, _ = await first.transparency.head(0, NOW + 10)
        root = first.transparency.root()
    finally:
        await first.store.close()
    second = await _node(url, tmp_path)
    try:
        assert second.transparency.public_key == first.transparency.public_key
        again, _ = await second.transparency.head(0, NOW + 20)
        assert (again.tree_size, again.root_hash) == (5, root) == (head.tree_size,
                                                                   head.root_hash)
        _, rebuilt, entries = await _stored(second)
        assert rebuilt.root() == second.transparency.root()
        await _register(second, Device("@late"), NOW + 30)
        grown, proof = await second.transparency.head(5, NOW + 40)
        assert grown.tree_size == 6 and proof is not None
        audit_log(second.transparency.public_key, (await _stored(second))[2], [head, grown])
        assert len(entries) == 5
    finally:
        await second.store.close()


async def _burst(url: str, tmp_path: Path) -> None:
    # Two nodes over one database (and one key file), registrations spread over both.
    nodes = [await _node(url, tmp_path), await _node(url, tmp_path)]
    try:
        devices = [Device(f"@burst{n}") for n in range(30)]
        await asyncio.gather(*(_register(nodes[n % 2], d, NOW + n % 3)
                               for n, d in enumerate(devices)))
        indices, rebuilt, entries = await _stored(nodes[0])
        assert indices == list(range(30))  # no gaps, no duplicates
        logged = {LogEntry.from_bytes(e).device_id for e in entries}
        assert logged == {d.device_id for d in devices}
        heads = [(await node.transparency.head(0, NOW + 5))[0] for node in nodes]
        assert {(h.tree_size, h.root_hash) for h in heads} == {(30, rebuilt.root())}
        for node in nodes:
            assert node.transparency.root() == rebuilt.root()
        report = audit_log(nodes[0].transparency.public_key, entries, heads)
        assert report.added == 30
        # What one node appended, the other proves (it catches up before answering).
        first = devices[0]  # registered on node 0
        proofs = await nodes[1].transparency.device_proofs([first.device_id], NOW + 6)
        assert proofs[first.device_id].proven.entry.action is LogAction.ADDED
    finally:
        for node in nodes:
            await node.store.close()


def test_append_rolls_back_with_its_transaction(database_url: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_rollback(database_url, tmp_path, monkeypatch))


def test_restart_rebuilds_the_same_log(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_restart(database_url, tmp_path))


def test_concurrent_registrations_on_two_nodes(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_burst(database_url, tmp_path))
