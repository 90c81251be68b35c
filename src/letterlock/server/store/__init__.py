"""The only package that speaks SQL.

:class:`Store` owns the engine and hands out transactions; the domain modules
(:mod:`.accounts`, :mod:`.auth`, :mod:`.keypackages`, :mod:`.mailbox`) are plain async
functions that take the transaction's connection, so a service composes several of them
atomically. Rows come back as frozen dataclasses, never as SQLAlchemy objects.

Hot writes (a send's fan-out, an acknowledgement) go through :meth:`Store.write`, which on
SQLite commits concurrent calls together: one fsync for many messages, and each caller
still answers only after its own writes are on disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .engine import (
    DURABLE,
    NO_TRANSACTION,
    READ_ONLY,
    RELAXED,
    TX_MODE,
    async_url,
    migrate,
    open_engine,
)

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[T]]

# At most this many writes share one SQLite transaction (one fsync).
MAX_BATCH = 64

__all__ = ["DURABLE", "READ_ONLY", "RELAXED", "AsyncConnection", "IntegrityError", "Store",
           "async_url"]


class _Abort(Exception):
    """Internal: roll an optimistic batch back (one of its calls raised)."""


class Store:
    """An open database: ``await Store.open(url)``, then ``async with store.transaction()``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Left to itself, each waiting writer polls the
        # lock in SQLite's busy handler, sleeping up to 100 ms between tries; queueing
        # the writers of this process here instead hands the lock over at once and in
        # arrival order. (busy_timeout still covers other processes, like `invite`.)
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._pending: list[tuple[Work[Any], asyncio.Future[Any]]] = []
        self._batcher: asyncio.Task[None] | None = None

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
    async def transaction(self, mode: str = DURABLE) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        ``mode`` is :data:`DURABLE` (the default: on disk before the block returns),
        :data:`RELAXED` (for writes that at-least-once delivery may lose to a power cut:
        acknowledgements, retention) or :data:`READ_ONLY` (no writes; on SQLite it does
        not wait for the write lock). See :mod:`.engine` for what each means per database.
        """
        if self._write_lock is None or mode == READ_ONLY:
            async with self._begin(mode) as conn:
                yield conn
            return
        async with self._write_lock, self._begin(mode) as conn:
            yield conn

    async def write(self, work: Work[T], mode: str = DURABLE) -> T:
        """Run ``work(conn)`` in a durable transaction and return what it returns (or raise
        what it raises, its writes rolled back). ``work`` must use only ``conn``.

        On SQLite, concurrent calls share transactions (group commit): a background task
        takes the write lock, runs every call queued by then, each in its own SAVEPOINT,
        and commits them with one fsync; each caller returns only after that commit, so
        nothing is answered before it is on disk. A call that raises rolls back its
        savepoint only. On PostgreSQL, whose concurrent commits already share WAL
        flushes, it is a plain transaction in ``mode`` (a SQLite batch is always durable).
        """
        if self._write_lock is None:
            async with self.transaction(mode) as conn:
                return await work(conn)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._batcher is None:
            self._batcher = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                assert self._write_lock is not None
                async with self._write_lock:
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    await self._run_batch(batch)
        finally:
            self._batcher = None

    async def _run_batch(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> None:
        # Optimistic: every call in one transaction with no savepoints (two statements
        # fewer per call). Should one raise, the whole transaction is rolled back and the
        # batch runs again with a savepoint around each call, so only that one fails. A
        # call may therefore run twice; it only touches the database, so the first run
        # leaves no trace.
        live = [(work, future) for work, future in batch if not future.done()]
        try:
            outcomes = await self._attempt(live, savepoints=False)
            if any(error is not None for _, error, _ in outcomes):
                outcomes = await self._attempt(live, savepoints=True)
        except BaseException as exc:  # the commit failed: nothing of the batch stands
            for _work, future in live:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for future, error, value in outcomes:
            if future.done():  # the caller gave up (cancelled); its write stands
                continue
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)

    async def _attempt(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]], *,
                       savepoints: bool
                       ) -> list[tuple[asyncio.Future[Any], Exception | None, Any]]:
        outcomes: list[tuple[asyncio.Future[Any], Exception | None, Any]] = []
        try:
            async with self._begin(DURABLE) as conn:
                for work, future in batch:
                    if not savepoints:
                        try:
                            outcomes.append((future, None, await work(conn)))
                        except Exception as exc:
                            outcomes.append((future, exc, None))
                            raise _Abort from exc
                        continue
                    try:
                        async with conn.begin_nested():
                            outcomes.append((future, None, await work(conn)))
                    except Exception as exc:  # only this call's savepoint is rolled back
                        outcomes.append((future, exc, None))
        except _Abort:
            pass
        return outcomes

    @asynccontextmanager
    async def _begin(self, mode: str) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            if mode != DURABLE:
                await conn.execution_options(**{TX_MODE: mode})
            async with conn.begin():
                yield conn

    async def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file now (``PRAGMA wal_checkpoint`` in
        PASSIVE mode: it neither waits for nor blocks readers and writers). Run in the
        background, it keeps the WAL short, so that SQLite's own automatic checkpoint —
        which runs inside whichever commit crosses 1,000 pages and makes it wait for a
        second fsync — rarely has to. A no-op on PostgreSQL."""
        if self._write_lock is None:
            return
        async with self.engine.connect() as conn:
            bare = await conn.execution_options(**{TX_MODE: NO_TRANSACTION})
            await bare.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        await self.engine.dispose()
