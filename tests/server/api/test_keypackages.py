"""KeyPackage upload checks and claims through the API."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from letterlock.mls.key_package import KeyPackage

from ..helpers import Device, add_device, b64, login, signed_up, unb64


def _upload(client: TestClient, device: Device, items: list[bytes],
            last_resort: bytes | None = None) -> tuple[int, dict[str, object]]:
    body: dict[str, object] = {"key_packages": [b64(i) for i in items]}
    if last_resort is not None:
        body["last_resort"] = b64(last_resort)
    response = client.post("/v1/keypackages", headers=device.headers, json=body)
    return response.status_code, response.json()


def test_upload_and_status(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    status, body = _upload(client, alice, [alice.key_package() for _ in range(3)])
    assert (status, body) == (200, {"remaining": 3, "low": True})
    status, body = _upload(client, alice, [alice.key_package() for _ in range(10)])
    assert body == {"remaining": 13, "low": False}
    assert client.get("/v1/keypackages", headers=alice.headers).json()["remaining"] == 13


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01", b"\xff" * 200])
def test_garbage_rejected(client: TestClient, garbage: bytes) -> None:
    alice = signed_up(client, "@alice")
    status, body = _upload(client, alice, [alice.key_package(), garbage])
    assert (status, body["error"]) == (400, "bad_key_package")
    assert client.get("/v1/keypackages", headers=alice.headers).json()["remaining"] == 0


def test_trailing_bytes_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    assert _upload(client, alice, [alice.key_package() + b"\0"])[0] == 400


def test_other_devices_key_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    bob = Device("@bob")
    status, body = _upload(client, alice, [bob.key_package()])
    assert (status, body["error"]) == (400, "wrong_key")


def test_bad_signature_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    forged = alice.key_package(signer=Device("@mallory"))
    status, body = _upload(client, alice, [forged])
    assert (status, body["error"]) == (400, "bad_signature")


def test_wrong_suite_and_expired_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    assert _upload(client, alice, [alice.key_package(suite=3)])[0] == 400
    assert _upload(client, alice, [alice.key_package(not_after=1)])[0] == 400


def test_claim_one_per_device_then_last_resort(client: TestClient) -> None:
    bob = signed_up(client, "@bob")
    phone = Device("@bob")
    phone.device_id = add_device(client, bob, phone).json()["device_id"]
    login(client, phone)
    mine = [bob.key_package() for _ in range(2)]
    resort = bob.key_package()
    _upload(client, bob, mine, last_resort=resort)
    phone_kp = phone.key_package()
    _upload(client, phone, [phone_kp])
    alice = signed_up(client, "@alice")

    def claim() -> dict[str, dict[str, object]]:
        response = client.post("/v1/accounts/@bob/keypackages/claim", headers=alice.headers)
        assert response.status_code == 200
        return {c["device_id"]: c for c in response.json()["key_packages"]}

    first = claim()
    assert set(first) == {bob.device_id, phone.device_id}
    assert unb64(str(first[bob.device_id]["key_package"])) == mine[0]
    assert first[bob.device_id]["remaining"] == 1 and first[bob.device_id]["low"] is True
    assert unb64(str(first[phone.device_id]["key_package"])) == phone_kp
    second = claim()
    assert unb64(str(second[bob.device_id]["key_package"])) == mine[1]
    assert set(second) == {bob.device_id}  # the phone has nothing left and no last resort
    for _ in range(2):  # the last-resort KeyPackage is handed out and kept
        again = claim()[bob.device_id]
        assert again["last_resort"] is True and unb64(str(again["key_package"])) == resort
        assert again["remaining"] == 0
    KeyPackage.from_bytes(resort)


def test_claim_unknown_handle(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    response = client.post("/v1/accounts/@nobody/keypackages/claim", headers=alice.headers)
    assert response.status_code == 404
    assert client.post("/v1/accounts/@nobody/keypackages/claim").status_code == 401
