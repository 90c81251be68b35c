"""Signed tree heads are stored and shared: on one database (SQLite and PostgreSQL) the
first node to sign a size's head wins, and every node serves that same head for that
size, with timestamps that never run backwards as the tree grows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from letterlock.protocol import statements
from letterlock.server.bus import InProcessBus
from letterlock.server.services import Services
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, Store
from letterlock.server.store import transparency as kt_db
from letterlock.server.store.tables import kt_tree_heads
from letterlock.transparency import LogVerifier, SignedTreeHead, audit_log

from ..helpers import NOW, Device


async def _node(url: str, data_dir: Path) -> Services:
    store = await Store.open(url)
    return Services.build(Settings(data_dir=data_dir, database_url=url), store, InProcessBus())


async def _register(svc: Services, handle: str, now: int = NOW) -> None:
    device = Device(handle)
    await svc.accounts.register(
        handle, device.public, device.suite,
        device.sign(statements.register_statement(handle, device.public, device.suite)), now)


async def _stored(svc: Services, size: int) -> kt_db.StoredHead | None:
    async with svc.store.transaction(READ_ONLY) as conn:
        return await kt_db.tree_head_at(conn, size)


async def _same_head_on_every_node(url: str, tmp_path: Path) -> None:
    nodes = [await _node(url, tmp_path), await _node(url, tmp_path)]
    try:
        await _register(nodes[0], "@alice")
        await _register(nodes[1], "@bob")
        # Both nodes race for size 2's head with clocks 50 s apart: one signs, both
        # serve its head, byte for byte.
        heads = await asyncio.gather(nodes[0].transparency.head(0, NOW + 50),
                                     nodes[1].transparency.head(0, NOW))
        first, second = (h for h, _ in heads)
        assert first.tree_size == 2 and first.to_bytes() == second.to_bytes()
        stored = await _stored(nodes[0], 2)
        assert stored is not None and stored.tree_head == first.to_bytes()
        # a node started later serves the stored head, not a new one
        late = await _node(url, tmp_path)
        try:
            again, _ = await late.transparency.head(0, NOW + 999)
            assert again.to_bytes() == first.to_bytes()
        finally:
            await late.store.close()
    finally:
        for node in nodes:
            await node.store.close()


async def _first_signer_wins(url: str, tmp_path: Path) -> None:
    svc = await _node(url, tmp_path)
    try:
        root = bytes(32)
        mine = kt_db.StoredHead(7, root, 1000, b"first")
        theirs = kt_db.StoredHead(7, root, 2000, b"second")
        async with svc.store.transaction() as conn:
            assert await kt_db.insert_tree_head(conn, mine) is True
            assert await kt_db.insert_tree_head(conn, theirs) is False
        assert await _stored(svc, 7) == mine
    finally:
        await svc.store.close()


async def _clock_behind(url: str, tmp_path: Path) -> None:
    ahead, behind = await _node(url, tmp_path), await _node(url, tmp_path)
    try:
        await _register(ahead, "@alice", NOW + 100)
        one, _ = await ahead.transparency.head(0, NOW + 100)
        await _register(behind, "@bob", NOW)
        # The node whose clock is 100 s behind signs size 2 no earlier than size 1.
        two, proof = await behind.transparency.head(1, NOW)
        assert two.tree_size == 2 and two.timestamp >= one.timestamp
        verifier = LogVerifier(ahead.transparency.public_key, one)
        verifier.update(two, proof)  # a client following both nodes sees no break
        async with ahead.store.transaction(READ_ONLY) as conn:
            entries = [row.entry for row in await kt_db.range_of(conn, 0, 2)]
        audit_log(ahead.transparency.public_key, entries, [one, two])
    finally:
        await ahead.store.close()
        await behind.store.close()


async def _tampered(url: str, tmp_path: Path) -> None:
    svc = await _node(url, tmp_path)
    try:
        await _register(svc, "@alice")
        head, _ = await svc.transparency.head(0, NOW)
        forged = SignedTreeHead.sign(bytes(range(32)), head.tree_size, bytes(32), NOW * 1000)
        async with svc.store.transaction() as conn:
            await conn.execute(update(kt_tree_heads)
                               .where(kt_tree_heads.c.tree_size == head.tree_size)
                               .values(tree_head=forged.to_bytes()))
        fresh = await _node(url, tmp_path)
        try:
            with pytest.raises(RuntimeError, match="does not match"):
                await fresh.transparency.head(0, NOW)
        finally:
            await fresh.store.close()
    finally:
        await svc.store.close()


def test_every_node_serves_the_first_signed_head(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_same_head_on_every_node(database_url, tmp_path))


def test_insert_if_absent_keeps_the_first_head(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_first_signer_wins(database_url, tmp_path))


def test_a_node_with_a_slow_clock_never_signs_an_older_head(database_url: str,
                                                            tmp_path: Path) -> None:
    asyncio.run(_clock_behind(database_url, tmp_path))


def test_a_stored_head_the_log_contradicts_is_refused(database_url: str,
                                                      tmp_path: Path) -> None:
    asyncio.run(_tampered(database_url, tmp_path))
