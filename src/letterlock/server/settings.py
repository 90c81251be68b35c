"""Server settings: one frozen dataclass, built by the CLI or by tests.

Nothing here reads the environment on its own: ``letterlock serve`` turns its options into
a :class:`Settings`, and :func:`default_data_dir` is the only place that knows the XDG rule.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RegistrationMode", "Settings", "default_data_dir"]


class RegistrationMode(enum.StrEnum):
    """Who may create an account: anyone, or only holders of an operator's invite code."""

    OPEN = "open"
    INVITE = "invite"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/letterlock``, or ``~/.local/share/letterlock`` when it is unset."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "letterlock"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to start.

    Times are in seconds and sizes in bytes. ``database_url`` None means SQLite in
    ``data_dir``; ``postgresql://...`` selects PostgreSQL (the async driver is chosen by
    the store, so operators write plain URLs). ``bus_url`` None means the in-process bus
    (one node); ``redis://...`` connects the nodes of a cluster through Redis pub/sub.
    """

    data_dir: Path
    database_url: str | None = None
    bus_url: str | None = None
    registration: RegistrationMode = RegistrationMode.OPEN
    token_ttl: int = 3600
    challenge_ttl: int = 300
    max_body_bytes: int = 1 << 20
    max_frame_bytes: int = 1 << 16
    retention_days: int = 30
    keypackage_low_threshold: int = 10
    max_keypackages_per_upload: int = 100
    mailbox_batch: int = 100

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86400

    def resolved_database_url(self) -> str:
        """The URL to open: the configured one, or the data directory's SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'letterlock.db'}"
