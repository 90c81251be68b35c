"""The profile lock: one open Client per profile directory, across processes and within
one (the flock belongs to the open file description), released on close."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from letterlock.client import Client, ProfileInUse
from letterlock.client.profile import LOCK_FILE, ProfileLock

MESSAGE = "profile in use by another letterlock process"


def test_second_client_on_a_profile_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Client.open(tmp_path / "p"):
            with pytest.raises(ProfileInUse, match=MESSAGE):
                async with Client.open(tmp_path / "p"):
                    pass  # pragma: no cover
        async with Client.open(tmp_path / "p") as again:  # released on close
            assert again.store is not None

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_lock_is_released_even_when_opening_fails(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    profile.mkdir(mode=0o700)
    (profile / "profile.key").write_bytes(b"short")  # not a 32-byte key
    (profile / "profile.key").chmod(0o600)

    async def scenario() -> None:
        with pytest.raises(Exception, match="32 bytes"):
            async with Client.open(profile):
                pass  # pragma: no cover
        ProfileLock.acquire(profile).release()  # not left held
        assert (profile / LOCK_FILE).exists()

    asyncio.run(asyncio.wait_for(scenario(), 20))
