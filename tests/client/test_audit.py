"""``letterlock audit`` over an in-memory log: an honest log passes run after run (the
heads seen persist in the state file); a truncated or rewritten one fails; the server
``--server`` names is the one audited (through the CLI, against a real server); and the
security lines ``receive`` prints."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from letterlock.cli import main
from letterlock.client import NewDeviceOnAccount, SplitViewAlert
from letterlock.client.audit import AuditState, run_audit
from letterlock.client.commands import event_json, event_text
from letterlock.client.content import (
    ContentExtension,
    ContentExtensionType,
    decode_content,
    encode_content,
    extension,
    text,
)
from letterlock.crypto import SeededRandom
from letterlock.server.app import create_app
from letterlock.server.process import free_port
from letterlock.server.settings import Settings
from letterlock.transparency import InconsistentLogError, MerkleLog, TransparencyError

from .kt_fakes import LOG_PUBLIC, FakeLog

KEY = b"\x07" * 32


def audited(log: FakeLog, path: Path) -> None:
    """One audit run that keeps its state in ``path``, like the CLI."""
    state = AuditState.load(path)
    try:
        asyncio.run(run_audit(log, state))
    finally:
        state.save(path)


def honest_log(size: int) -> FakeLog:
    log = FakeLog()
    for n in range(size):
        log.add(f"@user{n % 3}", f"device-{n}", KEY)
    return log


def test_an_honest_log_passes_run_after_run(tmp_path: Path) -> None:
    state_file = tmp_path / "audit.json"
    log = honest_log(5)
    audited(log, state_file)
    log.add("@late", "late-1", KEY)
    audited(log, state_file)
    state = AuditState.load(state_file)
    assert state.log_public_key == LOG_PUBLIC
    assert [h.tree_size for h in state.tree_heads] == [5, 6]
    assert asyncio.run(run_audit(log, state)).entries == 6


def test_a_truncated_log_fails(tmp_path: Path) -> None:
    state_file = tmp_path / "audit.json"
    log = honest_log(6)
    audited(log, state_file)
    # the server drops its last two entries and signs a fresh head for size 4
    log.entries, log.openings = log.entries[:4], log.openings[:4]
    log.merkle = MerkleLog()
    for entry in log.entries:
        log.merkle.append(entry.to_bytes())
    log.heads = {}
    with pytest.raises(InconsistentLogError):
        audited(log, state_file)


def test_a_rewritten_log_fails(tmp_path: Path) -> None:
    state_file = tmp_path / "audit.json"
    log = honest_log(4)
    audited(log, state_file)
    rewritten = FakeLog(name=b"rewritten", now=log.now)
    for n in range(4):
        rewritten.add(f"@user{n % 3}", f"device-{n}", KEY if n != 1 else b"\x08" * 32)
    with pytest.raises(TransparencyError):  # a second root for size 4: a split view
        audited(rewritten, state_file)
    # the evidence stays in the state file: both heads of size 4
    heads = AuditState.load(state_file).tree_heads
    assert [h.tree_size for h in heads] == [4, 4] and heads[0].root_hash != heads[1].root_hash


@contextmanager
def serving(data_dir: Path) -> Iterator[str]:
    """The server app under uvicorn in a thread of this process; yields its base URL.
    (helpers.running_server starts a whole ``letterlock serve`` process: seconds.)"""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(data_dir=data_dir)),
                                           host="127.0.0.1", port=port, log_config=None,
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_audit_without_a_token_needs_a_profile_on_that_server(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = str(tmp_path / "profile")

    def audit(server: str) -> tuple[int, str, str]:
        status = main(["--profile", profile, "--json", "audit", "--server", server])
        out, err = capsys.readouterr()
        return status, out, err

    # no account at all: nothing to log in with
    status, _out, err = audit("http://127.0.0.1:9")
    assert status == 1 and "needs --auditor-token" in json.loads(err)["detail"]
    assert "has no account" in json.loads(err)["detail"]
    with serving(tmp_path / "server") as base:
        assert main(["--profile", profile, "account", "register", "@auditee",
                     "--server", base]) == 0
        capsys.readouterr()
        # the profile's own server (however the URL is spelt): its device logs in
        status, out, _err = audit(base + "/")
        assert status == 0 and json.loads(out)["ok"] and json.loads(out)["entries"] >= 1
        # another server: refused, not the profile's server audited in its place
        status, out, err = audit("http://127.0.0.1:9")
        assert status == 1 and not out
        detail = json.loads(err)["detail"]
        assert "needs --auditor-token" in detail and f"registered on {base}" in detail


def test_gossip_extension_round_trips() -> None:
    head = FakeLog().head().to_bytes()
    content = text("hi", rng=SeededRandom(b"m"), sent_at_ms=1)
    sent = encode_content(type(content)(
        content.client_message_id, 1, content.body,
        extensions=(ContentExtension(ContentExtensionType.KT_TREE_HEAD, head),)))
    assert extension(decode_content(sent), ContentExtensionType.KT_TREE_HEAD) == head
    assert extension(content, ContentExtensionType.KT_TREE_HEAD) is None


def test_receive_prints_security_alerts_boxed() -> None:
    ghost = event_json(NewDeviceOnAccount("@bob", "ghost-1", 7, 0), {})
    assert ghost is not None
    lines = event_text(ghost).splitlines()
    assert len(lines) == 3 and lines[1].startswith("! !! SECURITY:")
    assert "ghost-1" in lines[1] and "@bob" in lines[1]
    split = event_json(SplitViewAlert("two roots for size 3", b"g" * 32, "@carol"),
                       {b"g" * 32: "friends"})
    assert split is not None and split["title"] == "friends"
    assert "!! SECURITY" in event_text(split)
