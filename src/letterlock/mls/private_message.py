"""The encrypted message form on the wire (RFC 9420 §6.3).

Wire forms only: :class:`PrivateMessage`, the plaintext it encrypts
(:class:`PrivateMessageContent`), the sender data (:class:`SenderData`) and the two
AADs. Key derivation and AEAD are the protection code's business.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from letterlock.codec import DecodeError, Reader, Struct, Writer, decode, encode_varint

from ._wire import pull_tag, require
from .constants import ContentType
from .framing import (
    ContentBody,
    FramedContentAuthData,
    content_type_of,
    pull_content_body,
    push_content_body,
)

REUSE_GUARD_SIZE = 4

# Fixed-width layouts of the small structs below, for their direct encoders.
_TWO_U32 = struct.Struct(">II")
_U64_U8 = struct.Struct(">QB")
_U32_MAX, _U64_MAX = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class PrivateMessage(Struct):
    """An encrypted message (§6.3)::

        struct {
            opaque group_id<V>;
            uint64 epoch;
            ContentType content_type;
            opaque authenticated_data<V>;
            opaque encrypted_sender_data<V>;
            opaque ciphertext<V>;
        } PrivateMessage;
    """

    group_id: bytes
    epoch: int
    content_type: ContentType
    authenticated_data: bytes
    encrypted_sender_data: bytes
    ciphertext: bytes

    @property
    def sender_data_aad(self) -> SenderDataAAD:
        """The AAD of :attr:`encrypted_sender_data` (§6.3.2)."""
        return SenderDataAAD(self.group_id, self.epoch, self.content_type)

    @property
    def content_aad(self) -> PrivateContentAAD:
        """The AAD of :attr:`ciphertext` (§6.3.1)."""
        return PrivateContentAAD(self.group_id, self.epoch, self.content_type,
                                 self.authenticated_data)

    def push(self, w: Writer) -> None:
        w.push_opaque(self.group_id)
        w.push_uint64(self.epoch)
        w.push_uint8(self.content_type)
        w.push_opaque(self.authenticated_data)
        w.push_opaque(self.encrypted_sender_data)
        w.push_opaque(self.ciphertext)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_uint64(),
                   pull_tag(r, ContentType, "content_type", width=1),
                   r.pull_opaque(), r.pull_opaque(), r.pull_opaque())


@dataclass(frozen=True, slots=True)
class PrivateMessageContent:
    """The plaintext of a PrivateMessage's ciphertext (§6.3.1)::

        struct {
            select (PrivateMessage.content_type) {
                case application:
                  opaque application_data<V>;
                case proposal:
                  Proposal proposal;
                case commit:
                  Commit commit;
            };

            FramedContentAuthData auth;
            opaque padding[length_of_padding];
        } PrivateMessageContent;

    ``padding`` is the number of zero bytes at the end. Not a standalone
    :class:`~letterlock.codec.Struct`: the content type that selects the layout is
    outside, in the PrivateMessage, so decoding takes it; and the padding runs to the
    end of the plaintext, so this is only ever decoded from a whole plaintext.
    """

    body: ContentBody
    auth: FramedContentAuthData
    padding: int = 0

    def __post_init__(self) -> None:
        require((self.auth.confirmation_tag is not None)
                == (self.content_type == ContentType.COMMIT),
                "auth has a confirmation_tag exactly when the content is a commit")
        require(self.padding >= 0, "padding length must not be negative")

    @property
    def content_type(self) -> ContentType:
        return content_type_of(self.body)

    def push(self, w: Writer) -> None:
        push_content_body(w, self.body)
        self.auth.push(w)
        w.push_bytes(bytes(self.padding))

    def to_bytes(self) -> bytes:
        w = Writer()
        self.push(w)
        return w.data

    @classmethod
    def pull(cls, r: Reader, content_type: ContentType) -> Self:
        """Read to the end of ``r``; everything after the auth data is padding."""
        body = pull_content_body(r, content_type)
        auth = FramedContentAuthData.pull(r, content_type)
        start = r.position
        padding = r.pull_bytes(r.remaining)
        if any(padding):
            # §6.3.1: "A receiver MUST verify that there are no non-zero bytes in the
            # padding field, and if this check fails, the enclosing PrivateMessage MUST
            # be rejected as malformed."
            offset = next(i for i, b in enumerate(padding) if b)
            raise DecodeError("non-zero byte in PrivateMessageContent padding (§6.3.1)",
                              start + offset)
        return cls(body, auth, len(padding))

    @classmethod
    def from_bytes(cls, data: bytes, content_type: ContentType) -> Self:
        """The content of a decrypted plaintext; DecodeError if it is malformed."""
        return decode(data, lambda r: cls.pull(r, content_type))


@dataclass(frozen=True, slots=True)
class SenderData(Struct):
    """Who encrypted a PrivateMessage, and with which key generation (§6.3.2)::

        struct {
            uint32 leaf_index;
            uint32 generation;
            opaque reuse_guard[4];
        } SenderData;
    """

    leaf_index: int
    generation: int
    reuse_guard: bytes

    def push(self, w: Writer) -> None:
        w.push_uint32(self.leaf_index)
        w.push_uint32(self.generation)
        w.push_bytes(self.reuse_guard, REUSE_GUARD_SIZE)

    def to_bytes(self) -> bytes:
        # Every PrivateMessage sent and received encodes one; the fields are fixed-width.
        if 0 <= self.leaf_index <= _U32_MAX and 0 <= self.generation <= _U32_MAX \
                and len(self.reuse_guard) == REUSE_GUARD_SIZE:
            return _TWO_U32.pack(self.leaf_index, self.generation) + self.reuse_guard
        return Struct.to_bytes(self)  # raises EncodeError as push() does

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint32(), r.pull_uint32(), r.pull_bytes(REUSE_GUARD_SIZE))


@dataclass(frozen=True, slots=True)
class SenderDataAAD(Struct):
    """The AAD of the sender-data encryption (§6.3.2)::

        struct {
            opaque group_id<V>;
            uint64 epoch;
            ContentType content_type;
        } SenderDataAAD;
    """

    group_id: bytes
    epoch: int
    content_type: ContentType

    def push(self, w: Writer) -> None:
        w.push_opaque(self.group_id)
        w.push_uint64(self.epoch)
        w.push_uint8(self.content_type)

    def to_bytes(self) -> bytes:
        # The AAD of every PrivateMessage's sender data: joined directly.
        if 0 <= self.epoch <= _U64_MAX and 0 <= self.content_type <= 0xFF:
            return b"".join((encode_varint(len(self.group_id)), self.group_id,
                             _U64_U8.pack(self.epoch, self.content_type)))
        return Struct.to_bytes(self)  # raises EncodeError as push() does

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_uint64(),
                   pull_tag(r, ContentType, "content_type", width=1))


@dataclass(frozen=True, slots=True)
class PrivateContentAAD(Struct):
    """The AAD of the content encryption (§6.3.1)::

        struct {
            opaque group_id<V>;
            uint64 epoch;
            ContentType content_type;
            opaque authenticated_data<V>;
        } PrivateContentAAD;
    """

    group_id: bytes
    epoch: int
    content_type: ContentType
    authenticated_data: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.group_id)
        w.push_uint64(self.epoch)
        w.push_uint8(self.content_type)
        w.push_opaque(self.authenticated_data)

    def to_bytes(self) -> bytes:
        # The AAD of every PrivateMessage's content: joined directly.
        if 0 <= self.epoch <= _U64_MAX and 0 <= self.content_type <= 0xFF:
            return b"".join((encode_varint(len(self.group_id)), self.group_id,
                             _U64_U8.pack(self.epoch, self.content_type),
                             encode_varint(len(self.authenticated_data)),
                             self.authenticated_data))
        return Struct.to_bytes(self)  # raises EncodeError as push() does

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_uint64(),
                   pull_tag(r, ContentType, "content_type", width=1), r.pull_opaque())
