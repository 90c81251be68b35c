"""The receive pipeline against a store alone: one transaction per entry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from letterlock.client import (
    Error,
    GroupStates,
    InboundEntry,
    MessageReceived,
    Processed,
    StateChange,
)
from letterlock.client.content import encode_content, text
from letterlock.client.pipeline import Pipeline
from letterlock.client.profile import ensure_profile_dir, load_profile_key
from letterlock.client.store import Store
from letterlock.crypto import SeededRandom

from .helpers import CONVERSATION, PlainContentProcessor


class Exploding:
    """Fails with a bug: the entry must stay unprocessed."""

    def process(self, entry: InboundEntry, states: GroupStates) -> Processed:
        raise RuntimeError("bug")


async def _store(directory: Path) -> Store:
    ensure_profile_dir(directory)
    key, _ = load_profile_key(directory)
    return await Store.open(directory, key.sealer(SeededRandom(b"p")))


def _entry(seq: int, payload: bytes) -> InboundEntry:
    return InboundEntry(seq, "bob-device", payload, 0)


def test_apply_once_reject_and_roll_back(tmp_path: Path) -> None:
    hello = text("hello", rng=SeededRandom(b"h"), sent_at_ms=9)

    async def scenario() -> None:
        store = await _store(tmp_path)
        try:
            pipeline = Pipeline(store, PlainContentProcessor(), clock=lambda: 1000.0)
            [first] = await pipeline.apply(_entry(1, encode_content(hello)))
            assert isinstance(first, MessageReceived)
            assert (first.content, first.received_at, first.sender) == \
                (hello, 1000, "bob-device")
            assert await pipeline.apply(_entry(1, encode_content(hello))) == []  # same seq
            assert await pipeline.apply(_entry(2, encode_content(hello))) == []  # same msg
            [rejected] = await pipeline.apply(_entry(3, b"junk"))
            assert isinstance(rejected, Error) and rejected.seq == 3
            assert await store.mailbox_cursor() == (3, 0)

            broken = Pipeline(store, Exploding(), clock=lambda: 1000.0)
            with pytest.raises(RuntimeError):
                await broken.apply(_entry(4, encode_content(hello)))
            assert await store.mailbox_cursor() == (3, 0)  # rolled back: not processed
            assert await store.transaction(lambda tx: tx.group_state(CONVERSATION)) == b"2"
            assert [h.seq for h in await store.history()] == [1]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_state_change_none_deletes(tmp_path: Path) -> None:
    class Forget:
        def process(self, entry: InboundEntry, states: GroupStates) -> Processed:
            assert states.get(b"g") == b"state"
            return Processed((StateChange(b"g", None),))

    async def scenario() -> None:
        store = await _store(tmp_path)
        try:
            await store.transaction(lambda tx: tx.put_group_state(b"g", b"state", 0))
            assert await Pipeline(store, Forget(), clock=lambda: 0.0).apply(
                _entry(1, b"")) == []
            assert await store.transaction(lambda tx: tx.group_state(b"g")) is None
        finally:
            await store.close()

    asyncio.run(scenario())
