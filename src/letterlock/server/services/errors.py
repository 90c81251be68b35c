"""What a service raises; the API maps each class to one HTTP status in one place.

Errors::

    ServiceError
    ├── InvalidInput    the request is malformed or breaks a rule (400)
    ├── Unauthorized    no valid proof of who is asking: token, challenge, signature (401)
    ├── Forbidden       authenticated, but not allowed to do this (403)
    ├── NotFound        no such account or device (404)
    ├── Conflict        clashes with existing state: handle or key taken, last device (409)
    └── RateLimited     too many requests of one kind from one caller; retry later (429)

Messages are safe to show to the client and to log: they never contain keys, tokens,
signatures or message bytes.
"""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "RateLimited", "ServiceError",
           "Unauthorized"]


class ServiceError(Exception):
    """Base class; ``code`` is a stable machine-readable name."""

    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def extra(self) -> dict[str, object]:
        """More JSON fields for the error body (what the client needs to recover)."""
        return {}


class InvalidInput(ServiceError):
    code = "invalid"


class Unauthorized(ServiceError):
    code = "unauthorized"


class Forbidden(ServiceError):
    code = "forbidden"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class RateLimited(ServiceError):
    code = "rate_limited"

    def __init__(self, message: str, code: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after

    def extra(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}
