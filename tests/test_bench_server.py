"""``python -m letterlock.bench server`` runs end to end in its smallest form (SQLite only,
a few devices, half-second loads) and prints its table. Speed is never asserted."""

from __future__ import annotations

import pytest

from letterlock.bench.__main__ import main


def test_server_bench_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["server", "--quick", "--backend", "sqlite", "--seconds", "0.5",
                   "--devices", "4", "--group-size", "4", "--idle-devices", "5"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Backend sqlite" in out and "delivered/s" in out
    for row in ("1:1, 2 chats, max rate", "1:1 paced at", "group of 4, max rate",
                "idle memory, 5 WebSockets"):
        assert row in out
    assert "PrivateMessages" in out and "Synapse" in out
