"""The conversations of the demo: three people, a 1:1 chat and a group, through the SDK.

Each step waits (bounded) for the recipients' devices to show what was sent, so the
narration is what really happened, in order. Printing message text is intended here:
it is the demo's own user-facing output. Keys and tokens are never printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letterlock.client import (
    Client,
    ConversationError,
    ConversationJoined,
    Error,
    Event,
    MembershipChanged,
    MessageReceived,
    RemovedFromConversation,
    Text,
)

__all__ = ["Narrator", "Person", "Tour", "people"]

WAIT = 15.0  # seconds any one delivery may take before the demo calls it a failure
# A small KeyPackage pool: the demo publishes a few, not the default twenty.
CLIENT_OPTIONS: dict[str, Any] = {"key_package_batch": 3, "key_package_low_water": 1}


@dataclass
class Narrator:
    """Prints the story (unless quiet) and records every step for the summary."""

    quiet: bool
    steps: list[dict[str, Any]] = field(default_factory=list)

    def say(self, line: str = "") -> None:
        if not self.quiet:
            print(line, flush=True)

    def step(self, name: str, detail: str, **data: Any) -> None:
        self.steps.append({"step": name, "ok": True, "detail": detail, **data})
        self.say(f"  ✓ {detail}")


class Person:
    """One user: a Client on its own profile, and its events pumped into a queue."""

    def __init__(self, handle: str, client: Client) -> None:
        self.handle = handle
        self.client = client
        self.seen: list[Event] = []
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None

    def listen(self) -> None:
        async def pump() -> None:
            async for event in self.client.events():
                self.seen.append(event)
                self._queue.put_nowait(event)

        self._pump = asyncio.create_task(pump(), name=f"demo-{self.handle}")

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
        await self.client.close()

    async def wait(self, what: str, predicate: Callable[[Event], bool]) -> Event:
        """The next event matching ``predicate``; raises RuntimeError after WAIT s."""
        async def first() -> Event:
            while True:
                event = await self._queue.get()
                if isinstance(event, Error) and event.fatal:
                    raise RuntimeError(f"{self.handle}'s receiver stopped: {event.message}")
                if predicate(event):
                    return event

        try:
            return await asyncio.wait_for(first(), WAIT)
        except TimeoutError:
            raise RuntimeError(f"{self.handle} did not see {what} within {WAIT:g} s") from None

    def texts(self) -> list[str]:
        return [e.content.body.text for e in self.seen if isinstance(e, MessageReceived)
                and isinstance(e.content.body, Text)]


@asynccontextmanager
async def people(root: Path, server_url: str, handles: tuple[str, ...],
                 narrator: Narrator) -> AsyncIterator[dict[str, Person]]:
    """Register each handle on its own new profile under ``root``; all listening."""
    async with AsyncExitStack() as stack:
        found: dict[str, Person] = {}
        for handle in handles:
            client = await stack.enter_async_context(
                Client.open(root / handle.lstrip("@"), **CLIENT_OPTIONS))
            account = await client.register(handle, server_url)
            person = Person(handle, client)
            stack.push_async_callback(person.stop)
            person.listen()
            found[handle] = person
            narrator.step("register", f"{handle} registered: device {account.device_id}, "
                          "own profile, signature key published", handle=handle,
                          device_id=account.device_id)
        yield found


def message_from(sender: str, text: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, MessageReceived) and e.sender == sender \
        and isinstance(e.content.body, Text) and e.content.body.text == text


class Tour:
    """The scripted conversations. ``sent`` collects every text, for the server scan."""

    def __init__(self, narrator: Narrator, folks: dict[str, Person]) -> None:
        self.say = narrator.say
        self.step = narrator.step
        self.folks = folks
        self.sent: list[str] = []
        self.names: list[str] = []  # local conversation names: never sent either

    async def send(self, sender: str, conversation_id: bytes, text: str,
                   readers: tuple[str, ...]) -> None:
        """``sender`` sends; each reader's device receives and decrypts it."""
        client = self.folks[sender].client
        await client.send_text(await client.conversation(conversation_id), text)
        self.sent.append(text)
        self.say(f"  {sender} → \"{text}\"")
        for reader in readers:
            await self.folks[reader].wait(f"{sender}'s message", message_from(sender, text))
        self.step("message", f"{', '.join(readers)} decrypted it", sender=sender,
                  text=text, readers=list(readers))

    async def direct(self) -> None:
        alice = self.folks["@alice"]
        self.say("\n── A 1:1 conversation: @alice ↔ @bob")
        conv = await alice.client.start_conversation("@bob")
        self.say(f"  @alice starts it: a two-member MLS group {conv.id.hex()[:16]}…")
        await self.send("@alice", conv.id, "Hi Bob! Lunch on Thursday?", ("@bob",))
        await self.send("@bob", conv.id, "Thursday works. The usual place at noon.",
                        ("@alice",))

    async def group(self) -> None:
        alice, bob, carol = self.folks["@alice"], self.folks["@bob"], self.folks["@carol"]
        name = "book club"
        self.say(f"\n── A group: @alice creates \"{name}\" with @bob (the name stays on "
                 "her device)")
        group = await alice.client.create_group(name, ["@bob"])
        self.names.append(name)
        await bob.wait("the Welcome", lambda e: isinstance(e, ConversationJoined)
                       and e.conversation_id == group.id)
        self.step("group", f"@bob joined group {group.id.hex()[:16]}… from the Welcome",
                  group_id=group.id.hex())
        await self.send("@alice", group.id, "First pick: The Left Hand of Darkness.",
                        ("@bob",))

        self.say("\n── @alice adds @carol")
        await alice.client.add_members(group, ["@carol"])
        await carol.wait("the Welcome", lambda e: isinstance(e, ConversationJoined))
        await bob.wait("the commit", lambda e: isinstance(e, MembershipChanged)
                       and e.added == ("@carol",))
        self.step("add", "@carol joined; @bob's device applied the commit (new epoch)")
        await self.send("@carol", group.id, "Hello both, I am halfway through it already.",
                        ("@alice", "@bob"))

        self.say("\n── @alice removes @bob")
        await alice.client.remove_members(group, ["@bob"])
        await bob.wait("his removal", lambda e: isinstance(e, RemovedFromConversation))
        self.step("remove", "@bob's device learnt it was removed; the group moved to a "
                  "new epoch whose keys @bob never receives")
        secret = "Planning a surprise party for Bob, keep it quiet!"
        await self.send("@alice", group.id, secret, ("@carol",))
        await asyncio.sleep(0.5)  # give @bob's device every chance to receive it
        if secret in bob.texts():
            raise RuntimeError("@bob read a message sent after his removal")
        bob_view = await bob.client.conversation(group.id)
        try:
            await bob.client.send_text(bob_view, "Can I still post here?")
            raise RuntimeError("@bob could still send to the group after his removal")
        except ConversationError:
            pass
        self.step("removed-reads-nothing", "@bob received nothing after his removal, and his "
                  "client refuses to send to the group (it is no longer active)",
                  bob_messages_after_removal=0)

        self.say("\n── @carol goes offline; @alice writes once more")
        await carol.stop()
        late = "See you both on Friday at seven."
        await alice.client.send_text(group, late)
        self.sent.append(late)
        self.say(f"  @alice → \"{late}\"")
        self.step("offline", "the message waits in @carol's mailbox on the server, as "
                  "ciphertext")
