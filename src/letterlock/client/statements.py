"""The statements a device signs for the delivery server, byte for byte.

This is the client's copy of ``letterlock.server.services.statements`` (the client may not
import the server). Both must produce identical bytes; ``tests/client/test_statements.py``
checks that a real server accepts what this module builds. They are to be unified into
one module below both layers.

Every statement is one TLS-presentation-language struct (RFC 9420 §2.1)::

    struct {
        opaque label<V>;      /* e.g. "letterlock v1 auth": domain separation */
        opaque fields<V>[];   /* each as opaque<V>; integers as 8-byte big-endian */
    } SignedStatement;
"""

from __future__ import annotations

from letterlock.codec import Writer

__all__ = [
    "ADD_DEVICE",
    "AUTH",
    "REGISTER",
    "REMOVE_DEVICE",
    "add_device_statement",
    "auth_statement",
    "register_statement",
    "remove_device_statement",
    "statement",
]

REGISTER = b"letterlock v1 register"
AUTH = b"letterlock v1 auth"
ADD_DEVICE = b"letterlock v1 add-device"
REMOVE_DEVICE = b"letterlock v1 remove-device"


def _field(value: str | bytes | int) -> bytes:
    if isinstance(value, int):
        return value.to_bytes(8, "big")
    return value.encode() if isinstance(value, str) else value


def statement(label: bytes, *fields: str | bytes | int) -> bytes:
    """Encode a SignedStatement: the label, then each field as ``opaque<V>``."""
    w = Writer()
    w.push_opaque(label)
    for value in fields:
        w.push_opaque(_field(value))
    return w.data


def register_statement(handle: str, signature_key: bytes, cipher_suite: int) -> bytes:
    """What the first device signs to create an account."""
    return statement(REGISTER, handle, signature_key, cipher_suite)


def auth_statement(device_id: str, nonce: bytes) -> bytes:
    """What a device signs to answer a login challenge."""
    return statement(AUTH, device_id, nonce)


def add_device_statement(handle: str, signature_key: bytes, cipher_suite: int, nonce: bytes,
                         expires_at: int) -> bytes:
    """What an existing device (approval) and the new one (possession) both sign."""
    return statement(ADD_DEVICE, handle, signature_key, cipher_suite, nonce, expires_at)


def remove_device_statement(handle: str, device_id: str, nonce: bytes,
                            expires_at: int) -> bytes:
    """What a device signs to remove a device (itself or another) of its account."""
    return statement(REMOVE_DEVICE, handle, device_id, nonce, expires_at)
