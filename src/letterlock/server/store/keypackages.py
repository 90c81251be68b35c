"""The KeyPackage directory: one pool of one-time KeyPackages and at most one last-resort
KeyPackage per device.

A claim takes a pool row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and deletes it in the
same transaction, so concurrent claims on PostgreSQL each get a different row (SQLite
ignores the clause; its ``BEGIN IMMEDIATE`` transactions are serialised instead).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import key_packages

__all__ = ["add", "pool_count", "set_last_resort", "take_one"]


async def add(conn: AsyncConnection, device_id: str, items: Sequence[bytes], now: int) -> None:
    if items:
        await conn.execute(insert(key_packages), [
            {"device_id": device_id, "data": data, "last_resort": False, "created_at": now}
            for data in items])


async def set_last_resort(conn: AsyncConnection, device_id: str, data: bytes,
                          now: int) -> None:
    """Replace the device's last-resort KeyPackage."""
    await conn.execute(delete(key_packages).where(key_packages.c.device_id == device_id,
                                                  key_packages.c.last_resort.is_(True)))
    await conn.execute(insert(key_packages).values(device_id=device_id, data=data,
                                                   last_resort=True, created_at=now))


async def pool_count(conn: AsyncConnection, device_id: str) -> int:
    """One-time KeyPackages the device still has on the server."""
    result = await conn.execute(
        select(func.count()).select_from(key_packages)
        .where(key_packages.c.device_id == device_id, key_packages.c.last_resort.is_(False)))
    return int(result.scalar_one())


async def take_one(conn: AsyncConnection, device_id: str) -> tuple[bytes, bool] | None:
    """Remove and return one pool KeyPackage, else return (not remove) the last-resort one.

    Returns ``(data, last_resort)``, or None when the device has neither.
    """
    row = (await conn.execute(
        select(key_packages.c.id, key_packages.c.data)
        .where(key_packages.c.device_id == device_id, key_packages.c.last_resort.is_(False))
        .order_by(key_packages.c.id).limit(1)
        .with_for_update(skip_locked=True))).first()
    if row is not None:
        await conn.execute(delete(key_packages).where(key_packages.c.id == row.id))
        return bytes(row.data), False
    last = (await conn.execute(
        select(key_packages.c.data)
        .where(key_packages.c.device_id == device_id, key_packages.c.last_resort.is_(True))
        .limit(1))).first()
    return (bytes(last.data), True) if last else None
