"""Message framing on the wire (RFC 9420 §6, §6.1, §6.2, §8.2).

The content every handshake and application message carries (:class:`FramedContent`),
its authentication (:class:`FramedContentAuthData`), the structures signed and MACed
over it (:class:`FramedContentTBS`, :class:`AuthenticatedContentTBM`), the unencrypted
:class:`PublicMessage`, and the transcript-hash inputs of §8.2. The encrypted form is in
:mod:`letterlock.mls.private_message`, the outer envelope in
:mod:`letterlock.mls.mls_message`. Signing, MACs and the sender/content-type rules are
applied by the protection code; here is only the shape of the bytes.

Several layouts depend on values found elsewhere in the message (the content type
selects whether a confirmation tag follows; the sender type whether a membership tag
or a GroupContext does). Each container checks on construction that its parts agree
(UsageError otherwise), and its decoder reads exactly what those values select.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self, TypeAlias

from letterlock.codec import Reader, Struct, Writer, decode, encode_varint, fast_init

from ._wire import pull_mls10, pull_tag, require
from .commit import Commit
from .constants import ContentType, ProtocolVersion, SenderType, WireFormat
from .group_context import GroupContext
from .proposals import Proposal

# Fixed-width parts of FramedContent and FramedContentTBS, for their direct encoders.
_U16_U16 = struct.Struct(">HH")
_U64 = struct.Struct(">Q")
_U8_U32 = struct.Struct(">BI")
_U32_MAX, _U64_MAX = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
_APPLICATION = bytes((ContentType.APPLICATION,))
# The senders whose content is signed together with the GroupContext (§6.1).
_SIGNED_WITH_CONTEXT = (SenderType.MEMBER, SenderType.NEW_MEMBER_COMMIT)
# Enum members read for every message, bound once: in Python 3.11 reading an attribute
# of an Enum class goes through EnumType's Python-level hooks (about 0.1 µs each).
_APPLICATION_TYPE, _PROPOSAL_TYPE, _COMMIT_TYPE = (ContentType.APPLICATION,
                                                   ContentType.PROPOSAL, ContentType.COMMIT)
_MEMBER, _MLS10 = SenderType.MEMBER, ProtocolVersion.MLS10


@fast_init  # built for every message
@dataclass(frozen=True, slots=True)
class Sender(Struct):
    """Who sent a message (§6)::

        struct {
            SenderType sender_type;
            select (Sender.sender_type) {
                case member:
                    uint32 leaf_index;
                case external:
                    uint32 sender_index;
                case new_member_commit:
                case new_member_proposal:
                    struct{};
            };
        } Sender;

    ``leaf_index`` is set exactly for members, ``sender_index`` (an index into the
    ``external_senders`` extension) exactly for external senders; UsageError otherwise.
    Prefer the :meth:`member`, :meth:`external`, :meth:`new_member_proposal` and
    :meth:`new_member_commit` constructors.
    """

    sender_type: SenderType
    leaf_index: int | None = None
    sender_index: int | None = None

    def __post_init__(self) -> None:
        require((self.leaf_index is not None) == (self.sender_type == SenderType.MEMBER),
                "leaf_index is set exactly for member senders")
        require((self.sender_index is not None) == (self.sender_type == SenderType.EXTERNAL),
                "sender_index is set exactly for external senders")

    @classmethod
    def member(cls, leaf_index: int) -> Self:
        return cls(SenderType.MEMBER, leaf_index=leaf_index)

    @classmethod
    def external(cls, sender_index: int) -> Self:
        return cls(SenderType.EXTERNAL, sender_index=sender_index)

    @classmethod
    def new_member_proposal(cls) -> Self:
        return cls(SenderType.NEW_MEMBER_PROPOSAL)

    @classmethod
    def new_member_commit(cls) -> Self:
        return cls(SenderType.NEW_MEMBER_COMMIT)

    def push(self, w: Writer) -> None:
        w.push_uint8(self.sender_type)
        if self.leaf_index is not None:
            w.push_uint32(self.leaf_index)
        if self.sender_index is not None:
            w.push_uint32(self.sender_index)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        sender_type = pull_tag(r, SenderType, "sender_type", width=1)
        if sender_type == SenderType.MEMBER:
            return cls(sender_type, leaf_index=r.pull_uint32())
        if sender_type == SenderType.EXTERNAL:
            return cls(sender_type, sender_index=r.pull_uint32())
        return cls(sender_type)


ContentBody: TypeAlias = bytes | Proposal | Commit
"""The ``select (content_type)`` part of framed content: application data as bytes, a
Proposal or a Commit. The content type follows from the Python type."""


def content_type_of(body: ContentBody) -> ContentType:
    """The ContentType that selects ``body``'s layout."""
    # Application data first: it is what almost every message carries.
    if isinstance(body, bytes):
        return _APPLICATION_TYPE
    if isinstance(body, Proposal):
        return _PROPOSAL_TYPE
    if isinstance(body, Commit):
        return _COMMIT_TYPE
    return _APPLICATION_TYPE


def push_content_body(w: Writer, body: ContentBody) -> None:
    """The content without its type (the type travels elsewhere or just before)."""
    if isinstance(body, bytes):
        w.push_opaque(body)
    else:
        body.push(w)


def pull_content_body(r: Reader, content_type: ContentType) -> ContentBody:
    """The content whose layout ``content_type`` selects."""
    if content_type == ContentType.APPLICATION:
        return r.pull_opaque()
    if content_type == ContentType.PROPOSAL:
        return Proposal.pull(r)
    return Commit.pull(r)


@fast_init  # built for every message
@dataclass(frozen=True, slots=True)
class FramedContent(Struct):
    """The content of a message and who sent it where (§6)::

        struct {
            opaque group_id<V>;
            uint64 epoch;
            Sender sender;
            opaque authenticated_data<V>;

            ContentType content_type;
            select (FramedContent.content_type) {
                case application:
                  opaque application_data<V>;
                case proposal:
                  Proposal proposal;
                case commit:
                  Commit commit;
            };
        } FramedContent;
    """

    group_id: bytes
    epoch: int
    sender: Sender
    authenticated_data: bytes
    body: ContentBody

    @property
    def content_type(self) -> ContentType:
        return content_type_of(self.body)

    def push(self, w: Writer) -> None:
        w.push_opaque(self.group_id)
        w.push_uint64(self.epoch)
        self.sender.push(w)
        w.push_opaque(self.authenticated_data)
        w.push_uint8(self.content_type)
        push_content_body(w, self.body)

    def to_bytes(self) -> bytes:
        # Inside every FramedContentTBS, so encoded for each signature made or checked:
        # application data from a member (nearly every message) is joined directly.
        body, leaf, epoch = self.body, self.sender.leaf_index, self.epoch
        if isinstance(body, bytes) and leaf is not None and 0 <= leaf <= _U32_MAX \
                and 0 <= epoch <= _U64_MAX:
            group_id, authenticated_data = self.group_id, self.authenticated_data
            return b"".join((encode_varint(len(group_id)), group_id, _U64.pack(epoch),
                             _U8_U32.pack(_MEMBER, leaf),
                             encode_varint(len(authenticated_data)), authenticated_data,
                             _APPLICATION, encode_varint(len(body)), body))
        return Struct.to_bytes(self)  # raises EncodeError as push() does

    @classmethod
    def pull(cls, r: Reader) -> Self:
        group_id, epoch, sender = r.pull_opaque(), r.pull_uint64(), Sender.pull(r)
        authenticated_data = r.pull_opaque()
        content_type = pull_tag(r, ContentType, "content_type", width=1)
        return cls(group_id, epoch, sender, authenticated_data,
                   pull_content_body(r, content_type))


@fast_init  # built for every message
@dataclass(frozen=True, slots=True)
class FramedContentAuthData:
    """A message's signature, and for commits its confirmation tag (§6.1)::

        struct {
            /* SignWithLabel(., "FramedContentTBS", FramedContentTBS) */
            opaque signature<V>;
            select (FramedContent.content_type) {
                case commit:
                    /* MAC(confirmation_key,
                           GroupContext.confirmed_transcript_hash) */
                    MAC confirmation_tag;
                case application:
                case proposal:
                    struct{};
            };
        } FramedContentAuthData;

    Not a standalone :class:`~letterlock.codec.Struct`: whether a confirmation tag
    follows is chosen by the content type of the message around it, so decoding takes
    that content type. The containers check that ``confirmation_tag`` is set exactly for
    commit content.
    """

    signature: bytes
    confirmation_tag: bytes | None = None

    def push(self, w: Writer) -> None:
        w.push_opaque(self.signature)
        if self.confirmation_tag is not None:
            w.push_opaque(self.confirmation_tag)

    @classmethod
    def pull(cls, r: Reader, content_type: ContentType) -> Self:
        signature = r.pull_opaque()
        if content_type == ContentType.COMMIT:
            return cls(signature, r.pull_opaque())
        return cls(signature)

    def to_bytes(self) -> bytes:
        w = Writer()
        self.push(w)
        return w.data

    @classmethod
    def from_bytes(cls, data: bytes, content_type: ContentType) -> Self:
        """Exactly one auth-data value for content of ``content_type``; DecodeError else."""
        return decode(data, lambda r: cls.pull(r, content_type))


def _check_auth(content: FramedContent, auth: FramedContentAuthData) -> None:
    require((auth.confirmation_tag is not None) == isinstance(content.body, Commit),
            "auth has a confirmation_tag exactly when the content is a commit")


@dataclass(frozen=True, slots=True)
class FramedContentTBS(Struct):
    """What a message's signature covers (§6.1)::

        struct {
            ProtocolVersion version = mls10;
            WireFormat wire_format;
            FramedContent content;
            select (FramedContentTBS.content.sender.sender_type) {
                case member:
                case new_member_commit:
                    GroupContext context;
                case external:
                case new_member_proposal:
                    struct{};
            };
        } FramedContentTBS;

    ``context`` is set exactly for member and new_member_commit senders.
    """

    wire_format: WireFormat
    content: FramedContent
    context: GroupContext | None = None

    def __post_init__(self) -> None:
        in_group = self.content.sender.sender_type in _SIGNED_WITH_CONTEXT
        require((self.context is not None) == in_group,
                "context is set exactly for member and new_member_commit senders")

    def push(self, w: Writer) -> None:
        w.push_uint16(ProtocolVersion.MLS10)
        w.push_uint16(self.wire_format)
        self.content.push(w)
        if self.context is not None:
            self.context.push(w)

    def to_bytes(self) -> bytes:
        return self.encode(self.wire_format, self.content, self.context)

    @classmethod
    def encode(cls, wire_format: WireFormat, content: FramedContent,
               context: GroupContext | None) -> bytes:
        """``FramedContentTBS(wire_format, content, context).to_bytes()``, without
        building the value: every signature made or checked (§6.1) needs only these
        bytes. The context's encoding is cached (CachedStruct) and the content has a
        direct encoder. UsageError as the constructor raises it."""
        in_group = content.sender.sender_type in _SIGNED_WITH_CONTEXT
        if (context is not None) != in_group or not 0 <= wire_format <= 0xFFFF:
            return Struct.to_bytes(cls(wire_format, content, context))  # raises
        head = _U16_U16.pack(_MLS10, wire_format)
        if context is None:
            return head + content.to_bytes()
        return b"".join((head, content.to_bytes(), context.to_bytes()))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        pull_mls10(r, "version")
        wire_format = pull_tag(r, WireFormat, "wire_format", width=2)
        content = FramedContent.pull(r)
        if content.sender.sender_type in _SIGNED_WITH_CONTEXT:
            return cls(wire_format, content, GroupContext.pull(r))
        return cls(wire_format, content)


@fast_init  # built for every message
@dataclass(frozen=True, slots=True)
class AuthenticatedContent(Struct):
    """Framed content with its authentication, before protection (§6.1)::

        struct {
            WireFormat wire_format;
            FramedContent content;
            FramedContentAuthData auth;
        } AuthenticatedContent;
    """

    wire_format: WireFormat
    content: FramedContent
    auth: FramedContentAuthData

    def __post_init__(self) -> None:
        _check_auth(self.content, self.auth)

    def push(self, w: Writer) -> None:
        w.push_uint16(self.wire_format)
        self.content.push(w)
        self.auth.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        wire_format = pull_tag(r, WireFormat, "wire_format", width=2)
        content = FramedContent.pull(r)
        return cls(wire_format, content, FramedContentAuthData.pull(r, content.content_type))


@dataclass(frozen=True, slots=True)
class AuthenticatedContentTBM(Struct):
    """What a PublicMessage's membership tag covers (§6.2)::

        struct {
          FramedContentTBS content_tbs;
          FramedContentAuthData auth;
        } AuthenticatedContentTBM;
    """

    content_tbs: FramedContentTBS
    auth: FramedContentAuthData

    def __post_init__(self) -> None:
        _check_auth(self.content_tbs.content, self.auth)

    def push(self, w: Writer) -> None:
        self.content_tbs.push(w)
        self.auth.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        tbs = FramedContentTBS.pull(r)
        return cls(tbs, FramedContentAuthData.pull(r, tbs.content.content_type))


@dataclass(frozen=True, slots=True)
class PublicMessage(Struct):
    """A signed, unencrypted message (§6.2)::

        struct {
            FramedContent content;
            FramedContentAuthData auth;
            select (PublicMessage.content.sender.sender_type) {
                case member:
                    MAC membership_tag;
                case external:
                case new_member_commit:
                case new_member_proposal:
                    struct{};
            };
        } PublicMessage;

    ``membership_tag`` is set exactly when the sender is a member (UsageError otherwise).
    """

    content: FramedContent
    auth: FramedContentAuthData
    membership_tag: bytes | None = None

    def __post_init__(self) -> None:
        _check_auth(self.content, self.auth)
        require((self.membership_tag is not None)
                == (self.content.sender.sender_type == SenderType.MEMBER),
                "membership_tag is set exactly for member senders")

    def push(self, w: Writer) -> None:
        self.content.push(w)
        self.auth.push(w)
        if self.membership_tag is not None:
            w.push_opaque(self.membership_tag)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        content = FramedContent.pull(r)
        auth = FramedContentAuthData.pull(r, content.content_type)
        if content.sender.sender_type == SenderType.MEMBER:
            return cls(content, auth, r.pull_opaque())
        return cls(content, auth)


@dataclass(frozen=True, slots=True)
class ConfirmedTranscriptHashInput(Struct):
    """Hashed into the confirmed transcript hash (§8.2)::

        struct {
            WireFormat wire_format;
            FramedContent content; /* with content_type == commit */
            opaque signature<V>;
        } ConfirmedTranscriptHashInput;

    The codec does not insist on commit content; the transcript code only builds this
    from commits.
    """

    wire_format: WireFormat
    content: FramedContent
    signature: bytes

    def push(self, w: Writer) -> None:
        w.push_uint16(self.wire_format)
        self.content.push(w)
        w.push_opaque(self.signature)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(pull_tag(r, WireFormat, "wire_format", width=2), FramedContent.pull(r),
                   r.pull_opaque())


@dataclass(frozen=True, slots=True)
class InterimTranscriptHashInput(Struct):
    """``struct { MAC confirmation_tag; } InterimTranscriptHashInput;`` (§8.2)"""

    confirmation_tag: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.confirmation_tag)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque())
