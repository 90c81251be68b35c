"""The AEADs of the MLS cipher suites (RFC 9420 §17.1), on pyca/cryptography.

MLS treats an AEAD as one ciphertext output that includes the tag (RFC 9420 §5.1,
aligning with RFC 5116); pyca's ``encrypt`` already returns ciphertext || tag.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ._errors import DecryptError, InvalidKeyError, UnsupportedError
from ._hpke_context import AeadId, aead_sizes

# MLS names its AEAD by HPKE's identifier (RFC 9420 §17.1 reuses RFC 9180 §7.3), so the
# sizes come from the same table HPKE uses. All three AEADs have 16-byte tags.

TAG_SIZE = 16


class Aead:
    """Seal and open with one AEAD algorithm; key and nonce sizes are enforced exactly."""

    __slots__ = ("algorithm", "n_k", "n_n")

    def __init__(self, algorithm: AeadId) -> None:
        # Export-only is an HPKE mode, not an AEAD a message can be sealed with.
        if algorithm == AeadId.EXPORT_ONLY:
            raise UnsupportedError("export-only is not an AEAD")
        self.n_k, self.n_n = aead_sizes(algorithm)
        self.algorithm = AeadId(algorithm)

    def _cipher(self, key: bytes, nonce: bytes) -> AESGCM | ChaCha20Poly1305:
        # AES-GCM in pyca accepts any AES key size and nonces of 8..128 bytes; the suite
        # fixes both, so a wrong size is a bug upstream and must not silently "work".
        if len(key) != self.n_k:
            raise InvalidKeyError(f"AEAD key must be {self.n_k} bytes, got {len(key)}")
        if len(nonce) != self.n_n:
            raise InvalidKeyError(f"AEAD nonce must be {self.n_n} bytes, got {len(nonce)}")
        if self.algorithm is AeadId.CHACHA20_POLY1305:
            return ChaCha20Poly1305(key)
        return AESGCM(key)

    def seal(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """Encrypt and authenticate; returns ciphertext || tag.

        Raises InvalidKeyError when key or nonce has the wrong size for this AEAD.
        """
        return self._cipher(key, nonce).encrypt(nonce, plaintext, aad)

    def open(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        """Authenticate and decrypt ciphertext || tag.

        Raises DecryptError (opaque) when the tag does not verify or the ciphertext is
        shorter than a tag, and InvalidKeyError for a key or nonce of the wrong size.
        """
        cipher = self._cipher(key, nonce)
        if len(ciphertext) < TAG_SIZE:
            raise DecryptError("decryption failed")
        try:
            return cipher.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise DecryptError("decryption failed") from None


__all__ = ["TAG_SIZE", "Aead"]
