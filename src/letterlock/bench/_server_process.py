"""The server under test, started by the shared launcher, and a throwaway PostgreSQL
database for it. Everything here stays on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from letterlock.server.process import ServerProcess

__all__ = ["running_server", "temporary_postgres"]

START_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def running_server(data_dir: Path, database_url: str | None = None
                         ) -> AsyncIterator[ServerProcess]:
    """The shared launcher (:class:`letterlock.server.process.ServerProcess`) from async
    code: start-up and shutdown block, so they run in a thread. Logs go to files in
    ``data_dir`` (a pipe nobody reads would fill and stall the server)."""
    server = ServerProcess(data_dir, data_dir, database_url=database_url)
    await asyncio.to_thread(server.start, START_TIMEOUT)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def temporary_postgres(server_url: str) -> AsyncIterator[str]:
    """A fresh, uniquely named database on ``server_url`` (``postgresql://user@host:port/``),
    dropped afterwards; yields its plain URL."""
    name = f"letterlock_bench_{uuid.uuid4().hex[:12]}"
    base = server_url.rstrip("/")
    admin = create_async_engine(base.replace("postgresql://", "postgresql+asyncpg://", 1)
                                + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{base}/{name}"
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
