"""The profile store: sealing at rest, row binding, key handling, permissions, schema."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from functools import partial
from pathlib import Path

import pytest

from letterlock.client.errors import CorruptProfile, ProfileError, WrongProfileKey
from letterlock.client.profile import (
    KDF_FILE,
    KEY_FILE,
    ScryptParams,
    default_profile_dir,
    ensure_profile_dir,
    load_profile_key,
)
from letterlock.client.store import (
    DB_FILE,
    MIGRATIONS,
    SCHEMA_VERSION,
    HistoryRow,
    KeyPackageSecret,
    Store,
    Tx,
)
from letterlock.crypto import SeededRandom

SECRET = b"\x13\x37" * 16
FAST_SCRYPT = ScryptParams(salt=b"s" * 16, n=2**10, r=8, p=1)  # tests only: cheap


async def _open(directory: Path, passphrase: str | None = None) -> Store:
    ensure_profile_dir(directory)
    key, _ = load_profile_key(directory, passphrase=passphrase, scrypt=FAST_SCRYPT)
    return await Store.open(directory, key.sealer(SeededRandom(b"store")))


async def _write_secrets(directory: Path) -> None:
    store = await _open(directory)
    try:
        await store.transaction(lambda tx: tx.put_secret("a", SECRET))
        await store.transaction(lambda tx: tx.put_secret("b", b"other secret"))
        await store.transaction(lambda tx: tx.add_key_package(
            KeyPackageSecret(b"ref-1", False, b"init-private", b"enc-private"), 1))
        await store.transaction(lambda tx: tx.add_message(HistoryRow(
            b"conv", "@bob", b"m" * 16, 1, 1, 1, b"hello plaintext")))
    finally:
        await store.close()


def test_round_trip_and_nothing_plain_on_disk(tmp_path: Path) -> None:
    asyncio.run(_write_secrets(tmp_path))

    async def read() -> None:
        store = await _open(tmp_path)
        try:
            assert await store.transaction(lambda tx: tx.secret("a")) == SECRET
            kp = await store.transaction(lambda tx: tx.key_package(b"ref-1"))
            assert kp is not None and kp.init_private_key == b"init-private"
            assert "init-private" not in repr(kp)
            (row,) = await store.history()
            assert row.content == b"hello plaintext"
        finally:
            await store.close()

    asyncio.run(read())
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(DB_FILE))
    for plaintext in (SECRET, b"init-private", b"enc-private", b"hello plaintext"):
        assert plaintext not in raw


def test_permissions(tmp_path: Path) -> None:
    directory = tmp_path / "profile"
    asyncio.run(_write_secrets(directory))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / DB_FILE).stat().st_mode) == 0o600
    assert len((directory / KEY_FILE).read_bytes()) == 32


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    asyncio.run(_write_secrets(tmp_path))
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ProfileError, match="readable by others"):
        asyncio.run(_open(tmp_path))


def test_wrong_key_fails(tmp_path: Path) -> None:
    asyncio.run(_write_secrets(tmp_path))
    (tmp_path / KEY_FILE).chmod(0o600)
    (tmp_path / KEY_FILE).write_bytes(b"\x00" * 32)
    with pytest.raises(WrongProfileKey):
        asyncio.run(_open(tmp_path))


def test_swapped_rows_fail(tmp_path: Path) -> None:
    asyncio.run(_write_secrets(tmp_path))
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        a, b = (db.execute("SELECT value FROM secrets WHERE name = ?", (n,)).fetchone()[0]
                for n in ("a", "b"))
        db.execute("UPDATE secrets SET value = ? WHERE name = 'a'", (b,))
        # and a ciphertext moved to another table/column
        db.execute("UPDATE key_packages SET private_keys = ?", (a,))

    async def read() -> None:
        store = await _open(tmp_path)
        try:
            with pytest.raises(CorruptProfile):
                await store.transaction(lambda tx: tx.secret("a"))
            with pytest.raises(CorruptProfile):
                await store.transaction(lambda tx: tx.key_package(b"ref-1"))
            assert await store.transaction(lambda tx: tx.secret("b")) == b"other secret"
        finally:
            await store.close()

    asyncio.run(read())


def test_passphrase_mode(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await _open(tmp_path, passphrase="correct horse")
        await store.transaction(lambda tx: tx.put_secret("a", SECRET))
        await store.close()
        store = await _open(tmp_path, passphrase="correct horse")
        assert await store.transaction(lambda tx: tx.secret("a")) == SECRET
        await store.close()

    asyncio.run(scenario())
    assert not (tmp_path / KEY_FILE).exists()
    assert stat.S_IMODE((tmp_path / KDF_FILE).stat().st_mode) == 0o600
    params = ScryptParams.from_json((tmp_path / KDF_FILE).read_bytes())
    assert params == FAST_SCRYPT
    with pytest.raises(WrongProfileKey):
        asyncio.run(_open(tmp_path, passphrase="wrong"))
    with pytest.raises(ProfileError, match="passphrase"):
        asyncio.run(_open(tmp_path))


def test_default_scrypt_cost_is_memory_hard() -> None:
    params = ScryptParams(salt=b"x" * 16)
    assert 128 * params.r * params.n >= 64 * 2**20  # at least 64 MiB per guess


def test_schema_version_and_idempotent_migration(tmp_path: Path) -> None:
    asyncio.run(_write_secrets(tmp_path))
    asyncio.run(_write_secrets(tmp_path / "again"))

    async def reopen() -> None:
        await (await _open(tmp_path)).close()

    asyncio.run(reopen())
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        assert db.execute("SELECT version FROM schema_version ORDER BY version").fetchall() \
            == [(version,) for version, _ in MIGRATIONS]
        assert MIGRATIONS[-1][0] == SCHEMA_VERSION
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(CorruptProfile, match="newer"):
        asyncio.run(_open(tmp_path))


def test_history_deduplicates_by_sender_and_message_id(tmp_path: Path) -> None:
    async def scenario() -> list[bool]:
        store = await _open(tmp_path)
        try:
            rows = [HistoryRow(b"c", sender, b"m" * 16, seq, 1, 1, b"x")
                    for sender, seq in (("@bob", 1), ("@bob", 2), ("@carol", 3))]
            return [await store.transaction(partial(Tx.add_message, row=r)) for r in rows]
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [True, False, True]


def test_default_profile_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_profile_dir() == tmp_path / "letterlock" / "profile"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_profile_dir() == Path.home() / ".local/share/letterlock/profile"
