"""Settings defaults and the data directory rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterlock.server.settings import RegistrationMode, Settings, default_data_dir


def test_default_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "letterlock"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".local" / "share" / "letterlock"


def test_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'letterlock.db'}"
    assert settings.registration is RegistrationMode.OPEN
    assert settings.retention_days == 30
    pg = Settings(data_dir=tmp_path, database_url="postgresql://h/db")
    assert pg.resolved_database_url() == "postgresql://h/db"
