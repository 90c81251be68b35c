"""Group delivery with real MLS groups: create, commit races, fan-out, membership rules."""

from __future__ import annotations

import base64
from typing import Any

from starlette.testclient import TestClient

from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.mls.credentials import Credential
from letterlock.mls.group import ApplicationMessage, Group
from letterlock.mls.key_packages import KeyPackageBundle, create_key_package
from letterlock.mls.leaf_node import LeafNode, Lifetime
from letterlock.protocol.envelope import Envelope, EnvelopeKind

from ..helpers import Device, b64, signed_up, unb64

SUITE = cipher_suite(1)
GROUP_ID = b"room-1"
GID = base64.urlsafe_b64encode(GROUP_ID).decode().rstrip("=")


def accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """These tests trust every credential; the server applies its own rule."""


def bundle(device: Device, seed: bytes = b"kp") -> KeyPackageBundle:
    return create_key_package(SUITE, credential=Credential.basic(device.handle.encode()),
                              signature_private_key=device.private,
                              lifetime=Lifetime(0, 2**63), rng=SeededRandom(seed + device.public))


def create_group(client: TestClient, owner: Device) -> Group:
    group = Group.create(SUITE, group_id=GROUP_ID, signer=owner.private,
                         credential=Credential.basic(owner.handle.encode()),
                         rng=SeededRandom(owner.public), credential_validator=accept)
    response = client.post("/v1/groups", headers=owner.headers,
                           json={"group_info": b64(group.group_info())})
    assert response.status_code == 201, response.text
    assert response.json() == {"group_id": GID, "epoch": 0}
    return group


def post_commit(client: TestClient, device: Device, commit: bytes, welcome: bytes | None = None,
                msg_id: str = "c") -> Any:
    body: dict[str, Any] = {"client_msg_id": msg_id, "commit": b64(commit)}
    if welcome is not None:
        body["welcome"] = b64(welcome)
    return client.post(f"/v1/groups/{GID}/commit", headers=device.headers, json=body)


def post_message(client: TestClient, device: Device, message: bytes, msg_id: str) -> Any:
    return client.post(f"/v1/groups/{GID}/messages", headers=device.headers,
                       json={"client_msg_id": msg_id, "message": b64(message)})


def envelopes(client: TestClient, device: Device) -> list[Envelope]:
    page = client.get("/v1/mailbox", headers=device.headers).json()
    found = [Envelope.from_bytes(unb64(e["payload"])) for e in page["entries"]]
    if page["entries"]:
        client.post("/v1/mailbox/ack", headers=device.headers,
                    json={"seq": page["entries"][-1]["seq"]})
    return found


def add(client: TestClient, owner: Device, group: Group, new: Device,
        msg_id: str) -> Group:
    """Commit adding ``new``, merge on acceptance, and join ``new`` from its Welcome."""
    kp = bundle(new)
    result = group.commit(add=[kp.key_package])
    response = post_commit(client, owner, result.commit_message, result.welcome, msg_id)
    assert response.status_code == 200, response.text
    group.merge_pending_commit()
    (welcome,) = [e for e in envelopes(client, new) if e.kind == EnvelopeKind.WELCOME]
    assert welcome.group_id == GROUP_ID and welcome.sender_device == owner.device_id
    return Group.join(welcome.message, kp, new.private, rng=SeededRandom(new.public),
                      credential_validator=accept)


def test_group_lifecycle_and_fan_out(client: TestClient) -> None:
    alice, bob, carol = (signed_up(client, h) for h in ("@alice", "@bob", "@carol"))
    a = create_group(client, alice)
    b = add(client, alice, a, bob, "add-bob")
    assert a.epoch_authenticator == b.epoch_authenticator

    info = client.get(f"/v1/groups/{GID}", headers=bob.headers).json()
    assert info["epoch"] == 1
    assert {(m["handle"], m["device_id"]) for m in info["members"]} == {
        ("@alice", alice.device_id), ("@bob", bob.device_id)}

    # An application message reaches every other member, in the group's server order.
    sent = post_message(client, bob, b.encrypt(b"hello alice"), "m1")
    assert sent.status_code == 200 and sent.json()["duplicate"] is False
    (env,) = envelopes(client, alice)
    assert (env.kind, env.group_seq, env.sender_device) == (
        EnvelopeKind.APPLICATION, sent.json()["seq"], bob.device_id)
    (event,) = a.process(env.message)
    assert isinstance(event, ApplicationMessage) and event.data == b"hello alice"
    assert envelopes(client, bob) == []  # no echo to the sender

    # A retried send is delivered once.
    again = post_message(client, bob, b.encrypt(b"hello alice"), "m1")
    assert again.json()["duplicate"] is True and envelopes(client, alice) == []

    # Carol is added; both existing members see the commit, Carol gets the Welcome.
    c = add(client, alice, a, carol, "add-carol")
    for env in envelopes(client, bob):
        assert env.kind == EnvelopeKind.COMMIT
        b.process(env.message)
    assert a.epoch_authenticator == b.epoch_authenticator == c.epoch_authenticator

    # Bob is removed: he is told (the commit reaches him), then he can no longer send.
    bob_leaf = next(m.leaf for m in a.roster() if m.signature_key == bob.public)
    removal = a.commit(remove=[bob_leaf])
    assert post_commit(client, alice, removal.commit_message, msg_id="rm").status_code == 200
    a.merge_pending_commit()
    (gone,) = envelopes(client, bob)
    assert gone.kind == EnvelopeKind.COMMIT
    late = post_message(client, bob, b"whatever", "m2")
    assert late.status_code in (400, 403)
    assert post_message(client, bob, b.encrypt(b"still here?"), "m3").status_code == 403
    members = client.get(f"/v1/groups/{GID}", headers=alice.headers).json()["members"]
    assert {m["handle"] for m in members} == {"@alice", "@carol"}
    assert client.get(f"/v1/groups/{GID}", headers=bob.headers).status_code == 403
    del c


def test_competing_commits_one_wins_the_loser_catches_up(client: TestClient) -> None:
    alice, bob, carol = (signed_up(client, h) for h in ("@alice", "@bob", "@carol"))
    a = create_group(client, alice)
    b = add(client, alice, a, bob, "add-bob")
    ours = a.commit(add=[bundle(carol).key_package])
    theirs = b.commit()  # an update with path, for the same epoch
    assert post_commit(client, bob, theirs.commit_message, msg_id="b1").status_code == 200
    b.merge_pending_commit()
    lost = post_commit(client, alice, ours.commit_message, ours.welcome, msg_id="a1")
    assert lost.status_code == 409
    body = lost.json()
    assert body["error"] == "epoch_advanced" and body["current_epoch"] == 2
    a.discard_pending_commit()
    for commit in body["commits"]:
        a.process(unb64(commit["message"]))
    assert a.epoch_authenticator == b.epoch_authenticator
    # The loser's retry succeeds in the new epoch, and nothing of the lost commit leaked.
    assert [e.kind for e in envelopes(client, carol)] == []
    add(client, alice, a, carol, "a2")
    history = client.get(f"/v1/groups/{GID}/commits?since=1", headers=alice.headers).json()
    assert [c["epoch"] for c in history["commits"]] == [1, 2]


def test_rejections_keep_the_group_intact(client: TestClient) -> None:
    alice, bob, mallory = (signed_up(client, h) for h in ("@alice", "@bob", "@mallory"))
    a = create_group(client, alice)
    b = add(client, alice, a, bob, "add-bob")
    # Not a member: cannot send or read.
    assert post_message(client, mallory, b.encrypt(b"x"), "x").status_code == 403
    assert client.get(f"/v1/groups/{GID}/commits", headers=mallory.headers).status_code == 403
    # Malformed MLS bytes.
    bad = post_message(client, bob, b"\x00\x01garbage", "g")
    assert bad.status_code == 400 and bad.json()["error"] == "bad_mls"
    # A commit sent by another device than the committing leaf's.
    commit = a.commit()
    assert post_commit(client, bob, commit.commit_message, msg_id="steal").status_code == 403
    a.discard_pending_commit()
    # A stale-epoch message gets the commits to catch up with.
    stale = b.encrypt(b"old epoch")
    fresh = a.commit()
    assert post_commit(client, alice, fresh.commit_message, msg_id="e2").status_code == 200
    a.merge_pending_commit()
    conflict = post_message(client, bob, stale, "stale")
    assert conflict.status_code == 409 and len(conflict.json()["commits"]) == 1
    # A commit for a group that does not exist.
    other = Group.create(SUITE, group_id=b"other", signer=alice.private,
                         credential=Credential.basic(b"@alice"), rng=SeededRandom(b"o"),
                         credential_validator=accept)
    missing = client.post("/v1/groups/b3RoZXI/commit", headers=alice.headers, json={
        "client_msg_id": "nope", "commit": b64(other.commit().commit_message)})
    assert missing.status_code == 404
    # A group whose member claims another account's handle is refused.
    forged = Group.create(SUITE, group_id=b"forged", signer=mallory.private,
                          credential=Credential.basic(b"@alice"), rng=SeededRandom(b"f"),
                          credential_validator=accept)
    refused = client.post("/v1/groups", headers=mallory.headers,
                          json={"group_info": b64(forged.group_info())})
    assert refused.status_code == 400 and refused.json()["error"] == "bad_credential"
    # Re-creating an existing group id is a conflict.
    again = client.post("/v1/groups", headers=alice.headers,
                        json={"group_info": b64(a.group_info())})
    assert again.status_code == 409
    # Everything above left the group working: Bob catches up and is heard.
    for accepted in conflict.json()["commits"]:
        b.process(unb64(accepted["message"]))
    assert post_message(client, bob, b.encrypt(b"caught up"), "ok").status_code == 200
    (env,) = [e for e in envelopes(client, alice) if e.kind == EnvelopeKind.APPLICATION]
    (event,) = a.process(env.message)
    assert isinstance(event, ApplicationMessage) and event.data == b"caught up"


def test_proposals_are_cached_for_later_commits(client: TestClient) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    a = create_group(client, alice)
    b = add(client, alice, a, bob, "add-bob")
    proposal = b.propose_update()
    assert post_message(client, bob, proposal, "p1").status_code == 200
    (env,) = envelopes(client, alice)
    assert env.kind == EnvelopeKind.PROPOSAL
    a.process(env.message)
    commit = a.commit()  # commits Bob's update by reference
    assert post_commit(client, alice, commit.commit_message, msg_id="c1").status_code == 200
    a.merge_pending_commit()
    for env in envelopes(client, bob):
        b.process(env.message)
    assert a.epoch_authenticator == b.epoch_authenticator
