"""Accounts, devices and invite codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .rows import DeviceRow
from .tables import accounts, devices, invites, key_packages, mailbox, nonces, tokens

__all__ = [
    "add_invite",
    "create_account",
    "create_device",
    "delete_device",
    "device",
    "device_count",
    "devices_by_key",
    "devices_of",
    "take_invite",
]

_DEVICE_COLUMNS = (devices.c.id, devices.c.account_id, accounts.c.handle,
                   devices.c.signature_key, devices.c.cipher_suite, devices.c.created_at,
                   devices.c.next_seq, devices.c.acked_seq, devices.c.expired_through)


def _device(row: Any) -> DeviceRow:
    return DeviceRow(row.id, row.account_id, row.handle, bytes(row.signature_key),
                     row.cipher_suite, row.created_at, row.next_seq, row.acked_seq,
                     row.expired_through)


async def create_account(conn: AsyncConnection, handle: str, now: int) -> int:
    """Insert an account; raises IntegrityError when the handle is taken."""
    result = await conn.execute(
        insert(accounts).values(handle=handle, created_at=now).returning(accounts.c.id))
    return int(result.scalar_one())


async def create_device(conn: AsyncConnection, device_id: str, account_id: int,
                        signature_key: bytes, cipher_suite: int, now: int) -> None:
    """Insert a device; raises IntegrityError when the key is registered already."""
    await conn.execute(insert(devices).values(
        id=device_id, account_id=account_id, signature_key=signature_key,
        cipher_suite=cipher_suite, created_at=now))


async def device(conn: AsyncConnection, device_id: str) -> DeviceRow | None:
    row = (await conn.execute(
        select(*_DEVICE_COLUMNS).join(accounts).where(devices.c.id == device_id))).first()
    return _device(row) if row else None


async def devices_by_key(conn: AsyncConnection,
                         signature_keys: Sequence[bytes]) -> dict[bytes, DeviceRow]:
    """The registered devices holding these signature keys, by key (unknown keys absent)."""
    if not signature_keys:
        return {}
    rows = await conn.execute(select(*_DEVICE_COLUMNS).join(accounts)
                              .where(devices.c.signature_key.in_(list(signature_keys))))
    return {bytes(r.signature_key): _device(r) for r in rows}


async def devices_of(conn: AsyncConnection, handle: str) -> list[DeviceRow] | None:
    """The account's devices, oldest first; None when no such account exists."""
    account = (await conn.execute(
        select(accounts.c.id).where(accounts.c.handle == handle))).first()
    if account is None:
        return None
    rows = await conn.execute(select(*_DEVICE_COLUMNS).join(accounts)
                              .where(devices.c.account_id == account.id)
                              .order_by(devices.c.created_at, devices.c.id))
    return [_device(r) for r in rows]


async def device_count(conn: AsyncConnection, account_id: int) -> int:
    result = await conn.execute(
        select(func.count()).select_from(devices).where(devices.c.account_id == account_id))
    return int(result.scalar_one())


async def delete_device(conn: AsyncConnection, device_id: str) -> None:
    """Delete a device with its tokens, KeyPackages and mailbox (cascades, made explicit
    so that a SQLite connection without foreign keys cannot leave orphans)."""
    for table in (tokens, key_packages, mailbox):
        await conn.execute(delete(table).where(table.c.device_id == device_id))
    await conn.execute(delete(nonces).where(nonces.c.subject == device_id))
    await conn.execute(delete(devices).where(devices.c.id == device_id))


async def add_invite(conn: AsyncConnection, code_hash: bytes, now: int) -> None:
    await conn.execute(insert(invites).values(code_hash=code_hash, created_at=now))


async def take_invite(conn: AsyncConnection, code_hash: bytes, now: int) -> bool:
    """Mark an unused invite used; False when it does not exist or was used already."""
    result = await conn.execute(
        update(invites).where(invites.c.code_hash == code_hash, invites.c.used_at.is_(None))
        .values(used_at=now))
    return result.rowcount == 1
