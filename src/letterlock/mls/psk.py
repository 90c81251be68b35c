"""Pre-shared keys (RFC 9420 §8.4): naming them, and folding them into psk_secret.

A group may inject any number of PSKs into an epoch: external ones agreed out of band,
and resumption PSKs (the resumption_psk of an earlier epoch, §8.6). A PSK is named by a
:class:`PreSharedKeyID` in PreSharedKey proposals and in a Welcome's GroupSecrets; the
receiver looks the secret up by that name and then folds all of them, in the order
given, into one psk_secret::

    psk_extracted_[i] = KDF.Extract(0, psk_[i])
    psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
    psk_secret_[0]    = 0
    psk_secret_[i]    = KDF.Extract(psk_input_[i-1], psk_secret_[i-1])
    psk_secret        = psk_secret_[n]

``PSKLabel`` binds each PSK to its id, its position and the total count, so the same
PSK set in a different order, or a subset, yields a different psk_secret.

The wire struct :class:`PreSharedKeyID` is defined once, in :mod:`.proposals` (it is
also part of the PreSharedKey proposal), and re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

from letterlock.codec import Reader, Struct, Writer
from letterlock.crypto import CipherSuite

from .errors import InvalidMessageError, UsageError
from .key_schedule import PskSecret
from .proposals import PreSharedKeyID

# PSKLabel.index and .count are uint16: no more PSKs than this fit one epoch.
MAX_PSKS = 0xFFFF


class InvalidPskNonceError(InvalidMessageError):
    """A PreSharedKeyID's psk_nonce is not KDF.Nh bytes long.

    RFC 9420 §8.4: "the psk_nonce of its PreSharedKeyID MUST be set to a fresh random
    value of length KDF.Nh"; §12.2 makes receivers check it for PreSharedKey proposals.
    """

    def __init__(self, length: int, n_h: int) -> None:
        super().__init__(f"psk_nonce is {length} bytes, not KDF.Nh = {n_h}", "RFC 9420 §8.4")


def check_psk_nonce(suite: CipherSuite, psk_id: PreSharedKeyID) -> None:
    """Raise InvalidPskNonceError unless ``psk_id.psk_nonce`` has length KDF.Nh (§8.4)."""
    if len(psk_id.psk_nonce) != suite.n_h:
        raise InvalidPskNonceError(len(psk_id.psk_nonce), suite.n_h)


@dataclass(frozen=True, slots=True)
class PSKLabel(Struct):
    """``struct { PreSharedKeyID id; uint16 index; uint16 count; } PSKLabel`` (§8.4)."""

    id: PreSharedKeyID
    index: int
    count: int

    def push(self, w: Writer) -> None:
        self.id.push(w)
        w.push_uint16(self.index)
        w.push_uint16(self.count)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(PreSharedKeyID.pull(r), r.pull_uint16(), r.pull_uint16())


@dataclass(frozen=True, slots=True)
class Psk:
    """One PSK to inject: its name and its secret value (``psk_[i]`` of §8.4)."""

    id: PreSharedKeyID
    secret: bytes = field(repr=False)


def psk_secret(suite: CipherSuite, psks: Sequence[Psk]) -> PskSecret:
    """Fold ``psks``, in order, into the psk_secret of §8.4 (Nh zeros when empty).

    :raises InvalidPskNonceError: a PSK id's nonce is not KDF.Nh bytes (§8.4).
    :raises UsageError: more than 65535 PSKs (PSKLabel counts in uint16).
    """
    if len(psks) > MAX_PSKS:
        raise UsageError(f"at most {MAX_PSKS} PSKs fit PSKLabel, got {len(psks)}")
    zero = bytes(suite.n_h)
    secret = zero  # psk_secret_[0]
    for index, psk in enumerate(psks):
        check_psk_nonce(suite, psk.id)
        extracted = suite.kdf_extract(zero, psk.secret)
        label = PSKLabel(psk.id, index, len(psks)).to_bytes()
        psk_input = suite.expand_with_label(extracted, "derived psk", label, suite.n_h)
        # §8.4: psk_secret_[i+1] = KDF.Extract(salt = psk_input_[i], ikm = psk_secret_[i]).
        secret = suite.kdf_extract(psk_input, secret)
    return PskSecret(secret)


__all__ = [
    "MAX_PSKS",
    "InvalidPskNonceError",
    "PSKLabel",
    "PreSharedKeyID",
    "Psk",
    "check_psk_nonce",
    "psk_secret",
]
