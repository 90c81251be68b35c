"""Key transparency on the client, against an in-memory log (kt_fakes.FakeLog): refusing
unlogged keys, the own-account monitor, split views, contacts' device changes, safety
numbers, and a commit that adds an unlogged device."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from letterlock.client import (
    ContactDevicesChanged,
    Error,
    Event,
    KeyNotLogged,
    NewDeviceOnAccount,
    SplitViewAlert,
)
from letterlock.client.directory import CredentialPolicy, Directory, resolving
from letterlock.client.errors import ServerError, server_error
from letterlock.client.keylog import KeyLog
from letterlock.client.processor import GroupProcessor
from letterlock.client.safety import epoch_code, safety_number
from letterlock.client.store import Store
from letterlock.client.transport import ClaimProof, DeviceInfo
from letterlock.protocol.envelope import EnvelopeKind
from letterlock.transparency import (
    ConsistencyProof,
    InconsistentLogError,
    LogAction,
    MerkleLog,
    SignedTreeHead,
    SplitViewError,
)

from .kt_fakes import FakeLog, keylog_for, open_store
from .test_processor import World

KEY_A, KEY_B, KEY_C, KEY_GHOST = (bytes([n]) * 32 for n in (1, 2, 3, 4))


def run(tmp_path: Path, body: Callable[[Store], Awaitable[None]]) -> None:
    async def scenario() -> None:
        store = await open_store(tmp_path / "profile")
        try:
            await body(store)
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_claim_is_refused_unless_its_key_is_logged(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)
    log.add("@mallory", "mallory-1", KEY_C)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@alice", "alice-1", KEY_A, seen)
        await kt.check_claim("@bob", "bob-1", KEY_B, 1, log.claim("@bob", "bob-1"))

        async def refused(claim: ClaimProof | None, key: bytes = KEY_B,
                          device: str = "bob-1") -> str:
            with pytest.raises(KeyNotLogged) as refusal:
                await kt.check_claim("@bob", device, key, 1, claim)
            assert refusal.value.handle == "@bob" and refusal.value.device_id == device
            assert "@bob" in str(refusal.value) and device in str(refusal.value)
            return refusal.value.reason

        assert await refused(None) == "the server sent no log proof"
        # a key the server made up for bob-1: the logged entry has another key
        assert "not the logged key" in await refused(log.claim("@bob", "bob-1"), KEY_GHOST)
        # another account's entry passed off as @bob's
        assert "another account" in await refused(log.claim("@mallory", "mallory-1"))
        # a device the log never heard of, proven with bob-1's entry
        assert "another device" in await refused(log.claim("@bob", "bob-1"), device="ghost")
        assert "malformed" in await refused(ClaimProof(1, b"junk", b"junk"))
        # a removal entry proves nothing about a key to add
        removed = log.append(LogAction.REMOVED, "@bob", "bob-1", KEY_B)
        claim = ClaimProof(removed, log.proven(removed).to_bytes(), log.head().to_bytes())
        assert "removal" in await refused(claim)
        assert not seen

    run(tmp_path, body)


def test_an_older_head_is_accepted_through_a_consistency_proof(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)
    old_claim = log.claim("@bob", "bob-1")  # under the head of size 2
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@alice", "alice-1", KEY_A, seen)
        log.add("@carol", "carol-1", KEY_C)
        await kt.refresh()
        assert kt.latest is not None and kt.latest.tree_size == 3
        await kt.check_claim("@bob", "bob-1", KEY_B, 1, old_claim)
        assert "head?since=2" in log.requests
        # and the state survives a reload
        again = await KeyLog.load(store, log, "@alice", seen.append)
        assert again is not None and again.latest == kt.latest
        assert not seen

    run(tmp_path, body)


def test_a_ghost_device_on_bobs_account_alerts_bobs_monitor(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@bob", "bob-1", KEY_B)
    log.add("@alice", "alice-1", KEY_A)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@bob", "bob-1", KEY_B, seen)
        assert await kt.monitor() == []
        ghost = log.add("@bob", "ghost", KEY_GHOST)
        [alert] = await kt.monitor()
        assert alert == NewDeviceOnAccount("@bob", "ghost", ghost,
                                           log.entries[ghost].timestamp, False)
        assert await kt.monitor() == []  # once per device and key
        # a key swapped under our own device id, hidden from the first listing
        swap = log.add("@bob", "bob-1", KEY_C)
        log.hidden.add(swap)
        assert await kt.monitor() == []
        log.hidden.clear()
        [swapped] = await kt.monitor()
        assert isinstance(swapped, NewDeviceOnAccount) and swapped.known_device
        # a device we linked ourselves raises nothing
        kt.trust_device("bob-2", KEY_A)
        log.add("@bob", "bob-2", KEY_A)
        assert await kt.monitor() == []
        assert not seen

    run(tmp_path, body)


def fork_of(log: FakeLog, keep: int) -> FakeLog:
    """Another history signed by the same log key, sharing the first ``keep`` entries."""
    fork = FakeLog(name=b"fork", now=log.now)
    for entry, opening in list(zip(log.entries, log.openings, strict=True))[:keep]:
        fork.entries.append(entry)
        fork.openings.append(opening)
        fork.merkle.append(entry.to_bytes())
    return fork


def test_split_views_are_alerted(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)
    log.add("@carol", "carol-1", KEY_C)
    fork = fork_of(log, 2)
    fork.add("@carol", "carol-ghost", KEY_GHOST)  # same size (3), another root
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@alice", "alice-1", KEY_A, seen)
        await kt.refresh()
        gid = b"g" * 32
        # bob gossips the head he was shown: two roots signed for size 3
        [alert] = await kt.check_gossip(fork.head().to_bytes(), gid, "@bob")
        assert isinstance(alert, SplitViewAlert) and alert.sender == "@bob"
        assert alert.conversation_id == gid and "size 3" in alert.detail
        # an honest older head is consistent: no alert
        older = FakeLog(name=b"prefix", now=log.now)
        older.entries, older.openings = log.entries[:2], log.openings[:2]
        for entry in older.entries:
            older.merkle.append(entry.to_bytes())
        assert await kt.check_gossip(older.head().to_bytes(), gid, "@bob") == []
        # a bigger forked head the log cannot prove consistent with ours
        fork.add("@dave", "dave-1", KEY_A)
        [bigger] = await kt.check_gossip(fork.head().to_bytes(), gid, "@carol")
        assert isinstance(bigger, SplitViewAlert) and "4 entries" in bigger.detail
        # garbage, or another log's head, proves nothing
        assert await kt.check_gossip(b"junk", gid, "@bob") == []
        # the server itself switching to the fork is caught on refresh
        kt_source_fork = await KeyLog.load(store, fork, "@alice", seen.append)
        assert kt_source_fork is not None
        with pytest.raises(InconsistentLogError):
            await kt_source_fork.refresh()
        assert isinstance(seen[-1], SplitViewAlert)
        # and a claim proven under the forked history is refused, with an alert
        seen.clear()
        with pytest.raises(KeyNotLogged):
            await kt.check_claim("@carol", "carol-ghost", KEY_GHOST, 1,
                                 fork_of_claim(fork))
        assert seen and isinstance(seen[0], SplitViewAlert)

    run(tmp_path, body)


def fork_of_claim(fork: FakeLog) -> ClaimProof:
    index = next(i for i, e in enumerate(fork.entries) if e.device_id == "carol-ghost")
    head = fork.heads[3]  # the equal-size equivocation
    return ClaimProof(index, fork.proven(index, 3).to_bytes(), head.to_bytes())


def test_split_view_error_is_raised_for_the_same_size(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    fork = fork_of(log, 0)
    fork.add("@alice", "alice-other", KEY_B)

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@alice", "alice-1", KEY_A, [])
        await kt.refresh()
        with pytest.raises(SplitViewError):
            await kt.check_head(fork.head())

    run(tmp_path, body)


@dataclass
class ShrinkingLog(FakeLog):
    """Answers a head request beyond its size like the real server and Api do (400
    ``beyond_log``, a RejectedError); ``refusal``, when set, answers every one."""

    refusal: ServerError | None = None

    async def tree_head(self, since: int) -> tuple[SignedTreeHead, ConsistencyProof | None]:
        if self.refusal is not None:
            raise self.refusal
        if since > self.merkle.size:
            raise server_error(400, "beyond_log",
                               f"the log has {self.merkle.size} entries, not {since}")
        return await super().tree_head(since)

    def truncate(self, keep: int) -> None:
        """Drop every entry past ``keep`` and sign fresh heads for what is left."""
        self.entries, self.openings = self.entries[:keep], self.openings[:keep]
        self.merkle = MerkleLog()
        for entry in self.entries:
            self.merkle.append(entry.to_bytes())
        self.heads = {}


def test_a_truncated_log_is_an_inconsistency(tmp_path: Path) -> None:
    log = ShrinkingLog()
    for n, key in enumerate((KEY_A, KEY_B, KEY_C)):
        log.add("@alice", f"alice-{n}", key)
    gossiped = log.head()  # size 3: a head bob was shown, signed by the log
    log.add("@bob", "bob-1", KEY_GHOST)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@alice", "alice-0", KEY_A, seen)
        held = await kt.refresh()
        assert held.tree_size == 4
        log.truncate(2)  # the log now denies entries it signed for

        with pytest.raises(InconsistentLogError) as caught:
            await kt.refresh()
        assert caught.value.previous == held  # the evidence: a signed head of 4 entries
        assert "4 entries" in str(caught.value)
        assert isinstance(seen[-1], SplitViewAlert) and "4 entries" in seen[-1].detail
        assert kt.latest == held  # nothing accepted
        # a gossiped older head the log signed, and now denies, is no better
        [alert] = await kt.check_gossip(gossiped.to_bytes(), b"g" * 32, "@bob")
        assert isinstance(alert, SplitViewAlert) and "3 entries" in alert.detail

        # any other refusal stays the server's error, with no alert
        seen.clear()
        for refusal in (server_error(400, "bad_request", "since must be a number"),
                        server_error(503, "beyond_log", "odd, but not the answer")):
            log.refusal = refusal
            with pytest.raises(ServerError) as other:
                await kt.refresh()
            assert other.value is refusal
        assert not seen

    run(tmp_path, body)


def test_contact_device_changes_say_why(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)
    seen: list[Event] = []

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@alice", "alice-1", KEY_A, seen)
        assert set(await kt.devices("@bob")) == {"bob-1"}
        assert seen == []  # first sight: nothing to compare with
        log.add("@bob", "bob-2", KEY_C)
        assert set(await kt.devices("@bob")) == {"bob-1", "bob-2"}
        assert seen == [ContactDevicesChanged("@bob", "new device logged")]
        log.append(LogAction.REMOVED, "@bob", "bob-2", KEY_C)
        assert set(await kt.devices("@bob")) == {"bob-1"}
        assert seen[-1] == ContactDevicesChanged("@bob", "device removed")
        # a device whose entry the log left out before, shown now
        hidden = log.add("@bob", "bob-3", KEY_GHOST)
        log.hidden.add(hidden)
        log.add("@bob", "bob-4", KEY_A)
        assert set(await kt.devices("@bob")) == {"bob-1", "bob-4"}
        log.hidden.clear()
        await kt.devices("@bob")
        assert seen[-1] == ContactDevicesChanged("@bob", "unexplained")
        assert await kt.devices("@nobody") == {}

    run(tmp_path, body)


def test_safety_numbers_match_on_both_sides_and_change_with_devices(tmp_path: Path) -> None:
    log = FakeLog()
    log.add("@alice", "alice-1", KEY_A)
    log.add("@bob", "bob-1", KEY_B)

    async def number(kt: KeyLog, me: str, peer: str) -> str:
        mine, theirs = await kt.devices(me), await kt.devices(peer)
        return safety_number(me, {d: v.signature_key for d, v in mine.items()},
                             peer, {d: v.signature_key for d, v in theirs.items()})

    async def scenario() -> None:
        alice_store = await open_store(tmp_path / "alice")
        bob_store = await open_store(tmp_path / "bob")
        try:
            alice = await keylog_for(alice_store, log, "@alice", "alice-1", KEY_A, [])
            bob = await keylog_for(bob_store, log, "@bob", "bob-1", KEY_B, [])
            first = await number(alice, "@alice", "@bob")
            assert first == await number(bob, "@bob", "@alice")
            groups = first.split(" ")
            assert len(groups) == 12 and all(len(g) == 5 and g.isdigit() for g in groups)
            log.add("@bob", "bob-2", KEY_C)
            second = await number(alice, "@alice", "@bob")
            assert second != first and second == await number(bob, "@bob", "@alice")
            # only bob's half changed
            assert set(first.split(" ")) & set(second.split(" "))
        finally:
            await alice_store.close()
            await bob_store.close()

    asyncio.run(scenario())
    code = epoch_code(b"\x01" * 32)
    assert len(code.split(" ")) == 4 and code == epoch_code(b"\x01" * 32)
    assert code != epoch_code(b"\x02" * 32)


def test_a_commit_adding_an_unlogged_device_is_rejected_naming_it(tmp_path: Path) -> None:
    """Bob's directory reads the log: @carol's key, which the server lists as device
    carol-device but never logged, makes Alice's commit an Error event."""
    world = World()
    log = FakeLog()
    log.add("@alice", world.alice.device_id, world.alice.public)
    log.add("@bob", world.bob.device_id, world.bob.public)

    async def server_list(handle: str) -> list[DeviceInfo]:
        people = {p.handle: p for p in (world.alice, world.bob, world.carol)}
        p = people[handle]
        return [DeviceInfo(p.device_id, p.public, 1, 0)]

    async def body(store: Store) -> None:
        kt = await keylog_for(store, log, "@bob", world.bob.device_id, world.bob.public, [])

        async def logged(handle: str) -> list[DeviceInfo]:
            return [DeviceInfo(d.device_id, d.signature_key, d.cipher_suite, 0)
                    for d in (await kt.devices(handle)).values()]

        directory = Directory(logged, name=server_list, source="the key-transparency log")
        world.policy = CredentialPolicy(directory)
        world.processor = GroupProcessor("@bob", world.bob.signer, world.policy, world.rng)

        async def bob_processes(entry_kind: EnvelopeKind, message: bytes,
                                seq: int | None = None) -> list[Event]:
            entry = world.entry(entry_kind, message, seq)

            async def step() -> list[Event]:
                result = world.processor.process(entry, world.bob)
                world.bob.apply(result)
                return list(result.events)

            try:
                return await resolving(directory, step)
            finally:
                directory.settle()

        _commit, welcome = world.commit(add=[world.bob.new_key_package(world.rng)])
        assert welcome is not None
        world.seq += 1
        await bob_processes(EnvelopeKind.WELCOME, welcome, world.seq)
        commit, _ = world.commit(add=[world.carol.new_key_package(world.rng)])
        [error] = await bob_processes(EnvelopeKind.COMMIT, commit)
        assert isinstance(error, Error) and not error.fatal
        assert "@carol's device carol-device" in error.message
        assert "key-transparency log" in error.message
        assert world.bob.record().members == ("@alice", "@bob")  # the add did not happen

    run(tmp_path, body)
