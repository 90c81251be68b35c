"""The seven MLS cipher suites (RFC 9420 §5.1, §17.1) and their labeled functions.

Plus, opt-in, the X-Wing suite of draft-ietf-mls-pq-ciphersuites (:data:`DRAFT_SUITES`).

A :class:`CipherSuite` bundles what one suite fixes: a hash (and with it HKDF and HMAC),
an AEAD, a signature scheme and an HPKE configuration. On top of those primitives it
offers the labeled functions of RFC 9420 §5 and §8 (ExpandWithLabel, DeriveSecret,
DeriveTreeSecret, RefHash, SignWithLabel, EncryptWithLabel, ...), which is all the
MLS layer ever calls: no MLS code touches pyca/cryptography directly.

Suites are immutable and stateless; :func:`cipher_suite` returns the shared instance.

Errors: ``UnsupportedError`` (unknown suite), ``DecryptError`` (AEAD / HPKE open),
``VerifyError`` (signature, MAC), ``InvalidKeyError`` (malformed key, or an AEAD key or
nonce of the wrong size). See :mod:`letterlock.crypto.signature` for signature keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from . import _labeled
from ._aead import Aead
from ._errors import UnsupportedError
from ._hpke_kdf import kdf_hash
from ._kdf import Kdf
from ._labeled import Label
from .hpke import AeadId, Hpke, KdfId, KemId
from .random import RandomSource
from .signature import (
    PrivateKey,
    SignatureScheme,
    SignatureSchemeId,
    SigningKey,
    signature_scheme,
)

# RFC 9420 §5.2: the two RefHash labels the protocol defines (prefix included).
KEY_PACKAGE_REF_LABEL = b"MLS 1.0 KeyPackage Reference"
PROPOSAL_REF_LABEL = b"MLS 1.0 Proposal Reference"


@dataclass(frozen=True, slots=True, eq=False)
class CipherSuite:
    """One MLS cipher suite. Build it with :func:`cipher_suite`, not directly."""

    suite_id: int
    name: str
    _kdf: Kdf
    _aead: Aead
    signature: SignatureScheme
    hpke: Hpke

    def __repr__(self) -> str:
        return f"CipherSuite({self.suite_id}, {self.name})"

    # ---- sizes ------------------------------------------------------------------------

    @property
    def n_h(self) -> int:
        """KDF.Nh: the hash / Extract output length in bytes."""
        return self._kdf.n_h

    @property
    def n_k(self) -> int:
        """AEAD.Nk: the AEAD key length in bytes."""
        return self._aead.n_k

    @property
    def n_n(self) -> int:
        """AEAD.Nn: the AEAD nonce length in bytes."""
        return self._aead.n_n

    # ---- hash, KDF, MAC ----------------------------------------------------------------

    def hash(self, data: bytes) -> bytes:
        return self._kdf.hash(data)

    def kdf_extract(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract (RFC 5869 §2.2)."""
        return self._kdf.extract(salt, ikm)

    def kdf_expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand (RFC 5869 §2.3); ValueError if ``length`` > 255 * Nh."""
        return self._kdf.expand(prk, info, length)

    def mac(self, key: bytes, data: bytes) -> bytes:
        """HMAC with the suite's hash: membership and confirmation tags (RFC 9420 §6.1)."""
        return self._kdf.mac(key, data)

    def verify_mac(self, key: bytes, data: bytes, tag: bytes) -> None:
        """Constant-time check of a MAC; raises VerifyError if it does not match."""
        self._kdf.verify_mac(key, data, tag)

    # ---- AEAD ----------------------------------------------------------------------------

    def aead_seal(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """AEAD encryption; returns ciphertext || tag."""
        return self._aead.seal(key, nonce, aad, plaintext)

    def aead_open(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        """AEAD decryption; raises DecryptError (opaque) on any authentication failure."""
        return self._aead.open(key, nonce, aad, ciphertext)

    # ---- signature keys ----------------------------------------------------------------

    def sign(self, private_key: PrivateKey, message: bytes) -> bytes:
        return self.signature.sign(private_key, message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Raises VerifyError (bad signature) or InvalidKeyError (malformed public key)."""
        self.signature.verify(public_key, message, signature)

    def generate_signature_key_pair(self, rng: RandomSource) -> tuple[bytes, bytes]:
        """``(private, public)`` signature keys drawn from ``rng``."""
        return self.signature.generate_key_pair(rng)

    def signature_public_key(self, private_key: PrivateKey) -> bytes:
        return self.signature.public_key(private_key)

    def signing_key(self, private_key: PrivateKey) -> SigningKey:
        """The signature private key parsed once, for an owner that signs repeatedly."""
        return self.signature.signing_key(private_key)

    # ---- labeled KDF functions (RFC 9420 §8, §9.1) --------------------------------------

    def expand_with_label(self, secret: bytes, label: Label, context: bytes, length: int) -> bytes:
        """ExpandWithLabel(Secret, Label, Context, Length) = KDF.Expand(Secret, KDFLabel, Length).

        ``label`` is given without the "MLS 1.0 " prefix, which is added here.
        """
        return self._kdf.expand(secret, _labeled.kdf_label(label, context, length), length)

    def derive_secret(self, secret: bytes, label: Label) -> bytes:
        """DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", KDF.Nh)."""
        return self.expand_with_label(secret, label, b"", self.n_h)

    def derive_tree_secret(
        self, secret: bytes, label: Label, generation: int, length: int
    ) -> bytes:
        """DeriveTreeSecret (§9.1): the context is ``generation`` as a big-endian uint32."""
        if not 0 <= generation <= 0xFFFFFFFF:
            raise ValueError(f"generation {generation} does not fit a uint32")
        return self.expand_with_label(secret, label, generation.to_bytes(4, "big"), length)

    # ---- hash-based identifiers (RFC 9420 §5.2) -----------------------------------------

    def ref_hash(self, label: bytes, value: bytes) -> bytes:
        """RefHash(label, value) = Hash(RefHashInput); ``label`` is used verbatim."""
        return self._kdf.hash(_labeled.ref_hash_input(label, value))

    def make_key_package_ref(self, key_package: bytes) -> bytes:
        """MakeKeyPackageRef over an encoded KeyPackage."""
        return self.ref_hash(KEY_PACKAGE_REF_LABEL, key_package)

    def make_proposal_ref(self, authenticated_content: bytes) -> bytes:
        """MakeProposalRef over an encoded AuthenticatedContent carrying a proposal."""
        return self.ref_hash(PROPOSAL_REF_LABEL, authenticated_content)

    # ---- labeled signatures (RFC 9420 §5.1.2) -------------------------------------------

    def sign_with_label(self, private_key: PrivateKey, label: Label, content: bytes) -> bytes:
        """SignWithLabel: sign the encoded SignContent."""
        return self.signature.sign(private_key, _labeled.sign_content(label, content))

    def verify_with_label(
        self, public_key: bytes, label: Label, content: bytes, signature: bytes
    ) -> None:
        """VerifyWithLabel; raises VerifyError, or InvalidKeyError for a malformed key."""
        self.signature.verify(public_key, _labeled.sign_content(label, content), signature)

    # ---- labeled public-key encryption (RFC 9420 §5.1.3) --------------------------------

    def encrypt_with_label(
        self, public_key: bytes, label: Label, context: bytes, plaintext: bytes,
        rng: RandomSource,
    ) -> tuple[bytes, bytes]:
        """EncryptWithLabel = SealBase(PublicKey, EncryptContext, "", Plaintext).

        :returns: ``(kem_output, ciphertext)``.
        :raises InvalidKeyError: ``public_key`` is not a valid HPKE public key.
        """
        info = _labeled.encrypt_context(label, context)
        return self.hpke.seal(public_key, info, b"", plaintext, rng)

    def encrypt_with_label_each(
        self, recipients: Sequence[tuple[bytes, bytes]], label: Label, context: bytes,
        rng: RandomSource,
    ) -> list[tuple[bytes, bytes]]:
        """EncryptWithLabel of each ``(public_key, plaintext)`` under one label and
        context: what calling :meth:`encrypt_with_label` for each gives (same ``rng``
        draws, same order), with the EncryptContext built and hashed once
        (:meth:`Hpke.seal_each`). For a Welcome, whose context is the encrypted
        GroupInfo: one copy and one hash of it, not one per new member.

        :returns: ``(kem_output, ciphertext)`` per recipient.
        :raises InvalidKeyError: a public key is not a valid HPKE public key.
        """
        # The EncryptContext in two parts, its 3 MB context never copied into one.
        info = _labeled.encrypt_context_parts(label, context)
        return self.hpke.seal_each(recipients, info, b"", rng)

    def decrypt_with_label(
        self, private_key: bytes, label: Label, context: bytes, kem_output: bytes,
        ciphertext: bytes,
    ) -> bytes:
        """DecryptWithLabel = OpenBase(KEMOutput, PrivateKey, EncryptContext, "", Ciphertext).

        :raises DecryptError: wrong key, label, context, kem_output or ciphertext.
        """
        info = _labeled.encrypt_context(label, context)
        return self.hpke.open(kem_output, private_key, info, b"", ciphertext)

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        """HPKE DeriveKeyPair (RFC 9180 §7.1.3): ``(private, public)``."""
        return self.hpke.derive_key_pair(ikm)


def _suite(
    suite_id: int, name: str, kem: KemId, kdf: KdfId, aead: AeadId, scheme: SignatureSchemeId
) -> CipherSuite:
    # One hash per suite: HKDF, HMAC and Hash all use the hash of the suite's HPKE KDF.
    return CipherSuite(
        suite_id=suite_id,
        name=name,
        _kdf=Kdf(kdf_hash(kdf)),
        _aead=Aead(aead),
        signature=signature_scheme(scheme),
        hpke=Hpke(kem, kdf, aead),
    )


# RFC 9420 §17.1, Table 6: (id, name, KEM, KDF, AEAD, signature). Each suite's HPKE uses
# the suite's own KDF and AEAD.
_TABLE: tuple[tuple[int, str, KemId, KdfId, AeadId, SignatureSchemeId], ...] = (
    (1, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519", KemId.DHKEM_X25519_SHA256,
     KdfId.HKDF_SHA256, AeadId.AES_128_GCM, SignatureSchemeId.ED25519),
    (2, "MLS_128_DHKEMP256_AES128GCM_SHA256_P256", KemId.DHKEM_P256_SHA256,
     KdfId.HKDF_SHA256, AeadId.AES_128_GCM, SignatureSchemeId.ECDSA_SECP256R1_SHA256),
    (3, "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519", KemId.DHKEM_X25519_SHA256,
     KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305, SignatureSchemeId.ED25519),
    (4, "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448", KemId.DHKEM_X448_SHA512,
     KdfId.HKDF_SHA512, AeadId.AES_256_GCM, SignatureSchemeId.ED448),
    (5, "MLS_256_DHKEMP521_AES256GCM_SHA512_P521", KemId.DHKEM_P521_SHA512,
     KdfId.HKDF_SHA512, AeadId.AES_256_GCM, SignatureSchemeId.ECDSA_SECP521R1_SHA512),
    (6, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448", KemId.DHKEM_X448_SHA512,
     KdfId.HKDF_SHA512, AeadId.CHACHA20_POLY1305, SignatureSchemeId.ED448),
    (7, "MLS_256_DHKEMP384_AES256GCM_SHA384_P384", KemId.DHKEM_P384_SHA384,
     KdfId.HKDF_SHA384, AeadId.AES_256_GCM, SignatureSchemeId.ECDSA_SECP384R1_SHA384),
)

# Post-quantum suites of draft-ietf-mls-pq-ciphersuites ("ML-KEM and Hybrid Cipher Suites
# for MLS", read at -06, July 2026), not yet in the IANA registry: opt-in, never offered
# by default, so they stay out of SUPPORTED_SUITES. Their HPKE KEM is X-Wing (ML-KEM-768
# + X25519, KEM id 0x647A, draft-ietf-hpke-pq), see letterlock.crypto._xwing; X-Wing
# encryptions are not reproducible from an injected RandomSource.
#
# - The draft's two X-Wing suites have no code point yet (its IANA table says TBD), so
#   they carry values from RFC 9420's private-use range 0xF000-0xFFFF (§17.1):
#   MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 = 0xF001 and
#   MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519 = 0xF002.
# - 0x0053, MLS_256_XWING_AES256GCM_SHA512_Ed25519, is not in the draft: it is the suite
#   ts-mls 1.6.4 implements under that (unassigned) number, kept for interoperability
#   with ts-mls. OpenMLS uses 0x004D for yet another X-Wing suite.
_DRAFT_TABLE: tuple[tuple[int, str, KemId, KdfId, AeadId, SignatureSchemeId], ...] = (
    (0x0053, "MLS_256_XWING_AES256GCM_SHA512_Ed25519", KemId.XWING,
     KdfId.HKDF_SHA512, AeadId.AES_256_GCM, SignatureSchemeId.ED25519),
    (0xF001, "MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519", KemId.XWING,
     KdfId.HKDF_SHA256, AeadId.AES_128_GCM, SignatureSchemeId.ED25519),
    (0xF002, "MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519", KemId.XWING,
     KdfId.HKDF_SHA384, AeadId.AES_256_GCM, SignatureSchemeId.ED25519),
)

# Immutable and built once at import: a constant table, not mutable global state.
_SUITES = MappingProxyType({row[0]: _suite(*row) for row in _TABLE + _DRAFT_TABLE})

SUPPORTED_SUITES: tuple[int, ...] = tuple(row[0] for row in _TABLE)
DRAFT_SUITES: tuple[int, ...] = tuple(row[0] for row in _DRAFT_TABLE)


def cipher_suite(suite_id: int) -> CipherSuite:
    """The cipher suite with this RFC 9420 §17.1 identifier (or a :data:`DRAFT_SUITES` one).

    :raises UnsupportedError: any identifier other than 1..7 and the draft suites
        (including GREASE values).
    """
    # bool is an int subclass; True must not quietly mean suite 1.
    if isinstance(suite_id, bool) or suite_id not in _SUITES:
        raise UnsupportedError(f"unsupported MLS cipher suite {suite_id!r}")
    return _SUITES[suite_id]


__all__ = [
    "DRAFT_SUITES",
    "KEY_PACKAGE_REF_LABEL",
    "PROPOSAL_REF_LABEL",
    "SUPPORTED_SUITES",
    "CipherSuite",
    "cipher_suite",
]
