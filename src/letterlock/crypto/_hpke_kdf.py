"""HPKE's KDFs and its labeled Extract/Expand (RFC 9180 §4, §7.2).

HPKE needs HKDF's two halves separately; ``_kdf.Kdf`` (shared with the MLS key
schedule) provides them over pyca. The same labeled functions serve the KEM (suite_id
"KEM" || kem_id) and the key schedule (suite_id "HPKE" || kem_id || kdf_id || aead_id);
only the suite_id differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from cryptography.hazmat.primitives import hashes

from ._errors import UnsupportedError
from ._kdf import Kdf

# RFC 9180 §4: every labeled input starts with this version string.
_VERSION_LABEL = b"HPKE-v1"


class KdfId(IntEnum):
    """HPKE KDF identifiers (RFC 9180 §7.2)."""

    HKDF_SHA256 = 0x0001
    HKDF_SHA384 = 0x0002
    HKDF_SHA512 = 0x0003


_KDF_HASHES: dict[KdfId, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    KdfId.HKDF_SHA256: hashes.SHA256,
    KdfId.HKDF_SHA384: hashes.SHA384,
    KdfId.HKDF_SHA512: hashes.SHA512,
}


def kdf_hash(kdf: KdfId) -> hashes.HashAlgorithm:
    """A fresh hash object for ``kdf``; raises UnsupportedError for an unknown id."""
    try:
        return _KDF_HASHES[KdfId(kdf)]()
    except (KeyError, ValueError):
        raise UnsupportedError(f"unknown HPKE KDF id {kdf!r}") from None


def i2osp(value: int, length: int) -> bytes:
    """I2OSP (RFC 8017 §4.1): ``value`` big-endian in exactly ``length`` bytes."""
    return value.to_bytes(length, "big")


class LabeledKdf:
    """HKDF bound to one hash and one suite_id, with RFC 9180 §4's labeled functions."""

    __slots__ = ("_kdf", "_suite_id", "n_h")

    def __init__(self, hash_algorithm: hashes.HashAlgorithm, suite_id: bytes) -> None:
        self._kdf = Kdf(hash_algorithm)
        self._suite_id = bytes(suite_id)
        # Nh: the output size of Extract (RFC 9180 §7.2).
        self.n_h: int = self._kdf.n_h

    def labeled_extract(self, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        """LabeledExtract (RFC 9180 §4); an empty salt means Nh zero bytes (RFC 5869)."""
        return self._kdf.extract(salt, _VERSION_LABEL + self._suite_id + label + ikm)

    def labeled_extract_parts(self, salt: bytes, label: bytes, parts: Sequence[bytes]) -> bytes:
        """:meth:`labeled_extract` with ``ikm`` the concatenation of ``parts`` (not made)."""
        return self._kdf.extract_parts(salt, (_VERSION_LABEL + self._suite_id + label, *parts))

    def labeled_expand(self, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        """LabeledExpand (RFC 9180 §4); the output length is bound into the info.

        ``length`` is at most 255 * Nh (HKDF's limit); 0 gives b"" (export-only Nk, Nn).
        """
        labeled_info = i2osp(length, 2) + _VERSION_LABEL + self._suite_id + label + info
        return self._kdf.expand(prk, labeled_info, length)


__all__ = ["KdfId", "LabeledKdf", "i2osp", "kdf_hash"]
