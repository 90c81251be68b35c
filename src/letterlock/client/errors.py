"""The SDK's errors, grouped by cause::

    ClientError
    ├── ProfileError           the local profile cannot be used
    │   ├── WrongProfileKey    the key file / passphrase does not open this profile
    │   └── CorruptProfile     a stored ciphertext fails authentication (tampered, swapped)
    ├── NotRegistered          the profile has no account yet (caller misuse)
    ├── AlreadyRegistered      the profile already has an account (caller misuse)
    ├── ProcessingError        a mailbox entry is invalid peer input (raised by processors)
    └── TransportError         the server could not be reached or spoke garbage
        └── ServerError        the server answered ``{error, detail}`` with a 4xx/5xx
            ├── AuthError        401 (after one fresh login)
            ├── ForbiddenError   403
            ├── NotFoundError    404
            ├── ConflictError    409
            └── RejectedError    any other 4xx (invalid request)
"""

from __future__ import annotations

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
    "RejectedError",
    "ServerError",
    "TransportError",
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


class NotRegistered(ClientError):
    pass


class AlreadyRegistered(ClientError):
    pass


class ProcessingError(ClientError):
    """A mailbox entry is not acceptable input; the pipeline skips it and acknowledges it."""


class TransportError(ClientError):
    pass


class ServerError(TransportError):
    """An error body from the server: ``status``, the machine ``code`` and ``detail``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


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


def server_error(status: int, code: str, detail: str) -> ServerError:
    """The typed error for a status and an ``{error, detail}`` body."""
    cls = _BY_STATUS.get(status, RejectedError if 400 <= status < 500 else ServerError)
    return cls(status, code, detail)
