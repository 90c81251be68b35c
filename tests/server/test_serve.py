"""End to end: a real ``letterlock serve`` process, real sockets, a real WebSocket."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from websockets.asyncio.client import connect

from letterlock.server.process import free_port

from .helpers import Device, b64, login, register


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited during start-up"
        try:
            if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy in 20 s")


async def _push_over_websocket(ws_url: str, http: httpx2.Client, alice: Device,
                               bob: Device) -> dict[str, object]:
    async with connect(ws_url, additional_headers=bob.headers) as ws:
        hello = json.loads(await ws.recv())
        assert hello == {"type": "hello", "device_id": bob.device_id, "acked": 0}
        response = await asyncio.to_thread(http.post, "/v1/messages", headers=alice.headers,
                                           json={"client_msg_id": "e2e-1",
                                                 "recipients": [bob.device_id],
                                                 "payload": b64(b"ciphertext-e2e")})
        assert response.status_code == 200
        pushed: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "ack", "seq": pushed["seq"]}))
        return pushed


def test_serve_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "letterlock.cli", "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")})
    try:
        _wait_healthy(base, proc)
        with httpx2.Client(base_url=base, timeout=10) as http:
            alice = login(http, register(http, Device("@alice")))
            bob = login(http, register(http, Device("@bob")))
            pushed = asyncio.run(_push_over_websocket(f"ws://127.0.0.1:{port}/v1/ws", http,
                                                      alice, bob))
            assert pushed["type"] == "message" and pushed["seq"] == 1
            assert base64.b64decode(str(pushed["payload"])) == b"ciphertext-e2e"
            assert pushed["sender_device_id"] == alice.device_id
            # the ack frame reached the server: the mailbox is empty
            deadline = time.monotonic() + 5
            while http.get("/v1/mailbox", headers=bob.headers).json()["entries"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert (tmp_path / "data" / "letterlock.db").exists()
    logs = err.decode()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any(line["msg"] == "server stopped" for line in lines)
    # never tokens, message bytes or keys in the logs
    for secret in (alice.token, bob.token, b64(b"ciphertext-e2e"), b64(alice.public)):
        assert secret not in logs
