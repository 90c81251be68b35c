"""Opening the database and migrating it.

Choice: SQLAlchemy's asyncio engine over **aiosqlite** (SQLite) and **asyncpg**
(PostgreSQL). Both drivers are maintained, both dialects are first-class in SQLAlchemy
2.x, and the server is async end to end, so a query does not block the event loop and no
thread pool has to be sized against the connection pool. One deliberate exception: on
SQLite the hot writes' batches run their statements on the loop's thread, through the
standard library's driver (:func:`open_sqlite_writer`), and only their commit elsewhere
(``Store._run_batch_sqlite`` says why: microseconds of SQLite work each, and a thread
hop per statement cost far more). Alembic runs on the async engine through
``AsyncConnection.run_sync`` (Alembic's documented recipe).

SQLite is opened so that concurrent writers queue rather than fail: WAL journal, a busy
timeout, foreign keys on, and every writing transaction starts with ``BEGIN IMMEDIATE``
so that a read-then-write transaction (a KeyPackage claim, a mailbox enqueue) takes the
write lock up front instead of failing with SQLITE_BUSY when it tries to upgrade. A
transaction the caller marks read-only (:data:`READ_ONLY`) starts with a plain deferred
``BEGIN``: in WAL mode it reads a snapshot without taking or waiting for the write lock.
PostgreSQL uses row locks (``FOR UPDATE SKIP LOCKED``) in the queries that need them.

Durability on SQLite is chosen per transaction, explicitly:

- ``PRAGMA synchronous=FULL`` (the default, :data:`DURABLE`): the WAL is fsynced at every
  commit, so what the server has answered 200 for (a message, a commit, an account)
  survives a power cut, not just a crash of the process.
- ``PRAGMA synchronous=NORMAL`` only for transactions marked :data:`RELAXED`: an
  acknowledgement, retention. Losing one of those to a power cut (never to a process
  crash: the WAL write itself is done) only means entries are delivered again, which
  at-least-once delivery with idempotent ids already allows. Because the WAL is written in
  order, the next FULL commit fsyncs the relaxed ones before it too.

On PostgreSQL a relaxed transaction sets ``synchronous_commit = off`` for itself (same
reasoning: the commit is in the WAL buffer, flushed within a few hundred milliseconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["DURABLE", "NO_TRANSACTION", "READ_ONLY", "RELAXED", "TX_MODE", "async_url",
           "migrate", "open_engine", "open_sqlite_writer"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Transaction modes, passed as the ``TX_MODE`` execution option of a connection.
TX_MODE = "letterlock_tx_mode"
DURABLE = "durable"
RELAXED = "relaxed"
READ_ONLY = "read_only"
# Statements that SQLite refuses inside a transaction (``PRAGMA wal_checkpoint`` fails
# with "database table is locked" there): run them with no BEGIN at all.
NO_TRANSACTION = "no_transaction"
# SQLite's own checkpoint runs inside the commit that crosses this many WAL pages and
# makes that commit wait for it; the server checkpoints in the background every second
# (letterlock.server.app), so this is only a bound: 32 MB of WAL, above what a second of
# the heaviest load writes (its default, 1,000 pages, is crossed within a second then).
WAL_AUTOCHECKPOINT_PAGES = 8000
_SYNCHRONOUS = {DURABLE: "FULL", RELAXED: "NORMAL", READ_ONLY: None}


def async_url(url: str) -> str:
    """``url`` with the async driver this store uses (plain URLs are what operators write).

    Raises:
        ValueError: for a database other than SQLite or PostgreSQL.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")


def open_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` (plain or driver-qualified), configured as above."""
    full = async_url(url)
    if make_url(full).get_backend_name() != "sqlite":
        pg = create_async_engine(full, pool_pre_ping=True)

        @event.listens_for(pg.sync_engine, "begin")
        def _pg_begin(conn: Connection) -> None:
            if conn.get_execution_options().get(TX_MODE) == RELAXED:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")

        return pg
    engine = create_async_engine(full, connect_args={"timeout": 30})
    _configure_sqlite(engine.sync_engine)
    return engine


def open_sqlite_writer(url: str) -> Engine:
    """A synchronous engine (the standard library's ``sqlite3``) on the same SQLite file,
    configured like :func:`open_engine`'s, for :class:`~letterlock.server.store.Store`'s
    batches of hot writes: their statements run on the event loop's thread in one
    stretch and their commit on a writer thread. Through aiosqlite every statement would
    be a round trip between the event loop and a driver thread, each one waiting for the
    GIL while the loop is busy."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError("the writer thread is for SQLite only")
    if parsed.database in (None, "", ":memory:"):
        raise ValueError("the server needs a SQLite file, not an in-memory database")
    engine = create_engine(parsed.set(drivername="sqlite+pysqlite"), pool_size=1,
                           max_overflow=0,
                           # Used from the loop's thread and (commits) the writer thread,
                           # one at a time.
                           connect_args={"timeout": 30, "check_same_thread": False})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=FULL")  # see the module docstring
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(TX_MODE, DURABLE)
        if mode == NO_TRANSACTION:
            return  # the driver is in autocommit (isolation_level None): no BEGIN
        if mode == READ_ONLY:
            conn.exec_driver_sql("BEGIN")
            return
        # The setting is per connection: change it only when this transaction needs the
        # other one (the pool keeps what each connection was last set to).
        wanted = _SYNCHRONOUS[mode]
        info = conn.connection.info
        if info.get("synchronous", "FULL") != wanted:
            conn.exec_driver_sql(f"PRAGMA synchronous={wanted}")
            info["synchronous"] = wanted
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


# Any fixed 64-bit number: the PostgreSQL advisory lock all nodes take to migrate.
_MIGRATION_LOCK = 0x4C4C_4D49_4752_4154


async def migrate(engine: AsyncEngine) -> None:
    """Apply every pending Alembic migration (a no-op when the schema is current).

    On PostgreSQL the migration holds a transaction-level advisory lock, so several nodes
    starting at once on a new database migrate one after the other instead of racing on
    ``alembic_version``; SQLite's ``BEGIN IMMEDIATE`` serialises them already.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        await conn.run_sync(_upgrade)
