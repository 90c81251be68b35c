"""Checking the statements devices sign (their encoding: :mod:`letterlock.protocol.statements`)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import Unauthorized

__all__ = ["verify_statement"]


def verify_statement(public_key: bytes, message: bytes, signature: bytes, what: str) -> None:
    """Check an Ed25519 signature; raises Unauthorized naming ``what`` on any failure."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise Unauthorized(f"{what}: signature does not verify", "bad_signature") from None
