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
    ├── KeyNotLogged           a device key is not proven in the key-transparency log:
    │                          the device is refused (not added, its commit rejected)
    ├── LogUnavailable         key transparency is on, but the server offers no log
    ├── LinkError              a device-link request or approval cannot be used
                               (malformed, another account's, another profile's)
    └── TransportError         the server could not be reached or spoke garbage
        ├── BadLogAnswer       the key-transparency log answered with entries or proofs
        │                      that do not verify (the server's fault, worth showing)
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
    "BadLogAnswer",
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
    "KeyNotLogged",
    "LinkError",
    "LogUnavailable",
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


class KeyNotLogged(ClientError):
    """The signature key of ``handle``'s device ``device_id`` is not proven in the
    key-transparency log (``reason`` says which check failed). Letterlock refuses such
    a key: the server alone must not be able to add a device to anyone's account."""

    def __init__(self, handle: str, device_id: str, reason: str) -> None:
        super().__init__(f"{handle}'s device {device_id} is not in the key-transparency "
                         f"log ({reason}); it was not added")
        self.handle = handle
        self.device_id = device_id
        self.reason = reason


class LogUnavailable(ClientError):
    """Key transparency is on, but the server offers no log key (a server without key
    transparency): nothing can be checked, so nothing is trusted."""


class LinkError(ClientError):
    """A link request or approval cannot be used: malformed, for another account, or
    made by another profile (caller misuse; see :mod:`letterlock.client.linking`)."""


class TransportError(ClientError):
    pass


class BadLogAnswer(TransportError):
    """The key-transparency log's answer does not verify: an entry for another account,
    a handle commitment that does not open, an inclusion proof that fails."""


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
