"""Simulated devices for the server benchmark: accounts, logins, real MLS groups, and the
two connections a device holds while it chats.

- :func:`sign_up` registers an account with one device and logs it in (httpx).
- :func:`create_group` builds a real MLS group (:class:`letterlock.mls.group.Group`), has
  the server register it from its GroupInfo and adds every other member in one commit,
  exactly as a client does; only the creator's Group object is kept: the receivers
  never decrypt, so they never join.
- :class:`SocketSender` sends pre-encoded group messages as ``send`` frames on the
  device's mailbox WebSocket (as the SDK does when it is connected), with several sends
  in flight, each answer matched by its client message id.
- :class:`Sender` posts them over raw keep-alive HTTP/1.1 on a loopback socket instead
  (``POST /v1/groups/{id}/messages``): httpx costs the client about a millisecond of CPU
  per request, which on a two-core machine would be taken from the server measured.
- :class:`Receiver` holds the device's WebSocket, notes when each envelope arrives
  (by its group sequence number) and acknowledges what it received.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from websockets.asyncio.client import ClientConnection, connect

from letterlock.client.transport import group_path
from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.mls.credentials import Credential
from letterlock.mls.group import Group
from letterlock.mls.key_packages import create_key_package
from letterlock.mls.leaf_node import LeafNode, Lifetime
from letterlock.protocol.envelope import Envelope, EnvelopeKind
from letterlock.protocol.statements import auth_statement, register_statement

__all__ = ["BenchDevice", "Receiver", "Sender", "SocketSender", "create_group", "encrypted",
           "frames_of", "sign_up"]

SUITE = cipher_suite(1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """The bench trusts every credential; the server applies its own rule."""
    del leaf, previous


@dataclass
class BenchDevice:
    handle: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    device_id: str = ""
    token: str = ""

    @property
    def public(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def private(self) -> bytes:
        return self.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(http: httpx.AsyncClient, handle: str) -> BenchDevice:
    """Register ``handle`` with one new device and log that device in."""
    device = BenchDevice(handle)
    public = device.public
    response = await http.post("/v1/accounts", json={
        "handle": handle, "signature_key": _b64(public), "cipher_suite": 1,
        "signature": _b64(device.key.sign(register_statement(handle, public, 1)))})
    response.raise_for_status()
    device.device_id = response.json()["device_id"]
    challenge = (await http.post("/v1/auth/challenge",
                                 json={"device_id": device.device_id})).json()
    nonce = base64.b64decode(challenge["nonce"])
    response = await http.post("/v1/auth/token", json={
        "device_id": device.device_id, "nonce": challenge["nonce"],
        "signature": _b64(device.key.sign(auth_statement(device.device_id, nonce)))})
    response.raise_for_status()
    device.token = response.json()["token"]
    return device


async def create_group(http: httpx.AsyncClient, group_id: bytes, owner: BenchDevice,
                       others: list[BenchDevice]) -> Group:
    """A real MLS group of ``owner`` and ``others``, registered with the server; returns the
    owner's Group (at epoch 1), ready to encrypt."""
    credential = Credential.basic(owner.handle.encode())
    group = Group.create(SUITE, group_id=group_id, signer=owner.private, credential=credential,
                         rng=SeededRandom(owner.public + group_id), credential_validator=_accept)
    response = await http.post("/v1/groups", headers=owner.headers,
                               json={"group_info": _b64(group.group_info())})
    response.raise_for_status()
    packages = [create_key_package(SUITE, credential=Credential.basic(d.handle.encode()),
                                   signature_private_key=d.private, lifetime=Lifetime(0, 2**63),
                                   rng=SeededRandom(d.public + group_id)).key_package
                for d in others]
    result = group.commit(add=packages)
    body: dict[str, str] = {"client_msg_id": "add-members", "commit": _b64(result.commit_message)}
    if result.welcome is not None:
        body["welcome"] = _b64(result.welcome)
    response = await http.post(group_path(group_id) + "/commit",
                               headers=owner.headers, json=body)
    response.raise_for_status()
    group.merge_pending_commit()
    return group


async def open_mailbox(url: str, device: BenchDevice) -> tuple[ClientConnection, int]:
    """The device's mailbox WebSocket, past its hello: the connection and the device's
    acknowledged sequence. Offers permessage-deflate like the SDK's connection does (the
    websockets default); the server decides whether to accept it."""
    ws = await connect(url, additional_headers=device.headers, max_size=1 << 20,
                       open_timeout=30)
    hello = json.loads(await ws.recv())
    if hello.get("type") != "hello":
        raise RuntimeError(f"unexpected first frame {hello!r}")
    return ws, int(hello["acked"])


class Sender:
    """One keep-alive HTTP/1.1 connection of a device, posting JSON bodies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 token: str) -> None:
        self._reader = reader
        self._writer = writer
        self._head = (b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n")

    @classmethod
    async def open(cls, port: int, device: BenchDevice) -> Sender:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, device.token)

    async def post(self, path: bytes, body: bytes) -> tuple[int, bytes]:
        """Send one request and read its response: ``(status, body)``."""
        self._writer.write(b"POST " + path + b" HTTP/1.1\r\n" + self._head
                           + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError("the server answered without Content-Length")
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


    async def send(self, group: str, client_msg_id: str, message: str) -> int | None:
        """Post one message (base64); its group sequence number, or None if refused."""
        status, body = await self.post(
            f"/v1/groups/{group}/messages".encode(),
            json.dumps({"client_msg_id": client_msg_id, "message": message}).encode())
        return int(json.loads(body)["seq"]) if status == 200 else None


class SocketSender:
    """A device's mailbox WebSocket used to send: ``send`` frames out, ``sent`` / ``error``
    answers in, matched by client message id (pushed entries are ignored: this device
    only sends)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._waiting: dict[str, asyncio.Future[int | None]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, device: BenchDevice) -> SocketSender:
        ws, _acked = await open_mailbox(url, device)
        return cls(ws)

    async def _read(self) -> None:
        async for raw in self._ws:
            for frame in frames_of(raw):
                kind = frame.get("type")
                if kind in ("sent", "error"):
                    waiter = self._waiting.pop(frame["id"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(int(frame["seq"]) if kind == "sent" else None)

    async def send(self, group: str, client_msg_id: str, message: str) -> int | None:
        """Send one message (base64); its group sequence number, or None if refused."""
        waiter: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting[client_msg_id] = waiter
        await self._ws.send(json.dumps({"type": "send", "id": client_msg_id, "group": group,
                                        "message": message}, separators=(",", ":")))
        return await waiter

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self._ws.close()


def frames_of(raw: str | bytes) -> list[dict[str, Any]]:
    """The frames a WebSocket message carries: itself, or a batch frame's frames."""
    frame = json.loads(raw)
    found: list[dict[str, Any]] = frame["frames"] if frame.get("type") == "batch" else [frame]
    return found


def encrypted(group: Group, payload: bytes) -> str:
    """A fresh PrivateMessage carrying ``payload``, base64 as both transports send it."""
    return _b64(group.encrypt(payload))


class Receiver:
    """A device's mailbox WebSocket: records ``(group_id, group_seq, arrival)`` of every
    application envelope and acknowledges entries (see :meth:`flush_ack`)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.arrivals: list[tuple[bytes, int, float]] = []
        self._seen = 0
        self._acked = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, device: BenchDevice) -> Receiver:
        ws, acked = await open_mailbox(url, device)
        receiver = cls(ws)
        receiver._seen = receiver._acked = acked
        return receiver

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for raw in self._ws:
            arrived = time.perf_counter()
            for frame in frames_of(raw):
                if frame.get("type") != "message":
                    continue
                envelope = Envelope.from_bytes(base64.b64decode(frame["payload"]))
                if envelope.kind == EnvelopeKind.APPLICATION:
                    self.arrivals.append((envelope.group_id, envelope.group_seq, arrived))
                self._seen = int(frame["seq"])
            if self._seen - self._acked >= 64:
                await self.flush_ack()

    async def flush_ack(self) -> None:
        """Acknowledge everything received so far (a no-op when nothing is new)."""
        if self._seen > self._acked:
            self._acked = self._seen
            await self._ws.send(json.dumps({"type": "ack", "seq": self._acked}))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._ws.close()
