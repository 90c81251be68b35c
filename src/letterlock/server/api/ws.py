"""``/v1/ws``: one WebSocket per connected device, pushing its mailbox.

Protocol (JSON text frames)::

    server → device  {"type": "hello", "device_id": ..., "acked": n}
                     {"type": "message", "seq": n, "sender_device_id": ..., "payload": b64,
                      "created_at": t}
                     {"type": "gap", "first": a, "last": b}   entries lost to retention
    device → server  {"type": "ack", "seq": n}                 deletes entries <= n

The handshake must carry ``Authorization: Bearer <token>``; without a valid token the
connection is refused before it is accepted (HTTP 403). After ``hello`` the server sends
everything after the last acknowledged sequence, then each new entry as the bus announces
it. Unacknowledged entries are sent again on the next connection (at-least-once).
Frames larger than ``Settings.max_frame_bytes`` close the connection with 1009.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from letterlock.server.bus import Subscription
from letterlock.server.services import Services
from letterlock.server.services.errors import ServiceError
from letterlock.server.store.rows import MailboxEntry

from .deps import bearer_token, get_now, get_services
from .schemas import MAX_SEQ

router = APIRouter(prefix="/v1", tags=["mailbox"])
log = logging.getLogger("letterlock.server.ws")

# RFC 6455 §7.4.1 close codes.
POLICY_VIOLATION = 1008
TOO_BIG = 1009
UNSUPPORTED_DATA = 1003


@router.websocket("/ws")
async def mailbox_socket(websocket: WebSocket) -> None:
    services = get_services(websocket)
    try:
        device = await services.auth.authenticate(bearer_token(websocket), get_now(websocket))
    except ServiceError:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    async with services.bus.subscribe(device.id) as subscription:
        acked = await services.mailbox.acked(device.id)
        await websocket.send_json({"type": "hello", "device_id": device.id, "acked": acked})
        pusher = asyncio.create_task(_push(websocket, services, device.id, acked, subscription))
        try:
            code = await _read(websocket, services, device.id)
        finally:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
    log.info("websocket closed", extra={"device_id": device.id, "close_code": code})
    if code is not None:
        await websocket.close(code=code)


async def _push(websocket: WebSocket, services: Services, device_id: str, cursor: int,
                subscription: Subscription) -> None:
    """Send everything after ``cursor``, then wait for the bus, forever.

    A wake-up whose hints continue exactly at ``cursor`` is pushed from the hints without
    a query (the entries are committed: the hint is published after the commit); any
    other wake-up reads the mailbox, the source of truth, as on connect.
    """
    batch = services.settings.mailbox_batch
    while True:
        page = await services.mailbox.fetch(device_id, cursor, get_now(websocket), batch)
        if page.gap is not None:
            await websocket.send_json({"type": "gap", "first": page.gap[0],
                                       "last": page.gap[1]})
            cursor = max(cursor, page.gap[1])
        for entry in page.entries:
            await _send_entry(websocket, entry)
            cursor = entry.seq
        if len(page.entries) >= batch:
            continue
        while True:
            await subscription.wait()
            hints = subscription.take_hints()
            fresh = [h for h in hints or () if h.seq > cursor]
            if hints is None or any(h.seq != cursor + 1 + i for i, h in enumerate(fresh)):
                break  # something is not in hand: read the mailbox
            for entry in fresh:
                await _send_entry(websocket, entry)
                cursor = entry.seq


async def _send_entry(websocket: WebSocket, entry: MailboxEntry) -> None:
    await websocket.send_json({
        "type": "message", "seq": entry.seq, "sender_device_id": entry.sender_device_id,
        "payload": base64.b64encode(entry.payload).decode(), "created_at": entry.created_at})


async def _read(websocket: WebSocket, services: Services, device_id: str) -> int | None:
    """Handle incoming frames until the device leaves (None) or breaks a rule (a close
    code)."""
    limit = services.settings.max_frame_bytes
    while True:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        raw: str | bytes | None = message.get("text") or message.get("bytes")
        if raw is None:
            continue
        if len(raw) > limit:
            return TOO_BIG
        frame = _parse(raw)
        if frame is None:
            return UNSUPPORTED_DATA
        try:
            await services.mailbox.acknowledge(device_id, frame)
        except ServiceError:
            return POLICY_VIOLATION


def _parse(raw: str | bytes) -> int | None:
    """The sequence of an ``ack`` frame, or None for anything else."""
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") != "ack":
        return None
    seq = frame.get("seq")
    valid = isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SEQ
    return seq if valid else None
