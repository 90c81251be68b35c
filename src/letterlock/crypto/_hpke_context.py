"""HPKE's key schedule and encryption contexts (RFC 9180 §5.1-§5.3).

The key schedule turns a KEM shared secret into an AEAD key, a base nonce and an
exporter secret; a context then seals or opens a sequence of messages, each under
``base_nonce XOR seq``, and exports secrets. The errors of HPKE misuse live here too,
because the schedule and the contexts are where misuse is detected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ._errors import CryptoError, DecryptError, UnsupportedError
from ._hpke_kdf import LabeledKdf, i2osp


class AeadId(IntEnum):
    """HPKE AEAD identifiers (RFC 9180 §7.3)."""

    AES_128_GCM = 0x0001
    AES_256_GCM = 0x0002
    CHACHA20_POLY1305 = 0x0003
    EXPORT_ONLY = 0xFFFF


class Mode(IntEnum):
    """HPKE modes (RFC 9180 §5, Table 1)."""

    BASE = 0x00
    PSK = 0x01
    AUTH = 0x02
    AUTH_PSK = 0x03


class HpkeUsageError(CryptoError, ValueError):
    """The caller used HPKE in a way RFC 9180 forbids (a bug on our side, not the peer's)."""


class PskInputError(HpkeUsageError):
    """``psk`` and ``psk_id`` are inconsistent with each other or the mode (RFC 9180 §5.1)."""


class ExportOnlyError(HpkeUsageError):
    """Seal or Open was called on an export-only suite (RFC 9180 §5.3)."""


class MessageLimitReachedError(CryptoError):
    """A context's sequence number is exhausted (RFC 9180 §5.2); set up a new context."""


# RFC 9180 §7.3, Table 5: (Nk, Nn, pyca AEAD class); export-only has no AEAD at all.
_AEADS: dict[AeadId, tuple[int, int, type[AESGCM] | type[ChaCha20Poly1305] | None]] = {
    AeadId.AES_128_GCM: (16, 12, AESGCM),
    AeadId.AES_256_GCM: (32, 12, AESGCM),
    AeadId.CHACHA20_POLY1305: (32, 12, ChaCha20Poly1305),
    AeadId.EXPORT_ONLY: (0, 0, None),
}

# RFC 9180 §5.1.2: a PSK MUST have at least 32 bytes of entropy. Entropy cannot be
# measured, but a shorter PSK certainly falls short, so it is refused.
MIN_PSK_LENGTH = 32


def aead_sizes(aead: AeadId) -> tuple[int, int]:
    """``(Nk, Nn)`` of ``aead``; raises UnsupportedError for an unknown identifier."""
    try:
        n_k, n_n, _ = _AEADS[AeadId(aead)]
    except (KeyError, ValueError):
        raise UnsupportedError(f"unknown HPKE AEAD id {aead!r}") from None
    return n_k, n_n


@dataclass(frozen=True, slots=True, repr=False)
class KeySchedule:
    """Everything RFC 9180 §5.1's KeySchedule derives. ``repr`` is off: these are secrets."""

    mode: Mode
    key_schedule_context: bytes
    secret: bytes
    key: bytes
    base_nonce: bytes
    exporter_secret: bytes


def verify_psk_inputs(mode: Mode, psk: bytes, psk_id: bytes) -> None:
    """VerifyPSKInputs (RFC 9180 §5.1); raises PskInputError."""
    got_psk, got_psk_id = psk != b"", psk_id != b""
    if got_psk != got_psk_id:
        raise PskInputError("psk and psk_id must both be given or both be empty")
    needs_psk = mode in (Mode.PSK, Mode.AUTH_PSK)
    if got_psk and not needs_psk:
        raise PskInputError(f"a PSK was given to mode {mode.name}, which takes none")
    if needs_psk and not got_psk:
        raise PskInputError(f"mode {mode.name} requires a PSK")
    if got_psk and len(psk) < MIN_PSK_LENGTH:
        raise PskInputError(f"a PSK must be at least {MIN_PSK_LENGTH} bytes")


def hash_info(kdf: LabeledKdf, info: bytes | Sequence[bytes]) -> bytes:
    """``info_hash = LabeledExtract("", "info_hash", info)`` (RFC 9180 §5.1): the same for
    every key schedule with this ``info``, whatever the recipient. ``info`` may be given
    as the parts it is the concatenation of (hashed in turn, never joined)."""
    if isinstance(info, bytes):
        return kdf.labeled_extract(b"", b"info_hash", info)
    return kdf.labeled_extract_parts(b"", b"info_hash", info)


def key_schedule(
    kdf: LabeledKdf,
    aead: AeadId,
    mode: Mode,
    shared_secret: bytes,
    info: bytes,
    psk: bytes,
    psk_id: bytes,
    info_hash: bytes | None = None,
) -> KeySchedule:
    """KeySchedule (RFC 9180 §5.1). ``kdf`` carries the full HPKE suite_id.

    The RFC's KeySchedule begins with VerifyPSKInputs; here the caller runs
    :func:`verify_psk_inputs` itself, before the KEM, so this function assumes it passed.
    ``info_hash``, when given, must be :func:`hash_info` of ``info`` (for a caller
    sealing to many recipients under one large info).
    """
    n_k, n_n = aead_sizes(aead)
    # Hashing psk_id and info first fixes the context's length whatever their sizes.
    psk_id_hash = kdf.labeled_extract(b"", b"psk_id_hash", psk_id)
    if info_hash is None:
        info_hash = hash_info(kdf, info)
    context = i2osp(mode, 1) + psk_id_hash + info_hash
    secret = kdf.labeled_extract(shared_secret, b"secret", psk)
    return KeySchedule(
        mode=mode,
        key_schedule_context=context,
        secret=secret,
        key=kdf.labeled_expand(secret, b"key", context, n_k),
        base_nonce=kdf.labeled_expand(secret, b"base_nonce", context, n_n),
        exporter_secret=kdf.labeled_expand(secret, b"exp", context, kdf.n_h),
    )


class _Context:
    """State shared by both roles: the schedule, the AEAD and the sequence number.

    ``_schedule``, ``_seq`` and ``_compute_nonce`` are the test seams the RFC 9180
    vectors need (they list key-schedule values and jump to sequence numbers 255, 256);
    protocol code never touches them.
    """

    __slots__ = ("_aead", "_kdf", "_max_seq", "_schedule", "_seq")

    def __init__(self, kdf: LabeledKdf, aead: AeadId, schedule: KeySchedule) -> None:
        self._kdf = kdf
        self._schedule = schedule
        aead_class = _AEADS[aead][2]
        self._aead = None if aead_class is None else aead_class(schedule.key)
        self._seq = 0
        # RFC 9180 §5.2: the last usable sequence number is 2^(8*Nn) - 2; reaching
        # 2^(8*Nn) - 1 would wrap the nonce, so it is the limit.
        self._max_seq = (1 << (8 * len(schedule.base_nonce))) - 1

    @property
    def mode(self) -> Mode:
        """The HPKE mode this context was set up in."""
        return self._schedule.mode

    @property
    def sequence_number(self) -> int:
        """How many messages this context has sealed or opened successfully."""
        return self._seq

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """Export ``length`` bytes bound to ``exporter_context`` (RFC 9180 §5.3).

        Works in every suite, export-only included. Raises HpkeUsageError unless
        0 <= length <= 255 * Nh.
        """
        if not 0 <= length <= 255 * self._kdf.n_h:
            raise HpkeUsageError(f"export length must be 0..{255 * self._kdf.n_h}")
        return self._kdf.labeled_expand(
            self._schedule.exporter_secret, b"sec", exporter_context, length
        )

    def _compute_nonce(self, seq: int) -> bytes:
        # RFC 9180 §5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn).
        base = self._schedule.base_nonce
        mixed = int.from_bytes(base, "big") ^ seq
        return i2osp(mixed, len(base))

    def _aead_for_next_message(self) -> AESGCM | ChaCha20Poly1305:
        if self._aead is None:
            raise ExportOnlyError("this HPKE suite is export-only: it cannot seal or open")
        if self._seq >= self._max_seq:
            raise MessageLimitReachedError("HPKE context sequence number exhausted")
        return self._aead


class SenderContext(_Context):
    """The sender's side of an HPKE context (RFC 9180 §5.2 ContextS)."""

    __slots__ = ()

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` with ``aad`` under the next sequence number.

        Raises ExportOnlyError in an export-only suite and MessageLimitReachedError
        when the sequence number is exhausted.
        """
        aead = self._aead_for_next_message()
        ciphertext = aead.encrypt(self._compute_nonce(self._seq), plaintext, aad)
        self._seq += 1
        return ciphertext


class ReceiverContext(_Context):
    """The recipient's side of an HPKE context (RFC 9180 §5.2 ContextR)."""

    __slots__ = ()

    def open(self, aad: bytes, ciphertext: bytes) -> bytes:
        """Decrypt ``ciphertext`` with ``aad`` under the next sequence number.

        Raises DecryptError (opaque) if it does not authenticate; the sequence number
        then stays where it was, so the next message can still be opened. Raises
        ExportOnlyError in an export-only suite.
        """
        aead = self._aead_for_next_message()
        try:
            plaintext = aead.decrypt(self._compute_nonce(self._seq), ciphertext, aad)
        except InvalidTag:
            raise DecryptError("decryption failed") from None
        self._seq += 1
        return plaintext


__all__ = [
    "AeadId",
    "ExportOnlyError",
    "HpkeUsageError",
    "KeySchedule",
    "MessageLimitReachedError",
    "Mode",
    "PskInputError",
    "ReceiverContext",
    "SenderContext",
    "aead_sizes",
    "key_schedule",
    "verify_psk_inputs",
]
