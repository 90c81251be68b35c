"""Single-use nonces and bearer tokens (stored as SHA-256 hashes, never in the clear)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import nonces, tokens

__all__ = ["add_nonce", "add_token", "purge_expired", "take_nonce", "token_device"]


async def add_nonce(conn: AsyncConnection, nonce: bytes, purpose: str, subject: str,
                    expires_at: int) -> None:
    await conn.execute(insert(nonces).values(nonce=nonce, purpose=purpose, subject=subject,
                                             expires_at=expires_at))


async def take_nonce(conn: AsyncConnection, nonce: bytes, purpose: str, subject: str,
                     now: int) -> int | None:
    """Consume a nonce: delete it and return its expiry, or None when it is unknown, for
    another purpose or subject, or already used. An expired nonce is consumed too and
    returned (the caller reports expiry); the delete is what makes it single-use."""
    result = await conn.execute(
        delete(nonces).where(nonces.c.nonce == nonce, nonces.c.purpose == purpose,
                             nonces.c.subject == subject)
        .returning(nonces.c.expires_at))
    row = result.first()
    return int(row.expires_at) if row else None


async def add_token(conn: AsyncConnection, token_hash: bytes, device_id: str, now: int,
                    expires_at: int) -> None:
    await conn.execute(insert(tokens).values(token_hash=token_hash, device_id=device_id,
                                             created_at=now, expires_at=expires_at))


async def token_device(conn: AsyncConnection, token_hash: bytes,
                       now: int) -> tuple[str, int] | None:
    """``(device id, expires_at)`` of a live token, or None (unknown, revoked or expired)."""
    row = (await conn.execute(
        select(tokens.c.device_id, tokens.c.expires_at)
        .where(tokens.c.token_hash == token_hash, tokens.c.expires_at > now))).first()
    return (str(row.device_id), int(row.expires_at)) if row else None


async def purge_expired(conn: AsyncConnection, now: int) -> None:
    """Forget expired nonces and tokens."""
    await conn.execute(delete(nonces).where(nonces.c.expires_at <= now))
    await conn.execute(delete(tokens).where(tokens.c.expires_at <= now))
