"""Key transparency, the client's side: the I/O around :mod:`letterlock.transparency`.

:class:`KeyLog` holds this profile's view of the server's key-transparency log and
does every check that needs the network:

- **Pinning.** The log's public key is pinned at registration (or, for a profile made
  before key transparency, on first use) and kept in the profile with a
  :class:`~letterlock.transparency.LogVerifier`. Every tree head this client ever
  accepts must extend the last one it held (``GET /v1/transparency/head?since=N``):
  the log may grow, never fork or rewrite.
- **Claims.** A claimed KeyPackage comes with the device's "added" entry, the opening
  of its handle commitment and an inclusion proof (:meth:`KeyLog.check_claim`). A key
  that is not proven this way raises :class:`~letterlock.client.errors.KeyNotLogged`.
- **Listings.** :meth:`KeyLog.devices` reads a handle's entries, checks each opening
  and inclusion, and folds them into the handle's current devices. The directory
  (:mod:`.directory`) uses these listings, so a commit or Welcome whose leaf key is
  not logged for its handle is rejected by the credential policy. A change against
  the last listing becomes :class:`ContactDevicesChanged` with its reason.
- **Monitoring.** :meth:`KeyLog.monitor` reads our own handle's entries with a
  :class:`~letterlock.transparency.DeviceMonitor`: a device we did not link becomes
  :class:`NewDeviceOnAccount`, a removal we did not make
  :class:`DeviceRemovedFromAccount`.
- **Linking.** The owner's own changes are not alarms. A device that approves a new
  one records the approved key (:meth:`KeyLog.approve_key`); the first log entry that
  adds that key (as a new device id, before the approval's nonce expired) becomes a
  known device instead of an alert, once. A new device linked that way trusts the
  devices its approver knew, each only if the log proves that device with that key
  (:meth:`KeyLog.adopt`). A removal this device makes is announced first
  (:meth:`KeyLog.expect_removal`); any other removal entry is reported, once.
- **Gossip.** :meth:`KeyLog.check_gossip` takes a tree head another member sent in a
  message and asks the log to prove it consistent with ours; if it cannot, that is a
  :class:`SplitViewAlert` (two signed, contradicting heads are evidence).

Answers for older heads are checked against the held head through a consistency proof
from the older size (``/head?since=<older size>``), so every inclusion accepted lies on
the one history this client follows.

State (sealed in the profile's ``secrets`` table): ``kt.verifier`` (LogVerifier),
``kt.monitor`` (DeviceMonitor), ``kt.devices:<handle>`` (last listing per handle),
``kt.linking`` (:class:`_Linking`: approved keys, removals handled and expected; a
profile pinned before it existed takes the removals in the log as already handled, on
its first check, rather than alerting about its whole past).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from letterlock.codec import DecodeError, Reader, Writer, decode, encode
from letterlock.transparency import (
    EMPTY_ROOT,
    BadSignatureError,
    ConsistencyProof,
    DeviceMonitor,
    DeviceRemoved,
    InconsistentLogError,
    InvalidEntryError,
    InvalidProofError,
    LogAction,
    LogVerifier,
    ProvenEntry,
    SignedTreeHead,
    SplitViewError,
    TransparencyError,
    UnknownDeviceAlert,
    verify_consistency,
)

from .errors import (
    BadLogAnswer,
    ClientError,
    CorruptProfile,
    KeyNotLogged,
    ServerError,
    TransportError,
)
from .events import (
    ContactDevicesChanged,
    DeviceRemovedFromAccount,
    Event,
    NewDeviceOnAccount,
    SplitViewAlert,
)
from .store import Store, Tx
from .transport import AccountLog, ClaimProof

__all__ = ["KeyLog", "LogSource", "LoggedDevice", "REASON_ADDED", "REASON_REMOVED",
           "REASON_UNEXPLAINED"]

VERIFIER = "kt.verifier"
MONITOR = "kt.monitor"
DEVICES = "kt.devices:"
LINKING = "kt.linking"
APPROVAL_SLACK = 300  # seconds: log timestamps and the server's nonce expiry, same clock
PAGE = 100
MAX_PAGES = 1000  # 100,000 entries for one handle: far beyond any honest account
REASON_ADDED = "new device logged"
REASON_REMOVED = "device removed"
REASON_UNEXPLAINED = "unexplained"


class LogSource(Protocol):
    """The log's read API (:class:`~letterlock.client.transport.Api` is one)."""

    async def tree_head(self, since: int) -> tuple[SignedTreeHead,
                                                   ConsistencyProof | None]: ...

    async def account_log(self, handle: str, after: int, limit: int) -> AccountLog: ...


@dataclass(frozen=True, slots=True)
class LoggedDevice:
    """A device the log proves ``handle`` has: its last "added" entry."""

    device_id: str
    signature_key: bytes
    cipher_suite: int
    index: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The listing we last saw for a handle: devices, and one past its highest index."""

    devices: dict[str, bytes]
    next_index: int

    def to_bytes(self) -> bytes:
        def body(w: Writer) -> None:
            w.push_uint64(self.next_index)
            w.push_vector(sorted(self.devices.items()), _push_pair)

        return encode(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> _Snapshot:
        def body(r: Reader) -> _Snapshot:
            next_index = r.pull_uint64()
            pairs = r.pull_vector(lambda sub: (sub.pull_opaque().decode(), sub.pull_opaque()))
            return cls(dict(pairs), next_index)

        return decode(data, body)


@dataclass
class _Linking:
    """The owner's own account changes, so the monitor can tell them from others::

        struct { opaque key<V>; uint64 expires_at; } Approval;
        struct {
            Approval approved<V>;       /* keys this device approved, not yet logged */
            uint64 handled<V>;          /* log indices of removals already dealt with */
            opaque expected<V>;         /* device ids this device is removing */
            uint8 baseline;             /* 1: removals in the log on the next check are
                                           old news (a profile from before this state) */
        } LinkingState;
    """

    approved: dict[bytes, int]
    handled: set[int]
    expected: set[str]
    baseline: bool = False

    def to_bytes(self) -> bytes:
        def body(w: Writer) -> None:
            def approval(sub: Writer, pair: tuple[bytes, int]) -> None:
                sub.push_opaque(pair[0])
                sub.push_uint64(pair[1])

            w.push_vector(sorted(self.approved.items()), approval)
            w.push_vector(sorted(self.handled), lambda sub, i: sub.push_uint64(i))
            w.push_vector(sorted(self.expected), lambda sub, d: sub.push_opaque(d.encode()))
            w.push_bool(self.baseline)

        return encode(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> _Linking:
        def body(r: Reader) -> _Linking:
            approved = r.pull_vector(lambda sub: (sub.pull_opaque(), sub.pull_uint64()))
            handled = r.pull_vector(lambda sub: sub.pull_uint64())
            expected = r.pull_vector(lambda sub: sub.pull_utf8("device id"))
            return cls(dict(approved), set(handled), set(expected), r.pull_bool())

        return decode(data, body)


def _push_pair(w: Writer, pair: tuple[str, bytes]) -> None:
    w.push_opaque(pair[0].encode())
    w.push_opaque(pair[1])


class KeyLog:
    """See the module docstring. Create with :meth:`pin` (new) or :meth:`load`.

    ``emit`` receives the alerts that checks run for other purposes find (a split view
    met while checking a claim; a contact's changed devices).
    """

    def __init__(self, *, store: Store, source: LogSource, handle: str,
                 verifier: LogVerifier, monitor: DeviceMonitor,
                 emit: Callable[[Event], None]) -> None:
        self._store = store
        self._source = source
        self._handle = handle
        self._verifier = verifier
        self._monitor = monitor
        self._emit = emit
        # One head update at a time: two refreshes from the same held size would race.
        self._lock = asyncio.Lock()
        # One change of the linking state at a time: a monitor pass must not overwrite
        # an approval recorded while it was reading the log.
        self._linking_lock = asyncio.Lock()

    # creating ---------------------------------------------------------------------------

    @staticmethod
    def pin_tx(tx: Tx, log_public_key: bytes, handle: str, device_id: str,
               signature_key: bytes) -> None:
        """Pin ``log_public_key`` in the profile, trusting our own device (inside ``tx``).

        :raises ClientError: the key is not a valid Ed25519 log key.
        """
        try:
            verifier = LogVerifier(log_public_key)
            monitor = DeviceMonitor(handle, {device_id: signature_key})
        except TransparencyError as exc:
            raise ClientError(f"the server's log key is unusable: {exc}") from None
        tx.put_secret(VERIFIER, verifier.to_bytes())
        tx.put_secret(MONITOR, monitor.to_bytes())
        # A new account: every removal from now on is news (no past to take as read).
        tx.put_secret(LINKING, _Linking({}, set(), set()).to_bytes())

    @classmethod
    async def load(cls, store: Store, source: LogSource, handle: str,
                   emit: Callable[[Event], None]) -> KeyLog | None:
        """The pinned log of this profile, or None if none is pinned yet.

        :raises CorruptProfile: the stored state does not decode or verify.
        """
        def read(tx: Tx) -> tuple[bytes | None, bytes | None]:
            return tx.secret(VERIFIER), tx.secret(MONITOR)

        raw_verifier, raw_monitor = await store.transaction(read)
        if raw_verifier is None or raw_monitor is None:
            return None
        try:
            verifier = LogVerifier.from_bytes(raw_verifier)
            monitor = DeviceMonitor.from_bytes(raw_monitor)
        except (DecodeError, TransparencyError) as exc:
            raise CorruptProfile(f"stored key-transparency state: {exc}") from None
        return cls(store=store, source=source, handle=handle, verifier=verifier,
                   monitor=monitor, emit=emit)

    @property
    def log_public_key(self) -> bytes:
        return self._verifier.log_public_key

    @property
    def latest(self) -> SignedTreeHead | None:
        """The newest tree head accepted (None before the first check)."""
        return self._verifier.latest

    # tree heads ---------------------------------------------------------------------------

    async def refresh(self) -> SignedTreeHead:
        """Fetch the log's newest head and accept it if it extends the held one.

        :raises InconsistentLogError: (incl. SplitViewError) it does not, or the log
            denies having as many entries as the held head (truncated): an alert is
            emitted too; :raises BadSignatureError; :raises TransportError.
        """
        async with self._lock:
            try:
                return await self._refresh()
            except InconsistentLogError as exc:
                self._emit(SplitViewAlert(f"the log's new tree head does not extend the "
                                          f"one held: {exc}"))
                raise

    async def _refresh(self) -> SignedTreeHead:
        held = self._verifier.latest
        if held is None:
            head, proof = await self._source.tree_head(0)
        else:
            head, proof = await self._tree_head_since(held)
        self._verifier.update(head, proof)
        await self._save(VERIFIER, self._verifier.to_bytes())
        return head

    async def _tree_head_since(self, signed: SignedTreeHead) -> tuple[
            SignedTreeHead, ConsistencyProof | None]:
        """The log's newest head, with a consistency proof from ``signed`` (a head the
        log signed, already verified).

        :raises InconsistentLogError: the log says it is smaller than ``signed`` (400
            ``beyond_log``): it signed those entries and now denies them, so the log
            was truncated; ``previous`` is ``signed``, the evidence.
            :raises TransportError.
        """
        try:
            return await self._source.tree_head(signed.tree_size)
        except ServerError as exc:
            if exc.status != 400 or exc.code != "beyond_log":
                raise
            raise InconsistentLogError(
                f"the log signed a tree head of {signed.tree_size} entries and now says "
                f"it has fewer ({exc.detail})", signed) from exc

    async def check_head(self, sth: SignedTreeHead) -> None:
        """Return if ``sth`` lies on the history this client follows (a prefix of the
        held head, or the held head after a refresh).

        :raises BadSignatureError: not signed by the pinned log;
            :raises SplitViewError: same size as a head we hold, another root;
            :raises InconsistentLogError: no proof the log can give reconciles it;
            :raises TransportError.
        """
        async with self._lock:
            await self._check_head(sth)

    async def _check_head(self, sth: SignedTreeHead) -> None:
        sth.verify(self._verifier.log_public_key)
        held = self._verifier.latest
        if held is None or sth.tree_size > held.tree_size:
            held = await self._refresh()
        if sth.tree_size > held.tree_size:
            raise InconsistentLogError(
                f"a tree head of {sth.tree_size} entries, but the log now serves "
                f"{held.tree_size}", held, sth)
        if sth.tree_size == held.tree_size:
            if sth.root_hash != held.root_hash:
                raise SplitViewError(f"the log signed two roots for size {sth.tree_size}",
                                     held, sth)
            return
        if sth.tree_size == 0:
            if sth.root_hash != EMPTY_ROOT:
                raise InconsistentLogError("an empty tree head with a non-empty root",
                                           held, sth)
            return
        for _attempt in range(3):
            current, proof = await self._tree_head_since(sth)
            if current.tree_size != held.tree_size or current.root_hash != held.root_hash:
                held = await self._refresh()  # the log grew meanwhile; catch up first
                if (current.tree_size, current.root_hash) != (held.tree_size,
                                                              held.root_hash):
                    continue
            if proof is None or (proof.first_size, proof.second_size) != (
                    sth.tree_size, current.tree_size):
                raise InconsistentLogError("the log gave no consistency proof for an "
                                           "older tree head", sth, current)
            try:
                verify_consistency(proof, sth.root_hash, current.root_hash)
            except InvalidProofError as exc:
                raise InconsistentLogError(f"an older tree head is not a prefix of the "
                                           f"log: {exc}", sth, current) from exc
            return
        raise TransportError("the log kept growing while it was being checked; try again")

    # claims and listings ------------------------------------------------------------------

    async def check_claim(self, handle: str, device_id: str, signature_key: bytes,
                          cipher_suite: int, claim: ClaimProof | None) -> None:
        """Return if the claimed KeyPackage's key is logged as ``handle``'s device
        ``device_id`` (an "added" entry, opened to ``handle``, included under a tree
        head consistent with the held one).

        :raises KeyNotLogged: any check fails (a split view is alerted as well);
            :raises TransportError: the log could not be asked.
        """
        def refuse(reason: str) -> KeyNotLogged:
            return KeyNotLogged(handle, device_id, reason)

        if claim is None:
            raise refuse("the server sent no log proof")
        try:
            proven = ProvenEntry.from_bytes(claim.proven)
            sth = SignedTreeHead.from_bytes(claim.tree_head)
        except (DecodeError, TransparencyError):
            raise refuse("the log proof is malformed") from None
        entry = proven.entry
        if proven.opening.handle != handle:
            raise refuse("the entry is for another account")
        try:
            proven.opening.check(entry.handle_commitment)
        except InvalidEntryError:
            raise refuse("the entry's handle commitment does not open to it") from None
        if entry.action is not LogAction.ADDED:
            raise refuse("the entry is a removal")
        if entry.device_id != device_id:
            raise refuse("the entry is for another device")
        if entry.signature_key != signature_key or entry.cipher_suite != cipher_suite:
            raise refuse("the KeyPackage's key is not the logged key")
        await self._proven_under(sth, [proven], refuse)

    async def _proven_under(self, sth: SignedTreeHead, items: list[ProvenEntry],
                            refuse: Callable[[str], ClientError]) -> None:
        """Check ``sth`` against our history, then each item's inclusion under it."""
        try:
            await self.check_head(sth)
        except SplitViewError as exc:
            self._emit(SplitViewAlert(f"the log showed two roots for one size: {exc}"))
            raise refuse("the log's tree head contradicts one seen before") from None
        except InconsistentLogError as exc:
            self._emit(SplitViewAlert(f"a tree head not consistent with ours: {exc}"))
            raise refuse("the log's tree head is not consistent with ours") from None
        except BadSignatureError:
            raise refuse("the tree head is not signed by the pinned log") from None
        at = LogVerifier(self._verifier.log_public_key, sth)
        for item in items:
            try:
                at.verify_inclusion(item.entry, item.proof, sth)
            except TransparencyError:
                raise refuse(f"entry {item.index} is not included in the log") from None

    async def _listing(self, handle: str) -> list[ProvenEntry]:
        """Every entry the log lists for ``handle``, each opening and inclusion checked."""
        found: dict[int, ProvenEntry] = {}
        after = -1
        for _page in range(MAX_PAGES):
            page = await self._source.account_log(handle, after, PAGE)

            def bad(reason: str) -> ClientError:
                return BadLogAnswer(f"the log's listing for {handle}: {reason}")

            for item in page.entries:
                if item.opening.handle != handle:
                    raise bad("an entry for another account")
                try:
                    item.opening.check(item.entry.handle_commitment)
                except InvalidEntryError:
                    raise bad("an entry whose commitment does not open") from None
            await self._proven_under(page.tree_head, list(page.entries), bad)
            for item in page.entries:
                found[item.index] = item
            if len(page.entries) < PAGE:
                break
            after = max(item.index for item in page.entries)
        return [found[index] for index in sorted(found)]

    async def devices(self, handle: str) -> dict[str, LoggedDevice]:
        """``handle``'s current devices by id, as the log proves them. For another
        account, a change since the last call is emitted as ContactDevicesChanged.

        :raises BadLogAnswer: the log answered with entries that do not verify;
            :raises TransportError: it could not be read.
        """
        entries = await self._listing(handle)
        current: dict[str, LoggedDevice] = {}
        removals: set[str] = set()
        for item in entries:
            entry = item.entry
            if entry.action is LogAction.ADDED:
                current[entry.device_id] = LoggedDevice(
                    entry.device_id, entry.signature_key, entry.cipher_suite, item.index,
                    entry.timestamp)
            else:
                current.pop(entry.device_id, None)
        next_index = max((item.index + 1 for item in entries), default=0)
        name = DEVICES + handle
        raw = await self._store.transaction(lambda tx: tx.secret(name))
        snapshot = _Snapshot({d: v.signature_key for d, v in current.items()}, next_index)
        if raw is not None and handle != self._handle:
            try:
                previous = _Snapshot.from_bytes(raw)
            except DecodeError:
                previous = None
            if previous is not None:
                removals = {i.entry.device_id for i in entries
                            if i.entry.action is LogAction.REMOVED
                            and i.index >= previous.next_index}
                for reason in _reasons(previous, current, removals):
                    self._emit(ContactDevicesChanged(handle, reason))
        if raw != snapshot.to_bytes():
            await self._save(name, snapshot.to_bytes())
        return current

    # monitoring and gossip ----------------------------------------------------------------

    def trust_device(self, device_id: str, signature_key: bytes) -> None:
        """Record a device of our own account that this device linked (no alert)."""
        self._monitor.trust_device(device_id, signature_key)

    @property
    def known_devices(self) -> dict[str, bytes]:
        """Our own account's devices this device knows (id -> signature key)."""
        return self._monitor.known_devices

    async def approve_key(self, signature_key: bytes, expires_at: int) -> None:
        """We approved a new device with ``signature_key`` (the approval's nonce
        expires at ``expires_at``, Unix seconds): its entry in the log is no alert."""
        async with self._linking_lock:
            linking = await self._linking()
            linking.approved[bytes(signature_key)] = expires_at
            await self._save(LINKING, linking.to_bytes())

    async def expect_removal(self, device_id: str, *, expected: bool = True) -> None:
        """We are about to remove ``device_id``: its removal entry is no alert (with
        ``expected`` False: the server refused, so a removal entry would be news).

        The device stays in the monitor's known set: the whole listing is read on each
        check, and its old "added" entry must not turn into an alert once it is gone.
        """
        async with self._linking_lock:
            linking = await self._linking()
            if expected:
                linking.expected.add(device_id)
            else:
                linking.expected.discard(device_id)
            await self._save(LINKING, linking.to_bytes())

    async def adopt(self, told: Mapping[str, bytes]) -> list[Event]:
        """A device just linked by approval: trust the devices its approver said the
        account has (``told``: id -> key) that the log proves with that key now, and
        take the account's past as read: removals already logged, and devices (or
        keys) added and removed again before this device existed. Returns the alerts
        left: current devices of the account that nobody vouched for (each once).

        :raises BadLogAnswer; :raises TransportError.
        """
        async with self._linking_lock:
            return await self._adopt(told)

    async def _adopt(self, told: Mapping[str, bytes]) -> list[Event]:
        await self.refresh()
        current = await self.devices(self._handle)
        for device_id, key in sorted(told.items()):
            proven = current.get(device_id)
            if proven is not None and proven.signature_key == key:
                self._monitor.trust_device(device_id, key)
        linking = _Linking({}, set(), set())
        events: list[Event] = []
        for found in await self._monitor_pages():
            if isinstance(found, UnknownDeviceAlert):
                now = current.get(found.device_id)
                if now is not None and now.signature_key == found.signature_key:
                    events.append(self._alert(found))
            else:
                linking.handled.add(found.index)
        await self._save(MONITOR, self._monitor.to_bytes())
        await self._save(LINKING, linking.to_bytes())
        return events

    async def _monitor_pages(self) -> list[UnknownDeviceAlert | DeviceRemoved]:
        """Our own account's whole listing through the DeviceMonitor (pages checked
        against their tree heads, which must lie on our history).

        :raises BadLogAnswer; :raises TransportError.
        """
        found: list[UnknownDeviceAlert | DeviceRemoved] = []
        after = -1
        for _page in range(MAX_PAGES):
            page = await self._source.account_log(self._handle, after, PAGE)

            def bad(reason: str) -> ClientError:
                return BadLogAnswer(f"the log's listing of our account: {reason}")

            await self._proven_under(page.tree_head, [], bad)
            try:
                found += self._monitor.process(
                    list(page.entries), LogVerifier(self._verifier.log_public_key,
                                                    page.tree_head))
            except TransparencyError as exc:
                raise bad(str(exc)) from None
            if len(page.entries) < PAGE:
                break
            after = max(item.index for item in page.entries)
        return found

    def _alert(self, event: UnknownDeviceAlert) -> NewDeviceOnAccount:
        return NewDeviceOnAccount(self._handle, event.device_id, event.index,
                                  event.timestamp, event.known_device)

    async def _linking(self) -> _Linking:
        """The stored linking state (none yet: a profile pinned before it existed, whose
        past removals the next check takes as read).

        :raises CorruptProfile: the stored state does not decode.
        """
        raw = await self._store.transaction(lambda tx: tx.secret(LINKING))
        if raw is None:
            return _Linking({}, set(), set(), baseline=True)
        try:
            return _Linking.from_bytes(raw)
        except DecodeError as exc:
            raise CorruptProfile(f"stored key-transparency state: {exc}") from None

    async def monitor(self) -> list[Event]:
        """Read our own account's entries; a device we did not link, or a removal we did
        not make, is an alert (each once).

        The whole listing is read each time (alerts are raised once per device and
        key): an entry an earlier answer left out is still caught.

        :raises BadLogAnswer: the answer did not verify; :raises TransportError.
        """
        async with self._linking_lock:
            return await self._monitor_once()

    async def _monitor_once(self) -> list[Event]:
        linking = await self._linking()
        events: list[Event] = []
        for event in await self._monitor_pages():
            if isinstance(event, UnknownDeviceAlert):
                if not self._approved(linking, event):
                    events.append(self._alert(event))
            elif event.index not in linking.handled:
                linking.handled.add(event.index)
                if event.device_id in linking.expected:
                    linking.expected.discard(event.device_id)  # our own removal
                elif not linking.baseline:
                    events.append(DeviceRemovedFromAccount(
                        self._handle, event.device_id, event.index, event.timestamp))
        linking.baseline = False
        latest = self._verifier.latest
        if latest is not None:  # approvals whose nonce expired long ago can never match
            linking.approved = {k: t for k, t in linking.approved.items()
                                if (t + 86400) * 1000 > latest.timestamp}
        await self._save(MONITOR, self._monitor.to_bytes())
        await self._save(LINKING, linking.to_bytes())
        return events

    def _approved(self, linking: _Linking, alert: UnknownDeviceAlert) -> bool:
        """An alert for a new device whose key this device approved (logged before the
        approval expired) is the owner's own link: trust it, and use the approval up."""
        expires_at = linking.approved.get(alert.signature_key)
        if alert.known_device or expires_at is None \
                or alert.timestamp > (expires_at + APPROVAL_SLACK) * 1000:
            return False
        del linking.approved[alert.signature_key]
        self._monitor.trust_device(alert.device_id, alert.signature_key)
        return True

    async def check_gossip(self, raw: bytes, conversation_id: bytes,
                           sender: str) -> list[Event]:
        """A tree head ``sender`` included in a message: alert unless it lies on our
        history. A head of another log (or malformed) is an Error-free no-op: it
        proves nothing about ours.

        :raises BadLogAnswer: the log's own answers did not verify;
            :raises TransportError: the log could not be asked (no verdict).
        """
        try:
            sth = SignedTreeHead.from_bytes(raw)
            sth.verify(self._verifier.log_public_key)
        except (DecodeError, TransparencyError):
            return []
        try:
            await self.check_head(sth)
        except InconsistentLogError as exc:
            return [SplitViewAlert(f"{sender} was shown a tree head of {sth.tree_size} "
                                   f"entries that is not consistent with ours: {exc}",
                                   conversation_id, sender)]
        except TransparencyError as exc:  # the log's own answers did not verify
            raise BadLogAnswer(f"checking a gossiped tree head: {exc}") from exc
        return []

    async def _save(self, name: str, value: bytes) -> None:
        await self._store.transaction(lambda tx: tx.put_secret(name, value))


def _reasons(previous: _Snapshot, current: Mapping[str, LoggedDevice],
             removals: set[str]) -> list[str]:
    """Why a listing differs from the previous one (each reason once, in order)."""
    reasons: list[str] = []

    def note(reason: str) -> None:
        if reason not in reasons:
            reasons.append(reason)

    for device_id, device in sorted(current.items()):
        if previous.devices.get(device_id) == device.signature_key:
            continue
        note(REASON_ADDED if device.index >= previous.next_index else REASON_UNEXPLAINED)
    for device_id in sorted(previous.devices):
        if device_id in current:
            continue
        note(REASON_REMOVED if device_id in removals else REASON_UNEXPLAINED)
    return reasons
