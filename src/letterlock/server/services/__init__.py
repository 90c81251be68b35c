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
from .log_key import load_or_create_log_key
from .mailbox import MailboxService
from .transparency import TransparencyService

__all__ = ["AccountService", "AuthService", "DeliveryService", "KeyPackageService",
           "MailboxService", "Services", "TransparencyService"]


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
    transparency: TransparencyService

    @classmethod
    def build(cls, settings: Settings, store: Store, bus: Bus,
              random: Random = system_random) -> Services:
        auth = AuthService(store, settings, random)
        transparency = TransparencyService(store, settings, load_or_create_log_key(settings),
                                           random)
        return cls(settings, store, bus,
                   AccountService(store, settings, random, transparency=transparency,
                                  revoke_device=auth.revoke_device),
                   auth,
                   KeyPackageService(store, settings, transparency),
                   MailboxService(store, settings, bus),
                   DeliveryService(store, settings, bus),
                   transparency)
