"""The profile directory and its key: where the SDK keeps one device's state.

Layout (the directory is created 0700)::

    profile.db    SQLite: account, encrypted secrets, contacts, history (see store.py)
    profile.key   32 random bytes, 0600: the profile key (default mode)
    profile.kdf   JSON, 0600: scrypt salt and parameters (passphrase mode, instead of
                  profile.key)
    profile.lock  empty; an open Client holds an exclusive flock(2) on it, so two
                  processes never read-modify-write the same MLS state at once

Secrets are sealed with AES-256-GCM under the profile key. The associated data names the
row a ciphertext belongs to (table, column, row id), so a ciphertext moved to another row
or column fails to open: the database file is not trusted to keep rows in place.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from letterlock.codec import Writer
from letterlock.crypto.random import RandomSource, SystemRandom

from .errors import CorruptProfile, ProfileError, ProfileInUse

__all__ = [
    "KEY_FILE",
    "KDF_FILE",
    "LOCK_FILE",
    "ProfileLock",
    "ProfileKey",
    "ScryptParams",
    "Sealer",
    "default_profile_dir",
    "ensure_profile_dir",
    "load_profile_key",
]

KEY_FILE = "profile.key"
KDF_FILE = "profile.kdf"
LOCK_FILE = "profile.lock"
KEY_SIZE = 32
NONCE_SIZE = 12
_AAD_LABEL = b"letterlock v1 profile row"


def default_profile_dir() -> Path:
    """``$XDG_DATA_HOME/letterlock/profile``, or ``~/.local/share/letterlock/profile``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "letterlock" / "profile"


def ensure_profile_dir(path: Path) -> Path:
    """Create ``path`` (0700) if needed; refuse one that others can read."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask, and skipped if it existed
    return path


class ProfileLock:
    """An exclusive, non-blocking ``flock`` on the profile's lock file.

    Each process that opens a profile would otherwise load the group states, advance
    them and write them back; two of them (``letterlock send`` while ``letterlock
    receive --follow`` runs) would silently overwrite each other's ratchets. The kernel
    drops the lock when its holder exits, even by SIGKILL, so a crash leaves no stale
    lock behind. The lock belongs to this open file description: a second ``acquire``
    in the same process is refused too.
    """

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path) -> ProfileLock:
        """Lock ``directory``'s profile. :raises ProfileInUse: someone else holds it."""
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ProfileInUse(f"profile in use by another letterlock process: "
                                   f"{directory}") from None
            raise
        return cls(fd)

    def release(self) -> None:
        """Unlock (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the flock


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt (RFC 7914) cost: n=2**17, r=8 is 128 MiB of memory per derivation."""

    salt: bytes
    n: int = 2**17
    r: int = 8
    p: int = 1

    def derive(self, passphrase: str) -> bytes:
        return Scrypt(salt=self.salt, length=KEY_SIZE, n=self.n, r=self.r,
                      p=self.p).derive(passphrase.encode())

    def to_json(self) -> bytes:
        return json.dumps({"kdf": "scrypt", "salt": base64.b64encode(self.salt).decode(),
                           "n": self.n, "r": self.r, "p": self.p}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ScryptParams:
        try:
            raw = json.loads(data)
            if raw["kdf"] != "scrypt":
                raise ValueError(raw["kdf"])
            return cls(base64.b64decode(raw["salt"]), int(raw["n"]), int(raw["r"]),
                       int(raw["p"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileError(f"unreadable {KDF_FILE}: {exc}") from None


class ProfileKey:
    """The 32-byte profile key; never printed."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ProfileError("a profile key is 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "ProfileKey(<secret>)"

    def sealer(self, rng: RandomSource) -> Sealer:
        return Sealer(self._key, rng)


def load_profile_key(directory: Path, *, passphrase: str | None = None,
                     rng: RandomSource | None = None,
                     scrypt: ScryptParams | None = None) -> tuple[ProfileKey, bool]:
    """The profile key of ``directory``, creating it on first use.

    Returns ``(key, created)``. A profile made with a passphrase needs it (and one made
    with a key file refuses one). ``scrypt`` sets the parameters of a new passphrase
    profile (tests use a lower cost). Raises ProfileError on a mode mismatch.
    """
    rng = rng or SystemRandom()
    key_file, kdf_file = directory / KEY_FILE, directory / KDF_FILE
    if kdf_file.exists():
        if passphrase is None:
            raise ProfileError("this profile is protected by a passphrase")
        params = ScryptParams.from_json(kdf_file.read_bytes())
        return ProfileKey(params.derive(passphrase)), False
    if key_file.exists():
        if passphrase is not None:
            raise ProfileError("this profile uses a key file, not a passphrase")
        if key_file.stat().st_mode & 0o077:
            # Like ssh with a private key: a key others could read may already be theirs.
            raise ProfileError(f"{key_file} is readable by others; chmod 600 it")
        return ProfileKey(key_file.read_bytes()), False
    if passphrase is not None:
        params = scrypt or ScryptParams(rng.random_bytes(16))
        _write_private(kdf_file, params.to_json())
        return ProfileKey(params.derive(passphrase)), True
    key = rng.random_bytes(KEY_SIZE)
    _write_private(key_file, key)
    return ProfileKey(key), True


class Sealer:
    """AES-256-GCM over one row's cell, bound to where it lives.

    Sealed form: ``nonce (12) || ciphertext || tag``; the AAD is the TLS encoding of
    (label, table, column, row id).
    """

    __slots__ = ("_aead", "_rng")

    def __init__(self, key: bytes, rng: RandomSource) -> None:
        self._aead = AESGCM(key)
        self._rng = rng

    @staticmethod
    def _aad(table: str, column: str, row: str | bytes) -> bytes:
        w = Writer()
        for part in (_AAD_LABEL, table.encode(), column.encode(),
                     row.encode() if isinstance(row, str) else row):
            w.push_opaque(part)
        return w.data

    def seal(self, table: str, column: str, row: str | bytes, plaintext: bytes) -> bytes:
        # Random 96-bit nonces: far below the 2**32 messages-per-key bound of NIST SP
        # 800-38D §8.3 for a single device's profile.
        nonce = self._rng.random_bytes(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, self._aad(table, column, row))

    def open(self, table: str, column: str, row: str | bytes, sealed: bytes) -> bytes:
        """The plaintext; raises CorruptProfile if the cell was altered or moved."""
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:],
                                      self._aad(table, column, row))
        except (InvalidTag, ValueError):
            raise CorruptProfile(f"{table}.{column} does not authenticate") from None
