"""``letterlock demo`` runs its whole tour against a real embedded server and exits 0."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_exits_zero_with_a_clean_summary() -> None:
    done = subprocess.run([sys.executable, "-m", "letterlock.cli", "demo", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert all(step["ok"] for step in summary["steps"])
    scan = summary["plaintext_scan"]
    assert scan["while_running"]["clean"] and scan["after_shutdown"]["clean"]
    assert any(name.endswith("-wal") for name in scan["while_running"]["files"])
    stored = summary["stored"]
    assert [a["handle"] for a in stored["accounts"]] == ["@alice", "@bob", "@carol"]
    group = stored["groups"][-1]  # the group: @bob removed, @carol added
    assert sorted(m["handle"] for m in group["members"]) == ["@alice", "@carol"]
    assert [m["handle"] for m in stored["mailboxes"]] == ["@carol"]  # she went offline
    # no key material: the summary names devices by id, never by key
    for secret in ("signature_key", "private", "Bearer"):
        assert secret not in done.stdout
