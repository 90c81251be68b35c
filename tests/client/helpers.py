"""Test doubles for the client tests: a processor that reads plain Content payloads (the
group layer will supply the real one), and a running ``letterlock serve``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from letterlock.client import (
    GroupStates,
    InboundEntry,
    InboundMessage,
    Processed,
    ProcessingError,
    StateChange,
)
from letterlock.client.content import decode_content
from letterlock.codec import DecodeError

CONVERSATION = b"test-conversation"


class PlainContentProcessor:
    """Treats each payload as encoded Content of one conversation and counts entries in
    that conversation's "group state", so state writes go through the same transaction."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def process(self, entry: InboundEntry, states: GroupStates) -> Processed:
        self.calls.append(entry.seq)
        try:
            content = decode_content(entry.payload)
        except DecodeError as exc:
            raise ProcessingError(str(exc)) from None
        count = int(states.get(CONVERSATION) or b"0") + 1
        return Processed((StateChange(CONVERSATION, str(count).encode()),),
                         InboundMessage(CONVERSATION, entry.sender_device_id or "?", content))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """A ``letterlock serve`` process on a free loopback port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "letterlock.cli", "serve", "--port", str(port),
         "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(data_dir / "xdg")})
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "server exited during start-up"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become healthy in 20 s"
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
