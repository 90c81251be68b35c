"""The Letterlock client SDK (see DESIGN.md).

Public surface:

- :class:`Client`: one device's session over a profile directory (async).
- :mod:`letterlock.client.events`: what :meth:`Client.events` yields.
- :mod:`letterlock.client.content`: the content format inside application messages.
- :mod:`letterlock.client.pipeline`: the :class:`Processor` seam for the group layer.
- :mod:`letterlock.client.errors`: the error hierarchy.
"""

from .client import Account, Client, Device
from .content import Content, ContentType, Text, Unknown, decode_content, encode_content
from .errors import (
    AlreadyRegistered,
    AuthError,
    ClientError,
    ConflictError,
    CorruptProfile,
    ForbiddenError,
    NotFoundError,
    NotRegistered,
    ProcessingError,
    ProfileError,
    RejectedError,
    ServerError,
    TransportError,
    WrongProfileKey,
)
from .events import (
    ConnectionState,
    ConnectionStatus,
    DeliveryGap,
    Error,
    Event,
    KeyPackagesLow,
    MessageReceived,
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
    "ConflictError",
    "ConnectionState",
    "ConnectionStatus",
    "Content",
    "ContentType",
    "CorruptProfile",
    "DeliveryGap",
    "Device",
    "Error",
    "Event",
    "ForbiddenError",
    "GroupStates",
    "InboundEntry",
    "InboundMessage",
    "KeyPackagesLow",
    "MessageReceived",
    "NotFoundError",
    "NotRegistered",
    "ProcessingError",
    "Processed",
    "Processor",
    "ProfileError",
    "RejectedError",
    "ServerError",
    "StateChange",
    "Text",
    "TransportError",
    "Unknown",
    "WrongProfileKey",
    "decode_content",
    "encode_content",
]
