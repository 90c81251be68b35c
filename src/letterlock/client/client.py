"""``Client``: the SDK's recipe layer over the profile store, the transport and the
receive pipeline.

    async with Client.open(profile_dir, processor=my_processor) as client:
        await client.register("@alice", "https://chat.example.org")
        async for event in client.events():
            ...

The group/conversation layer (conversations.py, processor.py) is the default
:class:`~letterlock.client.pipeline.Processor`; tests may give another to
:meth:`Client.open`. Conversation methods: :meth:`Client.start_conversation`,
:meth:`Client.create_group`, :meth:`Client.add_members`, :meth:`Client.remove_members`,
:meth:`Client.leave`, :meth:`Client.send_message` (through a durable outbox; also
:meth:`Client.send_text`, :meth:`Client.flush_outbox`), :meth:`Client.conversations`,
:meth:`Client.members`, :meth:`Client.history`.

Key transparency (on by default; see :mod:`letterlock.client.keylog`): the log key is
pinned at registration; claimed KeyPackages and the leaves of incoming commits and
Welcomes must be logged for their account (:class:`KeyNotLogged`, or an Error event);
our own account is monitored on each connect and every ``monitor_interval`` seconds
(:class:`NewDeviceOnAccount`); tree heads are gossiped in messages once per epoch and
checked (:class:`SplitViewAlert`); :meth:`Client.safety_number` and
:meth:`Client.epoch_code` give what people compare out of band. Linking a second device
(:meth:`Client.request_link`, :meth:`Client.approve_link`, :meth:`Client.complete_link`)
and :meth:`Client.remove_device` tell the monitor, so the owner's own changes raise no
alert (see :mod:`letterlock.client.linking`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from letterlock.crypto import cipher_suite
from letterlock.crypto.random import RandomSource, SystemRandom
from letterlock.mls.credentials import Credential
from letterlock.mls.key_packages import create_key_package, key_package_ref
from letterlock.mls.leaf_node import Lifetime
from letterlock.protocol.statements import (
    add_device_statement,
    register_statement,
    remove_device_statement,
)
from letterlock.transparency import TransparencyError

from .content import ContentExtension, ContentExtensionType, extension
from .conversations import (
    Conversation,
    ConversationMember,
    Conversations,
    HistoryEntry,
    SentMessage,
)
from .directory import CredentialPolicy, Directory, resolving
from .errors import (
    AlreadyRegistered,
    BadLogAnswer,
    ClientError,
    ConversationError,
    LogUnavailable,
    NotFoundError,
    NotRegistered,
    ServerError,
    TransportError,
)
from .events import (
    CommitDue,
    ConnectionState,
    ConnectionStatus,
    DeliveryGap,
    DeliveryStatus,
    Error,
    Event,
    KeyPackagesLow,
    MessageReceived,
)
from .keylog import KeyLog
from .linking import (
    LinkApproval,
    LinkError,
    LinkRequest,
    add_device,
    approval_nonce,
    remove_device,
)
from .pipeline import InboundEntry, Pipeline, Processor
from .processor import GroupProcessor
from .profile import (
    ProfileLock,
    ScryptParams,
    default_profile_dir,
    ensure_profile_dir,
    load_profile_key,
)
from .safety import epoch_code, safety_number
from .store import AccountRow, KeyPackageSecret, Store, Tx
from .transport import Api, Backoff, ClaimProof, DeviceInfo, GapFrame, Hello, MailboxSocket

__all__ = ["Account", "Client", "Device"]

SIGNATURE_KEY = "device_signature_private_key"
KEY_PACKAGE_LIFETIME = 90 * 86400
CLOCK_SKEW = 3600  # KeyPackages are valid from an hour ago: peers' clocks differ


@dataclass(frozen=True, slots=True)
class Account:
    """This profile's account and device (public values only)."""

    handle: str
    server_url: str
    device_id: str
    cipher_suite: int
    signature_key: bytes


@dataclass(frozen=True, slots=True)
class Device:
    """A device of the account, as the server lists it; ``current`` marks this one."""

    device_id: str
    signature_key: bytes
    cipher_suite: int
    created_at: int
    current: bool


class _Closed:
    pass


class Client:
    """One device's SDK session over a profile directory. Use ``async with``.

    Parameters of :meth:`open` (all keyword, except the directory):

    - ``passphrase``: protect a new profile with scrypt instead of a key file (and open
      one made so); ``scrypt`` sets the cost of a new one.
    - ``processor``: what turns mailbox entries into history; default: the group
      layer's :class:`~letterlock.client.processor.GroupProcessor`.
    - ``rng``, ``clock``, ``jitter``, ``sleep``, ``http_transport``: injected randomness,
      time (Unix seconds), backoff jitter in [0, 1), sleeping, and an httpx transport,
      for tests.
    - ``key_package_batch``, ``key_package_low_water``: the pool size to keep on the
      server and the count under which :meth:`top_up_key_packages` refills it.
    - ``auto_top_up``: refill the pool when the server says it is low, on each connect.
    - ``transparency``: key-transparency checks (default on; off only for servers
      without a log, and then the server's device lists are trusted as they are).
    - ``monitor_interval``: seconds between checks of our own account in the log while
      receiving (also checked on each connect); ``gossip``: put our newest tree head in
      the first message we send in each epoch of a group; ``monitor_sleep``: the
      monitor's sleep (default ``asyncio.sleep``, apart from the backoff's ``sleep``).
    """

    def __init__(self, profile_dir: Path, *, passphrase: str | None,
                 processor: Processor | None, rng: RandomSource,
                 clock: Callable[[], float], backoff: Backoff,
                 sleep: Callable[[float], Awaitable[None]],
                 http_transport: httpx.AsyncBaseTransport | None, scrypt: ScryptParams | None,
                 suite_id: int, key_package_batch: int, key_package_low_water: int,
                 auto_top_up: bool, transparency: bool = True,
                 monitor_interval: float = 3600.0, gossip: bool = True,
                 monitor_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.profile_dir = profile_dir
        self._passphrase = passphrase
        self._processor = processor
        self._rng = rng
        self._clock = clock
        self._backoff = backoff
        self._sleep = sleep
        self._http_transport = http_transport
        self._scrypt = scrypt
        self._suite_id = suite_id
        self._batch = key_package_batch
        self._low_water = key_package_low_water
        self._auto_top_up = auto_top_up
        self._profile_lock: ProfileLock | None = None
        self._store: Store | None = None
        self._api: Api | None = None
        self._account: AccountRow | None = None
        self._signature_key: bytes | None = None
        self._queue: asyncio.Queue[Event | _Closed] = asyncio.Queue()
        self._receiver: asyncio.Task[None] | None = None
        # One change of group state at a time: the receive loop and the conversation
        # operations both read-modify-write the stored MLS state.
        self._group_lock = asyncio.Lock()
        self._directory: Directory | None = None
        self._conversations: Conversations | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._transparency = transparency
        self._monitor_interval = monitor_interval
        self._monitor_sleep = monitor_sleep
        self._gossip_on = gossip
        self._keylog: KeyLog | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._gossiped: dict[bytes, int] = {}  # group id -> last epoch we gossiped in

    @classmethod
    def open(cls, profile_dir: Path | str | None = None, *, passphrase: str | None = None,
             processor: Processor | None = None, rng: RandomSource | None = None,
             clock: Callable[[], float] = time.time,
             jitter: Callable[[], float] = random.random,
             sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
             http_transport: httpx.AsyncBaseTransport | None = None,
             scrypt: ScryptParams | None = None, suite_id: int = 1,
             key_package_batch: int = 20, key_package_low_water: int = 10,
             auto_top_up: bool = True, transparency: bool = True,
             monitor_interval: float = 3600.0, gossip: bool = True,
             monitor_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Client:
        """A client over ``profile_dir`` (default: :func:`default_profile_dir`); the
        profile is created or opened on ``async with`` entry.

        :raises WrongProfileKey: (on entry) the key file or passphrase is wrong;
            :raises ProfileError: the profile cannot be used.
        """
        directory = Path(profile_dir) if profile_dir is not None else default_profile_dir()
        return cls(directory, passphrase=passphrase, processor=processor,
                   rng=rng or SystemRandom(), clock=clock, backoff=Backoff(jitter),
                   sleep=sleep, http_transport=http_transport, scrypt=scrypt,
                   suite_id=suite_id, key_package_batch=key_package_batch,
                   key_package_low_water=key_package_low_water, auto_top_up=auto_top_up,
                   transparency=transparency, monitor_interval=monitor_interval,
                   gossip=gossip, monitor_sleep=monitor_sleep)

    async def __aenter__(self) -> Client:
        """Lock, then open (or create) the profile.

        :raises ProfileInUse: another process or Client has this profile open;
            :raises WrongProfileKey, ProfileError: see :meth:`open`.
        """
        ensure_profile_dir(self.profile_dir)
        # Held for the Client's whole life: every group-state write assumes it is the
        # only writer of this profile (the in-process _group_lock covers one Client).
        self._profile_lock = ProfileLock.acquire(self.profile_dir)
        try:
            key, _created = load_profile_key(self.profile_dir, passphrase=self._passphrase,
                                             rng=self._rng, scrypt=self._scrypt)
            self._store = await Store.open(self.profile_dir, key.sealer(self._rng))
            account = await self._store.account()
            if account is not None:
                self._bind(account, await self._store.transaction(_signature_key))
                await self._load_keylog()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop receiving, close the connection and the store. Idempotent."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._monitor_task is not None:
            self._monitor_task.cancel()
            await asyncio.gather(self._monitor_task, return_exceptions=True)
            self._monitor_task = None
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
            self._receiver = None
        self._queue.put_nowait(_Closed())
        if self._api is not None:
            await self._api.aclose()
            self._api = None
        if self._store is not None:
            await self._store.close()
            self._store = None
        if self._profile_lock is not None:
            self._profile_lock.release()
            self._profile_lock = None

    # state ---------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The profile's store (the group layer keeps its state there)."""
        if self._store is None:
            raise ClientError("the client is not open (use 'async with')")
        return self._store

    @property
    def api(self) -> Api:
        """The raw server API of this device (hazmat: no local bookkeeping)."""
        if self._api is None:
            raise NotRegistered("this profile has no account; register first")
        return self._api

    def _bind(self, account: AccountRow, signature_key: bytes | None) -> None:
        if signature_key is None:
            raise ClientError("profile has an account but no signature key")
        suite = cipher_suite(account.cipher_suite)
        self._account = account
        self._signature_key = signature_key
        self._api = Api(account.server_url, transport=self._http_transport)
        self._api.device_id = account.device_id
        self._api.signer = lambda message: suite.sign(signature_key, message)
        if self._transparency:
            self._directory = Directory(self._logged_devices, name=self._api.devices,
                                        source="the key-transparency log")
        else:
            self._directory = Directory(self._api.devices)
        group_processor = GroupProcessor(account.handle, signature_key,
                                         CredentialPolicy(self._directory), self._rng)
        if self._processor is None:
            self._processor = group_processor
        self._conversations = Conversations(
            store=self.store, api=self._api, directory=self._directory,
            processor=group_processor, suite=suite, handle=account.handle,
            device_id=account.device_id, signature_key=signature_key, rng=self._rng,
            clock=self._clock, emit=self._emit,
            check_claim=self._check_claim if self._transparency else None,
            gossip=self._gossip if self._transparency and self._gossip_on else None)

    def _require_account(self) -> tuple[AccountRow, bytes]:
        if self._account is None or self._signature_key is None:
            raise NotRegistered("this profile has no account; register first")
        return self._account, self._signature_key

    def account(self) -> Account:
        """This profile's account; raises NotRegistered."""
        row, _key = self._require_account()
        return Account(row.handle, row.server_url, row.device_id, row.cipher_suite,
                       row.signature_key)

    # account ---------------------------------------------------------------------------

    async def register(self, handle: str, server_url: str, invite: str | None = None) -> Account:
        """Create an account whose first device is this profile, then publish KeyPackages.

        The signature key is created and sealed into the profile before the server hears
        of it, so a retry after a lost response reuses the same key.

        :raises AlreadyRegistered: the profile has an account;
            :raises ServerError: e.g. ConflictError (handle taken), RejectedError
            (bad handle or invite), :raises TransportError: the server is unreachable.
        """
        store = self.store
        if self._account is not None:
            raise AlreadyRegistered(f"this profile is already {self._account.handle}")
        suite = cipher_suite(self._suite_id)
        private = await self._new_signature_key()
        public = suite.signature_public_key(private)
        api = Api(server_url, transport=self._http_transport)
        try:
            # With key transparency, learn first that the server has a log: an account
            # made on a server without one could never pass our own checks.
            log_key = await _log_key(api) if self._transparency else None
            device_id = await api.register(
                handle, public, self._suite_id,
                suite.sign(private, register_statement(handle, public, self._suite_id)),
                invite)
        finally:
            await api.aclose()
        if log_key is not None and api.log_public_key not in (None, log_key):
            raise LogUnavailable("the server named two different log keys")
        row = AccountRow(handle, api.server_url, device_id, self._suite_id, public,
                         int(self._clock()))

        def save(tx: Tx) -> None:
            tx.save_account(row)
            if log_key is not None:
                KeyLog.pin_tx(tx, log_key, handle, device_id, public)

        await store.transaction(save)
        self._bind(row, private)
        await self._load_keylog()
        await self._publish_key_packages(self._batch, last_resort=True)
        return self.account()

    # linking and removing devices (see linking.py) -------------------------------------

    async def request_link(self, handle: str, server_url: str) -> LinkRequest:
        """Start making this (empty) profile a new device of ``handle``: its signature
        key is made and sealed, and the server issues a nonce. Hand the request to a
        device of the account (:meth:`approve_link`), then call :meth:`complete_link`
        before the nonce expires.

        :raises AlreadyRegistered; :raises ServerError: e.g. NotFoundError (no such
            account); :raises TransportError.
        """
        if self._account is not None:
            raise AlreadyRegistered(f"this profile is already {self._account.handle}")
        suite = cipher_suite(self._suite_id)
        private = await self._new_signature_key()
        api = Api(server_url, transport=self._http_transport)
        try:
            nonce, expires_at = await approval_nonce(api, handle, "add-device")
        finally:
            await api.aclose()
        return LinkRequest(handle, api.server_url, suite.signature_public_key(private),
                           self._suite_id, nonce, expires_at)

    async def approve_link(self, request: LinkRequest) -> LinkApproval:
        """Approve ``request`` (a new device of this account): sign the add-device
        statement, and remember the new key so this device's monitor takes its log
        entry as our own link, not an alert. The approval names the devices this one
        knows, for the new device's monitor.

        Approve only a request you saw come from your own new device (compare its key
        fingerprint): whoever holds the approval can add that key to the account.

        :raises LinkError: the request is for another account; :raises NotRegistered;
            :raises LogUnavailable, TransportError (key transparency).
        """
        row, private = self._require_account()
        if request.handle != row.handle:
            raise LinkError(f"the request is for {request.handle}, not {row.handle}")
        statement = add_device_statement(row.handle, request.signature_key,
                                         request.cipher_suite, request.nonce,
                                         request.expires_at)
        approval = cipher_suite(row.cipher_suite).sign(private, statement)
        known = {row.device_id: row.signature_key}
        if self._transparency:
            keylog = await self.transparency()
            await keylog.approve_key(request.signature_key, request.expires_at)
            known = keylog.known_devices
        return LinkApproval(row.device_id, approval, tuple(sorted(known.items())))

    async def complete_link(self, request: LinkRequest, approval: LinkApproval) -> Account:
        """Register this profile as the device ``request`` asked for, with
        ``approval``; then publish KeyPackages. With key transparency, the log key is
        pinned and the devices the approver named are trusted if the log proves each
        with that key; any other current device of the account is a
        NewDeviceOnAccount event (see :meth:`KeyLog.adopt`).

        :raises AlreadyRegistered; :raises LinkError: the request was made by another
            profile; :raises ServerError: e.g. AuthError (nonce expired or used, a
            signature does not verify); :raises TransportError, LogUnavailable.
        """
        if self._account is not None:
            raise AlreadyRegistered(f"this profile is already {self._account.handle}")
        private = await self.store.transaction(_signature_key)
        suite = cipher_suite(request.cipher_suite)
        if private is None or suite.signature_public_key(private) != request.signature_key:
            raise LinkError("this link request was made by another profile")
        statement = add_device_statement(request.handle, request.signature_key,
                                         request.cipher_suite, request.nonce,
                                         request.expires_at)
        api = Api(request.server_url, transport=self._http_transport)
        try:
            log_key = await _log_key(api) if self._transparency else None
            device_id, named_key = await add_device(api, request, approval,
                                                    suite.sign(private, statement))
        finally:
            await api.aclose()
        if log_key is not None and named_key not in (None, log_key):
            raise LogUnavailable("the server named two different log keys")
        row = AccountRow(request.handle, api.server_url, device_id, request.cipher_suite,
                         request.signature_key, int(self._clock()))

        def save(tx: Tx) -> None:
            tx.save_account(row)
            if log_key is not None:
                KeyLog.pin_tx(tx, log_key, row.handle, device_id, row.signature_key)

        await self.store.transaction(save)
        self._bind(row, private)
        await self._load_keylog()
        if self._keylog is not None:
            for alert in await self._keylog.adopt(dict(approval.devices)):
                self._emit(alert)
        await self._publish_key_packages(self._batch, last_resort=True)
        return self.account()

    async def remove_device(self, device_id: str) -> None:
        """Remove a device of this account (another, or this one). The monitor is told
        first, so the removal entry in the log is no alert on this device.

        :raises ServerError: NotFoundError, ForbiddenError (another account's device),
            ConflictError (the account's last device); :raises TransportError.
        """
        row, private = self._require_account()
        nonce, expires_at = await approval_nonce(self.api, row.handle, "remove-device")
        signature = cipher_suite(row.cipher_suite).sign(
            private, remove_device_statement(row.handle, device_id, nonce, expires_at))
        keylog = await self.transparency() if self._transparency else None
        if keylog is not None:
            await keylog.expect_removal(device_id)
        try:
            await remove_device(self.api, device_id, nonce, signature)
        except ServerError:
            if keylog is not None:  # refused: nothing was removed, nothing to expect
                await keylog.expect_removal(device_id, expected=False)
            raise

    async def _new_signature_key(self) -> bytes:
        """This profile's signature private key, made and sealed if there is none yet
        (so a retry after a lost answer reuses it)."""
        private = await self.store.transaction(_signature_key)
        if private is None:
            private, _public = cipher_suite(self._suite_id).generate_signature_key_pair(
                self._rng)
            key = private
            await self.store.transaction(lambda tx: tx.put_secret(SIGNATURE_KEY, key))
        return private

    # key transparency ------------------------------------------------------------------

    async def _load_keylog(self) -> None:
        if self._transparency and self._api is not None and self._account is not None:
            self._keylog = await KeyLog.load(self.store, self._api, self._account.handle,
                                             self._emit)

    async def transparency(self) -> KeyLog:
        """This profile's key-transparency log view, pinning the server's log key on
        first use for a profile registered before key transparency.

        :raises LogUnavailable: transparency is off, or the server has no log;
            :raises NotRegistered.
        """
        row, _key = self._require_account()
        if not self._transparency:
            raise LogUnavailable("key transparency is turned off for this client")
        if self._keylog is None:
            log_key = await _log_key(self.api)
            await self.store.transaction(lambda tx: KeyLog.pin_tx(
                tx, log_key, row.handle, row.device_id, row.signature_key))
            await self._load_keylog()
        assert self._keylog is not None
        return self._keylog

    async def _logged_devices(self, handle: str) -> list[DeviceInfo]:
        """The directory's fetch with key transparency: the log-proven devices."""
        keylog = await self.transparency()
        return [DeviceInfo(d.device_id, d.signature_key, d.cipher_suite, d.timestamp // 1000)
                for d in (await keylog.devices(handle)).values()]

    async def _check_claim(self, handle: str, device_id: str, signature_key: bytes,
                           suite: int, proof: ClaimProof | None) -> None:
        keylog = await self.transparency()
        await keylog.check_claim(handle, device_id, signature_key, suite, proof)

    def _gossip(self, group_id: bytes, epoch: int) -> tuple[ContentExtension, ...]:
        """Our newest tree head, in the first message we send in each epoch."""
        latest = self._keylog.latest if self._keylog is not None else None
        if latest is None or self._gossiped.get(group_id) == epoch:
            return ()
        self._gossiped[group_id] = epoch
        return (ContentExtension(ContentExtensionType.KT_TREE_HEAD, latest.to_bytes()),)

    async def check_log(self) -> list[Event]:
        """Check our own account in the log now: one NewDeviceOnAccount per device (or
        key) we did not link. Also runs on each connect and every ``monitor_interval``
        seconds while receiving (those events arrive through :meth:`events`).

        :raises LogUnavailable; :raises BadLogAnswer: the log's answers did not
            verify (a SplitViewAlert is emitted when tree heads contradict);
            :raises TransportError: it could not be read.
        """
        keylog = await self.transparency()
        try:
            await keylog.refresh()
        except TransparencyError as exc:
            raise BadLogAnswer(f"the log's tree head: {exc}") from exc
        return await keylog.monitor()

    async def _monitor_once(self) -> None:
        try:
            for event in await self.check_log():
                self._emit(event)
        except (BadLogAnswer, ServerError, LogUnavailable) as exc:
            self._emit(Error(f"key-transparency check of our account failed: {exc}"))
        except TransportError:
            pass  # unreachable: ConnectionState says so; the next check tries again
        except ClientError as exc:
            self._emit(Error(f"key-transparency check of our account failed: {exc}"))

    async def _monitor_loop(self) -> None:
        while True:
            await self._monitor_sleep(self._monitor_interval)
            await self._monitor_once()

    async def _gossip_events(self, events: list[Event]) -> list[Event]:
        """Check tree heads other members gossiped in the messages just received."""
        found: list[Event] = []
        if self._keylog is None:
            return found
        for event in events:
            if not isinstance(event, MessageReceived):
                continue
            raw = extension(event.content, ContentExtensionType.KT_TREE_HEAD)
            if raw is None:
                continue
            try:
                found += await self._keylog.check_gossip(raw, event.conversation_id,
                                                         event.sender)
            except TransportError:
                continue  # no verdict now; the next gossip is checked again
        return found

    async def safety_number(self, handle: str) -> str:
        """The safety number with ``handle``: 60 digits in twelve groups of five, the
        same on both sides, over both accounts' current log-proven devices (it changes
        when either adds, removes or re-keys a device).

        :raises LogUnavailable; :raises ConversationError: ``handle`` is us or has no
            devices; :raises TransportError.
        """
        row, _key = self._require_account()
        if handle == row.handle:
            raise ConversationError("a safety number is between two accounts")
        keylog = await self.transparency()
        mine = await keylog.devices(row.handle)
        theirs = await keylog.devices(handle)
        if not theirs:
            raise ConversationError(f"{handle} has no devices in the log")
        return safety_number(row.handle, {d: v.signature_key for d, v in mine.items()},
                             handle, {d: v.signature_key for d, v in theirs.items()})

    async def epoch_code(self, conversation: Conversation) -> tuple[int, str]:
        """The group's epoch and its epoch authenticator as a 20-digit code: members
        who see the same code at the same epoch share one view of the group."""
        async with self._group_lock:
            epoch, authenticator = await self._require_conversations().epoch_authenticator(
                conversation)
        return epoch, epoch_code(authenticator)

    async def devices(self) -> list[Device]:
        """The account's devices, from the server."""
        row, _key = self._require_account()
        listed = await self.api.devices(row.handle)
        return [Device(d.device_id, d.signature_key, d.cipher_suite, d.created_at,
                       d.device_id == row.device_id) for d in listed]

    # KeyPackages ------------------------------------------------------------------------

    async def top_up_key_packages(self) -> int:
        """Refill the server's one-time KeyPackage pool if it is low; returns how many
        were uploaded (0 if none were needed)."""
        status = await self.api.pool_status()
        if not status.low and status.remaining >= self._low_water:
            return 0
        count = max(self._batch - status.remaining, 1)
        await self._publish_key_packages(count, last_resort=False)
        return count

    async def _publish_key_packages(self, count: int, *, last_resort: bool) -> None:
        row, private = self._require_account()
        suite = cipher_suite(row.cipher_suite)
        now = int(self._clock())
        lifetime = Lifetime(now - CLOCK_SKEW, now + KEY_PACKAGE_LIFETIME)
        credential = Credential.basic(row.handle.encode())
        bundles = [create_key_package(suite, credential=credential,
                                      signature_private_key=private, lifetime=lifetime,
                                      rng=self._rng, last_resort=last_resort and i == count)
                   for i in range(count + (1 if last_resort else 0))]
        secrets = [KeyPackageSecret(key_package_ref(suite, b.key_package), last_resort and
                                    i == count, b.init_private_key, b.encryption_private_key,
                                    b.key_package.to_bytes())
                   for i, b in enumerate(bundles)]

        def keep(tx: Tx) -> None:
            for secret in secrets:
                tx.add_key_package(secret, now)

        # Private keys are committed before the KeyPackages are published: a Welcome
        # may name one as soon as the server has it.
        await self.store.transaction(keep)
        encoded = [b.key_package.to_bytes() for b in bundles]
        await self.api.upload_key_packages(encoded[:count],
                                           encoded[count] if last_resort else None)

    # receiving ----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """Events, in order, for as long as the client is open; starts the receiver.

        The receiver connects to the mailbox, reconnects with backoff (emitting
        ConnectionState), and runs each entry through the pipeline, acknowledging it
        only after it is committed locally. Iterate from one task only: events are
        handed out once. Iteration ends when the client closes.

        :raises ClientError: the client has no processor; :raises NotRegistered.
        """
        self._require_account()
        if self._processor is None:
            raise ClientError("receiving needs a processor (Client.open(processor=...))")
        if self._receiver is None:
            pipeline = Pipeline(self.store, self._processor, self._clock)
            self._receiver = asyncio.create_task(self._receive(pipeline),
                                                 name="letterlock-receiver")
            if self._transparency and self._monitor_interval > 0:
                self._monitor_task = asyncio.create_task(self._monitor_loop(),
                                                         name="letterlock-kt-monitor")
        while True:
            event = await self._queue.get()
            if isinstance(event, _Closed):
                return
            yield event

    def _emit(self, event: Event) -> None:
        self._queue.put_nowait(event)

    async def _receive(self, pipeline: Pipeline) -> None:
        attempt = 0
        while True:
            self._emit(ConnectionState(ConnectionStatus.CONNECTING, attempt))
            try:
                async with self.api.mailbox() as socket:
                    hello = await socket.hello()
                    attempt = 0
                    self._emit(ConnectionState(ConnectionStatus.CONNECTED))
                    await self._resume(socket, hello)
                    await self._drain(socket, pipeline)
            except TransportError as exc:
                reason = str(exc)
            except Exception as exc:  # a processor or store bug: stop, do not ack
                self._emit(Error(f"receiver stopped: {type(exc).__name__}: {exc}",
                                 fatal=True))
                return
            delay = self._backoff.delay(attempt)
            self._emit(ConnectionState(ConnectionStatus.DISCONNECTED, attempt, delay, reason))
            await self._sleep(delay)
            attempt += 1

    async def _resume(self, socket: MailboxSocket, hello: Hello) -> None:
        """After (re)connecting: finish an ack a crash interrupted; check the pool."""
        processed, _acked = await self.store.mailbox_cursor()
        if processed > hello.acked:
            await socket.ack(processed)
            await self.store.set_acked(processed)
        await self.flush_outbox()
        if self._transparency:
            await self._monitor_once()
        status = await self.api.pool_status()
        if status.low:
            self._emit(KeyPackagesLow(status.remaining))
            if self._auto_top_up:
                await self.top_up_key_packages()

    async def _drain(self, socket: MailboxSocket, pipeline: Pipeline) -> None:
        while True:
            frame = await socket.next()
            if isinstance(frame, GapFrame):
                self._emit(DeliveryGap(frame.first, frame.last))
                continue
            entry = InboundEntry(frame.seq, frame.sender_device_id, frame.payload,
                                 frame.created_at)
            applied = await self._apply(pipeline, entry)
            applied += await self._gossip_events(applied)
            for event in applied:
                if isinstance(event, CommitDue):
                    self._spawn(self._commit_due(event.conversation_id))
                self._emit(event)
            # Each entry is committed locally before this point; the acknowledgement of a
            # batch frame's entries waits for its last one (one ack, not one per entry).
            if not socket.buffered:
                await socket.ack(frame.seq)
                await self.store.set_acked(frame.seq)

    async def _apply(self, pipeline: Pipeline, entry: InboundEntry) -> list[Event]:
        """One entry through the pipeline, under the group lock; a credential the
        directory cache does not know is looked up and the entry applied again."""
        directory = self._directory
        assert directory is not None
        async with self._group_lock:
            try:
                return await resolving(directory, lambda: pipeline.apply(entry))
            finally:
                directory.settle()

    async def background_done(self) -> None:
        """Wait for work the receive loop started (commits of members' leave requests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _commit_due(self, conversation_id: bytes) -> None:
        """Commit a member's request to leave (we are the designated committer)."""
        try:
            async with self._group_lock:
                await self._require_conversations().commit_proposals(conversation_id)
        except ClientError as exc:
            self._emit(Error(f"could not commit a member's leaving: {exc}"))

    # conversations ----------------------------------------------------------------------

    def _require_conversations(self) -> Conversations:
        self._require_account()
        assert self._conversations is not None
        return self._conversations

    async def start_conversation(self, handle: str) -> Conversation:
        """The direct (1:1) conversation with ``handle``: the one we have, or a new group
        of both accounts' devices (KeyPackages claimed for all of theirs and our other
        devices, registered with the server, the adds committed, the Welcome sent).

        :raises ConversationError: ``handle`` has no devices, or is us;
            :raises ServerError, TransportError; :raises CommitRaceLost.
        """
        async with self._group_lock:
            return await self._require_conversations().start(handle)

    async def create_group(self, name: str | None, handles: list[str]) -> Conversation:
        """A new group conversation with every device of ``handles`` and our other
        devices. ``name`` is local: it is sealed in this profile and never sent."""
        async with self._group_lock:
            return await self._require_conversations().create_group(name, handles)

    async def add_members(self, conversation: Conversation, handles: list[str]) -> None:
        """Add all devices of ``handles`` in one commit (retried if another commit wins
        the epoch). :raises ConversationError: all are members already."""
        async with self._group_lock:
            await self._require_conversations().add(conversation, handles)

    async def remove_members(self, conversation: Conversation, handles: list[str]) -> None:
        """Remove all devices of ``handles`` in one commit. :raises ConversationError:
        none is a member, or one is us (use :meth:`leave`)."""
        async with self._group_lock:
            await self._require_conversations().remove(conversation, handles)

    async def leave(self, conversation: Conversation) -> None:
        """Ask to be removed: Remove proposals for all our devices, which another
        member commits (RFC 9420 forbids committing one's own removal). We stay a
        member until then; RemovedFromConversation follows."""
        async with self._group_lock:
            await self._require_conversations().leave(conversation)

    async def send_text(self, conversation: Conversation, text: str) -> bytes:
        """:meth:`send_message`, returning only the client message id (the idempotency
        key). A message the server could not take yet is queued, not lost: see
        :meth:`send_message` for how to tell."""
        return (await self.send_message(conversation, text)).client_message_id

    async def send_message(self, conversation: Conversation, text: str) -> SentMessage:
        """Encrypt and send a text, through the outbox. It is in :meth:`history` at once
        (the server does not echo it). Messages queued earlier go first.

        The message is sealed into the profile's outbox before the first attempt. If
        the server cannot be reached (after a few quick retries), it stays queued:
        the result says PENDING, a MessageDelivery(PENDING) event follows, and it is
        sent on the next connect of :meth:`events` or the next send or
        :meth:`flush_outbox` (MessageDelivery(SENT) then), with the same client
        message id, so the server delivers it once.

        :raises ConversationError: we are not in the conversation; :raises ServerError:
            the server refused it for good (it is marked failed in the history).
        """
        await self.flush_outbox()
        async with self._group_lock:
            return await self._require_conversations().send_text(conversation, text)

    async def flush_outbox(self) -> int:
        """Send what waits in the outbox, oldest first, until it is empty or the server
        cannot be reached; returns how many are still queued. Each message sent or
        given up is reported as a MessageDelivery event. Done on every connect of the
        receiver, and before each send."""
        conversations = self._require_conversations()
        while True:
            async with self._group_lock:
                done = await conversations.flush_one()
            if done is None:
                return 0
            if done[1] is DeliveryStatus.PENDING:
                return len(await conversations.pending())

    async def pending(self, conversation: Conversation | None = None) -> list[bytes]:
        """Client message ids of messages waiting in the outbox, oldest first."""
        return [q.client_message_id
                for q in await self._require_conversations().pending(conversation)]

    async def conversations(self) -> list[Conversation]:
        """Every conversation on this device, oldest first."""
        return await self._require_conversations().all()

    async def conversation(self, ref: str | bytes) -> Conversation:
        """One conversation by id, or (a string) by local name, direct peer handle or
        id prefix. :raises ConversationError: no single match."""
        convs = self._require_conversations()
        return await (convs.get(ref) if isinstance(ref, bytes) else convs.find(ref))

    async def rename(self, conversation: Conversation, name: str | None) -> Conversation:
        """Set a conversation's local name."""
        async with self._group_lock:
            return await self._require_conversations().rename(conversation, name)

    async def members(self, conversation: Conversation) -> list[ConversationMember]:
        """The conversation's devices (leaf, handle, device id), from our MLS state."""
        async with self._group_lock:
            return await self._require_conversations().members(conversation)

    async def history(self, conversation: Conversation,
                      limit: int = 100) -> list[HistoryEntry]:
        """The latest ``limit`` messages of the conversation, oldest first."""
        return await self._require_conversations().history(conversation, limit)


async def _log_key(api: Api) -> bytes:
    """The server's log key; :raises LogUnavailable: it has no log."""
    try:
        return await api.transparency_key()
    except NotFoundError:
        raise LogUnavailable("the server offers no key-transparency log "
                             "(GET /v1/transparency/key: 404)") from None


def _signature_key(tx: Tx) -> bytes | None:
    return tx.secret(SIGNATURE_KEY)
