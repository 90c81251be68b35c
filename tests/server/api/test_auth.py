"""Challenge and token: the only way to a bearer token is a fresh signed challenge."""

from __future__ import annotations

from starlette.testclient import TestClient

from letterlock.protocol import statements

from ..helpers import Clock, Device, b64, register, signed_up, unb64


def _challenge(client: TestClient, device: Device) -> bytes:
    response = client.post("/v1/auth/challenge", json={"device_id": device.device_id})
    assert response.status_code == 200
    return unb64(response.json()["nonce"])


def _redeem(client: TestClient, device: Device, nonce: bytes, signer: Device | None = None,
            message: bytes | None = None) -> tuple[int, str]:
    signed = message or statements.auth_statement(device.device_id, nonce)
    response = client.post("/v1/auth/token", json={
        "device_id": device.device_id, "nonce": b64(nonce),
        "signature": b64((signer or device).sign(signed))})
    body = response.json()
    return response.status_code, body.get("error") or body.get("token", "")


def test_token_flow(client: TestClient, clock: Clock) -> None:
    alice = register(client, Device("@alice"))
    status, token = _redeem(client, alice, _challenge(client, alice))
    assert status == 200
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/keypackages", headers=headers).status_code == 200
    clock.advance(3601)  # token TTL is one hour
    expired = client.get("/v1/keypackages", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == "Bearer"


def test_missing_and_garbage_tokens(client: TestClient) -> None:
    assert client.get("/v1/keypackages").status_code == 401
    assert client.get("/v1/keypackages", headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.get("/v1/keypackages", headers={"Authorization": "Basic x"}).status_code == 401


def test_challenge_is_single_use(client: TestClient) -> None:
    alice = register(client, Device("@alice"))
    nonce = _challenge(client, alice)
    assert _redeem(client, alice, nonce)[0] == 200
    assert _redeem(client, alice, nonce) == (401, "bad_challenge")


def test_expired_challenge(client: TestClient, clock: Clock) -> None:
    alice = register(client, Device("@alice"))
    nonce = _challenge(client, alice)
    clock.advance(301)
    assert _redeem(client, alice, nonce) == (401, "challenge_expired")


def test_wrong_signature_burns_the_challenge(client: TestClient) -> None:
    alice = register(client, Device("@alice"))
    nonce = _challenge(client, alice)
    assert _redeem(client, alice, nonce, signer=Device("@alice")) == (401, "bad_signature")
    assert _redeem(client, alice, nonce) == (401, "bad_challenge")


def test_signature_without_domain_label_rejected(client: TestClient) -> None:
    alice = register(client, Device("@alice"))
    nonce = _challenge(client, alice)
    assert _redeem(client, alice, nonce, message=nonce) == (401, "bad_signature")


def test_challenge_of_another_device_rejected(client: TestClient) -> None:
    alice = register(client, Device("@alice"))
    bob = signed_up(client, "@bob")
    nonce = _challenge(client, alice)
    # bob signs alice's challenge for himself: the challenge is bound to alice's device
    message = statements.auth_statement(bob.device_id, nonce)
    assert _redeem(client, bob, nonce, message=message) == (401, "bad_challenge")


def test_challenge_for_unknown_device(client: TestClient) -> None:
    response = client.post("/v1/auth/challenge", json={"device_id": "0" * 32})
    assert response.status_code == 404
