"""The outbox against a real ``letterlock serve`` that is stopped and started: a send
while the server is down is queued (SDK and CLI say so), survives a restart of the
client, is re-encrypted for the epoch the group moved to meanwhile, and is delivered
exactly once; a queued message whose sender was removed meanwhile fails for good.

One real restart of the server (they are slow); the second outage is a network failure
injected into the API, which the client cannot tell apart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from letterlock.cli import main as cli_main
from letterlock.client import (
    Client,
    ConversationJoined,
    DeliveryStatus,
    Event,
    MembershipChanged,
    MessageDelivery,
    MessageReceived,
    RemovedFromConversation,
    SentMessage,
    Text,
    TransportError,
)
from letterlock.client.commands import _send
from letterlock.crypto import SeededRandom
from letterlock.server.process import ServerProcess

from .helpers import Events, receiving

OPTIONS: dict[str, Any] = {"key_package_batch": 2, "key_package_low_water": 1,
                           "jitter": lambda: 0.5}


async def _short_sleep(delay: float) -> None:
    await asyncio.sleep(min(delay, 0.1))


class Gate:
    """A reconnect sleep that waits until the test opens it: the client stays offline
    while the test changes the group behind its back."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def sleep(self, _delay: float) -> None:
        await self.opened.wait()
        await asyncio.sleep(0.05)


def texts(events: Events) -> list[str]:
    return [e.content.body.text for e in events.seen if isinstance(e, MessageReceived)
            and isinstance(e.content.body, Text)]


def is_text(words: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, MessageReceived) and e.content.body == Text(words)


def delivery(status: DeliveryStatus) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, MessageDelivery) and e.status is status


def test_queued_while_the_server_is_down_then_delivered_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = ServerProcess(tmp_path / "server", tmp_path / "logs")
    server.start()
    try:
        asyncio.run(asyncio.wait_for(_scenario(server, tmp_path, capsys), 90))
    finally:
        server.stop()


async def _scenario(server: ServerProcess, root: Path,
                    capsys: pytest.CaptureFixture[str]) -> None:
    gate = Gate()

    def alice_client() -> Client:
        return Client.open(root / "alice", rng=SeededRandom(b"alice"), sleep=gate.sleep,
                           **OPTIONS)

    async with Client.open(root / "bob", rng=SeededRandom(b"bob"), sleep=_short_sleep,
                           **OPTIONS) as bob, \
            Client.open(root / "carol", rng=SeededRandom(b"carol"), sleep=_short_sleep,
                        **OPTIONS) as carol:
        await bob.register("@bob", server.url)
        await carol.register("@carol", server.url)
        async with receiving(bob) as bob_events, receiving(carol) as carol_events:
            async with alice_client() as alice:
                await alice.register("@alice", server.url)
                async with receiving(alice) as alice_events:
                    conv = await alice.start_conversation("@bob")
                    await bob_events.wait(lambda e: isinstance(e, ConversationJoined))
                    assert (await alice.send_message(conv, "before")).status \
                        is DeliveryStatus.SENT
                    await bob_events.wait(is_text("before"))

                    server.stop()
                    sent = await alice.send_message(conv, "while down")
                    assert sent == SentMessage(conv.id, sent.client_message_id,
                                               DeliveryStatus.PENDING)
                    event = await alice_events.wait(delivery(DeliveryStatus.PENDING))
                    assert isinstance(event, MessageDelivery)
                    assert (event.conversation_id, event.client_message_id) == (
                        conv.id, sent.client_message_id)
                    assert await alice.pending() == [sent.client_message_id]
                    [*_, mine] = await alice.history(conv)
                    assert mine.content.body == Text("while down")
                    assert mine.delivery is DeliveryStatus.PENDING

            # The CLI, on the same profile, with the server still down: queued, and says so
            for flags in (["--json"], []):
                status = await asyncio.to_thread(cli_main, [
                    "--profile", str(root / "alice"), *flags, "send", "@bob",
                    "from the cli"])
                out = capsys.readouterr().out
                assert status == 0
                if flags:
                    said = json.loads(out)
                    assert (said["status"], said["queued"]) == ("queued", True)
                    assert said["conversation"] == conv.id.hex()
                else:
                    assert out.startswith("queued for @bob, NOT delivered yet")

            # The server comes back; bob adds carol (a new epoch) before alice reconnects
            server.start()
            await bob.add_members(await bob.conversation(conv.id), ["@carol"])
            await carol_events.wait(lambda e: isinstance(e, ConversationJoined))
            async with alice_client() as alice:  # a restart: the outbox was persisted
                assert len(await alice.pending()) == 3
                async with receiving(alice) as alice_events:
                    gate.opened.set()
                    for _sent in range(3):
                        await alice_events.wait(delivery(DeliveryStatus.SENT))
                    assert await alice.pending() == []
                    # the commit the server named in its 409, applied before re-encrypting
                    assert [e.added for e in alice_events.seen
                            if isinstance(e, MembershipChanged)] == [("@carol",)]
                    await alice.send_text(await alice.conversation(conv.id), "after")
                    await bob_events.wait(is_text("after"))
                    await carol_events.wait(is_text("after"))
                    # each once, in the order written; carol (who joined in the new
                    # epoch) can read them: they were encrypted again for it
                    assert texts(bob_events) == ["before", "while down", "from the cli",
                                                 "from the cli", "after"]
                    assert texts(carol_events) == ["while down", "from the cli",
                                                   "from the cli", "after"]
                    assert {h.delivery for h in await alice.history(
                        await alice.conversation(conv.id))} == {DeliveryStatus.SENT}

                    # Queued again (the network fails this time), and removed from the
                    # group before it could go out: it fails for good, and says so
                    async def unreachable(*_args: object) -> object:
                        raise TransportError("network down (test)")

                    post = alice.api.post_group_message
                    alice.api.post_group_message = unreachable  # type: ignore[assignment]
                    doomed = await alice.send_message(await alice.conversation(conv.id),
                                                      "doomed")
                    assert doomed.status is DeliveryStatus.PENDING
                    alice.api.post_group_message = post  # type: ignore[method-assign]
                    await bob.remove_members(await bob.conversation(conv.id), ["@alice"])
                    await alice_events.wait(
                        lambda e: isinstance(e, RemovedFromConversation))
                    assert await alice.flush_outbox() == 0
                    failed = await alice_events.wait(delivery(DeliveryStatus.FAILED))
                    assert isinstance(failed, MessageDelivery)
                    assert failed.client_message_id == doomed.client_message_id
                    assert failed.detail == "this device is no longer in the conversation"
                    assert await alice.pending() == []
                    [*_, last] = await alice.history(await alice.conversation(conv.id))
                    assert last.content.body == Text("doomed")
                    assert last.delivery is DeliveryStatus.FAILED
                    assert "doomed" not in texts(bob_events)


def test_send_output_says_queued_or_sent() -> None:
    """``letterlock send`` words (plain and JSON) for both outcomes."""
    from argparse import Namespace

    from letterlock.client.conversations import Conversation

    conv = Conversation(b"\x01" * 32, True, None, ("@a", "@b"), True, 1, "@a")

    class FakeClient:
        def __init__(self, status: DeliveryStatus) -> None:
            self.status = status

        async def conversation(self, ref: str) -> Conversation:
            return conv

        async def send_message(self, c: Conversation, text: str) -> SentMessage:
            return SentMessage(c.id, b"\x02" * 16, self.status)

    args = Namespace(to="pair", text="hi")
    for status, word, line in ((DeliveryStatus.SENT, "sent", "sent to @b"),
                               (DeliveryStatus.PENDING, "queued", "queued for @b")):
        data, text = asyncio.run(_send(FakeClient(status), args))  # type: ignore[arg-type]
        assert data["status"] == word and data["queued"] is (word == "queued")
        assert text.startswith(line)
