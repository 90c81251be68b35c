"""The SDK's errors, grouped by cause::

    ClientError
    ├── ProfileError           the local profile cannot be used
    │   ├── WrongProfileKey    the key file / passphrase does not open this profile
    │   ├── CorruptProfile     a stored ciphertext fails authentication (tampered, swapped)
    │   └── ProfileInUse       another process (or Client) has this profile open
    ├── NotRegistered          the profile has no account yet (caller misuse)
    ├── AlreadyRegistered      the profile already has an account (caller misuse)
    ├── ProcessingError        a mailbox entry is invalid peer input (raised by processors)
    ├── UnknownIdentity        a credential names a handle/key the directory cache lacks:
    │                          look the handles up, then try again (not a verdict)
    ├── ConversationError      a conversation operation cannot be done (caller misuse:
    │                          unknown conversation, not a member, nobody to add)
    ├── CommitRaceLost         every retry of a commit lost the epoch to another member
    └── TransportError         the server could not be reached or spoke garbage
        └── ServerError        the server answered ``{error, detail}`` with a 4xx/5xx
            ├── AuthError        401 (after one fresh login)
            ├── ForbiddenError   403
            ├── NotFoundError    404
            ├── ConflictError    409
            └── RejectedError    any other 4xx (invalid request)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyRegistered",
    "AuthError",
    "ClientError",
    "ConflictError",
    "CorruptProfile",
    "ForbiddenError",
    "NotFoundError",
    "NotRegistered",
    "ProcessingError",
    "ProfileError",
    "ProfileInUse",
    "RejectedError",
    "ServerError",
    "CommitRaceLost",
    "ConversationError",
    "TransportError",
    "UnknownIdentity",
    "WrongProfileKey",
    "server_error",
]


class ClientError(Exception):
    """Base of every error the SDK raises on purpose."""


class ProfileError(ClientError):
    pass


class WrongProfileKey(ProfileError):
    pass


class CorruptProfile(ProfileError):
    pass


class ProfileInUse(ProfileError):
    """Another letterlock process (or another open Client) holds the profile's lock:
    two writers would overwrite each other's stored MLS state."""


class NotRegistered(ClientError):
    pass


class AlreadyRegistered(ClientError):
    pass


class ProcessingError(ClientError):
    """A mailbox entry is not acceptable input; the pipeline skips it and acknowledges it."""


class UnknownIdentity(ClientError):
    """A credential names devices of ``handles`` that the local directory cache does not
    list. Not a verdict: the caller refreshes those handles from the server and retries;
    only a key still missing after that is rejected."""

    def __init__(self, handles: frozenset[str]) -> None:
        super().__init__(f"unknown devices of {', '.join(sorted(handles))}")
        self.handles = handles


class ConversationError(ClientError):
    pass


class CommitRaceLost(ClientError):
    """Other members' commits won the epoch on every attempt (bounded retries)."""


class TransportError(ClientError):
    pass


class ServerError(TransportError):
    """An error body from the server: ``status``, the machine ``code`` and ``detail``."""

    def __init__(self, status: int, code: str, detail: str,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}  # the whole error body (e.g. epoch_advanced's commits)


class AuthError(ServerError):
    pass


class ForbiddenError(ServerError):
    pass


class NotFoundError(ServerError):
    pass


class ConflictError(ServerError):
    pass


class RejectedError(ServerError):
    pass


_BY_STATUS: dict[int, type[ServerError]] = {
    401: AuthError, 403: ForbiddenError, 404: NotFoundError, 409: ConflictError}


def server_error(status: int, code: str, detail: str,
                 body: dict[str, Any] | None = None) -> ServerError:
    """The typed error for a status and an ``{error, detail}`` body."""
    cls = _BY_STATUS.get(status, RejectedError if 400 <= status < 500 else ServerError)
    return cls(status, code, detail, body)
