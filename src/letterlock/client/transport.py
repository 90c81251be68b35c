"""Talking to the delivery server: HTTP (httpx) and the mailbox WebSocket (websockets).

- :class:`Api`: JSON over HTTP. Logs in by challenge-response (the device signs the
  ``letterlock v1 auth`` statement over a server nonce) and, on a 401, logs in again once
  and retries: tokens are short-lived and never written to disk.
- :class:`MailboxSocket`: the ``/v1/ws`` protocol (hello, message, gap frames, and batch
  frames carrying several of them; ack).
- :class:`Backoff`: exponential backoff with full jitter for reconnects, with injected
  randomness so tests are deterministic.

Server error bodies ``{error, detail}`` become typed :class:`ServerError` subclasses.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from letterlock.codec import DecodeError
from letterlock.protocol.statements import auth_statement
from letterlock.transparency import ConsistencyProof, LogEntry, ProvenEntry, SignedTreeHead

from .errors import AuthError, TransportError, server_error

__all__ = [
    "AccountLog",
    "Api",
    "Backoff",
    "ClaimProof",
    "LogPage",
    "ClaimedKeyPackage",
    "DeviceInfo",
    "EntryFrame",
    "GroupCommit",
    "GroupPosted",
    "GapFrame",
    "Hello",
    "MailboxSocket",
    "PoolStatus",
    "Signer",
]

Signer = Callable[[bytes], bytes]
# The largest mailbox frame accepted: an entry of the server's largest request body
# (1 MiB), in base64 inside JSON, with room to spare.
MAX_FRAME = 4 << 20
# Messages up to this size are sent over the mailbox connection (the server accepts
# frames of 64 KiB by default; base64 and JSON add a third); larger ones over HTTP.
MAX_SOCKET_SEND = 40 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def group_text(group_id: bytes) -> str:
    """A group id as paths and ``send`` frames carry it: unpadded base64url."""
    return base64.urlsafe_b64encode(group_id).rstrip(b"=").decode()


def group_path(group_id: bytes) -> str:
    """``/v1/groups/{gid}``."""
    return "/v1/groups/" + group_text(group_id)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt ``n`` (0-based): ``uniform(0, min(cap, base·2ⁿ))``.

    "Full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015): many
    clients cut off by one server restart spread their reconnects over the whole window
    instead of arriving in waves. ``random`` returns floats in [0, 1).
    """

    random: Callable[[], float]
    base: float = 0.5
    cap: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(self.random() * min(self.cap, self.base * 2.0 ** min(attempt, 62)))


@dataclass(frozen=True, slots=True)
class PoolStatus:
    remaining: int
    low: bool


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: str
    signature_key: bytes
    cipher_suite: int
    created_at: int


@dataclass(frozen=True, slots=True)
class ClaimProof:
    """A claimed KeyPackage's key-transparency proof, still encoded (it is checked, and
    a malformed one refused, by :mod:`letterlock.client.keylog`)."""

    index: int
    proven: bytes
    tree_head: bytes


@dataclass(frozen=True, slots=True)
class ClaimedKeyPackage:
    device_id: str
    key_package: bytes
    last_resort: bool
    transparency: ClaimProof | None = None


@dataclass(frozen=True, slots=True)
class AccountLog:
    """One page of the log's listing for a handle: entries proven against ``tree_head``."""

    tree_head: SignedTreeHead
    entries: tuple[ProvenEntry, ...]


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of the whole log (for auditors): ``(index, entry)`` under ``tree_head``."""

    tree_head: SignedTreeHead
    entries: tuple[tuple[int, LogEntry], ...]


def _decoded(what: str, parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except (DecodeError, KeyError, TypeError, ValueError) as exc:
        raise TransportError(f"malformed {what} from the server: {exc}") from None


def _claim_proof(data: Any) -> ClaimProof | None:
    if not isinstance(data, dict):
        return None
    try:
        return ClaimProof(int(data["index"]), _unb64(data["proven"]), _unb64(data["tree_head"]))
    except (KeyError, TypeError, ValueError):
        return None  # refused later as "no proof", naming the device


@dataclass(frozen=True, slots=True)
class GroupCommit:
    """A commit the server accepted: the epoch it was sent in, its group sequence."""

    epoch: int
    seq: int
    message: bytes

    @classmethod
    def from_json(cls, data: Any) -> GroupCommit:
        return cls(int(data["epoch"]), int(data["seq"]), _unb64(data["message"]))


@dataclass(frozen=True, slots=True)
class GroupPosted:
    """The server's answer to an accepted commit or message."""

    seq: int
    duplicate: bool
    epoch: int | None = None


class Api:
    """The server's HTTP API, as one device sees it.

    ``device_id`` and ``signer`` may be set after registration; a call that needs a token
    logs in first.
    """

    def __init__(self, server_url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 10.0) -> None:
        self.server_url = server_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.server_url, transport=transport,
                                       timeout=timeout)
        self.device_id: str | None = None
        self.signer: Signer | None = None
        self.log_public_key: bytes | None = None  # from the registration answer, if any
        self._token: str | None = None
        self._socket: MailboxSocket | None = None  # while the mailbox connection is open

    async def aclose(self) -> None:
        await self._http.aclose()

    # plumbing -----------------------------------------------------------------------

    async def _send(self, method: str, path: str, body: Any, token: str | None,
                    params: dict[str, int] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            return await self._http.request(method, path, json=body, headers=headers,
                                            params=params)
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _check(response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        body: Any = None
        try:
            body = response.json()
            code, detail = str(body["error"]), str(body["detail"])
        except (ValueError, KeyError, TypeError):
            code, detail = "http_error", response.text[:200]
        raise server_error(response.status_code, code, detail,
                           body if isinstance(body, dict) else None)

    async def call(self, method: str, path: str, body: Any = None, *, auth: bool = True,
                   params: dict[str, int] | None = None) -> Any:
        """One request; with ``auth``, a 401 triggers one fresh login and one retry.

        :raises ServerError: the server's typed error; :raises TransportError: no answer.
        """
        if not auth:
            return self._check(await self._send(method, path, body, None, params))
        token = await self.token()
        response = await self._send(method, path, body, token, params)
        if response.status_code == 401:
            self._token = None
            response = await self._send(method, path, body, await self.token(), params)
        return self._check(response)

    async def token(self) -> str:
        """A bearer token, logging in (challenge-response) if there is none."""
        if self._token is None:
            self._token = await self.login()
        return self._token

    def forget_token(self) -> None:
        self._token = None

    async def login(self) -> str:
        """Challenge-response: sign the server's nonce; returns a fresh token."""
        if self.device_id is None or self.signer is None:
            raise AuthError(401, "not_registered", "this device has no identity yet")
        challenge = await self.call("POST", "/v1/auth/challenge",
                                    {"device_id": self.device_id}, auth=False)
        nonce = _unb64(challenge["nonce"])
        signature = self.signer(auth_statement(self.device_id, nonce))
        issued = await self.call("POST", "/v1/auth/token", {
            "device_id": self.device_id, "nonce": challenge["nonce"],
            "signature": _b64(signature)}, auth=False)
        return str(issued["token"])

    # endpoints ------------------------------------------------------------------------

    async def register(self, handle: str, signature_key: bytes, cipher_suite: int,
                       signature: bytes, invite: str | None) -> str:
        """Create the account with this first device; returns the device id."""
        body: dict[str, Any] = {"handle": handle, "signature_key": _b64(signature_key),
                                "cipher_suite": cipher_suite, "signature": _b64(signature)}
        if invite is not None:
            body["invite"] = invite
        created = await self.call("POST", "/v1/accounts", body, auth=False)
        key = created.get("log_public_key")
        self.log_public_key = None if key is None else _decoded("log key", lambda: _unb64(key))
        return str(created["device_id"])

    async def devices(self, handle: str) -> list[DeviceInfo]:
        listed = await self.call("GET", f"/v1/accounts/{handle}/devices")
        return [DeviceInfo(d["device_id"], _unb64(d["signature_key"]), d["cipher_suite"],
                           d["created_at"]) for d in listed["devices"]]

    async def upload_key_packages(self, key_packages: list[bytes],
                                  last_resort: bytes | None = None) -> PoolStatus:
        body: dict[str, Any] = {"key_packages": [_b64(k) for k in key_packages]}
        if last_resort is not None:
            body["last_resort"] = _b64(last_resort)
        status = await self.call("POST", "/v1/keypackages", body)
        return PoolStatus(status["remaining"], status["low"])

    async def pool_status(self) -> PoolStatus:
        status = await self.call("GET", "/v1/keypackages")
        return PoolStatus(status["remaining"], status["low"])

    async def claim_key_packages(self, handle: str) -> list[ClaimedKeyPackage]:
        """One KeyPackage per device of ``handle`` (one-time ones are consumed)."""
        claimed = await self.call("POST", f"/v1/accounts/{handle}/keypackages/claim")
        return [ClaimedKeyPackage(k["device_id"], _unb64(k["key_package"]),
                                  bool(k["last_resort"]), _claim_proof(k.get("transparency")))
                for k in claimed["key_packages"]]

    # key transparency (see letterlock.transparency) -------------------------------------

    async def transparency_key(self) -> bytes:
        """The log's raw Ed25519 public key (``GET /v1/transparency/key``)."""
        found = await self.call("GET", "/v1/transparency/key", auth=False)
        key: bytes = _decoded("log key", lambda: _unb64(found["public_key"]))
        return key

    async def tree_head(self, since: int) -> tuple[SignedTreeHead, ConsistencyProof | None]:
        """The log's newest signed tree head, with a consistency proof from size
        ``since`` to it (None when ``since`` is 0 or the current size)."""
        found = await self.call("GET", "/v1/transparency/head", auth=False,
                                params={"since": since})

        def parse() -> tuple[SignedTreeHead, ConsistencyProof | None]:
            proof = found.get("consistency")
            return (SignedTreeHead.from_bytes(_unb64(found["tree_head"])),
                    None if proof is None else ConsistencyProof.from_bytes(_unb64(proof)))

        head: tuple[SignedTreeHead, ConsistencyProof | None] = _decoded("tree head", parse)
        return head

    async def account_log(self, handle: str, after: int, limit: int) -> AccountLog:
        """The log's entries for ``handle`` with index > ``after``, with openings and
        inclusion proofs against one tree head."""
        found = await self.call("GET", f"/v1/transparency/accounts/{handle}",
                                params={"after": after, "limit": limit})

        def parse() -> AccountLog:
            return AccountLog(SignedTreeHead.from_bytes(_unb64(found["tree_head"])),
                              tuple(ProvenEntry.from_bytes(_unb64(e["proven"]))
                                    for e in found["entries"]))

        page: AccountLog = _decoded("account log", parse)
        return page

    async def log_entries(self, start: int, limit: int, *,
                          token: str | None = None) -> LogPage:
        """Entries ``start..start+limit`` of the whole log (an auditor's read); with
        ``token`` (an auditor token) instead of this device's login."""
        params = {"start": start, "limit": limit}
        if token is None:
            found = await self.call("GET", "/v1/transparency/entries", params=params)
        else:
            found = self._check(await self._send("GET", "/v1/transparency/entries", None,
                                                 token, params))

        def parse() -> LogPage:
            return LogPage(SignedTreeHead.from_bytes(_unb64(found["tree_head"])),
                           tuple((int(e["index"]), LogEntry.from_bytes(_unb64(e["entry"])))
                                 for e in found["entries"]))

        page: LogPage = _decoded("log page", parse)
        return page

    # groups (see the server's group delivery service) ---------------------------------

    async def create_group(self, group_info: bytes) -> int:
        """Register a new group from its creator's GroupInfo; returns its epoch."""
        created = await self.call("POST", "/v1/groups", {"group_info": _b64(group_info)})
        return int(created["epoch"])

    async def post_commit(self, group_id: bytes, client_msg_id: str, commit: bytes,
                          welcome: bytes | None) -> GroupPosted:
        """Offer a commit for the group's current epoch.

        :raises ConflictError: ``epoch_advanced`` (``body["commits"]`` holds the
            winners) or another conflict.
        """
        body: dict[str, Any] = {"client_msg_id": client_msg_id, "commit": _b64(commit)}
        if welcome is not None:
            body["welcome"] = _b64(welcome)
        done = await self.call("POST", group_path(group_id) + "/commit", body)
        return GroupPosted(int(done["seq"]), bool(done.get("duplicate", False)),
                           int(done["epoch"]))

    async def post_group_message(self, group_id: bytes, client_msg_id: str,
                                 message: bytes) -> GroupPosted:
        """Send application data or a proposal to the group's other devices: over the
        mailbox connection while it is open (no HTTP request per message), else, or if
        that connection fails, over HTTP (the client message id makes a repeat safe)."""
        socket = self._socket
        if socket is not None and len(message) <= MAX_SOCKET_SEND:
            try:
                return await socket.send(group_id, client_msg_id, message)
            except TransportError:
                pass
        done = await self.call("POST", group_path(group_id) + "/messages", {
            "client_msg_id": client_msg_id, "message": _b64(message)})
        return GroupPosted(int(done["seq"]), bool(done.get("duplicate", False)))

    async def group_commits(self, group_id: bytes, since: int) -> list[GroupCommit]:
        """Accepted commits from epoch ``since`` on, in order."""
        listed = await self.call("GET", group_path(group_id) + "/commits",
                                 params={"since": since})
        return [GroupCommit.from_json(c) for c in listed["commits"]]

    async def group(self, group_id: bytes) -> dict[str, Any]:
        """The server's view: ``{group_id, epoch, members: [{leaf, device_id, handle}]}``."""
        found: dict[str, Any] = await self.call("GET", group_path(group_id))
        return found

    @asynccontextmanager
    async def mailbox(self) -> AsyncIterator[MailboxSocket]:
        """Open the mailbox WebSocket with a bearer token.

        :raises AuthError: the handshake was refused (the token is dropped, so the next
            attempt logs in afresh); :raises TransportError: anything else.
        """
        url = "ws" + self.server_url.removeprefix("http") + "/v1/ws"
        token = await self.token()
        try:
            async with connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                               open_timeout=10, max_size=MAX_FRAME) as ws:
                socket = MailboxSocket(ws)
                self._socket = socket
                try:
                    yield socket
                finally:
                    self._socket = None
                    await socket.close()
        except InvalidStatus as exc:
            self._token = None
            raise AuthError(exc.response.status_code, "handshake_refused",
                            "the server refused the mailbox connection") from exc
        except (WebSocketException, OSError, TimeoutError) as exc:
            raise TransportError(f"mailbox connection: {type(exc).__name__}: {exc}") from exc


def _frames_of(raw: str | bytes) -> list[dict[str, Any]]:
    """The frames one WebSocket message carries: itself, or a batch frame's frames."""
    try:
        frame = json.loads(raw)
    except ValueError:
        raise TransportError("mailbox frame is not JSON") from None
    if not isinstance(frame, dict):
        raise TransportError("mailbox frame is not an object")
    if frame.get("type") != "batch":
        return [frame]
    inner = frame.get("frames")
    if not isinstance(inner, list) or not inner \
            or not all(isinstance(f, dict) and f.get("type") != "batch" for f in inner):
        raise TransportError("malformed batch frame")
    return inner


@dataclass(frozen=True, slots=True)
class Hello:
    device_id: str
    acked: int


@dataclass(frozen=True, slots=True)
class EntryFrame:
    seq: int
    sender_device_id: str | None
    payload: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class GapFrame:
    first: int
    last: int


class MailboxSocket:
    """The device's side of ``/v1/ws`` (see the server's ws.py for the protocol).

    A reader task reads every frame as it arrives: the answers to :meth:`send` go to the
    send waiting for them, everything else (hello, message, gap; the frames of a batch
    frame one by one) waits in order for :meth:`hello` and :meth:`next`. So an answer is
    never stuck behind entries the application has not read yet.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._frames: asyncio.Queue[dict[str, Any] | TransportError] = asyncio.Queue()
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._closed: TransportError | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        error = TransportError("the mailbox connection closed")
        try:
            async for raw in self._ws:
                for frame in _frames_of(raw):
                    answer = self._answers.pop(str(frame.get("id")), None) \
                        if frame.get("type") in ("sent", "error") else None
                    if answer is not None:
                        if not answer.done():
                            answer.set_result(frame)
                    else:
                        self._frames.put_nowait(frame)
        except TransportError as exc:
            error = exc
        except (WebSocketException, OSError) as exc:
            error = TransportError(f"mailbox connection: {type(exc).__name__}: {exc}")
        self._closed = error
        self._frames.put_nowait(error)
        for waiting in self._answers.values():
            if not waiting.done():
                waiting.set_exception(error)
        self._answers.clear()

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

    async def _frame(self) -> dict[str, Any]:
        item = await self._frames.get()
        if isinstance(item, TransportError):
            self._frames.put_nowait(item)  # every later read fails the same way
            raise item
        return item

    @property
    def buffered(self) -> bool:
        """Whether frames already received are waiting to be read."""
        return not self._frames.empty()

    async def send(self, group_id: bytes, client_msg_id: str, message: bytes,
                   timeout: float = 30.0) -> GroupPosted:
        """Send application data or a proposal to the group over this connection.

        :raises ServerError: the server's typed refusal (as over HTTP);
            :raises TransportError: the connection closed, or no answer in ``timeout``.
        """
        if self._closed is not None:
            raise self._closed
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[client_msg_id] = answer
        try:
            await self._ws.send(json.dumps({
                "type": "send", "id": client_msg_id, "message": _b64(message),
                "group": group_text(group_id)}))
            frame = await asyncio.wait_for(answer, timeout)
        except (WebSocketException, OSError) as exc:
            raise TransportError(f"mailbox send: {type(exc).__name__}: {exc}") from exc
        except TimeoutError:
            raise TransportError("no answer to a send on the mailbox connection") from None
        finally:
            self._answers.pop(client_msg_id, None)
        try:
            if frame["type"] == "sent":
                return GroupPosted(int(frame["seq"]), bool(frame["duplicate"]),
                                   int(frame["epoch"]))
            raise server_error(int(frame["status"]), str(frame["error"]),
                               str(frame["detail"]), frame)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransportError(f"malformed answer frame: {exc}") from None

    async def hello(self) -> Hello:
        frame = await self._frame()
        if frame.get("type") != "hello":
            raise TransportError(f"expected hello, got {frame.get('type')!r}")
        return Hello(str(frame["device_id"]), int(frame["acked"]))

    async def next(self) -> EntryFrame | GapFrame:
        """The next message or gap frame; unknown frame types are skipped."""
        while True:
            frame = await self._frame()
            try:
                if frame.get("type") == "message":
                    return EntryFrame(int(frame["seq"]), frame.get("sender_device_id"),
                                      _unb64(frame["payload"]), int(frame["created_at"]))
                if frame.get("type") == "gap":
                    return GapFrame(int(frame["first"]), int(frame["last"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise TransportError(f"malformed mailbox frame: {exc}") from None

    async def ack(self, seq: int) -> None:
        """Tell the server it may delete every entry up to ``seq``."""
        await self._ws.send(json.dumps({"type": "ack", "seq": seq}))
