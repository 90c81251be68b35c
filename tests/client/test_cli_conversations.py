"""The conversation commands of the ``letterlock`` CLI, as subprocesses against a real
server: send (1:1 on first use), receive, and group create/add/remove/leave/list/members."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .helpers import running_server


def _cli(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "letterlock.cli", "--profile", str(profile), *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(profile.parent / "xdg")})


def _json(profile: Path, *args: str) -> Any:
    done = _cli(profile, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _receive(profile: Path) -> list[dict[str, Any]]:
    done = _cli(profile, "--json", "receive", "--timeout", "1.5")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_cli_send_receive_and_groups(tmp_path: Path) -> None:
    cat, dan, eve = (tmp_path / name for name in ("cat", "dan", "eve"))
    with running_server(tmp_path / "server") as base:
        for profile in (cat, dan, eve):
            _json(profile, "account", "register", f"@{profile.name}", "--server", base)

        # --- 1:1: created on first send, and answered -----------------------------------
        sent = _json(cat, "send", "@dan", "hello dan")
        got = _receive(dan)
        assert [e["type"] for e in got] == ["joined", "message"]
        assert got[1]["sender"] == "@cat" and got[1]["text"] == "hello dan"
        assert got[1]["conversation"] == sent["conversation"]
        assert _cli(dan, "send", "@cat", "hi cat").returncode == 0
        human = _cli(cat, "receive", "--timeout", "1.5")
        assert human.returncode == 0 and "[@dan] @dan: hi cat" in human.stdout

        # --- a group: create, add, members, send, remove, list --------------------------
        created = _json(cat, "group", "create", "crew", "@dan")
        assert created["name"] == "crew" and created["members"] == ["@cat", "@dan"]
        _json(cat, "group", "add", "crew", "@eve")
        members = _json(cat, "group", "members", "crew")["members"]
        assert sorted(m["handle"] for m in members) == ["@cat", "@dan", "@eve"]
        _json(cat, "send", "crew", "hi crew")
        got = _receive(eve)
        assert [e["type"] for e in got] == ["joined", "message"]
        assert got[1]["text"] == "hi crew"
        _json(cat, "group", "remove", "crew", "@dan")
        got = _receive(dan)
        assert [e["type"] for e in got] == ["joined", "membership", "message", "removed"]
        listed = _json(cat, "group", "list")["conversations"]
        assert [(c["direct"], c["members"]) for c in listed] == \
            [(True, ["@cat", "@dan"]), (False, ["@cat", "@eve"])]

        # --- eve leaves: cat's client commits her request while receiving ---------------
        eve_group = created["id"][:12]
        _json(eve, "group", "leave", eve_group)
        got = _receive(cat)
        assert any(e["type"] == "membership" and e["removed"] == ["@eve"] for e in got)
        assert [e["type"] for e in _receive(eve)] == ["removed"]
        bad = _cli(eve, "--json", "send", "crew-nope", "x")
        assert bad.returncode == 1 and json.loads(bad.stderr)["error"] == "ConversationError"
