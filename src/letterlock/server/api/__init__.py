"""HTTP and WebSocket routes: parse, authenticate, call one service, serialise.

:func:`install` mounts every router and maps service errors to HTTP statuses in one place.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from letterlock.server.services.errors import RateLimited, ServiceError

from . import accounts, auth, groups, health, keypackages, mailbox, transparency, ws
from ._errors import error_body, status_of

__all__ = ["install"]


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ServiceError):  # registered for ServiceError only
        raise exc
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    for module in (health, accounts, auth, keypackages, mailbox, groups, transparency, ws):
        app.include_router(module.router)
    app.add_exception_handler(ServiceError, _service_error)
