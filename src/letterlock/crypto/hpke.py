"""HPKE (RFC 9180): all four modes, the exporter and DeriveKeyPair, over pyca primitives.

pyca's own ``hpke`` module is single-shot base mode only, with no exporter, no
DeriveKeyPair, no X448 and no injected randomness, all of which MLS needs (RFC 9420
§5.1.3, §8, §12.4.3.2). So HPKE is composed here from pyca's X25519/X448/ECDH, HMAC,
HKDF-Expand and AEADs; nothing below those is written by hand.

Layout: ``_hpke_kdf`` (labeled Extract/Expand, §4), ``_dhkem`` (the KEMs, §4.1, §7.1),
``_hpke_context`` (key schedule and contexts, §5.1-§5.3), and this module, the suite
object everything else uses. Every operation that needs randomness takes a
``RandomSource``; ephemeral keys are ``DeriveKeyPair(rng.random_bytes(Nsk))`` (§7.1.3
allows this), so a seeded source makes encryption reproducible.

Keys are bytes in RFC 9180's serialization (§7.1.1, §7.1.2): public keys raw
(X25519/X448) or uncompressed SEC1 (P-256/P-384/P-521); private keys raw or a
big-endian scalar of Nsk bytes.

Errors (all under ``CryptoError``)::

    DecryptError            opening failed: bad ciphertext, aad, info, PSK or enc
                            (an invalid or low-order enc is reported the same way)
    InvalidKeyError         a key the caller passed in is malformed, off the curve or
                            low-order: the recipient public key, a private key, or the
                            sender's public key in auth mode
    UnsupportedError        an unknown KEM, KDF or AEAD identifier
    HpkeUsageError          misuse: PskInputError (RFC 9180 §5.1 VerifyPSKInputs),
                            ExportOnlyError (seal/open in an export-only suite), an
                            export length over 255*Nh
    MessageLimitReachedError  a context's sequence number is exhausted (§5.2)

``open`` always composes the RFC steps itself, even where pyca's ``Suite.decrypt``
could serve: one path for every KEM keeps the error mapping in one place. The tests
check both directions of agreement with pyca's implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._dhkem import KemId, dhkem
from ._hpke_context import (
    AeadId,
    ExportOnlyError,
    HpkeUsageError,
    KeySchedule,
    MessageLimitReachedError,
    Mode,
    PskInputError,
    ReceiverContext,
    SenderContext,
    aead_sizes,
    hash_info,
    key_schedule,
    verify_psk_inputs,
)
from ._hpke_kdf import KdfId, LabeledKdf, i2osp, kdf_hash
from .random import RandomSource


def _mode(psk: bytes, psk_id: bytes, authenticated: bool) -> Mode:
    # The mode follows from the inputs (RFC 9180 §5, Table 1). Either PSK input alone
    # selects a PSK mode, so that VerifyPSKInputs then reports the missing half.
    with_psk = psk != b"" or psk_id != b""
    if authenticated:
        return Mode.AUTH_PSK if with_psk else Mode.AUTH
    return Mode.PSK if with_psk else Mode.BASE


class Hpke:
    """One HPKE cipher suite: a KEM, a KDF and an AEAD (RFC 9180 §7).

    Stateless and immutable; share one per suite. Sizes follow RFC 9180's names:
    ``n_secret``, ``n_enc``, ``n_pk``, ``n_sk`` (KEM), ``n_h`` (KDF), ``n_k``, ``n_n``
    (AEAD; both 0 for export-only).
    """

    __slots__ = (
        "_kdf",
        "_kem",
        "aead",
        "kdf",
        "kem",
        "n_enc",
        "n_h",
        "n_k",
        "n_n",
        "n_pk",
        "n_secret",
        "n_sk",
    )

    def __init__(self, kem: KemId, kdf: KdfId, aead: AeadId) -> None:
        """Raise UnsupportedError if any identifier is unknown."""
        self._kem = dhkem(kem)
        hash_algorithm = kdf_hash(kdf)
        self.n_k, self.n_n = aead_sizes(aead)
        self.kem = KemId(kem)
        self.kdf = KdfId(kdf)
        self.aead = AeadId(aead)
        # RFC 9180 §5.1: the key schedule's suite_id names all three algorithms.
        suite_id = b"HPKE" + i2osp(self.kem, 2) + i2osp(self.kdf, 2) + i2osp(self.aead, 2)
        self._kdf = LabeledKdf(hash_algorithm, suite_id)
        self.n_h = self._kdf.n_h
        self.n_secret = self._kem.n_secret
        self.n_enc = self._kem.n_enc
        self.n_pk = self._kem.n_pk
        self.n_sk = self._kem.n_sk

    def __repr__(self) -> str:
        return f"Hpke({self.kem.name}, {self.kdf.name}, {self.aead.name})"

    # ---- keys ------------------------------------------------------------------------

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        """DeriveKeyPair (RFC 9180 §7.1.3).

        :param ikm: input keying material; it should hold at least Nsk bytes of entropy.
        :returns: ``(private_key, public_key)``, both serialized.
        """
        return self._kem.derive_key_pair(ikm)

    def generate_key_pair(self, rng: RandomSource) -> tuple[bytes, bytes]:
        """A fresh key pair: DeriveKeyPair of Nsk random bytes from ``rng``."""
        return self._kem.derive_key_pair(rng.random_bytes(self.n_sk))

    def public_key(self, private_key: bytes) -> bytes:
        """The serialized public key of ``private_key``; raises InvalidKeyError."""
        return self._kem.public_key(private_key)

    # ---- single-shot base mode (RFC 9180 §6.1) ---------------------------------------

    def seal(
        self, public_key: bytes, info: bytes, aad: bytes, plaintext: bytes, rng: RandomSource
    ) -> tuple[bytes, bytes]:
        """SealBase: encrypt one message to ``public_key``.

        :returns: ``(enc, ciphertext)``.
        :raises InvalidKeyError: ``public_key`` is not a valid key of this KEM.
        :raises ExportOnlyError: the suite is export-only.
        """
        self._require_aead()
        enc, context = self.setup_sender(public_key, info, rng)
        return enc, context.seal(aad, plaintext)

    def open(
        self, enc: bytes, private_key: bytes, info: bytes, aad: bytes, ciphertext: bytes
    ) -> bytes:
        """OpenBase: decrypt one message sealed to ``private_key``'s public key.

        :raises DecryptError: anything about ``enc``, ``info``, ``aad`` or
            ``ciphertext`` is wrong (one opaque error, whatever the cause).
        :raises InvalidKeyError: ``private_key`` itself is malformed.
        :raises ExportOnlyError: the suite is export-only.
        """
        self._require_aead()
        return self.setup_receiver(enc, private_key, info).open(aad, ciphertext)

    def seal_each(
        self, recipients: Sequence[tuple[bytes, bytes]], info: bytes | Sequence[bytes],
        aad: bytes, rng: RandomSource,
    ) -> list[tuple[bytes, bytes]]:
        """SealBase of each ``(public_key, plaintext)`` under one ``info``.

        The same output, in the same order and from the same draws of ``rng``, as
        :meth:`seal` called for each recipient in turn; but ``info`` is hashed once,
        since its hash is the same in every recipient's key schedule (RFC 9180 §5.1
        ``info_hash``). That matters when the info is large: an MLS Welcome binds every
        new member's secrets to the whole encrypted GroupInfo (RFC 9420 §12.4.3.1).

        :returns: ``(enc, ciphertext)`` per recipient.
        :raises InvalidKeyError: a public key is not a valid key of this KEM.
        :raises ExportOnlyError: the suite is export-only.
        """
        self._require_aead()
        info_hash = hash_info(self._kdf, info)
        sealed = []
        for public_key, plaintext in recipients:
            ephemeral_private_key, _ = self.generate_key_pair(rng)
            # With info_hash given, the key schedule never reads info itself.
            enc, context = self._setup_sender_with_ephemeral(
                public_key, b"", ephemeral_private_key, info_hash=info_hash)
            sealed.append((enc, context.seal(aad, plaintext)))
        return sealed

    # ---- contexts (RFC 9180 §5.1.1-§5.1.4) -------------------------------------------

    def setup_sender(
        self,
        public_key: bytes,
        info: bytes,
        rng: RandomSource,
        *,
        psk: bytes = b"",
        psk_id: bytes = b"",
        sender_private_key: bytes | None = None,
    ) -> tuple[bytes, SenderContext]:
        """SetupBaseS / SetupPSKS / SetupAuthS / SetupAuthPSKS, chosen by the inputs.

        A PSK (``psk`` with ``psk_id``) selects a PSK mode; ``sender_private_key``
        selects an authenticated mode.

        :returns: ``(enc, context)``.
        :raises InvalidKeyError: ``public_key`` or ``sender_private_key`` is invalid.
        :raises PskInputError: the PSK inputs break RFC 9180 §5.1 VerifyPSKInputs.
        """
        ephemeral_private_key, _ = self.generate_key_pair(rng)
        return self._setup_sender_with_ephemeral(
            public_key,
            info,
            ephemeral_private_key,
            psk=psk,
            psk_id=psk_id,
            sender_private_key=sender_private_key,
        )

    def setup_receiver(
        self,
        enc: bytes,
        private_key: bytes,
        info: bytes,
        *,
        psk: bytes = b"",
        psk_id: bytes = b"",
        sender_public_key: bytes | None = None,
    ) -> ReceiverContext:
        """SetupBaseR / SetupPSKR / SetupAuthR / SetupAuthPSKR, chosen by the inputs.

        :raises DecryptError: ``enc`` is not a valid public key or is low-order.
        :raises InvalidKeyError: ``private_key`` or ``sender_public_key`` is invalid.
        :raises PskInputError: the PSK inputs break RFC 9180 §5.1 VerifyPSKInputs.
        """
        mode = _mode(psk, psk_id, sender_public_key is not None)
        # PSK inputs are checked before the KEM runs, so that misuse is reported as
        # such and never hidden behind a DecryptError about enc.
        verify_psk_inputs(mode, psk, psk_id)
        shared_secret = self._kem.decap(enc, private_key, sender_public_key)
        schedule = key_schedule(self._kdf, self.aead, mode, shared_secret, info, psk, psk_id)
        return ReceiverContext(self._kdf, self.aead, schedule)

    def _setup_sender_with_ephemeral(
        self,
        public_key: bytes,
        info: bytes,
        ephemeral_private_key: bytes,
        *,
        psk: bytes = b"",
        psk_id: bytes = b"",
        sender_private_key: bytes | None = None,
        info_hash: bytes | None = None,
    ) -> tuple[bytes, SenderContext]:
        """The deterministic core of :meth:`setup_sender`: the ephemeral key is given.

        For test vectors (RFC 9180 Appendix A derives skEm from ikmE) and for tests that
        need reproducible output. Never reuse an ephemeral key in production.
        ``info_hash``: see :meth:`seal_each`.
        """
        mode = _mode(psk, psk_id, sender_private_key is not None)
        verify_psk_inputs(mode, psk, psk_id)
        shared_secret, enc = self._kem.encap(public_key, ephemeral_private_key, sender_private_key)
        schedule = key_schedule(self._kdf, self.aead, mode, shared_secret, info, psk, psk_id,
                                info_hash)
        return enc, SenderContext(self._kdf, self.aead, schedule)

    def _require_aead(self) -> None:
        # RFC 9180 §5.3: an export-only suite has no Seal/Open; refuse before any KEM work.
        if self.aead == AeadId.EXPORT_ONLY:
            raise ExportOnlyError("this HPKE suite is export-only: it cannot seal or open")


__all__ = [
    "AeadId",
    "ExportOnlyError",
    "Hpke",
    "HpkeUsageError",
    "KdfId",
    "KemId",
    "KeySchedule",
    "MessageLimitReachedError",
    "Mode",
    "PskInputError",
    "ReceiverContext",
    "SenderContext",
]
