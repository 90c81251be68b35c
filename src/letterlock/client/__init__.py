"""The Letterlock client SDK (see DESIGN.md).

Public surface:

- :class:`Client`: one device's session over a profile directory (async), with the
  conversation methods (:class:`Conversation`, :class:`HistoryEntry`,
  :class:`ConversationMember`).
- :mod:`letterlock.client.events`: what :meth:`Client.events` yields.
- :mod:`letterlock.client.content`: the content format inside application messages.
- :mod:`letterlock.client.pipeline`: the :class:`Processor` seam for the group layer.
- :mod:`letterlock.client.errors`: the error hierarchy.
- :mod:`letterlock.client.linking`: linking a device to an account
  (:class:`LinkRequest`, :class:`LinkApproval`).
- :mod:`letterlock.client.keylog`: key transparency (:class:`KeyLog`), and
  :mod:`letterlock.client.safety`: safety numbers and epoch codes.
"""

from .client import Account, Client, Device
from .content import (
    Content,
    ContentExtensionType,
    ContentType,
    Text,
    Unknown,
    decode_content,
    encode_content,
)
from .conversations import Conversation, ConversationMember, HistoryEntry, SentMessage
from .errors import (
    AlreadyRegistered,
    AuthError,
    ClientError,
    CommitRaceLost,
    ConflictError,
    ConversationError,
    CorruptProfile,
    ForbiddenError,
    KeyNotLogged,
    LinkError,
    LogUnavailable,
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
    ContactDevicesChanged,
    ConversationJoined,
    DeliveryGap,
    DeliveryStatus,
    DeviceRemovedFromAccount,
    Error,
    Event,
    KeyPackagesLow,
    MembershipChanged,
    MessageDelivery,
    MessageReceived,
    NewDeviceOnAccount,
    RemovedFromConversation,
    SplitViewAlert,
)
from .keylog import KeyLog, LoggedDevice
from .linking import LinkApproval, LinkRequest
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
    "ContactDevicesChanged",
    "Content",
    "ContentExtensionType",
    "ContentType",
    "Conversation",
    "ConversationError",
    "ConversationJoined",
    "ConversationMember",
    "CorruptProfile",
    "DeliveryGap",
    "DeliveryStatus",
    "Device",
    "DeviceRemovedFromAccount",
    "Error",
    "Event",
    "ForbiddenError",
    "GroupStates",
    "HistoryEntry",
    "InboundEntry",
    "InboundMessage",
    "KeyLog",
    "KeyNotLogged",
    "KeyPackagesLow",
    "LinkApproval",
    "LinkError",
    "LinkRequest",
    "LogUnavailable",
    "LoggedDevice",
    "MembershipChanged",
    "MessageDelivery",
    "MessageReceived",
    "NewDeviceOnAccount",
    "NotFoundError",
    "NotRegistered",
    "Processed",
    "ProcessingError",
    "Processor",
    "ProfileError",
    "ProfileInUse",
    "RejectedError",
    "RemovedFromConversation",
    "SentMessage",
    "ServerError",
    "SplitViewAlert",
    "StateChange",
    "Text",
    "TransportError",
    "Unknown",
    "UnknownIdentity",
    "WrongProfileKey",
    "decode_content",
    "encode_content",
]
