"""The local state store: one SQLite database per profile, secrets sealed at rest.

Why stdlib ``sqlite3`` on one dedicated thread rather than aiosqlite: a transaction here
is one synchronous function (``Store.transaction(fn)``) run whole on the store's thread
between ``BEGIN IMMEDIATE`` and ``COMMIT``. No other coroutine can interleave statements
into it, and cancelling the awaiting task cannot leave it half-applied: it commits or
rolls back as a unit. That is the property the receive pipeline's "commit, then
acknowledge" rule rests on. With aiosqlite every statement is its own await, so
atomicity would depend on locks and on no cancellation landing between statements.
``synchronous=FULL`` makes a commit durable before the server is told it may delete.

Tables (schema version 3)::

    schema_version  the applied migration
    meta            profile-wide values; ``key_check`` proves the profile key is right
    account         handle, server URL, device id, cipher suite, public signature key
    secrets         sealed: the device signature private key, ...
    key_packages    sealed private keys of published KeyPackages, by KeyPackageRef,
                    and (v2) the public KeyPackage itself
    group_states    sealed serialised MLS group states, by group id (the group layer)
    contacts        handles the user knows
    messages        history; content sealed; UNIQUE (sender, client_message_id)
    mailbox         the last processed (committed) and acknowledged server sequences
    outbox          (v3) messages sent but not yet accepted by the server, by client
                    message id, in the order written; ``item`` sealed: the encoded
                    content (plaintext), and the ciphertext last made for an epoch;
                    a message that failed for good keeps only its sealed reason

Sealed cells use :class:`~letterlock.client.profile.Sealer`, whose associated data names
the table, the column and the row: see profile.py.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from letterlock.codec import Reader, Writer

from .errors import CorruptProfile, WrongProfileKey
from .profile import Sealer

__all__ = [
    "DB_FILE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AccountRow",
    "HistoryRow",
    "KeyPackageSecret",
    "OutboxRow",
    "Store",
    "Tx",
]

T = TypeVar("T")
DB_FILE = "profile.db"
_KEY_CHECK = b"letterlock profile key check v1"

# Ordered migrations: version -> statements. Never edit a released one; append.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
        """CREATE TABLE account (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            handle TEXT NOT NULL, server_url TEXT NOT NULL, device_id TEXT NOT NULL,
            cipher_suite INTEGER NOT NULL, signature_key BLOB NOT NULL,
            created_at INTEGER NOT NULL)""",
        "CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
        """CREATE TABLE key_packages (
            ref BLOB PRIMARY KEY, last_resort INTEGER NOT NULL,
            created_at INTEGER NOT NULL, private_keys BLOB NOT NULL)""",
        """CREATE TABLE group_states (
            group_id BLOB PRIMARY KEY, state BLOB NOT NULL, updated_at INTEGER NOT NULL)""",
        """CREATE TABLE contacts (
            handle TEXT PRIMARY KEY, display_name TEXT, added_at INTEGER NOT NULL)""",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY, conversation_id BLOB NOT NULL, sender TEXT NOT NULL,
            client_message_id BLOB NOT NULL, seq INTEGER, sent_at_ms INTEGER NOT NULL,
            received_at INTEGER NOT NULL, content BLOB NOT NULL,
            UNIQUE (sender, client_message_id))""",
        "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
        """CREATE TABLE mailbox (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            processed_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL)""",
        "INSERT INTO mailbox (id, processed_seq, acked_seq) VALUES (1, 0, 0)",
    )),
    # 2: the public KeyPackage beside its private keys (Group.join needs the whole
    # KeyPackage to find its leaf in a Welcome's tree, §12.4.3.1).
    (2, ("ALTER TABLE key_packages ADD COLUMN key_package BLOB",)),
    # 3: the outbox (sends not yet accepted, retried on reconnect); see Tx.add_outbox.
    (3, ("""CREATE TABLE outbox (
            client_message_id BLOB PRIMARY KEY, conversation_id BLOB NOT NULL,
            created_at INTEGER NOT NULL, failed INTEGER NOT NULL, item BLOB NOT NULL)""",)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True, slots=True)
class AccountRow:
    handle: str
    server_url: str
    device_id: str
    cipher_suite: int
    signature_key: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyPackageSecret:
    """The private keys kept for one published KeyPackage (RFC 9420 §16.8)."""

    ref: bytes
    last_resort: bool
    init_private_key: bytes
    encryption_private_key: bytes
    key_package: bytes | None = None  # the public KeyPackage (None: made before v2)

    def __repr__(self) -> str:
        return f"KeyPackageSecret(ref={self.ref.hex()}, last_resort={self.last_resort})"


@dataclass(frozen=True, slots=True)
class HistoryRow:
    conversation_id: bytes
    sender: str
    client_message_id: bytes
    seq: int | None
    sent_at_ms: int
    received_at: int
    content: bytes


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A message of ours the server has not accepted yet (or, with ``failed``, never
    will: then ``content`` and ``ciphertext`` are empty and ``failed`` says why).

    ``content`` is the encoded Content (plaintext: sealed at rest, like history), kept
    so the message can be encrypted again if the group moves to a new epoch before it
    goes out; ``ciphertext`` is the MLS message last made for ``epoch``.
    """

    conversation_id: bytes
    client_message_id: bytes
    created_at: int
    epoch: int
    content: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)
    failed: str | None = None


def _message_row_id(sender: str, client_message_id: bytes) -> bytes:
    w = Writer()
    w.push_opaque(sender.encode())
    w.push_opaque(client_message_id)
    return w.data


class Tx:
    """One open transaction: typed reads and writes, sealing secrets on the way in.

    Only ever used on the store's thread, inside :meth:`Store.transaction`.
    """

    __slots__ = ("_conn", "_sealer")

    def __init__(self, conn: sqlite3.Connection, sealer: Sealer) -> None:
        self._conn = conn
        self._sealer = sealer

    # account and secrets ------------------------------------------------------------

    def account(self) -> AccountRow | None:
        row = self._conn.execute(
            "SELECT handle, server_url, device_id, cipher_suite, signature_key, created_at "
            "FROM account WHERE id = 1").fetchone()
        return AccountRow(*row) if row else None

    def save_account(self, account: AccountRow) -> None:
        self._conn.execute(
            "INSERT INTO account (id, handle, server_url, device_id, cipher_suite, "
            "signature_key, created_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
            (account.handle, account.server_url, account.device_id, account.cipher_suite,
             account.signature_key, account.created_at))

    def put_secret(self, name: str, value: bytes) -> None:
        self._conn.execute("INSERT OR REPLACE INTO secrets (name, value) VALUES (?, ?)",
                           (name, self._sealer.seal("secrets", "value", name, value)))

    def secret(self, name: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM secrets WHERE name = ?",
                                 (name,)).fetchone()
        return None if row is None else self._sealer.open("secrets", "value", name, row[0])

    # KeyPackage private keys --------------------------------------------------------

    def add_key_package(self, secret: KeyPackageSecret, now: int) -> None:
        w = Writer()
        w.push_opaque(secret.init_private_key)
        w.push_opaque(secret.encryption_private_key)
        sealed = self._sealer.seal("key_packages", "private_keys", secret.ref, w.data)
        self._conn.execute(
            "INSERT INTO key_packages (ref, last_resort, created_at, private_keys, "
            "key_package) VALUES (?, ?, ?, ?, ?)",
            (secret.ref, int(secret.last_resort), now, sealed, secret.key_package))

    def key_package(self, ref: bytes) -> KeyPackageSecret | None:
        row = self._conn.execute(
            "SELECT last_resort, private_keys, key_package FROM key_packages WHERE ref = ?",
            (ref,)).fetchone()
        if row is None:
            return None
        plain = self._sealer.open("key_packages", "private_keys", ref, row[1])
        r = Reader(plain)
        init, enc = r.pull_opaque(), r.pull_opaque()
        return KeyPackageSecret(ref, bool(row[0]), init, enc, row[2])

    def delete_key_package(self, ref: bytes) -> None:
        self._conn.execute("DELETE FROM key_packages WHERE ref = ?", (ref,))

    def key_package_count(self, *, last_resort: bool = False) -> int:
        row = self._conn.execute("SELECT COUNT(*) FROM key_packages WHERE last_resort = ?",
                                 (int(last_resort),)).fetchone()
        return int(row[0])

    # group states (written by the group layer through the receive pipeline) ---------

    def group_state(self, group_id: bytes) -> bytes | None:
        row = self._conn.execute("SELECT state FROM group_states WHERE group_id = ?",
                                 (group_id,)).fetchone()
        if row is None:
            return None
        return self._sealer.open("group_states", "state", group_id, row[0])

    def put_group_state(self, group_id: bytes, state: bytes, now: int) -> None:
        sealed = self._sealer.seal("group_states", "state", group_id, state)
        self._conn.execute(
            "INSERT OR REPLACE INTO group_states (group_id, state, updated_at) "
            "VALUES (?, ?, ?)", (group_id, sealed, now))

    def group_ids(self) -> list[bytes]:
        """Every stored group's id, oldest state first."""
        return [bytes(r[0]) for r in self._conn.execute(
            "SELECT group_id FROM group_states ORDER BY rowid")]

    def delete_group_state(self, group_id: bytes) -> None:
        self._conn.execute("DELETE FROM group_states WHERE group_id = ?", (group_id,))

    # contacts ------------------------------------------------------------------------

    def add_contact(self, handle: str, display_name: str | None, now: int) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO contacts (handle, display_name, added_at) VALUES (?, ?, ?)",
            (handle, display_name, now))

    def contacts(self) -> list[tuple[str, str | None]]:
        return [(h, d) for h, d in self._conn.execute(
            "SELECT handle, display_name FROM contacts ORDER BY handle")]

    # history ----------------------------------------------------------------------

    def add_message(self, row: HistoryRow) -> bool:
        """Insert a history entry; False if (sender, client_message_id) is already there."""
        row_id = _message_row_id(row.sender, row.client_message_id)
        sealed = self._sealer.seal("messages", "content", row_id, row.content)
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO messages (conversation_id, sender, client_message_id, seq, "
            "sent_at_ms, received_at, content) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.conversation_id, row.sender, row.client_message_id, row.seq, row.sent_at_ms,
             row.received_at, sealed))
        return cursor.rowcount == 1

    def history(self, conversation_id: bytes | None = None,
                limit: int = 100) -> list[HistoryRow]:
        """The latest ``limit`` messages (of one conversation, or all), oldest first."""
        where, params = ("WHERE conversation_id = ?", (conversation_id,)) \
            if conversation_id is not None else ("", ())
        rows = self._conn.execute(
            "SELECT conversation_id, sender, client_message_id, seq, sent_at_ms, received_at, "
            f"content FROM messages {where} ORDER BY id DESC LIMIT ?",
            (*params, limit)).fetchall()
        return [HistoryRow(c, s, m, q, t, r, self._sealer.open(
            "messages", "content", _message_row_id(s, m), sealed))
            for c, s, m, q, t, r, sealed in reversed(rows)]

    # outbox -----------------------------------------------------------------------------

    def _seal_outbox(self, row: OutboxRow) -> bytes:
        w = Writer()
        w.push_uint64(row.epoch)
        w.push_opaque(row.content)
        w.push_opaque(row.ciphertext)
        w.push_opaque((row.failed or "").encode())
        return self._sealer.seal("outbox", "item", row.client_message_id, w.data)

    def add_outbox(self, row: OutboxRow) -> None:
        """Queue a send (in the transaction that spends its ratchet key)."""
        self._conn.execute(
            "INSERT INTO outbox (client_message_id, conversation_id, created_at, failed, "
            "item) VALUES (?, ?, ?, ?, ?)",
            (row.client_message_id, row.conversation_id, row.created_at,
             int(row.failed is not None), self._seal_outbox(row)))

    def update_outbox(self, row: OutboxRow) -> None:
        """Replace a queued send's ciphertext/epoch, or mark it failed (keeps its place)."""
        if row.failed is not None:
            row = OutboxRow(row.conversation_id, row.client_message_id, row.created_at,
                            row.epoch, b"", b"", row.failed)
        self._conn.execute(
            "UPDATE outbox SET failed = ?, item = ? WHERE client_message_id = ?",
            (int(row.failed is not None), self._seal_outbox(row), row.client_message_id))

    def delete_outbox(self, client_message_id: bytes) -> None:
        self._conn.execute("DELETE FROM outbox WHERE client_message_id = ?",
                           (client_message_id,))

    def outbox(self, conversation_id: bytes | None = None, *,
               failed: bool | None = False) -> list[OutboxRow]:
        """Queued sends (``failed`` False), failed ones (True) or both (None), of one
        conversation or all, in the order they were written."""
        clauses: list[str] = []
        params: list[bytes | int] = []
        if conversation_id is not None:
            clauses.append("conversation_id = ?")
            params.append(conversation_id)
        if failed is not None:
            clauses.append("failed = ?")
            params.append(int(failed))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            "SELECT client_message_id, conversation_id, created_at, item FROM outbox "
            f"{where} ORDER BY rowid", params).fetchall()
        found = []
        for message_id, conversation, created_at, sealed in rows:
            r = Reader(self._sealer.open("outbox", "item", message_id, sealed))
            epoch, content, ciphertext = r.pull_uint64(), r.pull_opaque(), r.pull_opaque()
            reason = r.pull_opaque().decode()
            found.append(OutboxRow(bytes(conversation), bytes(message_id), created_at,
                                   epoch, content, ciphertext, reason or None))
        return found

    # mailbox cursor -----------------------------------------------------------------

    def mailbox_cursor(self) -> tuple[int, int]:
        """``(processed_seq, acked_seq)``."""
        row = self._conn.execute(
            "SELECT processed_seq, acked_seq FROM mailbox WHERE id = 1").fetchone()
        return int(row[0]), int(row[1])

    def set_processed(self, seq: int) -> None:
        self._conn.execute(
            "UPDATE mailbox SET processed_seq = MAX(processed_seq, ?) WHERE id = 1", (seq,))

    def set_acked(self, seq: int) -> None:
        self._conn.execute(
            "UPDATE mailbox SET acked_seq = MAX(acked_seq, ?) WHERE id = 1", (seq,))

    # the profile key check ------------------------------------------------------------

    def check_key(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta (name, value) VALUES ('key_check', ?)",
                               (self._sealer.seal("meta", "value", "key_check", _KEY_CHECK),))
            return
        try:
            ok = self._sealer.open("meta", "value", "key_check", row[0]) == _KEY_CHECK
        except CorruptProfile:
            ok = False
        if not ok:
            raise WrongProfileKey("the profile key or passphrase does not open this profile")


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (sqlite3's implicit
    # transactions would not cover reads and would commit around DDL).
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = row[0] or 0
    if current > SCHEMA_VERSION:
        raise CorruptProfile(f"profile schema {current} is newer than this client "
                             f"({SCHEMA_VERSION})")
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class Store:
    """Async facade: each :meth:`transaction` runs on the store's own thread."""

    def __init__(self, executor: ThreadPoolExecutor, conn: sqlite3.Connection,
                 sealer: Sealer) -> None:
        self._executor = executor
        self._conn = conn
        self._sealer = sealer

    @classmethod
    async def open(cls, directory: Path, sealer: Sealer) -> Store:
        """Open (creating and migrating) the profile database; WrongProfileKey if the
        sealer's key is not this profile's."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="letterlock-store")
        loop = asyncio.get_running_loop()
        conn: sqlite3.Connection | None = None
        try:
            conn = await loop.run_in_executor(executor, _connect, directory / DB_FILE)
            store = cls(executor, conn, sealer)
            await loop.run_in_executor(executor, _migrate, conn)
            await store.transaction(Tx.check_key)
        except BaseException:
            if conn is not None:
                await loop.run_in_executor(executor, conn.close)
            executor.shutdown(wait=True)
            raise
        return store

    def _run(self, fn: Callable[[Tx], T]) -> T:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(Tx(self._conn, self._sealer))
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return result

    async def transaction(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in one transaction; it commits if ``fn`` returns, else rolls back."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=True)

    # Conveniences for single reads -------------------------------------------------

    async def account(self) -> AccountRow | None:
        return await self.transaction(Tx.account)

    async def history(self, conversation_id: bytes | None = None,
                      limit: int = 100) -> list[HistoryRow]:
        return await self.transaction(lambda tx: tx.history(conversation_id, limit))

    async def mailbox_cursor(self) -> tuple[int, int]:
        return await self.transaction(Tx.mailbox_cursor)

    async def set_acked(self, seq: int) -> None:
        await self.transaction(lambda tx: tx.set_acked(seq))

    async def key_package_count(self, *, last_resort: bool = False) -> int:
        return await self.transaction(lambda tx: tx.key_package_count(last_resort=last_resort))

