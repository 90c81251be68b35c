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

When the client SDK lands, this definition moves below both server and client.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from letterlock.codec import Writer

from .errors import Unauthorized

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
    "verify",
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
    """Encode a SignedStatement (see the module docstring)."""
    w = Writer()
    w.push_opaque(label)
    for value in fields:
        w.push_opaque(_field(value))
    return w.data


def register_statement(handle: str, signature_key: bytes, cipher_suite: int) -> bytes:
    return statement(REGISTER, handle, signature_key, cipher_suite)


def auth_statement(device_id: str, nonce: bytes) -> bytes:
    return statement(AUTH, device_id, nonce)


def add_device_statement(handle: str, signature_key: bytes, cipher_suite: int, nonce: bytes,
                         expires_at: int) -> bytes:
    return statement(ADD_DEVICE, handle, signature_key, cipher_suite, nonce, expires_at)


def remove_device_statement(handle: str, device_id: str, nonce: bytes,
                            expires_at: int) -> bytes:
    return statement(REMOVE_DEVICE, handle, device_id, nonce, expires_at)


def verify(public_key: bytes, message: bytes, signature: bytes, what: str) -> None:
    """Check an Ed25519 signature; raises Unauthorized naming ``what`` on any failure."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise Unauthorized(f"{what}: signature does not verify", "bad_signature") from None
