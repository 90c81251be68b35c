"""Key transparency end to end against a real ``letterlock serve``: the log key pinned at
registration, a 1:1 chat whose adds pass the log checks, gossip without alerts, equal
safety numbers that change when a device is added, the own-account monitor, an
unlogged KeyPackage refused, and an audit of the whole log."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from letterlock.client import (
    Client,
    ContactDevicesChanged,
    ContentExtensionType,
    ConversationJoined,
    KeyNotLogged,
    MessageReceived,
    NewDeviceOnAccount,
    SplitViewAlert,
    Text,
)
from letterlock.client.audit import AuditState, run_audit
from letterlock.client.content import extension
from letterlock.client.transport import Api, ClaimedKeyPackage
from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.protocol.statements import add_device_statement

from .helpers import receiving, running_server

OPTIONS: dict[str, Any] = {"key_package_batch": 2, "key_package_low_water": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("kt-server")) as base:
        yield base


def test_transparency_with_a_real_server(server: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            ticks: asyncio.Queue[None] = asyncio.Queue()

            async def tick(_seconds: float) -> None:  # bob's monitor's injected sleep
                await ticks.get()

            alice = await stack.enter_async_context(Client.open(
                tmp_path / "alice", rng=SeededRandom(b"alice"), **OPTIONS))
            bob = await stack.enter_async_context(Client.open(
                tmp_path / "bob", rng=SeededRandom(b"bob"), monitor_sleep=tick, **OPTIONS))
            await alice.register("@alice", server)
            await bob.register("@bob", server)
            pinned = (await alice.transparency()).log_public_key
            api = Api(server)
            try:
                assert await api.transparency_key() == pinned
            finally:
                await api.aclose()

            # the adds pass the log checks; the first message gossips alice's head
            events = await stack.enter_async_context(receiving(bob))
            conv = await alice.start_conversation("@bob")
            await events.wait(lambda e: isinstance(e, ConversationJoined))
            await alice.send_text(conv, "hello, logged bob")
            got = await events.wait(lambda e: isinstance(e, MessageReceived))
            assert isinstance(got, MessageReceived) and got.content.body == \
                Text("hello, logged bob")
            assert extension(got.content, ContentExtensionType.KT_TREE_HEAD) is not None
            assert not [e for e in events.seen if isinstance(e, SplitViewAlert)]

            # safety numbers: the same digits on both sides
            number = await alice.safety_number("@bob")
            assert number == await bob.safety_number("@alice")
            assert len(number.replace(" ", "")) == 60
            assert await alice.check_log() == []

            # a device added to @bob's account that this client of his did not link:
            # his monitor alerts; alice's safety number with him changes, and says why
            alice_events = await stack.enter_async_context(receiving(alice))
            ghost = await add_device_behind_the_clients_back(bob)
            ticks.put_nowait(None)  # the periodic check comes round (bob's receiver)
            alert = await events.wait(lambda e: isinstance(e, NewDeviceOnAccount))
            assert isinstance(alert, NewDeviceOnAccount)
            assert (alert.handle, alert.device_id, alert.known_device) == ("@bob", ghost,
                                                                          False)
            assert await bob.check_log() == []  # reported once
            changed = await alice.safety_number("@bob")
            assert changed != number and changed == await bob.safety_number("@alice")
            await alice_events.wait(lambda e: e == ContactDevicesChanged(
                "@bob", "new device logged"))

            # an unlogged KeyPackage (the proof stripped) is refused, naming the device
            real = alice.api.claim_key_packages

            async def stripped(handle: str) -> list[ClaimedKeyPackage]:
                return [dataclasses.replace(c, transparency=None)
                        for c in await real(handle)]

            carol = await stack.enter_async_context(Client.open(
                tmp_path / "carol", rng=SeededRandom(b"carol"), **OPTIONS))
            await carol.register("@carol", server)
            alice.api.claim_key_packages = stripped  # type: ignore[method-assign]
            with pytest.raises(KeyNotLogged) as refused:
                await alice.create_group("g", ["@carol"])
            assert refused.value.handle == "@carol"
            assert refused.value.device_id == carol.account().device_id
            alice.api.claim_key_packages = real  # type: ignore[method-assign]
            assert len(await alice.conversations()) == 1  # nothing was created

            # the whole log audits clean, read with a device's login
            state = AuditState()
            report = await run_audit(alice.api, state)
            assert report.entries == 4 and report.added == 4
            assert state.log_public_key == pinned

    asyncio.run(scenario())


async def add_device_behind_the_clients_back(client: Client) -> str:
    """Add a device to the client's account with its approval, through the raw API (as
    another program holding the device key, or a compromised server, could)."""
    handle = client.account().handle
    suite = cipher_suite(1)
    private, public = suite.generate_signature_key_pair(SeededRandom(b"ghost"))
    issued = await client.api.call("POST", f"/v1/accounts/{handle}/nonces",
                                   {"purpose": "add-device"}, auth=False)
    nonce = base64.b64decode(issued["nonce"])
    signed = add_device_statement(handle, public, 1, nonce, int(issued["expires_at"]))
    assert client.api.signer is not None
    created = await client.api.call("POST", f"/v1/accounts/{handle}/devices", {
        "signature_key": b64(public), "cipher_suite": 1,
        "approver_device_id": client.account().device_id, "nonce": b64(nonce),
        "approval": b64(client.api.signer(signed)),
        "possession": b64(suite.sign(private, signed))}, auth=False)
    return str(created["device_id"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_cli_verify_and_audit(server: str, tmp_path: Path) -> None:
    """``verify @handle`` prints the safety number and a QR code, ``verify GROUP`` the
    epoch code; ``audit`` passes on the real log and keeps its heads between runs."""
    from .test_cli_conversations import _cli, _json

    dora, erin = tmp_path / "dora", tmp_path / "erin"
    _json(dora, "account", "register", "@dora", "--server", server)
    _json(erin, "account", "register", "@erin", "--server", server)
    shown = _cli(dora, "verify", "@erin")
    assert shown.returncode == 0, shown.stderr
    number = _json(dora, "verify", "@erin")["safety_number"]
    assert number == _json(erin, "verify", "@dora")["safety_number"]
    assert number[:23] in shown.stdout and "▀" in shown.stdout  # the digits and a QR code
    _json(dora, "group", "create", "pair", "@erin")
    code = _json(dora, "verify", "pair")
    assert code["epoch"] == 1 and len(code["epoch_code"].split()) == 4
    state = tmp_path / "audit.json"
    for _run in range(2):
        audit = _json(dora, "audit", "--server", server, "--state", str(state))
        assert audit["ok"] and audit["entries"] >= 2
    assert len(json.loads(state.read_text())["tree_heads"]) >= 1
