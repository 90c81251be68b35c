"""End-to-end fixtures: a real ``letterlock serve`` per test, on SQLite and on PostgreSQL.

PostgreSQL is ``postgresql://postgres@127.0.0.1:5432/`` (``LETTERLOCK_TEST_POSTGRES``
overrides it). Every PostgreSQL test gets a fresh, uniquely named database, dropped
after it: a server killed with SIGKILL must find exactly what it left. Unreachable
PostgreSQL skips its tests with the reason, or fails them with
``LETTERLOCK_REQUIRE_SERVICES=1`` (as in CI).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from letterlock.server.process import ServerProcess
from letterlock.server.store import async_url

POSTGRES = os.environ.get("LETTERLOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/")
REQUIRE_SERVICES = os.environ.get("LETTERLOCK_REQUIRE_SERVICES") == "1"


async def _admin(statement: str) -> None:
    engine = create_async_engine(async_url(POSTGRES.rstrip("/") + "/postgres"),
                                 isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _dump(url: str) -> bytes:
    """Every row of every table in the public schema, values as bytes, concatenated."""
    engine = create_async_engine(async_url(url))
    out = bytearray()
    try:
        async with engine.connect() as conn:
            names = (await conn.execute(text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' ORDER BY table_name"))).scalars().all()
            for name in names:
                for row in await conn.execute(text(f'SELECT * FROM "{name}"')):
                    for value in row:
                        out += value if isinstance(value, bytes | memoryview) \
                            else str(value).encode()
                        out += b"\x00"
    finally:
        await engine.dispose()
    return bytes(out)


@dataclass
class Backend:
    """Where a test's server keeps its data: ``url`` None means SQLite in the data dir."""

    name: str
    url: str | None
    data_dir: Path
    log_dir: Path

    def server(self) -> ServerProcess:
        """A (not yet started) server on this backend; restarts keep its port."""
        return ServerProcess(self.data_dir, self.log_dir, database_url=self.url)

    def stored_bytes(self) -> bytes:
        """All the server's stored data as bytes: every file of the data directory
        (SQLite and its -wal/-shm), plus on PostgreSQL every table's rows."""
        files = sorted(p for p in self.data_dir.rglob("*") if p.is_file())
        stored = b"".join(p.read_bytes() for p in files)
        if self.url is not None:
            stored += asyncio.run(_dump(self.url))
        return stored


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    data_dir, log_dir = tmp_path / "server", tmp_path / "logs"
    if request.param == "sqlite":
        yield Backend("sqlite", None, data_dir, log_dir)
        return
    name = f"letterlock_e2e_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        reason = f"PostgreSQL at {POSTGRES} unreachable: {type(exc).__name__}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield Backend("postgresql", POSTGRES.rstrip("/") + f"/{name}", data_dir, log_dir)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
