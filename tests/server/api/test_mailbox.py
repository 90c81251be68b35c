"""Mailboxes over HTTP and the WebSocket: sends, fetch, ack, retention gap, idempotency,
pushes, resume, frame and body size limits."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ..helpers import Clock, Device, Frames, b64, login, signed_up, unb64


def _send(client: TestClient, sender: Device, to: list[Device], payload: bytes,
          msg_id: str) -> dict[str, object]:
    response = client.post("/v1/messages", headers=sender.headers, json={
        "client_msg_id": msg_id, "recipients": [d.device_id for d in to],
        "payload": b64(payload)})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _fetch(client: TestClient, device: Device, after: int = 0) -> dict[str, object]:
    response = client.get(f"/v1/mailbox?after={after}", headers=device.headers)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def _payloads(page: dict[str, object]) -> list[bytes]:
    entries = page["entries"]
    assert isinstance(entries, list)
    return [unb64(e["payload"]) for e in entries]


def test_send_fetch_ack(client: TestClient) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    assert _send(client, alice, [bob], b"one", "m1") == {
        "duplicate": False, "seqs": {bob.device_id: 1}}
    _send(client, alice, [bob, alice], b"two", "m2")
    page = _fetch(client, bob)
    assert _payloads(page) == [b"one", b"two"] and page["gap"] is None
    entries = page["entries"]
    assert isinstance(entries, list)
    assert [e["seq"] for e in entries] == [1, 2]
    assert entries[0]["sender_device_id"] == alice.device_id
    assert _payloads(_fetch(client, bob, after=1)) == [b"two"]
    ack = client.post("/v1/mailbox/ack", headers=bob.headers, json={"seq": 1})
    assert ack.json() == {"acked": 1}
    assert _payloads(_fetch(client, bob)) == [b"two"]
    # acknowledging past the end is capped; acknowledging backwards changes nothing
    assert client.post("/v1/mailbox/ack", headers=bob.headers, json={"seq": 99}).json() == {
        "acked": 2}
    assert client.post("/v1/mailbox/ack", headers=bob.headers, json={"seq": 0}).json() == {
        "acked": 2}
    assert _payloads(_fetch(client, bob)) == []
    assert _payloads(_fetch(client, alice)) == [b"two"]


def test_client_message_ids_make_sends_idempotent(client: TestClient) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    _send(client, alice, [bob], b"hi", "same-id")
    assert _send(client, alice, [bob], b"hi", "same-id") == {"duplicate": True, "seqs": {}}
    _send(client, bob, [alice], b"hi", "same-id")  # ids are per sender
    assert _payloads(_fetch(client, bob)) == [b"hi"]


def test_send_to_unknown_device_enqueues_nothing(client: TestClient) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    response = client.post("/v1/messages", headers=alice.headers, json={
        "client_msg_id": "x", "recipients": [bob.device_id, "f" * 32], "payload": b64(b"p")})
    assert response.status_code == 404
    assert _payloads(_fetch(client, bob)) == []
    # the failed send did not burn its id
    assert _send(client, alice, [bob], b"p", "x")["duplicate"] is False


def test_retention_gap_reported(client: TestClient, clock: Clock) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    _send(client, alice, [bob], b"old1", "a")
    _send(client, alice, [bob], b"old2", "b")
    clock.advance(29 * 86400)
    login(client, alice)  # tokens live an hour: log in afresh after the jump
    _send(client, alice, [bob], b"new", "c")
    clock.advance(2 * 86400)  # the first two are now past 30 days
    login(client, bob)
    page = _fetch(client, bob)
    assert _payloads(page) == [b"new"]
    assert page["gap"] == {"first": 1, "last": 2}
    assert _fetch(client, bob, after=2)["gap"] is None


def test_body_size_limit(client: TestClient) -> None:
    alice = signed_up(client, "@alice")
    big = b64(b"x" * (1 << 20))
    response = client.post("/v1/messages", headers=alice.headers, json={
        "client_msg_id": "big", "recipients": [alice.device_id], "payload": big})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"

    def chunks() -> object:
        yield b'{"handle": "'
        for _ in range(40):
            yield b"a" * 32768

    chunked = client.post("/v1/accounts", content=chunks(),  # type: ignore[arg-type]
                          headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_websocket_push_resume_and_ack(client: TestClient) -> None:
    alice, bob = signed_up(client, "@alice"), signed_up(client, "@bob")
    _send(client, alice, [bob], b"before", "m0")
    with client.websocket_connect("/v1/ws", headers=bob.headers) as ws:
        assert ws.receive_json() == {"type": "hello", "device_id": bob.device_id, "acked": 0}
        first = ws.receive_json()
        assert (first["type"], first["seq"], unb64(first["payload"])) == ("message", 1,
                                                                          b"before")
        _send(client, alice, [bob], b"pushed", "m1")
        second = ws.receive_json()
        assert (second["seq"], unb64(second["payload"])) == (2, b"pushed")
        ws.send_json({"type": "ack", "seq": 1})
        _send(client, alice, [bob], b"third", "m2")
        assert ws.receive_json()["seq"] == 3
    # reconnect: resumes after the last acknowledged sequence (1)
    with client.websocket_connect("/v1/ws", headers=bob.headers) as ws:
        frames = Frames(ws)  # the two entries may come in one batch frame
        assert frames.next()["acked"] == 1
        assert [frames.next()["seq"] for _ in range(2)] == [2, 3]


def test_websocket_needs_a_token(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:  # noqa: SIM117
        with client.websocket_connect("/v1/ws"):
            pass
    assert refused.value.code == 1008
    with pytest.raises(WebSocketDisconnect):  # noqa: SIM117
        with client.websocket_connect("/v1/ws", headers={"Authorization": "Bearer nope"}):
            pass


@pytest.mark.parametrize(("frame", "code"), [("x" * 70000, 1009), ("not json", 1003),
                                            ('{"type": "ack", "seq": -1}', 1003)])
def test_websocket_rejects_bad_frames(client: TestClient, frame: str, code: int) -> None:
    bob = signed_up(client, "@bob")
    with client.websocket_connect("/v1/ws", headers=bob.headers) as ws:
        ws.receive_json()
        ws.send_text(frame)
        message = ws.receive()
        assert message == {"type": "websocket.close", "code": code, "reason": ""}


def test_out_of_range_sequence_numbers_are_refused_not_crashes(client: TestClient) -> None:
    # Found by schemathesis: a sequence beyond signed 64 bits reached the database.
    bob = signed_up(client, "@bob")
    huge = 2**70
    assert client.get(f"/v1/mailbox?after={huge}", headers=bob.headers).status_code == 422
    assert client.post("/v1/mailbox/ack", headers=bob.headers,
                       json={"seq": huge}).status_code == 422
    with client.websocket_connect("/v1/ws", headers=bob.headers) as ws:
        ws.receive_json()
        ws.send_json({"type": "ack", "seq": huge})
        assert ws.receive()["code"] == 1003
    assert client.get("/v1/mailbox", headers=bob.headers).status_code == 200
