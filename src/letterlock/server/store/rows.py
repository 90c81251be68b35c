"""What the store returns: frozen rows, decoupled from SQLAlchemy's Row objects."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeviceRow", "MailboxEntry"]


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    account_id: int
    handle: str
    signature_key: bytes
    cipher_suite: int
    created_at: int
    next_seq: int
    acked_seq: int
    expired_through: int


@dataclass(frozen=True, slots=True)
class MailboxEntry:
    seq: int
    sender_device_id: str | None
    payload: bytes
    created_at: int
