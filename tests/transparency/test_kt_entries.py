"""Log entries, handle commitments and signed tree heads: golden bytes, strict decoding,
signature tampering."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st
from kt_kit import LOG_PRIVATE, LOG_PUBLIC, OTHER_PUBLIC, FakeLog, sha256

from letterlock.codec import DecodeError
from letterlock.crypto import SeededRandom
from letterlock.transparency import (
    BadSignatureError,
    DeviceMonitor,
    HandleOpening,
    InvalidEntryError,
    LogAction,
    LogEntry,
    LogVerifier,
    ProvenEntry,
    SignedTreeHead,
    UsageError,
    leaf_hash,
    log_id,
)

NONCE = bytes(range(32))


def test_handle_commitment_is_sha256_of_the_labelled_input() -> None:
    label = b"letterlock kt v1 handle commitment"
    expected = sha256(bytes([len(label)]) + label + NONCE + b"\x05alice")
    opening = HandleOpening("alice", NONCE)
    assert opening.commitment() == expected
    opening.check(expected)
    with pytest.raises(InvalidEntryError):
        HandleOpening("alicf", NONCE).check(expected)
    with pytest.raises(InvalidEntryError):
        HandleOpening("alice", bytes(32)).check(expected)


def test_fresh_nonces_make_entries_of_one_handle_unlinkable() -> None:
    rng = SeededRandom(b"nonces")
    first, second = HandleOpening.new("bob", rng), HandleOpening.new("bob", rng)
    assert first.nonce != second.nonce
    assert first.commitment() != second.commitment()


def test_entry_golden_bytes() -> None:
    commitment = HandleOpening("alice", NONCE).commitment()
    entry = LogEntry(LogAction.ADDED, commitment, "d1", b"\xaa" * 32, 1, 0x0102030405060708)
    expected = (
        b"\x00\x01"                      # version 1
        + b"\x01"                        # added
        + commitment                     # opaque handle_commitment[32]
        + b"\x02d1"                      # opaque device_id<V>
        + b"\x20" + b"\xaa" * 32         # opaque signature_key<V>
        + b"\x00\x01"                    # cipher suite 1
        + bytes.fromhex("0102030405060708")
    )
    assert entry.to_bytes() == expected
    assert LogEntry.from_bytes(expected) == entry
    assert entry.leaf_hash() == leaf_hash(expected) == sha256(b"\x00" + expected)


@pytest.mark.parametrize("mutate", [
    lambda b: b"\x00\x02" + b[2:],                   # unknown version
    lambda b: b[:2] + b"\x03" + b[3:],               # unknown action
    lambda b: b[:-1],                                # truncated
    lambda b: b + b"\x00",                           # trailing byte
    lambda b: b[:35] + b"\x02\xff\xfe" + b[38:],     # device id not UTF-8
    lambda b: b[:35] + b"\x00" + b[38:],             # empty device id
])
def test_entry_decoding_is_strict(mutate: Callable[[bytes], bytes]) -> None:
    entry = LogEntry(LogAction.REMOVED, bytes(32), "d1", b"k", 2, 5)
    with pytest.raises(DecodeError):
        LogEntry.from_bytes(mutate(entry.to_bytes()))


def test_entry_construction_rejects_misuse() -> None:
    for args in ((LogAction.ADDED, bytes(31), "d", b"k", 1, 0),
                 (LogAction.ADDED, bytes(32), "", b"k", 1, 0),
                 (LogAction.ADDED, bytes(32), "d", b"", 1, 0),
                 (LogAction.ADDED, bytes(32), "d", b"k", 1 << 16, 0),
                 (LogAction.ADDED, bytes(32), "d", b"k", 1, -1),
                 (1, bytes(32), "d", b"k", 1, 0)):
        with pytest.raises(UsageError):
            LogEntry(*args)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        HandleOpening("x" * 256, NONCE)
    with pytest.raises(UsageError):
        HandleOpening("alice", bytes(16))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(LogAction), st.binary(min_size=32, max_size=32),
       st.text(min_size=1, max_size=40), st.binary(min_size=1, max_size=100),
       st.integers(0, 0xFFFF), st.integers(0, (1 << 64) - 1))
def test_entry_round_trip(action: LogAction, commitment: bytes, device_id: str, key: bytes,
                          suite: int, timestamp: int) -> None:
    try:
        entry = LogEntry(action, commitment, device_id, key, suite, timestamp)
    except UsageError:
        return  # lone surrogates, or more than 255 bytes of UTF-8
    assert LogEntry.from_bytes(entry.to_bytes()) == entry


def _decoders() -> list[Callable[[bytes], object]]:
    return [LogEntry.from_bytes, HandleOpening.from_bytes, ProvenEntry.from_bytes,
            SignedTreeHead.from_bytes, LogVerifier.from_bytes, DeviceMonitor.from_bytes]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_to_every_decoder_raise_only_decode_error(data: bytes) -> None:
    for decoder in _decoders():
        with contextlib.suppress(DecodeError):
            decoder(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_valid_encodings_raise_only_decode_error(data: st.DataObject) -> None:
    log = FakeLog()
    log.add("alice", "d1")
    sth = log.head()
    verifier = LogVerifier(LOG_PUBLIC, sth)
    monitor = DeviceMonitor("alice", {"d1": b"k1", "d2": b"k2"}, reported=[("d3", b"k")])
    valid = [log.entries[0].to_bytes(), log.openings[0].to_bytes(),
             log.listing("alice")[0].to_bytes(), sth.to_bytes(), verifier.to_bytes(),
             monitor.to_bytes()]
    for decoder, encoding in zip(_decoders(), valid, strict=True):
        decoder(encoding)  # the valid encoding decodes
        at = data.draw(st.integers(0, len(encoding) - 1))
        new = data.draw(st.integers(0, 255))
        mutated = encoding[:at] + bytes([new]) + encoding[at + 1:]
        cut = data.draw(st.integers(0, len(encoding) - 1))
        for candidate in (mutated, encoding[:cut], encoding + b"\x00"):
            with contextlib.suppress(DecodeError):
                decoder(candidate)


# -- signed tree heads -----------------------------------------------------------------

def test_tree_head_signs_a_labelled_tbs() -> None:
    sth = SignedTreeHead.sign(LOG_PRIVATE, 7, bytes(range(32)), 1234)
    assert sth.log_id == log_id(LOG_PUBLIC) == sha256(LOG_PUBLIC)
    label = b"letterlock kt v1 tree head"
    tbs = (bytes([len(label)]) + label + sth.log_id + (7).to_bytes(8, "big")
           + (1234).to_bytes(8, "big") + bytes(range(32)))
    assert sth.tbs() == tbs
    # Checked with pyca directly, not through our own verify.
    ed25519.Ed25519PublicKey.from_public_bytes(LOG_PUBLIC).verify(sth.signature, tbs)
    sth.verify(LOG_PUBLIC)
    # The fields without the label, then the 64-byte signature (2-byte varint 0x4040).
    assert sth.to_bytes() == tbs[1 + len(label):] + b"\x40\x40" + sth.signature
    assert SignedTreeHead.from_bytes(sth.to_bytes()) == sth


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0))
def test_any_bit_flip_in_a_tree_head_breaks_it(bit: int) -> None:
    sth = SignedTreeHead.sign(LOG_PRIVATE, 7, bytes(range(32)), 1234)
    encoding = bytearray(sth.to_bytes())
    bit %= len(encoding) * 8
    encoding[bit // 8] ^= 1 << (bit % 8)
    try:
        tampered = SignedTreeHead.from_bytes(bytes(encoding))
    except DecodeError:
        return  # the flip hit the signature's length prefix
    with pytest.raises(BadSignatureError):
        tampered.verify(LOG_PUBLIC)


def test_tree_head_of_another_log_is_refused() -> None:
    sth = SignedTreeHead.sign(LOG_PRIVATE, 1, bytes(32), 1)
    with pytest.raises(BadSignatureError):
        sth.verify(OTHER_PUBLIC)
    forged = SignedTreeHead(log_id(OTHER_PUBLIC), 1, 1, bytes(32), sth.signature)
    with pytest.raises(BadSignatureError):
        forged.verify(OTHER_PUBLIC)
    with pytest.raises(UsageError):
        sth.verify(b"short")
    with pytest.raises(UsageError):
        SignedTreeHead.sign(b"short", 1, bytes(32), 1)
