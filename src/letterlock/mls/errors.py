"""The MLS layer's errors, grouped by who is at fault.

::

    MLSError
    ├── InvalidMessageError   received data broke an RFC 9420 rule (peer's fault);
    │                         ``rule`` names the section, e.g. "§6.3.2"
    ├── UsageError            the caller asked for something impossible (our fault)
    ├── (crypto) CryptoError  decryption/verification failed: one opaque error per kind,
    │                         re-exported from :mod:`letterlock.crypto`
    └── InternalError         a bug: an invariant of this library does not hold

Wire-format problems surface as :class:`letterlock.codec.DecodeError`, which is also
invalid peer input. Modules define narrower subclasses next to the code that raises
them; each names its RFC rule.
"""

from __future__ import annotations

from letterlock.codec import DecodeError
from letterlock.crypto._errors import CryptoError, DecryptError, VerifyError


class MLSError(Exception):
    """Base of the MLS layer's own errors."""


class InvalidMessageError(MLSError, ValueError):
    """Received data broke an RFC 9420 MUST. ``rule`` cites the section it broke."""

    def __init__(self, message: str, rule: str = "") -> None:
        super().__init__(f"{message} ({rule})" if rule else message)
        self.rule = rule


class UsageError(MLSError):
    """The caller misused the API (wrong state, wrong argument)."""


class InternalError(MLSError):
    """An internal invariant failed: a bug in this library."""


__all__ = [
    "CryptoError",
    "DecodeError",
    "DecryptError",
    "InternalError",
    "InvalidMessageError",
    "MLSError",
    "UsageError",
    "VerifyError",
]
