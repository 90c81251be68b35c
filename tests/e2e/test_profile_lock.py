"""One profile, one writer: a second process (or Client) opening a profile that is in use
gets ProfileInUse instead of silently overwriting the other's MLS state: here
``letterlock send`` while ``letterlock receive --follow`` runs on the same profile."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from letterlock.client import ProfileInUse
from letterlock.client.profile import ProfileLock
from letterlock.server.process import ServerProcess

from .helpers import cli, cli_json

MESSAGE = "profile in use by another letterlock process"


def _wait_locked(profile: Path, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "receive exited early"
        try:
            ProfileLock.acquire(profile).release()
        except ProfileInUse:
            return
        time.sleep(0.05)
    raise AssertionError("receive --follow never locked the profile")


def test_cli_send_while_receive_follows(tmp_path: Path) -> None:
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    with ServerProcess(tmp_path / "server", tmp_path / "logs") as server:
        for profile in (alice, bob):
            cli_json(profile, "account", "register", f"@{profile.name}", "--server",
                     server.url)
        follow = subprocess.Popen(
            [sys.executable, "-m", "letterlock.cli", "--profile", str(alice), "--json",
             "receive", "--follow", "--timeout", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_locked(alice, follow)
            busy = cli(alice, "--json", "send", "@bob", "hello")
            assert busy.returncode == 1
            assert json.loads(busy.stderr) == {
                "error": "ProfileInUse", "detail": f"{MESSAGE}: {alice}"}
        finally:
            follow.send_signal(signal.SIGKILL)  # the kernel drops the flock with it
            follow.communicate(timeout=10)
        sent = cli_json(alice, "send", "@bob", "hello")
        assert sent["client_message_id"]
