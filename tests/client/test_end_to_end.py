"""End to end against a real ``letterlock serve`` process: register through the SDK and
through the CLI, list devices, top up KeyPackages, receive over the WebSocket through the
pipeline, and survive a crash between the local commit and the ack."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from letterlock.client import (
    Client,
    ConnectionState,
    ConnectionStatus,
    Error,
    Event,
    KeyPackagesLow,
    MessageReceived,
)
from letterlock.client.content import encode_content, text
from letterlock.client.transport import MailboxSocket
from letterlock.crypto import SeededRandom

from .helpers import CONVERSATION, PlainContentProcessor, receiving, running_server

BATCH = 12  # the server calls a pool of fewer than 10 low


def _cli(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "letterlock.cli", "--profile", str(profile), *args],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "XDG_DATA_HOME": str(profile.parent / "xdg")})


async def _send(sender: Client, to: str, client_msg_id: str, payload: bytes) -> None:
    await sender.api.call("POST", "/v1/messages", {
        "client_msg_id": client_msg_id, "recipients": [to],
        "payload": base64.b64encode(payload).decode()})


def _received(seq: int) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, MessageReceived) and e.seq == seq


def test_sdk_and_cli_against_a_real_server(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with running_server(tmp_path / "server") as base:
        # --- @bob through the CLI ----------------------------------------------------
        bob_dir = tmp_path / "bob"
        done = _cli(bob_dir, "--json", "account", "register", "@bob", "--server", base)
        assert done.returncode == 0, done.stderr
        bob_account = json.loads(done.stdout)
        assert bob_account["handle"] == "@bob" and bob_account["server_url"] == base
        shown = _cli(bob_dir, "account", "show")
        assert shown.returncode == 0 and "@bob on " + base in shown.stdout
        listed = json.loads(_cli(bob_dir, "--json", "devices", "list").stdout)
        assert [d["device_id"] for d in listed["devices"]] == [bob_account["device_id"]]
        assert listed["devices"][0]["current"] is True
        human = _cli(bob_dir, "devices", "list").stdout
        assert human.startswith("* " + bob_account["device_id"])
        again = _cli(bob_dir, "--json", "account", "register", "@bob", "--server", base)
        assert again.returncode == 1
        assert json.loads(again.stderr)["error"] == "AlreadyRegistered"
        taken = _cli(tmp_path / "other", "account", "register", "@bob", "--server", base)
        assert taken.returncode == 1 and "error:" in taken.stderr

        asyncio.run(_sdk_scenario(tmp_path, base, monkeypatch))


async def _sdk_scenario(tmp_path: Path, base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alice_dir = tmp_path / "alice"
    options: dict[str, Any] = {"key_package_batch": BATCH, "rng": SeededRandom(b"alice")}
    async with Client.open(tmp_path / "bob") as bob:
        async with Client.open(alice_dir, processor=PlainContentProcessor(),
                               **options) as alice:
            account = await alice.register("@alice", base)
            assert alice.account() == account
            assert [d.device_id for d in await alice.devices()] == [account.device_id]

            # --- top-up: Bob claims KeyPackages until Alice's pool is low ------------
            for _ in range(3):
                await bob.api.call("POST", "/v1/accounts/@alice/keypackages/claim")
            assert await alice.top_up_key_packages() == 3
            assert (await alice.api.pool_status()).remaining == BATCH
            assert await alice.top_up_key_packages() == 0
            for _ in range(3):
                await bob.api.call("POST", "/v1/accounts/@alice/keypackages/claim")

            # --- receive through the pipeline (and auto top-up on connect) -----------
            hi = text("hi alice", rng=SeededRandom(b"m1"), sent_at_ms=1)
            async with receiving(alice) as events:
                await events.wait(lambda e: isinstance(e, ConnectionState)
                                  and e.status is ConnectionStatus.CONNECTED)
                low = await events.wait(lambda e: isinstance(e, KeyPackagesLow))
                assert isinstance(low, KeyPackagesLow) and low.remaining == BATCH - 3
                await _send(bob, account.device_id, "m1", encode_content(hi))
                got = await events.wait(_received(1))
                assert isinstance(got, MessageReceived)
                assert got.content == hi and got.sender == bob.account().device_id
                assert got.conversation_id == CONVERSATION
                await _send(bob, account.device_id, "bad", b"not content")
                bad = await events.wait(lambda e: isinstance(e, Error))
                assert isinstance(bad, Error) and bad.seq == 2 and not bad.fatal

                # --- crash between the local commit and the ack ---------------------
                committed = asyncio.Event()

                async def hang(self: MailboxSocket, seq: int) -> None:
                    committed.set()
                    await asyncio.Event().wait()  # the process "dies" here

                monkeypatch.setattr(MailboxSocket, "ack", hang)
                second = text("second", rng=SeededRandom(b"m3"), sent_at_ms=3)
                await _send(bob, account.device_id, "m3", encode_content(second))
                await asyncio.wait_for(committed.wait(), 10)
            assert (await alice.api.pool_status()).remaining == BATCH
        monkeypatch.undo()
        assert (await _server_mailbox(alice_dir, options)) == [3]  # never acknowledged

        # --- restart: the entry is recognised, acknowledged, and not shown again ------
        processor = PlainContentProcessor()
        async with Client.open(alice_dir, processor=processor, **options) as alice, \
                receiving(alice) as events:
            third = text("third", rng=SeededRandom(b"m4"), sent_at_ms=4)
            await _send(bob, account.device_id, "m4", encode_content(third))
            await events.wait(_received(4))
            # the same message again under another server id: processed, not shown
            await _send(bob, account.device_id, "m4-retry", encode_content(third))
            fourth = text("fourth", rng=SeededRandom(b"m6"), sent_at_ms=6)
            await _send(bob, account.device_id, "m6", encode_content(fourth))
            await events.wait(_received(6))
            shown = [e.seq for e in events.seen if isinstance(e, MessageReceived)]
            assert shown == [4, 6]
            assert 3 not in processor.calls and 5 in processor.calls
            history = await alice.store.history()
            assert [h.seq for h in history] == [1, 3, 4, 6]
            assert await alice.store.transaction(
                lambda tx: tx.group_state(CONVERSATION)) == b"5"  # 1, 3, 4, 5, 6
        assert await _server_mailbox(alice_dir, options) == []


async def _server_mailbox(profile: Path, options: dict[str, Any]) -> list[int]:
    """Sequences still waiting in the device's server mailbox (after acks settle)."""
    async with Client.open(profile, **options) as client:
        for _ in range(50):
            page = await client.api.call("GET", "/v1/mailbox")
            seqs = [entry["seq"] for entry in page["entries"]]
            if not seqs or seqs == [3]:
                return seqs
            await asyncio.sleep(0.05)
        return seqs

