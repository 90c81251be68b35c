"""The transparency routes, through the ASGI app, on SQLite and PostgreSQL: every answer
is checked as a client would check it, with letterlock.transparency's verifiers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from letterlock.mls.key_package import KeyPackage
from letterlock.server.app import create_app
from letterlock.server.settings import Settings
from letterlock.transparency import (
    HandleOpening,
    InvalidEntryError,
    LogAction,
    LogVerifier,
    MerkleLog,
    ProvenEntry,
    SignedTreeHead,
    audit_log,
    verify_consistency,
)

from ..helpers import Clock, Device, add_device, b64, login, signed_up, unb64
from .kit import account, all_entries, check_proven, follow, head, pinned_key

AUDITOR = "auditor-token-for-tests"


@pytest.fixture
def client(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        auditor_tokens=(AUDITOR,))
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


AUDITOR_HEADERS = {"Authorization": f"Bearer {AUDITOR}"}


def _remove(client: TestClient, actor: Device, target: Device) -> None:
    from letterlock.protocol import statements

    nonce = client.post(f"/v1/accounts/{actor.handle}/nonces",
                        json={"purpose": "remove-device"}).json()
    message = statements.remove_device_statement(actor.handle, target.device_id,
                                                 unb64(nonce["nonce"]), nonce["expires_at"])
    response = client.post(f"/v1/devices/{target.device_id}/remove", headers=actor.headers,
                           json={"nonce": nonce["nonce"], "signature": b64(actor.sign(message))})
    assert response.status_code == 204, response.text


def test_key_is_pinned_at_registration(client: TestClient) -> None:
    device = Device("@alice")
    created = client.post("/v1/accounts", json=device.register_body()).json()
    key = client.get("/v1/transparency/key").json()
    assert created["log_public_key"] == key["public_key"]
    assert unb64(key["log_id"]) == hashlib.sha256(unb64(key["public_key"])).digest()
    device.device_id = created["device_id"]
    login(client, device)
    second = Device("@alice")
    response = add_device(client, device, second)
    assert response.json()["log_public_key"] == key["public_key"]


def test_appends_exactly_on_register_add_remove(client: TestClient, clock: Clock) -> None:
    key = pinned_key(client)
    heads: list[SignedTreeHead] = [head(client)[0]]
    assert heads[0].tree_size == 0
    alice = signed_up(client, "@alice")
    heads.append(head(client)[0])
    phone = Device("@alice")
    phone.device_id = add_device(client, alice, phone).json()["device_id"]
    # Changes that fail append nothing: a taken handle, a taken key, a bad approval.
    assert client.post("/v1/accounts", json=Device("@alice").register_body()).status_code == 409
    clash = Device("@bob", key=alice.key)
    assert client.post("/v1/accounts", json=clash.register_body()).status_code == 409
    intruder = Device("@alice")
    assert add_device(client, Device("@alice", device_id=alice.device_id),
                      intruder).status_code == 401
    # Things that are not device changes append nothing either.
    client.post("/v1/keypackages", headers=alice.headers,
                json={"key_packages": [b64(alice.key_package())]})
    heads.append(head(client)[0])
    assert heads[-1].tree_size == 2
    clock.advance(5)
    _remove(client, alice, phone)
    sth, entries = all_entries(client, alice.headers)
    heads.append(sth)
    assert [(e.action, e.device_id, e.signature_key) for e in entries] == [
        (LogAction.ADDED, alice.device_id, alice.public),
        (LogAction.ADDED, phone.device_id, phone.public),
        (LogAction.REMOVED, phone.device_id, phone.public)]
    assert entries[2].timestamp == entries[1].timestamp + 5000  # milliseconds
    report = audit_log(key, entries, heads)
    assert (report.entries, report.added, report.removed) == (3, 2, 1)
    assert report.removals_of_unknown == ()


def test_consistency_proofs_across_growth(client: TestClient, clock: Clock) -> None:
    verifier = LogVerifier(pinned_key(client))
    assert follow(client, verifier).tree_size == 0
    sizes = []
    for n in range(1, 12):
        signed_up(client, f"@user{n}")
        clock.advance(1)
        if n in (1, 2, 3, 5, 8, 11):
            sizes.append(follow(client, verifier).tree_size)  # raises unless consistent
    assert sizes == [1, 2, 3, 5, 8, 11]
    # Every past size proves consistent with the current head: the old roots come from
    # replaying the entries, as an auditor would.
    current, entries = all_entries(client, AUDITOR_HEADERS)
    replay = MerkleLog()
    for entry in entries:
        replay.append(entry.to_bytes())
    assert replay.root() == current.root_hash
    for since in range(1, 11):
        sth, proof = head(client, since)
        assert proof is not None and sth.root_hash == current.root_hash
        verify_consistency(proof, replay.root(since), sth.root_hash)
    assert head(client, 11)[1] is None and head(client, 0)[1] is None
    assert client.get("/v1/transparency/head", params={"since": 12}).status_code == 400
    assert client.get("/v1/transparency/head", params={"since": -1}).status_code == 422


def test_account_listing_is_that_handles_entries_opened_and_proven(client: TestClient) -> None:
    verifier = LogVerifier(pinned_key(client))
    alice = signed_up(client, "@alice")
    bob = signed_up(client, "@bob")
    laptop = Device("@alice")
    laptop.device_id = add_device(client, alice, laptop).json()["device_id"]
    signed_up(client, "@carol")
    follow(client, verifier)
    sth, proven = account(client, bob, "@alice")
    assert [p.index for p in proven] == [0, 2]
    assert [p.entry.device_id for p in proven] == [alice.device_id, laptop.device_id]
    for item in proven:
        check_proven(verifier, sth, item, "@alice")
        with pytest.raises(InvalidEntryError):  # it opens for @alice, for no one else
            HandleOpening("@bob", item.opening.nonce).check(item.entry.handle_commitment)
    # Paging by index.
    assert [p.index for p in account(client, bob, "@alice", after=0)[1]] == [2]
    assert [p.index for p in account(client, bob, "@alice", limit=1)[1]] == [0]
    assert account(client, bob, "@alice", after=2)[1] == []
    assert account(client, bob, "@nobody")[1] == []
    _sth, bobs = account(client, alice, "@bob")
    assert [p.entry.device_id for p in bobs] == [bob.device_id]
    # The feed carries the same entries, without openings.
    _sth, entries = all_entries(client, bob.headers)
    assert [entries[p.index] for p in proven] == [p.entry for p in proven]
    # Authentication and input checks.
    assert client.get("/v1/transparency/accounts/@alice").status_code == 401
    assert client.get("/v1/transparency/accounts/Alice", headers=bob.headers).status_code == 400
    assert client.get("/v1/transparency/accounts/@alice", headers=bob.headers,
                      params={"limit": 101}).status_code == 422


def test_account_listing_is_rate_limited(client: TestClient, clock: Clock) -> None:
    alice = signed_up(client, "@alice")
    statuses = [client.get("/v1/transparency/accounts/@alice", headers=alice.headers)
                for _ in range(61)]
    assert {r.status_code for r in statuses[:60]} == {200}
    assert statuses[60].status_code == 429
    assert statuses[60].json()["error"] == "rate_limited"
    assert "retry-after" in statuses[60].headers
    clock.advance(2)
    assert client.get("/v1/transparency/accounts/@alice",
                      headers=alice.headers).status_code == 200


def test_entries_need_a_device_or_auditor_token(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    assert client.get("/v1/transparency/entries").status_code == 401
    assert client.get("/v1/transparency/entries",
                      headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    by_auditor = client.get("/v1/transparency/entries", headers=AUDITOR_HEADERS)
    by_device = client.get("/v1/transparency/entries", headers=alice.headers)
    assert by_auditor.status_code == by_device.status_code == 200
    assert by_auditor.json()["entries"] == by_device.json()["entries"]
    assert len(by_auditor.json()["entries"]) == 1
    assert client.get("/v1/transparency/entries", headers=AUDITOR_HEADERS,
                      params={"start": 5}).json()["entries"] == []
    # Public: the key and the head.
    assert client.get("/v1/transparency/key").status_code == 200
    assert client.get("/v1/transparency/head").status_code == 200


def test_audit_over_entries_and_heads_seen(client: TestClient, clock: Clock) -> None:
    key = pinned_key(client)
    heads = []
    devices = []
    for n in range(7):
        devices.append(signed_up(client, f"@member{n}"))
        clock.advance(3)
        heads.append(head(client)[0])
    extra = Device("@member0")
    extra.device_id = add_device(client, devices[0], extra).json()["device_id"]
    _remove(client, devices[0], extra)
    heads.append(head(client)[0])
    sth, entries = all_entries(client, AUDITOR_HEADERS, limit=3)
    report = audit_log(key, entries, [*heads, sth])
    assert report.entries == 9 and report.root_hash == sth.root_hash


def test_claim_carries_the_devices_logged_entry(client: TestClient) -> None:
    verifier = LogVerifier(pinned_key(client))
    alice = signed_up(client, "@alice")
    bob = signed_up(client, "@bob")
    tablet = Device("@bob")
    tablet.device_id = add_device(client, bob, tablet).json()["device_id"]
    login(client, tablet)
    for device in (bob, tablet):
        response = client.post("/v1/keypackages", headers=device.headers, json={
            "key_packages": [b64(device.key_package())],
            "last_resort": b64(device.key_package())})
        assert response.status_code == 200, response.text
    follow(client, verifier)
    body = client.post("/v1/accounts/@bob/keypackages/claim", headers=alice.headers).json()
    assert len(body["key_packages"]) == 2
    for item in body["key_packages"]:
        proof = item["transparency"]
        sth = SignedTreeHead.from_bytes(unb64(proof["tree_head"]))
        proven = ProvenEntry.from_bytes(unb64(proof["proven"]))
        assert proof["index"] == proven.index
        check_proven(verifier, sth, proven, "@bob")
        key_package = KeyPackage.from_bytes(unb64(item["key_package"]))
        assert proven.entry.action is LogAction.ADDED
        assert proven.entry.device_id == item["device_id"]
        assert proven.entry.signature_key == key_package.leaf_node.signature_key
        assert proven.entry.cipher_suite == key_package.cipher_suite
