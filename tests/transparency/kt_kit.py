"""Shared plumbing for the transparency tests: a deterministic log key, a naive RFC 9162
MTH to compare against, and a small in-memory log server."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from letterlock.crypto import SeededRandom, SignatureSchemeId, signature_scheme
from letterlock.transparency import (
    HandleOpening,
    LogAction,
    LogEntry,
    MerkleLog,
    ProvenEntry,
    SignedTreeHead,
)

ED25519 = signature_scheme(SignatureSchemeId.ED25519)
LOG_PRIVATE, LOG_PUBLIC = ED25519.generate_key_pair(SeededRandom(b"kt test log key"))
OTHER_PRIVATE, OTHER_PUBLIC = ED25519.generate_key_pair(SeededRandom(b"kt other log key"))
START = 1_700_000_000_000


def sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def naive_mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written straight from the definition."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:]))


def device_key(name: str) -> bytes:
    return ED25519.generate_key_pair(SeededRandom(name.encode()))[1]


class FakeLog:
    """What the server will do, minus SQL: append entries, sign heads, answer listings."""

    def __init__(self, private_key: bytes = LOG_PRIVATE, seed: bytes = b"kt entries") -> None:
        self.private_key = private_key
        self.tree = MerkleLog()
        self.entries: list[LogEntry] = []
        self.openings: list[HandleOpening] = []
        self.now = START
        self._rng = SeededRandom(seed)

    def add(self, handle: str, device_id: str, action: LogAction = LogAction.ADDED,
            key: bytes | None = None) -> int:
        self.now += 1000
        opening = HandleOpening.new(handle, self._rng)
        entry = LogEntry.create(action, opening, device_id,
                                key if key is not None else device_key(device_id), 1, self.now)
        self.entries.append(entry)
        self.openings.append(opening)
        return self.tree.append(entry.to_bytes())

    def head(self, size: int | None = None) -> SignedTreeHead:
        self.now += 1
        n = self.tree.size if size is None else size
        return SignedTreeHead.sign(self.private_key, n, self.tree.root(n), self.now)

    def listing(self, handle: str, size: int | None = None) -> list[ProvenEntry]:
        n = self.tree.size if size is None else size
        return [ProvenEntry(self.entries[i], self.openings[i], self.tree.inclusion_proof(i, n))
                for i in range(n) if self.openings[i].handle == handle]
