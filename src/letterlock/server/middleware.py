"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer bodies and break
streaming). The app composes them in :func:`letterlock.server.app.create_app`."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLogMiddleware", "BodySizeLimitMiddleware"]

log = logging.getLogger("letterlock.server.access")


class BodySizeLimitMiddleware:
    """Answer 413 to an HTTP request whose body exceeds ``limit`` bytes, judged by its
    Content-Length up front and by counting for bodies sent without one."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await self._reject(send)
                return
        received = 0
        started = rejected = False

        async def limited_receive() -> Message:
            # Past the limit, answer 413 ourselves and tell the app the client left: the
            # app cannot turn this into another status (FastAPI maps body errors to 400).
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request" and not rejected:
                received += len(message.get("body", b""))
                if received > self.limit:
                    rejected = True
                    if not started:
                        await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 is already out; drop whatever the app answers
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not rejected:
                raise

    @staticmethod
    async def _reject(send: Send) -> None:
        body = b'{"error":"too_large","detail":"request body too large"}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class AccessLogMiddleware:
    """One log line per request: method, path (no query string), status, duration, size."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "websocket.accept":
                status = 101
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            size = next((v.decode() for k, v in scope["headers"] if k == b"content-length"),
                        "0")
            log.info("request", extra={
                "method": scope.get("method", "WS"), "path": scope["path"],
                "status": status or 500, "ms": round((time.perf_counter() - start) * 1000, 1),
                "bytes_in": int(size) if size.isdigit() else 0})
