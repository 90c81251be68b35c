"""The only package that speaks SQL.

:class:`Store` owns the engine and hands out transactions; the domain modules
(:mod:`.accounts`, :mod:`.auth`, :mod:`.keypackages`, :mod:`.mailbox`) are plain async
functions that take the transaction's connection, so a service composes several of them
atomically. Rows come back as frozen dataclasses, never as SQLAlchemy objects.

Hot writes (a send's fan-out, an acknowledgement) go through :meth:`Store.write` and
:meth:`Store.write_many`, which commit concurrent calls together — on SQLite on a writer
thread, one hop and one fsync for many messages; on PostgreSQL on one connection, one
transaction — and each caller still answers only after its own writes are committed. Those
domain functions are plain functions of a synchronous connection; an async transaction
calls them through ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
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
    open_sqlite_writer,
)

T = TypeVar("T")
Op = TypeVar("Op")
Work = Callable[[Connection], T]
# A mergeable write: one call does the writes of many queued operations of one kind
# (a fan-out for every message queued meanwhile) and returns one result per operation.
RunMany = Callable[[Connection, list[Any]], list[Any]]

# At most this many writes share one SQLite transaction (one fsync).
MAX_BATCH = 256

__all__ = ["DURABLE", "READ_ONLY", "RELAXED", "AsyncConnection", "Connection",
           "IntegrityError", "Store", "Work", "async_url"]


Outcome = tuple[Exception | None, Any]


class Store:
    """An open database: ``await Store.open(url)``, then ``async with store.transaction()``
    for a transaction of async statements, or ``await store.write(work)`` for a hot write
    written as a plain function of a synchronous connection."""

    def __init__(self, engine: AsyncEngine, writer: Engine | None = None) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Left to itself, each waiting writer polls the
        # lock in SQLite's busy handler, sleeping up to 100 ms between tries; queueing
        # the writers of this process here instead hands the lock over at once and in
        # arrival order. (busy_timeout still covers other processes, like `invite`.)
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        if self._write_lock is not None and writer is None:
            raise ValueError("a SQLite store needs its writer engine")
        self._writer = writer
        # One thread owns the writer connection: batches run there, one hop each.
        self._writer_thread = (ThreadPoolExecutor(1, thread_name_prefix="letterlock-writer")
                               if writer is not None else None)
        # Queued writes: a work, or a (run_many, operation) pair to merge with its kind.
        # (a work or a (run_many, operation) pair, its future, whether it may be relaxed)
        # The loop the store serves, held once known: on Python 3.11 each
        # asyncio.get_running_loop() is a getpid() system call, and writes are hot.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[Work[Any] | tuple[RunMany, Any], asyncio.Future[Any],
                                  bool]] = []
        self._batcher: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, run_migrations: bool = True) -> Store:
        """Open ``url`` (plain ``sqlite:///...`` or ``postgresql://...``) and migrate it."""
        engine = open_engine(url)
        if run_migrations:
            await migrate(engine)
        writer = open_sqlite_writer(url) if engine.dialect.name == "sqlite" else None
        return cls(engine, writer)

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
        """Run ``work(conn)`` — a plain function of a synchronous
        :class:`~sqlalchemy.Connection` — in a transaction and return what it returns (or
        raise what it raises, its writes rolled back). ``work`` must use only ``conn``
        and must not touch the event loop: on SQLite it runs on the writer thread.

        On SQLite, concurrent calls share transactions (group commit): a background task
        takes the write lock and hands every call queued by then to the writer thread,
        which runs each in its own SAVEPOINT and commits them with one fsync; each caller
        returns only after that commit, so nothing is answered before it is on disk. A
        call that raises rolls back its savepoint only. A batch is durable if any of its
        calls is; a batch of :data:`RELAXED` calls only (acknowledgements, say) commits
        without an fsync. PostgreSQL batches the same way, through
        :meth:`AsyncConnection.run_sync` on one connection: one transaction and a few
        round trips for many writes instead of a transaction each.
        """
        loop = self._loop or self._bind_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((work, future, mode == RELAXED))
        if self._batcher is None:
            self._batcher = loop.create_task(self._drain())
        return await future

    async def write_many(self, run_many: Callable[[Connection, list[Op]], list[T]],
                         operation: Op, mode: str = DURABLE) -> T:
        """Queue ``operation`` for ``run_many``, which writes a whole list of operations of
        its kind in a few statements and returns one result per operation, in order. On
        Every operation queued for the same ``run_many`` by the time the batch is taken is
        merged into one call (one statement per step for the lot, not per operation),
        in the batch's transaction (see :meth:`write`). If a merged call raises, each of
        its operations is run again alone in its own savepoint, so an error stays with
        the operation that caused it."""
        loop = self._loop or self._bind_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(((run_many, operation), future, mode == RELAXED))
        if self._batcher is None:
            self._batcher = loop.create_task(self._drain())
        return await future

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        self._loop = asyncio.get_running_loop()
        return self._loop

    async def _drain(self) -> None:
        try:
            while self._pending:
                async with self._write_lock or contextlib.nullcontext():
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    await self._run_batch(batch)
        finally:
            self._batcher = None

    async def _run_batch(self, batch: list[tuple[Work[Any] | tuple[RunMany, Any],
                                                 asyncio.Future[Any], bool]]) -> None:
        live = [(work, future) for work, future, _ in batch if not future.done()]
        relaxed = all(may_relax for _, future, may_relax in batch if not future.done())
        loop = self._loop or self._bind_loop()
        items = [work for work, _ in live]
        try:
            # Shielded: should this task be cancelled (shutdown), the write lock stays
            # held until the batch is done.
            if self._writer_thread is not None:
                running: asyncio.Future[list[Outcome]] = loop.run_in_executor(
                    self._writer_thread, self._run_batch_sync, items, relaxed)
            else:
                running = loop.create_task(self._run_batch_async(items, relaxed))
            outcomes = await asyncio.shield(running)
        except BaseException as exc:  # the commit failed: nothing of the batch stands
            for _work, future in live:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_work, future), (error, value) in zip(live, outcomes, strict=True):
            if future.done():  # the caller gave up (cancelled); its write stands
                continue
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)

    def _run_batch_sync(self, items: list[Work[Any] | tuple[RunMany, Any]],
                        relaxed: bool) -> list[Outcome]:
        """SQLite: the batch on the writer thread's connection."""
        assert self._writer is not None
        with self._writer.connect() as conn:
            return self._run_batch_on(conn, items, relaxed)

    async def _run_batch_async(self, items: list[Work[Any] | tuple[RunMany, Any]],
                               relaxed: bool) -> list[Outcome]:
        """PostgreSQL: the batch on a pooled connection, through ``run_sync``."""
        async with self.engine.connect() as conn:
            outcomes: list[Outcome] = await conn.run_sync(self._run_batch_on, items, relaxed)
        return outcomes

    def _run_batch_on(self, conn: Connection, items: list[Work[Any] | tuple[RunMany, Any]],
                      relaxed: bool) -> list[Outcome]:
        # Optimistic: every call in one transaction with no savepoints (two statements
        # fewer per call), mergeable operations merged per kind. Should anything raise,
        # the whole transaction is rolled back and the batch runs again call by call,
        # each in its own savepoint, so only the failing one fails. A call may therefore
        # run twice; it only touches the database, so the first run leaves no trace.
        if relaxed:
            conn = conn.execution_options(**{TX_MODE: RELAXED})
        try:
            with conn.begin():
                return self._merged(conn, items)
        except Exception:  # every call is retried alone below
            pass
        outcomes: list[Outcome] = []
        with conn.begin():
            for item in items:
                try:
                    with conn.begin_nested():
                        if isinstance(item, tuple):
                            run_many, operation = item
                            outcomes.append((None, run_many(conn, [operation])[0]))
                        else:
                            outcomes.append((None, item(conn)))
                except Exception as exc:  # only this call's savepoint is rolled back
                    outcomes.append((exc, None))
        return outcomes

    @staticmethod
    def _merged(conn: Connection, items: list[Work[Any] | tuple[RunMany, Any]]
                ) -> list[Outcome]:
        """Run ``items`` in order, each kind of mergeable operation in one call where its
        first operation stands; raises whatever any of them raises."""
        kinds: dict[RunMany, list[int]] = {}
        for index, item in enumerate(items):
            if isinstance(item, tuple):
                kinds.setdefault(item[0], []).append(index)
        outcomes: list[Outcome | None] = [None] * len(items)
        for index, item in enumerate(items):
            if not isinstance(item, tuple):
                outcomes[index] = (None, item(conn))
                continue
            positions = kinds.get(item[0])
            if positions is None or positions[0] != index:
                continue  # merged into the call made at its kind's first position
            results = item[0](conn, [items[i][1] for i in positions])  # type: ignore[index]
            for position, result in zip(positions, results, strict=True):
                outcomes[position] = (None, result)
        return [outcome for outcome in outcomes if outcome is not None]

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
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
        if self._writer is not None:
            self._writer.dispose()
        await self.engine.dispose()
