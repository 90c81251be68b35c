"""The labeled inputs of RFC 9420 §5 and §8, as codec structs.

MLS never feeds a raw value to a KDF, a signature or HPKE: every use wraps it with a
label so that a value made for one purpose cannot be replayed as another. Each wrapper
is a small TLS struct; here they are, one class each, encoded with the strict codec.

- ``KDFLabel`` (§8): the ``info`` of ExpandWithLabel.
- ``SignContent`` (§5.1.2): what SignWithLabel signs.
- ``EncryptContext`` (§5.1.3): the HPKE ``info`` of EncryptWithLabel.
- ``RefHashInput`` (§5.2): what RefHash hashes. Its label is used as given: the
  "MLS 1.0 " prefix is already part of the two labels §5.2 defines.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Self

from letterlock.codec import EncodeError, Reader, Struct, Writer, encode_varint

# RFC 9420 §5.1.2, §5.1.3, §8: label = "MLS 1.0 " + Label.
MLS_LABEL_PREFIX = b"MLS 1.0 "

Label = str | bytes


def mls_label(label: Label) -> bytes:
    """``"MLS 1.0 " + Label`` as bytes (str labels are the RFC's ASCII names)."""
    raw = label.encode("utf-8") if isinstance(label, str) else bytes(label)
    return MLS_LABEL_PREFIX + raw


@dataclass(frozen=True, slots=True)
class KDFLabel(Struct):
    """``struct { uint16 length; opaque label<V>; opaque context<V>; } KDFLabel``."""

    length: int
    label: bytes
    context: bytes

    def push(self, w: Writer) -> None:
        w.push_uint16(self.length)
        w.push_opaque(self.label)
        w.push_opaque(self.context)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint16(), r.pull_opaque(), r.pull_opaque())


@dataclass(frozen=True, slots=True)
class _LabelAndValue(Struct):
    """Shared layout of SignContent, EncryptContext and RefHashInput: two opaque<V>."""

    label: bytes
    value: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.label)
        w.push_opaque(self.value)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_opaque())


@dataclass(frozen=True, slots=True)
class SignContent(_LabelAndValue):
    """``struct { opaque label<V>; opaque content<V>; } SignContent`` (§5.1.2)."""


@dataclass(frozen=True, slots=True)
class EncryptContext(_LabelAndValue):
    """``struct { opaque label<V>; opaque context<V>; } EncryptContext`` (§5.1.3)."""


@dataclass(frozen=True, slots=True)
class RefHashInput(_LabelAndValue):
    """``struct { opaque label<V>; opaque value<V>; } RefHashInput`` (§5.2)."""


# The functions below run on every KDF step, signature and HPKE call (tens of times per
# message), so they write the same bytes as the structs' ``to_bytes`` directly instead
# of going through a Writer; tests check that the two agree.
_U16 = struct.Struct(">H")


def _two_opaques(first: bytes, second: bytes) -> bytes:
    return b"".join((encode_varint(len(first)), first, encode_varint(len(second)), second))


@lru_cache(maxsize=256)
def _label_field(label: Label) -> bytes:
    # ``opaque label<V>`` holding "MLS 1.0 " + Label: the protocol uses a few dozen
    # fixed labels, so each is encoded once (a pure function of its argument).
    full = mls_label(label)
    return encode_varint(len(full)) + full


def kdf_label(label: Label, context: bytes, length: int) -> bytes:
    """The encoded KDFLabel for ExpandWithLabel(·, Label, Context, Length)."""
    if not 0 <= length <= 0xFFFF:
        raise EncodeError(f"uint16 out of range: {length}")
    return b"".join((_U16.pack(length), _label_field(label), encode_varint(len(context)),
                     context))


def sign_content(label: Label, content: bytes) -> bytes:
    """The encoded SignContent for SignWithLabel / VerifyWithLabel."""
    return b"".join((_label_field(label), encode_varint(len(content)), content))


def encrypt_context(label: Label, context: bytes) -> bytes:
    """The encoded EncryptContext used as HPKE ``info`` by EncryptWithLabel."""
    return b"".join((_label_field(label), encode_varint(len(context)), context))


def encrypt_context_parts(label: Label, context: bytes) -> tuple[bytes, bytes]:
    """:func:`encrypt_context` as (head, context): their concatenation is the encoding."""
    return _label_field(label) + encode_varint(len(context)), context


def ref_hash_input(label: bytes, value: bytes) -> bytes:
    """The encoded RefHashInput (label taken verbatim, §5.2)."""
    return _two_opaques(bytes(label), value)


__all__ = [
    "MLS_LABEL_PREFIX",
    "EncryptContext",
    "KDFLabel",
    "Label",
    "RefHashInput",
    "SignContent",
    "encrypt_context",
    "encrypt_context_parts",
    "kdf_label",
    "mls_label",
    "ref_hash_input",
    "sign_content",
]
