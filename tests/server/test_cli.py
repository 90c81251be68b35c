"""``letterlock invite`` against a data directory; ``serve`` is covered by test_serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterlock.cli import main


def test_invite_creates_a_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite", "--data-dir", str(tmp_path / "d")]) == 0
    code = capsys.readouterr().out.strip()
    assert len(code) == 24
    assert (tmp_path / "d" / "letterlock.db").exists()


def test_serve_help_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--data-dir", "--database-url", "--bus-url",
                   "--registration"):
        assert option in out
