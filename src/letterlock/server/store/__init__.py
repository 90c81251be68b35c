"""The only package that speaks SQL.

:class:`Store` owns the engine and hands out transactions; the domain modules
(:mod:`.accounts`, :mod:`.auth`, :mod:`.keypackages`, :mod:`.mailbox`) are plain async
functions that take the transaction's connection, so a service composes several of them
atomically. Rows come back as frozen dataclasses, never as SQLAlchemy objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .engine import async_url, migrate, open_engine

__all__ = ["AsyncConnection", "IntegrityError", "Store", "async_url"]


class Store:
    """An open database: ``await Store.open(url)``, then ``async with store.transaction()``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, url: str, *, run_migrations: bool = True) -> Store:
        """Open ``url`` (plain ``sqlite:///...`` or ``postgresql://...``) and migrate it."""
        engine = open_engine(url)
        if run_migrations:
            await migrate(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.engine.begin() as conn:
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()
