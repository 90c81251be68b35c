"""Log entries: which device key an account gained or lost, and when.

Every leaf of the log is one encoded :class:`LogEntry`::

    enum { added(1), removed(2), (255) } LogAction;

    struct {
        uint16 version = 1;
        LogAction action;
        opaque handle_commitment[32];
        opaque device_id<V>;          /* UTF-8, 1..255 bytes */
        opaque signature_key<V>;      /* the device's MLS signature public key */
        uint16 cipher_suite;          /* the MLS cipher suite the key belongs to */
        uint64 timestamp;             /* milliseconds since the Unix epoch, set by the log */
    } LogEntry;

The handle is never in an entry, only a commitment to it (see the package docstring for
why and what that does and does not hide)::

    struct {
        opaque label<V> = "letterlock kt v1 handle commitment";
        opaque nonce[32];
        opaque handle<V>;             /* UTF-8, as the server spells the account's handle */
    } HandleCommitmentInput;

    handle_commitment = SHA-256(HandleCommitmentInput)

A :class:`HandleOpening` (handle and nonce) opens it. The nonce is fresh for every entry,
so two entries of one account are unlinkable by their commitments, and a guessed handle
cannot be tested against the log without the nonce.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from cryptography.hazmat.primitives import constant_time

from letterlock.codec import DecodeError, Reader, Struct, Writer
from letterlock.crypto.random import RandomSource

from . import merkle
from .errors import InvalidEntryError, UsageError
from .merkle import InclusionProof

ENTRY_VERSION = 1
COMMITMENT_SIZE = 32
NONCE_SIZE = 32
MAX_DEVICE_ID = 255
MAX_HANDLE = 255
# ML-DSA-87 public keys are 2,592 bytes; leave room for larger post-quantum schemes.
MAX_SIGNATURE_KEY = 8192
_COMMITMENT_LABEL = b"letterlock kt v1 handle commitment"


class LogAction(IntEnum):
    """What happened to the device (the ``LogAction`` code point)."""

    ADDED = 1
    REMOVED = 2


def text_problem(value: str, limit: int, what: str) -> str | None:
    size = len(value.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= limit:
        return f"{what} must be 1..{limit} bytes of UTF-8, got {size}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{what} is not valid Unicode"
    return None


def pull_text(r: Reader, limit: int, what: str) -> str:
    start = r.position
    text = r.pull_utf8(what)
    problem = text_problem(text, limit, what)
    if problem is not None:
        raise DecodeError(problem, start)
    return text


@dataclass(frozen=True, slots=True)
class HandleOpening(Struct):
    """The handle and nonce behind one entry's ``handle_commitment``.

    The log discloses it only to a querier who names the handle. Wire form::

        struct { opaque handle<V>; opaque nonce[32]; } HandleOpening;
    """

    handle: str
    nonce: bytes

    def __post_init__(self) -> None:
        problem = text_problem(self.handle, MAX_HANDLE, "handle")
        if problem is not None:
            raise UsageError(problem)
        if len(self.nonce) != NONCE_SIZE:
            raise UsageError(f"a commitment nonce is {NONCE_SIZE} bytes")

    @classmethod
    def new(cls, handle: str, rng: RandomSource) -> HandleOpening:
        """A fresh opening for ``handle`` with a nonce drawn from ``rng``."""
        return cls(handle, rng.random_bytes(NONCE_SIZE))

    def commitment(self) -> bytes:
        """``SHA-256(HandleCommitmentInput)`` for this handle and nonce."""
        w = Writer()
        w.push_opaque(_COMMITMENT_LABEL)
        w.push_bytes(self.nonce, NONCE_SIZE)
        w.push_opaque(self.handle.encode("utf-8"))
        return merkle.sha256(w.data)

    def check(self, commitment: bytes) -> None:
        """Return if this opening opens ``commitment``.

        Raises:
            InvalidEntryError: it does not (another handle, or another entry's nonce).
        """
        if not constant_time.bytes_eq(self.commitment(), commitment):
            raise InvalidEntryError("the handle opening does not match the entry's commitment")

    def push(self, w: Writer) -> None:
        w.push_opaque(self.handle.encode("utf-8"))
        w.push_bytes(self.nonce, NONCE_SIZE)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        handle = pull_text(r, MAX_HANDLE, "handle")
        return cls(handle, r.pull_bytes(NONCE_SIZE))


def _entry_problem(handle_commitment: bytes, device_id: str, signature_key: bytes,
                   cipher_suite: int, timestamp: int) -> str | None:
    if len(handle_commitment) != COMMITMENT_SIZE:
        return f"a handle commitment is {COMMITMENT_SIZE} bytes"
    problem = text_problem(device_id, MAX_DEVICE_ID, "device id")
    if problem is not None:
        return problem
    if not 1 <= len(signature_key) <= MAX_SIGNATURE_KEY:
        return f"a signature key is 1..{MAX_SIGNATURE_KEY} bytes"
    if not 0 <= cipher_suite <= 0xFFFF:
        return "a cipher suite is a uint16"
    if not 0 <= timestamp < 1 << 64:
        return "a timestamp is a uint64"
    return None


@dataclass(frozen=True, slots=True)
class LogEntry(Struct):
    """One leaf of the log: ``action`` happened to device ``device_id`` (with
    ``signature_key``) of the account committed to by ``handle_commitment``.

    Only version 1 exists, so the version is on the wire but not in the value: a
    decoder for version 1 refuses any other with a DecodeError.
    """

    action: LogAction
    handle_commitment: bytes
    device_id: str
    signature_key: bytes
    cipher_suite: int
    timestamp: int

    def __post_init__(self) -> None:
        if not isinstance(self.action, LogAction):
            raise UsageError(f"action must be a LogAction, got {self.action!r}")
        problem = _entry_problem(self.handle_commitment, self.device_id, self.signature_key,
                                 self.cipher_suite, self.timestamp)
        if problem is not None:
            raise UsageError(problem)

    @classmethod
    def create(cls, action: LogAction, opening: HandleOpening, device_id: str,
               signature_key: bytes, cipher_suite: int, now: int) -> LogEntry:
        """The entry the log appends when ``opening.handle`` gains or loses a device.

        ``now`` is the log's clock in milliseconds since the Unix epoch.
        """
        return cls(action, opening.commitment(), device_id, signature_key, cipher_suite, now)

    def leaf_hash(self) -> bytes:
        """This entry's Merkle leaf hash, ``SHA-256(0x00 || LogEntry)``."""
        return merkle.leaf_hash(self.to_bytes())

    def push(self, w: Writer) -> None:
        w.push_uint16(ENTRY_VERSION)
        w.push_uint8(self.action)
        w.push_bytes(self.handle_commitment, COMMITMENT_SIZE)
        w.push_opaque(self.device_id.encode("utf-8"))
        w.push_opaque(self.signature_key)
        w.push_uint16(self.cipher_suite)
        w.push_uint64(self.timestamp)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        start = r.position
        version = r.pull_uint16()
        if version != ENTRY_VERSION:
            raise DecodeError(f"unsupported log entry version {version}", start)
        action = r.pull_enum(LogAction, "log action")
        commitment = r.pull_bytes(COMMITMENT_SIZE)
        device_id = pull_text(r, MAX_DEVICE_ID, "device id")
        key_at = r.position
        signature_key = r.pull_opaque()
        if not 1 <= len(signature_key) <= MAX_SIGNATURE_KEY:
            raise DecodeError(f"a signature key is 1..{MAX_SIGNATURE_KEY} bytes", key_at)
        return cls(action, commitment, device_id, signature_key, r.pull_uint16(),
                   r.pull_uint64())


@dataclass(frozen=True, slots=True)
class ProvenEntry(Struct):
    """What the log answers a querier who named a handle: one entry, the opening of its
    handle commitment, and its inclusion proof (whose tree head travels separately, once
    per answer). Wire form::

        struct { LogEntry entry; HandleOpening opening; InclusionProof proof; } ProvenEntry;
    """

    entry: LogEntry
    opening: HandleOpening
    proof: InclusionProof

    @property
    def index(self) -> int:
        """The entry's position in the log."""
        return self.proof.leaf_index

    def push(self, w: Writer) -> None:
        self.entry.push(w)
        self.opening.push(w)
        self.proof.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(LogEntry.pull(r), HandleOpening.pull(r), InclusionProof.pull(r))


__all__ = [
    "COMMITMENT_SIZE",
    "ENTRY_VERSION",
    "NONCE_SIZE",
    "HandleOpening",
    "LogAction",
    "LogEntry",
    "ProvenEntry",
]
