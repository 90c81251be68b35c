"""The only package that speaks SQL.

:class:`Store` owns the engine and hands out transactions; the domain modules
(:mod:`.accounts`, :mod:`.auth`, :mod:`.keypackages`, :mod:`.mailbox`) are plain async
functions that take the transaction's connection, so a service composes several of them
atomically. Rows come back as frozen dataclasses, never as SQLAlchemy objects.

Hot writes (a send's fan-out, an acknowledgement) go through :meth:`Store.write` and
:meth:`Store.write_many`, which commit concurrent calls together — on SQLite one
transaction and one fsync for many messages, the statements run on the event loop's thread
and only the commit on a writer thread; on PostgreSQL on one connection, one transaction —
and each caller still answers only after its own writes are committed. Those
domain functions are plain functions of a synchronous connection; an async transaction
calls them through ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import RootTransaction
from sqlalchemy.exc import IntegrityError, OperationalError
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
# Under load, a batch starts at least this long after the previous one did: the writes
# queued meanwhile share its commit. Each commit writes every page it touched to the WAL
# and fsyncs it; at 1,500 sends a second, commits of ~5 sends wrote ~20 pages each, and
# that stream of fsyncs was what the disk stalled on (p99 40-160 ms). Waiting up to 5 ms
# makes batches larger and commits fewer: in the server bench at 1,500/s, p50 +3 ms,
# p99 33 and 39 ms against 39 and 60 ms without, and a third less server CPU per
# message. An idle server commits a lone write at once.
COMMIT_INTERVAL = 0.005

__all__ = ["DURABLE", "READ_ONLY", "RELAXED", "AsyncConnection", "Connection",
           "IntegrityError", "Store", "Work", "async_url"]


Outcome = tuple[Exception | None, Any]

# How long a batch waits for another process to release SQLite's write lock (as
# ``engine.open_sqlite_writer`` sets for every other connection).
BUSY_TIMEOUT_MS = 30_000


def _committed(tx: RootTransaction, outcomes: list[Outcome]) -> list[Outcome]:
    _commit(tx)
    return outcomes


def _commit(tx: RootTransaction) -> None:
    """Commit ``tx``; roll it back if the commit fails (then raise)."""
    try:
        tx.commit()
    except BaseException:
        tx.rollback()
        raise


def _is_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


def _set_busy_timeout(conn: Connection, milliseconds: int) -> None:
    # On the driver connection, which is in autocommit: no transaction begins.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA busy_timeout={int(milliseconds)}")


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
        self._hot: Connection | None = None  # the writer engine's connection, once open
        self._hot_lock = threading.Lock()  # see _run_batch_sqlite
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
        self._last_batch = float("-inf")  # loop time the last batch was taken

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
        and must not touch the event loop (it may run on the writer thread) and should
        be short: on SQLite it usually runs on the loop's own thread.

        On SQLite, concurrent calls share transactions (group commit): a background task
        takes the write lock and runs every call queued by then in one transaction, then
        commits them with one fsync on the writer thread (see :meth:`_run_batch_sqlite`);
        each caller returns only after that commit, so nothing is answered before it is
        on disk. A call that raises fails alone (see :meth:`_execute`). A batch is
        durable if any of its calls is; a batch of :data:`RELAXED` calls only
        (acknowledgements, say) commits without an fsync. PostgreSQL batches the same way, through
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
        loop = self._loop or self._bind_loop()
        try:
            while self._pending:
                wait = self._last_batch + COMMIT_INTERVAL - loop.time()
                if wait > 0 and len(self._pending) < MAX_BATCH:
                    await asyncio.sleep(wait)
                async with self._write_lock or contextlib.nullcontext():
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    self._last_batch = loop.time()
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
            if self._writer is not None:
                running = loop.create_task(self._run_batch_sqlite(items, relaxed))
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

    async def _run_batch_sqlite(self, items: list[Work[Any] | tuple[RunMany, Any]],
                                relaxed: bool) -> list[Outcome]:
        """SQLite: the batch's statements here, on the event loop's thread; its commit
        (the fsync) on the writer thread, while the loop serves others.

        The statements hold the GIL almost all the time they run (SQLAlchemy's Python,
        then a few microseconds in SQLite per statement). On a second thread, every
        statement would give the GIL up and then wait for it while the loop is busy
        (up to the interpreter's 5 ms switch interval each time): a batch of about 1 ms
        of work took tens of milliseconds under load. Here it runs in one stretch, and
        only the fsync, which needs no GIL, leaves the loop.

        The writer connection does not wait for SQLite's lock on the loop
        (``busy_timeout`` 0): the writers of this process queue on the write lock, so the
        lock is busy only when another process (an operator command) holds it; the batch
        then runs on the writer thread instead, waiting there.

        ``_hot_lock`` is held from the first statement to the end of the commit, so the
        connection has one user at a time even when a batch's caller is cancelled
        (shutdown) while its commit is still running on the writer thread."""
        assert self._writer_thread is not None
        loop = self._loop or self._bind_loop()
        self._hot_lock.acquire()  # free at once unless a cancelled batch is committing
        try:
            conn = self._hot_connection(relaxed)
            job: Callable[[], list[Outcome]]
            try:
                tx, outcomes = self._execute(conn, items)
                job = functools.partial(_committed, tx, outcomes)
            except OperationalError as exc:
                if not _is_busy(exc):
                    raise
                job = functools.partial(self._run_batch_waiting, items, relaxed)
            done = self._writer_thread.submit(self._releasing, job)
        except BaseException:
            self._hot_lock.release()
            raise
        # Shielded: a cancelled caller must not cancel a commit that has not started.
        return await asyncio.shield(asyncio.wrap_future(done, loop=loop))

    def _releasing(self, job: Callable[[], list[Outcome]]) -> list[Outcome]:
        try:
            return job()
        finally:
            self._hot_lock.release()

    def _hot_connection(self, relaxed: bool) -> Connection:
        """The writer engine's one connection, kept open between batches."""
        assert self._writer is not None
        conn = self._hot
        if conn is None or conn.closed or conn.invalidated:
            conn = self._hot = self._writer.connect()
            _set_busy_timeout(conn, 0)
        conn.execution_options(**{TX_MODE: RELAXED if relaxed else DURABLE})
        return conn

    def _run_batch_waiting(self, items: list[Work[Any] | tuple[RunMany, Any]],
                           relaxed: bool) -> list[Outcome]:
        """On the writer thread: the batch, waiting as long as SQLite's own busy timeout
        for another process to release the lock."""
        conn = self._hot_connection(relaxed)
        _set_busy_timeout(conn, BUSY_TIMEOUT_MS)
        try:
            return self._run_batch_on(conn, items, relaxed)
        finally:
            _set_busy_timeout(conn, 0)

    async def _run_batch_async(self, items: list[Work[Any] | tuple[RunMany, Any]],
                               relaxed: bool) -> list[Outcome]:
        """PostgreSQL: the batch on a pooled connection, through ``run_sync``."""
        async with self.engine.connect() as conn:
            outcomes: list[Outcome] = await conn.run_sync(self._run_batch_on, items, relaxed)
        return outcomes

    def _run_batch_on(self, conn: Connection, items: list[Work[Any] | tuple[RunMany, Any]],
                      relaxed: bool) -> list[Outcome]:
        if relaxed:
            conn = conn.execution_options(**{TX_MODE: RELAXED})
        tx, outcomes = self._execute(conn, items)
        _commit(tx)
        return outcomes

    def _execute(self, conn: Connection, items: list[Work[Any] | tuple[RunMany, Any]]
                 ) -> tuple[RootTransaction, list[Outcome]]:
        """Begin a transaction and run ``items`` in it; returns the open transaction, for
        the caller to commit. Raises only if the transaction cannot begin.

        Optimistic: every call in one transaction with no savepoints (two statements
        fewer per call), mergeable operations merged per kind. Should anything raise, the
        whole transaction is rolled back and the batch runs again call by call, each in
        its own savepoint, so only the failing one fails. A call may therefore run twice;
        it only touches the database, so the first run leaves no trace."""
        tx = conn.begin()
        try:
            return tx, self._merged(conn, items)
        except Exception:  # every call is retried alone below
            tx.rollback()
        except BaseException:  # not a call's failure: nothing of the batch stays begun
            tx.rollback()
            raise
        tx = conn.begin()
        outcomes: list[Outcome] = []
        try:
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
        except BaseException:
            tx.rollback()
            raise
        return tx, outcomes

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
        which runs inside whichever commit crosses
        :data:`~.engine.WAL_AUTOCHECKPOINT_PAGES` and makes it wait for a second fsync —
        rarely has to. A no-op on PostgreSQL."""
        if self._write_lock is None:
            return
        async with self.engine.connect() as conn:
            bare = await conn.execution_options(**{TX_MODE: NO_TRANSACTION})
            await bare.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
        if self._hot is not None:
            self._hot.close()
        if self._writer is not None:
            self._writer.dispose()
        await self.engine.dispose()
