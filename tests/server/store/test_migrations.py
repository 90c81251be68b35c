"""The Alembic migrations build exactly the schema that tables.py declares."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from letterlock.server.store import Store
from letterlock.server.store.tables import metadata


def _diff(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def _check(url: str) -> list[Any]:
    store = await Store.open(url)
    try:
        async with store.transaction() as conn:
            return await conn.run_sync(_diff)
    finally:
        await store.close()


def test_migrated_schema_matches_tables(database_url: str) -> None:
    assert asyncio.run(_check(database_url)) == []


def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    async def twice() -> None:
        for _ in range(2):
            store = await Store.open(database_url)
            await store.close()

    asyncio.run(twice())
