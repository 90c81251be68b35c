"""A message reordered on its way (reported as a gap, then arriving) is shown once and
marked late; replays stay rejected; the awaited list is bounded, persisted, and read
from records written before it existed; a message too late for the MLS key window is a
clear Error."""

from __future__ import annotations

import asyncio
from pathlib import Path

from letterlock.client import DeliveryGap, Error, MessageReceived, Text
from letterlock.client._records import (
    MAX_MISSING,
    ConversationKind,
    ConversationRecord,
    ConversationStatus,
)
from letterlock.client.pipeline import InboundEntry, Pipeline
from letterlock.client.store import Tx
from letterlock.codec import Writer
from letterlock.protocol.envelope import EnvelopeKind

from .kt_fakes import open_store
from .test_processor import GROUP_ID, NOW, World


def record(last_seq: int = 0) -> ConversationRecord:
    return ConversationRecord(ConversationKind.GROUP, ConversationStatus.ACTIVE, None, 1,
                              last_seq)


def test_a_hole_is_awaited_filled_once_then_a_duplicate() -> None:
    r = record(3)
    check = r.check(7)
    assert (check.duplicate, check.gap, check.late) == (False, (4, 6), False)
    r = r.delivered(7)
    assert r.last_seq == 7 and r.missing == frozenset({4, 5, 6})
    late = r.check(5)
    assert (late.duplicate, late.late, late.gap) == (False, True, None)
    r = r.delivered(5)
    assert r.missing == frozenset({4, 6}) and r.last_seq == 7
    assert r.check(5).duplicate and r.check(7).duplicate and r.check(2).duplicate
    # a hole filled out of band (a commit learnt from a 409) is no longer awaited
    assert r.seen(6).missing == frozenset({4})
    # our own sends inside a jump are not holes
    own = record(3).seen(5)
    assert own.delivered(7).missing == frozenset({4, 6})


def test_the_awaited_list_is_bounded_and_survives_encoding() -> None:
    r = record(0).delivered(10 * MAX_MISSING)
    assert len(r.missing) == MAX_MISSING  # the newest holes
    assert min(r.missing) == 9 * MAX_MISSING and max(r.missing) == 10 * MAX_MISSING - 1
    assert record(0).check(10 * MAX_MISSING).gap == (1, 10 * MAX_MISSING - 1)
    assert r.check(MAX_MISSING).duplicate  # beyond the bound: treated as old
    assert ConversationRecord.from_bytes(r.to_bytes()) == r
    # a sequence far ahead (a misbehaving server) costs no more than the bound
    far = record(0).delivered(2**62)
    assert len(far.missing) == MAX_MISSING and far.last_seq == 2**62
    # more holes later: the oldest awaited ones are dropped first
    more = r.delivered(20 * MAX_MISSING)
    assert len(more.missing) == MAX_MISSING and min(more.missing) > 10 * MAX_MISSING


def test_a_version_1_record_still_reads() -> None:
    w = Writer()
    w.push_uint8(1)
    w.push_uint8(ConversationKind.DIRECT)
    w.push_uint8(ConversationStatus.ACTIVE)
    w.push_optional(None, lambda sub, n: sub.push_opaque(n))
    w.push_uint64(5)
    w.push_uint64(9)
    w.push_vector([11], lambda sub, s: sub.push_uint64(s))
    w.push_vector(["@a", "@b"], lambda sub, h: sub.push_opaque(h.encode()))
    w.push_opaque(b"state")
    old = ConversationRecord.from_bytes(w.data)
    assert (old.last_seq, old.ahead, old.missing, old.members, old.mls_state) == (
        9, frozenset({11}), frozenset(), ("@a", "@b"), b"state")


def test_processor_shows_a_reordered_message_once_and_marks_it_late() -> None:
    world = World()
    world.add_bob()  # group seq 1
    first_message, second_message = world.say("first"), world.say("second")
    second = world.entry(EnvelopeKind.APPLICATION, second_message, 3)
    first = world.entry(EnvelopeKind.APPLICATION, first_message, 2)  # overtaken
    world.seq = 3
    result = world.bob_processes(second)
    assert result.events == (DeliveryGap(2, 2, GROUP_ID),)
    assert result.message is not None and not result.message.late
    late = world.bob_processes(first)
    assert late.events == () and late.message is not None
    assert (late.message.content.body, late.message.late, late.message.group_seq) == (
        Text("first"), True, 2)
    assert world.bob.record().missing == frozenset()
    # the same message again, under a new mailbox sequence: a replay, ignored
    again = world.entry(EnvelopeKind.APPLICATION, b"ignored", 2)
    assert world.processor.process(again, world.bob).message is None


def test_a_message_later_than_the_key_window_is_a_clear_error() -> None:
    world = World()
    world.add_bob()
    held = world.entry(EnvelopeKind.APPLICATION, world.say("too late"))  # generation 0
    for n in range(7):  # generations 1..7: the window (5) moves past generation 0
        world.bob_processes(world.entry(EnvelopeKind.APPLICATION, world.say(f"m{n}")))
    result = world.bob_processes(held)
    [error] = result.events
    assert isinstance(error, Error) and not error.fatal
    assert "arrived too late to decrypt" in error.message and "sequence 2" in error.message
    assert result.message is None
    assert world.bob.record().missing == frozenset()  # not awaited any more


def test_a_late_message_after_a_restart_is_committed_once(tmp_path: Path) -> None:
    """Through the real pipeline and profile store: the hole is persisted, the late
    message is shown once after the store is reopened, and its replay is dropped."""
    world = World()

    async def scenario() -> None:
        store = await open_store(tmp_path / "bob")
        _commit, welcome = world.commit(add=[world.bob.new_key_package(world.rng)])

        def keep(tx: Tx) -> None:
            for secret in world.bob.secrets.values():
                tx.add_key_package(secret, NOW)

        await store.transaction(keep)
        assert welcome is not None
        world.seq += 1
        pipeline = Pipeline(store, world.processor, lambda: NOW)
        await pipeline.apply(world.entry(EnvelopeKind.WELCOME, welcome, world.seq))
        # group seq 2 reaches the mailbox after group seq 3 (a later mailbox seq)
        reordered, overtook = world.say("reordered"), world.say("overtook it")
        later = world.entry(EnvelopeKind.APPLICATION, overtook, world.seq + 2)
        held = world.entry(EnvelopeKind.APPLICATION, reordered, world.seq + 1)
        world.seq += 2
        events = await pipeline.apply(later)
        assert [type(e) for e in events] == [DeliveryGap, MessageReceived]
        await store.close()

        store = await open_store(tmp_path / "bob")  # a restart
        try:
            pipeline = Pipeline(store, world.processor, lambda: NOW)
            [shown] = await pipeline.apply(held)
            assert isinstance(shown, MessageReceived)
            assert (shown.late, shown.group_seq, shown.content.body) == (
                True, 2, Text("reordered"))
            replay = InboundEntry(held.seq + 10, held.sender_device_id, held.payload, NOW)
            assert await pipeline.apply(replay) == []
            texts = [r.content for r in await store.history(GROUP_ID)]
            assert len(texts) == 2
        finally:
            await store.close()

    asyncio.run(scenario())
