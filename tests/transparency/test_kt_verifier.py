"""The client's verifier and monitor against an honest log and against a lying one."""

from __future__ import annotations

import pytest
from kt_kit import LOG_PUBLIC, OTHER_PRIVATE, FakeLog, device_key

from letterlock.codec import DecodeError
from letterlock.transparency import (
    BadSignatureError,
    ConsistencyProof,
    DeviceMonitor,
    DeviceRemoved,
    InconsistentLogError,
    InvalidEntryError,
    InvalidProofError,
    LogAction,
    LogVerifier,
    SignedTreeHead,
    SplitViewError,
    UnknownDeviceAlert,
    UsageError,
)


def honest_log(entries: int = 5) -> FakeLog:
    log = FakeLog()
    for i in range(entries):
        log.add(f"user{i % 3}", f"dev{i}")
    return log


def test_verifier_follows_a_growing_log() -> None:
    log = honest_log(3)
    verifier = LogVerifier(LOG_PUBLIC)
    assert verifier.latest is None
    first = log.head()
    verifier.update(first, None)  # the first head is taken on its signature
    for i in range(3, 12):
        log.add("alice", f"dev{i}")
        held = verifier.latest
        assert held is not None
        sth = log.head()
        verifier.update(sth, log.tree.consistency_proof(held.tree_size, sth.tree_size))
        assert verifier.latest == sth
        proof = log.tree.inclusion_proof(i, sth.tree_size)
        verifier.verify_inclusion(log.entries[i], proof, sth)
    # A later head of the same size (a fresh signature) is accepted too.
    same = log.head()
    verifier.update(same, None)
    assert verifier.latest == same
    restored = LogVerifier.from_bytes(verifier.to_bytes())
    assert restored.latest == same and restored.log_public_key == LOG_PUBLIC


def test_inclusion_of_a_substituted_key_fails() -> None:
    log = honest_log()
    sth = log.head()
    verifier = LogVerifier(LOG_PUBLIC, sth)
    entry = log.entries[2]
    swapped = type(entry)(entry.action, entry.handle_commitment, entry.device_id,
                          device_key("mallory"), entry.cipher_suite, entry.timestamp)
    with pytest.raises(InvalidProofError):
        verifier.verify_inclusion(swapped, log.tree.inclusion_proof(2), sth)
    with pytest.raises(InvalidProofError):  # a proof for another size
        verifier.verify_inclusion(entry, log.tree.inclusion_proof(2, 4), sth)
    with pytest.raises(UsageError):  # a head the verifier does not hold
        verifier.verify_inclusion(entry, log.tree.inclusion_proof(2, 4), log.head(4))


def test_rewritten_history_is_refused() -> None:
    log = honest_log()
    verifier = LogVerifier(LOG_PUBLIC, log.head())
    # The log rewrites entry 1 (e.g. swaps a key) and grows: the new root cannot be
    # proven consistent with the held one.
    forked = FakeLog(seed=b"another history")
    for i in range(7):
        forked.add(f"user{i % 3}", f"dev{i}" if i != 1 else "ghost")
    sth = forked.head()
    before = verifier.to_bytes()
    with pytest.raises(InconsistentLogError) as caught:
        verifier.update(sth, forked.tree.consistency_proof(5, 7))
    assert caught.value.current == sth and caught.value.previous == verifier.latest
    assert verifier.to_bytes() == before  # nothing changed
    # Nor does the honest log's proof help the forked head.
    with pytest.raises(InconsistentLogError):
        verifier.update(sth, log.tree.consistency_proof(5, 5))


def test_truncated_log_and_time_running_backwards_are_refused() -> None:
    log = honest_log(6)
    verifier = LogVerifier(LOG_PUBLIC, log.head())
    with pytest.raises(InconsistentLogError):
        verifier.update(log.head(4), None)  # smaller, even though it is a true prefix
    log.add("alice", "late")
    stale = SignedTreeHead.sign(log.private_key, 7, log.tree.root(), 1)  # from the past
    with pytest.raises(InconsistentLogError):
        verifier.update(stale, log.tree.consistency_proof(6, 7))
    sth = log.head()
    with pytest.raises(InconsistentLogError):  # missing proof
        verifier.update(sth, None)
    with pytest.raises(InconsistentLogError):  # proof for the wrong sizes
        verifier.update(sth, log.tree.consistency_proof(5, 7))
    verifier.update(sth, log.tree.consistency_proof(6, 7))


def test_split_view_is_detected_with_signed_evidence() -> None:
    log = honest_log(4)
    alice = LogVerifier(LOG_PUBLIC, log.head())
    # The log shows Alice one fifth entry and Bob another, at the same size.
    view_a, view_b = FakeLog(seed=b"a"), FakeLog(seed=b"b")
    for view in (view_a, view_b):
        for entry in log.entries:
            view.tree.append(entry.to_bytes())
            view.entries.append(entry)
        view.now = log.now
    view_a.add("bob", "bob-laptop")
    view_b.add("bob", "ghost")
    sth_a = view_a.head()
    alice.update(sth_a, view_a.tree.consistency_proof(4, 5))
    sth_b = view_b.head()
    with pytest.raises(SplitViewError) as caught:
        alice.update(sth_b, None)
    evidence = caught.value
    assert evidence.previous is not None and evidence.current is not None
    # Transferable: both heads verify under the log key, same size, different roots.
    evidence.previous.verify(LOG_PUBLIC)
    evidence.current.verify(LOG_PUBLIC)
    assert evidence.previous.tree_size == evidence.current.tree_size
    assert evidence.previous.root_hash != evidence.current.root_hash
    with pytest.raises(SplitViewError):
        alice.verify_inclusion(view_b.entries[4], view_b.tree.inclusion_proof(4), sth_b)


def test_heads_not_signed_by_the_pinned_log_are_refused() -> None:
    log = honest_log()
    verifier = LogVerifier(LOG_PUBLIC)
    impostor = SignedTreeHead.sign(OTHER_PRIVATE, log.tree.size, log.tree.root(), log.now)
    with pytest.raises(BadSignatureError):
        verifier.update(impostor, None)
    with pytest.raises(BadSignatureError):
        LogVerifier(LOG_PUBLIC, impostor)
    with pytest.raises(UsageError):
        LogVerifier(b"\x00" * 31)


# -- the monitor -----------------------------------------------------------------------

def test_monitor_alerts_on_a_ghost_device_and_a_substituted_key() -> None:
    log = FakeLog()
    log.add("alice", "phone")
    log.add("bob", "bob-phone")
    log.add("alice", "laptop")
    verifier = LogVerifier(LOG_PUBLIC, log.head())
    monitor = DeviceMonitor("alice", {"phone": device_key("phone"),
                                      "laptop": device_key("laptop")})
    assert monitor.process(log.listing("alice"), verifier) == []
    assert monitor.next_index == 3
    # The server quietly adds a device to Alice's account, and swaps the laptop's key.
    ghost = log.add("alice", "ghost")
    swap = log.add("alice", "laptop", key=device_key("mallory"))
    log.add("alice", "phone", LogAction.REMOVED)
    held = verifier.latest
    assert held is not None
    sth = log.head()
    verifier.update(sth, log.tree.consistency_proof(held.tree_size, sth.tree_size))
    page = [item for item in log.listing("alice") if item.index >= monitor.next_index]
    events = monitor.process(page, verifier)
    assert events == [
        UnknownDeviceAlert(ghost, "ghost", device_key("ghost"), 1,
                           log.entries[ghost].timestamp, known_device=False),
        UnknownDeviceAlert(swap, "laptop", device_key("mallory"), 1,
                           log.entries[swap].timestamp, known_device=True),
        DeviceRemoved(swap + 1, "phone", log.entries[swap + 1].timestamp),
    ]
    # Reported once: the same page again raises no second alert, also after a restore.
    restored = DeviceMonitor.from_bytes(monitor.to_bytes())
    assert restored.process(page, verifier) == [
        DeviceRemoved(swap + 1, "phone", log.entries[swap + 1].timestamp)]
    assert restored.next_index == monitor.next_index == swap + 2


def test_monitor_checks_entries_an_earlier_page_left_out() -> None:
    log = FakeLog()
    log.add("alice", "phone")
    ghost = log.add("alice", "ghost")
    log.add("alice", "tablet")
    verifier = LogVerifier(LOG_PUBLIC, log.head())
    monitor = DeviceMonitor("alice", {"phone": device_key("phone"),
                                      "tablet": device_key("tablet")})
    listing = log.listing("alice")
    assert monitor.process([listing[0], listing[2]], verifier) == []  # ghost omitted
    events = monitor.process([listing[1]], verifier)  # shown later: still an alert
    assert [event.index for event in events] == [ghost]


def test_monitor_refuses_entries_of_another_handle_or_with_bad_proofs() -> None:
    log = FakeLog()
    log.add("alice", "phone")
    log.add("bob", "bob-phone")
    verifier = LogVerifier(LOG_PUBLIC, log.head())
    monitor = DeviceMonitor("alice", {})
    bobs = log.listing("bob")
    with pytest.raises(InvalidEntryError):
        monitor.process(bobs, verifier)
    # Bob's entry passed off with an opening for Alice: the commitment does not open.
    forged = type(bobs[0])(bobs[0].entry, log.openings[0], bobs[0].proof)
    with pytest.raises(InvalidEntryError):
        monitor.process([forged], verifier)
    alices = log.listing("alice")
    wrong_proof = type(alices[0])(alices[0].entry, alices[0].opening, bobs[0].proof)
    with pytest.raises(InvalidProofError):
        monitor.process([wrong_proof], verifier)
    with pytest.raises(UsageError):
        monitor.process(alices, LogVerifier(LOG_PUBLIC))
    assert monitor.next_index == 0  # nothing was taken from the refused pages


def test_monitor_state_decoding_is_canonical() -> None:
    monitor = DeviceMonitor("alice", {"a": b"1", "b": b"2"})
    encoding = monitor.to_bytes()
    # Swap the two known devices: same content, non-canonical order.
    swapped = encoding.replace(b"\x01a\x011\x01b\x012", b"\x01b\x012\x01a\x011")
    assert swapped != encoding
    with pytest.raises(DecodeError):
        DeviceMonitor.from_bytes(swapped)
    with pytest.raises(UsageError):
        DeviceMonitor("", {})


def test_consistency_proof_struct_round_trip() -> None:
    proof = ConsistencyProof(3, 9, (bytes(32), bytes(range(32))))
    assert ConsistencyProof.from_bytes(proof.to_bytes()) == proof
