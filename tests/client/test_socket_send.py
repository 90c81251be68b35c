"""While a client holds its mailbox connection, its messages go over it (no HTTP request
per message); without one, over HTTP. Against a real ``letterlock serve``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from letterlock.client import ConnectionState, ConnectionStatus
from letterlock.server.process import ServerProcess

from .helpers import receiving
from .test_conversations_e2e import clients, text_from


def _posted_messages(server: ServerProcess) -> int:
    """HTTP requests to a group's messages route, from the server's access log."""
    return sum(1 for line in server.logs().splitlines()
               if b'"path": "/v1/groups/' in line and b'/messages"' in line)


def test_sends_use_the_mailbox_socket_while_connected(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "server", tmp_path / "server") as server:
        async def scenario() -> None:
            async with clients(server.url, tmp_path, "@amy", "@bob") as (amy, bob):
                async with receiving(amy) as amy_events, receiving(bob) as bob_events:
                    await amy_events.wait(lambda e: isinstance(e, ConnectionState)
                                          and e.status == ConnectionStatus.CONNECTED)
                    conversation = await amy.start_conversation("@bob")
                    for i in range(3):
                        await amy.send_text(conversation, f"over the socket {i}")
                    for i in range(3):
                        await bob_events.wait(text_from("@amy", f"over the socket {i}"))
                assert _posted_messages(server) == 0
            # Reopened without receiving (no mailbox connection): over HTTP.
            async with clients(server.url, tmp_path, "@amy") as (amy,):
                await amy.send_text(await amy.conversation("@bob"), "over HTTP")
            assert _posted_messages(server) == 1
            async with clients(server.url, tmp_path, "@bob") as (bob,), \
                    receiving(bob) as bob_events:
                await bob_events.wait(text_from("@amy", "over HTTP"))

        asyncio.run(scenario())
