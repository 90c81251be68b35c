"""Device linking and removal as the own-account monitor sees them: a device this one
approved, and the devices a linked device was told of (and the log proves), raise no
alert; anything else still does; a removal this device made is quiet, any other is
reported once. First against the in-memory log, then against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from letterlock.client import (
    Client,
    DeviceRemovedFromAccount,
    Event,
    LinkApproval,
    LinkError,
    LinkRequest,
    NewDeviceOnAccount,
)
from letterlock.client.keylog import LINKING
from letterlock.client.store import Store
from letterlock.crypto import SeededRandom
from letterlock.transparency import LogAction

from .helpers import running_server
from .kt_fakes import START, FakeLog, keylog_for
from .test_keylog import KEY_A, KEY_B, KEY_C, KEY_GHOST, run
from .test_transparency_e2e import add_device_behind_the_clients_back

EXPIRES = START // 1000 + 3600  # an approval's nonce expiry, in Unix seconds


def test_an_approved_key_is_our_own_link_once(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@amy", "amy-1", KEY_A)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@amy", "amy-1", KEY_A, seen)
        await kt.approve_key(KEY_B, EXPIRES)
        log.add("@amy", "amy-2", KEY_B)
        assert await kt.monitor() == []
        assert kt.known_devices == {"amy-1": KEY_A, "amy-2": KEY_B}
        # used up: the same key logged again as another device is an alert
        again = log.add("@amy", "amy-3", KEY_B)
        assert [(e.device_id, e.index) for e in await kt.monitor()
                if isinstance(e, NewDeviceOnAccount)] == [("amy-3", again)]
        # an approval does not excuse a key swapped under a device we know
        await kt.approve_key(KEY_C, EXPIRES)
        log.add("@amy", "amy-1", KEY_C)
        [swap] = await kt.monitor()
        assert isinstance(swap, NewDeviceOnAccount) and swap.known_device
        # nor a device logged long after the approval expired
        await kt.approve_key(KEY_GHOST, START // 1000 - 1000)
        log.add("@amy", "ghost", KEY_GHOST)
        [late] = await kt.monitor()
        assert isinstance(late, NewDeviceOnAccount) and late.device_id == "ghost"
        assert not seen

    run(tmp_path, body)


def test_a_linked_device_trusts_what_it_was_told_and_the_log_proves(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@amy", "amy-1", KEY_A)
    old = log.add("@amy", "amy-old", KEY_C)
    log.append(LogAction.REMOVED, "@amy", "amy-old", KEY_C)  # before the new device
    log.add("@amy", "ghost", KEY_GHOST)  # the server's, never approved by anyone
    log.add("@amy", "amy-2", KEY_B)  # the new device itself
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@amy", "amy-2", KEY_B, seen)
        # told of amy-1 (proven), of amy-old (removed: not proven), and a wrong key
        [alert] = await kt.adopt({"amy-1": KEY_A, "amy-old": KEY_C, "ghost": KEY_A})
        assert isinstance(alert, NewDeviceOnAccount) and alert.device_id == "ghost"
        # amy-old came and went before this device: history, not news; the ghost
        # was reported once
        assert await kt.monitor() == []
        assert kt.known_devices == {"amy-1": KEY_A, "amy-2": KEY_B}
        # a removal from now on is news
        gone = log.append(LogAction.REMOVED, "@amy", "amy-1", KEY_A)
        assert await kt.monitor() == [DeviceRemovedFromAccount(
            "@amy", "amy-1", gone, log.entries[gone].timestamp)] and old < gone
        assert not seen

    run(tmp_path, body)


def test_removals_ours_are_quiet_others_reported_once(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@amy", "amy-1", KEY_A)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@amy", "amy-1", KEY_A, seen)
        for device_id, key in (("amy-2", KEY_B), ("amy-3", KEY_C)):
            kt.trust_device(device_id, key)
            log.add("@amy", device_id, key)
        assert await kt.monitor() == []
        await kt.expect_removal("amy-2")
        log.append(LogAction.REMOVED, "@amy", "amy-2", KEY_B)
        assert await kt.monitor() == []
        gone = log.append(LogAction.REMOVED, "@amy", "amy-3", KEY_C)
        assert await kt.monitor() == [DeviceRemovedFromAccount(
            "@amy", "amy-3", gone, log.entries[gone].timestamp)]
        assert await kt.monitor() == []  # once
        # a refused removal is not expected any more: its entry later is news
        await kt.expect_removal("amy-1")
        await kt.expect_removal("amy-1", expected=False)
        own = log.append(LogAction.REMOVED, "@amy", "amy-1", KEY_A)
        assert [e.index for e in await kt.monitor()
                if isinstance(e, DeviceRemovedFromAccount)] == [own]
        assert not seen

    run(tmp_path, body)


def test_a_profile_from_before_linking_takes_past_removals_as_read(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@amy", "amy-1", KEY_A)
    log.add("@amy", "amy-2", KEY_B)
    log.append(LogAction.REMOVED, "@amy", "amy-2", KEY_B)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@amy", "amy-1", KEY_A, seen)
        kt.trust_device("amy-2", KEY_B)
        await store.transaction(lambda tx: tx._conn.execute(
            "DELETE FROM secrets WHERE name = ?", (LINKING,)))
        await kt.approve_key(KEY_C, EXPIRES)  # a change before its first check
        log.add("@amy", "amy-3", KEY_C)
        assert await kt.monitor() == []
        gone = log.append(LogAction.REMOVED, "@amy", "amy-1", KEY_A)
        assert await kt.monitor() == [DeviceRemovedFromAccount(
            "@amy", "amy-1", gone, log.entries[gone].timestamp)]

    run(tmp_path, body)


def test_link_objects_round_trip_and_refuse_junk() -> None:
    request = LinkRequest("@amy", "http://x", KEY_B, 1, b"n" * 32, 99)
    assert LinkRequest.from_bytes(request.to_bytes()) == request
    approval = LinkApproval("amy-1", b"sig", (("amy-1", KEY_A),))
    assert LinkApproval.from_bytes(approval.to_bytes()) == approval
    for junk in (b"", approval.to_bytes(), request.to_bytes() + b"\x00"):
        with pytest.raises(LinkError):
            LinkRequest.from_bytes(junk)
    with pytest.raises(LinkError):
        LinkApproval.from_bytes(request.to_bytes())


# --- against a real server ---------------------------------------------------------------

OPTIONS: dict[str, Any] = {"key_package_batch": 2, "key_package_low_water": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("linking-server")) as base:
        yield base


def test_linking_and_removing_with_a_real_server(server: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Client.open(tmp_path / "a", rng=SeededRandom(b"a"), **OPTIONS) as a, \
                Client.open(tmp_path / "b", rng=SeededRandom(b"b"), **OPTIONS) as b, \
                Client.open(tmp_path / "c", rng=SeededRandom(b"c"), **OPTIONS) as c, \
                Client.open(tmp_path / "d", rng=SeededRandom(b"d"), **OPTIONS) as d:
            await a.register("@dana", server)
            await c.register("@erin", server)
            request = await b.request_link("@dana", server)
            with pytest.raises(LinkError):
                await c.approve_link(request)  # another account's request
            approval = await a.approve_link(LinkRequest.from_bytes(request.to_bytes()))
            with pytest.raises(LinkError):  # another profile cannot use B's request
                await d.complete_link(request, approval)
            linked = await b.complete_link(request, LinkApproval.from_bytes(
                approval.to_bytes()))
            assert linked.handle == "@dana"
            # neither device alerts about the other: the owner's own link
            assert await a.check_log() == []
            assert await b.check_log() == []
            assert {d.device_id for d in await a.devices()} == {
                a.account().device_id, linked.device_id}

            # a device added with an approval made outside this client (as a stolen
            # device key or a compromised server could) alerts on both
            ghost = await add_device_behind_the_clients_back(a)
            for client in (a, b):
                [alert] = await client.check_log()
                assert isinstance(alert, NewDeviceOnAccount) and alert.device_id == ghost

            # A removes the ghost: quiet on A, an unexplained removal on B
            await a.remove_device(ghost)
            assert await a.check_log() == []
            [removed] = await b.check_log()
            assert isinstance(removed, DeviceRemovedFromAccount)
            assert removed.device_id == ghost and removed.handle == "@dana"
            assert await b.check_log() == []

    asyncio.run(scenario())
