"""The content carried inside MLS application messages: versioned and extensible.

Wire format (TLS presentation language, RFC 9420 §2.1, via :mod:`letterlock.codec`)::

    enum { text(1), reaction(2), edit(3), delete(4), receipt(5), attachment(6),
           (65535) } ContentType;

    struct { uint16 extension_type; opaque extension_data<V>; } ContentExtension;

    struct {
        uint8 version;                       /* 1 */
        uint16 content_type;
        opaque client_message_id[16];        /* random; the idempotency key */
        uint64 sent_at_ms;                   /* sender's clock: informational only */
        optional<opaque reply_to[16]>;       /* a client_message_id */
        opaque body<V>;                      /* text: UTF-8 */
        ContentExtension extensions<V>;      /* franking and later additions */
    } Content;

Extension code points (``ContentExtensionType``): ``kt_tree_head(1)``, whose data is
an encoded :class:`~letterlock.transparency.SignedTreeHead` — the sender's newest view
of the key-transparency log, gossiped so that members can catch a server that shows
them different logs (see :mod:`letterlock.client.keylog`). Readers ignore code points
they do not know.

Forward compatibility: a content type this version does not know decodes to
:class:`Unknown` (its body kept as bytes), so a newer sender never breaks an older
reader; only a different ``version`` or malformed bytes raise ``DecodeError``.
Extensions are kept opaque and re-encoded unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from letterlock.codec import DecodeError, EncodeError, Reader, Writer, decode, encode
from letterlock.crypto.random import RandomSource

__all__ = [
    "CONTENT_VERSION",
    "MESSAGE_ID_SIZE",
    "Content",
    "ContentExtension",
    "ContentExtensionType",
    "ContentType",
    "Text",
    "Unknown",
    "decode_content",
    "encode_content",
    "extension",
    "new_message_id",
    "text",
]

CONTENT_VERSION = 1
MESSAGE_ID_SIZE = 16


class ContentType(enum.IntEnum):
    """Content type code points; only TEXT has a body format yet, the rest are reserved."""

    TEXT = 1
    REACTION = 2
    EDIT = 3
    DELETE = 4
    RECEIPT = 5
    ATTACHMENT = 6


class ContentExtensionType(enum.IntEnum):
    """Content extension code points."""

    KT_TREE_HEAD = 1


@dataclass(frozen=True, slots=True)
class ContentExtension:
    extension_type: int
    data: bytes


def extension(content: Content, extension_type: int) -> bytes | None:
    """The data of ``content``'s first extension of ``extension_type``, if any."""
    for ext in content.extensions:
        if ext.extension_type == extension_type:
            return ext.data
    return None


@dataclass(frozen=True, slots=True)
class Text:
    """A UTF-8 text message."""

    text: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """A content type this version cannot interpret (or a reserved one): kept as bytes."""

    content_type: int
    body: bytes


Body = Text | Unknown


@dataclass(frozen=True, slots=True)
class Content:
    """One application message's content; see the module docstring for the wire form."""

    client_message_id: bytes
    sent_at_ms: int
    body: Body
    reply_to: bytes | None = None
    extensions: tuple[ContentExtension, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.client_message_id) != MESSAGE_ID_SIZE:
            raise EncodeError(f"client_message_id must be {MESSAGE_ID_SIZE} bytes")
        if self.reply_to is not None and len(self.reply_to) != MESSAGE_ID_SIZE:
            raise EncodeError(f"reply_to must be {MESSAGE_ID_SIZE} bytes")

    @property
    def content_type(self) -> int:
        return ContentType.TEXT if isinstance(self.body, Text) else self.body.content_type


def new_message_id(rng: RandomSource) -> bytes:
    """A fresh random client message id."""
    return rng.random_bytes(MESSAGE_ID_SIZE)


def text(message: str, *, rng: RandomSource, sent_at_ms: int,
         reply_to: bytes | None = None) -> Content:
    """A text Content with a fresh client message id."""
    return Content(new_message_id(rng), sent_at_ms, Text(message), reply_to)


def _push_extension(w: Writer, ext: ContentExtension) -> None:
    w.push_uint16(ext.extension_type)
    w.push_opaque(ext.data)


def _pull_extension(r: Reader) -> ContentExtension:
    return ContentExtension(r.pull_uint16(), r.pull_opaque())


def _push_id(w: Writer, value: bytes) -> None:
    w.push_bytes(value, MESSAGE_ID_SIZE)


def encode_content(content: Content) -> bytes:
    """The canonical bytes of ``content``; raises EncodeError for out-of-range fields."""

    def body(w: Writer) -> None:
        w.push_uint8(CONTENT_VERSION)
        w.push_uint16(content.content_type)
        _push_id(w, content.client_message_id)
        w.push_uint64(content.sent_at_ms)
        w.push_optional(content.reply_to, _push_id)
        if isinstance(content.body, Text):
            w.push_opaque(content.body.text.encode())
        else:
            w.push_opaque(content.body.body)
        w.push_vector(content.extensions, _push_extension)

    return encode(body)


def decode_content(data: bytes) -> Content:
    """Parse Content bytes; raises DecodeError (and only that) for anything malformed."""

    def body(r: Reader) -> Content:
        version = r.pull_uint8()
        if version != CONTENT_VERSION:
            raise r.error(f"unsupported content version {version}")
        content_type = r.pull_uint16()
        message_id = r.pull_bytes(MESSAGE_ID_SIZE)
        sent_at_ms = r.pull_uint64()
        reply_to = r.pull_optional(lambda sub: sub.pull_bytes(MESSAGE_ID_SIZE))
        raw = r.pull_opaque()
        extensions = tuple(r.pull_vector(_pull_extension))
        value: Body
        if content_type == ContentType.TEXT:
            try:
                value = Text(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise DecodeError("text body is not UTF-8", r.position) from None
        else:
            value = Unknown(content_type, raw)
        return Content(message_id, sent_at_ms, value, reply_to, extensions)

    return decode(data, body)
