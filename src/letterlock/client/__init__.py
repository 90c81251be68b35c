"""The Letterlock client SDK (see DESIGN.md).

Public surface:

- :class:`Client`: one device's session over a profile directory (async), with the
  conversation methods (:class:`Conversation`, :class:`HistoryEntry`,
  :class:`ConversationMember`).
- :mod:`letterlock.client.events`: what :meth:`Client.events` yields.
- :mod:`letterlock.client.content`: the content format inside application messages.
- :mod:`letterlock.client.pipeline`: the :class:`Processor` seam for the group layer.
- :mod:`letterlock.client.errors`: the error hierarchy.
"""

from .client import Account, Client, Device
from .content import Content, ContentType, Text, Unknown, decode_content, encode_content
from .conversations import Conversation, ConversationMember, HistoryEntry
from .errors import (
    AlreadyRegistered,
    AuthError,
    ClientError,
    CommitRaceLost,
    ConflictError,
    ConversationError,
    CorruptProfile,
    ForbiddenError,
    NotFoundError,
    NotRegistered,
    ProcessingError,
    ProfileError,
    ProfileInUse,
    RejectedError,
    ServerError,
    TransportError,
    UnknownIdentity,
    WrongProfileKey,
)
from .events import (
    CommitDue,
    ConnectionState,
    ConnectionStatus,
    ConversationJoined,
    DeliveryGap,
    Error,
    Event,
    KeyPackagesLow,
    MembershipChanged,
    MessageReceived,
    RemovedFromConversation,
)
from .pipeline import (
    GroupStates,
    InboundEntry,
    InboundMessage,
    Processed,
    Processor,
    StateChange,
)

__all__ = [
    "Account",
    "AlreadyRegistered",
    "AuthError",
    "Client",
    "ClientError",
    "CommitDue",
    "CommitRaceLost",
    "ConflictError",
    "ConnectionState",
    "ConnectionStatus",
    "Content",
    "ContentType",
    "Conversation",
    "ConversationError",
    "ConversationJoined",
    "ConversationMember",
    "CorruptProfile",
    "DeliveryGap",
    "Device",
    "Error",
    "Event",
    "ForbiddenError",
    "GroupStates",
    "HistoryEntry",
    "InboundEntry",
    "InboundMessage",
    "KeyPackagesLow",
    "MembershipChanged",
    "MessageReceived",
    "NotFoundError",
    "NotRegistered",
    "Processed",
    "ProcessingError",
    "Processor",
    "ProfileError",
    "ProfileInUse",
    "RejectedError",
    "RemovedFromConversation",
    "ServerError",
    "StateChange",
    "Text",
    "TransportError",
    "Unknown",
    "UnknownIdentity",
    "WrongProfileKey",
    "decode_content",
    "encode_content",
]
