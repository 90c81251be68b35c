"""SDK people for the end-to-end tests: registered clients whose events are pumped in
the background (the demo's :class:`~letterlock.demo.tour.Person`), reconnecting fast."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from letterlock.client import Client, DeliveryGap, Error, Event, MessageReceived, Text
from letterlock.demo.tour import Person

__all__ = ["Person", "cli", "history_texts", "message_texts", "people", "problems"]

# Small pools, and reconnect delays capped at 0.2 s so a restarted server is found fast.
OPTIONS: dict[str, Any] = {"key_package_batch": 2, "key_package_low_water": 1,
                           "jitter": lambda: 0.5}


async def _short_sleep(delay: float) -> None:
    await asyncio.sleep(min(delay, 0.2))


@asynccontextmanager
async def people(root: Path, server_url: str, *handles: str,
                 **options: Any) -> AsyncIterator[list[Person]]:
    """Registered, listening people for ``handles`` (profiles under ``root``)."""
    async with AsyncExitStack() as stack:
        found = []
        for handle in handles:
            client = await stack.enter_async_context(Client.open(
                root / handle.lstrip("@"), sleep=_short_sleep, **OPTIONS, **options))
            if await client.store.account() is None:
                await client.register(handle, server_url)
            person = Person(handle, client)
            stack.push_async_callback(person.stop)
            person.listen()
            found.append(person)
        yield found


def message_texts(events: list[Event]) -> list[str]:
    return [e.content.body.text for e in events if isinstance(e, MessageReceived)
            and isinstance(e.content.body, Text)]


def problems(events: list[Event]) -> list[Event]:
    """Gaps and errors: a correct delivery shows neither."""
    return [e for e in events if isinstance(e, DeliveryGap | Error)]


async def history_texts(client: Client, conversation_id: bytes) -> list[tuple[int | None, str]]:
    """``(mailbox seq, text)`` of a conversation's local history, oldest first."""
    conv = await client.conversation(conversation_id)
    return [(h.seq, h.content.body.text) for h in await client.history(conv, limit=1000)
            if isinstance(h.content.body, Text)]


def cli(profile: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``letterlock --profile PROFILE ARGS`` as a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "letterlock.cli", "--profile", str(profile), *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "XDG_DATA_HOME": str(profile.parent / "xdg")})


def cli_json(profile: Path, *args: str) -> Any:
    done = cli(profile, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
