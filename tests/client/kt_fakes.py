"""An in-memory key-transparency log server for the client tests, built with the
transparency package: the ``LogSource``/``AuditSource`` API of
:class:`letterlock.client.transport.Api`, with knobs for a dishonest server (forks,
hidden entries, rewritten history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from letterlock.client.events import Event
from letterlock.client.keylog import KeyLog
from letterlock.client.profile import ProfileKey
from letterlock.client.store import Store
from letterlock.client.transport import AccountLog, ClaimProof, LogPage
from letterlock.crypto import SeededRandom, SignatureSchemeId, signature_scheme
from letterlock.transparency import (
    ConsistencyProof,
    HandleOpening,
    LogAction,
    LogEntry,
    MerkleLog,
    ProvenEntry,
    SignedTreeHead,
)

ED25519 = signature_scheme(SignatureSchemeId.ED25519)
LOG_PRIVATE, LOG_PUBLIC = ED25519.generate_key_pair(SeededRandom(b"client kt log key"))
START = 1_800_000_000_000


@dataclass
class FakeLog:
    """An honest log until told otherwise. ``hidden`` entries are left out of listings."""

    name: bytes = b"fake log"
    now: int = START
    entries: list[LogEntry] = field(default_factory=list)
    openings: list[HandleOpening] = field(default_factory=list)
    hidden: set[int] = field(default_factory=set)
    heads: dict[int, SignedTreeHead] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = SeededRandom(self.name)
        self.merkle = MerkleLog()

    def append(self, action: LogAction, handle: str, device_id: str, key: bytes,
               suite: int = 1) -> int:
        self.now += 1000
        opening = HandleOpening.new(handle, self.rng)
        entry = LogEntry.create(action, opening, device_id, key, suite, self.now)
        self.entries.append(entry)
        self.openings.append(opening)
        return self.merkle.append(entry.to_bytes())

    def add(self, handle: str, device_id: str, key: bytes) -> int:
        return self.append(LogAction.ADDED, handle, device_id, key)

    def head(self) -> SignedTreeHead:
        size = self.merkle.size
        if size not in self.heads:  # one signed head per size, like an honest log
            self.now += 1
            self.heads[size] = SignedTreeHead.sign(LOG_PRIVATE, size, self.merkle.root(),
                                                   self.now)
        return self.heads[size]

    def proven(self, index: int, size: int | None = None) -> ProvenEntry:
        return ProvenEntry(self.entries[index], self.openings[index],
                           self.merkle.inclusion_proof(index, size))

    def claim(self, handle: str, device_id: str) -> ClaimProof:
        """The claim item's proof for the device's newest "added" entry."""
        index = max(i for i, (e, o) in enumerate(zip(self.entries, self.openings, strict=True))
                    if o.handle == handle and e.device_id == device_id
                    and e.action is LogAction.ADDED)
        return ClaimProof(index, self.proven(index).to_bytes(), self.head().to_bytes())

    # the server API -------------------------------------------------------------------

    async def transparency_key(self) -> bytes:
        return LOG_PUBLIC

    async def tree_head(self, since: int) -> tuple[SignedTreeHead, ConsistencyProof | None]:
        self.requests.append(f"head?since={since}")
        head = self.head()
        proof = (self.merkle.consistency_proof(since, head.tree_size)
                 if 0 < since < head.tree_size else None)
        return head, proof

    async def account_log(self, handle: str, after: int, limit: int) -> AccountLog:
        self.requests.append(f"accounts/{handle}")
        head = self.head()
        found = [self.proven(i) for i, o in enumerate(self.openings)
                 if o.handle == handle and i > after and i not in self.hidden][:limit]
        return AccountLog(head, tuple(found))

    async def log_entries(self, start: int, limit: int, *,
                          token: str | None = None) -> LogPage:
        head = self.head()
        return LogPage(head, tuple((i, self.entries[i])
                                   for i in range(start, min(start + limit,
                                                             len(self.entries)))))


async def open_store(directory: Path) -> Store:
    directory.mkdir(parents=True, exist_ok=True)
    return await Store.open(directory, ProfileKey(bytes(32)).sealer(SeededRandom(b"s")))


async def keylog_for(store: Store, log: FakeLog, handle: str, device_id: str,
                     key: bytes, seen: list[Event]) -> KeyLog:
    """A KeyLog pinned to the fake log's key, trusting our own device."""
    await store.transaction(lambda tx: KeyLog.pin_tx(tx, LOG_PUBLIC, handle, device_id, key))
    loaded = await KeyLog.load(store, log, handle, seen.append)
    assert loaded is not None
    return loaded
