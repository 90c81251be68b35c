"""Plumbing shared by the services: injected randomness, hashing of bearer secrets,
handle rules, and the nonce record a client signs over."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InvalidInput

__all__ = ["ED25519_SUITES", "Nonce", "Random", "check_handle", "check_key", "secret_hash",
           "system_random"]

Random = Callable[[int], bytes]
system_random: Random = os.urandom

# MLS cipher suites whose signature scheme is Ed25519 (RFC 9420 §17.1): the only device
# keys accepted for now.
ED25519_SUITES = frozenset({1, 3})

# "@" then 3-32 of lowercase letters, digits, "_" and ".": case is not folded, so that a
# handle has exactly one spelling.
_HANDLE = re.compile(r"@[a-z0-9_.]{3,32}")


@dataclass(frozen=True, slots=True)
class Nonce:
    """A single-use server nonce and when it stops being accepted (Unix seconds)."""

    nonce: bytes
    expires_at: int


def check_handle(handle: str) -> str:
    """Return ``handle`` if it is well formed; raises InvalidInput otherwise."""
    if not _HANDLE.fullmatch(handle):
        raise InvalidInput("a handle is '@' and 3-32 of [a-z0-9_.]", "bad_handle")
    return handle


def check_key(signature_key: bytes, cipher_suite: int) -> None:
    """Accept only raw 32-byte Ed25519 keys with an Ed25519 MLS cipher suite."""
    if cipher_suite not in ED25519_SUITES:
        raise InvalidInput(f"unsupported cipher suite {cipher_suite}", "bad_suite")
    if len(signature_key) != 32:
        raise InvalidInput("an Ed25519 public key is 32 bytes", "bad_key")


def secret_hash(secret: str) -> bytes:
    """What the store keeps of a bearer secret (token, invite code): its SHA-256."""
    return hashlib.sha256(secret.encode()).digest()
