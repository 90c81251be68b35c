"""The encrypted message form on the wire (RFC 9420 §6.3).

Wire forms only: :class:`PrivateMessage`, the plaintext it encrypts
(:class:`PrivateMessageContent`), the sender data (:class:`SenderData`) and the two
AADs. Key derivation and AEAD are the protection code's business.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from letterlock.codec import (
    DecodeError,
    Reader,
    Struct,
    Writer,
    decode,
    encode_varint,
    fast_init,
)

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
_SENDER_DATA_SIZE = _TWO_U32.size + REUSE_GUARD_SIZE


@fast_init  # built for every message
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

    def to_bytes(self) -> bytes:
        # Every PrivateMessage sent is encoded: joined directly.
        head = _head(self.group_id, self.epoch, self.content_type)
        if head is None:
            return Struct.to_bytes(self)  # raises EncodeError as push() does
        ad, sender_data, ciphertext = (self.authenticated_data, self.encrypted_sender_data,
                                       self.ciphertext)
        return b"".join((head, encode_varint(len(ad)), ad, encode_varint(len(sender_data)),
                         sender_data, encode_varint(len(ciphertext)), ciphertext))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_uint64(),
                   pull_tag(r, ContentType, "content_type", width=1),
                   r.pull_opaque(), r.pull_opaque(), r.pull_opaque())


@fast_init  # built for every message
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
        if isinstance(self.body, bytes):
            return self.encode(self.body, self.auth, self.padding)
        w = Writer()
        self.push(w)
        return w.data

    @classmethod
    def encode(cls, body: ContentBody, auth: FramedContentAuthData, padding: int = 0) -> bytes:
        """``PrivateMessageContent(body, auth, padding).to_bytes()``; application data
        (every message sent) is joined directly, without building the value, whose
        bytes are all the sender needs. UsageError as the constructor raises it."""
        if isinstance(body, bytes) and auth.confirmation_tag is None and padding >= 0:
            signature = auth.signature
            return b"".join((encode_varint(len(body)), body,
                             encode_varint(len(signature)), signature, bytes(padding)))
        return cls(body, auth, padding).to_bytes()

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


@fast_init  # built for every message
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
        return self.encode(self.leaf_index, self.generation, self.reuse_guard)

    @classmethod
    def encode(cls, leaf_index: int, generation: int, reuse_guard: bytes) -> bytes:
        """``SenderData(leaf_index, generation, reuse_guard).to_bytes()``, without
        building the value: every PrivateMessage sent encodes one, and only the bytes
        are needed. The fields are fixed-width."""
        if 0 <= leaf_index <= _U32_MAX and 0 <= generation <= _U32_MAX \
                and len(reuse_guard) == REUSE_GUARD_SIZE:
            return _TWO_U32.pack(leaf_index, generation) + reuse_guard
        return Struct.to_bytes(cls(leaf_index, generation, reuse_guard))  # EncodeError

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint32(), r.pull_uint32(), r.pull_bytes(REUSE_GUARD_SIZE))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        # Every PrivateMessage received decodes one; fixed-width, so any 12 bytes are a
        # SenderData (any other length is a DecodeError from the Reader path).
        if len(data) == _SENDER_DATA_SIZE:
            leaf_index, generation = _TWO_U32.unpack_from(data)
            return cls(leaf_index, generation, bytes(data[8:]))
        return decode(data, cls.pull)


def private_message_aads(group_id: bytes, epoch: int, content_type: ContentType,
                         authenticated_data: bytes) -> tuple[bytes, bytes]:
    """The encoded :class:`SenderDataAAD` and :class:`PrivateContentAAD` of one message.

    Both are needed for every PrivateMessage sent or received; the second is the first
    followed by ``authenticated_data<V>``, so it is encoded once and extended.
    """
    sender_data_aad = _head(group_id, epoch, content_type)
    if sender_data_aad is None:
        sender_data_aad = SenderDataAAD(group_id, epoch, content_type).to_bytes()  # raises
    return sender_data_aad, b"".join((sender_data_aad, encode_varint(len(authenticated_data)),
                                      authenticated_data))


def _head(group_id: bytes, epoch: int, content_type: int) -> bytes | None:
    # ``opaque group_id<V>; uint64 epoch; ContentType content_type;``: how PrivateMessage
    # and both AADs begin (all of SenderDataAAD). None when a value is out of range; the
    # Writer path then raises the EncodeError.
    if 0 <= epoch <= _U64_MAX and 0 <= content_type <= 0xFF:
        return b"".join((encode_varint(len(group_id)), group_id,
                         _U64_U8.pack(epoch, content_type)))
    return None


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
        head = _head(self.group_id, self.epoch, self.content_type)
        return Struct.to_bytes(self) if head is None else head  # Struct: EncodeError

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
        head = _head(self.group_id, self.epoch, self.content_type)
        if head is None:
            return Struct.to_bytes(self)  # raises EncodeError as push() does
        return b"".join((head, encode_varint(len(self.authenticated_data)),
                         self.authenticated_data))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_uint64(),
                   pull_tag(r, ContentType, "content_type", width=1), r.pull_opaque())
