"""Service errors as the wire shows them: one status table and one body shape, for HTTP
responses and for the answers to sends over the mailbox WebSocket alike."""

from __future__ import annotations

from letterlock.server.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceError,
    Unauthorized,
)

__all__ = ["error_body", "status_of"]

_STATUS: dict[type[ServiceError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}


def status_of(exc: ServiceError) -> int:
    return next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)


def error_body(exc: ServiceError) -> dict[str, object]:
    """``{"error": code, "detail": message, ...what the client needs to recover}``."""
    return {"error": exc.code, "detail": str(exc), **exc.extra()}
