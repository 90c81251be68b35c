"""Server test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is ``postgresql://postgres@127.0.0.1:5432/`` (``LETTERLOCK_TEST_POSTGRES``
overrides it). One fresh, uniquely named database is created per test session and
dropped after it; each test starts from empty tables. When PostgreSQL is unreachable its
tests skip with the reason, unless ``LETTERLOCK_REQUIRE_SERVICES=1`` makes that a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from letterlock.server.app import create_app
from letterlock.server.settings import Settings
from letterlock.server.store import Store, async_url
from letterlock.server.store.tables import metadata

from .helpers import Clock

POSTGRES = os.environ.get("LETTERLOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/")
REQUIRE_SERVICES = os.environ.get("LETTERLOCK_REQUIRE_SERVICES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _admin_url() -> str:
    return async_url(POSTGRES.rstrip("/") + "/postgres")


async def _admin(statement: str) -> None:
    engine = create_async_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"letterlock_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        reason = f"PostgreSQL at {POSTGRES} unreachable: {type(exc).__name__}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    url = POSTGRES.rstrip("/") + f"/{name}"
    asyncio.run(_migrate(url))
    try:
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    store = await Store.open(url)
    await store.close()


async def _truncate(url: str) -> None:
    store = await Store.open(url, run_migrations=False)
    try:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        async with store.transaction() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await store.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated-or-empty database of each backend, empty at the start of the test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'letterlock.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client
