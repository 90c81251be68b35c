"""The outer envelope of everything MLS sends (RFC 9420 §6).

Wire formats are an IANA registry (§17.2), but a body of a format this library does not
know has no length to skip, so an unknown ``wire_format`` is a DecodeError, as is a
``version`` other than mls10 (the layout after it is only defined for mls10).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self, TypeAlias

from letterlock.codec import Reader, Struct, Writer

from ._wire import pull_mls10, pull_tag
from .constants import ProtocolVersion, WireFormat
from .framing import PublicMessage
from .key_package import KeyPackage
from .private_message import PrivateMessage
from .welcome import GroupInfo, Welcome

_HEAD = struct.Struct(">HH")  # version, wire_format
_MLS10 = ProtocolVersion.MLS10  # bound once: Enum class attributes are slow to read

MessageBody: TypeAlias = PublicMessage | PrivateMessage | Welcome | GroupInfo | KeyPackage


def wire_format_of(body: MessageBody) -> WireFormat:
    """The WireFormat that tags ``body`` in an MLSMessage."""
    match body:
        case PublicMessage():
            return WireFormat.PUBLIC_MESSAGE
        case PrivateMessage():
            return WireFormat.PRIVATE_MESSAGE
        case Welcome():
            return WireFormat.WELCOME
        case GroupInfo():
            return WireFormat.GROUP_INFO
        case KeyPackage():
            return WireFormat.KEY_PACKAGE


@dataclass(frozen=True, slots=True)
class MLSMessage(Struct):
    """Any MLS message (§6)::

        struct {
            ProtocolVersion version = mls10;
            WireFormat wire_format;
            select (MLSMessage.wire_format) {
                case mls_public_message:
                    PublicMessage public_message;
                case mls_private_message:
                    PrivateMessage private_message;
                case mls_welcome:
                    Welcome welcome;
                case mls_group_info:
                    GroupInfo group_info;
                case mls_key_package:
                    KeyPackage key_package;
            };
        } MLSMessage;

    ``version`` is always mls10 and ``wire_format`` follows from the type of ``body``.
    """

    body: MessageBody

    @property
    def version(self) -> ProtocolVersion:
        return ProtocolVersion.MLS10

    @property
    def wire_format(self) -> WireFormat:
        return wire_format_of(self.body)

    def push(self, w: Writer) -> None:
        w.push_uint16(ProtocolVersion.MLS10)
        w.push_uint16(self.wire_format)
        self.body.push(w)

    def to_bytes(self) -> bytes:
        return self.encode(self.body)

    @staticmethod
    def encode(body: MessageBody) -> bytes:
        """``MLSMessage(body).to_bytes()`` without building the envelope: every message
        sent is encoded once, as a fixed head and then the body's own encoding
        (PrivateMessage has a direct one, others are cached or pushed)."""
        head = _HEAD.pack(_MLS10, wire_format_of(body))
        if isinstance(body, Welcome | GroupInfo):
            # Pushed, not concatenated: the Writer keeps a large encrypted GroupInfo or
            # ratchet tree by reference, so a 3 MB Welcome is copied once, not twice.
            w = Writer()
            w.push_bytes(head)
            body.push(w)
            return w.data
        return head + body.to_bytes()

    @classmethod
    def pull(cls, r: Reader) -> Self:
        pull_mls10(r, "MLSMessage version")
        body: MessageBody
        match pull_tag(r, WireFormat, "wire_format", width=2):
            case WireFormat.PUBLIC_MESSAGE:
                body = PublicMessage.pull(r)
            case WireFormat.PRIVATE_MESSAGE:
                body = PrivateMessage.pull(r)
            case WireFormat.WELCOME:
                body = Welcome.pull(r)
            case WireFormat.GROUP_INFO:
                body = GroupInfo.pull(r)
            case WireFormat.KEY_PACKAGE:
                body = KeyPackage.pull(r)
        return cls(body)
