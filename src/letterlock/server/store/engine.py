"""Opening the database and migrating it.

Choice: SQLAlchemy's asyncio engine over **aiosqlite** (SQLite) and **asyncpg**
(PostgreSQL). Both drivers are maintained, both dialects are first-class in SQLAlchemy
2.x, and the server is async end to end, so a query never blocks the event loop and no
thread pool has to be sized against the connection pool. Alembic runs on the same
engine through ``AsyncConnection.run_sync`` (Alembic's documented recipe).

SQLite is opened so that concurrent writers queue rather than fail: WAL journal, a busy
timeout, foreign keys on, and every transaction starts with ``BEGIN IMMEDIATE`` so that
a read-then-write transaction (a KeyPackage claim, a mailbox enqueue) takes the write
lock up front instead of failing with SQLITE_BUSY when it tries to upgrade. PostgreSQL
uses row locks (``FOR UPDATE SKIP LOCKED``) in the queries that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["async_url", "migrate", "open_engine"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
        return create_async_engine(full, pool_pre_ping=True)
    engine = create_async_engine(full, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every pending Alembic migration (a no-op when the schema is current)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
