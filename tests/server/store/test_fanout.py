"""Merged fan-out (store.fanout through Store.write_many): many messages' writes in a few
statements, yet each message gets its own verdict and its own sequence numbers, exactly as
if it had been written alone."""

from __future__ import annotations

import asyncio
import functools

from sqlalchemy import Connection, select

from letterlock.server.store import Store, groups
from letterlock.server.store import accounts as account_store
from letterlock.server.store.fanout import FanOut, FanOutResult, Verdict, fan_out_many
from letterlock.server.store.tables import mailbox

NOW = 1_800_000_000


def _members(conn: Connection, group_id: bytes, epoch: int) -> frozenset[str]:
    del epoch
    return frozenset(d for _, d in groups.members(conn, group_id))


RUN = functools.partial(fan_out_many, members_at=_members)
merged_calls: list[int] = []


def _counted(conn: Connection, batch: list[FanOut]) -> list[FanOutResult]:
    merged_calls.append(len(batch))
    return RUN(conn, batch)


def _message(sender: str, client_id: str, group_id: bytes, epoch: int) -> FanOut:
    return FanOut(sender, client_id, group_id, epoch,
                  lambda seq: b"%s|%s|%d" % (group_id, client_id.encode(), seq), NOW)


async def _setup(store: Store) -> None:
    async with store.transaction() as conn:
        for handle, device_id in (("@ann", "a"), ("@ben", "b"), ("@cat", "c"), ("@dan", "d")):
            account = await account_store.create_account(conn, handle, NOW)
            await account_store.create_device(conn, device_id, account,
                                              device_id.encode() * 32, 1, NOW)
        # g1: ann, ben, cat at epoch 3; g2: ann and dan at epoch 0.
        await groups.create(conn, b"g1", 1, 3, b"s", [(0, "a"), (1, "b"), (2, "c")], NOW)
        await groups.create(conn, b"g2", 1, 0, b"s", [(0, "a"), (1, "d")], NOW)


async def _scenario(url: str) -> None:
    store = await Store.open(url)
    try:
        await _setup(store)
        first = await store.write_many(RUN, _message("a", "m0", b"g1", 3))
        assert (first.verdict, first.seq, first.epoch) == (Verdict.DELIVERED, 1, 3)
        batch = [
            _message("a", "m1", b"g1", 3),   # delivered, g1 seq 2
            _message("b", "m1", b"g1", 3),   # another sender may reuse the id: seq 3
            _message("a", "m1", b"g1", 3),   # the same (sender, id) again: duplicate
            _message("a", "m0", b"g1", 3),   # sent before this batch: duplicate
            _message("d", "x1", b"g1", 3),   # dan is not in g1
            _message("a", "old", b"g1", 2),  # an epoch g1 has left
            _message("a", "lost", b"nope", 0),  # no such group
            _message("a", "m2", b"g2", 0),   # delivered, g2 seq 1
            _message("c", "m3", b"g1", 3),   # delivered, g1 seq 4
        ]
        merged_calls.clear()  # queued together: one merged call, on either database
        results: list[FanOutResult] = await asyncio.gather(
            *(store.write_many(_counted, m) for m in batch))
        assert merged_calls == [len(batch)]
        assert [r.verdict for r in results] == [
            Verdict.DELIVERED, Verdict.DELIVERED, Verdict.DUPLICATE, Verdict.DUPLICATE,
            Verdict.NOT_MEMBER, Verdict.STALE_EPOCH, Verdict.NO_GROUP, Verdict.DELIVERED,
            Verdict.DELIVERED]
        assert [r.seq for r in results] == [2, 3, 0, 0, 0, 0, 0, 1, 4]
        assert [r.epoch for r in results] == [3, 3, 3, 3, 3, 3, 0, 0, 3]
        # Each recipient's entries: consecutive mailbox numbers, in group order.
        assert [(d, e.seq, e.payload) for d, e in results[0].entries] == \
            [("b", 2, b"g1|m1|2"), ("c", 2, b"g1|m1|2")]
        assert [(d, e.seq) for d, e in results[1].entries] == [("a", 1), ("c", 3)]
        assert [(d, e.seq) for d, e in results[8].entries] == [("a", 2), ("b", 3)]
        assert [(d, e.seq) for d, e in results[7].entries] == [("d", 1)]
        async with store.transaction() as conn:
            rows = (await conn.execute(select(mailbox.c.device_id, mailbox.c.seq,
                                              mailbox.c.payload)
                                       .order_by(mailbox.c.device_id, mailbox.c.seq))).all()
            assert [(r[0], r[1], bytes(r[2])) for r in rows] == [
                ("a", 1, b"g1|m1|3"), ("a", 2, b"g1|m3|4"),
                ("b", 1, b"g1|m0|1"), ("b", 2, b"g1|m1|2"), ("b", 3, b"g1|m3|4"),
                ("c", 1, b"g1|m0|1"), ("c", 2, b"g1|m1|2"), ("c", 3, b"g1|m1|3"),
                ("d", 1, b"g2|m2|1")]
            row = await conn.run_sync(groups.get, b"g1")
            assert row is not None and row.next_seq == 4
        # Nothing was recorded for the refused messages: a later retry is judged afresh.
        retry = await store.write_many(RUN, _message("a", "old", b"g1", 3))
        assert (retry.verdict, retry.seq) == (Verdict.DELIVERED, 5)
    finally:
        await store.close()


def test_merged_fan_out_gives_each_message_its_own_verdict(database_url: str) -> None:
    asyncio.run(_scenario(database_url))


async def _failing_call_is_isolated(url: str) -> None:
    store = await Store.open(url)
    try:
        await _setup(store)

        def broken(conn: Connection, batch: list[FanOut]) -> list[FanOutResult]:
            if any(m.client_msg_id == "boom" for m in batch):
                raise RuntimeError("this operation fails")
            return fan_out_many(conn, batch, _members)

        results = await asyncio.gather(
            store.write_many(broken, _message("a", "ok1", b"g1", 3)),
            store.write_many(broken, _message("a", "boom", b"g1", 3)),
            store.write_many(broken, _message("b", "ok2", b"g1", 3)),
            return_exceptions=True)
        assert isinstance(results[1], RuntimeError)
        delivered = [r for r in results if isinstance(r, FanOutResult)]
        assert sorted(r.seq for r in delivered) == [1, 2]
    finally:
        await store.close()


def test_a_failing_merged_call_fails_only_its_operation(database_url: str) -> None:
    asyncio.run(_failing_call_is_isolated(database_url))
