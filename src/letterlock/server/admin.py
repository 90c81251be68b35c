"""Operator tasks run from the command line against the server's database."""

from __future__ import annotations

import asyncio
import time

from .bus import InProcessBus
from .services import Services
from .settings import Settings
from .store import Store

__all__ = ["create_invite"]


async def _create_invite(settings: Settings) -> str:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(settings.resolved_database_url())
    try:
        services = Services.build(settings, store, InProcessBus())
        return await services.accounts.create_invite(int(time.time()))
    finally:
        await store.close()


def create_invite(settings: Settings) -> str:
    """A new single-use invite code for ``--registration invite`` servers."""
    return asyncio.run(_create_invite(settings))
