"""The KeyPackage directory (RFC 9420 §10, §16.8).

KeyPackages are opaque to the server except for what it must check at upload: they
parse as KeyPackages, meet the §10.1 shape rules, use the device's cipher suite, name
the device's registered signature key in their leaf, carry a valid KeyPackage signature
by that key, and are not past their lifetime. A claim hands out exactly one KeyPackage
per device of the target account; a one-time KeyPackage is deleted as it is handed out
(§16.8: reuse would weaken forward secrecy), the last-resort one is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from letterlock.codec import CodecError
from letterlock.crypto import CryptoError, cipher_suite
from letterlock.mls.errors import MLSError
from letterlock.mls.key_package import KeyPackage, check_key_package_shape
from letterlock.server.settings import Settings
from letterlock.server.store import Store
from letterlock.server.store import accounts as db
from letterlock.server.store import keypackages as kp_db
from letterlock.server.store.rows import DeviceRow

from ._common import check_handle
from .errors import InvalidInput, NotFound
from .transparency import DeviceProof, TransparencyService

__all__ = ["ClaimedKeyPackage", "KeyPackageService", "PoolStatus"]


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """How many one-time KeyPackages a device has left, and whether to top up."""

    remaining: int
    low: bool


@dataclass(frozen=True, slots=True)
class ClaimedKeyPackage:
    device_id: str
    key_package: bytes
    last_resort: bool
    pool: PoolStatus
    # The device's key transparency entry, opened and proven (None: not logged).
    transparency: DeviceProof | None = None


class KeyPackageService:
    def __init__(self, store: Store, settings: Settings,
                 transparency: TransparencyService) -> None:
        self._store = store
        self._settings = settings
        self._log = transparency

    def _status(self, remaining: int) -> PoolStatus:
        return PoolStatus(remaining, remaining < self._settings.keypackage_low_threshold)

    def check(self, device: DeviceRow, data: bytes, now: int) -> None:
        """Raise InvalidInput unless ``data`` is a KeyPackage this device may publish."""
        try:
            key_package = KeyPackage.from_bytes(data)
            check_key_package_shape(key_package)
        except (CodecError, MLSError) as exc:
            raise InvalidInput(f"not a valid KeyPackage: {exc}", "bad_key_package") from None
        if key_package.cipher_suite != device.cipher_suite:
            raise InvalidInput("KeyPackage cipher suite differs from the device's",
                               "bad_key_package")
        if key_package.leaf_node.signature_key != device.signature_key:
            raise InvalidInput("KeyPackage leaf key is not this device's signature key",
                               "wrong_key")
        lifetime = key_package.leaf_node.lifetime
        if lifetime is not None and lifetime.not_after < now:
            raise InvalidInput("KeyPackage lifetime has ended", "bad_key_package")
        try:
            # SignWithLabel(., "KeyPackageTBS", KeyPackageTBS), RFC 9420 §10.
            cipher_suite(key_package.cipher_suite).verify_with_label(
                device.signature_key, "KeyPackageTBS", key_package.tbs.to_bytes(),
                key_package.signature)
        except CryptoError:
            raise InvalidInput("KeyPackage signature does not verify", "bad_signature") from None

    async def upload(self, device: DeviceRow, items: Sequence[bytes],
                     last_resort: bytes | None, now: int) -> PoolStatus:
        """Validate all, then store all (one bad KeyPackage rejects the whole batch)."""
        if len(items) > self._settings.max_keypackages_per_upload:
            raise InvalidInput("too many KeyPackages in one upload", "too_many")
        for data in (*items, *((last_resort,) if last_resort is not None else ())):
            self.check(device, data, now)
        async with self._store.transaction() as conn:
            await kp_db.add(conn, device.id, items, now)
            if last_resort is not None:
                await kp_db.set_last_resort(conn, device.id, last_resort, now)
            return self._status(await kp_db.pool_count(conn, device.id))

    async def status(self, device: DeviceRow) -> PoolStatus:
        async with self._store.transaction() as conn:
            return self._status(await kp_db.pool_count(conn, device.id))

    async def claim(self, handle: str, now: int) -> list[ClaimedKeyPackage]:
        """One KeyPackage per device of ``handle``, atomically; devices that have published
        none are left out. Raises NotFound for an unknown handle."""
        check_handle(handle)
        claimed = []
        async with self._store.transaction() as conn:
            devices = await db.devices_of(conn, handle)
            if devices is None:
                raise NotFound("no such account", "no_account")
            for device in devices:
                taken = await kp_db.take_one(conn, device.id)
                if taken is None:
                    continue
                data, last_resort = taken
                remaining = await kp_db.pool_count(conn, device.id)
                claimed.append(ClaimedKeyPackage(device.id, data, last_resort,
                                                 self._status(remaining)))
        # The proofs come after the claim commits: the devices' entries were committed
        # with the devices, so the log the proofs are read from already holds them.
        proofs = await self._log.device_proofs([c.device_id for c in claimed], now)
        return [replace(c, transparency=proofs.get(c.device_id)) for c in claimed]
