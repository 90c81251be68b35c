"""Conversations end to end against a real ``letterlock serve``: a 1:1 chat both ways,
a group with a member added and one removed, an offline recipient, racing commits, and
leaving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from letterlock.client import (
    Client,
    ConflictError,
    ConversationJoined,
    Event,
    MembershipChanged,
    MessageReceived,
    RemovedFromConversation,
    Text,
)
from letterlock.client.transport import GroupPosted
from letterlock.crypto import SeededRandom

from .helpers import receiving, running_server

OPTIONS: dict[str, Any] = {"key_package_batch": 3, "key_package_low_water": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server")) as base:
        yield base


@asynccontextmanager
async def clients(base: str, root: Path, *handles: str) -> AsyncIterator[list[Client]]:
    """Registered clients for ``handles`` (profiles under ``root``)."""
    async with AsyncExitStack() as stack:
        opened = []
        for handle in handles:
            client = await stack.enter_async_context(Client.open(
                root / handle.lstrip("@"), rng=SeededRandom(handle.encode()), **OPTIONS))
            if await client.store.account() is None:
                await client.register(handle, base)
            opened.append(client)
        yield opened


def text_from(sender: str, body: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, MessageReceived) and e.sender == sender \
        and isinstance(e.content.body, Text) and e.content.body.text == body


def test_direct_conversation_both_ways(server: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with clients(server, tmp_path, "@ann", "@ben") as (ann, ben), \
                receiving(ben) as ben_events, receiving(ann) as ann_events:
            conv = await ann.start_conversation("@ben")
            assert conv.direct and conv.peer == "@ben" and conv.members == ("@ann", "@ben")
            assert (await ann.start_conversation("@ben")).id == conv.id  # reused
            await ann.send_text(conv, "hi ben")
            joined = await ben_events.wait(lambda e: isinstance(e, ConversationJoined))
            assert isinstance(joined, ConversationJoined)
            assert joined.by == "@ann" and joined.direct and joined.conversation_id == conv.id
            await ben_events.wait(text_from("@ann", "hi ben"))

            theirs = await ben.conversation("@ann")
            assert theirs.id == conv.id and theirs.direct
            await ben.send_text(theirs, "hi ann")
            got = await ann_events.wait(text_from("@ben", "hi ann"))
            assert isinstance(got, MessageReceived) and got.conversation_id == conv.id

            history = await ann.history(conv)
            assert [(h.sender, h.outgoing) for h in history] == \
                [("@ann", True), ("@ben", False)]
            assert sorted(m.handle for m in await ann.members(conv)) == ["@ann", "@ben"]

    asyncio.run(scenario())


def test_group_add_remove_offline_race_and_leave(server: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with clients(server, tmp_path, "@amy", "@boz", "@cyd", "@dia") as \
                (amy, bo, cy, _dia):
            async with receiving(bo) as bo_events, receiving(cy) as cy_events:
                group = await amy.create_group("team", ["@boz"])
                assert not group.direct and group.name == "team"
                await bo_events.wait(lambda e: isinstance(e, ConversationJoined))

                # --- add @cyd: everyone hears of it, and @cyd reads what follows ---------
                await amy.add_members(group, ["@cyd"])
                await cy_events.wait(lambda e: isinstance(e, ConversationJoined))
                added = await bo_events.wait(lambda e: isinstance(e, MembershipChanged))
                assert isinstance(added, MembershipChanged) and added.added == ("@cyd",)
                await amy.send_text(group, "welcome cyd")
                await bo_events.wait(text_from("@amy", "welcome cyd"))
                await cy_events.wait(text_from("@amy", "welcome cyd"))

                # --- remove @boz: bo learns it and gets nothing after ------------------
                await amy.remove_members(group, ["@boz"])
                removed = await bo_events.wait(
                    lambda e: isinstance(e, RemovedFromConversation))
                assert isinstance(removed, RemovedFromConversation) and removed.by == "@amy"
                await amy.send_text(group, "bo is gone")
                await cy_events.wait(text_from("@amy", "bo is gone"))
                bo_view = await bo.conversation(group.id)
                assert not bo_view.active
                assert "bo is gone" not in [
                    h.content.body.text for h in await bo.history(bo_view)
                    if isinstance(h.content.body, Text)]
                assert sorted(m.handle for m in await amy.members(group)) == ["@amy", "@cyd"]

            # --- @cyd offline: messages wait in the mailbox ------------------------------
            await amy.send_text(group, "while you were away")
            async with receiving(cy) as cy_events:
                await cy_events.wait(text_from("@amy", "while you were away"))

            # --- a race from the same epoch: amy adds @dia while cyd adds @boz back ----
            # Exactly one commit wins the epoch; the other device is told
            # epoch_advanced, applies the winner, and its add succeeds on retry.
            cy_group = await cy.conversation(group.id)
            epoch_before = await _epoch(amy, group.id)
            lost = [_count_conflicts(amy), _count_conflicts(cy)]
            await asyncio.gather(amy.add_members(group, ["@dia"]),
                                 cy.add_members(cy_group, ["@boz"]))
            assert sorted(len(x) for x in lost) == [0, 1]
            assert await _epoch(amy, group.id) == epoch_before + 2
            assert sorted(m.handle for m in await cy.members(cy_group)) == \
                ["@amy", "@boz", "@cyd", "@dia"]

            # --- leaving: cy proposes, amy (lowest other leaf) commits ------------------
            async with receiving(amy) as amy_events, receiving(cy) as cy_events:
                await cy.leave(cy_group)
                await cy_events.wait(lambda e: isinstance(e, RemovedFromConversation))
                await amy_events.wait(lambda e: isinstance(e, MembershipChanged)
                                      and e.removed == ("@cyd",))
            assert sorted(m.handle for m in await amy.members(group)) == ["@amy", "@boz", "@dia"]
            assert not (await cy.conversation(group.id)).active

    asyncio.run(scenario())


async def _epoch(client: Client, group_id: bytes) -> int:
    found = await client.api.group(group_id)
    return int(found["epoch"])


def _count_conflicts(client: Client) -> list[str]:
    """Spy on the client's commit posts; the list collects each 409's error code."""
    lost: list[str] = []
    post = client.api.post_commit

    async def spy(*args: Any, **kwargs: Any) -> GroupPosted:
        try:
            return await post(*args, **kwargs)
        except ConflictError as exc:
            lost.append(exc.code)
            raise

    client.api.post_commit = spy  # type: ignore[method-assign]
    return lost
