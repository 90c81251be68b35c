"""Attacks 1-4 on the key-transparency log: the client's KeyLog and the auditor
against an in-memory log (tests/client/kt_fakes.FakeLog) that the dishonest operator
controls, signing with its real log key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from client.kt_fakes import FakeLog, keylog_for, open_store
from letterlock.client import (
    ContactDevicesChanged,
    Event,
    KeyNotLogged,
    NewDeviceOnAccount,
    SplitViewAlert,
)
from letterlock.client.audit import AuditState, run_audit
from letterlock.client.keylog import KeyLog
from letterlock.client.safety import safety_number
from letterlock.client.transport import ClaimProof
from letterlock.transparency import InconsistentLogError, SplitViewError

KEY_A, KEY_B, KEY_C, KEY_GHOST = (bytes([n]) * 32 for n in (1, 2, 3, 4))


def fork_of(log: FakeLog, keep: int) -> FakeLog:
    """Another history under the same log key, sharing the first ``keep`` entries."""
    fork = FakeLog(name=b"fork", now=log.now)
    for entry, opening in list(zip(log.entries, log.openings, strict=True))[:keep]:
        fork.entries.append(entry)
        fork.openings.append(opening)
        fork.merkle.append(entry.to_bytes())
    return fork


def test_attack_1_unlogged_keypackage_refused(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)

    async def scenario() -> None:
        store = await open_store(tmp_path / "alice")
        try:
            seen: list[Event] = []
            kt = await keylog_for(store, log, "@alice", "alice-1", KEY_A, seen)
            claims: list[tuple[bytes, ClaimProof | None]] = [
                (KEY_GHOST, log.claim("@bob", "bob-1")),  # a key the server made up
                (KEY_B, None),  # no proof at all
            ]
            for key, claim in claims:
                with pytest.raises(KeyNotLogged) as refused:
                    await kt.check_claim("@bob", "bob-1", key, 1, claim)
                assert (refused.value.handle, refused.value.device_id) == ("@bob", "bob-1")
            assert not seen
        finally:
            await store.close()

    asyncio.run(scenario())


def test_attack_2_ghost_device_on_bob(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)

    async def scenario() -> None:
        a_store, b_store = await open_store(tmp_path / "a"), await open_store(tmp_path / "b")
        try:
            a_seen: list[Event] = []
            alice = await keylog_for(a_store, log, "@alice", "alice-1", KEY_A, a_seen)
            bob = await keylog_for(b_store, log, "@bob", "bob-1", KEY_B, [])

            async def number() -> str:
                mine, theirs = await alice.devices("@alice"), await alice.devices("@bob")
                return safety_number("@alice", {d: v.signature_key for d, v in mine.items()},
                                     "@bob", {d: v.signature_key for d, v in theirs.items()})

            before = await number()
            assert await bob.monitor() == []
            ghost = log.add("@bob", "ghost", KEY_GHOST)  # the operator logs a ghost
            [alert] = await bob.monitor()
            assert alert == NewDeviceOnAccount("@bob", "ghost", ghost,
                                               log.entries[ghost].timestamp, False)
            after = await number()
            assert after != before
            assert ContactDevicesChanged("@bob", "new device logged") in a_seen
        finally:
            await a_store.close()
            await b_store.close()

    asyncio.run(scenario())


def test_attack_3_split_view(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)
    fork = fork_of(log, 1)  # bob's view: his key swapped, same size
    fork.add("@bob", "bob-1", KEY_GHOST)

    async def scenario() -> None:
        store = await open_store(tmp_path / "alice")
        try:
            alice = await keylog_for(store, log, "@alice", "alice-1", KEY_A, [])
            await alice.refresh()
            gid = b"g" * 32
            [alert] = await alice.check_gossip(fork.head().to_bytes(), gid, "@bob")
            assert isinstance(alert, SplitViewAlert) and alert.sender == "@bob"
            assert alert.conversation_id == gid
            with pytest.raises(SplitViewError):
                await alice.check_head(fork.head())
            # the auditor holding both heads
            state = AuditState(tree_heads=[fork.head()])
            with pytest.raises(InconsistentLogError):  # SplitViewError is one too
                await run_audit(log, state)
        finally:
            await store.close()

    asyncio.run(scenario())


def test_attack_4_rewritten_or_truncated_history(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)

    async def scenario() -> None:
        store = await open_store(tmp_path / "alice")
        try:
            seen: list[Event] = []
            alice = await keylog_for(store, log, "@alice", "alice-1", KEY_A, seen)
            await alice.refresh()
            state = AuditState()
            await run_audit(log, state)
            # rewritten: bob's entry replaced, then the log grows on
            rewritten = fork_of(log, 1)
            rewritten.add("@bob", "bob-1", KEY_GHOST)
            rewritten.add("@carol", "carol-1", KEY_C)
            moved = await KeyLog.load(store, rewritten, "@alice", seen.append)
            assert moved is not None
            with pytest.raises(InconsistentLogError):
                await moved.refresh()
            assert isinstance(seen[-1], SplitViewAlert)
            with pytest.raises(InconsistentLogError):
                await run_audit(rewritten, state)
            # truncated: the operator rolled back to one entry
            truncated = fork_of(log, 1)
            with pytest.raises(InconsistentLogError):
                await run_audit(truncated, AuditState(tree_heads=[log.head()]))
        finally:
            await store.close()

    asyncio.run(scenario())
