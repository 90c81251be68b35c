"""The log key file: created once with mode 0600, reused, never shown; and `letterlock
serve` announces the public key."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from letterlock.server.services.log_key import load_or_create_log_key
from letterlock.server.settings import Settings

from ..test_serve import _wait_healthy


def test_created_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key = load_or_create_log_key(settings)
    path = tmp_path / "data" / "transparency.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes() == key.private and len(key.public) == 32
    assert load_or_create_log_key(settings).public == key.public
    assert key.private.hex() not in repr(key)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_configured_file_and_bad_file(tmp_path: Path) -> None:
    elsewhere = tmp_path / "keys" / "log.key"
    settings = Settings(data_dir=tmp_path / "data", log_key_file=elsewhere)
    key = load_or_create_log_key(settings)
    assert elsewhere.read_bytes() == key.private
    assert not (tmp_path / "data" / "transparency.key").exists()
    elsewhere.write_bytes(b"short")
    with pytest.raises(ValueError):
        load_or_create_log_key(settings)


def test_auditor_tokens_stay_out_of_repr(tmp_path: Path) -> None:
    assert "secret-auditor" not in repr(Settings(data_dir=tmp_path,
                                                 auditor_tokens=("secret-auditor",)))


def test_serve_prints_the_log_key(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "letterlock.cli", "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "data"), "--auditor-token", "auditor-secret-1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        _wait_healthy(f"http://127.0.0.1:{port}", proc)  # the log record is out by then
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
    key = load_or_create_log_key(Settings(data_dir=tmp_path / "data"))
    assert line == f"transparency log key: {base64.b64encode(key.public).decode()}\n"
    logs = err.decode()
    assert base64.b64encode(key.public).decode() in logs
    for secret in (key.private.hex(), base64.b64encode(key.private).decode(),
                   "auditor-secret-1"):
        assert secret not in logs
