"""Sending over the mailbox WebSocket: the same service, answers and errors as
``POST /v1/groups/{id}/messages``, matched to each send by its client message id."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from letterlock.mls.group import ApplicationMessage
from letterlock.protocol.envelope import EnvelopeKind

from ..helpers import Clock, Frames, b64, signed_up
from .test_groups import GID, add, create_group, envelopes, post_commit


def send_frame(msg_id: str, message: bytes, group: str = GID) -> dict[str, Any]:
    return {"type": "send", "id": msg_id, "group": group, "message": b64(message)}


def test_send_over_the_socket_is_answered_and_fanned_out(client: TestClient) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    a = create_group(client, alice)
    b = add(client, alice, a, bob, "add-bob")
    with client.websocket_connect("/v1/ws", headers=bob.headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json(send_frame("m1", b.encrypt(b"over the socket")))
        answer = ws.receive_json()
        assert answer == {"type": "sent", "id": "m1", "seq": answer["seq"], "epoch": 1,
                          "duplicate": False}
        (env,) = envelopes(client, alice)
        assert (env.kind, env.group_seq, env.sender_device) == (
            EnvelopeKind.APPLICATION, answer["seq"], bob.device_id)
        (event,) = a.process(env.message)
        assert isinstance(event, ApplicationMessage) and event.data == b"over the socket"

        # A retry with the same id: answered as a duplicate, delivered once.
        ws.send_json(send_frame("m1", b.encrypt(b"over the socket")))
        assert ws.receive_json() == {"type": "sent", "id": "m1", "seq": 0, "epoch": 1,
                                     "duplicate": True}
        assert envelopes(client, alice) == []

        # Refusals carry the HTTP route's status and error body.
        ws.send_json(send_frame("m2", b"not MLS at all"))
        bad = ws.receive_json()
        assert (bad["type"], bad["id"], bad["status"], bad["error"]) == (
            "error", "m2", 400, "bad_mls")
        other = base64.urlsafe_b64encode(b"no-such-group").decode().rstrip("=")
        ws.send_json(send_frame("m3", b.encrypt(b"lost"), group=other))
        wrong = ws.receive_json()
        assert (wrong["status"], wrong["error"]) == (400, "wrong_group")



def test_stale_epoch_and_non_member_over_the_socket(client: TestClient) -> None:
    alice, bob, carol = (signed_up(client, h) for h in ("@alice", "@bob", "@carol"))
    a = create_group(client, alice)
    b = add(client, alice, a, bob, "add-bob")
    stale = b.encrypt(b"from epoch 1")
    update = a.commit()
    assert post_commit(client, alice, update.commit_message, msg_id="up").status_code == 200
    a.merge_pending_commit()
    with client.websocket_connect("/v1/ws", headers=bob.headers) as ws:
        frames = Frames(ws)
        assert frames.next()["type"] == "hello"
        ws.send_json(send_frame("late", stale))
        answer = frames.next()
        # The commit is pushed to Bob first or after: read until the answer.
        while answer["type"] == "message":
            answer = frames.next()
        assert (answer["type"], answer["id"], answer["status"], answer["error"],
                answer["current_epoch"]) == ("error", "late", 409, "epoch_advanced", 2)
        assert [c["epoch"] for c in answer["commits"]] == [1]
    with client.websocket_connect("/v1/ws", headers=carol.headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json(send_frame("intruder", a.encrypt(b"carol is not a member")))
        refused = ws.receive_json()
        assert (refused["status"], refused["error"]) == (403, "not_a_member")


def test_malformed_send_frames_close_the_socket(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    for frame in ({"type": "send", "id": "x", "group": GID, "message": "!!not base64"},
                  {"type": "send", "id": "", "group": GID, "message": ""},
                  {"type": "send", "id": "x" * 65, "group": GID, "message": ""},
                  {"type": "send", "id": "x", "group": "bad/id", "message": ""}):
        with client.websocket_connect("/v1/ws", headers=alice.headers) as ws:
            assert ws.receive_json()["type"] == "hello"
            ws.send_json(frame)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1003


def test_an_expired_token_loses_the_socket_at_its_next_send(client: TestClient,
                                                             clock: Clock) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    a = create_group(client, alice)
    add(client, alice, a, bob, "add-bob")
    with client.websocket_connect("/v1/ws", headers=alice.headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        clock.advance(2 * 3600)  # past the token's lifetime
        ws.send_json(send_frame("m1", a.encrypt(b"too late")))
        refused = ws.receive_json()
        assert (refused["type"], refused["status"], refused["error"]) == (
            "error", 401, "bad_token")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
