"""Request dependencies: the services, the clock, and the authenticated device."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from letterlock.server.services import Services
from letterlock.server.services.errors import Unauthorized
from letterlock.server.store.rows import DeviceRow

__all__ = ["CurrentDevice", "Now", "Svc", "bearer_token", "get_now", "get_services"]


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


def get_now(conn: HTTPConnection) -> int:
    """The app's clock (tests inject one), in whole Unix seconds."""
    return int(conn.app.state.clock())


def bearer_token(conn: HTTPConnection) -> str:
    """The token of an ``Authorization: Bearer`` header; raises Unauthorized.

    Only the header is accepted: a token in a URL would end up in access logs.
    """
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token", "no_token")
    return token.strip()


async def current_device(request: Request) -> DeviceRow:
    return await get_services(request).auth.authenticate(bearer_token(request),
                                                          get_now(request))


# FastAPI runs a plain ``def`` dependency in its thread pool (a thread hop per request);
# these coroutine twins run on the event loop.
async def _services(request: Request) -> Services:
    return get_services(request)


async def _now(request: Request) -> int:
    return get_now(request)


Svc = Annotated[Services, Depends(_services)]
Now = Annotated[int, Depends(_now)]
CurrentDevice = Annotated[DeviceRow, Depends(current_device)]
