"""Safety numbers and epoch codes: what two people compare out of band.

A safety number covers two accounts' current devices, as the key-transparency log
proves them. It is computed as Signal's "numeric fingerprint" is (one 30-digit half
per account, the halves sorted so both sides print the same 60 digits), with an
account's whole device list in place of Signal's single identity key::

    struct { opaque device_id<V>; opaque signature_key<V>; } DeviceKey;
    struct {
        uint16 version = 1;
        opaque handle<V>;
        DeviceKey devices<V>;          /* sorted by device id */
    } FingerprintInput;

    h = SHA-512(FingerprintInput); repeat 5199 times: h = SHA-512(h || FingerprintInput)
    half = for each of h[0:5], h[5:10], ..., h[25:30]: uint40 mod 100000, as 5 digits

The iteration count is Signal's (it raises the cost of searching for a device list
whose half matches another's). Adding, removing or re-keying a device of either
account changes the number.

An epoch code (``letterlock verify GROUP``) is the MLS epoch authenticator
(RFC 9420 §8.7) shown as 20 digits: members who compare it and agree share one view of
the group at that epoch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from letterlock.codec import Writer

__all__ = ["account_fingerprint", "epoch_code", "group_digits", "safety_number"]

FINGERPRINT_VERSION = 1
ITERATIONS = 5200


def _digits(data: bytes, chunks: int) -> str:
    return "".join(f"{int.from_bytes(data[i * 5:i * 5 + 5], 'big') % 100000:05d}"
                   for i in range(chunks))


def account_fingerprint(handle: str, devices: Mapping[str, bytes]) -> str:
    """The 30-digit half of a safety number for ``handle`` with ``devices`` (id -> key)."""
    w = Writer()
    w.push_uint16(FINGERPRINT_VERSION)
    w.push_opaque(handle.encode("utf-8"))

    def device(inner: Writer, pair: tuple[str, bytes]) -> None:
        inner.push_opaque(pair[0].encode("utf-8"))
        inner.push_opaque(pair[1])

    w.push_vector(sorted(devices.items()), device)
    data = w.data
    digest = hashlib.sha512(data).digest()
    for _ in range(ITERATIONS - 1):
        digest = hashlib.sha512(digest + data).digest()
    return _digits(digest, 6)


def group_digits(digits: str) -> str:
    """``digits`` in space-separated groups of five."""
    return " ".join(digits[i:i + 5] for i in range(0, len(digits), 5))


def safety_number(handle_a: str, devices_a: Mapping[str, bytes], handle_b: str,
                  devices_b: Mapping[str, bytes]) -> str:
    """60 digits in twelve groups of five; the same whichever side computes it."""
    halves = sorted([account_fingerprint(handle_a, devices_a),
                     account_fingerprint(handle_b, devices_b)])
    return group_digits("".join(halves))


def epoch_code(epoch_authenticator: bytes) -> str:
    """A short code for an epoch authenticator: 20 digits in four groups of five."""
    return group_digits(_digits(hashlib.sha256(epoch_authenticator).digest(), 4))
