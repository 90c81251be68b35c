"""The auditor: replay a whole log and every tree head seen, and check that they agree.

An auditor holds no secrets and trusts nothing but the log's public key. Given every
entry in log order and the tree heads it collected (from its own polling, or gossiped
by clients), it recomputes the root at each head's size, verifies each head's
signature, and checks each step from one head to the next with a consistency proof
built from the replayed log and verified as a client would (RFC 9162 §2.1.4.2). It
raises on the first break; otherwise it returns an :class:`AuditReport`.

What it can and cannot say: a log that passes has one history, and every head the
auditor saw is a prefix of it. It cannot tell whether the entries are *true* (that an
account's owner approved each device): that is the owners' monitors' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .entries import LogAction, LogEntry
from .errors import InconsistentLogError, InvalidProofError, SplitViewError
from .merkle import MerkleLog, verify_consistency
from .tree_head import SignedTreeHead, check_log_key


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a successful audit established.

    ``removals_of_unknown`` lists the indices of REMOVED entries for a device id that no
    earlier entry added (or that was already removed): not a break of the log's
    structure, but worth a look. The auditor cannot open handle commitments, so it
    tracks devices by id alone.
    """

    entries: int
    added: int
    removed: int
    tree_heads: int
    root_hash: bytes
    removals_of_unknown: tuple[int, ...]


def audit_log(log_public_key: bytes, entries: Sequence[bytes | LogEntry],
              tree_heads: Sequence[SignedTreeHead]) -> AuditReport:
    """Replay ``entries`` (encoded or decoded, in log order) and check ``tree_heads``
    (in the order they were seen) against them.

    Raises:
        DecodeError: an encoded entry is malformed.
        BadSignatureError: a tree head is not signed by ``log_public_key``.
        InconsistentLogError: entry timestamps run backwards; a head claims more entries
            than were handed over, a root the entries do not give, an earlier timestamp
            or a smaller size than the head before it, or an entry later than itself.
        SplitViewError: two heads of one size with different roots.
        UsageError: ``log_public_key`` is malformed.
    """
    check_log_key(log_public_key)
    log = MerkleLog()
    timestamps: list[int] = []
    active: set[str] = set()
    added = removed = 0
    removals_of_unknown: list[int] = []
    for index, item in enumerate(entries):
        entry = item if isinstance(item, LogEntry) else LogEntry.from_bytes(item)
        if timestamps and entry.timestamp < timestamps[-1]:
            raise InconsistentLogError(f"entry {index} is older than the entry before it")
        timestamps.append(entry.timestamp)
        log.append(entry.to_bytes())
        # The commitment hides the handle, so only device ids can be tracked here.
        if entry.action is LogAction.ADDED:
            added += 1
            active.add(entry.device_id)
        else:
            removed += 1
            if entry.device_id not in active:
                removals_of_unknown.append(index)
            active.discard(entry.device_id)

    previous: SignedTreeHead | None = None
    seen_roots: dict[int, SignedTreeHead] = {}
    for sth in tree_heads:
        sth.verify(log_public_key)
        other = seen_roots.setdefault(sth.tree_size, sth)
        if other.root_hash != sth.root_hash:
            raise SplitViewError(f"two roots signed for size {sth.tree_size}", other, sth)
        if sth.tree_size > log.size:
            raise InconsistentLogError(
                f"a tree head claims {sth.tree_size} entries; the log handed over {log.size}",
                previous, sth)
        if sth.root_hash != log.root(sth.tree_size):
            raise InconsistentLogError(
                f"the entries do not give the signed root at size {sth.tree_size}",
                previous, sth)
        if sth.tree_size and timestamps[sth.tree_size - 1] > sth.timestamp:
            raise InconsistentLogError("a tree head is older than an entry it includes",
                                       previous, sth)
        if previous is not None:
            _check_step(log, previous, sth)
        previous = sth
    return AuditReport(log.size, added, removed, len(tree_heads), log.root(),
                       tuple(removals_of_unknown))


def _check_step(log: MerkleLog, previous: SignedTreeHead, sth: SignedTreeHead) -> None:
    if sth.tree_size < previous.tree_size:
        raise InconsistentLogError(
            f"the log went back from {previous.tree_size} to {sth.tree_size} entries",
            previous, sth)
    if sth.timestamp < previous.timestamp:
        raise InconsistentLogError("a tree head is older than the one before it", previous, sth)
    proof = log.consistency_proof(previous.tree_size, sth.tree_size)
    try:
        verify_consistency(proof, previous.root_hash, sth.root_hash)
    except InvalidProofError as error:
        raise InconsistentLogError(f"tree heads are not consistent: {error}",
                                   previous, sth) from error


__all__ = ["AuditReport", "audit_log"]
