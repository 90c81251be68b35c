"""The transparency log's signing key: a raw Ed25519 private key in a file of its own.

The file (``transparency.key`` in the data directory unless ``Settings.log_key_file``
names another) is created on first start with mode 0600, holding the 32 raw private
bytes and nothing else. The key never leaves it except into this process's memory: no
route, log line or error message carries it. Every node of a cluster must read the same
file, or the nodes would sign heads under different keys.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from letterlock.server.settings import Settings

__all__ = ["LogKey", "load_or_create_log_key"]

log = logging.getLogger("letterlock.server.transparency")
_KEY_SIZE = 32


class LogKey:
    """The log's key pair. ``repr`` shows only the public half."""

    __slots__ = ("_private", "public")

    def __init__(self, private: bytes) -> None:
        key = Ed25519PrivateKey.from_private_bytes(private)
        self._private = private
        self.public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def private(self) -> bytes:
        """The raw private key, for :meth:`SignedTreeHead.sign` only."""
        return self._private

    def __repr__(self) -> str:
        return f"LogKey(public={self.public.hex()})"


def load_or_create_log_key(settings: Settings) -> LogKey:
    """Read the log key file, creating it (0600, a fresh key) when it does not exist.

    Raises:
        ValueError: the file exists but does not hold a 32-byte Ed25519 private key.
        OSError: it cannot be read or created.
    """
    path = settings.resolved_log_key_file()
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                         NoEncryption())
    # Written in full to a private temporary file, then linked into place: link() fails
    # if the file exists, so when two processes start at once one key wins, the other
    # process reads it, and no one ever reads a half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(private)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created the transparency log key", extra={"path": str(path)})
    return LogKey(private)


def _read(path: Path) -> LogKey:
    data = path.read_bytes()
    if len(data) != _KEY_SIZE:
        raise ValueError(f"{path} does not hold a raw {_KEY_SIZE}-byte Ed25519 private key")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the transparency log key file is readable by others",
                    extra={"path": str(path)})
    return LogKey(data)
