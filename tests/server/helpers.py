"""Test doubles for the server tests: a device with an Ed25519 key (pyca), KeyPackages it
signs, a controllable clock, and a client-side walk through registration and login."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from httpx2 import Client as TestClient

from letterlock.crypto import cipher_suite
from letterlock.mls.constants import LeafNodeSource, ProtocolVersion
from letterlock.mls.credentials import Credential
from letterlock.mls.key_package import KeyPackageTBS
from letterlock.mls.leaf_node import Capabilities, LeafNodeTBS, Lifetime
from letterlock.protocol import statements

NOW = 1_800_000_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass
class Clock:
    """The app's clock in tests: starts at NOW, moves only when told."""

    now: float = NOW

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Device:
    """A device played by the test: its key, and (once registered) its id and token."""

    handle: str
    suite: int = 1
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    device_id: str = ""
    token: str = ""

    @property
    def public(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def private(self) -> bytes:
        return self.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def register_body(self, invite: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "handle": self.handle, "signature_key": b64(self.public), "cipher_suite": self.suite,
            "signature": b64(self.sign(statements.register_statement(
                self.handle, self.public, self.suite)))}
        if invite is not None:
            body["invite"] = invite
        return body

    def key_package(self, *, signer: Device | None = None, not_after: int = NOW + 86400 * 90,
                    suite: int | None = None) -> bytes:
        """A valid KeyPackage whose leaf names this device's key, signed by ``signer``
        (default: this device)."""
        suite_id = self.suite if suite is None else suite
        cs = cipher_suite(suite_id)
        signer = signer or self
        leaf_tbs = LeafNodeTBS(
            encryption_key=os.urandom(32), signature_key=self.public,
            credential=Credential.basic(self.handle.encode()),
            capabilities=Capabilities(versions=(1,), cipher_suites=(suite_id,)),
            leaf_node_source=LeafNodeSource.KEY_PACKAGE,
            lifetime=Lifetime(NOW - 3600, not_after))
        leaf = leaf_tbs.signed(cs.sign_with_label(signer.private, "LeafNodeTBS",
                                                  leaf_tbs.to_bytes()))
        tbs = KeyPackageTBS(ProtocolVersion.MLS10, suite_id, os.urandom(32), leaf)
        return tbs.signed(cs.sign_with_label(signer.private, "KeyPackageTBS",
                                             tbs.to_bytes())).to_bytes()


def register(client: TestClient, device: Device, invite: str | None = None) -> Device:
    response = client.post("/v1/accounts", json=device.register_body(invite))
    assert response.status_code == 201, response.text
    device.device_id = response.json()["device_id"]
    return device


def login(client: TestClient, device: Device) -> Device:
    challenge = client.post("/v1/auth/challenge", json={"device_id": device.device_id}).json()
    nonce = unb64(challenge["nonce"])
    response = client.post("/v1/auth/token", json={
        "device_id": device.device_id, "nonce": challenge["nonce"],
        "signature": b64(device.sign(statements.auth_statement(device.device_id, nonce)))})
    assert response.status_code == 200, response.text
    device.token = response.json()["token"]
    return device


def signed_up(client: TestClient, handle: str) -> Device:
    """A registered, logged-in first device of a new account."""
    return login(client, register(client, Device(handle)))


def add_device(client: TestClient, approver: Device, new: Device) -> Any:
    """Ask for an add-device nonce and post the approval; returns the response."""
    nonce = client.post(f"/v1/accounts/{new.handle}/nonces",
                        json={"purpose": "add-device"}).json()
    message = statements.add_device_statement(new.handle, new.public, new.suite,
                                              unb64(nonce["nonce"]), nonce["expires_at"])
    return client.post(f"/v1/accounts/{new.handle}/devices", json={
        "signature_key": b64(new.public), "cipher_suite": new.suite,
        "approver_device_id": approver.device_id, "nonce": nonce["nonce"],
        "approval": b64(approver.sign(message)), "possession": b64(new.sign(message))})


class Frames:
    """A test WebSocket's frames one by one, the frames of a ``batch`` frame in order."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._unread: list[dict[str, Any]] = []

    def next(self) -> dict[str, Any]:
        while not self._unread:
            frame: dict[str, Any] = self._ws.receive_json()
            self._unread.extend(frame["frames"] if frame.get("type") == "batch" else [frame])
        return self._unread.pop(0)
