"""The outbox table: sealed at rest (no plaintext or ciphertext on disk), order kept
across re-encryption, a failed row keeps only its reason, rows bound to their message
id, and a profile made before the outbox (schema 2) migrates and keeps its data."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from letterlock.client.errors import CorruptProfile
from letterlock.client.store import (
    DB_FILE,
    MIGRATIONS,
    SCHEMA_VERSION,
    OutboxRow,
    Store,
    Tx,
)

from .kt_fakes import open_store

CONV = b"c" * 32
PLAIN = b"outbox plaintext"


def row(n: int, content: bytes = PLAIN) -> OutboxRow:
    return OutboxRow(CONV, bytes([n]) * 16, 100 + n, 1, content, b"ciphertext-%d" % n)


def test_sealed_ordered_and_failed(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(tmp_path)
        try:
            def queue(tx: Tx) -> None:
                for n in (1, 2, 3):
                    tx.add_outbox(row(n))

            await store.transaction(queue)
            # re-encrypted for a later epoch: same place in the queue
            await store.transaction(lambda tx: tx.update_outbox(OutboxRow(
                CONV, row(1).client_message_id, 101, 2, PLAIN, b"new ciphertext")))
            await store.transaction(lambda tx: tx.update_outbox(OutboxRow(
                CONV, row(2).client_message_id, 102, 1, PLAIN, b"x", "removed")))
            queued = await store.transaction(lambda tx: tx.outbox())
            assert [(q.client_message_id[0], q.epoch, q.ciphertext) for q in queued] == [
                (1, 2, b"new ciphertext"), (3, 1, b"ciphertext-3")]
            assert queued[0].content == PLAIN and "outbox plaintext" not in repr(queued[0])
            [failed] = await store.transaction(lambda tx: tx.outbox(CONV, failed=True))
            assert (failed.failed, failed.content, failed.ciphertext) == ("removed", b"", b"")
            assert await store.transaction(lambda tx: tx.outbox(b"other")) == []
            await store.transaction(lambda tx: tx.delete_outbox(row(1).client_message_id))
            assert len(await store.transaction(lambda tx: tx.outbox(failed=None))) == 2
        finally:
            await store.close()

    asyncio.run(scenario())
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(DB_FILE))
    for secret in (PLAIN, b"ciphertext-3", b"new ciphertext"):
        assert secret not in raw
    # a sealed item moved to another message's row does not open
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.execute("UPDATE outbox SET item = (SELECT item FROM outbox WHERE "
               "client_message_id = ?) WHERE client_message_id = ?",
               (row(3).client_message_id, row(2).client_message_id))
    db.commit()
    db.close()

    async def reopen() -> None:
        store = await open_store(tmp_path)
        try:
            with pytest.raises(CorruptProfile):
                await store.transaction(lambda tx: tx.outbox(failed=None))
        finally:
            await store.close()

    asyncio.run(reopen())


def test_a_schema_2_profile_migrates(tmp_path: Path) -> None:
    assert SCHEMA_VERSION == 3
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, statements in MIGRATIONS[:2]:
        for sql in statements:
            db.execute(sql)
        db.execute("INSERT INTO schema_version VALUES (?)", (version,))
    db.execute("UPDATE mailbox SET processed_seq = 7 WHERE id = 1")
    db.commit()
    db.close()

    async def scenario() -> None:
        store: Store = await open_store(tmp_path)
        try:
            assert await store.mailbox_cursor() == (7, 0)
            await store.transaction(lambda tx: tx.add_outbox(row(1)))
            assert len(await store.transaction(lambda tx: tx.outbox())) == 1
        finally:
            await store.close()

    asyncio.run(scenario())
