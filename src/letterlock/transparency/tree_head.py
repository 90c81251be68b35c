"""Signed tree heads: the log's signed statement of its size and root at a time.

Wire form (the signature covers the labelled TBS, never the bare fields, so a log key
signature made for anything else can never pass as a tree head)::

    struct {
        opaque label<V> = "letterlock kt v1 tree head";
        opaque log_id[32];        /* SHA-256 of the log's raw Ed25519 public key */
        uint64 tree_size;
        uint64 timestamp;         /* milliseconds since the Unix epoch */
        opaque root_hash[32];
    } TreeHeadTBS;

    struct {
        opaque log_id[32];
        uint64 tree_size;
        uint64 timestamp;
        opaque root_hash[32];
        opaque signature<V>;      /* Ed25519 (RFC 8032) over TreeHeadTBS */
    } SignedTreeHead;
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from letterlock.codec import DecodeError, Reader, Struct, Writer
from letterlock.crypto import (
    CryptoError,
    InvalidKeyError,
    SignatureSchemeId,
    VerifyError,
    signature_scheme,
)

from .errors import BadSignatureError, UsageError
from .merkle import HASH_SIZE, sha256

_LABEL = b"letterlock kt v1 tree head"
_ED25519 = signature_scheme(SignatureSchemeId.ED25519)
LOG_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def log_id(public_key: bytes) -> bytes:
    """The log's id: SHA-256 of its raw Ed25519 public key."""
    return sha256(public_key)


def check_log_key(public_key: bytes) -> None:
    """Raise UsageError unless ``public_key`` is a valid raw Ed25519 public key."""
    if len(public_key) != LOG_KEY_SIZE:
        raise UsageError(f"a log public key is {LOG_KEY_SIZE} raw Ed25519 bytes")
    try:
        _ED25519.verify(public_key, b"", bytes(SIGNATURE_SIZE))
    except InvalidKeyError:
        raise UsageError("the log public key is not a valid Ed25519 key") from None
    except VerifyError:
        # Expected: a well-formed key fails only on the (all-zero) signature.
        pass


@dataclass(frozen=True, slots=True)
class SignedTreeHead(Struct):
    """A tree head and the log's signature over it. Decoding checks only the form;
    :meth:`verify` checks that the pinned log signed it."""

    log_id: bytes
    tree_size: int
    timestamp: int
    root_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if len(self.log_id) != HASH_SIZE or len(self.root_hash) != HASH_SIZE:
            raise UsageError(f"log id and root hash are {HASH_SIZE} bytes")
        if not 0 <= self.tree_size < 1 << 64 or not 0 <= self.timestamp < 1 << 64:
            raise UsageError("tree size and timestamp are uint64")

    @classmethod
    def sign(cls, private_key: bytes, tree_size: int, root_hash: bytes,
             now: int) -> SignedTreeHead:
        """The log signs its root ``root_hash`` at ``tree_size`` leaves at time ``now``.

        Raises:
            UsageError: a malformed private key or field.
        """
        try:
            public_key = _ED25519.public_key(private_key)
        except CryptoError:
            raise UsageError("the log private key is not a valid Ed25519 key") from None
        unsigned = cls(log_id(public_key), tree_size, now, root_hash, b"")
        return cls(unsigned.log_id, tree_size, now, root_hash,
                   _ED25519.sign(private_key, unsigned.tbs()))

    def tbs(self) -> bytes:
        """The encoded TreeHeadTBS: the bytes the signature covers."""
        w = Writer()
        w.push_opaque(_LABEL)
        self._push_fields(w)
        return w.data

    def verify(self, public_key: bytes) -> None:
        """Return if the log with ``public_key`` signed this tree head.

        Raises:
            BadSignatureError: another log's head, or the signature does not verify.
            UsageError: ``public_key`` is not an Ed25519 public key.
        """
        check_log_key(public_key)
        if self.log_id != log_id(public_key):
            raise BadSignatureError("the tree head names another log")
        try:
            _ED25519.verify(public_key, self.tbs(), self.signature)
        except CryptoError:
            raise BadSignatureError("the tree head's signature does not verify") from None

    def _push_fields(self, w: Writer) -> None:
        w.push_bytes(self.log_id, HASH_SIZE)
        w.push_uint64(self.tree_size)
        w.push_uint64(self.timestamp)
        w.push_bytes(self.root_hash, HASH_SIZE)

    def push(self, w: Writer) -> None:
        self._push_fields(w)
        w.push_opaque(self.signature)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        log = r.pull_bytes(HASH_SIZE)
        size, timestamp, root = r.pull_uint64(), r.pull_uint64(), r.pull_bytes(HASH_SIZE)
        at = r.position
        signature = r.pull_opaque()
        if len(signature) != SIGNATURE_SIZE:
            raise DecodeError(f"an Ed25519 signature is {SIGNATURE_SIZE} bytes", at)
        return cls(log, size, timestamp, root, signature)


__all__ = ["LOG_KEY_SIZE", "SignedTreeHead", "check_log_key", "log_id"]
