"""Errors of the crypto layer."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of the crypto layer's errors."""


class DecryptError(CryptoError):
    """Decryption or authentication failed. Deliberately opaque: it never says why."""


class VerifyError(CryptoError):
    """A signature or MAC did not verify."""


class InvalidKeyError(CryptoError, ValueError):
    """Key bytes are not a valid key for the algorithm (wrong size, not on the curve...)."""


class UnsupportedError(CryptoError, ValueError):
    """An algorithm or cipher suite this build does not offer."""
