"""Accounts and their devices: registration, invites, approval-gated device changes."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from letterlock.protocol import statements
from letterlock.server.settings import RegistrationMode, Settings
from letterlock.server.store import AsyncConnection, IntegrityError, Store
from letterlock.server.store import accounts as db
from letterlock.server.store import auth as auth_db
from letterlock.server.store.rows import DeviceRow
from letterlock.transparency import LogAction

from ._common import Nonce, Random, check_handle, check_key, secret_hash, system_random
from ._signatures import verify_statement
from .errors import Conflict, Forbidden, NotFound, Unauthorized
from .transparency import TransparencyService

__all__ = ["AccountService", "DeviceInfo", "Purpose"]

Purpose = Literal["add-device", "remove-device"]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The public facts about a device."""

    device_id: str
    handle: str
    signature_key: bytes
    cipher_suite: int
    created_at: int

    @classmethod
    def of(cls, row: DeviceRow) -> DeviceInfo:
        return cls(row.id, row.handle, row.signature_key, row.cipher_suite, row.created_at)


class AccountService:
    def __init__(self, store: Store, settings: Settings, random: Random = system_random, *,
                 transparency: TransparencyService,
                 revoke_device: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._store = store
        # Every device change appends to the key transparency log in its transaction.
        self._log = transparency
        self._settings = settings
        self._random = random
        # Awaited after a removal commits, before remove_device returns: every node
        # forgets the device's cached tokens (AuthService.revoke_device).
        self._revoke_device = revoke_device

    async def create_invite(self, now: int) -> str:
        """A new single-use invite code (shown once; the store keeps only its hash)."""
        code = base64.urlsafe_b64encode(self._random(18)).decode()
        async with self._store.transaction() as conn:
            await db.add_invite(conn, secret_hash(code), now)
        return code

    async def register(self, handle: str, signature_key: bytes, cipher_suite: int,
                       signature: bytes, now: int, invite: str | None = None) -> DeviceInfo:
        """Create ``handle`` with its first device.

        ``signature`` is the device's signature over the register statement (proof that
        the caller holds the key). Raises InvalidInput (handle, key, suite), Forbidden
        (invite required or invalid), Unauthorized (signature), Conflict (handle or key
        taken).
        """
        check_handle(handle)
        check_key(signature_key, cipher_suite)
        verify_statement(signature_key,
                          statements.register_statement(handle, signature_key, cipher_suite),
                          signature, "registration")
        device_id = self._random(16).hex()
        try:
            async with self._store.transaction() as conn:
                if self._settings.registration is RegistrationMode.INVITE and not (
                        invite and await db.take_invite(conn, secret_hash(invite), now)):
                    raise Forbidden("registration needs a valid, unused invite code",
                                    "invite_required")
                account_id = await db.create_account(conn, handle, now)
                await db.create_device(conn, device_id, account_id, signature_key,
                                       cipher_suite, now)
                appended = await self._log.append(conn, LogAction.ADDED, handle, device_id,
                                                  signature_key, cipher_suite, now)
        except IntegrityError:
            raise Conflict("handle or device key already registered", "taken") from None
        self._log.committed(appended)
        return DeviceInfo(device_id, handle, signature_key, cipher_suite, now)

    async def list_devices(self, handle: str) -> list[DeviceInfo]:
        """Raises NotFound for an unknown handle."""
        check_handle(handle)
        async with self._store.transaction() as conn:
            rows = await db.devices_of(conn, handle)
        if rows is None:
            raise NotFound("no such account", "no_account")
        return [DeviceInfo.of(r) for r in rows]

    async def nonce(self, handle: str, purpose: Purpose, now: int) -> Nonce:
        """A single-use nonce for an approval of ``purpose`` on ``handle``."""
        check_handle(handle)
        nonce = Nonce(self._random(32), now + self._settings.challenge_ttl)
        async with self._store.transaction() as conn:
            if await db.devices_of(conn, handle) is None:
                raise NotFound("no such account", "no_account")
            await auth_db.add_nonce(conn, nonce.nonce, purpose, handle, nonce.expires_at)
        return nonce

    async def add_device(self, handle: str, signature_key: bytes, cipher_suite: int,
                         approver_id: str, nonce: bytes, approval: bytes,
                         possession: bytes, now: int) -> DeviceInfo:
        """Add a device to ``handle`` with an existing device's approval.

        ``approval`` is the approver's signature over the add-device statement and
        ``possession`` the new device's own signature over the same bytes. Raises
        Unauthorized (nonce unknown, used or expired; bad signature), Forbidden (the
        approver is not a device of ``handle``), Conflict (key taken).
        """
        check_handle(handle)
        check_key(signature_key, cipher_suite)
        device_id = self._random(16).hex()
        try:
            async with self._store.transaction() as conn:
                expires_at = await self._take_nonce(conn, nonce, "add-device", handle, now)
                approver = await db.device(conn, approver_id)
                if approver is None or approver.handle != handle:
                    raise Forbidden("the approver is not a device of this account",
                                    "not_your_device")
                message = statements.add_device_statement(handle, signature_key, cipher_suite,
                                                          nonce, expires_at)
                verify_statement(approver.signature_key, message, approval, "approval")
                verify_statement(signature_key, message, possession, "new device")
                await db.create_device(conn, device_id, approver.account_id, signature_key,
                                       cipher_suite, now)
                appended = await self._log.append(conn, LogAction.ADDED, handle, device_id,
                                                  signature_key, cipher_suite, now)
        except IntegrityError:
            raise Conflict("device key already registered", "taken") from None
        self._log.committed(appended)
        return DeviceInfo(device_id, handle, signature_key, cipher_suite, now)

    async def remove_device(self, actor_id: str, target_id: str, nonce: bytes,
                            signature: bytes, now: int) -> None:
        """Remove ``target_id`` (the actor itself or another device of its account),
        revoking its tokens and dropping its KeyPackages and mailbox. Returns once the
        revocation is published to the other nodes (AuthService.revoke_device).

        Raises NotFound (target), Forbidden (another account's device), Unauthorized
        (nonce, signature), Conflict (the account's last device).
        """
        async with self._store.transaction() as conn:
            actor = await db.device(conn, actor_id)
            target = await db.device(conn, target_id)
            if actor is None:
                raise Unauthorized("unknown device", "unknown_device")
            if target is None:
                raise NotFound("no such device", "no_device")
            if target.account_id != actor.account_id:
                raise Forbidden("not a device of your account", "not_your_device")
            expires_at = await self._take_nonce(conn, nonce, "remove-device", actor.handle, now)
            verify_statement(actor.signature_key,
                              statements.remove_device_statement(actor.handle, target_id,
                                                                 nonce, expires_at),
                              signature, "removal")
            if await db.device_count(conn, actor.account_id) <= 1:
                raise Conflict("an account keeps at least one device", "last_device")
            await db.delete_device(conn, target_id)
            appended = await self._log.append(conn, LogAction.REMOVED, actor.handle, target_id,
                                              target.signature_key, target.cipher_suite, now)
        self._log.committed(appended)
        if self._revoke_device is not None:
            await self._revoke_device(target_id)

    @staticmethod
    async def _take_nonce(conn: AsyncConnection, nonce: bytes, purpose: str,
                          subject: str, now: int) -> int:
        expires_at = await auth_db.take_nonce(conn, nonce, purpose, subject, now)
        if expires_at is None:
            raise Unauthorized("unknown or used nonce", "bad_nonce")
        if expires_at <= now:
            raise Unauthorized("nonce expired", "nonce_expired")
        return expires_at
