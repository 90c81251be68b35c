"""Key transparency, the log's side (the sans-I/O core is :mod:`letterlock.transparency`).

Every device registration, addition and removal appends one :class:`LogEntry` in the
same transaction as the device change (:meth:`TransparencyService.append`), so a device
exists exactly when its ADDED entry is committed and a removal cannot commit unlogged.

The table ``kt_entries`` is the log; the in-memory :class:`MerkleLog` is a cache of its
leaf hashes that answers roots and proofs in O(log n). It is kept in step two ways:

- after a local append commits, :meth:`committed` adds the leaf (commits may finish out
  of index order as seen by this event loop, so leaves wait in ``_pending`` until the
  ones before them arrive);
- before answering anything, :meth:`_sync` loads every stored leaf at or beyond the
  in-memory size. With several server nodes that is how a node learns of the others'
  appends; on one node it also covers a commit whose outcome the caller never saw.

Tree heads are shared the same way: the first node to sign a head for a size stores it
in ``kt_tree_heads`` (insert-if-absent, then read back the winner), and every node
serves that head for that size, so clients of a cluster see one signed head per size
whichever node answers. A node checks a stored head against its own tree before serving
it: a table whose head the entries contradict is refused (an error), never served.

Appends are serialised and gap-free (see :mod:`letterlock.server.store.transparency`),
so "the rows at index >= size" is exactly what is missing. An answer is always given
for one size ``S`` read synchronously after the sync: its tree head, proofs and the rows
it lists (``index < S``) all belong to that one tree, and the tree only grows.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, AsyncConnection, Store
from letterlock.server.store import transparency as kt_db
from letterlock.transparency import (
    ConsistencyProof,
    DecodeError,
    HandleOpening,
    LogAction,
    LogEntry,
    MerkleLog,
    ProvenEntry,
    SignedTreeHead,
    log_id,
)

from ._common import Random, check_handle, secret_hash, system_random
from .errors import InvalidInput, RateLimited
from .log_key import LogKey

__all__ = ["Appended", "DeviceProof", "TransparencyService"]

log = logging.getLogger("letterlock.server.transparency")

# The per-device budget for account listings: a burst, then a steady rate. Generous
# for a monitor polling its own account and for clients checking peers, tight enough
# that one device cannot walk the handle space quickly.
LISTING_BURST = 60
LISTING_PER_SECOND = 1.0
MAX_ACCOUNT_PAGE = 100
MAX_ENTRIES_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Appended:
    """A leaf appended inside a transaction not yet committed."""

    index: int
    leaf_hash: bytes
    timestamp: int


@dataclass(frozen=True, slots=True)
class DeviceProof:
    """A device's current (ADDED) entry, opened, with its inclusion under ``tree_head``."""

    index: int
    proven: ProvenEntry
    tree_head: SignedTreeHead


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    index: int
    entry: bytes


class _Rng:
    """letterlock.crypto's RandomSource over the services' injected randomness."""

    __slots__ = ("_random",)

    def __init__(self, random: Random) -> None:
        self._random = random

    def random_bytes(self, n: int) -> bytes:
        return self._random(n)


class _RateLimiter:
    """A token bucket per key, in memory (per node: it only has to be light)."""

    def __init__(self, burst: int, per_second: float) -> None:
        self._burst = burst
        self._rate = per_second
        self._buckets: dict[str, tuple[float, int]] = {}

    def take(self, key: str, now: int) -> None:
        tokens, last = self._buckets.get(key, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + max(0, now - last) * self._rate)
        if tokens < 1:
            raise RateLimited("too many transparency queries; slow down", "rate_limited",
                              retry_after=1 + int((1 - tokens) / self._rate))
        if len(self._buckets) > 100_000:  # forget idle devices rather than grow forever
            self._buckets = {k: v for k, v in self._buckets.items()
                             if now - v[1] < self._burst / self._rate}
        self._buckets[key] = (tokens - 1, now)


class TransparencyService:
    def __init__(self, store: Store, settings: Settings, key: LogKey,
                 random: Random = system_random) -> None:
        self._store = store
        self._key = key
        self._rng = _Rng(random)
        self._log = MerkleLog()
        self._pending: dict[int, bytes] = {}
        self._last_timestamp = 0      # the newest entry's timestamp (ms) in ``_log``
        self._head: SignedTreeHead | None = None  # the newest head this node served
        self._auditors = tuple(secret_hash(t) for t in settings.auditor_tokens)
        self._limiter = _RateLimiter(LISTING_BURST, LISTING_PER_SECOND)

    @property
    def public_key(self) -> bytes:
        """The log's raw Ed25519 public key (clients pin it at registration)."""
        return self._key.public

    @property
    def log_id(self) -> bytes:
        return log_id(self._key.public)

    @property
    def size(self) -> int:
        """The in-memory log's size (what this node has caught up to)."""
        return self._log.size

    def root(self) -> bytes:
        return self._log.root()

    # ---- appending (inside the caller's transaction) -----------------------------------

    async def append(self, conn: AsyncConnection, action: LogAction, handle: str,
                     device_id: str, signature_key: bytes, cipher_suite: int,
                     now: int) -> Appended:
        """Append an entry in ``conn``'s transaction; call :meth:`committed` after commit.

        ``now`` is in seconds. The entry's timestamp is ``now`` in milliseconds, but never
        before the previous entry's, so the log's clock does not run backwards even
        across nodes whose clocks differ.
        """
        await kt_db.lock_for_append(conn)
        last = await kt_db.last_leaf(conn)
        index = 0 if last is None else last.index + 1
        timestamp = max(now * 1000, last.created_at if last else 0)
        opening = HandleOpening.new(handle, self._rng)
        entry = LogEntry.create(action, opening, device_id, signature_key, cipher_suite,
                                timestamp)
        leaf = entry.leaf_hash()
        await kt_db.insert_entry(conn, index, leaf, entry.to_bytes(), handle, device_id,
                                 int(action), opening.nonce, timestamp)
        return Appended(index, leaf, timestamp)

    async def backfill(self, now: int) -> int:
        """Log an ADDED entry for every device that has none; returns how many.

        Devices made before migration 0003 (or, during a rolling upgrade, by a node still
        running a version without the log) have no entry, so their KeyPackages could
        never pass a client's check. Every start runs this, in one transaction under the
        log's append lock: idempotent (a logged device is skipped), and two nodes
        starting at once log each device once (the second finds nothing left).

        Why here and not in the migration: an entry needs a fresh random nonce for its
        handle commitment, a timestamp on the log's clock (never before the previous
        entry's, so it is the time of the backfill, not the device's creation), and the
        same serialised, gap-free append as every other entry. This service is the one
        place that does all three; a migration would freeze a second copy of it, and
        would not catch devices an old node makes after the schema moved on.
        """
        appended: list[Appended] = []
        async with self._store.transaction() as conn:
            await kt_db.lock_for_append(conn)
            for device in await kt_db.unlogged_devices(conn):
                appended.append(await self.append(
                    conn, LogAction.ADDED, device.handle, device.device_id,
                    device.signature_key, device.cipher_suite, now))
        for item in appended:
            self.committed(item)
        if appended:
            log.info("logged devices that had no entry", extra={"count": len(appended)})
        return len(appended)

    def committed(self, appended: Appended) -> None:
        """The transaction holding ``appended`` committed: add it to the in-memory log."""
        if appended.index < self._log.size:  # a sync already loaded it from the table
            return
        self._pending[appended.index] = appended.leaf_hash
        self._last_timestamp = max(self._last_timestamp, appended.timestamp)
        while self._log.size in self._pending:
            self._log.append_leaf_hash(self._pending.pop(self._log.size))

    async def _sync(self) -> int:
        """Catch the in-memory log up with the table; returns the size to answer for."""
        async with self._store.transaction(READ_ONLY) as conn:
            rows = await kt_db.leaves_from(conn, self._log.size)
        # No await from here on: a concurrent sync may have appended some of these rows
        # meanwhile, so each is taken only if it is exactly the next leaf.
        for index, leaf, timestamp in rows:
            if index < self._log.size:
                continue
            if index != self._log.size:
                raise RuntimeError(f"transparency log gap: leaf {index} after "
                                   f"{self._log.size} leaves")
            self._log.append_leaf_hash(leaf)
            self._pending.pop(index, None)
            self._last_timestamp = max(self._last_timestamp, timestamp)
        loaded = bool(rows) and self._log.size == len(rows)
        while self._log.size in self._pending:
            self._log.append_leaf_hash(self._pending.pop(self._log.size))
        if loaded:
            log.info("transparency log loaded", extra={"size": self._log.size})
        return self._log.size

    async def _tree_head(self, size: int, now: int) -> SignedTreeHead:
        """The signed head for ``size`` (the current size): the one stored for it by
        whichever node signed first, else one signed here and stored (see the module
        docstring). Each node asks the table once per size, then serves its copy."""
        head = self._head
        if head is not None and head.tree_size == size:
            return head
        root = self._log.root(size)
        async with self._store.transaction() as conn:
            await kt_db.lock_for_tree_head(conn)
            stored = await kt_db.tree_head_at(conn, size)
            if stored is None:
                below, above = await kt_db.neighbour_heads(conn, size)
                # Never older than an entry it includes or than the head of the size
                # below; never newer than a head of a larger size that a node further
                # ahead stored meanwhile. Both bounds hold for the stored neighbours, so
                # every client sees the heads' clocks move forward as the tree grows.
                timestamp = max(now * 1000, self._last_timestamp,
                                below.timestamp if below else 0)
                if above is not None:
                    timestamp = min(timestamp, above.timestamp)
                signed = SignedTreeHead.sign(self._key.private, size, root, timestamp)
                await kt_db.insert_tree_head(conn, kt_db.StoredHead(
                    size, root, timestamp, signed.to_bytes()))
                stored = await kt_db.tree_head_at(conn, size)  # ours, or a winner's
        if stored is None:
            raise RuntimeError(f"the tree head for size {size} vanished from the table")
        head = self._checked(stored, size, root)
        if self._head is None or head.tree_size >= self._head.tree_size:
            self._head = head
        return head

    def _checked(self, stored: kt_db.StoredHead, size: int, root: bytes) -> SignedTreeHead:
        """The stored head, if it is this log's head for this tree: a node never serves a
        head its own tree contradicts (a tampered or foreign table: refuse loudly)."""
        try:
            head = SignedTreeHead.from_bytes(stored.tree_head)
        except DecodeError:
            head = None
        if head is None or (head.log_id, head.tree_size, head.root_hash) != (
                self.log_id, size, root):
            log.error("stored tree head does not match the log", extra={"size": size})
            raise RuntimeError(f"the stored tree head for size {size} does not match the "
                               "log's entries or key")
        return head

    async def _snapshot(self, now: int) -> SignedTreeHead:
        size = await self._sync()
        return await self._tree_head(size, now)

    # ---- reading -----------------------------------------------------------------------

    async def head(self, since: int, now: int) -> tuple[SignedTreeHead, ConsistencyProof | None]:
        """The current tree head, and a consistency proof from size ``since`` to it when
        ``0 < since < size``. Raises InvalidInput when ``since`` is beyond the log."""
        head = await self._snapshot(now)
        if since > head.tree_size:
            raise InvalidInput(f"the log has {head.tree_size} entries, not {since}",
                               "beyond_log")
        proof = None
        if 0 < since < head.tree_size:
            proof = self._log.consistency_proof(since, head.tree_size)
        return head, proof

    async def account_entries(self, requester: str, handle: str, after: int, limit: int,
                              now: int) -> tuple[SignedTreeHead, list[ProvenEntry]]:
        """``handle``'s entries with index > ``after`` (at most ``limit``), each opened and
        proven against the returned head. Raises InvalidInput (handle, limit) and
        RateLimited (``requester``, a device id, asked too often)."""
        check_handle(handle)
        if not 1 <= limit <= MAX_ACCOUNT_PAGE:
            raise InvalidInput(f"limit is 1..{MAX_ACCOUNT_PAGE}", "bad_limit")
        self._limiter.take(requester, now)
        head = await self._snapshot(now)
        async with self._store.transaction(READ_ONLY) as conn:
            rows = await kt_db.entries_of(conn, handle, after, head.tree_size, limit)
        return head, [self._proven(row, head.tree_size) for row in rows]

    async def entries(self, start: int, limit: int,
                      now: int) -> tuple[SignedTreeHead, list[IndexedEntry]]:
        """Entries ``start`` .. ``start + limit - 1`` (those that exist under the returned
        head), encoded, without openings: the auditors' and monitors' feed."""
        if not 1 <= limit <= MAX_ENTRIES_PAGE:
            raise InvalidInput(f"limit is 1..{MAX_ENTRIES_PAGE}", "bad_limit")
        head = await self._snapshot(now)
        stop = min(start + limit, head.tree_size)
        rows: list[kt_db.KtRow] = []
        if start < stop:
            async with self._store.transaction(READ_ONLY) as conn:
                rows = await kt_db.range_of(conn, start, stop)
        return head, [IndexedEntry(row.index, row.entry) for row in rows]

    async def device_proofs(self, device_ids: Sequence[str], now: int) -> dict[str, DeviceProof]:
        """Each device's current entry (its newest, if that is an ADDED one), proven
        against one head; devices with no such entry are absent."""
        head = await self._snapshot(now)
        async with self._store.transaction(READ_ONLY) as conn:
            rows = await kt_db.latest_of_devices(conn, device_ids, head.tree_size)
        return {device_id: DeviceProof(row.index, self._proven(row, head.tree_size), head)
                for device_id, row in rows.items() if row.action == LogAction.ADDED}

    def is_auditor(self, token: str) -> bool:
        """Whether ``token`` is one of the configured auditor tokens (constant time)."""
        digest = secret_hash(token)
        found = False
        for known in self._auditors:
            found |= hmac.compare_digest(digest, known)
        return found

    def _proven(self, row: kt_db.KtRow, size: int) -> ProvenEntry:
        return ProvenEntry(LogEntry.from_bytes(row.entry), HandleOpening(row.handle, row.nonce),
                           self._log.inclusion_proof(row.index, size))
