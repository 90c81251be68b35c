"""DHKEM (RFC 9180 §4.1) over pyca's X25519, X448 and ECDH on P-256/P-384/P-521.

:func:`dhkem` is the dispatch for every HPKE KEM this build has, which includes one that
is not DH-based: X-Wing (:mod:`._xwing`), behind the same :class:`Kem` interface.

Keys cross this module's boundary serialized (RFC 9180 §7.1.1, §7.1.2): public keys raw
for X25519/X448 and uncompressed SEC1 for the NIST curves; private keys raw for
X25519/X448 and the big-endian scalar of Nsk bytes for the NIST curves. NIST-curve
private keys are always written at Nsk bytes but also read when shorter (leading zeros
dropped, as other MLS implementations write P-521 keys); 0 < sk < order is checked
either way. Every key is loaded through pyca, which validates it; a failure becomes
InvalidKeyError here, and the caller decides whether that failure is the peer's (a bad
``enc`` is a DecryptError) or its own.
"""

from __future__ import annotations

import hmac
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import IntEnum
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ._errors import CryptoError, DecryptError, InvalidKeyError, UnsupportedError
from ._hpke_kdf import LabeledKdf, i2osp
from ._xwing import XWING_KEM_ID, XWingKem


class KemId(IntEnum):
    """HPKE KEM identifiers (RFC 9180 §7.1)."""

    DHKEM_P256_SHA256 = 0x0010
    DHKEM_P384_SHA384 = 0x0011
    DHKEM_P521_SHA512 = 0x0012
    DHKEM_X25519_SHA256 = 0x0020
    DHKEM_X448_SHA512 = 0x0021
    # draft-ietf-hpke-pq: X-Wing (ML-KEM-768 + X25519), see ._xwing.
    XWING = XWING_KEM_ID


class Kem(Protocol):
    """What HPKE needs of a KEM (RFC 9180 §4): sizes, DeriveKeyPair, Encap, Decap.

    :class:`Dhkem` (the DH-based KEMs) and :class:`._xwing.XWingKem` implement it.
    """

    @property
    def kem_id(self) -> int: ...
    @property
    def n_secret(self) -> int: ...
    @property
    def n_enc(self) -> int: ...
    @property
    def n_pk(self) -> int: ...
    @property
    def n_sk(self) -> int: ...

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]: ...
    def public_key(self, private_key: bytes) -> bytes: ...
    def encap(self, public_key: bytes, ephemeral_private_key: bytes,
              sender_private_key: bytes | None = None) -> tuple[bytes, bytes]: ...
    def decap(self, enc: bytes, private_key: bytes,
              sender_public_key: bytes | None = None) -> bytes: ...


class Dhkem(ABC):
    """One DH-based KEM: key derivation and (de)serialization per curve, Encap/Decap shared."""

    __slots__ = ("_kdf", "kem_id", "n_enc", "n_pk", "n_secret", "n_sk")

    def __init__(
        self, kem_id: KemId, hash_algorithm: hashes.HashAlgorithm, n_pk: int, n_sk: int
    ) -> None:
        self.kem_id = kem_id
        # RFC 9180 §4.1: the KEM's own labeled KDF uses suite_id = "KEM" || I2OSP(kem_id, 2).
        self._kdf = LabeledKdf(hash_algorithm, b"KEM" + i2osp(kem_id, 2))
        # Table 2 of RFC 9180 §7.1: Nsecret is the KDF's Nh; Nenc equals Npk for DHKEM.
        self.n_secret = hash_algorithm.digest_size
        self.n_enc = n_pk
        self.n_pk = n_pk
        self.n_sk = n_sk

    @abstractmethod
    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        """DeriveKeyPair (RFC 9180 §7.1.3): serialized (private, public) from ``ikm``."""

    @abstractmethod
    def public_key(self, private_key: bytes) -> bytes:
        """The serialized public key of a serialized private key; InvalidKeyError if bad."""

    @abstractmethod
    def check_public_key(self, public_key: bytes) -> None:
        """Raise InvalidKeyError unless ``public_key`` deserializes to a valid key."""

    @abstractmethod
    def dh(self, private_key: bytes, public_key: bytes) -> bytes:
        """DH (RFC 9180 §4.1) of serialized keys; InvalidKeyError if either is invalid."""

    def _derive_prk(self, ikm: bytes) -> bytes:
        # RFC 9180 §7.1.3: both DeriveKeyPair variants start from the same PRK.
        return self._kdf.labeled_extract(b"", b"dkp_prk", ikm)

    def _extract_and_expand(self, dh: bytes, kem_context: bytes) -> bytes:
        # RFC 9180 §4.1 ExtractAndExpand.
        eae_prk = self._kdf.labeled_extract(b"", b"eae_prk", dh)
        return self._kdf.labeled_expand(eae_prk, b"shared_secret", kem_context, self.n_secret)

    def encap(
        self,
        public_key: bytes,
        ephemeral_private_key: bytes,
        sender_private_key: bytes | None = None,
    ) -> tuple[bytes, bytes]:
        """Encap, or AuthEncap when ``sender_private_key`` is given (RFC 9180 §4.1).

        The ephemeral key is an input so that encapsulation is deterministic: callers
        derive it from injected randomness. Returns ``(shared_secret, enc)``; raises
        InvalidKeyError if any key is invalid (including a low-order X25519/X448 key).
        """
        enc = self.public_key(ephemeral_private_key)
        dh = self.dh(ephemeral_private_key, public_key)
        kem_context = enc + public_key
        if sender_private_key is not None:
            # AuthEncap: the second DH binds the sender's static key (RFC 9180 §4.1).
            dh += self.dh(sender_private_key, public_key)
            kem_context += self.public_key(sender_private_key)
        return self._extract_and_expand(dh, kem_context), enc

    def decap(
        self, enc: bytes, private_key: bytes, sender_public_key: bytes | None = None
    ) -> bytes:
        """Decap, or AuthDecap when ``sender_public_key`` is given (RFC 9180 §4.1).

        Returns the shared secret. ``enc`` comes from the peer: if it is not a valid
        public key, or yields an all-zero DH output, this raises DecryptError, the same
        opaque error as a failed AEAD open. A bad ``private_key`` or ``sender_public_key``
        (inputs the caller vouches for) raises InvalidKeyError.
        """
        public_key = self.public_key(private_key)
        if sender_public_key is not None:
            self.check_public_key(sender_public_key)
        try:
            dh = self.dh(private_key, enc)
        except InvalidKeyError:
            raise DecryptError("decryption failed") from None
        kem_context = enc + public_key
        if sender_public_key is not None:
            dh += self.dh(private_key, sender_public_key)
            kem_context += sender_public_key
        return self._extract_and_expand(dh, kem_context)


def _require_length(data: bytes, length: int, what: str) -> None:
    if len(data) != length:
        raise InvalidKeyError(f"{what} must be {length} bytes, got {len(data)}")


# ---- X25519 and X448 (RFC 7748) -----------------------------------------------------

_XPublicOf = Callable[[bytes], bytes]
_XExchange = Callable[[bytes, bytes], bytes]


def _x25519_public(private_key: bytes) -> bytes:
    return x25519.X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def _x25519_exchange(private_key: bytes, public_key: bytes) -> bytes:
    peer = x25519.X25519PublicKey.from_public_bytes(public_key)
    return x25519.X25519PrivateKey.from_private_bytes(private_key).exchange(peer)


def _x448_public(private_key: bytes) -> bytes:
    return x448.X448PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def _x448_exchange(private_key: bytes, public_key: bytes) -> bytes:
    peer = x448.X448PublicKey.from_public_bytes(public_key)
    return x448.X448PrivateKey.from_private_bytes(private_key).exchange(peer)


class _XDhkem(Dhkem):
    """DHKEM over X25519 or X448: keys are raw strings, any string of the size loads."""

    __slots__ = ("_exchange", "_public_of")

    def __init__(
        self,
        kem_id: KemId,
        hash_algorithm: hashes.HashAlgorithm,
        size: int,
        public_of: _XPublicOf,
        exchange: _XExchange,
    ) -> None:
        super().__init__(kem_id, hash_algorithm, n_pk=size, n_sk=size)
        self._public_of = public_of
        self._exchange = exchange

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        # RFC 9180 §7.1.3: for X25519/X448 the private key is simply Nsk expanded bytes
        # (clamping happens inside the scalar multiplication, RFC 7748 §5).
        private_key = self._kdf.labeled_expand(self._derive_prk(ikm), b"sk", b"", self.n_sk)
        return private_key, self._public_of(private_key)

    def public_key(self, private_key: bytes) -> bytes:
        _require_length(private_key, self.n_sk, "private key")
        return self._public_of(private_key)

    def check_public_key(self, public_key: bytes) -> None:
        # Every u-coordinate of the right size is a valid X25519/X448 input (RFC 7748
        # §5); low-order points are caught by the all-zero check in dh().
        _require_length(public_key, self.n_pk, "public key")

    def dh(self, private_key: bytes, public_key: bytes) -> bytes:
        _require_length(private_key, self.n_sk, "private key")
        _require_length(public_key, self.n_pk, "public key")
        try:
            shared = self._exchange(private_key, public_key)
        except ValueError:
            # OpenSSL itself refuses an all-zero result (a low-order peer point).
            raise InvalidKeyError("public key is a low-order point") from None
        # RFC 9180 §7.1.4: senders and recipients MUST check for the all-zero value
        # and abort; checked here too so the rule does not depend on the backend.
        if hmac.compare_digest(shared, bytes(len(shared))):
            raise InvalidKeyError("public key is a low-order point")
        return shared


# ---- P-256, P-384, P-521 (SEC1) -----------------------------------------------------


class _NistDhkem(Dhkem):
    """DHKEM over a NIST prime curve: uncompressed points, fixed-size big-endian scalars."""

    __slots__ = ("_bitmask", "_curve")

    def __init__(
        self,
        kem_id: KemId,
        hash_algorithm: hashes.HashAlgorithm,
        curve: ec.EllipticCurve,
        bitmask: int,
    ) -> None:
        # Npk is 1 + 2 * field size (uncompressed SEC1); Nsk is the scalar's byte size.
        field_bytes = (curve.key_size + 7) // 8
        super().__init__(kem_id, hash_algorithm, n_pk=1 + 2 * field_bytes, n_sk=field_bytes)
        self._curve = curve
        self._bitmask = bitmask

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        # RFC 9180 §7.1.3: rejection sampling. Each candidate's first byte is masked so
        # it has the curve order's bit length (0xFF for P-256/P-384, 0x01 for P-521),
        # then kept only if 0 < sk < order. Failing 256 times is astronomically rare.
        dkp_prk = self._derive_prk(ikm)
        for counter in range(256):
            candidate = bytearray(
                self._kdf.labeled_expand(dkp_prk, b"candidate", i2osp(counter, 1), self.n_sk)
            )
            candidate[0] &= self._bitmask
            if 0 < int.from_bytes(candidate, "big") < self._curve.group_order:
                private_key = bytes(candidate)
                return private_key, self.public_key(private_key)
        raise CryptoError("DeriveKeyPair found no valid scalar in 256 candidates")

    def _private(self, private_key: bytes) -> ec.EllipticCurvePrivateKey:
        # RFC 9180 §7.1.2 serializes the scalar as exactly Nsk bytes, and so do we; but
        # other MLS implementations drop leading zero bytes (the official passive-client
        # vectors hold 65-byte P-521 keys), so a shorter big-endian scalar is read as if
        # left-padded. Longer ones are refused: they cannot be canonical.
        if not 1 <= len(private_key) <= self.n_sk:
            raise InvalidKeyError(
                f"private key must be 1 to {self.n_sk} bytes, got {len(private_key)}"
            )
        scalar = int.from_bytes(private_key, "big")
        if not 0 < scalar < self._curve.group_order:
            raise InvalidKeyError("private key scalar is out of range")
        return ec.derive_private_key(scalar, self._curve)

    def _public(self, public_key: bytes) -> ec.EllipticCurvePublicKey:
        # RFC 9180 §7.1.1: only the uncompressed encoding is a serialized public key, so
        # compressed points and the point at infinity are refused before pyca sees them.
        _require_length(public_key, self.n_pk, "public key")
        if public_key[0] != 0x04:
            raise InvalidKeyError("public key is not an uncompressed point")
        try:
            # pyca checks that the point is on the curve (RFC 9180 §7.1.4).
            return ec.EllipticCurvePublicKey.from_encoded_point(self._curve, public_key)
        except ValueError:
            raise InvalidKeyError("public key is not a point on the curve") from None

    def public_key(self, private_key: bytes) -> bytes:
        point = self._private(private_key).public_key()
        return point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def check_public_key(self, public_key: bytes) -> None:
        self._public(public_key)

    def dh(self, private_key: bytes, public_key: bytes) -> bytes:
        # The ECDH output is the x-coordinate in field-size bytes (RFC 9180 §4.1, §7.1.1).
        return self._private(private_key).exchange(ec.ECDH(), self._public(public_key))


# Immutable, stateless KEM objects: one per identifier (RFC 9180 §7.1, Table 2).
_KEMS: dict[KemId, Kem] = {
    KemId.DHKEM_P256_SHA256: _NistDhkem(
        KemId.DHKEM_P256_SHA256, hashes.SHA256(), ec.SECP256R1(), 0xFF
    ),
    KemId.DHKEM_P384_SHA384: _NistDhkem(
        KemId.DHKEM_P384_SHA384, hashes.SHA384(), ec.SECP384R1(), 0xFF
    ),
    KemId.DHKEM_P521_SHA512: _NistDhkem(
        KemId.DHKEM_P521_SHA512, hashes.SHA512(), ec.SECP521R1(), 0x01
    ),
    KemId.DHKEM_X25519_SHA256: _XDhkem(
        KemId.DHKEM_X25519_SHA256, hashes.SHA256(), 32, _x25519_public, _x25519_exchange
    ),
    KemId.DHKEM_X448_SHA512: _XDhkem(
        KemId.DHKEM_X448_SHA512, hashes.SHA512(), 56, _x448_public, _x448_exchange
    ),
    KemId.XWING: XWingKem(),
}


def dhkem(kem: KemId) -> Kem:
    """The KEM for ``kem``; raises UnsupportedError for an unknown identifier."""
    try:
        return _KEMS[KemId(kem)]
    except (KeyError, ValueError):
        raise UnsupportedError(f"unknown HPKE KEM id {kem!r}") from None


__all__ = ["Dhkem", "Kem", "KemId", "dhkem"]
