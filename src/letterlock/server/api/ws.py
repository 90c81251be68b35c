"""``/v1/ws``: one WebSocket per connected device, pushing its mailbox.

Protocol (JSON text frames)::

    server → device  {"type": "hello", "device_id": ..., "acked": n}
                     {"type": "message", "seq": n, "sender_device_id": ..., "payload": b64,
                      "created_at": t}
                     {"type": "gap", "first": a, "last": b}   entries lost to retention
                     {"type": "sent", "id": ..., "seq": n, "epoch": e, "duplicate": bool}
                     {"type": "error", "id": ..., "status": 409, "error": code,
                      "detail": ..., ...}                      a send was refused
                     {"type": "batch", "frames": [frame, ...]} several of the above,
                                                               in order
    device → server  {"type": "ack", "seq": n}                 deletes entries <= n
                     {"type": "send", "id": client message id, "group": group id
                      (unpadded base64url), "message": b64 MLS message}

Frames that are ready together travel together in one ``batch`` frame (a busy device gets
one frame per turn instead of one per message); a client reads its ``frames`` in order
as if they had come one by one.

A ``send`` is ``POST /v1/groups/{group}/messages`` without the per-request cost of HTTP:
the same service call, the same answers (``sent`` carries what the route's 200 body
does; ``error`` the route's status and error body), matched to the send by its client
message id. A device may have up to :data:`MAX_SENDS_IN_FLIGHT` sends unanswered; past
that the server stops reading its frames until one is answered. Each send
re-authenticates the connection's token (a cached lookup), so a device that is removed,
or whose token expires, loses its connection at its next send (close code 1008). Frames
are limited to ``Settings.max_frame_bytes``: a larger message goes over HTTP.

The handshake must carry ``Authorization: Bearer <token>``; without a valid token the
connection is refused before it is accepted (HTTP 403). After ``hello`` the server sends
everything after the last acknowledged sequence, then each new entry as the bus announces
it. Unacknowledged entries are sent again on the next connection (at-least-once).
Frames larger than ``Settings.max_frame_bytes`` close the connection with 1009.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from letterlock.server.bus import Subscription
from letterlock.server.services import Services
from letterlock.server.services.errors import InvalidInput, ServiceError
from letterlock.server.store.rows import MailboxEntry

from ._errors import error_body, status_of
from .deps import bearer_token, get_now, get_services
from .groups import GROUP_ID, group_id_of
from .schemas import MAX_SEQ

router = APIRouter(prefix="/v1", tags=["mailbox"])
_json = json.JSONEncoder(separators=(",", ":")).encode
MAX_SENDS_IN_FLIGHT = 64
# A batch frame stays under this many characters (clients accept 1 MiB frames by default).
MAX_BATCH_FRAME = 256 * 1024
log = logging.getLogger("letterlock.server.ws")

# RFC 6455 §7.4.1 close codes.
POLICY_VIOLATION = 1008
TOO_BIG = 1009
UNSUPPORTED_DATA = 1003


@router.websocket("/ws")
async def mailbox_socket(websocket: WebSocket) -> None:
    services = get_services(websocket)
    try:
        token = bearer_token(websocket)
        device = await services.auth.authenticate(token, get_now(websocket))
    except ServiceError:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    out = _Out(websocket)
    async with services.bus.subscribe(device.id) as subscription:
        acked = await services.mailbox.acked(device.id)
        await out.send({"type": "hello", "device_id": device.id, "acked": acked})
        pusher = asyncio.create_task(_push(websocket, out, services, device.id, acked,
                                           subscription))
        sends = _Sends(websocket, out, services, token)
        try:
            code = await _read(websocket, services, device.id, sends)
        finally:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
            code = await sends.finish(code)
    log.info("websocket closed", extra={"device_id": device.id, "close_code": code})
    if code is not None:
        await websocket.close(code=code)


class _Out:
    """The connection's outgoing frames. Pushes and send answers come from different
    tasks; every frame queued while the previous one was being written (or in the same
    turn of the event loop) goes out together as one ``batch`` frame, which saves the
    per-frame cost on both sides when a device is busy. ``send`` returns once its frame
    is written, so a slow device slows its producers down."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        # Held, not looked up per frame: on Python 3.11 every asyncio.get_running_loop()
        # (create_task, a bare create_future) makes a getpid() system call.
        self._loop = asyncio.get_running_loop()
        self._queued: list[dict[str, Any] | str] = []
        self._written: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_many([frame])

    async def send_many(self, frames: list[dict[str, Any] | str]) -> None:
        """Queue ``frames`` (dicts, or JSON texts already encoded) and wait until they are
        written."""
        self._queued.extend(frames)
        if self._written is None:
            self._written = self._loop.create_future()
        written = self._written
        if self._writer is None:
            self._writer = self._loop.create_task(self._write())
        await written

    async def _write(self) -> None:
        try:
            while self._queued:
                frames, self._queued = self._queued, []
                written, self._written = self._written, None
                try:
                    for text in _packed([f if isinstance(f, str) else _json(f)
                                         for f in frames]):
                        await self._websocket.send_text(text)
                except BaseException as exc:
                    # The connection is gone: whoever waits for this write or a later one
                    # hears it, nothing more is written.
                    self._queued = []
                    for waiting in (written, self._written):
                        if waiting is not None and not waiting.done():
                            waiting.set_exception(ConnectionError("the device is gone"))
                            waiting.exception()  # retrieved here; each waiter re-raises it
                    self._written = None
                    if not isinstance(exc, Exception):
                        raise
                    return
                if written is not None and not written.done():
                    written.set_result(None)
        finally:
            self._writer = None


def _packed(texts: list[str]) -> list[str]:
    """Frames (JSON texts) packed into as few ``batch`` frames as fit
    :data:`MAX_BATCH_FRAME` characters each; a frame longer than that goes alone."""
    if len(texts) == 1:
        return texts
    packed: list[str] = []
    run: list[str] = []
    size = 0
    for text in texts:
        if run and size + len(text) > MAX_BATCH_FRAME:
            packed.append(_batch(run))
            run, size = [], 0
        run.append(text)
        size += len(text) + 1
    packed.append(_batch(run))
    return packed


def _batch(texts: list[str]) -> str:
    return texts[0] if len(texts) == 1 else '{"type":"batch","frames":[' + ",".join(texts) + "]}"


def _refusal(client_msg_id: str, exc: ServiceError) -> dict[str, Any]:
    """A send's ``error`` answer: the HTTP route's status and error body."""
    return {"type": "error", "id": client_msg_id, "status": status_of(exc), **error_body(exc)}


class _Sends:
    """The device's sends over this connection: each runs as its own task (at most
    :data:`MAX_SENDS_IN_FLIGHT` at once) and is answered on the connection."""

    def __init__(self, websocket: WebSocket, out: _Out, services: Services,
                 token: str) -> None:
        self._websocket = websocket
        self._out = out
        self._services = services
        self._token = token
        self._slots = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
        self._loop = asyncio.get_running_loop()  # held: see _Out
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    async def start(self, client_msg_id: str, group_id: bytes, message: bytes) -> None:
        await self._slots.acquire()  # back-pressure: no more reading until a slot frees
        task = self._loop.create_task(self._run(client_msg_id, group_id, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, client_msg_id: str, group_id: bytes, message: bytes) -> None:
        try:
            now = get_now(self._websocket)
            try:
                device = await self._services.auth.authenticate(self._token, now)
            except ServiceError as exc:  # removed, or the token expired: hang up
                await self._answer(_refusal(client_msg_id, exc))
                if not self.closed:
                    self.closed = True
                    await self._websocket.close(code=POLICY_VIOLATION)
                return
            try:
                accepted = await self._services.delivery.send(device, group_id, client_msg_id,
                                                              message, now)
            except ServiceError as exc:
                await self._answer(_refusal(client_msg_id, exc))
                return
            except Exception:  # a bug: answered like HTTP's 500, the connection goes on
                log.exception("send over the mailbox socket failed")
                await self._answer({"type": "error", "id": client_msg_id, "status": 500,
                                    "error": "internal", "detail": "internal error"})
                return
            await self._answer({"type": "sent", "id": client_msg_id, "seq": accepted.seq,
                                "epoch": accepted.epoch, "duplicate": accepted.duplicate})
        finally:
            self._slots.release()

    async def _answer(self, frame: dict[str, Any]) -> None:
        # If the device left before its answer, the send stands; a retry says so.
        with contextlib.suppress(ConnectionError, WebSocketDisconnect, RuntimeError):
            await self._out.send(frame)

    async def finish(self, code: int | None) -> int | None:
        """Let the sends in progress finish (their writes and answers), then say how the
        connection ends."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return None if self.closed else code


async def _push(websocket: WebSocket, out: _Out, services: Services, device_id: str,
                cursor: int, subscription: Subscription) -> None:
    """Send everything after ``cursor``, then wait for the bus, forever.

    A wake-up whose hints continue exactly at ``cursor`` is pushed from the hints without
    a query (the entries are committed: the hint is published after the commit); any
    other wake-up reads the mailbox, the source of truth, as on connect.
    """
    batch = services.settings.mailbox_batch
    while True:
        page = await services.mailbox.fetch(device_id, cursor, get_now(websocket), batch)
        if page.gap is not None:
            await out.send({"type": "gap", "first": page.gap[0], "last": page.gap[1]})
            cursor = max(cursor, page.gap[1])
        if page.entries:
            await out.send_many([_entry_frame(entry) for entry in page.entries])
            cursor = page.entries[-1].seq
        if len(page.entries) >= batch:
            continue
        while True:
            await subscription.wait()
            hints = subscription.take_hints()
            fresh = [h for h in hints or () if h.seq > cursor]
            if hints is None or any(h.seq != cursor + 1 + i for i, h in enumerate(fresh)):
                break  # something is not in hand: read the mailbox
            if fresh:
                await out.send_many([_entry_frame(entry) for entry in fresh])
                cursor = fresh[-1].seq


def _entry_frame(entry: MailboxEntry) -> str:
    """A ``message`` frame, as JSON text. A group message reaches every member device
    with the same payload and only its mailbox sequence number differs, so the rest of
    the frame is encoded once per message (:func:`_entry_tail`)."""
    tail = _entry_tail(entry.payload, entry.sender_device_id, entry.created_at)
    return f'{{"type":"message","seq":{entry.seq:d},{tail}'



@functools.lru_cache(maxsize=64)
def _entry_tail(payload: bytes, sender_device_id: str | None, created_at: int) -> str:
    # Only ciphertext envelopes, which the database holds anyway; a few, for a moment.
    return _json({"sender_device_id": sender_device_id,
                  "payload": base64.b64encode(payload).decode(),
                  "created_at": created_at})[1:]


async def _read(websocket: WebSocket, services: Services, device_id: str,
                sends: _Sends) -> int | None:
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
        if isinstance(frame, _Send):
            await sends.start(frame.client_msg_id, frame.group_id, frame.message)
            continue
        try:
            await services.mailbox.acknowledge(device_id, frame)
        except ServiceError:
            return POLICY_VIOLATION


@dataclass(frozen=True, slots=True)
class _Send:
    client_msg_id: str
    group_id: bytes
    message: bytes


def _parse(raw: str | bytes) -> int | _Send | None:
    """The sequence of an ``ack`` frame, a ``send``, or None for anything else (which
    closes the connection: a device that speaks the protocol wrongly is told so)."""
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(frame, dict):
        return None
    if frame.get("type") == "ack":
        seq = frame.get("seq")
        valid = isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SEQ
        return seq if valid else None
    if frame.get("type") != "send":
        return None
    client_msg_id, group, message = frame.get("id"), frame.get("group"), frame.get("message")
    if not (isinstance(client_msg_id, str) and 1 <= len(client_msg_id) <= 64
            and isinstance(group, str) and GROUP_ID.fullmatch(group)
            and isinstance(message, str)):
        return None
    try:
        return _Send(client_msg_id, group_id_of(group), base64.b64decode(message, validate=True))
    except (binascii.Error, ValueError, InvalidInput):
        return None
