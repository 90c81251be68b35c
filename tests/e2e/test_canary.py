"""A canary: after a 1:1 and a group conversation carrying a unique string (in message
texts and in the group's local name), the string is nowhere the server can see or show:

- its stored data: every file of its data directory (SQLite with -wal/-shm) and, on
  PostgreSQL, every row of every table dumped with SQL;
- its logs (stdout and stderr of the process);
- anything it sent the clients: every HTTP request and response body (recorded by a
  wrapping httpx transport) and every mailbox payload pushed over the WebSocket.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from letterlock.client import ConversationJoined
from letterlock.client.transport import EntryFrame, GapFrame, MailboxSocket
from letterlock.server.process import ServerProcess

from .conftest import Backend
from .helpers import message_texts, people


class Recording(httpx.AsyncBaseTransport):
    """Passes requests through, keeping a copy of every request and response body."""

    def __init__(self, seen: list[bytes]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._seen.append(await request.aread())
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        self._seen.append(body)
        headers = [(k, v) for k, v in response.headers.raw
                   if k.lower() not in (b"content-encoding", b"transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=body,
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self._inner.aclose()


def test_canary_never_reaches_the_server(backend: Backend, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    wire: list[bytes] = []
    pushed: list[bytes] = []
    real_next = MailboxSocket.next

    async def recording_next(self: MailboxSocket) -> EntryFrame | GapFrame:
        frame = await real_next(self)
        if isinstance(frame, EntryFrame):
            pushed.append(frame.payload)
        return frame

    monkeypatch.setattr(MailboxSocket, "next", recording_next)
    server = backend.server()
    server.start()
    try:
        asyncio.run(asyncio.wait_for(
            _converse(server, tmp_path / "profiles", canary, wire), 40))
        stored_live = backend.stored_bytes()  # SQLite's -wal and -shm still exist
    finally:
        assert server.stop() == 0
    needle = canary.encode()
    assert pushed and wire, "nothing was recorded: the scan would prove nothing"
    assert not [p for p in pushed if needle in p], "a mailbox payload holds the canary"
    assert not [b for b in wire if needle in b], "an HTTP body holds the canary"
    assert needle not in server.logs()
    assert needle not in stored_live
    assert needle not in backend.stored_bytes()


async def _converse(server: ServerProcess, root: Path, canary: str,
                    wire: list[bytes]) -> None:
    async with people(root, server.url, "@alice", "@bob", "@carol",
                      http_transport=Recording(wire)) as (alice, bob, carol):
        direct = await alice.client.start_conversation("@bob")
        await alice.client.send_text(direct, f"1:1 {canary}")
        await bob.wait("the 1:1 text", lambda e: message_texts([e]) == [f"1:1 {canary}"])
        await bob.client.send_text(await bob.client.conversation(direct.id),
                                   f"reply {canary}")
        await alice.wait("the reply", lambda e: message_texts([e]) == [f"reply {canary}"])

        group = await alice.client.create_group(f"name {canary}", ["@bob", "@carol"])
        await carol.wait("the Welcome", lambda e: isinstance(e, ConversationJoined))
        await carol.client.send_text(await carol.client.conversation(group.id),
                                     f"group {canary}")
        for reader in (alice, bob):
            await reader.wait("the group text",
                              lambda e: message_texts([e]) == [f"group {canary}"])
