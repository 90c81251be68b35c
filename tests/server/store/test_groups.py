"""The group store: epochs advance by compare-and-set, so one commit wins each epoch."""

from __future__ import annotations

import asyncio

from letterlock.server.store import Store, groups
from letterlock.server.store import accounts as account_store

NOW = 1_800_000_000


async def _device(store: Store, handle: str, device_id: str) -> str:
    async with store.transaction() as conn:
        account = await account_store.create_account(conn, handle, NOW)
        await account_store.create_device(conn, device_id, account, device_id.encode() * 2,
                                          1, NOW)
    return device_id


async def _group_lifecycle(url: str) -> None:
    store = await Store.open(url)
    try:
        a = await _device(store, "@alice", "dev-a")
        b = await _device(store, "@bob", "dev-b")
        c = await _device(store, "@carol", "dev-c")
        async with store.transaction() as conn:
            assert await groups.create(conn, b"g1", 1, 0, b"state0", [(0, a)], NOW)
            assert not await groups.create(conn, b"g1", 1, 0, b"other", [(0, b)], NOW)
        async with store.transaction() as conn:
            seq = await groups.advance(conn, b"g1", 0, b"state1", b"commit0", NOW,
                                       added=[(1, b), (2, c)])
            assert seq == 1
            assert await conn.run_sync(groups.members, b"g1") == [(0, a), (1, b), (2, c)]
            assert await conn.run_sync(groups.next_seq, b"g1") == 2
            # Bob and Carol leave; Carol comes back at leaf 1 in the same commit.
            assert await groups.advance(conn, b"g1", 1, b"state2", b"commit1", NOW,
                                        removed=[1, 2], added=[(1, c)]) == 3
            assert await conn.run_sync(groups.members, b"g1") == [(0, a), (1, c)]
            row = await conn.run_sync(groups.get, b"g1")
            assert row is not None and (row.epoch, row.state, row.next_seq) == (2, b"state2", 3)
            assert [x.message for x in await groups.commits_since(conn, b"g1", 1)] == [b"commit1"]
            assert await groups.groups_of_device(conn, c) == [b"g1"]
            assert await groups.leaves_of_device(conn, b"g1", b) == []
            assert await conn.run_sync(groups.next_seq, b"missing") is None
    finally:
        await store.close()


async def _race(url: str) -> None:
    store = await Store.open(url)
    try:
        a = await _device(store, "@alice", "dev-a")
        async with store.transaction() as conn:
            await groups.create(conn, b"g2", 1, 5, b"s", [(0, a)], NOW)

        async def attempt(i: int) -> int | None:
            async with store.transaction() as conn:
                return await groups.advance(conn, b"g2", 5, f"s{i}".encode(),
                                            f"c{i}".encode(), NOW)

        results = await asyncio.gather(*(attempt(i) for i in range(12)))
        winners = [r for r in results if r is not None]
        assert winners == [1]  # exactly one commit wins epoch 5
        async with store.transaction() as conn:
            row = await conn.run_sync(groups.get, b"g2")
            assert row is not None and row.epoch == 6
            accepted = await groups.commits_since(conn, b"g2", 0)
            assert len(accepted) == 1 and row.state == b"s" + accepted[0].message[1:]
    finally:
        await store.close()


def test_group_lifecycle(database_url: str) -> None:
    asyncio.run(_group_lifecycle(database_url))


def test_exactly_one_commit_wins_an_epoch(database_url: str) -> None:
    asyncio.run(_race(database_url))
