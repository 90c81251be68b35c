"""The MLS cipher suites over pyca/cryptography (RFC 9420 §5, §17.1; RFC 9180 HPKE).

Public surface:

- :func:`cipher_suite` / :class:`CipherSuite`: one object per MLS suite (ids 1-7) with
  the hash, HKDF, HMAC, AEAD, signature and HPKE primitives and the labeled functions
  of RFC 9420 §5 and §8 (ExpandWithLabel, SignWithLabel, EncryptWithLabel, ...).
- :mod:`letterlock.crypto.signature`: the signature schemes on their own.
- :mod:`letterlock.crypto.hpke`: HPKE (RFC 9180) on its own.
- :mod:`letterlock.crypto.random`: injected randomness (``SystemRandom``, ``SeededRandom``).

Errors::

    CryptoError
    ├── DecryptError       AEAD / HPKE opening failed (deliberately opaque)
    ├── VerifyError        a signature or MAC did not verify
    ├── InvalidKeyError    key bytes are malformed for the algorithm (also ValueError)
    └── UnsupportedError   an unknown cipher suite or algorithm (also ValueError)

This package imports only :mod:`letterlock.codec` of Letterlock's own code (to encode
the labeled structures).
"""

from ._errors import CryptoError, DecryptError, InvalidKeyError, UnsupportedError, VerifyError
from .random import RandomSource, SeededRandom, SystemRandom
from .signature import SignatureScheme, SignatureSchemeId, SigningKey, signature_scheme
from .suite import (
    KEY_PACKAGE_REF_LABEL,
    PROPOSAL_REF_LABEL,
    SUPPORTED_SUITES,
    CipherSuite,
    cipher_suite,
)

__all__ = [
    "KEY_PACKAGE_REF_LABEL",
    "PROPOSAL_REF_LABEL",
    "SUPPORTED_SUITES",
    "CipherSuite",
    "CryptoError",
    "DecryptError",
    "InvalidKeyError",
    "RandomSource",
    "SeededRandom",
    "SignatureScheme",
    "SignatureSchemeId",
    "SigningKey",
    "SystemRandom",
    "UnsupportedError",
    "VerifyError",
    "cipher_suite",
    "signature_scheme",
]
