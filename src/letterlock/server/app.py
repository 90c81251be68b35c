"""The ASGI application: :func:`create_app` builds it from :class:`Settings`.

Middleware is composed here and nowhere else (outermost first): access log, then body
size limit, then FastAPI's routing. The lifespan opens the store (running migrations),
connects the Redis bus when ``bus_url`` is set, builds the services, runs housekeeping
(retention, expired tokens and nonces) once an hour, and closes everything on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.middleware import Middleware

from letterlock import __version__

from . import api
from .bus import Bus, InProcessBus
from .bus.redis import RedisBus
from .middleware import AccessLogMiddleware, BodySizeLimitMiddleware
from .services import Services
from .services._common import Random, system_random
from .settings import Settings
from .store import Store

__all__ = ["create_app"]

log = logging.getLogger("letterlock.server")
HOUSEKEEPING_SECONDS = 3600
# How often the WAL is copied into the database file (see Store.checkpoint). Each
# checkpoint ends with an fsync of the database file, which on a shared disk can hold up
# the commits' own fsyncs for tens to hundreds of milliseconds: once a second (not four
# times) cut the paced p99 of the server bench from occasional 190-440 ms to under 40 ms,
# with the WAL still well under the automatic limit (engine.WAL_AUTOCHECKPOINT_PAGES).
CHECKPOINT_SECONDS = 1.0


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time,
               random: Random = system_random, bus: Bus | None = None) -> FastAPI:
    """Build the app. ``clock`` and ``random`` are injectable for tests."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(settings.resolved_database_url())
        redis_bus = None
        if bus is None and settings.bus_url:
            redis_bus = RedisBus(settings.bus_url)
            await redis_bus.start()
        services = Services.build(settings, store, bus or redis_bus or InProcessBus(), random)
        # A device removed on any node is forgotten by every node's token cache at once.
        services.auth.attach_bus(services.bus)
        # Every device must be in the key-transparency log (see TransparencyService.backfill).
        await services.transparency.backfill(int(clock()))
        app.state.services = services
        app.state.clock = clock
        log.info("server started", extra={"database": store.dialect,
                                          "bus": "redis" if redis_bus else "in-process",
                                          "registration": settings.registration.value})
        housekeeping = asyncio.create_task(_housekeeping(services, clock))
        checkpoints = asyncio.create_task(_checkpoints(store))
        # Everything loaded so far (modules, the app, the engine) lives as long as the
        # process: move it out of the collector's sight, so that a full collection walks
        # only what requests allocate (a full collection of the start-up heap pauses the
        # server for ~70 ms here). Collect first, so no start-up garbage is kept forever.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            housekeeping.cancel()
            checkpoints.cancel()
            await asyncio.gather(housekeeping, checkpoints, return_exceptions=True)
            if redis_bus is not None:
                await redis_bus.close()
            await store.close()
            log.info("server stopped")

    app = FastAPI(
        title="Letterlock delivery server", version=__version__, lifespan=lifespan,
        middleware=[
            Middleware(AccessLogMiddleware),
            Middleware(BodySizeLimitMiddleware, limit=settings.max_body_bytes),
        ])
    api.install(app)
    return app


async def _checkpoints(store: Store) -> None:
    if store.dialect != "sqlite":
        return
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        try:
            await store.checkpoint()
        except Exception:  # SQLite's automatic checkpoint still bounds the WAL
            log.exception("checkpoint failed")


async def _housekeeping(services: Services, clock: Callable[[], float]) -> None:
    while True:
        try:
            now = int(clock())
            await services.mailbox.expire(now)
            await services.auth.purge_expired(now)
        except Exception:  # keep serving; the next round retries
            log.exception("housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
