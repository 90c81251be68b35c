"""The statements a device signs, byte for byte, and their verification.

Every statement is one TLS-presentation-language struct (RFC 9420 §2.1 encoding, via
:mod:`letterlock.codec`), beginning with a label that names its purpose, so that a
signature made for one purpose can never be accepted for another::

    struct {
        opaque label<V>;      /* e.g. "letterlock v1 auth" */
        opaque fields<V>[];   /* each field, in the order given below, as opaque<V>;
                                 integers as 8-byte big-endian */
    } SignedStatement;

=====================================  =================================================
label                                  fields
=====================================  =================================================
``letterlock v1 register``             handle, signature_key, cipher_suite
``letterlock v1 auth``                 device_id, nonce
``letterlock v1 add-device``           handle, new signature_key, new cipher_suite,
                                       nonce, nonce expires_at
``letterlock v1 remove-device``        handle, target device_id, nonce, nonce expires_at
=====================================  =================================================

The nonce is issued by the server, bound to the handle (or device) and to the purpose,
expires, and is deleted when used: a captured approval cannot be replayed. Signatures
are Ed25519 (RFC 8032) over the encoded struct with the device's registered key.

The server checks the signatures (``letterlock.server.services._signatures.verify_statement``);
the client produces them.
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
