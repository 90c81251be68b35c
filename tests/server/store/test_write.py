"""``Store.write``: group commit on SQLite, a plain transaction on PostgreSQL; either way a
call's writes stand or fall with that call alone, and it returns only after its commit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import insert, select

from letterlock.server.store import RELAXED, Connection, IntegrityError, Store
from letterlock.server.store.tables import invites


async def _concurrent_writes(url: str) -> None:
    store = await Store.open(url)
    try:
        async def add(code: bytes, fail: bool = False) -> bytes:
            def work(conn: Connection) -> bytes:
                conn.execute(insert(invites).values(code_hash=code, created_at=1))
                if fail:
                    raise ValueError("this call fails after writing")
                return code
            return await store.write(work)

        results = await asyncio.gather(
            *(add(bytes([i])) for i in range(10)), add(b"bad", fail=True),
            add(bytes([3])),  # a duplicate key: IntegrityError, for this call only
            return_exceptions=True)
        # Of the two calls writing key 3, one fails on its own (which one: the order the
        # database saw them in, on PostgreSQL); every other call stands.
        twins = [results[3], results[11]]
        assert sorted(type(r).__name__ for r in twins) == ["IntegrityError", "bytes"]
        assert any(isinstance(r, IntegrityError) for r in twins)
        assert [r for i, r in enumerate(results[:10]) if i != 3] == \
            [bytes([i]) for i in range(10) if i != 3]
        assert isinstance(results[10], ValueError)
        async with store.transaction() as conn:
            stored = {bytes(r.code_hash) for r in await conn.execute(select(invites))}
        assert stored == {bytes([i]) for i in range(10)}
    finally:
        await store.close()


def test_write_isolates_each_call(database_url: str) -> None:
    asyncio.run(_concurrent_writes(database_url))


def test_sqlite_checkpoint_runs_outside_a_transaction(tmp_path: Path) -> None:
    # PRAGMA wal_checkpoint inside BEGIN IMMEDIATE fails ("database table is locked"):
    # the background checkpoint must run with no transaction at all.
    async def scenario() -> None:
        store = await Store.open(f"sqlite:///{tmp_path / 'c.db'}")
        try:
            for _ in range(3):
                await store.checkpoint()
        finally:
            await store.close()

    asyncio.run(scenario())


def test_sqlite_batches_of_relaxed_writes_skip_the_fsync(tmp_path: Path) -> None:
    # A batch is as durable as its most demanding call: acknowledgements alone commit with
    # synchronous=NORMAL (no fsync in WAL mode); any durable call makes it FULL.
    async def scenario() -> list[int]:
        store = await Store.open(f"sqlite:///{tmp_path / 'r.db'}")

        def level(conn: Connection) -> int:
            return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())

        try:
            relaxed = await asyncio.gather(*(store.write(level, mode=RELAXED)
                                             for _ in range(3)))
            mixed = await asyncio.gather(store.write(level, mode=RELAXED), store.write(level))
            return [*relaxed, *mixed, await store.write(level)]
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [1, 1, 1, 2, 2, 2]  # 1 NORMAL, 2 FULL


def test_sqlite_write_waits_off_the_loop_for_another_process_lock(tmp_path: Path) -> None:
    # Batches run on the loop's thread without waiting for SQLite's lock; when another
    # process (an operator command, here a second connection) holds it, the batch waits
    # on the writer thread instead, and the loop keeps serving meanwhile.
    path = tmp_path / "b.db"

    async def scenario() -> tuple[int, bytes, list[bytes]]:
        store = await Store.open(f"sqlite:///{path}")
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO invites (code_hash, created_at) VALUES (x'01', 1)")

            def add(conn: Connection) -> bytes:
                conn.execute(insert(invites).values(code_hash=b"\x02", created_at=2))
                return b"\x02"

            pending = asyncio.ensure_future(store.write(add))
            ticks = 0
            for _ in range(20):  # the loop is free while the write waits
                await asyncio.sleep(0.01)
                ticks += 1
            assert not pending.done()
            other.execute("COMMIT")
            written = await asyncio.wait_for(pending, 10)
            after = await store.write(add_after)  # the next batch takes the fast path
            async with store.transaction() as conn:
                rows = sorted(bytes(r.code_hash) for r in await conn.execute(select(invites)))
            return ticks, written + after, rows
        finally:
            other.close()
            await store.close()

    def add_after(conn: Connection) -> bytes:
        conn.execute(insert(invites).values(code_hash=b"\x03", created_at=3))
        return b"\x03"

    ticks, written, rows = asyncio.run(scenario())
    assert ticks == 20
    assert written == b"\x02\x03"
    assert rows == [b"\x01", b"\x02", b"\x03"]
