"""The server's logic, one module per domain; routes only parse, authenticate and
serialise, and the store only speaks SQL.

:class:`Services` bundles one instance of each for the app (and for tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from letterlock.server.bus import Bus
from letterlock.server.settings import Settings
from letterlock.server.store import Store

from ._common import Random, system_random
from .accounts import AccountService
from .auth import AuthService
from .delivery import DeliveryService
from .keypackages import KeyPackageService
from .mailbox import MailboxService

__all__ = ["AccountService", "AuthService", "DeliveryService", "KeyPackageService",
           "MailboxService", "Services"]


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    bus: Bus
    accounts: AccountService
    auth: AuthService
    keypackages: KeyPackageService
    mailbox: MailboxService
    delivery: DeliveryService

    @classmethod
    def build(cls, settings: Settings, store: Store, bus: Bus,
              random: Random = system_random) -> Services:
        return cls(settings, store, bus,
                   AccountService(store, settings, random),
                   AuthService(store, settings, random),
                   KeyPackageService(store, settings),
                   MailboxService(store, settings, bus),
                   DeliveryService(store, settings, bus))
