"""The auditor replays a whole log against the tree heads it has seen."""

from __future__ import annotations

import pytest
from kt_kit import LOG_PUBLIC, OTHER_PRIVATE, FakeLog

from letterlock.codec import DecodeError
from letterlock.transparency import (
    AuditReport,
    BadSignatureError,
    InconsistentLogError,
    LogAction,
    LogEntry,
    SignedTreeHead,
    SplitViewError,
    audit_log,
)


def grown_log() -> tuple[FakeLog, list[SignedTreeHead]]:
    log = FakeLog()
    heads = [log.head()]  # the empty log
    for i in range(20):
        log.add(f"user{i % 4}", f"dev{i}")
        if i % 3 == 0:
            heads.append(log.head())
    log.add("user0", "dev0", LogAction.REMOVED)
    log.add("user1", "never-added", LogAction.REMOVED)
    heads.append(log.head())
    return log, heads


def test_an_honest_log_passes() -> None:
    log, heads = grown_log()
    report = audit_log(LOG_PUBLIC, [entry.to_bytes() for entry in log.entries], heads)
    assert report == AuditReport(entries=22, added=20, removed=2, tree_heads=len(heads),
                                 root_hash=log.tree.root(), removals_of_unknown=(21,))
    assert audit_log(LOG_PUBLIC, log.entries, heads) == report


def test_a_rewritten_entry_breaks_the_audit() -> None:
    log, heads = grown_log()
    entries = list(log.entries)
    e = entries[4]
    entries[4] = LogEntry(e.action, e.handle_commitment, "ghost", e.signature_key,
                          e.cipher_suite, e.timestamp)
    with pytest.raises(InconsistentLogError):
        audit_log(LOG_PUBLIC, entries, heads)


def test_missing_entries_break_the_audit() -> None:
    log, heads = grown_log()
    with pytest.raises(InconsistentLogError):
        audit_log(LOG_PUBLIC, log.entries[:-1], heads)


def test_a_split_view_breaks_the_audit() -> None:
    log, heads = grown_log()
    other = SignedTreeHead.sign(log.private_key, heads[2].tree_size, bytes(32),
                                heads[2].timestamp)
    with pytest.raises(SplitViewError):
        audit_log(LOG_PUBLIC, log.entries, [*heads, other])


def test_heads_out_of_order_or_forged_break_the_audit() -> None:
    log, heads = grown_log()
    with pytest.raises(InconsistentLogError):
        audit_log(LOG_PUBLIC, log.entries, [heads[3], heads[2]])
    forged = SignedTreeHead.sign(OTHER_PRIVATE, heads[1].tree_size, heads[1].root_hash,
                                 heads[1].timestamp)
    with pytest.raises(BadSignatureError):
        audit_log(LOG_PUBLIC, log.entries, [forged])
    early = SignedTreeHead.sign(log.private_key, 5, log.tree.root(5), 0)
    with pytest.raises(InconsistentLogError):  # signed before its own entries
        audit_log(LOG_PUBLIC, log.entries, [early])


def test_entries_must_be_in_time_order_and_well_formed() -> None:
    log, _heads = grown_log()
    entries = list(log.entries)
    entries[3], entries[4] = entries[4], entries[3]
    with pytest.raises(InconsistentLogError):
        audit_log(LOG_PUBLIC, entries, [])
    with pytest.raises(DecodeError):
        audit_log(LOG_PUBLIC, [b"\x00\x01\x01"], [])
