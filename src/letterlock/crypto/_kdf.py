"""Hash, HMAC and HKDF (RFC 5869) for one hash function, on pyca/cryptography.

An MLS cipher suite names one hash; its KDF is HKDF with that hash and its MAC is HMAC
with that hash (RFC 9420 §5.1). This module binds the three to one algorithm so that a
suite cannot mix them up.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from ._errors import VerifyError


class Kdf:
    """Hash, HMAC, HKDF-Extract and HKDF-Expand over one hash algorithm."""

    __slots__ = ("_algorithm", "n_h")

    def __init__(self, algorithm: hashes.HashAlgorithm) -> None:
        self._algorithm = algorithm
        # KDF.Nh (RFC 9420 §8): the size of an Extract output, i.e. the digest size.
        self.n_h: int = algorithm.digest_size

    @property
    def name(self) -> str:
        return self._algorithm.name

    def hash(self, data: bytes) -> bytes:
        digest = hashes.Hash(self._algorithm)
        digest.update(data)
        return digest.finalize()

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract(salt, IKM) (RFC 5869 §2.2).

        An empty salt means a string of Nh zero bytes there; HMAC pads its key with zeros,
        so both give the same PRK, and MLS relies on that equivalence nowhere else.
        """
        return HKDF.extract(self._algorithm, salt, ikm)

    def extract_parts(self, salt: bytes, parts: Sequence[bytes]) -> bytes:
        """:meth:`extract` of the concatenation of ``parts``, without making it: HMAC fed
        piece by piece (a Welcome's info is a 3 MB encrypted GroupInfo)."""
        mac = hmac.HMAC(salt or bytes(self.n_h), self._algorithm)
        for part in parts:
            mac.update(part)
        return mac.finalize()

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand(PRK, info, L) (RFC 5869 §2.3).

        Raises ValueError when ``length`` exceeds 255 * Nh, the most HKDF can produce.
        """
        if not 0 <= length <= 255 * self.n_h:
            raise ValueError(f"HKDF-Expand cannot produce {length} bytes with {self.name}")
        if length == 0:
            return b""
        return HKDFExpand(self._algorithm, length, info).derive(prk)

    def mac(self, key: bytes, data: bytes) -> bytes:
        """HMAC(key, data)."""
        h = hmac.HMAC(key, self._algorithm)
        h.update(data)
        return h.finalize()

    def verify_mac(self, key: bytes, data: bytes, tag: bytes) -> None:
        """Check ``tag`` in constant time (pyca's ``HMAC.verify``); raises VerifyError."""
        h = hmac.HMAC(key, self._algorithm)
        h.update(data)
        try:
            h.verify(tag)
        except InvalidSignature:
            raise VerifyError("MAC does not verify") from None


__all__ = ["Kdf"]
