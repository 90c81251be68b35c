"""The signature schemes of the MLS cipher suites (RFC 9420 §5.1.1, §5.1.2, §17.1).

Keys are bytes in the form MLS carries them:

- Ed25519 / Ed448: the raw keys of RFC 8032 (private 32 / 57 bytes, public the same).
- ECDSA on P-256 / P-384 / P-521: the public key is an uncompressed SEC1 point
  (``UncompressedPointRepresentation`` of RFC 8446, ``0x04 || X || Y``); the private key
  is the big-endian scalar in the curve's field size (32 / 48 / 66 bytes). Shorter
  scalars (leading zeros dropped, as some implementations write them) are accepted.

Signatures are encoded as TLS 1.3 does (RFC 9420 §5.1.2): EdDSA's R || S, and ECDSA's
DER ``Ecdsa-Sig-Value`` (the official vectors confirm DER for suites 2, 5 and 7).

Errors: :meth:`SignatureScheme.verify` raises :class:`VerifyError` when the signature
does not verify (including a malformed signature) and :class:`InvalidKeyError` when the
*public key* is malformed. Both are :class:`CryptoError`; the distinction lets a caller
report "bad key in this LeafNode" apart from "forged signature". Private keys that are
malformed also raise :class:`InvalidKeyError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from ._errors import InvalidKeyError, UnsupportedError, VerifyError
from .random import RandomSource


class SignatureSchemeId(IntEnum):
    """TLS SignatureScheme code points (RFC 8446 §4.2.3) used by MLS suites."""

    ECDSA_SECP256R1_SHA256 = 0x0403
    ECDSA_SECP384R1_SHA384 = 0x0503
    ECDSA_SECP521R1_SHA512 = 0x0603
    ED25519 = 0x0807
    ED448 = 0x0808


class SigningKey:
    """A signature private key, parsed once for repeated signing.

    Parsing a raw private key costs about a third of an Ed25519 signature (the public
    point is recomputed), so an owner that signs often (a Group) holds one of these
    instead of re-parsing its key bytes each time. It lives exactly as long as its owner
    keeps it: this library keeps no key in any process-wide cache.
    """

    __slots__ = ("_key", "_raw", "scheme_id")

    def __init__(self, scheme_id: SignatureSchemeId, raw: bytes, key: object) -> None:
        self.scheme_id = scheme_id
        self._raw = raw
        self._key = key

    @property
    def raw(self) -> bytes:
        """The private key bytes, for the owner's encrypted storage. Never log them."""
        return self._raw

    def __repr__(self) -> str:
        return f"SigningKey({self.scheme_id.name}, <redacted>)"


PrivateKey = bytes | SigningKey


class SignatureScheme(ABC):
    """One signature algorithm over byte-string keys."""

    __slots__ = ("scheme_id",)

    def __init__(self, scheme_id: SignatureSchemeId) -> None:
        self.scheme_id = scheme_id

    @abstractmethod
    def sign(self, private_key: PrivateKey, message: bytes) -> bytes:
        """Sign ``message``; raises InvalidKeyError for a malformed private key."""

    def signing_key(self, private_key: PrivateKey) -> SigningKey:
        """``private_key`` parsed once, for an owner that signs repeatedly.

        Raises InvalidKeyError if malformed or made for another scheme.
        """
        if isinstance(private_key, SigningKey):
            self._check_scheme(private_key)
            return private_key
        return SigningKey(self.scheme_id, private_key, self._parse_private(private_key))

    def _check_scheme(self, key: SigningKey) -> None:
        if key.scheme_id != self.scheme_id:
            raise InvalidKeyError(f"a {key.scheme_id.name} key cannot sign with "
                                  f"{self.scheme_id.name}")

    @abstractmethod
    def _parse_private(self, private_key: bytes) -> object:
        """The pyca key object for raw private key bytes; raises InvalidKeyError."""

    @abstractmethod
    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Return if ``signature`` is valid, else raise VerifyError.

        Raises InvalidKeyError when ``public_key`` is not a valid key for this scheme.
        """

    @abstractmethod
    def generate_key_pair(self, rng: RandomSource) -> tuple[bytes, bytes]:
        """A fresh ``(private_key, public_key)`` drawn from ``rng`` alone.

        Deterministic for a deterministic ``rng`` (tests use SeededRandom).
        """

    @abstractmethod
    def public_key(self, private_key: PrivateKey) -> bytes:
        """The public key of ``private_key``; raises InvalidKeyError if malformed."""


class _EdDSA(SignatureScheme):
    """Ed25519 or Ed448 (RFC 8032), pure mode with an empty context, as TLS uses them."""

    __slots__ = ("_private", "_public", "_size")

    def __init__(
        self,
        scheme_id: SignatureSchemeId,
        private: type[ed25519.Ed25519PrivateKey] | type[ed448.Ed448PrivateKey],
        public: type[ed25519.Ed25519PublicKey] | type[ed448.Ed448PublicKey],
        size: int,
    ) -> None:
        super().__init__(scheme_id)
        self._private = private
        self._public = public
        self._size = size

    def _parse_private(
        self, private_key: bytes
    ) -> ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey:
        if len(private_key) != self._size:
            raise InvalidKeyError(f"{self.scheme_id.name} private key must be {self._size} bytes")
        return self._private.from_private_bytes(private_key)

    def _load_private(
        self, private_key: PrivateKey
    ) -> ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey:
        if isinstance(private_key, SigningKey):
            self._check_scheme(private_key)
            key = private_key._key  # made by this scheme's _parse_private
            assert isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
            return key
        return self._parse_private(private_key)

    def sign(self, private_key: PrivateKey, message: bytes) -> bytes:
        return self._load_private(private_key).sign(message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        if len(public_key) != self._size:
            raise InvalidKeyError(f"{self.scheme_id.name} public key must be {self._size} bytes")
        try:
            key = self._public.from_public_bytes(public_key)
        except ValueError:
            raise InvalidKeyError(f"invalid {self.scheme_id.name} public key") from None
        try:
            key.verify(signature, message)
        except InvalidSignature:
            raise VerifyError("signature does not verify") from None

    def generate_key_pair(self, rng: RandomSource) -> tuple[bytes, bytes]:
        # RFC 8032 §5.1.5 / §5.2.5: any string of the right size is a private key.
        private_key = rng.random_bytes(self._size)
        return private_key, self.public_key(private_key)

    def public_key(self, private_key: PrivateKey) -> bytes:
        return self._load_private(private_key).public_key().public_bytes_raw()


class _ECDSA(SignatureScheme):
    """ECDSA over a NIST curve with the hash the TLS scheme names, DER signatures."""

    __slots__ = ("_curve", "_hash", "_order", "_size", "_top_mask")

    def __init__(
        self,
        scheme_id: SignatureSchemeId,
        curve: ec.EllipticCurve,
        hash_algorithm: hashes.HashAlgorithm,
        order: int,
    ) -> None:
        super().__init__(scheme_id)
        self._curve = curve
        self._hash = hash_algorithm
        self._order = order
        # Field-element size in bytes: the length of a scalar and of each coordinate.
        self._size = (curve.key_size + 7) // 8
        # Keep only as many top bits as the order has (P-521: 1 bit of the first byte),
        # so rejection sampling below almost never has to draw twice.
        spare_bits = 8 * self._size - order.bit_length()
        self._top_mask = 0xFF >> spare_bits

    def _parse_private(self, private_key: bytes) -> ec.EllipticCurvePrivateKey:
        # We write scalars at full size, but accept shorter ones: other implementations
        # drop leading zero bytes (the official vectors hold 65-byte P-521 keys).
        if not 1 <= len(private_key) <= self._size:
            raise InvalidKeyError(
                f"{self.scheme_id.name} private key must be at most {self._size} bytes"
            )
        scalar = int.from_bytes(private_key, "big")
        if not 1 <= scalar < self._order:
            raise InvalidKeyError(f"{self.scheme_id.name} private scalar out of range")
        return ec.derive_private_key(scalar, self._curve)

    def _load_private(self, private_key: PrivateKey) -> ec.EllipticCurvePrivateKey:
        if isinstance(private_key, SigningKey):
            self._check_scheme(private_key)
            key = private_key._key  # made by this scheme's _parse_private
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return key
        return self._parse_private(private_key)

    def sign(self, private_key: PrivateKey, message: bytes) -> bytes:
        return self._load_private(private_key).sign(message, ec.ECDSA(self._hash))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        # RFC 9420 §5.1.1: the key is an *uncompressed* point. pyca would also accept the
        # compressed form, so check the prefix and length before handing it over.
        if len(public_key) != 1 + 2 * self._size or public_key[0] != 0x04:
            raise InvalidKeyError(f"{self.scheme_id.name} public key is not an uncompressed point")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(self._curve, public_key)
        except ValueError:
            raise InvalidKeyError(f"{self.scheme_id.name} public key is not on the curve") from None
        try:
            key.verify(signature, message, ec.ECDSA(self._hash))
        except (InvalidSignature, ValueError):
            # OpenSSL rejects non-canonical DER as an invalid signature.
            raise VerifyError("signature does not verify") from None

    def generate_key_pair(self, rng: RandomSource) -> tuple[bytes, bytes]:
        # Rejection sampling (FIPS 186-5 A.2.2 style): a uniform scalar in [1, n-1] that
        # depends only on rng's bytes, so a seeded rng yields a reproducible key.
        while True:
            candidate = bytearray(rng.random_bytes(self._size))
            candidate[0] &= self._top_mask
            scalar = int.from_bytes(candidate, "big")
            if 1 <= scalar < self._order:
                private_key = bytes(candidate)
                return private_key, self.public_key(private_key)

    def public_key(self, private_key: PrivateKey) -> bytes:
        return self._load_private(private_key).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )


# Group orders n of the NIST curves (FIPS 186-5 / SEC 2), for range checks on scalars.
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
_P384_ORDER = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    16,
)
_P521_ORDER = int(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA"
    "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    16,
)


def signature_scheme(scheme_id: SignatureSchemeId | int) -> SignatureScheme:
    """The scheme for a TLS SignatureScheme code point; raises UnsupportedError otherwise."""
    try:
        sid = SignatureSchemeId(scheme_id)
    except ValueError:
        raise UnsupportedError(f"unsupported signature scheme {scheme_id:#06x}") from None
    if sid is SignatureSchemeId.ED25519:
        return _EdDSA(sid, ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, 32)
    if sid is SignatureSchemeId.ED448:
        return _EdDSA(sid, ed448.Ed448PrivateKey, ed448.Ed448PublicKey, 57)
    if sid is SignatureSchemeId.ECDSA_SECP256R1_SHA256:
        return _ECDSA(sid, ec.SECP256R1(), hashes.SHA256(), _P256_ORDER)
    if sid is SignatureSchemeId.ECDSA_SECP384R1_SHA384:
        return _ECDSA(sid, ec.SECP384R1(), hashes.SHA384(), _P384_ORDER)
    return _ECDSA(sid, ec.SECP521R1(), hashes.SHA512(), _P521_ORDER)


__all__ = ["PrivateKey", "SignatureScheme", "SignatureSchemeId", "SigningKey", "signature_scheme"]
