"""Registration, handles, invites, device approval and removal, through the ASGI app."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from letterlock.protocol import statements
from letterlock.server.app import create_app
from letterlock.server.services import Services
from letterlock.server.settings import RegistrationMode, Settings

from ..helpers import Clock, Device, add_device, b64, login, register, signed_up, unb64


def test_register_and_list_devices(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    response = client.get("/v1/accounts/@alice/devices", headers=alice.headers)
    assert response.status_code == 200
    (device,) = response.json()["devices"]
    assert device["device_id"] == alice.device_id
    assert unb64(device["signature_key"]) == alice.public
    assert device["cipher_suite"] == 1


@pytest.mark.parametrize("handle", ["alice", "@Alice", "@al", "@" + "a" * 33, "@al-ice",
                                    "@ali ce", "@élan", ""])
def test_bad_handles_rejected(client: TestClient, handle: str) -> None:
    response = client.post("/v1/accounts", json=Device(handle).register_body())
    assert response.status_code == 400
    assert response.json()["error"] == "bad_handle"


@pytest.mark.parametrize("handle", ["@abc", "@a.b_c9", "@" + "z" * 32])
def test_good_handles_accepted(client: TestClient, handle: str) -> None:
    register(client, Device(handle))


def test_handle_and_key_taken(client: TestClient) -> None:
    alice = register(client, Device("@alice"))
    assert client.post("/v1/accounts", json=Device("@alice").register_body()).status_code == 409
    again = Device("@alice2", key=alice.key)
    assert client.post("/v1/accounts", json=again.register_body()).status_code == 409


def test_registration_needs_proof_of_possession(client: TestClient) -> None:
    body = Device("@alice").register_body()
    body["signature"] = b64(Device("@mallory").sign(b"anything"))
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"


def test_unsupported_suite_and_short_key(client: TestClient) -> None:
    body = Device("@alice").register_body()
    assert client.post("/v1/accounts", json={**body, "cipher_suite": 2}).status_code == 400
    assert client.post("/v1/accounts",
                       json={**body, "signature_key": b64(b"x" * 31)}).status_code == 400
    assert client.post("/v1/accounts",
                       json={**body, "signature_key": "not base64!"}).status_code == 422


@pytest.fixture
def invite_client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    invite_settings = dataclasses.replace(settings, registration=RegistrationMode.INVITE)
    with TestClient(create_app(invite_settings, clock=clock)) as test_client:
        yield test_client


def test_invite_registration(invite_client: TestClient) -> None:
    client = invite_client
    without = client.post("/v1/accounts", json=Device("@alice").register_body())
    assert without.status_code == 403
    assert without.json()["error"] == "invite_required"
    bogus = client.post("/v1/accounts", json=Device("@alice").register_body("nope"))
    assert bogus.status_code == 403
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    assert client.portal is not None
    code = client.portal.call(services.accounts.create_invite, 0)
    register(client, Device("@alice"), invite=code)
    reused = client.post("/v1/accounts", json=Device("@bob").register_body(code))
    assert reused.status_code == 403


def test_second_device_with_valid_approval(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    laptop = Device("@alice")
    response = add_device(client, alice, laptop)
    assert response.status_code == 201, response.text
    laptop.device_id = response.json()["device_id"]
    login(client, laptop)
    listed = client.get("/v1/accounts/@alice/devices", headers=laptop.headers).json()
    assert {d["device_id"] for d in listed["devices"]} == {alice.device_id, laptop.device_id}


def _approval(client: TestClient, approver: Device, new: Device,
              handle: str = "@alice") -> tuple[dict[str, object], bytes]:
    nonce = client.post(f"/v1/accounts/{handle}/nonces", json={"purpose": "add-device"}).json()
    message = statements.add_device_statement(handle, new.public, new.suite,
                                              unb64(nonce["nonce"]), nonce["expires_at"])
    body: dict[str, object] = {
        "signature_key": b64(new.public), "cipher_suite": new.suite,
        "approver_device_id": approver.device_id, "nonce": nonce["nonce"],
        "approval": b64(approver.sign(message)), "possession": b64(new.sign(message))}
    return body, message


def test_forged_approval_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    mallory = Device("@alice")
    body, message = _approval(client, alice, mallory)
    body["approval"] = b64(mallory.sign(message))  # signed by the new key, not by alice's
    response = client.post("/v1/accounts/@alice/devices", json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"


def test_approval_by_another_accounts_device_rejected(client: TestClient) -> None:
    signed_up(client, "@alice")
    bob = signed_up(client, "@bob")
    body, _ = _approval(client, bob, Device("@alice"))
    assert client.post("/v1/accounts/@alice/devices", json=body).status_code == 403


def test_approval_statement_binds_handle_and_key(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    body, _ = _approval(client, alice, Device("@alice"))
    other = Device("@alice")
    body["signature_key"] = b64(other.public)  # approval was for a different key
    assert client.post("/v1/accounts/@alice/devices", json=body).status_code == 401


def test_replayed_approval_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    body, _ = _approval(client, alice, Device("@alice"))
    assert client.post("/v1/accounts/@alice/devices", json=body).status_code == 201
    replay = client.post("/v1/accounts/@alice/devices", json=body)
    assert replay.status_code == 401
    assert replay.json()["error"] == "bad_nonce"


def test_expired_approval_rejected(client: TestClient, clock: Clock) -> None:
    alice = signed_up(client, "@alice")
    body, _ = _approval(client, alice, Device("@alice"))
    clock.advance(301)
    response = client.post("/v1/accounts/@alice/devices", json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "nonce_expired"


def _remove(client: TestClient, actor: Device, target_id: str) -> int:
    nonce = client.post(f"/v1/accounts/{actor.handle}/nonces",
                        json={"purpose": "remove-device"}).json()
    message = statements.remove_device_statement(actor.handle, target_id, unb64(nonce["nonce"]),
                                                 nonce["expires_at"])
    return client.post(f"/v1/devices/{target_id}/remove", headers=actor.headers, json={
        "nonce": nonce["nonce"], "signature": b64(actor.sign(message))}).status_code


def _second_device(client: TestClient, first: Device) -> Device:
    laptop = Device(first.handle)
    laptop.device_id = add_device(client, first, laptop).json()["device_id"]
    return login(client, laptop)


def test_remove_other_device_revokes_its_tokens(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    laptop = _second_device(client, alice)
    assert client.get("/v1/keypackages", headers=laptop.headers).status_code == 200
    assert _remove(client, alice, laptop.device_id) == 204
    assert client.get("/v1/keypackages", headers=laptop.headers).status_code == 401
    devices = client.get("/v1/accounts/@alice/devices", headers=alice.headers).json()["devices"]
    assert [d["device_id"] for d in devices] == [alice.device_id]


def test_device_removes_itself(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    laptop = _second_device(client, alice)
    assert _remove(client, laptop, laptop.device_id) == 204
    assert client.get("/v1/keypackages", headers=laptop.headers).status_code == 401
    assert client.get("/v1/keypackages", headers=alice.headers).status_code == 200


def test_cannot_remove_last_device_or_someone_elses(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    bob = signed_up(client, "@bob")
    assert _remove(client, bob, alice.device_id) == 403
    assert _remove(client, alice, alice.device_id) == 409


def test_removal_with_forged_signature_rejected(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    laptop = _second_device(client, alice)
    nonce = client.post("/v1/accounts/@alice/nonces", json={"purpose": "remove-device"}).json()
    response = client.post(f"/v1/devices/{laptop.device_id}/remove", headers=alice.headers,
                           json={"nonce": nonce["nonce"], "signature": b64(b"\0" * 64)})
    assert response.status_code == 401
