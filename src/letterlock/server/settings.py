"""Server settings: one frozen dataclass, built by the CLI or by tests.

Nothing here reads the environment on its own: ``letterlock serve`` turns its options into
a :class:`Settings`, and :func:`default_data_dir` is the only place that knows the XDG rule.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
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
    # Key transparency: the log's Ed25519 private key file (None: ``transparency.key`` in
    # ``data_dir``, created on first start; every node of a cluster must share one), and
    # the bearer tokens that let auditors read the whole log without a device.
    log_key_file: Path | None = None
    auditor_tokens: tuple[str, ...] = field(default=(), repr=False)

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86400

    def resolved_log_key_file(self) -> Path:
        """The log key file to use: the configured one, or the data directory's."""
        return self.log_key_file or self.data_dir / "transparency.key"

    def resolved_database_url(self) -> str:
        """The URL to open: the configured one, or the data directory's SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'letterlock.db'}"
